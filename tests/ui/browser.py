"""Headless Debian chromium driven by Selenium, with the checks every page gets: a screenshot kept in the test
run's artifact folder, and a label for every control."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("PATCHHUB_TEST_ARTIFACTS", REPO_ROOT / ".test-artifacts")) / "ui"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WINDOW_WIDTH, WINDOW_HEIGHT, MAX_SCREENSHOT_HEIGHT = 1280, 1000, 4000
T = TypeVar("T")

# Controls without a label, as the accessibility tree would see them: no <label for>, no wrapping <label>,
# no aria-label/aria-labelledby. Hidden inputs and buttons with text are not controls needing one.
UNLABELLED_CONTROLS_JS = """
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length))
  .filter(el => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120));
"""


def find_binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"none of {names} is installed; the test command installs chromium and chromium-driver")


class Browser:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.profile = Path(tempfile.mkdtemp(prefix="patchhub-chromium-"))
        self.downloads = self.profile / "downloads"
        self.downloads.mkdir()
        options = webdriver.ChromeOptions()
        options.binary_location = find_binary("chromium", "chromium-browser")
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}")
        options.add_argument(f"--user-data-dir={self.profile / 'profile'}")
        options.add_experimental_option("prefs", {"download.default_directory": str(self.downloads)})
        service = Service(executable_path=find_binary("chromedriver"))
        self.driver = webdriver.Chrome(service=service, options=options)
        downloads = {"behavior": "allow", "downloadPath": str(self.downloads)}
        self.driver.execute_cdp_cmd("Page.setDownloadBehavior", downloads)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def page(self, name: str) -> None:
        """Every page visited: saved as a screenshot, and checked for unlabelled controls."""
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(WINDOW_WIDTH, min(max(height, WINDOW_HEIGHT), MAX_SCREENSHOT_HEIGHT))
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))  # the whole page, not just the viewport
        self.driver.set_window_size(WINDOW_WIDTH, WINDOW_HEIGHT)
        unlabelled = self.driver.execute_script(UNLABELLED_CONTROLS_JS)
        assert unlabelled == [], f"controls without a label on {self.driver.current_url}: {unlabelled}"

    def css(self, selector: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector: str) -> str:
        return str(self.css(selector).text)

    def wait(self, condition: Callable[[], T | None], timeout: float = 20, what: str = "condition") -> T:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as error:  # the page may be reloading between polls
                last_error = error
            time.sleep(0.1)
        url = self.driver.current_url
        raise AssertionError(f"timed out after {timeout}s waiting for {what} on {url}: {last_error}")

    def sign_in(self, token: str) -> None:
        self.open("/login")
        self.css("#token").send_keys(token)
        self.css("#sign-in").click()
        self.wait(lambda: "/login" not in self.driver.current_url, what="the sign-in redirect")

    def sign_out(self) -> None:
        self.css("#sign-out").click()
        self.wait(lambda: "/login" in self.driver.current_url, what="the sign-out redirect")

    def downloaded(self, timeout: float = 30) -> Path:
        def finished() -> Path | None:
            files = [p for p in self.downloads.iterdir() if not p.name.endswith(".crdownload")]
            partial = [p for p in self.downloads.iterdir() if p.name.endswith(".crdownload")]
            return files[0] if files and not partial else None

        return self.wait(finished, timeout, "the download")
