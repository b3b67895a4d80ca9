"""The wrapper the test command uses: moto up, command run with the endpoint in its environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.s3_server import ENDPOINT_ENV

REPO_ROOT = Path(__file__).resolve().parent.parent

CHILD = f"""
import os, sys
from tests.s3_server import endpoint_is_reachable
endpoint = os.environ["{ENDPOINT_ENV}"]
sys.exit(7 if endpoint_is_reachable(endpoint) else 1)
"""


def test_command_runs_against_a_live_endpoint_and_its_exit_code_is_kept() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.s3_server", "--", sys.executable, "-c", CHILD],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 7, result.stderr.decode()
