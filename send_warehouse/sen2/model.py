"""The return as a tree of modules (Person -> Requests -> Assessment -> NamedPlan -> PlanDetail,
Requests -> ActivePlans -> PlacementDetail, SENneed), holding SEN2 codes, plus the warehouse ids
each item came from so that the pre-submission report can say which record to fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Setting:
    """A PlanDetail (the setting the plan names) or a PlacementDetail (where the child is placed)."""

    urn: int | None
    ukprn: int | None
    sen_setting: str | None
    rank: int
    entry_date: date | None = None  # PlacementDetail only
    leaving_date: date | None = None
    source_id: str = ""  # casework plan id or education PlacementId


@dataclass
class NamedPlan:
    casework_plan_id: int
    start_date: date | None
    details: list[Setting]
    cease_date: date | None
    cease_reason: int | None


@dataclass
class Assessment:
    outcome: str  # Y N A W H
    outcome_date: date | None
    week20: int | None  # 1: a statutory exception to the 20-week limit applies
    named_plan: NamedPlan | None


@dataclass
class ActivePlan:
    casework_plan_id: int
    transfer_la: str | None
    placements: list[Setting]
    needs: list[tuple[str | None, int]]  # (SENtype, SENtypeRank)
    review_meeting: date | None
    last_review: date | None
    review_outcome: str | None
    casework_review_id: int | None
    phase_transfer_due: date | None = None  # deadline of a phase transfer falling in the period
    phase_transfer_final: date | None = None  # the amended plan naming the new setting


@dataclass
class Request:
    casework_request_id: int
    casework_person_id: int
    received_date: date | None
    request_source: int | None
    outcome_date: date | None
    outcome: str  # Y N A W H
    is_transfer_in: bool
    assessment: Assessment | None
    active_plan: ActivePlan | None


@dataclass
class Person:
    person_key: str
    surname: str | None
    forename: str | None
    birth_date: date | None
    sex: str | None  # as recorded (the XML carries only M or F)
    ethnicity: str | None
    postcode: str | None
    upn: str | None  # as recorded (the XML carries only a valid permanent UPN)
    upn_status: str  # valid, temporary, check_letter, format, missing
    uln: str | None  # a valid ULN, else None
    upn_unknown: str | None  # reason code when neither UPN nor ULN is known
    requests: list[Request] = field(default_factory=list)

    @property
    def xml_upn(self) -> str | None:
        return self.upn if self.upn_status == "valid" else None

    @property
    def xml_sex(self) -> str | None:
        return self.sex if self.sex in ("M", "F") else None
