"""An artifact's evaluation history is rows, shown by the API (and so the pages and the SDK) as the list under
``evaluations`` in its metadata, oldest first; it is not stored in the metadata, so it never counts against the
metadata's size cap."""

from __future__ import annotations

from registry.db.session import transaction
from registry.domain.artifacts import MAX_METADATA_BYTES
from registry.domain.evaluations import record_evaluation
from tests.fixtures.safetensors_files import tiny_model_bytes
from tests.fixtures.services import LiveServer, NamespaceAccess
from tests.registry.artifact_helpers import create_model, upload

FIRST = {"job": "a" * 32, "dataset": "builtin:digits", "split": "test", "top1": 0.9}
SECOND = {"job": "b" * 32, "dataset": "builtin:digits", "split": "test", "top1": 0.95}


def test_recorded_evaluations_show_in_the_metadata(live_server: LiveServer, namespace: NamespaceAccess) -> None:
    with live_server.client(namespace.write_token) as client:
        create_model(client, namespace.name)
        # Metadata one key short of the cap: evaluations still record and show.
        filler = "x" * (MAX_METADATA_BYTES - 1024)
        artifact = upload(client, namespace.name, tiny_model_bytes()).json()
        patch = {"metadata": {"bits": 8, "filler": filler}}
        patched = client.patch(f"/v1/artifacts/{artifact['id']}/metadata", json=patch)
        assert patched.status_code == 200, patched.text
        with transaction(live_server.runtime.session_factory) as session:
            for record in (FIRST, SECOND):
                record_evaluation(session, artifact["id"], record)
        shown = client.get(f"/v1/artifacts/{artifact['id']}").json()["metadata"]
        assert shown == {"bits": 8, "filler": filler, "evaluations": [FIRST, SECOND]}
        listed = client.get(f"/v1/models/{namespace.name}/net/artifacts").json()["items"]
        assert [a["metadata"]["evaluations"] for a in listed] == [[FIRST, SECOND]]
        # Changing other keys leaves the history as it is.
        changed = client.patch(f"/v1/artifacts/{artifact['id']}/metadata", json={"metadata": {"bits": 4}})
        assert changed.json()["metadata"]["evaluations"] == [FIRST, SECOND]
