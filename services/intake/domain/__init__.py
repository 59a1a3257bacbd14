"""Intake's rules without I/O: is an application acceptable, what code, receipt, event and
tracking page it gets."""

from .application import Address, Applicant, Application, AttachedDocument
from .assessment import Assessment, assess, fingerprint
from .codes import MAX_DAILY_SEQUENCE, SequenceExhausted, format_record_code, unit_day
from .receipt import (
    PROVISIONAL_APPOINTMENT_NOTICE,
    Receipt,
    Submission,
    acceptance_instant,
    due,
    receipt,
    submitted_event,
)
from .secrets import lookup_secret, lookup_secret_matches
from .tracking import (
    HistoryEntry,
    Tracking,
    TrackingChange,
    fold,
    history_entry,
    received_entry,
    track,
)

__all__ = [
    "MAX_DAILY_SEQUENCE", "PROVISIONAL_APPOINTMENT_NOTICE", "Address", "Applicant", "Application",
    "Assessment", "AttachedDocument", "HistoryEntry", "Receipt", "SequenceExhausted", "Submission",
    "Tracking", "TrackingChange", "acceptance_instant", "assess", "due", "fingerprint", "fold",
    "format_record_code", "history_entry", "lookup_secret", "lookup_secret_matches", "receipt",
    "received_entry", "submitted_event", "track", "unit_day",
]
