"""An AsyncAPI 3.0.0 document of what one application reads and writes, built from the contracts.

Built directly, not with FastStream's `AsyncAPI(schema_version="3.0.0")`: our subscribers take raw
batches, so FastStream sees untyped bytes, and it knows no topic families, dead letters or headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from contracts import topics
from contracts.asyncapi.messages import (
    DEAD_LETTER,
    KAFKA_BINDING,
    dead_letter_message,
    event_message,
    message_id,
    payload_schema,
)
from contracts.registry import REGISTRY, Registry
from contracts.schemagen import History

ASYNCAPI_VERSION: Final = "3.0.0"
DOCUMENT_VERSION: Final = "1.0.0"
"""The documents' own version; the contracts' versions are in the topic names and messages."""
PARAMETER: Final = "department_code"
FAMILY_EXAMPLE: Final = "SO-TU-PHAP"
"""A department code standing for any, where a family's messages or specs are looked up."""
SECURITY: Final = "scramSha512"
_FAMILIES: Final = (topics.DEPARTMENT_TOPIC_MARKER, topics.UPDATES_TOPIC_MARKER,
                    topics.FEEDBACK_TOPIC_MARKER)


@dataclass(frozen=True)
class Use:
    """What one application does on the broker, by logical name: topics, family markers
    (`routed.{department_code}.v2`) and dead-letter topics (`<either>.dlq`)."""

    receives: frozenset[str]
    sends: frozenset[str]


def dead_letter_of(name: str) -> str:
    """The dead-letter topic of a topic or of every topic of a family."""
    return name + topics.DEAD_LETTER_SUFFIX if name in _FAMILIES else topics.dead_letter_topic(name)


DEPARTMENT_USE: Final = Use(
    receives=frozenset({topics.DEPARTMENT_TOPIC_MARKER, topics.FEEDBACK_TOPIC_MARKER,
                        dead_letter_of(topics.UPDATES_TOPIC_MARKER)}),
    sends=frozenset({topics.UPDATES_TOPIC_MARKER}),
)
"""A department, each on its own topics: the grants of deploy.access allow exactly these."""


def channel_id(name: str) -> str:
    """A key for `channels`: the address, with `{department_code}` spelled `department` (braces
    are not allowed in a key)."""
    return name.replace("{" + PARAMETER + "}", "department")


def build(name: str, title: str, description: str, use: Use, history: History,
          registry: Registry = REGISTRY) -> dict[str, Any]:
    """The document of one application; pure, and the same for the same input."""
    names = sorted(use.receives | use.sends)
    ids = {channel_id(each) for each in names}
    if len(ids) != len(names):
        raise ValueError(f"{name}: two topics would share a channel id: {names}")
    channels = {channel_id(each): _channel(each, registry) for each in names}
    operations = {f"{action}.{channel_id(each)}": _operation(action, each, channels)
                  for action, chosen in (("receive", use.receives), ("send", use.sends))
                  for each in chosen}
    components: dict[str, Any] = {
        "messages": {},
        "schemas": {},
        "securitySchemes": {SECURITY: {
            "type": "scramSha512",
            "description": "Each service signs in as `svc.<service>`, each department as "
                           "`dept.<code>`; the broker's ACLs allow it exactly its channels."}},
    }
    for channel in channels.values():
        for key in channel["messages"]:
            if key == DEAD_LETTER:
                components["messages"][key] = dead_letter_message()
                continue
            model = next(m for m in registry if message_id(m) == key)
            committed, schema = payload_schema(model, history)
            components["schemas"][key] = schema
            components["messages"][key] = event_message(model, committed)
    if any("parameters" in channel for channel in channels.values()):
        components["parameters"] = {PARAMETER: _department_parameter()}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": f"urn:motcua:asyncapi:{name}",
        "info": {"title": title, "version": DOCUMENT_VERSION, "description": description},
        "defaultContentType": "application/json",
        "servers": {"kafka": _server()},
        "channels": channels,
        "operations": operations,
        "components": components,
    }


def department_document(history: History) -> dict[str, Any]:
    """What a department's own system reads and writes: who integrates through the topics."""
    return build("departments", "motcua for departments",
                 "A department's system, signed in as `dept.<code>`, on its own topics only "
                 "(`{department_code}` is its code). The rules an update must keep, and why one "
                 "is refused, are in contracts/README.md.", DEPARTMENT_USE, history)


def _channel(name: str, registry: Registry) -> dict[str, Any]:
    dead = name.endswith(topics.DEAD_LETTER_SUFFIX)
    base = name.removesuffix(topics.DEAD_LETTER_SUFFIX) if dead else name
    family = base in _FAMILIES
    sample = base.format(department_code=FAMILY_EXAMPLE) if family else base
    models = registry.models_for_topic(sample)
    if not models:
        raise ValueError(f"No registered event travels on {name!r}")
    keys = [DEAD_LETTER] if dead else sorted(message_id(model) for model in models)
    channel: dict[str, Any] = {
        "address": name,
        "title": name,
        "description": _describe(base, dead, family, [model.__name__ for model in models]),
        "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
        "bindings": {"kafka": _topic_binding(sample, dead)},
    }
    if family:
        channel["parameters"] = {PARAMETER: {"$ref": f"#/components/parameters/{PARAMETER}"}}
    return channel


def _describe(base: str, dead: bool, family: bool, events: Iterable[str]) -> str:
    where = ("One topic per department, `{department_code}` its code; the broker lets no other "
             "department use it. " if family else "")
    if dead:
        return (f"{where}Dead letters of `{base}`: what its consumers could never process "
                "(no key, a broken binding, a payload off its schema), kept for people to read.")
    return (f"{where}Carries {', '.join(sorted(events))}, each keyed by its record code, so one "
            "record's events stay in one partition, in order.")


def _topic_binding(topic: str, dead: bool) -> dict[str, Any]:
    spec = next((s for s in topics.CORE_TOPICS if s.name == topic), None)
    spec = spec or topics.per_department_spec(topic)
    if spec is None:
        raise ValueError(f"{topic!r} is neither a core topic nor a department's")
    spec = spec.dead_letter() if dead else spec
    config = spec.config()
    return {"partitions": spec.partitions,
            "topicConfiguration": {"retention.ms": spec.retention_ms,
                                   "cleanup.policy": [config["cleanup.policy"]]},
            "bindingVersion": KAFKA_BINDING}


def _operation(action: str, name: str, channels: dict[str, Any]) -> dict[str, Any]:
    cid = channel_id(name)
    verb = "Reads" if action == "receive" else "Writes"
    return {
        "action": action,
        "title": f"{verb} {name}",
        "channel": {"$ref": f"#/channels/{cid}"},
        "messages": [{"$ref": f"#/channels/{cid}/messages/{key}"}
                     for key in sorted(channels[cid]["messages"])],
    }


def _department_parameter() -> dict[str, Any]:
    return {
        "description": "A department's code, as in the routing table; it keeps to Kafka's topic "
                       f"charset: `{topics.DEPARTMENT_CODE_PATTERN}` (also `x-pattern`).",
        "examples": [FAMILY_EXAMPLE, "UBND-X-16681"],
        "x-pattern": topics.DEPARTMENT_CODE_PATTERN,
    }


def _server() -> dict[str, Any]:
    return {
        "host": "{bootstrap}",
        "protocol": "kafka",
        "description": "SASL/SCRAM-SHA-512 over plaintext locally, over TLS (SASL_SSL) where "
                       "the network is not trusted. A deployment may prefix every topic and "
                       "group with a namespace (MOTCUA_TOPIC_NAMESPACE, empty in production).",
        "variables": {"bootstrap": {"default": "127.0.0.1:9092",
                                    "description": "KAFKA_BOOTSTRAP_SERVERS"}},
        "security": [{"$ref": f"#/components/securitySchemes/{SECURITY}"}],
    }
