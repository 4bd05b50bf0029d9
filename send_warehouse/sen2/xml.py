"""The return as SEN2 XML (lxml), in the specification's element order, and its XSD check.

Only values of the right shape are written: an invalid UPN, a sex other than M/F or an unknown code
is left out of the XML (and reported by the pre-submission report), so the file always reads.
"""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from pathlib import Path

from lxml import etree

from send_warehouse.sen2.collection import Collection
from send_warehouse.sen2.model import ActivePlan, Assessment, NamedPlan, Person, Request, Setting

SOFTWARE_CODE = "send-warehouse"
SETTING_CODES = {"OLA", "OPA", "EHE", "EYP", "OTH", "NEET", "NIEC", "NIEO"}
SEN_TYPES = {"SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "DS", "OTH"}


def schema() -> etree.XMLSchema:
    """The project's SEN2 XSD (package data beside this module)."""
    with resources.files("send_warehouse.sen2").joinpath("sen2.xsd").open("rb") as f:
        return etree.XMLSchema(etree.parse(f))


def validate(path: Path) -> list[str]:
    """XSD errors of an XML file (empty when it validates)."""
    xsd = schema()
    ok = xsd.validate(etree.parse(str(path)))
    return [] if ok else [f"line {e.line}: {e.message}" for e in xsd.error_log]


def _add(parent: etree._Element, name: str, value: object | None) -> None:
    if value is None or value == "":
        return
    etree.SubElement(parent, name).text = value.isoformat() if isinstance(value, date) else str(value)


def build(persons: list[Person], c: Collection, release: str, created: datetime) -> etree._ElementTree:
    message = etree.Element("Message")
    header = etree.SubElement(message, "Header")
    details = etree.SubElement(header, "CollectionDetails")
    _add(details, "Collection", "SEN2")
    _add(details, "Year", c.year)
    _add(details, "ReferenceDate", c.reference_date)
    source = etree.SubElement(header, "Source")
    _add(source, "SourceLevel", "L")
    _add(source, "LEA", c.la)
    _add(source, "SoftwareCode", SOFTWARE_CODE)
    _add(source, "Release", release)
    _add(source, "SerialNo", 1)
    _add(source, "DateTime", created.replace(microsecond=0).isoformat())
    people = etree.SubElement(message, "Persons")
    for person in persons:
        _person(people, person)
    return etree.ElementTree(message)


def _person(parent: etree._Element, p: Person) -> None:
    e = etree.SubElement(parent, "Person")
    _add(e, "Surname", p.surname)
    _add(e, "Forename", p.forename)
    _add(e, "PersonBirthDate", p.birth_date)
    _add(e, "Sex", p.xml_sex)
    _add(e, "Ethnicity", p.ethnicity)
    _add(e, "PostCode", p.postcode)
    _add(e, "UPN", p.xml_upn)
    _add(e, "UniqueLearnerNumber", p.uln)
    _add(e, "UPNunknown", p.upn_unknown)
    for request in p.requests:
        _request(e, request)


def _request(parent: etree._Element, r: Request) -> None:
    e = etree.SubElement(parent, "Requests")
    _add(e, "ReceivedDate", r.received_date)
    _add(e, "RequestSource", r.request_source)
    _add(e, "RequestOutcomeDate", r.outcome_date)
    _add(e, "RequestOutcome", r.outcome)
    if r.assessment:
        _assessment(e, r.assessment)
    if r.active_plan:
        _active(e, r.active_plan)


def _assessment(parent: etree._Element, a: Assessment) -> None:
    e = etree.SubElement(parent, "Assessment")
    _add(e, "AssessmentOutcome", a.outcome)
    _add(e, "AssessmentOutcomeDate", a.outcome_date)
    _add(e, "Week20", a.week20)
    if a.named_plan:
        _named_plan(e, a.named_plan)


def _named_plan(parent: etree._Element, n: NamedPlan) -> None:
    e = etree.SubElement(parent, "NamedPlan")
    _add(e, "StartDate", n.start_date)
    for detail in n.details:
        _setting(e, "PlanDetail", detail, placement=False)
    _add(e, "CeaseDate", n.cease_date)
    _add(e, "CeaseReason", n.cease_reason)


def _setting(parent: etree._Element, name: str, s: Setting, placement: bool) -> None:
    e = etree.SubElement(parent, name)
    _add(e, "URN", s.urn)
    _add(e, "UKPRN", s.ukprn)
    _add(e, "SENSetting", s.sen_setting if s.sen_setting in SETTING_CODES else None)
    _add(e, "PlacementRank", s.rank)
    if placement:
        _add(e, "EntryDate", s.entry_date)
        _add(e, "LeavingDate", s.leaving_date)


def _active(parent: etree._Element, a: ActivePlan) -> None:
    e = etree.SubElement(parent, "ActivePlans")
    _add(e, "TransferLA", a.transfer_la)
    for placement in a.placements:
        _setting(e, "PlacementDetail", placement, placement=True)
    for sen_type, rank in a.needs[:2]:
        if sen_type in SEN_TYPES:
            need = etree.SubElement(e, "SENneed")
            _add(need, "SENtype", sen_type)
            _add(need, "SENtypeRank", rank)
    _add(e, "ReviewMeeting", a.review_meeting)
    _add(e, "LastReview", a.last_review)
    _add(e, "ReviewOutcome", a.review_outcome)
    _add(e, "PhaseTransferDueDate", a.phase_transfer_due)
    _add(e, "PhaseTransferFinalDate", a.phase_transfer_final)
