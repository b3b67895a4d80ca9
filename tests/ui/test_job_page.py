"""The job page over HTTP: the log tail is the newest lines, cancel is a CSRF-checked form, and the page's
event stream (the API's, authorised by the session cookie) resumes after the lines the page already shows."""

from __future__ import annotations

from registry.db.session import transaction
from registry.models import JobLog
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.ui.web_session import csrf_field, signed_in

LINES = 1200  # more than one /logs read returns, so the tail is not simply the end of the first read


def test_log_tail_cancel_and_events_for_the_session(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    params = {"output_model": f"{namespace.name}/trained", "arch": "resnet20", "epochs": 1}
    with live_server.client(namespace.write_token) as client:
        job = client.post("/v1/jobs", json={"kind": "train", "namespace": namespace.name, "params": params}).json()
    with transaction(live_server.runtime.session_factory) as session:
        lines = [JobLog(job_id=job["id"], attempt=1, line=f"line {i:04d}") for i in range(LINES)]
        session.add_all(lines)
        session.flush()
        second_to_last = lines[-2].id
    with signed_in(live_server, namespace.write_token) as browser:
        page = browser.get(f"/jobs/{job['id']}")
        assert page.status_code == 200
        assert "line 1199" in page.text and "line 1000" in page.text and "line 0999" not in page.text
        assert browser.post(f"/jobs/{job['id']}/cancel").status_code == 403  # no CSRF token
        cancelled = browser.post(f"/jobs/{job['id']}/cancel", data={"csrf_token": csrf_field(page)})
        assert cancelled.status_code == 303
        with live_server.client(namespace.read_token) as client:
            assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "cancelled"
        stream = browser.get(f"/jobs/{job['id']}/events", params={"after": second_to_last})
        # A Last-Event-ID that is no line id (not ASCII digits, past 64 bits) is ignored: ``after`` still applies.
        for unreadable in (b"\xb2", b"9" * 25):  # a superscript two (latin-1), a number past 64 bits
            resumed = browser.get(
                f"/jobs/{job['id']}/events", params={"after": second_to_last}, headers={"Last-Event-ID": unreadable}
            )
            assert resumed.status_code == 200 and _log_events(resumed.text) == _log_events(stream.text)
        assert browser.get(f"/jobs/{job['id']}/events", params={"after": 2**70}).status_code == 422
    with live_server.client(namespace.read_token) as client:
        past_64_bits = client.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": str(2**70)})
        assert past_64_bits.status_code == 422
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    events = [block for block in stream.text.split("\n\n") if block.strip()]
    assert [e for e in events if "event: log" in e] == [next(e for e in events if "line 1199" in e)]
    assert "event: end" in events[-1] and '"cancelled"' in events[-1]


def _log_events(stream: str) -> list[str]:
    return [block for block in stream.split("\n\n") if "event: log" in block]
