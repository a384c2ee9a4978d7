"""The container image (Dockerfile, .dockerignore) says what the README promises: built in a builder stage,
run from python-slim as a non-root user, serving /healthz on 3000. The image's health check is run for
real, and the image itself is built and run where a container engine answers."""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import _parser as cli_parser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
README = ROOT / "README.md"

HEALTH_URL = "http://127.0.0.1:3000/healthz"


# ---- Dockerfile ------------------------------------------------------------------------------------------

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with line continuations joined and comments dropped, as Docker does."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue  # comments (and parser directives) and blank lines, even inside a continuation
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, arguments = pending.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def stages() -> list[list[tuple[str, str]]]:
    """The build stages, each starting with its FROM (global ARGs before the first FROM are dropped)."""
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions(DOCKERFILE.read_text()):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def global_args() -> dict[str, str]:
    args: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in arguments:
            name, _, value = arguments.partition("=")
            args[name] = value
    return args


def base_image(stage: list[tuple[str, str]]) -> str:
    words = [w for w in stage[0][1].split() if not w.startswith("--")]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: global_args()[m.group(1) or m.group(2)], words[0])


def only(stage: list[tuple[str, str]], keyword: str) -> str:
    """The arguments of the stage's last `keyword` (the one that takes effect)."""
    found = [arguments for k, arguments in stage if k == keyword]
    assert found, f"the final stage has no {keyword}"
    return found[-1]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def healthcheck_argv() -> tuple[list[str], str]:
    """The final stage's HEALTHCHECK: its exec-form command, and its options (--interval=... and so on)."""
    options, _, command = only(stages()[-1], "HEALTHCHECK").partition("CMD")
    return json.loads(command), options


def test_the_image_is_built_in_a_builder_and_runs_from_python_slim_with_only_the_venv() -> None:
    builder, *_, final = stages()
    assert len(stages()) >= 2, "multi-stage: build in one stage, run from another"
    assert base_image(builder) == base_image(final) == "python:3.11-slim"
    assert any(k == "RUN" and "pip install" in a for k, a in builder), "the builder installs the package"
    copies = [a for k, a in final if k == "COPY"]
    assert copies and all(a.startswith("--from=") for a in copies), f"the runtime copies only from the builder: {copies}"
    runs = " ".join(a for k, a in final if k == "RUN")
    for tool in ("pip install", "apt-get install", "gcc", "build-essential", "curl", "wget"):
        assert tool not in runs, f"the runtime stage must not install {tool!r}"
    env = env_of(final)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert env["DATABASE_URL"] == "sqlite:////data/concernbot.db"
    assert only(final, "WORKDIR") == "/data"
    labels = " ".join(a for k, a in final if k == "LABEL")
    assert "org.opencontainers.image.title" in labels and "org.opencontainers.image.licenses" in labels


def test_the_final_stage_runs_as_a_numeric_unprivileged_user_that_owns_data() -> None:
    final = stages()[-1]
    user = only(final, "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) >= 1000, f"USER {user!r}: a fixed numeric uid, not a name and not root"
    assert not gid or (gid.isdigit() and int(gid) != 0), f"USER {user!r}: not the root group"
    # The USER comes after everything that needs root, and the uid it names is the one that owns /data.
    assert [k for k, _ in final].index("USER") > max(i for i, (k, _) in enumerate(final) if k == "RUN")
    uid_default = {a.partition("=")[0]: a.partition("=")[2] for k, a in final if k == "ARG"}.get("UID", uid)
    assert uid_default == uid, "the user created and the USER instruction must be the same uid"
    owning = [a for k, a in final if k == "RUN" and "/data" in a]
    assert owning and re.search(r"(chown|-o)\s+(\$\{UID\}|" + uid + ")", owning[0]), "/data must be owned by the user"


def test_the_healthcheck_calls_healthz_with_the_standard_library_and_port_3000_is_exposed() -> None:
    final = stages()[-1]
    argv, options = healthcheck_argv()
    assert argv[:2] in (["python", "-c"], ["python3", "-c"], ["/opt/venv/bin/python", "-c"]), argv
    assert len(argv) == 3 and argv[2].count(HEALTH_URL) == 1, argv
    assert "urllib" in argv[2]
    timeout = re.search(r"--timeout=(\d+)s", options)
    inner = re.search(r"timeout=(\d+)\)", argv[2])
    assert timeout and inner and int(inner.group(1)) < int(timeout.group(1)), \
        "the check's own timeout must be shorter than Docker's, so it reports rather than being killed"
    assert "3000" in only(final, "EXPOSE").replace("/tcp", "").split()
    assert only(final, "STOPSIGNAL") == "SIGTERM"


def test_the_entrypoint_is_the_concernbot_script_and_the_cmd_is_a_valid_serve() -> None:
    final = stages()[-1]
    assert json.loads(only(final, "ENTRYPOINT")) == ["concernbot"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "concernbot" in scripts, "the ENTRYPOINT names the console script pyproject installs"
    cmd = json.loads(only(final, "CMD"))
    args = cli_parser().parse_args(cmd)  # the real CLI accepts it, as the container will run it
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 3000)


def test_the_build_context_keeps_out_secrets_data_and_caches_but_not_the_sources() -> None:
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for needed in (".venv", ".git", ".env", "*.db", ".pytest_cache", "**/__pycache__"):
        assert needed in patterns, f".dockerignore must exclude {needed}"

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            glob = pattern.lstrip("!").removeprefix("**/")
            if fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(Path(path).name, glob):
                verdict = not negate
        return verdict

    for secret in (".env", "concernbot.db", "bot/concernbot.db", "concernbot.db-wal", ".venv", ".git"):
        assert ignored(secret), secret
    sources = [a.split()[:-1] for k, a in stages()[0] if k == "COPY"]
    for source in (s for group in sources for s in group):
        assert not ignored(source), f"{source} is copied by the Dockerfile but ignored by .dockerignore"


# ---- the health check, run for real ------------------------------------------------------------------

class _Health(http.server.BaseHTTPRequestHandler):
    reply: tuple[int, dict[str, str]] = (200, {"status": "ok", "database": "ok", "team": "T0TEST"})

    def do_GET(self) -> None:  # noqa: N802
        status, body = self.reply if self.path == "/healthz" else (404, {"error": "not found"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(reply: tuple[int, dict[str, str]]) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"reply": reply})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def healthy_port() -> Iterator[int]:
    yield from _serve((200, {"status": "ok", "database": "ok", "team": "T0TEST"}))


@pytest.fixture
def sick_port() -> Iterator[int]:
    # What bot/http.py answers when the database does not: 503 {"status": "error", ...}
    yield from _serve((503, {"status": "error", "database": "unreachable"}))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_healthcheck(port: int, **env: str) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's HEALTHCHECK one-liner, unchanged except for the port, with this Python."""
    argv, _ = healthcheck_argv()
    code = argv[2].replace(HEALTH_URL, f"http://127.0.0.1:{port}/healthz")
    clean = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                          timeout=30)


def test_the_healthcheck_passes_when_healthz_answers_ok(healthy_port: int) -> None:
    result = run_healthcheck(healthy_port)
    assert result.returncode == 0, result.stderr


def test_the_healthcheck_fails_with_exit_1_when_nothing_listens() -> None:
    result = run_healthcheck(closed_port())
    assert result.returncode == 1, (result.returncode, result.stderr)  # Docker: 1 unhealthy; 2 is reserved
    assert "Connection refused" in result.stderr or "URLError" in result.stderr


def test_the_healthcheck_fails_when_the_bot_reports_its_database_down(sick_port: int) -> None:
    result = run_healthcheck(sick_port)
    assert result.returncode == 1, (result.returncode, result.stderr)


def test_the_healthcheck_ignores_a_proxy_in_the_environment(healthy_port: int) -> None:
    # Schools often set HTTP(S)_PROXY for outbound traffic; the check must still talk to 127.0.0.1 directly.
    dead_proxy = f"http://127.0.0.1:{closed_port()}"
    result = run_healthcheck(healthy_port, HTTP_PROXY=dead_proxy, http_proxy=dead_proxy, ALL_PROXY=dead_proxy)
    assert result.returncode == 0, result.stderr



# ---- the image, for real (needs a container engine) ------------------------------------------------------

def _docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result


@pytest.fixture
def container_engine() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on this machine, so the image cannot be built here")
    try:
        info = _docker("info", "--format", "{{.ServerVersion}}", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("`docker info` did not answer within 30 s: no container engine is reachable")
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no reason given"])[-1]
        pytest.skip(f"no container engine answers `docker info` ({reason}); the image is checked statically only")


def test_the_image_builds_runs_as_10001_and_answers_healthz(container_engine: None) -> None:
    from bot.sandbox.demo_workspace import demo_workspace
    from bot.sandbox.webapi import SandboxServer

    tag = f"concernbot-test:{uuid.uuid4().hex[:12]}"
    _docker("build", "--pull=false", "-t", tag, str(ROOT), timeout=1200)
    # The fake Slack listens on all addresses so that the container reaches it through the host gateway.
    sandbox = SandboxServer(demo_workspace(), host="0.0.0.0").start()
    api_port = sandbox.url.rsplit(":", 1)[1]
    container = None
    try:
        container = _docker(
            "run", "-d", "--add-host=host.docker.internal:host-gateway", "-p", "127.0.0.1::3000",
            "--health-interval=2s", "--health-start-period=60s",
            "-e", f"SLACK_BOT_TOKEN={sandbox.workspace.bot_token}", "-e", "SLACK_SIGNING_SECRET=test-signing-secret",
            "-e", f"SLACK_API_URL=http://host.docker.internal:{api_port}/api/", tag).stdout.strip()
        host_port = _docker("port", container, "3000/tcp").stdout.split()[0].rsplit(":", 1)[1]
        body, deadline = None, time.monotonic() + 90
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/healthz", timeout=2) as reply:
                    body = json.loads(reply.read())
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert body is not None and body["status"] == "ok", _docker("logs", container, check=False).stderr
        # Docker's own HEALTHCHECK (the one-liner above, inside the image) turns the container healthy.
        status, deadline = "", time.monotonic() + 60
        while status != "healthy" and time.monotonic() < deadline:
            status = _docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip()
            time.sleep(1)
        assert status == "healthy"
        assert _docker("exec", container, "id", "-u").stdout.strip() == "10001"
        # SQLite in /data was writable by that user: the database and the leader lock are there.
        assert "concernbot.db" in _docker("exec", container, "ls", "/data").stdout
        # SIGTERM (docker stop) stops it cleanly, well inside the grace period.
        _docker("stop", "-t", "30", container, timeout=60)
        assert _docker("inspect", "-f", "{{.State.ExitCode}}", container).stdout.strip() == "0"
    finally:
        if container:
            _docker("rm", "-f", container, check=False)
        sandbox.stop()
        _docker("rmi", "-f", tag, check=False)
