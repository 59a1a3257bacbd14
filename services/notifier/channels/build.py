"""Channels chosen by configuration: a channel with no settings is switched off."""

from __future__ import annotations

import aiohttp
from pydantic import BaseModel, ConfigDict

from services.notifier.domain.intents import ChannelName

from .base import Channel
from .email import EmailChannel, EmailSettings
from .sms import SmsChannel, SmsSettings
from .webhook import WebhookChannel, WebhookSettings


class ChannelsConfig(BaseModel):
    """Settings of each channel in use; give it to `Directory.channels` through `enabled`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: EmailSettings | None = None
    sms: SmsSettings | None = None
    webhook: WebhookSettings | None = None

    @property
    def enabled(self) -> frozenset[ChannelName]:
        names: list[ChannelName] = []
        if self.email is not None:
            names.append("email")
        if self.sms is not None:
            names.append("sms")
        if self.webhook is not None:
            names.append("webhook")
        return frozenset(names)


def build_channels(config: ChannelsConfig, http: aiohttp.ClientSession) -> dict[ChannelName, Channel]:
    """One adapter per configured channel; `http` is the lifespan's client, shared and closed there."""
    channels: dict[ChannelName, Channel] = {}
    if config.email is not None:
        channels["email"] = EmailChannel(config.email)
    if config.sms is not None:
        channels["sms"] = SmsChannel(config.sms, http)
    if config.webhook is not None:
        channels["webhook"] = WebhookChannel(config.webhook, http)
    return channels
