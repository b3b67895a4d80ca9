"""``patchhub models / push / pull / ls / tensors / report / alias / compose``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from patchhub.cli._common import DefaultGroup, JsonObject, Patch, emit, global_options, options, size_text
from patchhub.report import render, table
from patchhub.types import Artifact, Model

KINDS = ["base", "rws", "pruned", "checkpoint", "dataset"]


def artifact_line(a: Artifact) -> str:
    aliases = f" [{', '.join(a.aliases)}]" if a.aliases else ""
    return f"{a.ref} {a.kind} {size_text(a.size)} sha256:{a.sha256[:12]} id:{a.id}{aliases}"


def _model_text(m: Model) -> str:
    aliases = ", ".join(f"{k}=v{v}" for k, v in sorted(m.aliases.items())) or "-"
    latest = f"v{m.latest_version}" if m.latest_version else "-"
    lines = [f"{m.id}  arch={m.arch}  latest={latest}  aliases: {aliases}", f"  tags: {', '.join(m.tags) or '-'}"]
    if m.description:
        lines.append(f"  {m.description}")
    if m.arch_config:
        lines.append(f"  arch_config: {json.dumps(m.arch_config, sort_keys=True)}")
    return "\n".join(lines)


@click.group(cls=DefaultGroup, default="list")
@global_options
def models() -> None:
    """List, create, show or delete models."""


@models.command("list")
@click.option("--namespace")
@click.option("--arch")
@click.option("--query", "-s", help="substring of the name or description")
@click.option("--tag")
@global_options
@click.pass_context
def models_list(
    ctx: click.Context, namespace: str | None, arch: str | None, query: str | None, tag: str | None
) -> None:
    """The models this token can see."""
    with options(ctx).client() as client:
        found = list(client.models.list(namespace=namespace, arch=arch, query=query, tag=tag))
    rows = [[m.id, m.arch, f"v{m.latest_version}" if m.latest_version else "-", ",".join(m.tags)] for m in found]
    emit(ctx, found, table(rows, ["MODEL", "ARCH", "LATEST", "TAGS"]))


@models.command("create")
@click.argument("model")
@click.option("--arch", required=True, help="architecture name from the model zoo")
@click.option("--arch-config", type=JsonObject(), default="{}", help="architecture config (JSON object)")
@click.option("--description", default="")
@click.option("--tag", multiple=True, help="a tag (repeatable)")
@click.option("--exist-ok", is_flag=True, help="an existing model of the same architecture is fine")
@global_options
@click.pass_context
def models_create(
    ctx: click.Context,
    model: str,
    arch: str,
    arch_config: dict[str, object],
    description: str,
    tag: tuple[str, ...],
    exist_ok: bool,
) -> None:
    """Create MODEL (namespace/name)."""
    with options(ctx).client() as client:
        created = client.models.create(
            model, arch=arch, arch_config=arch_config, description=description, tags=list(tag), exist_ok=exist_ok
        )
    emit(ctx, created, f"Model {created.id} ready (arch {created.arch})")


@models.command("show")
@click.argument("model")
@global_options
@click.pass_context
def models_show(ctx: click.Context, model: str) -> None:
    """One model: architecture, latest version, aliases, tags."""
    with options(ctx).client() as client:
        found = client.models.get(model)
    emit(ctx, found, _model_text(found))


@models.command("delete")
@click.argument("model")
@global_options
@click.pass_context
def models_delete(ctx: click.Context, model: str) -> None:
    """Soft-delete a model (admin)."""
    with options(ctx).client() as client:
        client.models.delete(model)
    emit(ctx, {"deleted": model}, f"Deleted {model}")


@click.command()
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.argument("model")
@click.option("--kind", type=click.Choice(KINDS), default="base", show_default=True)
@click.option("--metadata", type=JsonObject(), default="{}", help="user metadata (JSON object)")
@click.option("--parent", multiple=True, help="a parent artifact ref (repeatable)")
@click.option("--force-new-version", is_flag=True, help="a new version even if the bytes equal the latest one")
@global_options
@click.pass_context
def push(
    ctx: click.Context,
    file: Path,
    model: str,
    kind: str,
    metadata: dict[str, object],
    parent: tuple[str, ...],
    force_new_version: bool,
) -> None:
    """Upload a safetensors FILE as MODEL's next version (the same bytes again: nothing new), or a model
    folder DIR (sharded safetensors, config, tokenizer, README.md) as one version, all files or none."""
    with options(ctx).client() as client:
        if file.is_dir():
            artifact = client.artifacts.push_folder(model, file, kind=kind, metadata=metadata, parents=list(parent))
        else:
            artifact = client.artifacts.upload(
                model, file, kind=kind, metadata=metadata, parents=list(parent), force_new_version=force_new_version
            )
    if artifact.unchanged:
        human = (
            f"Unchanged: {artifact.ref} already holds these bytes (sha256:{artifact.sha256[:12]}); nothing uploaded, "
            "latest did not move (--force-new-version makes a new version)"
        )
    else:
        human = f"Pushed {artifact_line(artifact)}"
    emit(ctx, artifact, human)


@click.command()
@click.argument("ref")
@click.option(
    "-o",
    "--output",
    help="a file, or a directory (DIR/ is created) that receives NAME-vVERSION.safetensors (a folder: NAME-vVERSION/)",
)
@global_options
@click.pass_context
def pull(ctx: click.Context, ref: str, output: str | None) -> None:
    """Download an artifact: ns/name, ns/name@v3, ns/name@prod or an id (default: into the cache, path printed)."""
    with options(ctx).client() as client:
        path = client.artifacts.download(ref, output if output is not None else ".")
    emit(ctx, {"path": str(path)}, str(path))


@click.command("ls")
@click.argument("model")
@click.option("--kind", type=click.Choice(KINDS))
@global_options
@click.pass_context
def list_versions(ctx: click.Context, model: str, kind: str | None) -> None:
    """A model's versions, oldest first."""
    with options(ctx).client() as client:
        artifacts = list(client.artifacts.list(model, kind=kind))
    rows = [[f"v{a.version}", a.kind, size_text(a.size), a.sha256[:12], a.id, ",".join(a.aliases)] for a in artifacts]
    emit(ctx, artifacts, table(rows, ["VERSION", "KIND", "SIZE", "SHA256", "ID", "ALIASES"]))


@click.command()
@click.argument("ref")
@global_options
@click.pass_context
def tensors(ctx: click.Context, ref: str) -> None:
    """An artifact's tensors, read from its stored header (nothing is downloaded)."""
    with options(ctx).client() as client:
        index = client.artifacts.tensors(ref)
    rows = [[t.name, t.dtype, "x".join(map(str, t.shape)) or "scalar", str(t.numel)] for t in index.tensors]
    listing = table(rows, ["TENSOR", "DTYPE", "SHAPE", "NUMEL"])
    emit(ctx, index, f"{listing}\n{len(index.tensors)} tensors, {index.parameter_count} parameters")


@click.command()
@click.argument("ref")
@global_options
@click.pass_context
def report(ctx: click.Context, ref: str) -> None:
    """What jobs recorded on an artifact: training metrics, evaluations, robustness, LAPP widths, RWS deltas."""
    with options(ctx).client() as client:
        artifact = client.artifacts.get(ref)
    body = render(artifact.metadata) or "(no training metrics, evaluations, robustness report, widths or deltas)"
    emit(ctx, artifact.metadata, f"{artifact_line(artifact)}\n\n{body}")


@click.group(cls=DefaultGroup, default="ls")
@global_options
def alias() -> None:
    """List (alias ns/name), set or remove aliases."""


@alias.command("ls")
@click.argument("model")
@global_options
@click.pass_context
def alias_ls(ctx: click.Context, model: str) -> None:
    """A model's aliases."""
    with options(ctx).client() as client:
        aliases = client.artifacts.aliases(model)
    rows = [[a.alias, f"v{a.version}", a.artifact_id] for a in aliases]
    emit(ctx, aliases, table(rows, ["ALIAS", "VERSION", "ARTIFACT"]))


@alias.command("set")
@click.argument("model")
@click.argument("name")
@click.argument("target")
@global_options
@click.pass_context
def alias_set(ctx: click.Context, model: str, name: str, target: str) -> None:
    """Point alias NAME of MODEL at TARGET: a version (3 or v3), an artifact id or a ref."""
    with options(ctx).client() as client:
        moved = client.artifacts.set_alias(model, name, target)
    emit(ctx, moved, f"{moved.model}@{moved.alias} -> v{moved.version} ({moved.artifact_id})")


@alias.command("rm")
@click.argument("model")
@click.argument("name")
@global_options
@click.pass_context
def alias_rm(ctx: click.Context, model: str, name: str) -> None:
    """Remove alias NAME of MODEL."""
    with options(ctx).client() as client:
        client.artifacts.delete_alias(model, name)
    emit(ctx, {"deleted": f"{model}@{name}"}, f"Removed {model}@{name}")


@click.command()
@click.argument("base")
@click.argument("patches", nargs=-1, type=Patch())
@click.option("-o", "--output", help="a file, or a directory (DIR/ is created); default: print the cached file's path")
@click.option(
    "--on-server", is_flag=True, help="let the service compute (and cache) it and download the result; same bytes"
)
@global_options
@click.pass_context
def compose(
    ctx: click.Context, base: str, patches: tuple[tuple[str, float], ...], output: str | None, on_server: bool
) -> None:
    """Compose BASE with signatures: BASE +REF*SCALE ... (e.g. +team/rws-fog@v1*0.5), here or --on-server."""
    with options(ctx).client() as client:
        if not on_server:
            path = client.compose(base, list(patches), path=output)
            emit(ctx, {"path": str(path)}, str(path))
            return
        composition = client.compositions.create(base, list(patches))
        path = client.compositions.download(composition, output)
    emit(ctx, {"path": str(path), "composition": composition.id}, str(path))
