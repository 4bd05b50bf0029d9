"""SQL expressions for the validation layer's checks, written once and shared by every suite.

Each function takes a SQL expression and returns a SQL expression (PostgreSQL). The identifier
checks follow shared/domain.md exactly and mirror the dbt macros in
dbt_project/macros/identifiers/, so a warning raised here counts the same records that the
records teams' work queue (`fct_data_quality_exceptions`) lists: values are cleaned the way
staging cleans them (trimmed, upper-case) before they are checked. None of them can raise on
bad input: characters become numbers through ascii(), never through a cast.

No Great Expectations import here: this module is cheap to import and testable on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# The whitespace staging trims: Unicode spaces that Windows exports and web forms carry, too.
WHITESPACE = r"[\s\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]"
UPN_CHECK_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """A column or table name from a suite, checked: suites are reviewed files, not user input."""
    parts = name.split(".")
    if not all(_IDENTIFIER.match(p) for p in parts):
        raise ValueError(f"{name!r} is not a plain lower-case SQL identifier")
    return ".".join(f'"{p}"' for p in parts)


def literal(value: str | int | float) -> str:
    if isinstance(value, bool):
        raise TypeError("booleans are not code values")
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def escape_braces(sql: str) -> str:
    """Make SQL safe inside a query template that is filled with str.format ({batch}, ...)."""
    return sql.replace("{", "{{").replace("}", "}}")


def clean_text(expression: str) -> str:
    """Trimmed text; empty or all-space becomes null (dbt's clean_text)."""
    return f"nullif(regexp_replace(({expression})::text, '^{WHITESPACE}+|{WHITESPACE}+$', '', 'g'), '')"


def clean_code(expression: str) -> str:
    """A code or identifier as staging reads it: trimmed, upper-case, empty to null."""
    return f"upper({clean_text(expression)})"


def clean_nhs_number(expression: str) -> str:
    """An NHS number without the spaces and hyphens of its printed form."""
    return f"nullif(regexp_replace(({expression})::text, '({WHITESPACE}|-)+', '', 'g'), '')"


def safe_iso_date(expression: str) -> str:
    """A date from ISO-8601 text ('YYYY-MM-DD', optionally with a time), null when not a real date."""
    text = f"btrim(({expression})::text)"
    return (
        f"case when {text} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}($|[T ])'"
        f" and pg_input_is_valid(substr({text}, 1, 10), 'date') then substr({text}, 1, 10)::date end"
    )


# --- UPN ----------------------------------------------------------------------------------------

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _digits_only(value: str) -> str:
    """Every character an ASCII digit (true for ''): as `~ '^[0-9]*$'`, without the regex engine,
    which costs about 2 µs a value (the checks run on every row of the night)."""
    return f"translate({value}, '0123456789', '') = ''"


def upn_is_well_formed(upn: str) -> str:
    """A check letter, then 12 digits (permanent) or 11 digits and a check-alphabet letter (temporary).

    The same verdict as `~ '^[A-Z]([0-9]{12}|[0-9]{11}[A-HJ-NP-RT-Z])$'`, by character tests."""
    return (
        f"coalesce(length({upn}) = 13 and strpos('{_LETTERS}', substr({upn}, 1, 1)) > 0"
        f" and {_digits_only(f'substr({upn}, 2, 11)')}"
        f" and strpos('0123456789{UPN_CHECK_ALPHABET}', substr({upn}, 13, 1)) > 0, false)"
    )


def _upn_letter(upn: str) -> str:
    """The check letter positions 2..13 call for (weights = positions, sum mod 23). Meaningful
    only for a well-formed value; never raises on any other."""
    # sum of i * (code - 48) over i = 2..12, with the 48s taken out as one constant (48 * 77)
    terms = " + ".join(f"{i} * ascii(substr({upn}, {i}, 1))" for i in range(2, 13)) + " - 3696"
    last = (
        f"case when substr({upn}, 13, 1) between '0' and '9' then ascii(substr({upn}, 13, 1)) - 48"
        f" else strpos('{UPN_CHECK_ALPHABET}', substr({upn}, 13, 1)) - 1 end"
    )
    return f"substr('{UPN_CHECK_ALPHABET}', 1 + (({terms} + 13 * {last}) % 23), 1)"


def upn_expected_check_letter(upn: str) -> str:
    """The letter positions 2..13 call for (a temporary UPN's last letter counts as its index in
    the check alphabet); null unless the value is well formed."""
    return f"case when {upn_is_well_formed(upn)} then {_upn_letter(upn)} end"


def upn_is_valid(upn: str) -> str:
    """Well formed and carrying the right check letter (permanent or temporary)."""
    return f"({upn_is_well_formed(upn)} and substr({upn}, 1, 1) = {_upn_letter(upn)})"


def upn_has_bad_format(upn: str) -> str:
    """Present but not 13 characters of the right shape (rule UPN_FORMAT)."""
    return f"(({upn}) is not null and not {upn_is_well_formed(upn)})"


def upn_has_bad_check_letter(upn: str) -> str:
    """Well formed but carrying the wrong check letter (rule UPN_CHECK_LETTER)."""
    return f"({upn_is_well_formed(upn)} and substr({upn}, 1, 1) <> {_upn_letter(upn)})"


# --- NHS number and ULN: ten digits, weights 10..2 on the first nine --------------------------

def _weighted_sum(value: str) -> str:
    # sum of (11 - p) * (code - 48) over p = 1..9, with the 48s taken out as one constant (48 * 54)
    return "(" + " + ".join(f"{11 - p} * ascii(substr({value}, {p}, 1))" for p in range(1, 10)) + " - 2592)"


def _ten_digits(value: str) -> str:
    """As `~ '^[0-9]{10}$'`, by character tests."""
    return f"coalesce(length({value}) = 10 and {_digits_only(value)}, false)"


def ten_digits_bad_format(value: str) -> str:
    """Present but not ten digits (rules NHS_FORMAT, ULN_FORMAT)."""
    return f"(({value}) is not null and not {_ten_digits(value)})"


def nhs_number_bad_check_digit(nhs: str) -> str:
    """Ten digits failing modulus 11: check = 11 - (sum mod 11), 11 -> 0, 10 -> no valid number."""
    return (
        f"({_ten_digits(nhs)} and (11 - {_weighted_sum(nhs)} % 11) % 11"
        f" <> ascii(substr({nhs}, 10, 1)) - 48)"
    )


def uln_bad_check_digit(uln: str) -> str:
    """Ten digits failing the ULN check: r = sum mod 11, r = 0 invalid, check = 10 - r."""
    return (
        f"({_ten_digits(uln)} and ({_weighted_sum(uln)} % 11 = 0"
        f" or 10 - {_weighted_sum(uln)} % 11 <> ascii(substr({uln}, 10, 1)) - 48))"
    )


def nhs_number_is_valid(nhs: str) -> str:
    return f"({_ten_digits(nhs)} and not {nhs_number_bad_check_digit(nhs)})"


def uln_is_valid(uln: str) -> str:
    return f"({_ten_digits(uln)} and not {uln_bad_check_digit(uln)})"


@dataclass(frozen=True)
class IdentifierCheck:
    clean: Callable[[str], str]  # how staging cleans the raw value
    unexpected: Callable[[str], str]  # true when the cleaned value breaks the rule
    # True when the raw value, as it stands, passes the rule and needs no cleaning (the cleaned
    # value is then the same). Lets the check skip cleaning for all but a few rows.
    passes_raw: Callable[[str], str]

    def unexpected_raw(self, raw: str) -> str:
        """The rule on a raw value: cleaned (as staging would) only when it does not pass as is."""
        return f"(({raw}) is not null and not coalesce({self.passes_raw(raw)}, false)" \
               f" and coalesce({self.unexpected(self.clean(raw))}, false))"


# The identifier checks a suite can name.
IDENTIFIER_CHECKS = {
    "upn_format": IdentifierCheck(clean_code, upn_has_bad_format, upn_is_well_formed),
    "upn_check_letter": IdentifierCheck(clean_code, upn_has_bad_check_letter, upn_is_valid),
    "nhs_format": IdentifierCheck(clean_nhs_number, ten_digits_bad_format, _ten_digits),
    "nhs_check_digit": IdentifierCheck(clean_nhs_number, nhs_number_bad_check_digit, nhs_number_is_valid),
    "uln_format": IdentifierCheck(clean_code, ten_digits_bad_format, _ten_digits),
    "uln_check_digit": IdentifierCheck(clean_code, uln_bad_check_digit, uln_is_valid),
}

IDENTIFIER_WORDING = {
    "upn_format": "is not a well-formed UPN (13 characters: a letter, then 12 digits or 11 digits and a letter)",
    "upn_check_letter": "carries the wrong UPN check letter",
    "nhs_format": "is not a ten-digit NHS number",
    "nhs_check_digit": "fails the NHS number modulus-11 check",
    "uln_format": "is not a ten-digit ULN",
    "uln_check_digit": "fails the ULN check digit",
}


__all__ = [
    "IDENTIFIER_CHECKS",
    "IDENTIFIER_WORDING",
    "IdentifierCheck",
    "clean_code",
    "clean_nhs_number",
    "clean_text",
    "escape_braces",
    "ident",
    "literal",
    "safe_iso_date",
    "nhs_number_bad_check_digit",
    "ten_digits_bad_format",
    "uln_bad_check_digit",
    "upn_expected_check_letter",
    "upn_has_bad_check_letter",
    "upn_has_bad_format",
    "upn_is_valid",
    "upn_is_well_formed",
]
