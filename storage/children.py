"""Finding a child's concerns by name, without reading (or decrypting) anyone's record.

`ConcernChild.name_key` holds a keyed hash of the child's folded name (storage.crypto), so a name typed
in a search is hashed the same way and looked up by index.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flows.children import name_key
from storage.crypto import keyring_of


def child_index(session: Session, name: str) -> str:
    """The value to store in `ConcernChild.name_key` for a child of this name."""
    return keyring_of(session.get_bind().dialect).index(name_key(name))


def child_keys(session: Session, name: str) -> list[str]:
    """Every value `ConcernChild.name_key` may hold for a child of this name: match with `.in_(...)`."""
    return keyring_of(session.get_bind().dialect).indexes(name_key(name))
