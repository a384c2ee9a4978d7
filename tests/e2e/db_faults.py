"""Making the database fail under a running bot, for real: a TCP proxy in front of PostgreSQL that can cut
every connection, and on SQLite a read-only file or another program holding the write lock.

Nothing here touches the project's code: the bot connects through the proxy (or opens the file) as it
would in production, and only what is between it and the database changes. The machine's PostgreSQL is
never stopped (other runs share it).
"""

from __future__ import annotations

import os
import tempfile
import subprocess
import shutil
import socket
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url


class TcpProxy:
    """A TCP proxy on a free local port, on threads. `cut()` drops every connection through it and refuses
    new ones (the database has gone away); `restore()` lets connections through again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="db-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def url_for(self, url: str) -> str:
        """`url` (a PostgreSQL URL), pointed at the proxy instead."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:  # accepted and closed at once: the client reads "server closed the connection"
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, sink}
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv on it
    except OSError:
        pass
    sock.close()


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another program holds SQLite's write lock (BEGIN EXCLUSIVE) until the block ends: the bot can still
    read, but every write waits out its busy timeout and fails."""
    other = sqlite3.connect(path, isolation_level=None, timeout=30)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _immutable_works() -> bool:
    """Whether `chattr +i` (the immutable flag, which stops root too) works on this machine's temp files."""
    if shutil.which("chattr") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_text("")
        if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
            return False
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True, check=True)
        return True


def chmod_stops_us() -> bool:
    """Whether this process can make a file read-only to itself: by its mode, or as root (who writes through
    any mode) by the immutable flag."""
    return os.geteuid() != 0 or _immutable_works()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The database file, its -wal and -shm, and their directory, read-only until the block ends (by mode;
    as root, by the immutable flag)."""
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), path.parent) if p.exists()]
    if os.geteuid() == 0:
        # Not -shm: SQLite maps it into memory, and a write to an immutable mapping is a bus error, not a
        # refused write. The database and its log are enough to refuse every write.
        flagged: list[Path] = []
        try:
            for p in (f for f in files if not f.name.endswith("-shm")):
                subprocess.run(["chattr", "+i", str(p)], capture_output=True, check=True)
                flagged.append(p)
            yield
        finally:
            for p in reversed(flagged):
                subprocess.run(["chattr", "-i", str(p)], capture_output=True, check=True)
        return
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in files}
    try:
        for p in files:
            p.chmod(modes[p] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        yield
    finally:
        for p in reversed(files):
            p.chmod(modes[p])
