"""docker-compose.yml describes the production shape: it validates with the compose client, every patchhub
service is built from the Dockerfile's targets, restarts, has a healthcheck and a data volume, secrets come
from .env (nothing has a default password), and every PATCHHUB_* variable it sets is a real setting."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry.settings import Settings
from tests.test_dockerfile import DOCKERFILE, parse_dockerfile

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
PATCHHUB_SERVICES = ("bootstrap", "api", "worker-cpu", "worker-gpu")
LONG_RUNNING = ("api", "worker-cpu", "worker-gpu", "postgres", "redis", "minio")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_client() -> list[str]:
    """The compose client (`docker compose` or `docker-compose`); the test command installs one."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("no compose client: scripts/test.sh installs docker-compose", pytrace=False)
    pytest.skip("no compose client (apt-get install docker-compose)")


def compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    """`compose config` with only ``env_file`` (never a developer's own .env) and no secrets in the environment."""
    command = [*compose_client(), "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "REDIS_", "MINIO_", "PATCHHUB_"))}
    return subprocess.run([*command, "config"], capture_output=True, text=True, env=clean)


def test_compose_config_validates_with_the_example_env_and_refuses_without_secrets(tmp_path: Path) -> None:
    valid = compose_config(ENV_EXAMPLE)
    assert valid.returncode == 0, valid.stderr
    rendered = yaml.safe_load(valid.stdout)
    env = rendered["services"]["api"]["environment"]
    assert env["PATCHHUB_DATABASE_URL"] == (
        "postgresql+psycopg://patchhub:change-me-postgres@postgres:5432/patchhub"
    )  # the secret arrives from the env file
    empty = tmp_path / "empty.env"
    empty.write_text("")
    missing = compose_config(empty)
    assert missing.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in missing.stderr


def test_every_patchhub_service_is_built_restarts_and_keeps_data_on_a_volume() -> None:
    services = compose()["services"]
    _args, stages = parse_dockerfile(DOCKERFILE.read_text())
    for name in PATCHHUB_SERVICES:
        build = services[name]["build"]
        assert build["target"] in stages, f"{name} builds target {build['target']!r}, not in the Dockerfile"
    for name in ("api", "worker-cpu", "worker-gpu"):
        service = services[name]
        assert service["build"]["target"] == name
        data_dir = service["environment"]["PATCHHUB_DATA_DIR"]
        assert any(volume.endswith(f":{data_dir}") for volume in service["volumes"]), f"{name}: no data volume"
        assert service["command"][:2] == ["patchhub-server", "serve" if name == "api" else "worker"]
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", f"{name} has no restart policy"
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert services["worker-cpu"]["healthcheck"]["test"] == ["CMD", "patchhub-server", "check", "--local-worker"]
    assert services["worker-cpu"]["command"][3] == "cpu" and services["worker-gpu"]["command"][3] == "gpu"
    gpu = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    assert "storage init" in services["bootstrap"]["command"][0] and "db upgrade" in services["bootstrap"]["command"][0]
    assert services["api"]["depends_on"]["bootstrap"] == {"condition": "service_completed_successfully"}


def test_compose_sets_only_real_settings_and_no_literal_secrets() -> None:
    known = {f"PATCHHUB_{name.upper()}" for name in Settings.model_fields}
    services = compose()["services"]
    for name in PATCHHUB_SERVICES:
        env = services[name]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
        for key in ("PATCHHUB_S3_SECRET_ACCESS_KEY", "PATCHHUB_S3_ACCESS_KEY_ID", "PATCHHUB_SESSION_SECRET"):
            assert env[key].startswith("${") and ":?" in env[key], f"{name}: {key} must come from .env"
    text = COMPOSE_FILE.read_text()
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_PASSWORD"):
        assert f"${{{secret}:-" not in text, f"{secret} has a default in docker-compose.yml"
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().split()
