"""Linkage benchmark: our identity resolution against the simulator's ground truth, and Splink beside it.

One simulated night (cached under SEND_HOME/sim) is landed into a fresh database on the warehouse
server and staged — by default straight from the simulator's files into the raw tables (`land_directly`:
the benchmark measures linkage, not the extractors), or through the pipeline's own extractors with
`pipeline_landing=True`; then

* ours: `dbt build --select tag:identity` (the models, their unit tests and data tests), timed
  as a whole and per model; the answer is `marts.bridge_person_source`;
* Splink (DuckDB backend, optional extra `linkage-bench`): the same staged records, read from
  `intermediate.int_identity__person_records` (with the same normalised names, soundex codes and
  validated identifiers ours uses), comparable blocking rules, u by random sampling, m by
  expectation maximisation, connected components at a match-probability threshold.

Both answers are scored pairwise against `ground_truth/persons.csv` (every source record with the
true child; twins are two children, a system's duplicate records one): a true positive is a pair of
records in one cluster that is one child; a FALSE MERGE is a pair in one cluster that is two
children (the safeguarding failure); a missed pair is one child in two clusters.
"""

from __future__ import annotations

import csv
import os
import platform
import time
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from psycopg import sql

from send_warehouse.config import Settings
from send_warehouse.warehouse.connection import connect, libpq_url, warehouse_url

Record = tuple[str, str]  # (source_system, source_record_id)
README_HEADING = "## Linkage"
SPLINK_THRESHOLDS = (0.95, 0.999)


@dataclass(frozen=True)
class PairMetrics:
    records: int
    true_pairs: int  # pairs of records that are one child
    predicted_pairs: int  # pairs of records put in one cluster
    true_positives: int
    false_merges: int  # pairs in one cluster whose true children differ
    missed_pairs: int
    precision: float
    recall: float
    f1: float


def _pairs(sizes: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in sizes.values())


def pair_metrics(predicted: Mapping[Record, Hashable], truth: Mapping[Record, Hashable]) -> PairMetrics:
    """Pairwise precision, recall, F1 and false merges over the records both sides know."""
    common = [r for r in truth if r in predicted]
    true_pairs = _pairs(Counter(truth[r] for r in common))
    predicted_pairs = _pairs(Counter(predicted[r] for r in common))
    tp = _pairs(Counter((predicted[r], truth[r]) for r in common))
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * tp / (predicted_pairs + true_pairs) if predicted_pairs + true_pairs else 1.0
    return PairMetrics(len(common), true_pairs, predicted_pairs, tp, predicted_pairs - tp, true_pairs - tp,
                       round(precision, 5), round(recall, 5), round(f1, 5))


def read_truth(folder: Path) -> dict[Record, str]:
    with (folder / "ground_truth" / "persons.csv").open(encoding="utf-8", newline="") as f:
        return {(r["source_system"], r["source_record_id"]): r["child_id"] for r in csv.DictReader(f)}


def _fresh_database(server_url: str, name: str) -> str:
    base = libpq_url(server_url).rsplit("/", 1)[0]
    with connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return f"{base}/{name}"


def _education_rows(path: Path, columns: Mapping[str, str], raw_columns: tuple[str, ...],
                    kinds: Mapping[str, str]):
    """Rows of an education CSV in raw column order; lines that are not clean records are skipped."""
    from send_warehouse.sources.education import normalise_header

    with path.open("rb") as f:
        header = next(csv.reader([f.readline().decode("cp1252")]))
        names = [columns.get(normalise_header(h)) for h in header]
        for raw_line in f:
            try:
                fields = next(csv.reader([raw_line.decode("cp1252").rstrip("\r\n")], strict=True))
            except (UnicodeDecodeError, csv.Error, StopIteration):
                continue
            if len(fields) != len(names) or "\x00" in raw_line.decode("cp1252", errors="replace"):
                continue
            record = dict(zip(names, fields, strict=True))
            row = []
            try:
                for column in raw_columns:
                    value = record.get(column) or None
                    if value is not None and kinds[column] == "date":
                        day, month, year = value.split("/")
                        value = date(int(year), int(month), int(day)).isoformat()
                    elif value is not None and kinds[column] in ("bigint", "numeric"):
                        float(value)
                    row.append(value)
            except ValueError:
                continue
            yield row


def land_directly(url: str, folder: Path, as_of: date) -> dict[str, int]:
    """Fill the raw tables for the night straight from a simulated dataset's files (no extractor)."""
    import json
    import sqlite3

    from send_warehouse.landing.tables import CASEWORK, table
    from send_warehouse.sources.education import FILES, RAW_TABLE
    from send_warehouse.warehouse.schema import ensure_schema

    counts: dict[str, int] = {}
    with connect(url) as conn:
        ensure_schema(conn)

        def put(raw, rows) -> None:
            with conn.transaction():
                conn.execute(
                    "select set_config('send.run_id', 'linkage-direct', true),"
                    " set_config('send.logical_date', %s, true), set_config('send.source_object', %s, true)",
                    (as_of.isoformat(), raw.name))
                conn.execute(sql.SQL("delete from {}.{} where _logical_date = %s").format(
                    sql.Identifier(raw.schema), sql.Identifier(raw.name)), (as_of,))
                statement = sql.SQL("copy {}.{} ({}) from stdin").format(
                    sql.Identifier(raw.schema), sql.Identifier(raw.name),
                    sql.SQL(", ").join(sql.Identifier(c) for c in raw.column_names))
                n = 0
                with conn.cursor() as cur, cur.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
                        n += 1
                counts[raw.qualified_name] = n

        source = sqlite3.connect(folder / "casework.sqlite")
        try:
            for raw in CASEWORK:
                put(raw, source.execute(f"select {', '.join(raw.column_names)} from {raw.name}"))
        finally:
            source.close()
        night = folder / "education" / as_of.isoformat()
        for name, columns in FILES.items():
            raw = table("education", RAW_TABLE[name])
            put(raw, _education_rows(night / name, columns, raw.column_names, dict(raw.columns)))
        with (folder / "socialcare" / "children.jsonl").open(encoding="utf-8") as f:
            children = (json.loads(line) for line in f if line.strip())
            put(table("socialcare", "children"),
                ((c["id"], c["updated_at"], json.dumps(c)) for c in children))
    return counts


def load_night(size: str, seed: int, as_of: date, progress: Callable[[str], None],
               pipeline_landing: bool = False) -> tuple[str, Path, dict]:
    """Simulate (or reuse) the dataset, land it into a fresh database and build staging."""
    from send_warehouse import pipeline, transform
    from send_warehouse.demo import ensure_dataset, simulated_sources

    settings = Settings.from_env()
    folder = ensure_dataset(settings.home, size, seed, as_of, progress=progress)
    url = _fresh_database(warehouse_url(settings), f"linkage_{size.replace('-', '_')}")
    if not pipeline_landing:
        progress("landing the simulated files directly …")
        started = time.perf_counter()
        land_directly(url, folder, as_of)
        timings = {"land_direct_s": round(time.perf_counter() - started, 2)}
        progress("building staging …")
        outcome = transform.build(["tag:casework", "tag:education", "tag:socialcare"], as_of, "linkage-staging", url)
        timings["staging_s"] = round(outcome.elapsed_s, 2)
        return url, folder, timings
    saved = {k: os.environ.get(k) for k in ("WAREHOUSE_URL", "CASEWORK_DB_URL", "EDUCATION_DROP_DIR",
                                            "SOCIALCARE_API_URL", "SOCIALCARE_API_TOKEN")}
    for key in saved:
        os.environ.pop(key, None)
    sources = simulated_sources(settings.home, size, seed, as_of)
    timings: dict[str, float] = {}
    try:
        os.environ.update(sources.env)
        os.environ["WAREHOUSE_URL"] = url
        night_settings = Settings.from_env()
        run_id = f"linkage-{uuid.uuid4().hex[:8]}"
        pipeline.start_run(run_id, as_of, night_settings)
        for source in ("casework", "education", "socialcare"):
            progress(f"landing {source} …")
            started = time.perf_counter()
            pipeline.land_source(source, run_id, as_of, night_settings)
            timings[f"land_{source}"] = round(time.perf_counter() - started, 2)
    finally:
        sources.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    progress("building staging …")
    outcome = transform.build(["tag:casework", "tag:education", "tag:socialcare"], as_of, "linkage-staging", url)
    timings["staging_s"] = round(outcome.elapsed_s, 2)
    return url, folder, timings


RESOLUTION_MODELS = (
    "identity_name_variants", "int_identity__pupil_versions", "int_identity__person_records",
    "int_identity__candidate_pairs", "int_identity__scored_pairs", "int_identity__links",
    "int_identity__clusters", "int_person_key_registry", "int_identity__person_keys",
)


def run_ours(url: str, as_of: date, run_id: str = "linkage-ours") -> dict[str, Any]:
    """Build tag:identity; return the bridge as a mapping and the timings."""
    from send_warehouse import transform

    # Only identity's own tests: other marts' tests on dim_person would find their models unbuilt here.
    saved = os.environ.get("DBT_INDIRECT_SELECTION")
    os.environ["DBT_INDIRECT_SELECTION"] = "cautious"
    try:
        outcome = transform.build(["tag:identity"], as_of, run_id, url)
    finally:
        if saved is None:
            os.environ.pop("DBT_INDIRECT_SELECTION", None)
        else:
            os.environ["DBT_INDIRECT_SELECTION"] = saved
    model_s = {r.name: round(r.execution_time, 2) for r in outcome.results if r.resource_type in ("model", "seed")}
    with connect(url) as conn:
        bridge = {(s, i): k for k, s, i in conn.execute(
            "select person_key, source_system, source_record_id from marts.bridge_person_source")}
        candidate_pairs = conn.execute("select count(*) from intermediate.int_identity__candidate_pairs").fetchone()[0]
        review = dict(conn.execute(
            "select reason, count(*) from intermediate.int_identity__review_queue group by 1").fetchall())
    return {
        "clusters": bridge,
        "build_s": round(outcome.elapsed_s, 2),
        "resolution_s": round(sum(model_s.get(m, 0.0) for m in RESOLUTION_MODELS), 2),
        "model_s": model_s,
        "candidate_pairs": candidate_pairs,
        "review_queue": review,
        "warnings": len(outcome.warnings),
    }


SPLINK_COLUMNS = (
    "record_uid", "source_system", "source_record_id", "forename_compact", "surname_compact", "date_of_birth",
    "dob_unordered", "sex_known", "postcode", "upn_body", "nhs_number", "uln", "forename_soundex",
    "surname_soundex",
)


def read_records(url: str):
    """The staged person records as a pandas DataFrame (Splink's input)."""
    import pandas as pd

    with connect(url) as conn:
        cur = conn.execute(
            "select record_uid, source_system, source_record_id, forename_compact, surname_compact, date_of_birth,"
            " dob_unordered, sex_known, postcode_shaped_or_null, upn_body,"
            " case when nhs_valid then nhs_number end, case when uln_valid then uln end,"
            " forename_soundex, surname_soundex"
            " from (select *, case when postcode_compact is not null then postcode end as postcode_shaped_or_null"
            "       from intermediate.int_identity__person_records) as r")
        frame = pd.DataFrame(cur.fetchall(), columns=list(SPLINK_COLUMNS))
    frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"])
    frame["birth_yearmonth"] = frame["date_of_birth"].dt.strftime("%Y%m")
    frame["birth_yearday"] = frame["date_of_birth"].dt.strftime("%Y%d")
    frame["birth_daymonth"] = frame["date_of_birth"].dt.strftime("%m%d")
    return frame


def run_splink(frame, thresholds: tuple[float, ...] = SPLINK_THRESHOLDS, seed: int = 1) -> list[dict[str, Any]]:
    """Splink 5 on DuckDB with blocking rules comparable to ours, clustered at each threshold.

    Returns one result per threshold: clusters and seconds (training and prediction, shared, plus
    that threshold's clustering).
    """
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    db_api = DuckDBAPI()
    records = db_api.register(frame.rename(columns={"record_uid": "unique_id"}))
    blocking = [
        block_on("upn_body"), block_on("nhs_number"), block_on("uln"),
        block_on("dob_unordered", "surname_soundex"), block_on("dob_unordered", "postcode"),
        block_on("postcode", "forename_soundex"), block_on("date_of_birth", "forename_soundex"),
        block_on("birth_yearmonth", "forename_soundex", "surname_soundex"),
        block_on("birth_yearday", "forename_soundex", "surname_soundex"),
        block_on("birth_daymonth", "forename_soundex", "surname_soundex"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("forename_compact"),
            cl.NameComparison("surname_compact"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex_known"),
            cl.ExactMatch("upn_body"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("uln"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(records, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("upn_body"), block_on("nhs_number")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), record_sample_proportion=1.0)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("surname_soundex", "forename_soundex"), record_sample_proportion=1.0)
    trained = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(0.5, *thresholds))
    predicted = time.perf_counter()
    systems = dict(zip(frame["record_uid"], zip(frame["source_system"], frame["source_record_id"], strict=True),
                       strict=True))
    results = []
    for threshold in thresholds:
        cluster_started = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold)
        table = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
        cluster_s = time.perf_counter() - cluster_started
        results.append({
            "clusters": {systems[u]: c for u, c in zip(table["unique_id"], table["cluster_id"], strict=True)},
            "seconds": round(predicted - started + cluster_s, 2),
            "train_s": round(trained - started, 2),
            "predict_cluster_s": round(predicted - trained + cluster_s, 2),
            "threshold": threshold,
        })
    return results


def run(size: str, seed: int = 1, as_of: date = date(2026, 11, 24), splink: bool = True,
        splink_thresholds: tuple[float, ...] = SPLINK_THRESHOLDS, pipeline_landing: bool = False,
        progress: Callable[[str], None] = lambda m: None) -> dict:
    url, folder, load_timings = load_night(size, seed, as_of, progress, pipeline_landing)
    truth = read_truth(folder)
    progress("resolving identities (tag:identity) …")
    ours = run_ours(url, as_of)
    # The nightly case: the same night again, now with the key registry and pupil versions incremental.
    rerun = run_ours(url, as_of, run_id="linkage-ours-rerun")
    result: dict[str, Any] = {
        "size": size,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "records": len(truth),
        "records_by_system": dict(Counter(s for s, _ in truth)),
        "load": load_timings,
        "ours": {
            **asdict(pair_metrics(ours["clusters"], truth)),
            "seconds": ours["resolution_s"],
            "build_s": ours["build_s"],
            "rerun_seconds": rerun["resolution_s"],
            "rerun_build_s": rerun["build_s"],
            "keys_stable_on_rerun": rerun["clusters"] == ours["clusters"],
            "candidate_pairs": ours["candidate_pairs"],
            "review_queue": ours["review_queue"],
            "model_s": ours["model_s"],
        },
    }
    if splink:
        progress("running Splink on the same records …")
        frame = read_records(url)
        result["splink"] = [
            {
                **asdict(pair_metrics(theirs["clusters"], truth)),
                "seconds": theirs["seconds"],
                "train_s": theirs["train_s"],
                "predict_cluster_s": theirs["predict_cluster_s"],
                "threshold": theirs["threshold"],
                "version": _version("splink"),
                "duckdb": _version("duckdb"),
            }
            for theirs in run_splink(frame, splink_thresholds, seed)
        ]
    return result


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _row(name: str, size: str, figures: Mapping[str, Any]) -> str:
    return (f"| {size} | {name} | {figures['precision']:.4f} | {figures['recall']:.4f} | {figures['f1']:.4f} | "
            f"{figures['false_merges']} | {figures['missed_pairs']} | {figures['seconds']:.1f} |")


def readme_section(results: list[dict], command: str) -> str:
    """The `## Linkage` section of bench/README.md for these results."""
    lines = [
        README_HEADING,
        "",
        "Identity resolution (`tag:identity`) against the simulator's `ground_truth/persons.csv`, with",
        "Splink on the same staged records in the same run. Pairwise over record pairs: a false merge",
        "is a pair of records given one person that are two children; a missed pair is one child split.",
        "Ours: seconds of the resolution models (spine to person keys) of a first build; Splink: DuckDB",
        "in-process, training + prediction + clustering (reading the records out of PostgreSQL excluded).",
        "The night is landed straight from the simulator's files (the benchmark measures linkage, not the",
        "extractors) and staged by our dbt staging models; both linkers read the same staged records.",
        "Splink's settings: dedupe, blocking rules matching ours (UPN without check letter, NHS number,",
        "ULN, date of birth in either order + surname soundex, + postcode, postcode + forename soundex,",
        "date of birth + forename soundex, year+month / year+day / day+month + both soundexes);",
        "comparisons NameComparison on both names (normalised as ours), DateOfBirthComparison,",
        "PostcodeComparison, exact sex, UPN, NHS number, ULN; λ from the UPN/NHS deterministic rules",
        "(recall 0.7), u by random sampling (5M pairs), m by EM blocked on date of birth and on the two",
        "soundexes; connected components at the threshold shown. Seconds are wall clock on a shared",
        "2-core machine that was running other sessions' jobs too: compare within a row group.",
        "",
        f"Command: `{command}`",
        "",
        "| size | linkage | precision | recall | F1 | false merges | missed pairs | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(_row("ours", r["size"], r["ours"]))
        for theirs in r.get("splink", []):
            lines.append(_row(f"Splink {theirs['version']} (p ≥ {theirs['threshold']})", r["size"], theirs))
    lines.append("")
    for r in results:
        ours = r["ours"]
        lines.append(
            f"- {r['size']} (seed {r['seed']}, night {r['as_of']}, {r['machine']['cores']} cores): {r['records']:,} "
            f"records ({', '.join(f'{k} {v:,}' for k, v in sorted(r['records_by_system'].items()))}); "
            f"{ours['candidate_pairs']:,} candidate pairs; whole `dbt build --select tag:identity` (with tests and "
            f"marts) {ours['build_s']:.1f} s, a rerun of the night {ours['rerun_build_s']:.1f} s "
            f"(resolution {ours['rerun_seconds']:.1f} s, keys unchanged: {ours['keys_stable_on_rerun']}); "
            f"left for review: {', '.join(f'{k} {v}' for k, v in sorted(ours['review_queue'].items())) or 'none'}."
        )
    lines.append("")
    return "\n".join(lines)


def write_readme(path: Path, section: str) -> None:
    """Replace (or append) the `## Linkage` section of the README, leaving other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == README_HEADING), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "\n".join(lines[:start] + section.rstrip("\n").splitlines() + [""] + lines[end:]).rstrip("\n") + "\n"
    path.write_text(new if new.endswith("\n") else new + "\n", encoding="utf-8")


__all__ = ["PairMetrics", "pair_metrics", "read_truth", "readme_section", "run", "run_ours", "run_splink",
           "write_readme"]
