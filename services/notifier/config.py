"""From settings to the objects the notifier works with: channels, directory, templates, policies."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from .channels import ChannelsConfig, EmailSettings, SmsSettings, WebhookSettings
from .domain import CarePolicy, Directory, QuietHours, RateLimit, RetryPolicy, SupervisorDirectory, Templates
from .domain.render import TEMPLATES_DIR
from .settings import NotifierSettings


class ConfigError(ValueError):
    """A configuration file or value the notifier cannot use; raised at start, naming the culprit."""


def channels_config(settings: NotifierSettings) -> ChannelsConfig:
    s = settings
    email = None
    if s.smtp_host:
        email = EmailSettings(host=s.smtp_host, port=s.smtp_port, timeout_s=s.smtp_timeout_s,
                              sender=s.smtp_sender, sender_name=s.smtp_sender_name,
                              use_tls=s.smtp_use_tls, start_tls=s.smtp_start_tls,
                              username=s.smtp_username, password=s.smtp_password,
                              message_id_domain=s.smtp_message_id_domain,
                              connections=s.smtp_connections)
    sms = None
    if s.sms_gateway_url:
        sms = SmsSettings(gateway_url=s.sms_gateway_url, timeout_s=s.sms_timeout_s,
                          sender=s.sms_sender, api_key=s.sms_api_key)
    webhook = None
    if s.webhook_enabled:
        webhook = WebhookSettings(timeout_s=s.webhook_timeout_s, allow_http=s.webhook_allow_http,
                                  secret=s.webhook_secret)
    return ChannelsConfig(email=email, sms=sms, webhook=webhook)


def _json(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{what} is not valid JSON: {error}") from None


def supervisors(settings: NotifierSettings) -> SupervisorDirectory:
    if settings.supervisors_json:
        data, what = _json(settings.supervisors_json, "NOTIFIER_SUPERVISORS_JSON"), \
            "NOTIFIER_SUPERVISORS_JSON"
    elif settings.supervisors_file:
        path = Path(settings.supervisors_file)
        data, what = _json(path.read_text(encoding="utf-8"), f"supervisors file {path}"), str(path)
    else:
        return SupervisorDirectory()
    try:
        return SupervisorDirectory.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"supervisor directory {what}: {error}") from None


def department_names(settings: NotifierSettings) -> dict[str, str]:
    if not settings.departments_file:
        return {}
    path = Path(settings.departments_file)
    data = _json(path.read_text(encoding="utf-8"), f"departments file {path}")
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in data.items()):
        raise ConfigError(f"departments file {path}: expected {{department_code: name}}")
    return dict(data)


def directory(settings: NotifierSettings, channels: ChannelsConfig) -> Directory:
    return Directory(supervisors=supervisors(settings), department_names=department_names(settings),
                     channels=channels.enabled)


def templates(settings: NotifierSettings) -> Templates:
    root = Path(settings.templates_dir) if settings.templates_dir else TEMPLATES_DIR
    if not root.is_dir():
        raise ConfigError(f"NOTIFIER_TEMPLATES_DIR {root} is not a directory")
    return Templates.load(root)


def retry_policy(settings: NotifierSettings) -> RetryPolicy:
    return RetryPolicy(base=settings.retry_base_s, cap=max(settings.retry_cap_s, settings.retry_base_s),
                       max_attempts=settings.retry_max_attempts)


def care_policy(settings: NotifierSettings) -> CarePolicy:
    per = timedelta(seconds=settings.rate_limit_per_s)
    supervisor = (RateLimit(settings.supervisor_rate_limit_messages, per)
                  if settings.supervisor_rate_limit_messages else None)
    return CarePolicy(applicant_limit=RateLimit(settings.rate_limit_messages, per),
                      supervisor_limit=supervisor,
                      quiet_hours=QuietHours(settings.quiet_hours_start, settings.quiet_hours_end),
                      fold_window=timedelta(seconds=settings.fold_window_s))
