"""Human references for concerns: OS-2026-0001, numbered per school per calendar year."""

from __future__ import annotations

import re

PREFIX = "OS"
_PATTERN = re.compile(r"^(?P<prefix>[A-Z]{2})-(?P<year>\d{4})-(?P<seq>\d{4,})$")


def format_reference(year: int, sequence: int, prefix: str = PREFIX) -> str:
    if sequence < 1:
        raise ValueError("reference sequence numbers start at 1")
    return f"{prefix}-{year:04d}-{sequence:04d}"


def parse_reference(reference: str) -> tuple[str, int, int]:
    match = _PATTERN.match(reference.strip().upper())
    if match is None:
        raise ValueError(f"{reference!r} is not a concern reference like OS-2026-0001")
    return match["prefix"], int(match["year"]), int(match["seq"])
