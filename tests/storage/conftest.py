"""Fixtures shared by the storage tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite file holding one table, t (x INTEGER), and no connection left open to it."""
    path = tmp_path / "faults.db"
    database = Database(f"sqlite:///{path}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    database.dispose()
    return path
