"""Channel adapters: the only code of the notifier that talks to mail servers and gateways."""

from .base import Channel
from .build import ChannelsConfig, build_channels
from .email import EmailChannel, EmailSettings
from .sms import SmsChannel, SmsSettings
from .webhook import WebhookChannel, WebhookSettings

__all__ = [
    "Channel", "ChannelsConfig", "EmailChannel", "EmailSettings", "SmsChannel", "SmsSettings",
    "WebhookChannel", "WebhookSettings", "build_channels",
]
