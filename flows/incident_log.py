"""Filtering the incident log: `/concerns status:closed category:grooming since:2026-09-01`."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from flows.concern import Category, Status

OPEN = "open"
ALL = "all"
STATUS_WORDS = {OPEN, ALL, *(s.value for s in Status)}
USAGE = ("Try `/concerns` for open concerns, or filter with status:closed, status:all, category:grooming, "
         "since:2026-09-01, until:2026-12-31.")


class Filters(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: str = OPEN
    category: Category | None = None
    since: date | None = None
    until: date | None = None

    def statuses(self) -> list[Status]:
        if self.status == ALL:
            return list(Status)
        if self.status == OPEN:
            return [s for s in Status if s is not Status.CLOSED]
        return [Status(self.status)]

    def describe(self) -> str:
        parts = [{"open": "open", "all": "all"}.get(self.status) or Status(self.status).label.lower()]
        if self.category:
            parts.append(self.category.label)
        if self.since:
            parts.append(f"from {self.since:%-d %b %Y}")
        if self.until:
            parts.append(f"to {self.until:%-d %b %Y}")
        return ", ".join(parts)


class FilterError(ValueError):
    """One sentence: which part of the filter was not understood, and how to write it."""


def _category(word: str) -> Category:
    word = word.strip().lower().replace("-", "_")
    for category in Category:
        if word in (category.value, category.label.lower()) or category.value.startswith(word):
            return category
    raise FilterError(f"There is no category called '{word}'. " + USAGE)


def parse_filters(text: str) -> Filters:
    values: dict[str, object] = {}
    for token in text.split():
        key, sep, value = token.partition(":")
        key = key.lower()
        if not sep or not value:
            raise FilterError(f"I didn't understand '{token}'. " + USAGE)
        if key == "status":
            if value.lower() not in STATUS_WORDS:
                raise FilterError(f"'{value}' is not a status. " + USAGE)
            values["status"] = value.lower()
        elif key == "category":
            values["category"] = _category(value)
        elif key in ("since", "until"):
            try:
                values[key] = date.fromisoformat(value)
            except ValueError:
                raise FilterError(f"'{value}' is not a date like 2026-09-01. " + USAGE) from None
        else:
            raise FilterError(f"I didn't understand '{token}'. " + USAGE)
    return Filters.model_validate(values)
