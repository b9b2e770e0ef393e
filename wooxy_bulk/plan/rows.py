"""The plan: every contact row with its number, its text and what is to happen to it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..campaign import Campaign, campaign_warnings
from ..contacts import Contacts, open_contacts
from ..errors import RowError, display_path, located
from ..textfile import read_text
from .characters import CharacterTally, count_segments
from .phones import PhoneParser, sms_note
from .render import MessageTemplate
from .suppression import Suppressions, read_suppressions

NOTE_SEPARATOR = "; "  # between the notes of one row


class Status(StrEnum):
    """What happened to a row; the `status` column of the results sheet."""

    READY = "ready"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"
    NOT_SENT = "not_sent"


@dataclass(slots=True)
class PlanRow:
    """One non-empty contact row and its fate."""

    row: int
    cells: tuple[str, ...]
    status: Status
    phone: str = ""
    text: str = ""
    segments: int = 0
    ucs2: bool = False
    error: str = ""
    sms_id: str = ""
    where: object = None  # windows.Where: the recipient's zones, for the send windows
    region: str = ""  # the number's region (phones.PhoneReading.region), for prices and windows
    note: str = ""  # what was noticed about the row; any step may add one (add_note)
    delivery: str = ""  # the API's delivery status word for a sent row (see delivery.label)
    delivery_checked_at: str = ""  # when it was asked, UTC

    def add_note(self, text: str) -> None:
        """Add a note to the row's ``note`` (several steps may note something)."""
        if text:
            self.note = f"{self.note}{NOTE_SEPARATOR}{text}" if self.note else text


@dataclass
class Plan:
    """Every non-empty row of the contacts, in input order."""

    columns: tuple[str, ...]
    rows: list[PlanRow]
    warnings: list[str] = field(default_factory=list)
    read_from: str = ""  # the contacts file and its sheet or encoding, for the dry run
    characters: CharacterTally | None = None
    prices: dict[str, float] | None = None  # the campaign's, for the estimate

    def counts(self) -> Counter[Status]:
        return Counter(r.status for r in self.rows)

    def with_status(self, *statuses: Status) -> list[PlanRow]:
        return [r for r in self.rows if r.status in statuses]


def prepare(campaign: Campaign) -> Plan:
    """Read, render and check every row of a campaign; raises InputError before any row if the
    campaign's files are wrong."""
    contacts = open_contacts(campaign.contacts, campaign.sheet, campaign.contacts_encoding)
    phone_at = contacts.column_index(campaign.phone_column, "phone_column")
    country_at = (
        contacts.column_index(campaign.country_column, "country_column")
        if campaign.country_column
        else None
    )
    template = load_template(campaign, contacts.columns)
    tally = CharacterTally(template.source, contacts.columns, campaign.characters == "replace")
    parser = PhoneParser(campaign.default_region)
    suppressions = read_suppressions(campaign.suppress, parser)
    plan = build_plan(
        contacts,
        template,
        parser,
        phone_at=phone_at,
        country_at=country_at,
        max_segments=campaign.max_segments,
        suppressions=suppressions,
        mobile_only=campaign.mobile_only,
        tally=tally,
    )
    plan.prices = campaign.prices
    plan.warnings += campaign_warnings(campaign)
    if warning := tally.template_warning():
        plan.warnings.append(warning)
    if suppressions.unreadable:
        plan.warnings.append(
            f"{suppressions.unreadable} value(s) in the suppress files are not valid phone"
            " numbers and were ignored"
        )
    return plan


def load_template(campaign: Campaign, columns: Sequence[str]) -> MessageTemplate:
    """Compile the campaign's message against the contacts' columns."""
    spec = campaign.message
    if spec.template is None:
        name = f"{display_path(campaign.source)}: message.text"
        return MessageTemplate.compile(spec.text or "", name=name, columns=columns)
    if not spec.template.exists():
        raise located(
            campaign.source, f"key 'message.template': no such file {display_path(spec.template)}"
        )
    source = read_text(spec.template, "template")
    return MessageTemplate.compile(source, name=display_path(spec.template), columns=columns)


def build_plan(
    contacts: Contacts,
    template: MessageTemplate,
    parser: PhoneParser,
    *,
    phone_at: int,
    country_at: int | None = None,
    max_segments: int | None = None,
    suppressions: Suppressions | None = None,
    mobile_only: bool = False,
    tally: CharacterTally | None = None,
) -> Plan:
    """Decide every row: invalid, suppressed, duplicate or ready (first row of a number wins)."""
    suppressed = suppressions.sources if suppressions else {}
    first_row: dict[str, int] = {}
    rows: list[PlanRow] = []
    phone_columns = (phone_at,) if country_at is None else (phone_at, country_at)
    for number, cells in contacts.rows(phone=phone_at, used=template.column_indices):
        item = PlanRow(number, cells, Status.READY)
        rows.append(item)
        try:
            region = cells[country_at] if country_at is not None else None
            reading = parser.read(cells[phone_at], region or None)
            item.phone, item.region = reading.e164, reading.region
            item.add_note(reading.note)
            item.add_note(sms_note(reading, cells[phone_at], mobile_only))
            item.text = template.render(cells)
        except RowError as exc:
            used = template.column_indices if item.phone else phone_columns  # what failed
            problem = contacts.problem(number, cells, used)  # an error value, not an empty cell?
            item.status, item.error = Status.INVALID, problem or str(exc)
            continue
        if tally is None:
            item.segments, item.ucs2 = count_segments(item.text)
        else:
            item.text, item.segments, item.ucs2, note = tally.settle(number, item.text)
            if note:
                item.add_note(note)
        if not item.text:
            item.status, item.error = Status.INVALID, "the text is empty"
            continue
        if max_segments is not None and item.segments > max_segments:
            item.status = Status.INVALID
            item.error = (
                f"the text needs {item.segments} SMS segments; max_segments is {max_segments}"
            )
        elif item.phone in suppressed:
            item.status = Status.SUPPRESSED
            item.error = f"on the suppression list {suppressed[item.phone]}"
        elif item.phone in first_row:
            item.status = Status.DUPLICATE
            item.error = f"same number as row {first_row[item.phone]}"
        else:
            first_row[item.phone] = number
    return Plan(contacts.columns, rows, read_from=contacts.read_from, characters=tally)
