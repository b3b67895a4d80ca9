"""The installed product as separate processes: `patchhub-server serve` and one `patchhub-server worker` per
queue, each with the PATCHHUB_* variables docker-compose.yml sets (nothing else from this checkout), and the
`patchhub` command of a user's machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.e2e.installs import REPO_ROOT, Venv

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


def compose_settings() -> set[str]:
    """The PATCHHUB_* variables every patchhub service of docker-compose.yml gets."""
    return set(yaml.safe_load(COMPOSE_FILE.read_text())["x-patchhub-env"])


def process_env(venv: Venv, home: Path, settings: dict[str, str]) -> dict[str, str]:
    """A clean environment: the venv's bin first, a private HOME, and exactly ``settings`` as PATCHHUB_*."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": f"{venv.bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",  # as in the images: logs reach the file as they happen
        "OMP_NUM_THREADS": "1",  # two workers and the API share two cores
        **settings,
    }


class Service:
    """A long-running command (serve, worker) with its output in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path, name: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        # cwd outside the checkout, so nothing there (sources, a .env) can stand in for the install
        self.process = subprocess.Popen(command, env=env, cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def wait_ready(url: str, service: Service, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"{service.name} exited with {service.process.returncode}:\n{service.log()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{service.name} did not become ready in {timeout:.0f} s:\n{service.log()}")


def run(command: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


class Cli:
    """The installed `patchhub` command of a user's machine (its own login file and cache)."""

    def __init__(self, venv: Venv, home: Path) -> None:
        self.home = home
        self.env = process_env(venv, home, {})
        self.env.update(PATCHHUB_CONFIG=str(home / "patchhub.json"), PATCHHUB_CACHE=str(home / "cache"))

    def __call__(self, *args: str, timeout: float = 300) -> str:
        result = run(["patchhub", *args], self.env, self.home, timeout)
        assert result.returncode == 0, f"patchhub {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def json(self, *args: str, timeout: float = 300) -> Any:
        return json.loads(self("--json", *args, timeout=timeout))


def wait_until(condition: Any, timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.5)


def sha256_of(path: str | os.PathLike[str]) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
