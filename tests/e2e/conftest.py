from __future__ import annotations

import pytest

from tests.e2e.installs import Installs, install_product


@pytest.fixture(scope="session")
def installs(tmp_path_factory: pytest.TempPathFactory) -> Installs:
    """Wheels and virtualenvs, built once per test session (CI starts from nothing)."""
    return install_product(tmp_path_factory.mktemp("installed"))
