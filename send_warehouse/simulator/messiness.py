"""How a system's record of a child drifts from the truth: the keying errors record linkage meets.

Every function returns the recorded value together with the error it represents, so the
caller can write it to `ground_truth/errors.csv`. Rates are per source record and are multiplied
by the size's `boost` (tiny boosts them so that every kind occurs in a small world).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from .dates import from_day, to_day
from .hashing import weighted
from .identifiers import make_temporary_upn, malformed_upn, upn_with_wrong_letter
from .names import FORENAME_VARIANTS, POOLS, SURNAME_VARIANTS

# Per-record rates (before boost) of each family of identity error.
RATES = {
    "upn": 0.02,  # one of missing / temporary / malformed / wrong check letter
    "dob": 0.006,  # day and month swapped, or one digit mistyped
    "name": 0.035,  # a spelling that differs from the truth (see NAME_VARIANTS)
    "duplicate": 0.01,  # the same child registered twice in one system
}
UPN_KINDS = (("upn_missing", 0.35), ("upn_temporary", 0.2), ("upn_format", 0.2), ("upn_check_letter", 0.25))
NAME_VARIANTS = (
    ("forename nickname or transliteration", 3), ("surname transliteration", 2), ("case", 2),
    ("spaces", 1), ("hyphen", 2), ("apostrophe", 2), ("diacritics dropped", 2),
    ("double-barrelled surname shortened", 2), ("double-barrelled surname added", 1),
    ("surname changed", 1), ("typo", 2),
)


@dataclass(slots=True)
class Recorded:
    """What one system holds about a child's identity, with the errors it carries."""

    forename: str
    surname: str
    dob: int
    upn: str | None
    errors: list[tuple[str, str]]  # (kind, detail)


def rate(family: str, boost: float) -> float:
    return min(0.5, RATES[family] * boost)


def record_identity(rnd: random.Random, forename: str, surname: str, dob: int, upn: str | None,
                    la: int, group: str, families: set[str], latest_day: int,
                    upn_optional: bool = False) -> Recorded:
    """Apply the chosen error families to a child's true identity.

    `latest_day` bounds a mistyped date of birth so that no recorded date is in the future of the
    record. A family that cannot apply (no UPN to spoil, a date whose day is after the 12th for a
    swap) falls back to a kind that can, or to nothing. Where a UPN is optional (social care) a
    missing one is no error, so it is never injected as one.
    """
    errors: list[tuple[str, str]] = []
    if "name" in families:
        forename, surname, how = name_variant(rnd, forename, surname, group)
        errors.append(("name_variant", how))
    if "dob" in families:
        recorded, kind, how = dob_error(rnd, dob, latest_day)
        if kind:
            errors.append((kind, how))
            dob = recorded
    if "upn" in families and upn is not None:
        upn, kind, how = upn_error(rnd, upn, la, upn_optional)
        errors.append((kind, how))
    return Recorded(forename, surname, dob, upn, errors)


def upn_error(rnd: random.Random, upn: str, la: int, optional: bool = False) -> tuple[str | None, str, str]:
    kind = weighted(rnd, UPN_KINDS[1:] if optional else UPN_KINDS)
    if kind == "upn_missing":
        return None, kind, f"UPN {upn} not recorded"
    if kind == "upn_temporary":
        value = make_temporary_upn(la, rnd)
        return value, kind, f"temporary UPN {value} held instead of {upn}"
    if kind == "upn_format":
        value, how = malformed_upn(upn, rnd)
        return value, kind, f"{how}: {value!r} for {upn}"
    value = upn_with_wrong_letter(upn, rnd)
    return value, kind, f"check letter keyed wrong: {value} for {upn}"


def dob_error(rnd: random.Random, dob: int, latest_day: int) -> tuple[int, str | None, str]:
    d = from_day(dob)
    candidates: list[tuple[int, str, str]] = []
    if d.day <= 12 and d.day != d.month:
        swapped = to_day(d.replace(month=d.day, day=d.month))
        candidates.append((swapped, "dob_day_month_swap", "day and month swapped"))
    for _ in range(8):
        typo = _digit_typo(rnd, d)
        if typo is not None:
            candidates.append((typo[0], "dob_digit_typo", typo[1]))
            break
    candidates = [c for c in candidates if c[0] <= latest_day and c[0] != dob]
    if not candidates:
        return dob, None, ""
    value, kind, how = rnd.choice(candidates)
    return value, kind, f"{how}: recorded {from_day(value).isoformat()}, true {d.isoformat()}"


def _digit_typo(rnd: random.Random, d) -> tuple[int, str] | None:
    text = d.strftime("%d%m%Y")
    position = rnd.choice((1, 3, 7, 7, 6))  # unit of the day, of the month, of the year; tens of the year
    digit = str((int(text[position]) + rnd.choice((1, -1, 2))) % 10)
    typed = text[:position] + digit + text[position + 1:]
    try:
        value = to_day(type(d)(int(typed[4:]), int(typed[2:4]), int(typed[:2])))
    except ValueError:
        return None
    return value, f"digit {position + 1} of ddmmyyyy keyed as {digit}"


def name_variant(rnd: random.Random, forename: str, surname: str, group: str) -> tuple[str, str, str]:
    """A different but plausible spelling of the child's names; returns (forename, surname, how)."""
    eligible = [(v, w) for v, w in NAME_VARIANTS if _applies(v, forename, surname)]
    how = weighted(rnd, eligible)
    f, s = forename, surname
    if how == "forename nickname or transliteration":
        f = rnd.choice(FORENAME_VARIANTS[forename])
    elif how == "surname transliteration":
        s = rnd.choice(SURNAME_VARIANTS[surname])
    elif how == "case":
        f, s = (f.upper(), s.upper()) if rnd.random() < 0.5 else (f.lower(), s.lower())
    elif how == "spaces":
        f, s = (" " + f, s + " ") if rnd.random() < 0.5 else (f, s.replace("-", " - ", 1) if "-" in s else s + "  ")
    elif how == "hyphen":
        s = s.replace("-", " ") if "-" in s else s.replace(" ", "-")
    elif how == "apostrophe":
        s = s.replace("'", rnd.choice(("", " ", "\u2019")))
    elif how == "diacritics dropped":
        f, s = _strip_accents(f), _strip_accents(s)
    elif how == "double-barrelled surname shortened":
        s = rnd.choice(s.split("-"))
    elif how == "double-barrelled surname added":
        s = f"{s}-{rnd.choice(POOLS['british'][2][:60])}"
    elif how == "surname changed":
        s = rnd.choice([x for x in POOLS[group][2] if x != surname])
    else:
        f, s = (_typo(rnd, f), s) if rnd.random() < 0.4 else (f, _typo(rnd, s))
    if (f, s) == (forename, surname):  # a typo can land on the original letters
        s = surname.upper() if surname.upper() != surname else surname.lower()
        how = "case"
    return f, s, f"{how}: {forename} {surname} -> {f} {s}"


def _applies(variant: str, forename: str, surname: str) -> bool:
    if variant == "forename nickname or transliteration":
        return forename in FORENAME_VARIANTS
    if variant == "surname transliteration":
        return surname in SURNAME_VARIANTS
    if variant == "hyphen":
        return "-" in surname or " " in surname
    if variant == "apostrophe":
        return "'" in surname
    if variant == "diacritics dropped":
        return _strip_accents(forename + surname) != forename + surname
    if variant == "double-barrelled surname shortened":
        return "-" in surname
    return True


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _typo(rnd: random.Random, word: str) -> str:
    if len(word) < 4:
        return word + word[-1]
    i = rnd.randrange(1, len(word) - 1)
    roll = rnd.random()
    if roll < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # transposed letters
    if roll < 0.7:
        return word[:i] + word[i + 1:]  # a letter dropped
    return word[:i] + word[i] + word[i:]  # a letter doubled
