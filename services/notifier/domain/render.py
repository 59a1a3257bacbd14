"""Templates as files, rendered with Jinja2; a missing template or variable is a value, not a crash.

File layout: ``templates/<language>/<template>.<form>.j2``, with the forms ``subject`` and ``email``
(email: subject line and plain-text body) and ``sms`` (one short line, also each item's line in a
digest). A webhook carries the ``subject`` and ``email`` texts as title and text next to the
structured context, which is built in code, so no template has to produce valid JSON.
Dates in the context are ISO-8601 strings; the ``date`` and ``datetime`` filters print them on
Vietnam's clock as dd/mm/yyyy (and HH:MM).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from jinja2 import DictLoader, Environment, StrictUndefined, TemplateError, TemplateNotFound, Undefined

from reference.localtime import to_local

from .intents import ChannelName, Context, DeliveryIntent, Digest, Outgoing
from .plan import DIGEST

TEMPLATES_DIR: Final = Path(__file__).resolve().parent.parent / "templates"
SUFFIX: Final = ".j2"
FORMS: Final[Mapping[str, tuple[str, ...]]] = {
    "email": ("subject", "email"), "sms": ("sms",), "webhook": ("subject", "email"),
}
"""The template forms each channel needs: the first of two is the subject (or title)."""

_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready for a channel: subject (email, webhook title), text, structured data."""

    template: str
    language: str
    subject: str | None
    text: str
    data: Context


@dataclass(frozen=True, slots=True)
class RenderFailure:
    """Why a message could not be rendered; becomes a failed outcome, never a retry."""

    reason: Literal["no_template", "render_error"]
    detail: str


def _instant(value: object) -> datetime:
    if isinstance(value, Undefined):
        str(value)  # a StrictUndefined raises here, naming the missing variable
    if isinstance(value, datetime):
        return to_local(value)
    if isinstance(value, str):
        return to_local(datetime.fromisoformat(value))
    raise ValueError(f"expected an ISO-8601 instant, got {type(value).__name__}")


def vn_date(value: object) -> str:
    """dd/mm/yyyy on Vietnam's clock."""
    return _instant(value).strftime("%d/%m/%Y")


def vn_datetime(value: object) -> str:
    """HH:MM dd/mm/yyyy on Vietnam's clock."""
    return _instant(value).strftime("%H:%M %d/%m/%Y")


class Templates:
    """All template files of all languages, read once; rendering reads no file."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        """`sources` maps ``<language>/<template>.<form>.j2`` to the template's text."""
        self._names = frozenset(sources)
        # Every message is plain text (email text/plain, SMS, a webhook's JSON strings): nothing
        # is HTML-escaped, since nothing is HTML; what is escaped is what could change the
        # message's shape. Each value a template prints (a department's reason, a document
        # name) comes out on one line without control characters, so it can neither start a
        # line of its own ("Bcc: ...") nor break a subject header.
        self._env = Environment(loader=DictLoader(dict(sources)), undefined=StrictUndefined,
                                autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                keep_trailing_newline=False, finalize=one_line_value)
        self._env.filters["date"] = vn_date
        self._env.filters["datetime"] = vn_datetime
        self.languages = frozenset(name.split("/", 1)[0] for name in sources if "/" in name)

    @classmethod
    def load(cls, root: Path = TEMPLATES_DIR) -> Templates:
        """Read every ``*.j2`` under ``root/<language>/``."""
        return cls({f"{path.parent.name}/{path.name}": path.read_text(encoding="utf-8")
                    for path in sorted(root.glob(f"*/*{SUFFIX}"))})

    def names(self, language: str) -> frozenset[str]:
        """Template names with at least one form in `language`."""
        prefix = f"{language}/"
        return frozenset(n[len(prefix):].split(".", 1)[0] for n in self._names if n.startswith(prefix))

    def has(self, language: str, template: str, channel: str) -> bool:
        forms = FORMS.get(channel)
        return forms is not None and all(_file(language, template, form) in self._names
                                         for form in forms)

    def render(self, language: str, template: str, channel: ChannelName,
               context: Context) -> Rendered | RenderFailure:
        """The message for `channel`; a failure value when a file or a variable is missing."""
        forms = FORMS[channel]
        texts: list[str] = []
        for form in forms:
            name = _file(language, template, form)
            try:
                texts.append(self._env.get_template(name).render(dict(context)))
            except TemplateNotFound:
                return RenderFailure("no_template", f"no template file {name}")
            except (TemplateError, ValueError, TypeError) as error:
                return RenderFailure("render_error", f"{name}: {type(error).__name__}: {error}"[:500])
        if channel == "sms":
            return Rendered(template, language, subject=None, text=_one_line(texts[0]), data=context)
        return Rendered(template, language, subject=_one_line(texts[0]), text=_body(texts[1]),
                        data=context)

    def render_intent(self, intent: DeliveryIntent) -> Rendered | RenderFailure:
        return self.render(intent.language, intent.template, intent.channel, intent.context)

    def render_digest(self, digest: Digest) -> Rendered | RenderFailure:
        """Each shown member's short line, gathered under the digest template.

        A digest showing one notice only (the others superseded) is that notice's own message.
        """
        if len(digest.shown) == 1:
            return self.render_intent(digest.shown[0])
        lines: list[str] = []
        for member in digest.shown:
            line = self.render(member.language, member.template, "sms", member.context)
            if isinstance(line, RenderFailure):
                return RenderFailure(line.reason, f"digest item {member.template}: {line.detail}"[:500])
            lines.append(line.text)
        context: Context = {
            "items": lines,
            "record_codes": _unique(m.source.record_code for m in digest.shown),
            "audience": "applicant" if digest.recipient_role == "applicant" else "supervisor",
        }
        return self.render(digest.language, DIGEST, digest.channel, context)

    def render_outgoing(self, message: Outgoing) -> Rendered | RenderFailure:
        if isinstance(message, Digest):
            return self.render_digest(message)
        return self.render_intent(message)


def _file(language: str, template: str, form: str) -> str:
    return f"{language}/{template}.{form}{SUFFIX}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line_value(value: object) -> object:
    """A printed value as one line: control characters and line breaks become one space."""
    return _CONTROL.sub(" ", value) if isinstance(value, str) else value


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _body(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
