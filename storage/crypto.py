"""Encryption at rest: the records' free text and children's names, sealed with AES-GCM.

A value is stored as `v1:<key id>:<base64 of nonce + ciphertext>`. The column's name is the cipher's
associated data, so a value copied into another column does not decrypt. The key id (a hash of the key,
never the key) says which key sealed it, so several keys can be held while `concernbot keys rotate`
re-seals everything under the newest.

Children's names are never searched in the clear: `ConcernChild.name_key` holds `<key id>:<HMAC>` of the
folded name, so finding a child's other concerns is an index lookup, with no decryption at all.

The keys live outside the database (ENCRYPTION_KEY, ENCRYPTION_KEY_FILE, or a SQLite database's own
`.key` file beside it) and reach the column types through the engine's dialect: each Database has its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text, TypeDecorator

VERSION = "v1"
KEY_BYTES = 32
_NONCE_BYTES = 12


class KeyProblem(Exception):
    """A key is missing, malformed, or not the one the records were sealed with; one sentence on the fix."""


class RecordUnreadable(Exception):
    """A stored value could not be opened: altered, or not sealed at all. Never shown as anything else."""


def new_key() -> str:
    """A fresh key, as text to put in a key file or ENCRYPTION_KEY."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"concernbot key id:" + key).hexdigest()[:12]


def parse_keys(text: str, source: str) -> list[bytes]:
    """Keys one per line (or comma-separated), newest first; blank lines and # comments ignored."""
    keys = []
    items = [item.strip() for line in text.splitlines() for item in line.split("#", 1)[0].split(",")]
    for item in filter(None, items):
        try:
            raw = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except ValueError:
            raw = b""
        if len(raw) != KEY_BYTES:
            raise KeyProblem(f"{source} holds something that is not a concernbot key: make one with "
                             "`concernbot keys new`.")
        keys.append(raw)
    if not keys:
        raise KeyProblem(f"{source} holds no key: make one with `concernbot keys new`.")
    return keys


class Keyring:
    """The keys this process holds: the first seals, any of them opens."""

    def __init__(self, keys: Sequence[bytes], source: str) -> None:
        if not keys:
            raise KeyProblem(f"{source} holds no key: make one with `concernbot keys new`.")
        self.source = source
        self._keys = tuple(keys)
        self._ciphers = {key_id(k): AESGCM(k) for k in keys}
        self._index_keys = {key_id(k): hmac.new(k, b"concernbot child index", hashlib.sha256).digest()
                            for k in keys}
        self.current_id = key_id(keys[0])

    @property
    def ids(self) -> list[str]:
        return list(self._ciphers)

    def seal(self, text: str, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self.current_id].encrypt(nonce, text.encode(), context.encode())
        return f"{VERSION}:{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, context: str) -> str:
        version, _, rest = token.partition(":")
        kid, _, body = rest.partition(":")
        if version != VERSION or not body:
            raise RecordUnreadable(f"a value in {context} is not sealed; run `concernbot keys rotate` to seal it")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise KeyProblem(f"a value in {context} was sealed with key {kid}, which is not among the keys in "
                             f"{self.source}: add that key (newest first) and start again.")
        raw = base64.b64decode(body)
        try:
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()).decode()
        except InvalidTag:
            raise RecordUnreadable(f"a value in {context} fails its integrity check: it was altered outside "
                                   "concernbot; restore it from a backup") from None

    def index(self, value: str) -> str:
        """The lookup key for `value` under the current key."""
        return self._index(self.current_id, value)

    def indexes(self, value: str) -> list[str]:
        """Its lookup key under every key held: rows not yet re-keyed are still found."""
        return [self._index(kid, value) for kid in self._index_keys]

    def _index(self, kid: str, value: str) -> str:
        return f"{kid}:{hmac.new(self._index_keys[kid], value.encode(), hashlib.sha256).hexdigest()}"


def keyring_of(dialect: Any) -> Keyring:
    ring = getattr(dialect, "concernbot_keyring", None)
    if ring is None:
        raise KeyProblem("this database connection was opened without an encryption key: open it through "
                         "concernbot (storage.db.Database), which finds the key.")
    return ring


def attach(dialect: Any, keyring: Keyring) -> None:
    dialect.concernbot_keyring = keyring


class SealedText(TypeDecorator[str]):
    """Text stored sealed; `context` (the column's name) binds each value to its column."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring_of(dialect).seal(value, self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else keyring_of(dialect).open(value, self.context)


class SealedJSON(TypeDecorator[Any]):
    """A JSON value stored sealed."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")), self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(keyring_of(dialect).open(value, self.context))
