"""Workers reach the service only through the job contract (registry/contract), and the contract needs neither
torch nor the HTTP layer."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import registry.contract

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "registry.contract"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (function bodies too)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "registry":
            modules.update(f"registry.{alias.name}" for alias in node.names)  # from registry import contract
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_workers_import_nothing_of_the_registry_but_the_contract() -> None:
    outside = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "workers").rglob("*.py"))
        for module in imported_modules(path)
        if (module == "registry" or module.startswith("registry."))
        and not (module == CONTRACT or module.startswith(CONTRACT + "."))
    }
    assert not outside, "workers/ must reach registry/ only through registry.contract:\n" + "\n".join(sorted(outside))


# What the contract must not load: the ML code, and the HTTP layer (the API's web framework, resources, routers).
FORBIDDEN = ("torch", "workers", "fastapi", "registry.resources", "registry.ui", "registry.jobs.router", "registry.app")


def test_the_contract_imports_neither_torch_nor_the_http_layer() -> None:
    modules = [m.name for m in pkgutil.walk_packages(registry.contract.__path__, CONTRACT + ".")]
    assert {"registry.contract.kinds", "registry.contract.context", "registry.contract.running"} <= set(modules)
    code = "\n".join(
        [
            *(f"import {module}" for module in modules),
            "import sys",
            f"forbidden = {FORBIDDEN!r}",
            "print(sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in forbidden)))",
        ]
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]", loaded.stdout
