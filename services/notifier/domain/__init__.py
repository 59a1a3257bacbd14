"""The notifier's rules without I/O: who is told what, rendering, retries, care, outcomes."""

from . import outcomes
from .care import CarePolicy, QuietHours, RateLimit, fold, release_at, send_at
from .intents import (
    ChannelName,
    Context,
    DeliveryIntent,
    Digest,
    FailureReason,
    Outgoing,
    Plan,
    PlannedFailure,
    RecipientRole,
    Source,
    mask,
    notification_id,
    recipient_key,
)
from .plan import NOTIFIED_EVENT_TYPES, TEMPLATE_NAMES, TemplateIndex, plan
from .recipients import ApplicantContact, Directory, KnownRecord, SupervisorAddress, SupervisorDirectory
from .render import Rendered, RenderFailure, Templates, vn_date, vn_datetime
from .retry import (
    DeliveryResult,
    RetryDecision,
    RetryPolicy,
    Verdict,
    after_attempt,
    classify_http,
    classify_smtp,
)

__all__ = [
    "NOTIFIED_EVENT_TYPES", "TEMPLATE_NAMES", "ApplicantContact", "CarePolicy", "ChannelName",
    "Context", "DeliveryIntent", "DeliveryResult", "Digest", "Directory", "FailureReason",
    "KnownRecord", "Outgoing", "Plan", "PlannedFailure", "QuietHours", "RateLimit", "RecipientRole",
    "RenderFailure", "Rendered", "RetryDecision", "RetryPolicy", "Source", "SupervisorAddress",
    "SupervisorDirectory", "TemplateIndex", "Templates", "Verdict", "after_attempt", "classify_http",
    "classify_smtp", "fold", "mask", "notification_id", "outcomes", "plan", "recipient_key",
    "release_at", "send_at", "vn_date", "vn_datetime",
]
