"""The web UI in a real headless chromium against the live service: sign in, browse, compose and download, run
and cancel jobs, sign out. Every page is saved as a screenshot and checked for unlabelled controls."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import pytest
from selenium.webdriver.common.keys import Keys

from tests.fixtures.services import LiveServer, NamespaceAccess, make_namespace
from tests.fixtures.workers import WorkerProcess
from tests.registry.artifact_helpers import wait_until
from tests.ui.browser import Browser
from tests.ui.seed import Seeded, seed

TINY_RESNET = '{"blocks_per_stage": [1, 1, 1], "block_widths": [16, 32, 64]}'


@pytest.fixture(scope="module")
def access(jobs_server: LiveServer) -> NamespaceAccess:
    return make_namespace(jobs_server, "ui")


@pytest.fixture(scope="module")
def seeded(jobs_server: LiveServer, access: NamespaceAccess) -> Seeded:
    with jobs_server.client(access.write_token) as client:
        return seed(client, access.name)


@pytest.fixture
def writer(browser: Browser, access: NamespaceAccess) -> Iterator[Browser]:
    browser.sign_in(access.write_token)
    yield browser
    browser.driver.delete_all_cookies()


def _tab_to(browser: Browser, predicate_js: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches (keyboard navigation, as a person without a mouse would)."""
    for _ in range(limit):
        if browser.driver.execute_script(f"var el = document.activeElement; return {predicate_js};"):
            return
        browser.driver.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached an element where {predicate_js}")


def test_sign_in_search_open_model_and_read_tensor_table_by_keyboard(
    browser: Browser, jobs_server: LiveServer, access: NamespaceAccess, seeded: Seeded
) -> None:
    browser.open("/models/" + seeded.model)
    assert "/login" in browser.driver.current_url  # no session: sent to sign in, then back
    browser.page("login")
    browser.css("#token").send_keys(access.write_token + Keys.ENTER)  # the token field has focus
    browser.wait(lambda: browser.driver.current_url.endswith("/models/" + seeded.model), what="the model page")
    browser.open("/")
    browser.page("home")
    listed = {row.text.split()[0] for row in browser.all("#models tbody tr")}
    assert listed >= {seeded.model, f"{access.name}/unrelated"}

    browser.css("#q").send_keys("fog-demo" + Keys.ENTER)
    browser.wait(lambda: "q=fog-demo" in browser.driver.current_url, what="the search")
    assert [row.text.split()[0] for row in browser.all("#models tbody tr")] == [seeded.model]
    browser.page("home-search")
    _tab_to(browser, f"el.tagName === 'A' && el.textContent.trim() === '{seeded.model}'")
    browser.driver.switch_to.active_element.send_keys(Keys.ENTER)
    browser.wait(lambda: browser.all("#versions"), what="the versions table")
    browser.page("model")
    versions = [row.text for row in browser.all("#versions tbody tr")]
    assert versions[0].startswith("v1 base") and versions[1].startswith("v2 checkpoint")
    assert "v1" in versions[1]  # the checkpoint's parent

    _tab_to(browser, "el.tagName === 'A' && el.textContent.trim() === 'v1'")
    browser.driver.switch_to.active_element.send_keys(Keys.ENTER)
    browser.wait(lambda: browser.all("#tensors"), what="the tensor table")
    browser.page("artifact-base")
    with jobs_server.client(access.read_token) as client:
        index = client.get(f"/v1/artifacts/{seeded.base_id}/tensors").json()
    shown = [row.find_elements("css selector", "td") for row in browser.all("#tensors tr.tensor")]
    assert [(cells[0].text.strip(), cells[2].text, int(cells[3].text)) for cells in shown] == [
        (t["name"], "[" + ", ".join(map(str, t["shape"])) + "]", t["numel"]) for t in index["tensors"]
    ]
    layers = {row.find_element("css selector", "th").text: row.text.split()[-1] for row in browser.all("tr.layer-row")}
    assert layers == {"conv1": str(8 * 27 + 8), "fc": str(320 + 10)}
    assert browser.text("#sha256") == hashlib.sha256(seeded.base_bytes).hexdigest()
    lineage = browser.css("svg.lineage").get_attribute("aria-label")
    assert lineage == f"lineage of {seeded.model}@v1: 0 inputs, 2 outputs"  # the checkpoint and the signature


def test_reports_and_alias_move_for_writers_only(
    writer: Browser, jobs_server: LiveServer, access: NamespaceAccess, seeded: Seeded
) -> None:
    writer.open(f"/artifacts/{seeded.checkpoint_id}")
    headings = [h.text for h in writer.all("section.report h2")]
    assert headings == [
        "Training loss",
        "Training accuracy",
        "Evaluations",
        "Robustness (top-1 per corruption and severity)",
    ]
    cells = writer.all("section.report svg rect title")
    assert any(c.get_attribute("textContent") == "gaussian_noise, severity 3: 0.200" for c in cells)
    writer.page("artifact-checkpoint")
    writer.open(f"/artifacts/{seeded.signature_id}")
    assert "Per-layer deltas (RWS)" in [h.text for h in writer.all("section.report h2")]
    writer.page("artifact-signature")

    writer.open(f"/models/{seeded.model}")
    writer.css("#alias-name").send_keys("bad name!")
    writer.css("#move-alias-button").click()
    writer.wait(lambda: writer.all("#alias-error"), what="the alias error")
    with jobs_server.client(access.write_token) as client:
        api = client.put(f"/v1/models/{seeded.model}/aliases/bad name!", json={"version": 1}).json()
    assert writer.text("#alias-error") == api["detail"]
    writer.css("#alias-name").clear()
    writer.css("#alias-name").send_keys("prod")
    writer.css("#move-alias-button").click()
    writer.wait(lambda: "prod v2" in writer.text("#alias-table"), what="prod in the alias table")
    with jobs_server.client(access.read_token) as client:
        assert client.get(f"/v1/models/{seeded.model}").json()["aliases"]["prod"] == 2

    writer.sign_out()
    writer.sign_in(access.read_token)
    writer.open(f"/models/{seeded.model}")
    assert writer.all("#versions") and not writer.all("#move-alias")
    writer.page("model-read-only")
    writer.open("/jobs")
    assert not writer.all("#new-job")


def test_compose_shows_api_errors_inline_then_downloads_the_api_bytes(
    writer: Browser, jobs_server: LiveServer, access: NamespaceAccess, seeded: Seeded
) -> None:
    writer.open(f"/artifacts/{seeded.base_id}")
    writer.css(f"a[href='/compose?base={seeded.base_id}']").click()
    writer.wait(lambda: writer.all("#compose-form"), what="the builder")
    assert writer.css("#base").get_attribute("value") == seeded.base_id
    writer.css("#patch-0").send_keys(f"{access.name}/unrelated@v1")  # a base, not a signature
    writer.css("#create-composition").click()
    writer.wait(lambda: writer.all("#compose-error"), what="the compatibility error")
    writer.page("compose-error")
    body = {"base": seeded.base_id, "patches": [{"artifact": f"{access.name}/unrelated@v1", "scale": 1.0}]}
    with jobs_server.client(access.write_token) as client:
        api_error = client.post("/v1/compositions", json=body).json()
    assert writer.text("#compose-error") == api_error["detail"]

    writer.css("#patch-0").clear()
    writer.css("#patch-0").send_keys(f"{access.name}/fog-signature@latest")
    writer.css("#scale-0").clear()
    writer.css("#scale-0").send_keys("0.5")
    writer.css("#create-composition").click()
    writer.wait(lambda: writer.all("#composition-id"), what="the composition page")
    writer.page("composition")
    composition_id = writer.text("#composition-id")
    assert writer.text("#cli-snippet") == (
        f"patchhub compose {seeded.base_id} '+{seeded.signature_id}*0.5' -o composed.safetensors"
    )
    writer.css("#download").click()
    downloaded = writer.downloaded().read_bytes()
    with jobs_server.client(access.read_token) as client:
        api_bytes = client.get(f"/v1/compositions/{composition_id}/file").content
        digest = hashlib.sha256(downloaded).hexdigest()
        wait_until(  # recorded from the cache once the first download was sent
            lambda: client.get(f"/v1/compositions/{composition_id}").json()["sha256"] == digest, "its sha256"
        )
    assert digest == hashlib.sha256(api_bytes).hexdigest()
    assert downloaded != seeded.base_bytes


def test_train_job_from_the_form_succeeds_live_and_another_is_cancelled(
    writer: Browser,
    jobs_server: LiveServer,
    access: NamespaceAccess,
    start_worker: Callable[[], WorkerProcess],
) -> None:
    worker = start_worker()
    writer.open("/jobs/new?kind=train")
    writer.page("job-form")

    def fill(epochs: str) -> None:
        for field, value in {
            "output_model": f"{access.name}/digits-ui",
            "arch": "resnet20",
            "arch_config": TINY_RESNET,  # resnet8: one block per stage, so the test trains in seconds
            "channels": "1",
            "image_size": "8",
            "epochs": epochs,
            "lr": "0.1",
        }.items():
            writer.css(f"#param\\.{field}").clear()
            writer.css(f"#param\\.{field}").send_keys(value)
        writer.css("#param\\.device option[value='cpu']").click()
        writer.css("#submit-job").click()

    fill("0")
    writer.wait(lambda: writer.all("#job-error"), what="the validation error")
    writer.page("job-form-error")
    params = {"output_model": f"{access.name}/digits-ui", "arch": "resnet20", "epochs": 0}
    with jobs_server.client(access.write_token) as client:
        api = client.post("/v1/jobs", json={"kind": "train", "namespace": access.name, "params": params}).json()
    assert writer.text("#job-error") == api["detail"]
    assert writer.text("#param\\.epochs-error") == api["detail"].split(": ", 1)[1]

    fill("1")
    writer.wait(lambda: writer.all("#job-live"), what="the job page")
    job_url = writer.driver.current_url
    writer.page("job-running")
    try:
        # A deadline, not a wait: an idle machine finishes in seconds; a busy shared one can take minutes.
        writer.wait(lambda: writer.text("#job-status") == "succeeded", timeout=300, what="the job to succeed")
    except AssertionError as error:
        raise AssertionError(f"{error}\nworker log:\n{worker.log_tail()}") from None
    assert writer.css("#job-progress").get_attribute("value") == "1"
    assert "training resnet20" in writer.text("#job-log")
    writer.page("job-succeeded")
    writer.css("#job-outputs a").click()
    writer.wait(lambda: writer.all("section.report"), what="the checkpoint page")
    assert "Training loss" in [h.text for h in writer.all("section.report h2")]
    assert " by w, job train" in writer.text("#artifact-meta")  # made by the job the token "w" submitted
    writer.page("artifact-trained-checkpoint")

    writer.open("/jobs/new?kind=train")
    fill("500")
    writer.wait(lambda: writer.all("#cancel-job") and writer.driver.current_url != job_url, what="the second job")
    try:
        writer.wait(lambda: writer.text("#job-status") == "running", timeout=120, what="the second job to start")
    except AssertionError as error:  # say what the API and the worker saw, not only what the page shows
        job_id = writer.driver.current_url.rstrip("/").rsplit("/", 1)[-1]
        with jobs_server.client(access.write_token) as client:
            seen = client.get(f"/v1/jobs/{job_id}").text
        raise AssertionError(f"{error}\nAPI: {seen}\nworker log:\n{worker.log_tail()}") from None
    writer.css("#cancel-job").click()
    writer.wait(lambda: writer.text("#job-status") == "cancelled", timeout=90, what="the cancellation")
    assert not writer.all("#cancel-job")
    writer.page("job-cancelled")
    writer.open("/jobs?status=cancelled")
    assert len(writer.all("#jobs tbody tr")) == 1 and "train" in writer.text("#jobs tbody")
    writer.page("jobs")
    assert worker.process.poll() is None, worker.log_tail()


def test_api_docs_render_offline_and_sign_out_refuses(
    writer: Browser, jobs_server: LiveServer, access: NamespaceAccess
) -> None:
    for path, rendered in (("/docs", ".swagger-ui .btn.authorize"), ("/redoc", ".api-content")):
        writer.open(path)
        writer.wait(lambda rendered=rendered: writer.all(rendered), what=f"{path} to render")  # type: ignore[misc]
        writer.page(path.strip("/"))
        loaded = writer.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(jobs_server.url) for url in loaded), loaded

    # "Authorize" takes the token and "Try it out" sends it: whoami answers for this token.
    writer.open("/docs")
    writer.wait(lambda: writer.all(".swagger-ui .btn.authorize"), what="Swagger UI's Authorize button")
    writer.css(".swagger-ui .btn.authorize").click()
    writer.wait(lambda: writer.all(".auth-container input"), what="the Authorize dialog")
    writer.css(".auth-container input").send_keys(access.read_token)
    writer.css(".auth-btn-wrapper .btn.modal-btn.auth.authorize").click()
    writer.css(".btn-done").click()
    writer.css("[id$='whoami_v1_whoami_get'] .opblock-summary").click()
    writer.wait(lambda: writer.all(".try-out__btn"), what="Try it out")
    writer.css(".try-out__btn").click()
    writer.css(".execute").click()
    writer.wait(lambda: writer.all(".live-responses-table tr.response .response-col_status"), what="the response")
    assert writer.text(".live-responses-table tr.response .response-col_status").startswith("200")
    assert f'"namespace": "{access.name}"' in writer.text(".live-responses-table .microlight")

    writer.open("/")
    writer.sign_out()
    writer.page("signed-out")
    writer.open("/jobs")
    assert "/login" in writer.driver.current_url
