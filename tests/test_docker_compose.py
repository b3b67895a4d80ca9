"""docker-compose.yml describes the production shape, and every PATCHHUB_* variable it sets is a real setting."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from registry.settings import Settings

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_has_the_production_services_and_real_settings() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    assert {"api", "worker-cpu", "worker-gpu", "postgres", "redis", "minio"} <= set(compose["services"])
    gpu = compose["services"]["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    known = {f"PATCHHUB_{name.upper()}" for name in Settings.model_fields}
    for service in ("api", "worker-cpu", "worker-gpu"):
        env = compose["services"][service]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{service} sets variables no setting reads: {sorted(unknown)}"


def test_compose_config_validates_with_the_compose_client() -> None:
    """`docker compose config` needs only the client; where no client is installed the YAML checks above stand."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        yaml.safe_load(COMPOSE_FILE.read_text())
        return
    result = subprocess.run([*command, "-f", str(COMPOSE_FILE), "config", "-q"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
