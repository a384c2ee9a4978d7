"""`concernbot keys`: make a key, and re-encrypt every record under the current key."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings


def add_commands(commands: Any) -> None:
    pass


def run(settings: Settings, args: argparse.Namespace) -> int | None:
    return None
