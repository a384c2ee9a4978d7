"""`python -m tests.bench [--only latency,...] [--databases sqlite,postgresql]`: run the benchmarks and print
one table per benchmark, each figure beside its bar (and, where there is one, the floor it is measured by)."""

from __future__ import annotations

import argparse
import logging
import platform
import os
import sys

import tempfile
from pathlib import Path

from storage.crypto import new_key
from tests.bench import broadcast, footprint, latency, trust
from tests.bench.databases import KINDS, fresh_database


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _latency(databases: list[str], requests: int, workers: int, scales: list[int]) -> bool:
    print(f"\n## Acknowledgement latency ({requests} requests per kind, {latency.CONCURRENCY} connections, "
          f"{workers} bot process{'es' if workers > 1 else ''}; ms)\n")
    print("| database | other schools' concerns | request | p50 | p95 | p99 | floor p50 | floor p99 | p99 / floor | "
          "req/s | errors | done | bar |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    passed, notes = True, []
    for database in databases:
        for scale in scales:
            others = trust.FULL * scale // trust.SCALES[-1]
            with fresh_database(database) as url:
                rows, reminded = latency.measure(database, url, requests, workers, scale)
            for row in rows:
                b, f = row.bot, row.floor
                bar = "p99 < 150" + (", ≤ 3× floor" if row.kind in latency.BUTTON_KINDS else "") + ", all done"
                print(f"| {database} | {others:,} | {row.kind} | {b.p50:.1f} | {b.p95:.1f} | {b.p99:.1f} | "
                      f"{f.p50:.1f} | {f.p99:.1f} | {row.ratio:.2f} | {b.per_second:.0f} | {b.errors} | {row.done} | "
                      f"{'pass' if row.passes else 'FAIL'} ({bar}) |", flush=True)
                passed &= row.passes
            notes.append(f"- {database}, {others:,} other concerns: {reminded.due} reminders fell due during the run; "
                         f"{reminded.escalated} went out ({reminded.messages} messages), {reminded.repeats} twice: "
                         f"{'pass' if reminded.passes else 'FAIL'}")
            passed &= reminded.passes
    print("\nReminders falling due while the requests were timed (each must go out once):\n")
    print("\n".join(notes))
    return passed


def _broadcast(databases: list[str], staff: int, rate: float) -> bool:
    print(f"\n## Broadcast: an AUP round to {staff} staff, Slack taking {rate:g} messages a second\n")
    print("| database | run | seconds | floor (staff ÷ rate) | × floor | reached | missed | repeats | in flight at "
          "the kill | 429s | bar |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    passed = True
    for database in databases:
        for kill in (False, True):
            with fresh_database(database) as url:
                r = broadcast.run(database, url, staff, rate, kill)
            what = f"killed after {r.killed_after}, restarted" if kill else "straight through"
            bar = "nobody missed; repeats = in flight" + ("" if kill else "; ≤ 1.15 × floor")
            print(f"| {database} | {what} | {r.seconds:.1f} | {r.floor:.1f} | {r.seconds / r.floor:.2f} | {r.reached} | "
                  f"{r.missed} | {r.repeats} | {r.in_flight} | {r.rate_limited} | "
                  f"{'pass' if r.passes else 'FAIL'} ({bar}) |", flush=True)
            passed &= r.passes
    return passed


def _trust(databases: list[str]) -> bool:
    from storage.db import Database

    print(f"\n## A trust's data: {trust.SCHOOLS} schools, {trust.SCHOOLS * trust.STAFF_PER_SCHOOL} staff; one school's "
          f"reads (ms; {trust.REPEATS} runs each)\n")
    print("| database | concerns (scale) | read | p50 | p95 | peak Python memory (KB) | bar |")
    print("|---|---|---|---|---|---|---|")
    passed, plans = True, {}
    for database in databases:
        for scale in trust.SCALES:
            concerns = trust.FULL * scale // trust.SCALES[-1]
            with fresh_database(database) as url, tempfile.TemporaryDirectory() as tmp:
                db = Database(url)
                db.upgrade()
                trust.generate(db, concerns)
                for t in trust.measure(db, Path(tmp)):
                    ok = t.p95 < 200 or database != "postgresql"
                    print(f"| {database} | {concerns:,} ({scale}×) | {t.name} | {t.p50:.1f} | {t.p95:.1f} | "
                          f"{t.peak_kb:,.0f} | {'pass' if ok else 'FAIL'} (p95 < 200 on PostgreSQL) |", flush=True)
                    passed &= ok
                    plans[(database, t.name)] = t.plan
                db.dispose()
    for (database, name), lines in plans.items():
        print(f"\nPlan of the main query for {name} ({database}, largest scale):\n")
        print("\n".join(f"    {line}" for line in lines))
    return passed


def _footprint(databases: list[str]) -> bool:
    print("\n## Footprint: `concernbot serve` with a trust's 50 schools and 25,000 concerns\n")
    print("| database | schools | start to /healthz (s) | resident memory (MB) | bar |")
    print("|---|---|---|---|---|")
    passed = True
    for database in databases:
        with fresh_database(database) as url:
            f = footprint.measure(database, url)
        print(f"| {database} | {f.schools} | {f.ready_seconds:.2f} | {f.rss_mb:.0f} | "
              f"{'pass' if f.passes else 'FAIL'} (< 3 s; < 200 MB) |", flush=True)
        passed &= f.passes
    return passed


def main(argv: list[str] | None = None) -> int:
    # Every database the benchmarks open, and every bot they start, seals records with one key made here.
    os.environ.setdefault("ENCRYPTION_KEY", new_key())
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--only", default="latency,broadcast,trust,footprint",
                        help="comma-separated: latency, broadcast, trust, footprint")
    parser.add_argument("--staff", type=int, default=broadcast.STAFF, help="broadcast: recipients")
    parser.add_argument("--rate", type=float, default=broadcast.RATE, help="broadcast: Slack's messages a second")
    parser.add_argument("--databases", default=",".join(KINDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=latency.REQUESTS)
    parser.add_argument("--workers", type=int, default=1, help="the bot's HTTP worker processes (serve --workers)")
    parser.add_argument("--scales", default="0", help="latency: comma-separated sixteenths of a 100,000-concern "
                        "trust put in the database beside the school first (growth: 1,4,16)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"# concernbot benchmarks\n\nMachine: {_machine()}")
    databases = [d for d in args.databases.split(",") if d]
    passed = True
    if "latency" in args.only.split(","):
        passed &= _latency(databases, args.requests, args.workers, [int(x) for x in args.scales.split(",")])
    if "footprint" in args.only.split(","):
        passed &= _footprint(databases)
    if "trust" in args.only.split(","):
        passed &= _trust(databases)
    if "broadcast" in args.only.split(","):
        passed &= _broadcast(databases, args.staff, args.rate)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
