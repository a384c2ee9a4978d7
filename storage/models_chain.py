"""The head of each concern's event chain (storage.events), in a narrow table of its own.

Appending an event takes the chain's place and the hash it follows from here, and moves the head on. It used
to be a count on the concern row itself, so every append (an export's is one per concern in it) rewrote the
whole concern, sealed details and all (PostgreSQL writes a new version of a row on every update); this row is
a few dozen bytes. Taking it for an update is also what makes two appenders to one concern queue up.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class ConcernChain(Base):
    """One per concern (from its first event): how many events the bot appended, and the last one's hash."""

    __tablename__ = "concern_chains"

    # CASCADE: a concern deleted (retention deletes it too, explicitly) takes its chain with it.
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)  # the last event's seq: the chain's length, as the bot wrote it
    head: Mapped[str] = mapped_column(String(64))  # the last event's hash (storage.events.GENESIS when none)
