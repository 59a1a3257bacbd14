"""The channel adapters against real servers on loopback: delivered, transient and permanent."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac

import aiohttp
from pydantic import SecretStr

from contracts.samples import RECORD_CODE
from services.notifier.channels import (
    ChannelsConfig,
    EmailChannel,
    EmailSettings,
    SmsChannel,
    SmsSettings,
    WebhookChannel,
    WebhookSettings,
    build_channels,
)
from services.notifier.channels.webhook import SIGNATURE_HEADER
from services.notifier.domain import Rendered, plan
from tests.unit.notifier.factories import (
    EMAIL,
    PHONE,
    TEMPLATES,
    directory,
    envelope,
    escalation,
    submitted,
)

from .conftest import SILENT, Gateway, MailServer

REFERENCE = "0b6f3f0e-5d0c-4a59-9a3e-2f4f1f0f7c11"
MESSAGE = Rendered(template="receipt", language="vi",
                   subject=f"Tiếp nhận hồ sơ {RECORD_CODE}, hẹn trả kết quả ngày 27/11/2025",
                   text="Hồ sơ của ông/bà đã được tiếp nhận.\nNgày hẹn trả kết quả: 27/11/2025\n",
                   data={"record_code": RECORD_CODE})
SMS_TEXT = Rendered(template="receipt", language="vi", subject=None,
                    text=f"Hồ sơ {RECORD_CODE} đã được tiếp nhận, hẹn trả kết quả ngày 27/11/2025.",
                    data={"record_code": RECORD_CODE})


def mail(port: int, timeout_s: float = 5.0) -> EmailChannel:
    return EmailChannel(EmailSettings(host="127.0.0.1", port=port, timeout_s=timeout_s,
                                      sender="no-reply@motcua.nghean.gov.vn", start_tls=False))


def sms(gateway: Gateway, http: aiohttp.ClientSession, timeout_s: float = 5.0) -> SmsChannel:
    return SmsChannel(SmsSettings(gateway_url=gateway.url(), timeout_s=timeout_s,
                                  api_key=SecretStr("k-123")), http)


def hooks(http: aiohttp.ClientSession, timeout_s: float = 5.0, allow_http: bool = True) -> WebhookChannel:
    return WebhookChannel(WebhookSettings(timeout_s=timeout_s, allow_http=allow_http,
                                          secret=SecretStr("shared-secret")), http)


# --- email -----------------------------------------------------------------------------------


async def test_email_is_delivered_in_utf8_with_a_stable_message_id(smtp_server: MailServer) -> None:
    result = await mail(smtp_server.port).send(EMAIL, MESSAGE, reference=REFERENCE)
    assert result.verdict == "delivered", result
    [received] = smtp_server.messages
    assert smtp_server.handler.recipients == [EMAIL]
    assert received["To"] == EMAIL
    assert received["Subject"] == MESSAGE.subject
    assert received["Message-ID"] == f"<{REFERENCE}@motcua.local>"
    assert received["Auto-Submitted"] == "auto-generated"
    body = received.get_body(("plain",))
    assert body is not None
    assert "Hồ sơ của ông/bà đã được tiếp nhận." in body.get_content()


async def test_a_line_break_in_a_subject_cannot_add_a_header(smtp_server: MailServer) -> None:
    forged = dataclasses.replace(MESSAGE, subject="Kết quả\r\nBcc: evil@evil.test")
    result = await mail(smtp_server.port).send(EMAIL, forged, reference=REFERENCE)
    assert result.verdict == "delivered", result
    [received] = smtp_server.messages
    assert smtp_server.handler.recipients == [EMAIL]
    assert received["Bcc"] is None
    assert "Bcc: evil@evil.test" in received["Subject"]  # still the subject's own text


async def test_emails_share_open_connections_and_a_failed_one_is_replaced(
        smtp_server: MailServer) -> None:
    channel = EmailChannel(EmailSettings(host="127.0.0.1", port=smtp_server.port, start_tls=False,
                                         connections=2))
    results = await asyncio.gather(*(channel.send(EMAIL, MESSAGE) for _ in range(6)))
    assert [r.verdict for r in results] == ["delivered"] * 6
    assert len(set(smtp_server.handler.peers)) <= 2  # six messages, at most two connections
    refused = await channel.send("nobody@example.vn", MESSAGE)  # that connection is closed
    after = await channel.send(EMAIL, MESSAGE)
    await channel.close()
    assert (refused.verdict, after.verdict) == ("permanent", "delivered")
    assert len(smtp_server.messages) == 7
    assert len(set(smtp_server.handler.peers)) <= 3


async def test_closing_says_goodbye_on_every_connection_without_waiting_on_a_silent_server(
        smtp_server: MailServer) -> None:
    channel = EmailChannel(EmailSettings(host="127.0.0.1", port=smtp_server.port, start_tls=False,
                                         connections=3, timeout_s=30.0))
    results = await asyncio.gather(*(channel.send(EMAIL, MESSAGE) for _ in range(3)))
    assert [r.verdict for r in results] == ["delivered"] * 3
    kept = len(set(smtp_server.handler.peers))
    smtp_server.handler.quit_delay_s = 30.0  # as long as the channel's own timeout
    started = asyncio.get_running_loop().time()
    await channel.close()
    assert asyncio.get_running_loop().time() - started < 10.0  # not 30 s, nor 30 s per connection
    assert smtp_server.handler.quits == kept  # every open connection was told goodbye


async def test_email_to_an_unknown_user_is_permanent(smtp_server: MailServer) -> None:
    result = await mail(smtp_server.port).send("nobody@example.vn", MESSAGE, reference=REFERENCE)
    assert result.verdict == "permanent"
    assert result.detail is not None and "550" in result.detail and "nobody" not in result.detail
    assert smtp_server.messages == []


async def test_email_deferred_by_the_server_is_transient(smtp_server: MailServer) -> None:
    result = await mail(smtp_server.port).send("busy@example.vn", MESSAGE)
    assert result.verdict == "transient"
    assert result.detail is not None and "451" in result.detail


async def test_email_with_the_server_down_is_transient(closed_port: int) -> None:
    result = await mail(closed_port).send(EMAIL, MESSAGE)
    assert result.verdict == "transient"
    assert result.detail is not None and "connection failed" in result.detail


async def test_email_to_a_server_that_never_answers_times_out_as_transient(silent_server: int) -> None:
    result = await mail(silent_server, timeout_s=0.5).send(EMAIL, MESSAGE)
    assert result.verdict == "transient"
    assert result.detail is not None and "timeout" in result.detail


async def test_email_to_an_invalid_address_is_permanent_and_nothing_is_sent(
        smtp_server: MailServer) -> None:
    for bad in ("not-an-address", "a@b", "x@example.vn, y@example.vn"):
        result = await mail(smtp_server.port).send(bad, MESSAGE)
        assert result.verdict == "permanent" and result.detail is not None
        assert "invalid address" in result.detail
    assert smtp_server.messages == []


# --- SMS gateway -----------------------------------------------------------------------------


async def test_sms_is_posted_as_json_with_an_idempotency_key(gateway: Gateway,
                                                             http: aiohttp.ClientSession) -> None:
    result = await sms(gateway, http).send(PHONE, SMS_TEXT, reference=REFERENCE)
    assert result.verdict == "delivered", result
    [request] = gateway.requests
    assert (request.method, request.path) == ("POST", "/sms")
    assert request.json() == {"to": PHONE, "text": SMS_TEXT.text, "sender": "MOTCUA",
                              "reference": REFERENCE}
    assert request.headers["idempotency-key"] == REFERENCE
    assert request.headers["authorization"] == "Bearer k-123"
    assert request.headers["content-type"] == "application/json"


async def test_sms_gateway_errors_are_classified(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    expected = {500: "transient", 503: "transient", 429: "transient", 400: "permanent",
                404: "permanent", 202: "delivered"}
    for status, verdict in expected.items():
        gateway.status = status
        result = await sms(gateway, http).send(PHONE, SMS_TEXT)
        assert (status, result.verdict, result.detail) == (status, verdict, f"http {status}")
    assert len(gateway.requests) == len(expected)


async def test_a_redirect_is_not_followed_and_is_permanent(gateway: Gateway,
                                                            http: aiohttp.ClientSession) -> None:
    """A gateway that moved is a configuration error: the body (a citizen's phone number and
    message) is not sent on to wherever a redirect points."""
    gateway.status = 302
    result = await sms(gateway, http).send(PHONE, SMS_TEXT)
    assert (result.verdict, result.detail) == ("permanent", "http 302")
    assert [request.path for request in gateway.requests] == ["/sms"]


async def test_sms_gateway_that_hangs_times_out_as_transient(gateway: Gateway,
                                                             http: aiohttp.ClientSession) -> None:
    gateway.status = SILENT
    result = await sms(gateway, http, timeout_s=0.3).send(PHONE, SMS_TEXT)
    assert result.verdict == "transient"
    assert result.detail is not None and result.detail.startswith("timeout")
    assert len(gateway.requests) == 1


async def test_sms_gateway_down_is_transient(closed_port: int, http: aiohttp.ClientSession) -> None:
    channel = SmsChannel(SmsSettings(gateway_url=f"http://127.0.0.1:{closed_port}/sms"), http)
    result = await channel.send(PHONE, SMS_TEXT)
    assert result.verdict == "transient"
    assert result.detail is not None and "connection failed" in result.detail


async def test_sms_to_an_invalid_number_is_permanent_and_nothing_is_sent(
        gateway: Gateway, http: aiohttp.ClientSession) -> None:
    for bad in ("12345", "09123abc78", EMAIL):
        result = await sms(gateway, http).send(bad, SMS_TEXT)
        assert result.verdict == "permanent"
    assert gateway.requests == []


# --- webhook ---------------------------------------------------------------------------------


async def test_webhook_posts_signed_json_built_in_code(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    result = await hooks(http).send(gateway.url("/hooks/escalations"), MESSAGE, reference=REFERENCE)
    assert result.verdict == "delivered"
    [request] = gateway.requests
    assert request.path == "/hooks/escalations"
    assert request.json() == {"notification_id": REFERENCE, "template": "receipt", "language": "vi",
                              "title": MESSAGE.subject, "text": MESSAGE.text,
                              "data": {"record_code": RECORD_CODE}}
    expected = hmac.new(b"shared-secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"


async def test_webhook_failures_are_classified(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    for status, verdict in {502: "transient", 404: "permanent", 410: "permanent"}.items():
        gateway.status = status
        assert (await hooks(http).send(gateway.url(), MESSAGE)).verdict == verdict
    gateway.status = SILENT
    timed_out = await hooks(http, timeout_s=0.3).send(gateway.url(), MESSAGE)
    assert timed_out.verdict == "transient"


async def test_webhook_refuses_plain_http_unless_allowed(gateway: Gateway,
                                                         http: aiohttp.ClientSession) -> None:
    result = await hooks(http, allow_http=False).send(gateway.url(), MESSAGE)
    assert result.verdict == "permanent"
    assert result.detail == "invalid address: not an https URL"
    bad = await hooks(http).send("ftp://example.vn/hook", MESSAGE)
    assert bad.verdict == "permanent"
    assert gateway.requests == []


# --- from event to server --------------------------------------------------------------------


async def test_a_receipt_planned_from_an_event_reaches_the_mail_server(smtp_server: MailServer) -> None:
    [intent] = plan(envelope(submitted()), None, directory(), TEMPLATES).intents
    rendered = TEMPLATES.render_intent(intent)
    assert isinstance(rendered, Rendered)
    result = await mail(smtp_server.port).send(intent.address, rendered, reference=intent.notification_id)
    assert result.verdict == "delivered"
    [received] = smtp_server.messages
    body = received.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert RECORD_CODE in text and "Ngày hẹn trả kết quả: 17:00 27/11/2025" in text
    assert received["Subject"].startswith(f"Tiếp nhận hồ sơ {RECORD_CODE}")


async def test_an_escalation_reaches_the_supervisors_system(gateway: Gateway,
                                                            http: aiohttp.ClientSession) -> None:
    config = ChannelsConfig(email=EmailSettings(), webhook=WebhookSettings(allow_http=True))
    channels = build_channels(config, http)
    assert set(channels) == {"email", "webhook"} == set(config.enabled)
    routes = directory(channels=config.enabled).supervisors.model_copy(update={"departments": {}})
    hook_routes = routes.model_copy(update={"roles": {"department_head": (
        routes.roles["department_head"][0].model_copy(update={"channel": "webhook",
                                                              "address": gateway.url("/hook")}),)}})
    [intent] = plan(envelope(escalation()), None, directory(supervisors=hook_routes), TEMPLATES).intents
    rendered = TEMPLATES.render_intent(intent)
    assert isinstance(rendered, Rendered)
    result = await channels["webhook"].send(intent.address, rendered, reference=intent.notification_id)
    assert result.verdict == "delivered"
    body = gateway.requests[0].json()
    assert body["data"]["record_code"] == RECORD_CODE and body["data"]["kind"] == "late"
    assert body["title"].startswith("[Cảnh báo cấp 1]")
    assert body["notification_id"] == intent.notification_id
