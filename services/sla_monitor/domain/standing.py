"""Where an open deadline stands for operators: not yet warned, warned, or breached."""

from __future__ import annotations

from typing import Literal

from .state import Deadline

Standing = Literal["open", "warned", "breached"]
STANDINGS: tuple[Standing, ...] = ("open", "warned", "breached")


def standing(state: Deadline) -> Standing | None:
    """By the alerts already sent, so the figure agrees with what supervisors were told; a
    closed record stands nowhere. The store's count (`DeadlineStore.standings`) follows this."""
    if state.is_closed:
        return None
    if state.breached_at is not None:
        return "breached"
    if state.has_fired("warning"):
        return "warned"
    return "open"
