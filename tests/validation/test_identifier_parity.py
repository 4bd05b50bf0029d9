"""The identifier checks exist twice: as SQL generated for the GX suites
(send_warehouse/validation/sql.py) and as dbt macros (dbt_project/macros/identifiers/) used by
staging, identity resolution and the data-quality rules. Both are evaluated here on one list of
values in a real PostgreSQL and must give the same verdict on every value."""

from __future__ import annotations

import json
import random
from pathlib import Path

from send_warehouse import transform
from send_warehouse.validation import sql as checks
from send_warehouse.warehouse.connection import connect

ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_letter(body: str) -> str:
    """domain.md: position i (2..13) times i, a final letter counting as its index in the alphabet."""
    values = [int(c) if c.isdigit() else ALPHABET.index(c) for c in body]
    return ALPHABET[sum(i * v for i, v in enumerate(values, start=2)) % 23]


def nhs(nine: str) -> str:
    check = (11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11) % 11
    return nine + str(check)


def values() -> dict[str, list[str | None]]:
    rnd = random.Random(11)
    temporary = [f"{rnd.randrange(10**11):011d}{rnd.choice(ALPHABET)}" for _ in range(40)]
    permanent = [f"{rnd.randrange(10**12):012d}" for _ in range(40)]
    upns = [
        # domain.md: valid; wrong letter; then malformed, temporary, spaced and lower-case, missing
        "A950000178301", "H243278544154", "R247962919251", "X428558133462",
        "A95000017830", "950000178301", "A9500001783O1", "A9500 0178301", "A95000017830I", "A950000178301X",
        " a950000178301 ", "", "   ", None, "I950000178301", "A95000017830S", "A95000017830O",
        *[upn_letter(b) + b for b in temporary + permanent],  # valid temporary and permanent
        *[next(c for c in ALPHABET if c != upn_letter(b)) + b for b in temporary + permanent],  # wrong letter
    ]
    numbers = [f"{rnd.randrange(10**10):010d}" for _ in range(120)]
    tens = [
        "9434765870", "9434765919", "9434765871", "943 476 5870", "943-476-5870", "943476587", "94347658700",
        "94347658A0", "", None, "1234567899", "1234567890", "0000000000",
        *[nhs(f"{rnd.randrange(10**9):09d}") for _ in range(40)], *numbers,
    ]
    return {"upn": upns, "ten": tens}


def gx_verdicts(conn, vals: list[str | None]) -> list[tuple]:
    v, n = checks.clean_code("v"), checks.clean_nhs_number("v")
    exprs = [checks.upn_has_bad_format(v), checks.upn_has_bad_check_letter(v), checks.upn_is_valid(v),
             checks.ten_digits_bad_format(n), checks.nhs_number_bad_check_digit(n), checks.nhs_number_is_valid(n),
             checks.ten_digits_bad_format(v), checks.uln_bad_check_digit(v), checks.uln_is_valid(v)]
    select = ", ".join(f"coalesce(({e}), false)" for e in exprs).replace("%", "%%")
    return [tuple(r) for r in conn.execute(
        f"select {select} from unnest(%s::text[]) with ordinality as t(v, n) order by n", (vals,)).fetchall()]


def dbt_verdicts(conn, url: str, vals: list[str | None], target: Path) -> list[tuple]:
    upn = "{{ upn_status(clean_code('v')) }}"
    nhs_status, uln_status = "{{ nhs_number_status(clean_nhs_number('v')) }}", "{{ uln_status(clean_code('v')) }}"
    select = (f"{upn} = 'format', {upn} = 'check_letter', {upn} in ('valid', 'temporary'), "
              f"{nhs_status} = 'format', {nhs_status} = 'check_digit', {nhs_status} = 'valid', "
              f"{uln_status} = 'format', {uln_status} = 'check_digit', {uln_status} = 'valid'")
    # dbt compiles the macros; PostgreSQL runs the result on the same values as the GX SQL.
    transform.run_dbt(["compile", "--inline", f"select {select} from parity_values order by n"], url, {},
                      target_path=target, log_path=target / "logs")
    compiled = json.loads((target / "run_results.json").read_text())["results"][0]["compiled_code"]
    conn.execute("create temp table parity_values (v text, n int)")
    conn.execute("insert into parity_values select * from unnest(%s::text[]) with ordinality", (vals,))
    return [tuple(r) for r in conn.execute(compiled).fetchall()]  # no parameters: % is literal


def test_gx_sql_and_dbt_macros_agree_on_every_identifier(warehouse_url, tmp_path):
    vals = values()
    everything = vals["upn"] + vals["ten"]
    with connect(warehouse_url, autocommit=True) as conn:
        gx = gx_verdicts(conn, everything)
        dbt = dbt_verdicts(conn, warehouse_url, everything, tmp_path)
    disagreements = [(v, g, d) for v, g, d in zip(everything, gx, dbt, strict=True) if g != d]
    assert disagreements == []
    # Both agree with domain.md's examples: UPNs valid, valid, wrong letter, wrong letter, then malformed ...
    assert [g[:3] for g in gx[:4]] == [(False, False, True), (False, False, True), (False, True, False),
                                       (False, True, False)]
    assert all(g[0] for g in gx[4:10])
    # ... and NHS numbers 9434765870 and 9434765919 valid, one digit keyed wrong fails, printed form cleaned.
    tens = gx[len(vals["upn"]):]
    assert [g[5] for g in tens[:5]] == [True, True, False, True, True]
    assert tens[10][8] and not tens[11][8]  # ULN 1234567899 valid, 1234567890 not
