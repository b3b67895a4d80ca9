"""docs/tutorial.md, run as written: every command of its ``bash`` blocks, in order, by a shell, against
``patchhub-server serve`` on the embedded default in a fresh home directory.

Only the environment differs from a newcomer's machine: HOME is a temporary folder (so
``~/.local/share/patchhub`` and ``~/.config/patchhub`` are empty) and the service listens on a free port,
given to both sides as PATCHHUB_PORT / PATCHHUB_URL instead of 8000 (which a developer may be using).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.services import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = REPO_ROOT / "docs" / "tutorial.md"
SERVE = "patchhub-server serve"
COMMAND_TIMEOUT_S = 240


def tutorial_commands(text: str) -> list[str]:
    """The shell commands of the page's ```bash blocks, in order, with ``\\`` continuations joined."""
    commands: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S):
        pending = ""
        for line in block.splitlines():
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].rstrip() + " "
                continue
            command = (pending + line.strip()).strip()
            pending = ""
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


@pytest.fixture
def newcomer(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATCHHUB_", "XDG_"))}
    env.update(HOME=str(home), PATCHHUB_PORT=str(port), PATCHHUB_URL=f"http://127.0.0.1:{port}")
    yield env, work


def test_the_tutorial_runs_as_written(newcomer: tuple[dict[str, str], Path]) -> None:
    env, work = newcomer
    commands = tutorial_commands(TUTORIAL.read_text())
    assert commands[0] == SERVE and len(commands) > 10
    log_path = work / "serve.log"
    with _serving(env, work, log_path):
        for command in commands[1:]:
            started = time.monotonic()
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
            print(f"{time.monotonic() - started:6.1f}s  {command[:100]}\n{done.stdout}")  # shown with -s
            assert done.returncode == 0, (
                f"{command}\n{done.stdout}\n{done.stderr}\n--- serve log ---\n{log_path.read_text()[-3000:]}"
            )
            if command.startswith("patchhub report vision/digits-fogproof"):
                fogproof = done.stdout
            if command == "patchhub report vision/digits":
                clean = done.stdout
        namespaces = subprocess.run(
            ["patchhub-server", "namespace", "list"], cwd=work, env=env, capture_output=True, text=True, timeout=60
        )
        assert namespaces.stdout.split() == ["vision"], namespaces.stderr

    assert (work / "digits-fogproof.safetensors").stat().st_size > 0
    assert [p.name for p in (work / "signatures").iterdir()] == ["rws-fog-v1.safetensors"]
    assert "Training (final metrics)" in clean and "val_top1" in clean
    for report in (clean, fogproof):
        fog_row = next(line for line in report.splitlines() if line.startswith("fog "))
        assert len(fog_row.split()) == 2  # fog at severity 3


@contextlib.contextmanager
def _serving(env: dict[str, str], work: Path, log_path: Path) -> Iterator[None]:
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            SERVE.split(), cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_ready(env["PATCHHUB_URL"], server, log_path)
            yield
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)


def _wait_ready(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not become ready:\n{log_path.read_text()}")
