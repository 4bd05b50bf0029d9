"""`send-warehouse`: the command line for simulating sources, running nights and benchmarks."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from send_warehouse.config import Settings

SIZES = ("tiny", "council", "large-county", "england")


def _today() -> date:
    return datetime.now(ZoneInfo("Europe/London")).date()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _say(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


@contextmanager
def _output_to(log_path: Path | None):
    """Send Airflow's chatty task logs to a file: the Python streams, and the file descriptors
    underneath them so that output of subprocesses and C libraries goes there too."""
    if log_path is None:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    # Appended, not truncated: a second run of the same night that is refused must not wipe the log
    # of the one still running.
    with log_path.open("a") as log, redirect_stdout(log), redirect_stderr(log):
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def cmd_simulate(args: argparse.Namespace) -> int:
    from send_warehouse.simulator import simulate

    manifest = simulate(size=args.size, seed=args.seed, out=Path(args.out), nights=args.nights,
                        as_of=args.as_of, casework_url=args.casework_url,
                        progress=None if args.quiet else lambda m: _say(args, m))
    print(json.dumps(manifest, indent=2, default=str))
    return 0


def cmd_serve_socialcare(args: argparse.Namespace) -> int:
    from send_warehouse.simulator.socialcare_api import serve_forever

    token = args.token or os.environ.get("SOCIALCARE_API_TOKEN")
    if not token:
        print("error: give --token or set SOCIALCARE_API_TOKEN (the bearer token clients must send)", file=sys.stderr)
        return 2
    serve_forever(Path(args.dir), port=args.port, token=token, rate_limit=args.rate_limit,
                  error_rate=args.error_rate, latency_s=args.latency)
    return 0


def _print_summary(summary: dict, url: str, log_path: Path | None) -> None:
    from send_warehouse.warehouse.connection import redact

    print(f"\nNight {summary['logical_date']}  run {summary['run_id']}  {summary['status'].upper()}")
    print(f"warehouse: {redact(url)}")
    print(f"\n{'source':<12}{'read':>12}{'loaded':>12}{'quarantined':>13}")
    for source, counts in summary["sources"].items():
        print(f"{source:<12}{counts['rows_read']:>12,}{counts['rows_loaded']:>12,}{counts['rows_quarantined']:>13,}")
    for source, message in summary["source_failures"].items():
        print(f"{source:<12}  FAILED: {message}")
    print(f"\n{'stage':<24}{'status':<10}{'seconds':>9}")
    for s in summary["stages"]:
        seconds = f"{s['seconds']:.1f}" if s["seconds"] is not None else "-"
        print(f"{s['stage']:<24}{s['status']:<10}{seconds:>9}")
    print(f"\nend to end: {summary['end_to_end_s']:.1f} s")
    for name, path in summary.get("links", {}).items():
        print(f"{name}: {path}")
    if log_path:
        print(f"task logs: {log_path}")
    if summary["status"] != "success":
        print("\nThe night is incomplete:", file=sys.stderr)
        for s in summary["stages"]:
            if s["status"] != "success" and s.get("error"):
                print(f"  - {s['stage']}: {s['error']}", file=sys.stderr)
        print("Fix the named source and rerun the same night: send-warehouse run --as-of "
              f"{summary['logical_date']}", file=sys.stderr)


def run_once(as_of: date, settings: Settings, log_path: Path | None = None, show_progress: bool = False) -> dict:
    """Run one night through the DAG and return its summary (also used by the benchmark).
    `show_progress` prints each stage to the terminal as it finishes."""
    import time
    from contextlib import nullcontext

    from send_warehouse import pipeline, runner
    from send_warehouse.progress import StageProgress
    from send_warehouse.report import night_links, report_dir
    from send_warehouse.warehouse.connection import redact, warehouse_url

    url = warehouse_url(settings)
    # Tasks run in this process and read their configuration from the environment.
    os.environ["WAREHOUSE_URL"] = url
    started = time.perf_counter()
    # The terminal's stderr, kept before Airflow's output is redirected into the log.
    terminal = os.fdopen(os.dup(2), "w", buffering=1) if show_progress else None
    try:
        with StageProgress(url, as_of, terminal) if terminal else nullcontext(), _output_to(log_path):
            run_id, state = runner.run_night(as_of, Settings.from_env())
    finally:
        if terminal:
            terminal.close()
    summary = pipeline.run_summary(url, run_id)
    summary.update(logical_date=as_of.isoformat(), status="success" if state == "success" else "failed",
                   # Printed with --json and kept by callers: never with the password in it.
                   end_to_end_s=round(time.perf_counter() - started, 2), warehouse_url=redact(url))
    report = report_dir(settings.home, as_of) / "index.html"
    summary["links"] = {name: str(path) for name, path in
                        ({"morning report": report} | night_links(settings.home)).items() if path.exists()}
    return summary


def cmd_run(args: argparse.Namespace) -> int:
    from send_warehouse.demo import simulated_sources
    from send_warehouse.runlock import RunInProgress
    from send_warehouse.warehouse.connection import redact

    os.environ.setdefault("SEND_TASK_RETRIES", str(args.retries))
    settings = Settings.from_env()
    simulated = None
    if args.simulate:
        _say(args, f"simulating the unconfigured sources ({args.simulate}, seed {args.seed}) …")
        simulated = simulated_sources(settings.home, args.simulate, args.seed, args.as_of,
                                      progress=None if args.quiet else lambda m: _say(args, f"  {m}"))
        os.environ.update(simulated.env)
        _say(args, f"simulated sources in {simulated.folder}")
    else:
        missing = [v for v in ("CASEWORK_DB_URL", "EDUCATION_DROP_DIR", "SOCIALCARE_API_URL") if not os.environ.get(v)]
        if missing:
            print(f"error: {', '.join(missing)} not set. Configure the sources (see README) or pass "
                  "--simulate council to use simulated ones.", file=sys.stderr)
            return 2
    try:
        settings = Settings.from_env()
        if not settings.warehouse_url:
            from send_warehouse.warehouse import embedded

            url = embedded.ensure_running(settings.home / "pgdata")
            _say(args, f"WAREHOUSE_URL not set: using the embedded PostgreSQL at {redact(url)}")
        log_path = None if args.verbose else settings.home / "logs" / f"run-{args.as_of.isoformat()}.log"
        _say(args, f"running night {args.as_of} …")
        summary = run_once(args.as_of, settings, log_path, show_progress=not (args.quiet or args.verbose))
    except RunInProgress as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    finally:
        if simulated:
            simulated.close()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    elif not args.quiet or summary["status"] != "success":
        _print_summary(summary, summary["warehouse_url"], log_path)
    return 0 if summary["status"] == "success" else 1


def cmd_backfill(args: argparse.Namespace) -> int:
    """Run the nights D1..D2 in order, one whole night after another, as `run` would one by one;
    stop at the first night that fails (the later ones would build on it)."""
    from datetime import timedelta

    from send_warehouse.runlock import RunInProgress

    if args.to < args.from_:
        print(f"error: --to {args.to} is before --from {args.from_}", file=sys.stderr)
        return 2
    missing = [v for v in ("CASEWORK_DB_URL", "EDUCATION_DROP_DIR", "SOCIALCARE_API_URL") if not os.environ.get(v)]
    if missing:
        print(f"error: {', '.join(missing)} not set. Configure the sources (see README).", file=sys.stderr)
        return 2
    os.environ.setdefault("SEND_TASK_RETRIES", str(args.retries))
    settings = Settings.from_env()
    nights, day = [], args.from_
    while day <= args.to:
        nights.append(day)
        day += timedelta(days=1)
    summaries = []
    for night in nights:
        _say(args, f"backfill: night {night} ({len(summaries) + 1}/{len(nights)}) …")
        try:
            summary = run_once(night, settings, settings.home / "logs" / f"run-{night.isoformat()}.log")
        except RunInProgress as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        summaries.append({k: summary[k] for k in ("logical_date", "run_id", "status", "end_to_end_s")})
        if summary["status"] != "success":
            _say(args, f"backfill stopped: night {night} failed; fix it and backfill from {night}")
            break
    print(json.dumps({"nights": summaries}, indent=2, default=str))
    return 0 if len(summaries) == len(nights) and summaries[-1]["status"] == "success" else 1


def cmd_warehouse(args: argparse.Namespace) -> int:
    from send_warehouse.warehouse import embedded

    settings = Settings.from_env()
    data = settings.home / "pgdata"
    if args.action in ("start", "url"):
        print(settings.warehouse_url or embedded.ensure_running(data))
    elif args.action == "stop":
        print("stopped" if embedded.stop(data) else "not running")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from send_warehouse.report import build_report
    from send_warehouse.warehouse.connection import warehouse_url

    settings = Settings.from_env()
    result = build_report(warehouse_url(settings), args.as_of, settings.home)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    elif not args.quiet:
        print(f"morning report for {args.as_of}: {result['path']}")
        print(f"latest night: {result['latest']}")
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    from send_warehouse.local_airflow import serve

    return serve(args.simulate, args.seed, args.as_of, args.port, lambda m: _say(args, m), schedule=args.schedule)


def cmd_bench(args: argparse.Namespace) -> int:
    from send_warehouse.bench import run_benchmark

    def write_partial(result: dict) -> None:
        # Written whole and renamed, so a reader never sees half a file.
        partial = Path(args.partial)
        partial.with_suffix(".tmp").write_text(json.dumps(result, indent=2, default=str))
        partial.with_suffix(".tmp").replace(partial)

    result = run_benchmark(size=args.size, seed=args.seed, as_of=args.as_of, progress=lambda m: _say(args, m),
                           change_night=not args.no_change_night, direct=not args.no_direct,
                           checkpoint=write_partial if args.partial else None)
    print(json.dumps(result, indent=2 if not args.json else None, default=str))
    return 0 if result.get("status") == "success" else 1


def cmd_sen2(args: argparse.Namespace) -> int:
    import psycopg

    from send_warehouse.sen2 import produce
    from send_warehouse.warehouse.connection import warehouse_url

    try:
        summary = produce(warehouse_url(Settings.from_env()), args.year, args.la, Path(args.out))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except psycopg.errors.UndefinedTable:
        print("error: the warehouse holds no built night: run `send-warehouse run` first", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str))
    if not summary["xsd_valid"]:
        print("error: the XML does not validate against the SEN2 XSD (see xsd_errors)", file=sys.stderr)
        return 1
    _say(args, f"{summary['failures']} rule failures: see {summary['files']['report_html']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="send-warehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="write synthetic casework, education and social care sources")
    p.add_argument("--size", choices=SIZES, default="tiny")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="folder to write into")
    p.add_argument("--nights", type=int, default=1)
    p.add_argument("--as-of", type=_date, default=None, help="date of the last night (default today)")
    p.add_argument("--casework-url", default=None, help="write casework to this SQLAlchemy URL, not SQLite")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("serve-socialcare", help="serve a simulated social care API on 127.0.0.1")
    p.add_argument("dir", help="a folder written by `simulate`")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token", default=None, help="bearer token (default: SOCIALCARE_API_TOKEN)")
    p.add_argument("--rate-limit", type=float, default=None, help="requests per second before 429")
    p.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500/503")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each response")
    p.set_defaults(func=cmd_serve_socialcare)

    p = sub.add_parser("run", help="run the nightly DAG for one logical date")
    p.add_argument("--as-of", type=_date, default=_today(), help="the night's logical date (default today)")
    p.add_argument("--simulate", choices=SIZES, default=None,
                   help="simulate the sources that are not configured, at this size")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--retries", type=int, default=0, help="task retries (the scheduled DAG uses 2)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--verbose", action="store_true", help="show Airflow's task logs instead of filing them")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="run the nights from D1 to D2 in order, as `run` one by one")
    p.add_argument("--from", dest="from_", type=_date, required=True, help="first night (YYYY-MM-DD)")
    p.add_argument("--to", type=_date, required=True, help="last night, included (YYYY-MM-DD)")
    p.add_argument("--retries", type=int, default=0, help="task retries (the scheduled DAG uses 2)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("warehouse", help="the embedded default warehouse")
    p.add_argument("action", choices=("start", "stop", "url"))
    p.set_defaults(func=cmd_warehouse)

    p = sub.add_parser("report", help="write the morning report of a night from the marts")
    p.add_argument("--as-of", type=_date, default=_today(), help="the night (default today)")
    p.add_argument("--json", action="store_true", help="print where it went and its headline figures as JSON")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("airflow", help="Airflow 3 standalone on this machine with the DAG (`make airflow`)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--simulate", choices=SIZES, default="tiny", help="size of the simulated sources")
    p.add_argument("--no-schedule", dest="schedule", action="store_false",
                   help="run only triggered runs (no 02:00 runs, no catch-up run on unpause)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--as-of", type=_date, default=_today(), help="simulate up to this night (default today)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_airflow)

    p = sub.add_parser("bench", help="simulate, run one night and report throughput against raw COPY")
    p.add_argument("--size", choices=SIZES, default="tiny")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--as-of", type=_date, default=date(2026, 11, 24))
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-change-night", action="store_true", help="skip the night after (1 %% of records changed)")
    p.add_argument("--no-direct", action="store_true", help="skip the run without Airflow (its overhead)")
    p.add_argument("--partial", default=None, metavar="FILE",
                   help="write the figures so far to FILE after each step (for long runs)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("sen2", help="write the SEN2 return (XML, module CSVs, pre-submission report)")
    p.add_argument("--year", type=int, required=True, help="collection year YYYY (activity in YYYY-1)")
    p.add_argument("--la", required=True, help="the council's three-digit LA number")
    p.add_argument("--out", required=True, help="the XML file to write; CSVs and report go beside it")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_sen2)
    return parser


def _next_step(error: Exception) -> str | None:
    """What to do about an error we can name; None for the unexpected."""
    import psycopg

    from send_warehouse.report import MartsNotReady

    if isinstance(error, MartsNotReady):
        return str(error)
    if isinstance(error, psycopg.OperationalError):
        return (f"cannot reach the warehouse ({str(error).strip().splitlines()[0]}). Check WAREHOUSE_URL, or unset "
                "it to use the embedded server (`send-warehouse warehouse start`).")
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `send-warehouse report --json | head`: the reader has what it wanted
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to start again (nights are safe to rerun)", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("SEND_DEBUG") == "1":
            raise
        from send_warehouse.warehouse.connection import redact

        hint = _next_step(error)
        print(f"error: {hint or redact(str(error))}", file=sys.stderr)
        if hint is None:
            print(f"This was unexpected. Run again with SEND_DEBUG=1 for the traceback ({type(error).__name__}).",
                  file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
