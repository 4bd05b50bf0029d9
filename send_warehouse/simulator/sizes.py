"""The sizes a simulated area can have, calibrated against DfE's published figures (domain.md).

`council` is Norfolk-like (LA 926), `large-county` Kent-like (LA 886), `england` the whole
country (LA codes varied, one casework database). `tiny` is a scaled-down council for tests in
which rare situations and error kinds are boosted so that every one of them appears.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hashing import hash_int, label_key

_SEASON = (1.1, 1.0, 1.1, 0.9, 1.05, 1.1, 1.05, 0.6, 1.0, 1.1, 1.05, 0.85)
_SEASON_SUM = sum(_SEASON)

# LA numbers of England's councils (a representative set for the england size).
ENGLAND_LAS: tuple[int, ...] = (
    202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 301, 302, 303, 304, 305, 306, 307, 308,
    309, 310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 330, 331, 332, 333, 334, 335, 336, 340,
    341, 342, 343, 344, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 380, 381,
    382, 383, 384, 390, 391, 392, 393, 394, 800, 801, 802, 803, 805, 806, 807, 808, 810, 811, 812, 813,
    815, 816, 821, 822, 823, 825, 826, 830, 831, 835, 836, 837, 838, 839, 840, 841, 845, 846, 850, 851,
    852, 855, 856, 857, 860, 861, 865, 866, 867, 868, 869, 870, 871, 872, 873, 874, 876, 877, 878, 879,
    880, 881, 882, 883, 884, 885, 886, 887, 888, 889, 890, 891, 892, 893, 894, 895, 896, 908, 909, 916,
    919, 921, 925, 926, 928, 929, 931, 933, 935, 936, 937, 938, 940, 941, 942, 943,
)
_ENGLAND_AREAS = (
    "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "CA", "CB", "CH", "CM", "CO", "CR", "CT", "CV",
    "CW", "DA", "DE", "DH", "DL", "DN", "DT", "DY", "E", "EN", "EX", "FY", "GL", "GU", "HA", "HD", "HG",
    "HP", "HR", "HU", "HX", "IG", "IP", "KT", "L", "LA", "LE", "LN", "LS", "LU", "M", "ME", "MK", "N", "NE",
    "NG", "NN", "NR", "NW", "OL", "OX", "PE", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SE", "SG", "SK",
    "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TF", "TN", "TQ", "TR", "TS", "TW",
    "UB", "W", "WA", "WD", "WF", "WN", "WR", "WS", "WV", "YO",
)


@dataclass(frozen=True)
class SizeSpec:
    """Everything that differs between sizes; rates common to all sizes live with the code using them."""

    name: str
    la_codes: tuple[int, ...]  # the area's councils; the first is the manifest's la_code
    births_per_year: float  # children per birth cohort outside the EHC population, across the area
    requests_2024: float  # requests for an EHC needs assessment received in calendar 2024
    p_decided_6w: float  # decisions to assess (or not) made within 6 weeks
    p_issued_20w: float  # plans issued within 20 weeks, exceptions excluded
    p_over_52w_if_late: float  # of late plans, the share issued after 52 weeks
    p_refused: float  # requests the council refuses to assess
    ethnicity_profile: str  # "county" or "england"
    neighbour_las: tuple[int, ...]  # where transfers-in come from and out-of-area schools are
    teams: tuple[str, ...] = ("North", "South", "East", "West")
    boost: float = 1.0  # multiplier on rare situations and injected errors
    stalled_every_days: int = 0  # >0: one request stalls every N days, so every 20-week status always exists
    hard_deletes_per_day: float = 1.0  # casework documents that vanish outright per day
    id_digits: int = 7  # digits of a PupilRef after the P

    @property
    def la_code(self) -> int:
        return self.la_codes[0]

    @property
    def id_space(self) -> int:
        return 10**self.id_digits

    def la_weight(self, la: int) -> float:
        """Relative size of each council in a multi-council area (deterministic, seed-independent)."""
        if len(self.la_codes) == 1:
            return 1.0
        return 0.3 + 2.2 * (hash_int(label_key("la-weight"), la) % 1000) / 1000

    def postcode_area(self, la: int) -> tuple[str, int]:
        """(postcode area, first district number) used for a council's addresses."""
        if len(self.la_codes) == 1:
            return {926: "NR", 886: "ME"}.get(la, "NR"), 1
        index = self.la_codes.index(la)
        return _ENGLAND_AREAS[index % len(_ENGLAND_AREAS)], 1 + 30 * (index // len(_ENGLAND_AREAS))

    def requests_in_month(self, year: int, month: int) -> float:
        """Expected requests received in a calendar month (national growth, seasonal dip in August)."""
        if year <= 2024:
            volume = self.requests_2024 * 1.13 ** (year - 2024)
        else:
            volume = self.requests_2024 * (1.05 if year == 2025 else 1.08)
        return volume * _SEASON[month - 1] / _SEASON_SUM


_COUNTY_TEAMS = ("North", "South", "East", "West")

SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(
        name="tiny", la_codes=(926,), births_per_year=85, requests_2024=28, p_decided_6w=0.85,
        p_issued_20w=0.56, p_over_52w_if_late=0.12, p_refused=0.25, ethnicity_profile="county",
        neighbour_las=(935, 873, 925), teams=_COUNTY_TEAMS, boost=5.0, stalled_every_days=21,
        hard_deletes_per_day=0.3),
    "council": SizeSpec(
        name="council", la_codes=(926,), births_per_year=8_000, requests_2024=2_562, p_decided_6w=0.85,
        p_issued_20w=0.56, p_over_52w_if_late=0.15, p_refused=0.25, ethnicity_profile="county",
        neighbour_las=(935, 873, 925), teams=_COUNTY_TEAMS, hard_deletes_per_day=2.0),
    "large-county": SizeSpec(
        name="large-county", la_codes=(886,), births_per_year=14_300, requests_2024=4_300,
        p_decided_6w=0.80, p_issued_20w=0.45, p_over_52w_if_late=0.15, p_refused=0.25,
        ethnicity_profile="county", neighbour_las=(845, 846, 208, 305, 307),
        teams=_COUNTY_TEAMS, hard_deletes_per_day=3.0),
    "england": SizeSpec(
        name="england", la_codes=ENGLAND_LAS, births_per_year=600_000, requests_2024=154_489,
        p_decided_6w=0.85, p_issued_20w=0.464, p_over_52w_if_late=0.155, p_refused=0.252,
        ethnicity_profile="england", neighbour_las=ENGLAND_LAS, teams=_COUNTY_TEAMS,
        hard_deletes_per_day=60.0, id_digits=8),
}
