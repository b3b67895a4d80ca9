"""The Dockerfile's install commands agree with the distributions' metadata (no engine runs here to build it):
the extras it names exist, the API image's install brings no torch, the worker images bring the ML stack, and
every package the distribution ships is copied in."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"
ML_STACK = {"torch", "scikit-learn", "triton"}


@dataclass
class Stage:
    name: str
    base: str
    runs: list[str] = field(default_factory=list)
    copies_from: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    user: str | None = None
    volumes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PipInstall:
    options: dict[str, str]
    requirements: list[str]


def parse_dockerfile(text: str) -> tuple[dict[str, str], dict[str, Stage]]:
    """ARG defaults and the stages by name, with continuation lines joined."""
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args.setdefault(key, value)
        elif instruction == "FROM":
            base, _, name = rest.partition(" AS ")
            current = stages[name.strip()] = Stage(name=name.strip(), base=base.strip())
        elif current is None:
            continue
        elif instruction == "RUN":
            current.runs.append(_expand(rest, args))
        elif instruction == "COPY":
            parts = rest.split()
            if parts[0].startswith("--from="):
                current.copies_from.append(parts[0].removeprefix("--from="))
            else:
                current.copied.extend(parts[:-1])
        elif instruction == "USER":
            current.user = rest.strip()
        elif instruction == "VOLUME":
            current.volumes.extend(re.findall(r'"([^"]+)"', rest) or rest.split())
    return args, stages


def _expand(command: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), command)


def pip_installs(stage: Stage) -> list[PipInstall]:
    installs = []
    for run in stage.runs:
        for command in run.split("&&"):
            words = shlex.split(command)
            if len(words) < 2 or not words[0].endswith("pip") or words[1] != "install":
                continue
            options: dict[str, str] = {}
            requirements: list[str] = []
            rest = iter(words[2:])
            for word in rest:
                if word.startswith("--"):
                    options[word] = next(rest)
                else:
                    requirements.append(word)
            installs.append(PipInstall(options, requirements))
    return installs


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


def installs_of(stages: dict[str, Stage], final: str) -> list[PipInstall]:
    """Every pip install whose result a final stage carries (through FROM and COPY --from)."""
    found = []
    for stage in lineage(stages, final):
        for source in stage.copies_from:
            for built in lineage(stages, source):
                found.extend(pip_installs(built))
        found.extend(pip_installs(stage))
    return found


def local_project(spec: str) -> tuple[dict[str, object], set[str]] | None:
    """For ``./client`` or ``".[worker]"``: the pyproject's [project] table and the extras asked for."""
    path, _, extras = spec.partition("[")
    if not path.startswith("."):
        return None
    pyproject = tomllib.loads((REPO_ROOT / path / "pyproject.toml").read_text())
    return pyproject["project"], {e.strip() for e in extras.rstrip("]").split(",") if e.strip()}


def closure(requirements: list[str]) -> set[str]:
    """Distribution names these requirements install, following installed metadata for what they pull in."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dependencies = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in dependencies:
            dependency = Requirement(text)
            environments = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if dependency.marker is None or any(dependency.marker.evaluate(env) for env in environments):
                todo.append(dependency)
    return {key.split("[")[0] for key in seen}


def resolved_requirements(install: PipInstall) -> list[str]:
    """A pip install's requirements, local projects replaced by their dependencies (and asked-for extras)."""
    result = []
    for spec in install.requirements:
        project = local_project(spec)
        if project is None:
            result.append(spec)
            continue
        table, extras = project
        optional: dict[str, list[str]] = table.get("optional-dependencies", {})  # type: ignore[assignment]
        unknown = extras - set(optional)
        assert not unknown, f"{spec}: {table['name']} has no extra {sorted(unknown)} (it has {sorted(optional)})"
        result.extend(table["dependencies"])  # type: ignore[arg-type]
        for extra in extras:
            result.extend(optional[extra])
    return [r for r in result if canonicalize_name(Requirement(r).name) not in {"patchhub", "patchhub-server"}]


def test_the_three_images_exist_run_unprivileged_and_keep_data_on_a_volume() -> None:
    _args, stages = parse_dockerfile(DOCKERFILE.read_text())
    assert list(stages)[-1] == "api", "a plain `docker build .` must make the API image"
    for final in ("api", "worker-cpu", "worker-gpu"):
        chain = lineage(stages, final)
        assert stages[final].user == "patchhub", f"{final} runs as root"
        assert any("/var/lib/patchhub" in s.volumes for s in chain), f"{final} keeps no data volume"
        assert any("useradd" in run for s in chain for run in s.runs)


def test_every_install_names_real_extras_and_the_api_image_installs_no_ml_stack() -> None:
    _args, stages = parse_dockerfile(DOCKERFILE.read_text())
    installed = {final: installs_of(stages, final) for final in ("api", "worker-cpu", "worker-gpu")}
    for final, installs in installed.items():
        names = [spec for install in installs for spec in install.requirements]
        assert "./client" in names, f"{final} does not install the client distribution"
        assert any(local_project(n) and local_project(n)[0]["name"] == "patchhub-server" for n in names), final  # type: ignore[index]

    api = closure([r for install in installed["api"] for r in resolved_requirements(install)])
    assert "fastapi" in api and "celery" in api and "packaging" in api  # the closure is followed, not empty
    assert not api & ML_STACK, f"the API image installs {sorted(api & ML_STACK)}"
    assert not any(name.startswith("nvidia-") for name in api)

    for final in ("worker-cpu", "worker-gpu"):
        worker = closure([r for install in installed[final] for r in resolved_requirements(install)])
        assert {"torch", "scikit-learn", "packaging", "redis"} <= worker, f"{final} lacks part of the worker stack"
    cpu_torch = [i for i in installed["worker-cpu"] if installs_torch(i)]
    assert cpu_torch and cpu_torch[0].options.get("--index-url", "").endswith("/cpu"), "CPU worker: CPU-only wheels"
    gpu_torch = [i for i in installed["worker-gpu"] if installs_torch(i)]
    assert gpu_torch and "--index-url" not in gpu_torch[0].options, "GPU worker: PyPI's CUDA wheels"
    assert not any(installs_torch(i) for i in installed["api"])


def installs_torch(install: PipInstall) -> bool:
    return any(not r.startswith(".") and Requirement(r).name == "torch" for r in install.requirements)


def test_the_image_copies_every_package_the_distribution_ships() -> None:
    _args, stages = parse_dockerfile(DOCKERFILE.read_text())
    copied = {Path(p).name for s in stages.values() for p in s.copied}
    includes = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for pattern in includes["include"]:
        assert pattern.rstrip("*") in copied, f"the Dockerfile does not COPY {pattern.rstrip('*')}/"
    assert {"client", "pyproject.toml", "README.md"} <= copied
