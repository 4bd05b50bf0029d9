"""The identifiers the three systems share: UPN, NHS number, ULN and postcodes.

The check algorithms follow domain.md exactly; the pipeline's own checks are tested against the
same examples, so a keying error the simulator injects is one the pipeline can prove.
Generators are bijections of a child's number, so no two children ever share an identifier.
"""

from __future__ import annotations

import random
import re

import numpy as np

from .hashing import permute

CHECK_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_PERMANENT = re.compile(r"^[A-Z]\d{12}$")
_UPN_TEMPORARY = re.compile(r"^[A-Z]\d{11}[A-Z]$")
_SERIAL_SPACE = 10**9


# --- UPN ------------------------------------------------------------------------------------

def upn_check_letter(body: str) -> str:
    """Check letter for the 12 characters after it (positions 2..13).

    Each character is weighted by its position; a temporary UPN's final letter counts as its
    index in the check alphabet.
    """
    if len(body) != 12:
        raise ValueError("a UPN body has 12 characters")
    total = 0
    for position, char in enumerate(body, start=2):
        total += position * (int(char) if char.isdigit() else CHECK_ALPHABET.index(char))
    return CHECK_ALPHABET[total % 23]


def upn_is_well_formed(upn: str) -> bool:
    return bool(_UPN_PERMANENT.match(upn) or (_UPN_TEMPORARY.match(upn) and upn[-1] in CHECK_ALPHABET))


def upn_is_valid(upn: str) -> bool:
    """Well formed and carrying the right check letter."""
    return upn_is_well_formed(upn) and upn[0] == upn_check_letter(upn[1:])


def upn_is_temporary(upn: str) -> bool:
    return bool(_UPN_TEMPORARY.match(upn))


def make_upn(la_code: int, serial: int) -> str:
    """A permanent UPN: check letter, LA number, then nine digits unique to the child."""
    body = f"{la_code:03d}{permute(serial % _SERIAL_SPACE, _SERIAL_SPACE):09d}"
    return upn_check_letter(body) + body


def make_temporary_upn(la_code: int, rnd: random.Random) -> str:
    body = f"{la_code:03d}{rnd.randrange(10**8):08d}{rnd.choice(CHECK_ALPHABET)}"
    return upn_check_letter(body) + body


def upn_with_wrong_letter(upn: str, rnd: random.Random) -> str:
    wrong = rnd.choice([c for c in CHECK_ALPHABET if c != upn[0]])
    return wrong + upn[1:]


def malformed_upn(upn: str, rnd: random.Random) -> tuple[str, str]:
    """A keying accident that breaks the UPN's shape; returns (value, how).

    The result stays alphanumeric and no longer than the 13 characters a system stores, so a
    document named after it still follows the file naming convention.
    """
    lookalike = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z"}
    roll = rnd.random()
    if roll < 0.35:
        return upn[:-1], "last digit dropped"
    if roll < 0.6:
        return upn[1:], "check letter missing"
    positions = [i for i in range(1, 12) if upn[i] in lookalike] or [5]
    i = rnd.choice(positions)
    return upn[:i] + lookalike.get(upn[i], "O") + upn[i + 1:], f"letter {lookalike.get(upn[i], 'O')} for a digit"


# --- NHS number and ULN -----------------------------------------------------------------------

def nhs_check_digit(nine: str) -> int | None:
    """Modulus 11 check digit on nine digits; None when the number cannot be valid (11 - r == 10)."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_is_valid(nhs: str) -> bool:
    if len(nhs) != 10 or not nhs.isdigit():
        return False
    return nhs_check_digit(nhs[:9]) == int(nhs[9])


def make_nhs_number(serial: int) -> str:
    tail = f"{permute(serial % 10**8, 10**8, 82_451_653, 12_345):08d}"
    for lead in "467":
        check = nhs_check_digit(lead + tail)
        if check is not None:
            return f"{lead}{tail}{check}"
    raise AssertionError("two of three leading digits always give a valid number")


def nhs_with_bad_check(nhs: str, rnd: random.Random) -> tuple[str, str]:
    """A one-digit keying error that the modulus 11 check catches."""
    for _ in range(50):
        pos = rnd.randrange(10)
        digit = str((int(nhs[pos]) + rnd.randrange(1, 10)) % 10)
        value = nhs[:pos] + digit + nhs[pos + 1:]
        if not nhs_is_valid(value):
            return value, f"digit {pos + 1} keyed as {digit}"
    return nhs[:9] + str((int(nhs[9]) + 1) % 10), "check digit keyed wrong"


def uln_check_digit(nine: str) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    return None if remainder == 0 else 10 - remainder


def uln_is_valid(uln: str) -> bool:
    if len(uln) != 10 or not uln.isdigit():
        return False
    return uln_check_digit(uln[:9]) == int(uln[9])


def make_uln(serial: int) -> str:
    tail = f"{permute(serial % 10**8, 10**8, 104_729, 4_242):08d}"
    for lead in "123456789":
        check = uln_check_digit(lead + tail)
        if check is not None and check < 10:
            return f"{lead}{tail}{check}"
    raise AssertionError("some leading digit always gives a valid ULN")


# --- postcodes --------------------------------------------------------------------------------

_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def make_postcode(area: str, district: int, sector: int, unit: int) -> str:
    letters = _INWARD_LETTERS[unit % 20] + _INWARD_LETTERS[unit // 20 % 20]
    return f"{area}{district} {sector % 10}{letters}"


def postcode_code(district: int, sector: int, unit: int) -> int:
    """A postcode within its council's area as one integer (strings are made only when written)."""
    return district * 4000 + sector % 10 * 400 + unit % 400


def postcode_from_code(area: str, code: int) -> str:
    return make_postcode(area, code // 4000, code // 400 % 10, code % 400)


def restyle_postcode(postcode: str, style: int) -> str:
    """Spacing and case as different keyboards type it (not an error: the contract allows it)."""
    if style == 1:
        return postcode.replace(" ", "")
    if style == 2:
        return postcode.lower()
    if style == 3:
        return postcode.replace(" ", "  ")
    return postcode


# --- vectorised forms (bit-identical to the scalar ones; used for whole cohorts) --------------

def make_upn_array(la_codes: np.ndarray, serials: np.ndarray) -> np.ndarray:
    la_codes = np.asarray(la_codes, dtype=np.int64)
    perm = permute(np.asarray(serials, dtype=np.int64) % _SERIAL_SPACE, _SERIAL_SPACE)
    number = la_codes * _SERIAL_SPACE + perm
    total = np.zeros(len(number), dtype=np.int64)
    for position in range(13, 1, -1):
        total += position * (number % 10)
        number //= 10
    letters = np.array(list(CHECK_ALPHABET), dtype=object)[total % 23]
    return np.array([f"{c}{la:03d}{p:09d}" for c, la, p in zip(letters, la_codes.tolist(), perm.tolist(),
                                                                strict=True)], dtype=object)


def make_uln_array(serials: np.ndarray) -> np.ndarray:
    tail = permute(np.asarray(serials, dtype=np.int64) % 10**8, 10**8, 104_729, 4_242)
    weighted_tail = np.zeros(len(tail), dtype=np.int64)
    rest = tail.copy()
    for weight in range(2, 10):  # the tail's digits carry weights 9..2 from the left, i.e. 2..9 from the right
        weighted_tail += weight * (rest % 10)
        rest //= 10
    lead = np.zeros(len(tail), dtype=np.int64)
    check = np.zeros(len(tail), dtype=np.int64)
    for candidate in range(9, 0, -1):  # the smallest leading digit whose remainder is not 0 wins
        remainder = (candidate * 10 + weighted_tail) % 11
        ok = remainder != 0
        lead = np.where(ok, candidate, lead)
        check = np.where(ok, 10 - remainder, check)
    return np.array([f"{a}{t:08d}{c}" for a, t, c in zip(lead.tolist(), tail.tolist(), check.tolist(),
                                                          strict=True)], dtype=object)
