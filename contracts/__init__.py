"""The versioned wire language the motcua services share over Kafka."""

from contracts.envelope import (
    ContractError,
    Envelope,
    EventPayload,
    KafkaMessage,
    decode,
    encode,
    headers_dict,
)

__all__ = [
    "ContractError",
    "Envelope",
    "EventPayload",
    "KafkaMessage",
    "decode",
    "encode",
    "headers_dict",
]
