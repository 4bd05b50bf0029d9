"""Identifier check algorithms against domain.md's examples, and the generators built on them."""

from __future__ import annotations

import random

import numpy as np
import pytest

from send_warehouse.simulator.identifiers import (
    make_nhs_number,
    make_temporary_upn,
    make_uln,
    make_uln_array,
    make_upn,
    make_upn_array,
    malformed_upn,
    nhs_is_valid,
    nhs_with_bad_check,
    uln_is_valid,
    upn_check_letter,
    upn_is_temporary,
    upn_is_valid,
    upn_is_well_formed,
    upn_with_wrong_letter,
)
from send_warehouse.simulator.names import FORENAME_VARIANTS, POOLS, SURNAME_VARIANTS


@pytest.mark.parametrize("upn", ["A950000178301", "H243278544154"])
def test_domain_valid_upns(upn):
    assert upn_is_valid(upn)
    assert upn_check_letter(upn[1:]) == upn[0]


@pytest.mark.parametrize("upn", ["R247962919251", "X428558133462"])
def test_domain_invalid_upns_fail_only_on_the_letter(upn):
    assert upn_is_well_formed(upn)
    assert not upn_is_valid(upn)


@pytest.mark.parametrize("nhs", ["9434765870", "9434765919"])
def test_domain_valid_nhs_numbers(nhs):
    assert nhs_is_valid(nhs)


def test_nhs_rejects_a_changed_digit_and_the_impossible_check():
    assert not nhs_is_valid("9434765871")
    assert not nhs_is_valid("943476587")
    # 11 - r == 10 can never be valid: find such a stem and try every last digit.
    stem = next(f"{n:09d}" for n in range(10**8, 10**9) if (11 - sum(int(d) * w for d, w in zip(
        f"{n:09d}", range(10, 1, -1), strict=True)) % 11) == 10)
    assert not any(nhs_is_valid(stem + str(d)) for d in range(10))


def test_generated_identifiers_are_valid_and_unique():
    upns = [make_upn(926, i) for i in range(5000)]
    assert all(upn_is_valid(u) for u in upns) and len(set(upns)) == 5000
    assert all(u[1:4] == "926" for u in upns)
    nhs = [make_nhs_number(i) for i in range(5000)]
    assert all(nhs_is_valid(n) for n in nhs) and len(set(nhs)) == 5000
    ulns = [make_uln(i) for i in range(5000)]
    assert all(uln_is_valid(u) for u in ulns) and len(set(ulns)) == 5000


def test_vectorised_generators_match_the_scalar_ones():
    serials = np.arange(0, 30_000, 7)
    las = np.where(serials % 3 == 0, 926, 886)
    assert list(make_upn_array(las, serials)) == [make_upn(int(a), int(s)) for a, s in zip(las, serials,
                                                                                           strict=True)]
    assert list(make_uln_array(serials)) == [make_uln(int(s)) for s in serials]


def test_temporary_upns_are_valid_and_recognisable():
    rnd = random.Random(3)
    for _ in range(500):
        upn = make_temporary_upn(926, rnd)
        assert upn_is_valid(upn) and upn_is_temporary(upn) and len(upn) == 13


def test_corruptions_fail_the_checks_they_are_meant_to():
    rnd = random.Random(5)
    for i in range(500):
        upn = make_upn(886, i)
        wrong = upn_with_wrong_letter(upn, rnd)
        assert upn_is_well_formed(wrong) and not upn_is_valid(wrong)
        bad, how = malformed_upn(upn, rnd)
        assert not upn_is_well_formed(bad) and len(bad) <= 13, (bad, how)
        nhs, _ = nhs_with_bad_check(make_nhs_number(i), rnd)
        assert not nhs_is_valid(nhs)


def test_every_name_is_encodable_in_windows_1252():
    names = [n for pools in POOLS.values() for pool in pools for n in pool]
    names += [n for table in (FORENAME_VARIANTS, SURNAME_VARIANTS) for k, v in table.items() for n in (k, *v)]
    for name in names:
        name.encode("cp1252")
