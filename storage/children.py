"""Finding a child's concerns by name, without reading (or decrypting) anyone's record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from flows.children import name_key


def child_keys(session: Session, name: str) -> list[str]:
    """Every value `ConcernChild.name_key` may hold for a child of this name: match with `.in_(...)`."""
    return [name_key(name)]
