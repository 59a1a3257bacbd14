"""Settings of the notifier service (environment variables prefixed NOTIFIER_).

A channel is switched on by configuring it: email when `smtp_host` is set, SMS when
`sms_gateway_url` is set, webhooks unless `webhook_enabled` is false. With no channel configured
the service still starts, and every notification fails at once with a clear reason ("no address
on an enabled channel") instead of retrying against a server that does not exist.
"""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "notifier"
    mongodb_database: str = "motcua_notifier"
    consumer_group: str = "motcua-notifier"
    http_port: int = 8004

    # --- channels ---------------------------------------------------------------------------
    smtp_host: str | None = Field(None, description="SMTP server; email is off when unset")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_sender: str = Field("no-reply@motcua.local", description="From address")
    smtp_sender_name: str | None = "Hệ thống một cửa điện tử"
    smtp_timeout_s: float = Field(10.0, gt=0)
    smtp_use_tls: bool = Field(False, description="TLS from the first byte (port 465)")
    smtp_start_tls: bool | None = Field(None, description="STARTTLS: true requires, false never, "
                                                          "unset when offered")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_message_id_domain: str = Field("motcua.local", description="right side of Message-IDs")
    smtp_connections: int = Field(4, ge=1, le=64, description="SMTP connections kept open "
                                  "and reused (sends beyond that wait for one)")
    sms_gateway_url: str | None = Field(None, description="SMS gateway endpoint; SMS is off when unset")
    sms_api_key: SecretStr | None = None
    sms_sender: str = Field("MOTCUA", min_length=1, max_length=11)
    sms_timeout_s: float = Field(10.0, gt=0)
    webhook_enabled: bool = Field(True, description="webhooks to supervisors' systems")
    webhook_allow_http: bool = Field(False, description="plain http webhooks (development only)")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key signing bodies")
    webhook_timeout_s: float = Field(10.0, gt=0)

    # --- who is who ---------------------------------------------------------------------------
    supervisors_file: str | None = Field(None, description="JSON file of the supervisor directory")
    supervisors_json: str | None = Field(None, description="the same, inline (wins over the file)")
    departments_file: str | None = Field(
        None, description="JSON file {department_code: name as applicants know it}")
    templates_dir: str | None = Field(
        None, description="directory of <language>/<template>.<form>.j2 files; default: packaged")

    # --- retries and care -------------------------------------------------------------------
    retry_base_s: float = Field(2.0, gt=0, description="first backoff ceiling (full jitter)")
    retry_cap_s: float = Field(300.0, gt=0, description="largest backoff")
    retry_max_attempts: int = Field(6, ge=1, description="attempts per message, the first included")
    rate_limit_messages: int = Field(3, ge=1, description="messages to one applicant...")
    rate_limit_per_s: float = Field(3600.0, gt=0, description="...in any window of this length")
    supervisor_rate_limit_messages: int | None = Field(
        None, ge=1, description="the same for supervisors (per rate_limit_per_s); unset: no limit")
    quiet_hours_start: time = Field(time(22, 0), description="no SMS from (Vietnam time)...")
    quiet_hours_end: time = Field(time(7, 0), description="...until; equal to start: no quiet hours")
    fold_window_s: float = Field(
        30.0, ge=0, description="how long a recipient's first notice waits for others to fold with")

    # --- delivery loop ------------------------------------------------------------------------
    batch_size: int = Field(200, ge=1, le=5000, description="messages claimed and sent per batch")
    send_concurrency: int = Field(16, ge=1, le=256, description="sends in flight at once")
    lease_s: float = Field(
        60.0, gt=0, description="a delivery left queued this long past its time by a process that "
                                "died is taken over by the sweep")
    sweep_s: float = Field(30.0, gt=0, description="how often to look for such deliveries and "
                                                   "for outcomes not yet published")
    tick_s: float = Field(1.0, gt=0, le=60, description="longest sleep of the delivery loop")
