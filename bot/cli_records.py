"""`concernbot audit verify` and `concernbot retention`: checking and keeping the records."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def add_commands(commands: Any) -> None:
    pass


def run(settings: Settings, args: argparse.Namespace) -> int | None:
    return None
