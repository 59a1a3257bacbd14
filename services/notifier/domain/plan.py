"""From one event and what the notifier knows, the deliveries to make, or why they cannot be made.

Who hears what (one template per line; ``DelayReported`` is not told here, since sla_monitor turns
it into the ``ApologyDue`` the applicant receives, and telling both would say it twice):

* RecordSubmitted → applicant, ``receipt`` (form 01: record code and appointment);
* RecordRouted → applicant, ``routed`` (the department now holding the file);
* SupplementRequested → applicant, ``supplement_requested`` (form 02: what is missing, by when);
* RecordResolved → applicant, ``result_ready`` (the result is ready: to collect, or sent online);
* RecordRejected → applicant, ``rejected`` (form 03, with the reason);
* ApologyDue → applicant, ``apology`` (form 04: reason, original and new appointment);
* EscalationRaised → every address configured for its ``recipient_role``, ``escalation``.

Not told: ResultReturned (the result has reached the applicant, nothing is left to say);
DeadlineBreached and RecordStuckInRouting (sla_monitor raises an EscalationRaised for the same
moment, which is what supervisors receive); warnings and delay requests (for the department's own
system); department-internal steps (assigned, accepted, returned as misrouted, supplemented).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol, cast, get_args

from contracts.common import Language
from contracts.department.v1 import RecordRejected, RecordResolved, SupplementRequested
from contracts.envelope import Envelope, EventPayload
from contracts.records.v1 import RecordRouted, RecordSubmitted
from contracts.sla.v1 import ApologyDue, EscalationRaised

from .intents import (
    DEFAULT_LANGUAGE,
    NO_ADDRESS,
    ChannelName,
    Context,
    DeliveryIntent,
    FailureReason,
    Plan,
    PlannedFailure,
    RecipientRole,
    Source,
    mask,
    notification_id,
)
from .recipients import Directory, KnownRecord

RECEIPT: Final = "receipt"
ROUTED: Final = "routed"
SUPPLEMENT_REQUESTED: Final = "supplement_requested"
RESULT_READY: Final = "result_ready"
REJECTED: Final = "rejected"
APOLOGY: Final = "apology"
ESCALATION: Final = "escalation"
DIGEST: Final = "digest"
TEMPLATE_NAMES: Final = (RECEIPT, ROUTED, SUPPLEMENT_REQUESTED, RESULT_READY, REJECTED, APOLOGY,
                         ESCALATION, DIGEST)

NOTIFIED_EVENT_TYPES: Final = frozenset(model.event_type for model in (
    RecordSubmitted, RecordRouted, SupplementRequested, RecordResolved, RecordRejected, ApologyDue,
    EscalationRaised))
"""Event types that lead to a notification; any other event gives an empty plan."""

_APPLICANT_CHANNELS: Final[tuple[ChannelName, ...]] = ("email", "sms")


class TemplateIndex(Protocol):
    """Which templates exist: the planner fails early on what the renderer could not render."""

    @property
    def languages(self) -> frozenset[str]: ...

    def has(self, language: str, template: str, channel: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Message:
    template: str
    context: Context
    foldable: bool = True
    not_after: datetime | None = None


def plan(envelope: Envelope[EventPayload], record: KnownRecord | None, directory: Directory,
         templates: TemplateIndex) -> Plan:
    """The deliveries `envelope` asks for; never raises for a recipient that cannot be reached.

    `record` is what the notifier kept from the record's RecordSubmitted (None if it has none);
    for a RecordSubmitted itself the event's own applicant is used.
    """
    data = envelope.data
    source = Source(event_id=envelope.id, event_type=envelope.type, record_code=envelope.record_id,
                    occurred_at=envelope.time)
    if isinstance(data, EscalationRaised):
        return _to_supervisors(source, data, directory, templates)
    if isinstance(data, RecordSubmitted):
        record = KnownRecord.from_submitted(data)
    message = _applicant_message(data, record, directory)
    if message is None:
        return Plan()
    return _to_applicant(source, record, message, directory, templates)


def _applicant_message(data: EventPayload, record: KnownRecord | None,
                       directory: Directory) -> _Message | None:
    base: dict[str, str] = {"record_code": data.subject() or ""}
    if record is not None:
        base["procedure_name"] = record.procedure_name
    department = directory.department_name(getattr(data, "department_code", None))
    if isinstance(data, RecordSubmitted):
        return _Message(RECEIPT, {**base, "accepted_at": data.accepted_at.isoformat(),
                                  "appointment": data.appointment_current.isoformat(),
                                  "appointment_provisional": data.appointment_provisional})
    if isinstance(data, RecordRouted):
        return _Message(ROUTED, {**base, "department": department,
                                 "rerouted": data.decision == "rerouted"})
    if isinstance(data, SupplementRequested):
        respond_by = data.respond_by.isoformat() if data.respond_by is not None else None
        return _Message(SUPPLEMENT_REQUESTED, {**base, "department": department,
                                               "missing": list(data.missing), "reason": data.reason,
                                               "respond_by": respond_by}, foldable=False)
    if isinstance(data, RecordResolved):
        return _Message(RESULT_READY, {**base, "department": department,
                                       "result_summary": data.result_summary,
                                       "electronic": data.electronic_result})
    if isinstance(data, RecordRejected):
        return _Message(REJECTED, {**base, "department": department, "reason": data.reason},
                        foldable=False)
    if isinstance(data, ApologyDue):
        return _Message(APOLOGY, {**base, "department": department, "reason": data.reason,
                                  "appointment_original": data.appointment_original.isoformat(),
                                  "new_appointment": data.new_appointment.isoformat()},
                        foldable=False, not_after=data.due_at)
    return None


def _to_applicant(source: Source, record: KnownRecord | None, message: _Message,
                  directory: Directory, templates: TemplateIndex) -> Plan:
    def failed(channel: ChannelName, address: str, reason: FailureReason, detail: str) -> Plan:
        return Plan(failures=(_failure(source, "applicant", channel, address, message.template,
                                       reason, detail),))

    if record is None:
        return failed("email", NO_ADDRESS, "no_contact",
                      f"no application known for record {source.record_code}: no contact to use")
    if record.record_code != source.record_code:  # never tell one applicant about another's file
        return failed("email", NO_ADDRESS, "no_contact",
                      f"the contact given belongs to record {record.record_code}, "
                      f"not {source.record_code}")
    contact = record.contact
    preferred = contact.preferred_channel
    order = sorted(_APPLICANT_CHANNELS, key=lambda channel: channel != preferred)
    reachable = [(c, a) for c in order if c in directory.channels
                 and (a := contact.address_for(c)) is not None]
    if not reachable:
        fallback: ChannelName = "sms" if preferred == "sms" else "email"
        return failed(fallback, NO_ADDRESS, "no_contact",
                      f"no address on an enabled channel (preferred {_shown(preferred)}, "
                      f"enabled {', '.join(sorted(directory.channels)) or 'none'})")
    channel, address = reachable[0]
    language = _language(contact.language or DEFAULT_LANGUAGE, templates)
    if language is None:
        return failed(channel, address, "unknown_language",
                      f"language {_shown(contact.language)} has no templates "
                      f"(known: {', '.join(sorted(templates.languages))})")
    if not templates.has(language, message.template, channel):
        return Plan(failures=(_failure(source, "applicant", channel, address, message.template,
                                       "no_template", f"no template {message.template} for "
                                                      f"{channel} in {language}", language),))
    return Plan(intents=(DeliveryIntent(
        notification_id=notification_id(source.event_id, "applicant", channel, address),
        source=source, recipient_role="applicant", channel=channel, address=address,
        language=language, template=message.template,
        context=message.context, foldable=message.foldable, not_after=message.not_after),))


def _to_supervisors(source: Source, data: EscalationRaised, directory: Directory,
                    templates: TemplateIndex) -> Plan:
    role: RecipientRole = data.recipient_role
    found = directory.supervisors.lookup(data.recipient_role, data.department_code)
    usable = [a for a in found if a.channel in directory.channels]
    if not usable:
        where = f" of department {data.department_code}" if data.department_code else ""
        detail = (f"no address configured for role {role}{where}" if not found
                  else f"role {role}{where} has addresses only on channels not enabled")
        return Plan(failures=(_failure(source, role, "email", NO_ADDRESS, ESCALATION, "no_contact",
                                       detail),))
    context: Context = {
        "record_code": data.record_code, "procedure_code": data.procedure_code,
        "department": directory.department_name(data.department_code),
        "department_code": data.department_code, "kind": data.kind, "level": data.level,
        "role": role, "reason": data.reason, "due_at": data.due_at.isoformat(),
        "lateness_working_days": data.lateness_working_days,
    }
    intents: list[DeliveryIntent] = []
    failures: list[PlannedFailure] = []
    for entry in usable:
        if _language(entry.language, templates) is None:
            failures.append(_failure(source, role, entry.channel, entry.address, ESCALATION,
                                     "unknown_language",
                                     f"language {entry.language} has no templates"))
        elif not templates.has(entry.language, ESCALATION, entry.channel):
            failures.append(_failure(source, role, entry.channel, entry.address, ESCALATION,
                                     "no_template", f"no template {ESCALATION} for {entry.channel} "
                                                    f"in {entry.language}", entry.language))
        else:
            intents.append(DeliveryIntent(
                notification_id=notification_id(source.event_id, role, entry.channel, entry.address),
                source=source, recipient_role=role, channel=entry.channel, address=entry.address,
                language=entry.language, template=ESCALATION, context=context))
    return Plan(intents=tuple(intents), failures=tuple(failures))


def _failure(source: Source, role: RecipientRole, channel: ChannelName, address: str,
             template: str, reason: FailureReason, detail: str,
             language: Language = DEFAULT_LANGUAGE) -> PlannedFailure:
    masked = "***" if address == NO_ADDRESS else mask(channel, address)
    return PlannedFailure(
        notification_id=notification_id(source.event_id, role, channel, address), source=source,
        recipient_role=role, channel=channel, masked_address=masked, language=language,
        template=template, reason=reason, detail=detail[:500])


def _language(value: str, templates: TemplateIndex) -> Language | None:
    """The language if the contracts name it and templates exist for it; None means unknown."""
    for known in get_args(Language):
        if value == known and known in templates.languages:
            return cast(Language, known)
    return None


def _shown(value: str) -> str:
    """A value from stored data, quoted and cut short, so a detail stays one readable line."""
    return repr(value[:20])
