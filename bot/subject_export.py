"""`concernbot export --child NAME | --staff USER`: the complete record for a subject access request, or to send
a child's record to their next school, as JSON (the structured data) and PDF (to read, print or send).

Storage decides who may have it (`storage.subject_access`). The export is logged on every concern in it, in
the transaction that writes the files: if they cannot be written nothing is logged, and if the log
cannot be committed the files are removed. Files are readable by their owner only (0600), and named by kind
and time, never by whom they are about.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.export import ExportRefused
from bot.settings import ConfigError
from bot.subject_pdf import find_fonts, render_pdf
from bot.subject_record import as_json, document
from flows.clock import Clock
from storage import subject_access
from storage.db import Database
from storage.subject_access import ExportKind, NotEntitled, SubjectRecords

FORMATS = ("pdf", "json")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
# Who else a record names (reporters, the DSL team): their names, given their Slack user ids.
NameLookup = Callable[[Iterable[str]], Mapping[str, str]]


def parse_formats(text: str) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ConfigError(f"--format {text!r} is not understood: use pdf, json, or pdf,json.")
    return wanted


@dataclass
class Written:
    count: int
    paths: list[Path] = field(default_factory=list)


def export_subject(db: Database, clock: Clock, team_id: str, viewer_id: str, *, kind: ExportKind, subject: str,
                   out_dir: Path, formats: tuple[str, ...] = FORMATS, font: Path | None = None,
                   names: NameLookup | None = None) -> Written:
    """Gather (refused as `ExportRefused`), render, write each format to `out_dir`, and log the export."""
    fonts = find_fonts(font) if "pdf" in formats else None  # a missing font stops it before anything is read
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file: give a directory to write the export into.")
    now = clock.now()
    gather = subject_access.child_records if kind is ExportKind.CHILD else subject_access.staff_records
    with db.session() as session:  # reading only (a refusal reads no record)
        try:
            gathered = gather(session, team_id, viewer_id, subject, now)
        except NotEntitled as exc:
            raise ExportRefused(str(exc)) from None
    known = _named(gathered, names)  # outside any transaction: it may ask Slack
    doc = document(gathered, known)
    blobs = {"json": json.dumps(doc, default=as_json, ensure_ascii=False, indent=2).encode("utf-8")}
    if fonts is not None:
        blobs["pdf"] = render_pdf(doc, fonts)
    directory = _directory(out_dir)  # made only for an export that is going ahead
    stem = f"{kind.value}-record-{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"
    written = Written(len(gathered.records))
    try:
        with db.session() as session:
            subject_access.log_export(session, gathered, list(formats), now)
            for fmt in formats:
                written.paths.append(_write_private(directory / f"{stem}.{fmt}", blobs[fmt]))
    except BaseException:
        for path in written.paths:
            path.unlink(missing_ok=True)
        raise
    return written


def _named(gathered: SubjectRecords, names: NameLookup | None) -> dict[str, str]:
    if names is None:
        return {}
    ids: set[str] = {gathered.viewer_id}
    if gathered.kind is ExportKind.STAFF:
        ids.add(gathered.subject)
    for r in gathered.records:
        s = r.summary
        ids.update(u for u in (s.reporter_id, s.acknowledged_by, s.assigned_to, s.closed_by, r.answers.adult_user) if u)
        ids.update(a.recorded_by for a in r.actions)
        ids.update(c.actor_id for c in r.history)
        ids.update(e.actor_id for e in r.events if e.actor_id)
        if r.initial_review is not None:
            ids.add(r.initial_review.recorded_by)
    return dict(names(sorted(ids - set(gathered.people))))


def _directory(out: Path) -> Path:
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot make the directory {out} ({exc.strerror or exc}): choose another --out.") from None
    return out


def _write_private(path: Path, data: bytes) -> Path:
    """A new file readable by its owner only; never over an existing one (it might be readable by others)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} already exists: move it, or choose another --out directory.") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path} ({exc.strerror or exc}): choose another --out directory.") from None
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # whatever the umask
        handle.write(data)
    return path


def slack_names(client: WebClient) -> NameLookup:
    """Names from the workspace for the Slack user ids a record holds; anyone Slack cannot say stays an id."""
    def lookup(user_ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for user_id in user_ids:
            try:
                user = client.users_info(user=user_id)["user"]
            except (SlackApiError, SlackClientError, OSError):
                continue
            name = (user.get("profile") or {}).get("real_name") or user.get("real_name") or user.get("name")
            if name:
                found[user_id] = name
        return found

    return lookup


def staff_user_id(client: WebClient | None, ref: str) -> str:
    """The Slack user id for --staff: given as one, or found by the email address Slack holds for them."""
    ref = ref.strip()
    if "@" not in ref:
        if not USER_ID.fullmatch(ref):
            raise ConfigError(f"--staff {ref!r} is neither a Slack user id (U…) nor an email address.")
        return ref
    if client is None:
        raise ConfigError("finding someone by email needs Slack (SLACK_BOT_TOKEN): give their Slack user id (U…) "
                          "with --staff instead.")
    try:
        return str(client.users_lookupByEmail(email=ref)["user"]["id"])
    except SlackApiError:
        raise ConfigError("nobody in this workspace has that email address: check it, or give their Slack user id "
                          "(U…) with --staff.") from None
