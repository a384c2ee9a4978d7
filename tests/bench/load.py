"""A load client: signed Slack requests over keep-alive connections, timed from send to the last byte of the
answer, from several threads at once. It is what Slack's side of a busy school looks like to the bot."""

from __future__ import annotations

import gc
import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

Body = tuple[str, str]  # (content type, body)


def form(fields: dict[str, str]) -> Body:
    return "application/x-www-form-urlencoded", urlencode(fields)


def payload(data: dict[str, Any]) -> Body:
    return form({"payload": json.dumps(data)})


def envelope(data: dict[str, Any]) -> Body:
    return "application/json", json.dumps(data)


@dataclass(frozen=True)
class Figures:
    count: int
    errors: int
    p50: float  # milliseconds
    p95: float
    p99: float
    seconds: float  # wall time of the whole run

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not values:
        return float("nan")
    rank = max(1, int(round(share * len(values) + 0.5)))
    return values[min(rank, len(values)) - 1]


def figures(latencies: list[float], errors: int, seconds: float) -> Figures:
    ordered = sorted(latencies)
    return Figures(len(ordered), errors, percentile(ordered, 0.50) * 1000, percentile(ordered, 0.95) * 1000,
                   percentile(ordered, 0.99) * 1000, seconds)


def hammer(url: str, secret: str, build: Callable[[int, int], Body], total: int, concurrency: int,
           ok: Callable[[int, bytes], bool] | None = None) -> Figures:
    """Send `total` requests, `build(worker, n)` making each, from `concurrency` threads each holding one
    keep-alive connection; time each from the first byte sent to the whole answer read."""
    parts = urlsplit(url)
    verifier = SignatureVerifier(secret)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(total))
    next_lock = threading.Lock()

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[float] = []
        bad = 0
        while True:
            with next_lock:
                n = next(counter, None)
            if n is None:
                break
            content_type, body = build(index, n)
            ts = str(int(time.time()))
            headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                       "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body)}
            started = time.perf_counter()
            connection.request("POST", parts.path, body=body.encode(), headers=headers)
            reply = connection.getresponse()
            answer = reply.read()
            mine.append(time.perf_counter() - started)
            if reply.status != 200 or (ok is not None and not ok(reply.status, answer)):
                bad += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker, args=(i,), name=f"load-{i}") for i in range(concurrency)]
    # This process is the instrument (and, with the sandbox, Slack's side): its own garbage collector stops
    # every thread in it, and a full collection over the sandbox's thousands of views and messages took
    # about 250 ms, which showed as every request in flight waiting that long for the bot. Off while timing.
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        gc.enable()
    return figures(latencies, errors[0], seconds)
