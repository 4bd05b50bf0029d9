"""The settings children attend: schools, colleges, early years and alternative provision.

Each council gets settings in proportion to its pupils; council-sized areas also get a few
specialist settings in neighbouring councils, because out-of-county special placements are a
real and expensive part of SEND. The catalogue is the same every night (`establishments.csv`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hashing import permute, py_random
from .sizes import SizeSpec

# Category -> (Type, Phase choices, pupils per setting, minimum per council).
CATEGORIES: dict[str, tuple[str, tuple[str, ...], float, int]] = {
    "EY": ("EARLY_YEARS", ("EY",), 350, 2),
    "PRI": ("MAINSTREAM", ("PRIMARY",), 300, 3),
    "SEC": ("MAINSTREAM", ("SECONDARY", "SECONDARY", "SECONDARY", "ALL_THROUGH"), 2400, 1),
    "P16": ("MAINSTREAM", ("POST16",), 40_000, 1),
    "SPE": ("SPECIAL", ("ALL_THROUGH", "ALL_THROUGH", "PRIMARY", "SECONDARY"), 8_000, 1),
    "ISP": ("INDEPENDENT_SPECIAL", ("ALL_THROUGH", "POST16"), 10_000, 1),
    "AP": ("AP", ("ALL_THROUGH", "SECONDARY"), 15_000, 1),
    "FE": ("FE", ("POST16",), 35_000, 1),
}
CATEGORY_NAMES = tuple(CATEGORIES)
_PLACES = (
    "Thorpe", "Eaton", "Hellesdon", "Costessey", "Wymondham", "Dereham", "Swaffham", "Thetford", "Diss",
    "Attleborough", "Aylsham", "Cromer", "Sheringham", "Holt", "Fakenham", "Downham", "Hunstanton",
    "Watton", "Loddon", "Acle", "Wroxham", "Hethersett", "Poringland", "Taverham", "Drayton", "Sprowston",
    "Oakwood", "Riverside", "Meadow", "Hillside", "Brookfield", "Ashgrove", "Elmhurst", "Beechwood",
    "Fairfield", "Greenacre", "Highfield", "Kingsway", "Lakeside", "Millfield", "Northgate", "Parkside",
    "Queensway", "Rosewood", "Southfield", "Westfield", "Heartsease", "Lakenham", "Earlham", "Bowthorpe",
    "St Mary's", "St Peter's", "St Edmund's", "Holy Trinity", "All Saints", "Our Lady's", "St Augustine's",
)
_SUFFIXES = {
    "EY": ("Nursery", "Pre-School", "Day Nursery", "Children's Centre Nursery", "Playgroup"),
    "PRI": ("Primary School", "Infant and Junior School", "Church of England Primary School",
            "Primary Academy", "Community Primary School"),
    "SEC": ("High School", "Academy", "School", "Community College"),
    "P16": ("Sixth Form College",),
    "SPE": ("Special School", "School", "Academy"),
    "ISP": ("House School", "Independent Specialist College", "Learning Centre"),
    "AP": ("Short Stay School", "Pupil Referral Unit", "Alternative Provision Academy"),
    "FE": ("College", "College of Further Education", "College of Arts and Technology"),
}


@dataclass
class Establishments:
    """The catalogue plus per-(council, category) lookups for choosing a child's setting."""

    urn: np.ndarray
    name: np.ndarray
    type: np.ndarray
    phase: np.ndarray
    la: np.ndarray
    category: np.ndarray
    # For each category: URNs grouped by council, with each council's (start, count) in that array.
    by_category: dict[str, tuple[np.ndarray, dict[int, tuple[int, int]]]]

    def pick(self, category: str, la: int, u: float) -> int:
        urns, spans = self.by_category[category]
        start, count = spans[la]
        return int(urns[start + int(u * count)])

    def pick_many(self, category: str, las: np.ndarray, u: np.ndarray) -> np.ndarray:
        urns, spans = self.by_category[category]
        codes = np.array(sorted(spans), dtype=np.int64)
        starts = np.array([spans[c][0] for c in codes], dtype=np.int64)
        counts = np.array([spans[c][1] for c in codes], dtype=np.int64)
        position = np.searchsorted(codes, las)
        return urns[starts[position] + (u * counts[position]).astype(np.int64)]


def build_establishments(spec: SizeSpec, seed: int) -> Establishments:
    rnd = py_random(seed, spec.name, "establishments")
    rows: list[tuple[str, str, str, int, str]] = []  # name, type, phase, la, category
    total_weight = sum(spec.la_weight(la) for la in spec.la_codes)
    pupils_per_la = {la: spec.births_per_year * 14.7 * spec.la_weight(la) / total_weight
                     for la in spec.la_codes}
    for la in spec.la_codes:
        for category, (type_, phases, per, minimum) in CATEGORIES.items():
            for _ in range(max(minimum, round(pupils_per_la[la] / per))):
                rows.append((_name(rnd, category), type_, rnd.choice(phases), la, category))
    if len(spec.la_codes) == 1:  # specialist settings over the border
        for la in spec.neighbour_las:
            for category in ("SPE", "ISP", "ISP", "FE"):
                type_, phases, _, _ = CATEGORIES[category]
                rows.append((_name(rnd, category), type_, rnd.choice(phases), la, category))
    n = len(rows)
    urns = 100_000 + permute(np.arange(n), 900_000, 7_919, 12_345)
    name, type_, phase, la, category = (np.array(col, dtype=object) for col in zip(*rows, strict=True))
    la = la.astype(np.int64)
    by_category = {}
    for cat in CATEGORY_NAMES:
        idx = np.flatnonzero(category == cat)
        idx = idx[np.argsort(la[idx], kind="stable")]
        codes, starts, counts = np.unique(la[idx], return_index=True, return_counts=True)
        by_category[cat] = (urns[idx], {int(c): (int(s), int(k)) for c, s, k in zip(codes, starts, counts,
                                                                                  strict=True)})
    return Establishments(urns, name, type_, phase, la, category, by_category)


def _name(rnd, category: str) -> str:
    place, suffix = rnd.choice(_PLACES), rnd.choice(_SUFFIXES[category])
    roll = rnd.random()
    if roll < 0.02:
        return f"{place}, {suffix}"  # commas and quotes make the CSV quoting matter
    if roll < 0.03 and category == "EY":
        return f'"Little Acorns" {suffix}'
    return f"{place} {suffix}"
