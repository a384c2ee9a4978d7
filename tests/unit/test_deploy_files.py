"""The other deployment files (compose.yml, the systemd unit and its env example) say what the README
promises: PostgreSQL healthy before the bot starts, no secrets in files, a hardened unit, and every setting
documented."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import _parser as cli_parser
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yml"
UNIT = ROOT / "deploy" / "concernbot.service"
ENV_EXAMPLE = ROOT / "deploy" / "concernbot.env.example"
README = ROOT / "README.md"

# ---- compose.yml ---------------------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {k: (v if sep else None) for k, sep, v in (item.partition("=") for item in env)}
    return {k: None if v is None else str(v) for k, v in env.items()}


# ${NAME} or ${NAME:?message} / ${NAME?message}, or $NAME: never ${NAME:-a literal default}.
VARIABLE = re.compile(r"^\$\{[A-Za-z_]\w*(:?\?[^}]*)?\}$|^\$[A-Za-z_]\w*$")


def walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from walk_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item)
    elif node is not None:
        yield str(node)


def test_compose_runs_the_bot_on_postgres_16_once_the_database_is_healthy() -> None:
    doc = compose()
    services = doc["services"]
    db, bot = services["db"], services["concernbot"]
    assert db["image"] == "postgres:16-alpine"
    assert "pg_isready" in " ".join(walk_strings(db["healthcheck"]["test"]))
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot.get("build") is not None, "the bot is built from this repository's Dockerfile"
    for service in (db, bot):
        assert service["restart"] == "unless-stopped"
    # The database lives in a named volume declared at the top level.
    mounts = [m.split(":")[0] if isinstance(m, str) else m["source"] for m in db["volumes"]]
    assert any(m in (doc.get("volumes") or {}) for m in mounts), mounts
    env_files = bot["env_file"] if isinstance(bot["env_file"], list) else [bot["env_file"]]
    assert ".env" in [f if isinstance(f, str) else f["path"] for f in env_files]
    url = environment(bot)["DATABASE_URL"] or ""
    parsed = re.match(r"^postgresql://(?P<user>[^:@]+):(?P<password>.+)@(?P<host>[^:/@]+)(:\d+)?/\w+$", url)
    assert parsed and parsed["host"] == "db", f"DATABASE_URL {url!r} must point at the db service"
    assert VARIABLE.match(parsed["password"]), "DATABASE_URL's password must come from .env, not the file"


def test_compose_sets_no_literal_secret() -> None:
    for name, service in compose()["services"].items():
        for key, value in environment(service).items():
            if any(word in key.upper() for word in ("TOKEN", "SECRET", "PASSWORD", "KEY")):
                assert value is None or VARIABLE.match(value), f"{name}: {key} is set to a literal in compose.yml"
    for text in walk_strings(compose()):
        assert not re.search(r"xox[abpr]-|xapp-", text), "a Slack token is pasted into compose.yml"


def test_compose_publishes_the_bot_on_loopback_only() -> None:
    published = []
    for name, service in compose()["services"].items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                host_ip, target = port.get("host_ip"), int(port["target"])
            else:
                parts = str(port).split(":")
                assert len(parts) == 3, f"{name}: port {port!r} must name the host address (127.0.0.1:...)"
                host_ip, target = parts[0], int(parts[2].split("/")[0])
            assert host_ip == "127.0.0.1", f"{name}: port {port!r} is published beyond this host"
            published.append((name, target))
    assert ("concernbot", 3000) in published


def test_compose_config_is_accepted_by_docker_compose(tmp_path: Path) -> None:
    """`docker compose config` validates against Compose's schema without an engine; skipped without the plugin."""
    if shutil.which("docker") is None or subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                        timeout=30).returncode != 0:
        pytest.skip("the docker compose plugin is not installed, so compose.yml is checked only as YAML")
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=test\n")
    shutil.copy(COMPOSE, tmp_path / "compose.yml")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = subprocess.run(["docker", "compose", "-f", str(tmp_path / "compose.yml"), "config", "--quiet"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---- systemd -------------------------------------------------------------------------------------------

def unit() -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        assert current is not None, f"{line!r} is outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{line!r} is not Key=value"
        current.append((key.strip(), value.strip()))
    return sections


def setting(key: str, section: str = "Service") -> str:
    values = [v for k, v in unit()[section] if k == key]
    assert values, f"the unit's [{section}] has no {key}="
    return values[-1]


def test_the_unit_runs_concernbot_serve_as_its_own_user_with_its_env_file() -> None:
    assert setting("User") == "concernbot"
    assert setting("EnvironmentFile") == "/etc/concernbot/concernbot.env", \
        "no leading '-': a missing settings file must stop the start, not run without secrets"
    argv = shlex.split(setting("ExecStart"))
    assert argv[0] == "/opt/concernbot/.venv/bin/concernbot" and argv[1] == "serve", argv
    assert cli_parser().parse_args(argv[1:]).command == "serve"
    assert setting("WorkingDirectory") == "/var/lib/concernbot"
    assert setting("Restart") == "on-failure"
    assert setting("KillSignal") == "SIGTERM"
    assert re.fullmatch(r"\d+s?", setting("TimeoutStopSec"))
    assert setting("WantedBy", "Install") == "multi-user.target"


def test_the_unit_is_hardened_and_can_write_only_its_state() -> None:
    assert setting("NoNewPrivileges") == "yes"
    assert setting("ProtectSystem") == "strict"
    assert setting("ProtectHome") in ("yes", "true", "read-only", "tmpfs")
    assert setting("PrivateTmp") == "yes"
    assert setting("WorkingDirectory") in setting("ReadWritePaths").split(), \
        "ProtectSystem=strict makes everything read-only: the working directory (SQLite) must be writable"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds unknown keys and bad values; skipped where systemd is not installed."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    script = Path(sys.executable).parent / "concernbot"
    if not script.exists():
        pytest.skip("the concernbot script is not installed in this environment")
    # verify insists that ExecStart exists: point it at this environment's script, change nothing else.
    copy = tmp_path / "concernbot.service"
    copy.write_text(UNIT.read_text().replace("/opt/concernbot/.venv/bin/concernbot", str(script)))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    about_ours = [line for line in (result.stdout + result.stderr).splitlines() if "concernbot.service" in line]
    assert result.returncode == 0 and not about_ours, result.stdout + result.stderr


# ---- the env example -----------------------------------------------------------------------------------

def readme_variables() -> list[str]:
    """Every variable named in the first cell of README's Configuration table rows."""
    section = README.read_text().split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1])
    return names


def example_lines() -> dict[str, str]:
    """NAME -> value for every `NAME=value` line, set or commented out (`# NAME=value`)."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_every_readme_setting_is_in_the_env_example() -> None:
    names = readme_variables()
    assert len(names) >= 10 and "SLACK_BOT_TOKEN" in names and "SMTP_PASSWORD" in names, names
    missing = [n for n in names if n not in example_lines()]
    assert not missing, f"deploy/concernbot.env.example lacks {missing}"


def test_the_env_example_names_only_real_settings_with_valid_placeholders() -> None:
    known = {name.upper() for name in Settings.model_fields} | {"POSTGRES_PASSWORD"}  # compose's db service
    values = example_lines()
    assert not set(values) - known, f"not settings concernbot reads: {set(values) - known}"
    # Uncommented, every placeholder passes the settings' own validation (token prefixes, SMTP_FROM, ports...).
    Settings(_env_file=None, **{k.lower(): v for k, v in values.items() if k != "POSTGRES_PASSWORD"})  # type: ignore[call-arg]
    text = ENV_EXAMPLE.read_text()
    assert "0600" in text or "chmod 600" in text, "say that the real file must be readable by its owner only"
    for line in text.splitlines():
        assert not re.match(r"^\s*[A-Z_]+=.*\s#", line), f"systemd reads inline comments as part of the value: {line}"
