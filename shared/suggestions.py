"""A suggestion's id: which model version advised what about which subject.

Pricing's suggestions and forecasting's replenishment rows carry one; ``POST /v1/decisions``
takes it back to record the advice a decision followed, and refuses it (409) once a newer model
has replaced the version that gave it, so nobody accepts advice that no longer stands.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = ":"


@dataclass(frozen=True)
class SuggestionId:
    service: str
    model_version: int
    subject: str  # an item id or a segment name (may itself contain the separator)

    def __str__(self) -> str:
        return f"{self.service}{SEPARATOR}{self.model_version}{SEPARATOR}{self.subject}"


def suggestion_id(service: str, model_version: int, subject: str) -> str:
    return str(SuggestionId(service, model_version, subject))


def parse(text: str) -> SuggestionId | None:
    """The parts of an id made by :func:`suggestion_id`, or None if ``text`` is not one."""
    service, _, rest = text.partition(SEPARATOR)
    version, _, subject = rest.partition(SEPARATOR)
    if not service or not version.isdigit() or not subject:
        return None
    return SuggestionId(service, int(version), subject)
