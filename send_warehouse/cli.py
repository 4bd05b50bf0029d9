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
    with log_path.open("w") as log, redirect_stdout(log), redirect_stderr(log):
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
    if log_path:
        print(f"task logs: {log_path}")
    if summary["status"] != "success":
        print("\nThe night is incomplete:", file=sys.stderr)
        for s in summary["stages"]:
            if s["status"] != "success" and s.get("error"):
                print(f"  - {s['stage']}: {s['error']}", file=sys.stderr)
        print("Fix the named source and rerun the same night: send-warehouse run --as-of "
              f"{summary['logical_date']}", file=sys.stderr)


def run_once(as_of: date, settings: Settings, log_path: Path | None = None) -> dict:
    """Run one night through the DAG and return its summary (also used by the benchmark)."""
    import time

    from send_warehouse import pipeline, runner
    from send_warehouse.warehouse.connection import warehouse_url

    url = warehouse_url(settings)
    # Tasks run in this process and read their configuration from the environment.
    os.environ["WAREHOUSE_URL"] = url
    started = time.perf_counter()
    with _output_to(log_path):
        run_id, state = runner.run_night(as_of, Settings.from_env())
    summary = pipeline.run_summary(url, run_id)
    summary.update(logical_date=as_of.isoformat(), status="success" if state == "success" else "failed",
                   end_to_end_s=round(time.perf_counter() - started, 2), warehouse_url=url)
    return summary


def cmd_run(args: argparse.Namespace) -> int:
    from send_warehouse.demo import simulated_sources
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
        summary = run_once(args.as_of, settings, log_path)
    finally:
        if simulated:
            simulated.close()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    elif not args.quiet or summary["status"] != "success":
        _print_summary(summary, summary["warehouse_url"], log_path)
    return 0 if summary["status"] == "success" else 1


def cmd_warehouse(args: argparse.Namespace) -> int:
    from send_warehouse.warehouse import embedded

    settings = Settings.from_env()
    data = settings.home / "pgdata"
    if args.action in ("start", "url"):
        print(settings.warehouse_url or embedded.ensure_running(data))
    elif args.action == "stop":
        print("stopped" if embedded.stop(data) else "not running")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from send_warehouse.bench import run_benchmark

    result = run_benchmark(size=args.size, seed=args.seed, as_of=args.as_of, progress=lambda m: _say(args, m),
                           change_night=not args.no_change_night, direct=not args.no_direct)
    print(json.dumps(result, indent=2 if not args.json else None, default=str))
    return 0 if result.get("status") == "success" else 1


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

    p = sub.add_parser("warehouse", help="the embedded default warehouse")
    p.add_argument("action", choices=("start", "stop", "url"))
    p.set_defaults(func=cmd_warehouse)

    p = sub.add_parser("bench", help="simulate, run one night and report throughput against raw COPY")
    p.add_argument("--size", choices=SIZES, default="tiny")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--as-of", type=_date, default=date(2026, 11, 24))
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.add_argument("--no-change-night", action="store_true", help="skip the night after (1 %% of records changed)")
    p.add_argument("--no-direct", action="store_true", help="skip the run without Airflow (its overhead)")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
