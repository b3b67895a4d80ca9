"""The product as an operator installs it: wheels of both distributions, built from a copy of the sources the
Dockerfile copies, installed into fresh virtualenvs without dev extras and without this checkout on the path.

Three environments, one per role: the API (``patchhub`` + ``patchhub-server``, no extras: no torch), a worker
(``patchhub-server[worker]`` + ``torch==2.13.0``) and a user's machine (``patchhub`` alone).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# What the Dockerfile copies into its build stage (tests/test_dockerfile.py holds it to the distribution).
SOURCES = ("client", "registry", "workers", "migrations", "pyproject.toml", "README.md")
TORCH = "torch==2.13.0"  # the CPU build on this machine's disk


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def has_module(self, name: str) -> bool:
        probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
        # -I: neither the working directory nor PYTHONPATH may lend a module this environment lacks.
        return subprocess.run([self.python, "-I", "-c", probe], capture_output=True).returncode == 0


@dataclass(frozen=True)
class Installs:
    api: Venv
    worker: Venv
    client: Venv


def build_wheels(workdir: Path) -> tuple[Path, Path]:
    """(client wheel, server wheel), built from a clean copy so no stale build/ or egg-info leaks in."""
    source = workdir / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in SOURCES:
        origin = REPO_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=ignore)
        else:
            shutil.copy2(origin, source / name)
    wheels = workdir / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    _run([*command, str(source / "client"), str(source)])
    client = next(wheels.glob("patchhub-*.whl"))
    server = next(wheels.glob("patchhub_server-*.whl"))
    return client, server


def make_venv(root: Path, requirements: list[str], entry_modules: str) -> Venv:
    """A fresh virtualenv with exactly ``requirements`` (and what they depend on) installed by pip.

    pip skips compiling every module (torch has thousands); importing the entry points once compiles what
    runs, so the services do not all compile torch at the same time when they start."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    venv = Venv(root)
    pip = [sys.executable, "-m", "pip", "--python", str(venv.python), "install", "-q", "--no-compile"]
    _run([*pip, *requirements])
    _run([str(venv.python), "-I", "-c", f"import {entry_modules}"])
    return venv


def install_product(workdir: Path) -> Installs:
    client_wheel, server_wheel = build_wheels(workdir)
    plans = {
        "api": ([str(client_wheel), str(server_wheel)], "registry.cli, registry.app"),
        "worker": ([TORCH, str(client_wheel), f"{server_wheel}[worker]"], "registry.cli, workers.celery_app"),
        "client": ([str(client_wheel)], "patchhub.cli"),
    }
    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        futures = {role: pool.submit(make_venv, workdir / role, *plan) for role, plan in plans.items()}
        venvs = {role: future.result() for role, future in futures.items()}
    return Installs(**venvs)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} ... failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
