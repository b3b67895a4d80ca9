"""``patchhub jobs ...`` through ``main(argv)`` against the real API and broker.

No worker runs here (the SDK tests run jobs to completion): submitted jobs stay queued, which is what
cancelling, idempotent resubmission and a timed-out ``--wait`` need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from patchhub.cli import main
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.workers.jobs.job_helpers import upload_untrained_checkpoint


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def checkpoint(
    jobs_server: LiveServer, jobs_namespace: NamespaceAccess, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("PATCHHUB_URL", jobs_server.url)
    monkeypatch.setenv("PATCHHUB_TOKEN", jobs_namespace.write_token)
    with jobs_server.client(jobs_namespace.write_token) as http:
        yield upload_untrained_checkpoint(http, jobs_namespace.name)
        queued = http.get("/v1/jobs", params={"namespace": jobs_namespace.name, "status": "queued"}).json()
        for job in queued["items"]:  # leave nothing for a later test's worker
            http.post(f"/v1/jobs/{job['id']}/cancel")


def test_submit_show_ls_cancel_wait_and_logs(
    jobs_namespace: NamespaceAccess, checkpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = jobs_namespace.name
    submit = ["jobs", "submit", "evaluate", "--param", f"artifact={checkpoint}", "--param", "image_size=8"]
    code, out, err = run(capsys, "--json", *submit, "--params-json", '{"device": "cpu"}', "--idempotency-key", "k1")
    assert code == 0, err
    job = json.loads(out)
    assert job["namespace"] == ns  # the token's namespace when --namespace is not given
    assert job["params"]["image_size"] == 8 and job["params"]["device"] == "cpu"
    again = [*submit, "--params-json", '{"device": "cpu"}', "--namespace", ns, "--idempotency-key", "k1"]
    code, out, err = run(capsys, *again, "--json")  # global options after the command too
    assert code == 0, err
    assert json.loads(out)["id"] == job["id"]

    code, out, _ = run(capsys, "jobs", "show", job["id"])
    assert out.startswith(f"{job['id']} evaluate queued 0%") and '"image_size": 8' in out
    code, out, err = run(capsys, "jobs", "show", job["id"][:8])  # the short id the progress bar prints
    assert code == 0 and out.startswith(f"{job['id']} evaluate queued 0%"), err
    code, out, err = run(capsys, "jobs", "show", "0000ffff")
    assert code == 1 and "no job visible to this token has an id starting with '0000ffff'" in err
    code, out, err = run(capsys, "jobs", "show", "c9a")
    assert code == 1 and "too short" in err
    code, out, _ = run(capsys, "jobs", "ls", "--namespace", ns, "--status", "queued")
    rows = out.splitlines()
    assert rows[0].split()[:4] == ["ID", "KIND", "NAMESPACE", "STATUS"]
    assert [row.split()[:4] for row in rows[1:]] == [[job["id"], "evaluate", ns, "queued"]]

    code, out, err = run(
        capsys, "jobs", "submit", "evaluate", f"--param=artifact={checkpoint}", "--wait", "--timeout", "0.5"
    )
    assert code == 1 and "still queued after 0.5s" in err
    assert out.startswith("Submitted ")  # the id is printed before waiting, to find the job again

    code, out, _ = run(capsys, "jobs", "cancel", job["id"])
    assert code == 0 and f"{job['id']} evaluate cancelled" in out
    code, out, err = run(capsys, "jobs", "wait", job["id"])
    assert code == 1 and "was cancelled" in err
    code, out, err = run(capsys, "jobs", "logs", job["id"], "--follow")  # ends with the job
    assert (code, out) == (0, "")
    code, out, err = run(capsys, "jobs", "cancel", job["id"])
    assert code == 1 and "already cancelled" in err


def test_bad_params_and_usage_errors(
    jobs_namespace: NamespaceAccess, checkpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "jobs", "submit", "evaluate", "--param", f"artifact={checkpoint}", "--param", "image_size=4"
    )
    assert code == 1 and "params.image_size" in err and "invalid" in err
    code, out, err = run(capsys, "jobs", "submit", "nonsense", "--namespace", jobs_namespace.name)
    assert code == 1 and "unknown job kind" in err and "evaluate" in err
    code, out, err = run(capsys, "jobs", "submit", "evaluate", "--param", "no-equals-sign")
    assert code == 2 and "expected key=value" in err
    code, out, _ = run(capsys, "jobs", "kinds")
    assert code == 0 and "evaluate:" in out and "image_size" in out
