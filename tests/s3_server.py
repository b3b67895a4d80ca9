"""moto's standalone S3 server as a separate process: the S3 endpoint of the test suite.

In pytest, the ``s3_endpoint`` fixture (tests/conftest.py) uses ``$PATCHHUB_TEST_S3_ENDPOINT`` when set
and otherwise starts one server for the session with :class:`MotoServer`.

From a shell (the test command):

    python -m tests.s3_server -- python -m pytest -q      # run a command with the endpoint in its env
    python -m tests.s3_server --write-env s3.env           # serve until SIGTERM/SIGINT; FILE gets
                                                           # PATCHHUB_TEST_S3_ENDPOINT=http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ENDPOINT_ENV = "PATCHHUB_TEST_S3_ENDPOINT"
_LISTENING = re.compile(r"Running on (http://\S+?:\d+)")


def endpoint_is_reachable(endpoint: str, timeout_s: float = 2.0) -> bool:
    """True once anything answers HTTP at ``endpoint`` (any status code counts)."""
    try:
        with urllib.request.urlopen(endpoint, timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class MotoServer:
    """``moto_server -H host -p port`` in a child process; port 0 lets the OS pick a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.endpoint: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="moto-server-", suffix=".log")  # noqa: SIM115

    def start(self, timeout_s: float = 30.0) -> str:
        # The server prints the port it bound, so port 0 needs no guess-and-retry.
        command = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}: {self.log_tail()}")
            if self.endpoint is None and (match := _LISTENING.search(self.log_tail())):
                self.endpoint = match.group(1)
            if self.endpoint is not None and endpoint_is_reachable(self.endpoint, timeout_s=1.0):
                return self.endpoint
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"moto server did not answer within {timeout_s:.0f} s: {self.log_tail()}")

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, limit: int = 2000) -> str:
        return Path(self._log.name).read_text(errors="replace")[-limit:]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.close()

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _write_env_file(path: Path, endpoint: str) -> None:
    staged = path.with_name(path.name + ".tmp")
    staged.write_text(f"{ENDPOINT_ENV}={endpoint}\n")
    staged.replace(path)  # readers polling for the file never see it half-written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.s3_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--write-env", type=Path, help=f"write {ENDPOINT_ENV}=URL to this file once serving")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND: run it, then stop the server")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    # SIGTERM ends the server like Ctrl-C does, so `kill PID` never leaves an orphaned moto process.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with MotoServer(args.host, args.port) as server:
        assert server.endpoint is not None
        if args.write_env:
            _write_env_file(args.write_env, server.endpoint)
        if command:
            return subprocess.call(command, env={**os.environ, ENDPOINT_ENV: server.endpoint})
        print(f"{ENDPOINT_ENV}={server.endpoint}", flush=True)
        try:
            while server.is_running():
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        return 1  # the server died on its own


if __name__ == "__main__":
    sys.exit(main())
