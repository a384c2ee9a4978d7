"""Typed, signed `private_metadata` for modals.

Slack hands private_metadata back to us unchanged, but anyone who can forge a request could change it,
so it is signed with a key derived from the signing secret and checked on the way back in. It still
never proves identity: listeners check ownership against the (signed) request's user id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class MetadataError(ValueError):
    """private_metadata was missing, malformed or tampered with."""


class FormMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    draft_id: str
    step_id: str


class ConcernMetadata(BaseModel):
    """Which concern a safeguarding-team modal is about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    concern_id: int


class PolicyMetadata(BaseModel):
    """Which policy a review form is about, and the date it was due when the form opened (first wins)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_id: int
    next_review: str


class SettingsMetadata(BaseModel):
    """The settings form's answers, carried from the check to the confirmation (signed, never trusted for who)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    answers: dict[str, Any]
    version: str | None = None  # the settings' version when the change was shown for confirmation


class MetadataCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"concernbot/private_metadata:" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> str:
        digest = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def dump(self, model: BaseModel) -> str:
        payload = model.model_dump_json().encode()
        return f"{self._sign(payload)}.{payload.decode()}"

    def load(self, cls: type[M], raw: str | None) -> M:
        signature, _, payload = (raw or "").partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload.encode())):
            raise MetadataError("private_metadata signature does not match")
        try:
            return cls.model_validate_json(payload)
        except ValidationError:
            raise MetadataError("private_metadata is not the expected shape") from None


def load_or_expire(codec: MetadataCodec, cls: type[M], raw: str | None, ack: Callable[..., Any],
                   expired_view: dict[str, Any]) -> M | None:
    """The modal's metadata; or, when it is missing or tampered with, tell Slack to show `expired_view`."""
    try:
        return codec.load(cls, raw)
    except MetadataError:
        ack(response_action="update", view=expired_view)
        return None
