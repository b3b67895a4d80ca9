"""``patchhub``: the command line for the registry (login, models, push, pull, ls, tensors, report, alias,
jobs, compose).

Errors print one line on stderr and exit with status 1. The token is never printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from patchhub.client import Client
from patchhub.config import StoredLogin, read_login, resolve_base_url, write_login
from patchhub.errors import PatchhubError
from patchhub.local_compose import parse_patch
from patchhub.report import render, table
from patchhub.types import Artifact, Job, Model

Handler = Callable[[argparse.Namespace], Any]


def _client(args: argparse.Namespace, *, token: str | None = None) -> Client:
    progress = not args.quiet and sys.stderr.isatty()
    return Client(base_url=args.url, token=token or args.token, progress=progress)


def _emit(args: argparse.Namespace, value: Any, human: str) -> None:
    if args.json:
        print(json.dumps(_plain(value), indent=2, default=str))
    else:
        print(human)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _param(text: str) -> tuple[str, Any]:
    """``key=value``: the value as JSON when it parses (8, 0.1, true, [1, 2]), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, not {text!r}")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _patch(text: str) -> tuple[str, float]:
    try:
        return parse_patch(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _artifact_line(a: Artifact) -> str:
    aliases = f" [{', '.join(a.aliases)}]" if a.aliases else ""
    return f"{a.ref} {a.kind} {_size(a.size)} sha256:{a.sha256[:12]} id:{a.id}{aliases}"


# Commands


def cmd_login(args: argparse.Namespace) -> None:
    url = resolve_base_url(args.url)
    token = args.token or getpass.getpass(f"Token for {url}: ").strip()
    if not token:
        raise PatchhubError("no token given")
    with Client(base_url=url, token=token, progress=False) as client:
        me = client.whoami()  # verify before storing anything
    path = write_login(StoredLogin(url=url, token=token))
    scope = me.namespace or "all namespaces"
    print(f"Logged in to {url} as {me.token_name} ({me.role} on {scope}); saved to {path}")


def cmd_logout(args: argparse.Namespace) -> None:
    stored = read_login()
    write_login(StoredLogin(url=stored.url, token=None))
    print("Logged out: the stored token was removed")


def cmd_whoami(args: argparse.Namespace) -> None:
    with _client(args) as client:
        me = client.whoami()
        _emit(args, me, f"{me.token_name}: {me.role} on {me.namespace or 'all namespaces'} at {client.base_url}")


def _model_text(m: Model) -> str:
    aliases = ", ".join(f"{k}=v{v}" for k, v in sorted(m.aliases.items())) or "-"
    latest = f"v{m.latest_version}" if m.latest_version else "-"
    lines = [
        f"{m.id}  arch={m.arch}  latest={latest}  aliases: {aliases}",
        f"  tags: {', '.join(m.tags) or '-'}",
    ]
    if m.description:
        lines.append(f"  {m.description}")
    if m.arch_config:
        lines.append(f"  arch_config: {json.dumps(m.arch_config, sort_keys=True)}")
    return "\n".join(lines)


def cmd_models_list(args: argparse.Namespace) -> None:
    with _client(args) as client:
        models = list(client.models.list(namespace=args.namespace, arch=args.arch, query=args.query))
    rows = [[m.id, m.arch, f"v{m.latest_version}" if m.latest_version else "-", ",".join(m.tags)] for m in models]
    _emit(args, models, table(rows, ["MODEL", "ARCH", "LATEST", "TAGS"]))


def cmd_models_create(args: argparse.Namespace) -> None:
    with _client(args) as client:
        model = client.models.create(
            args.model, arch=args.arch, arch_config=args.arch_config, description=args.description, tags=args.tag
        )
    _emit(args, model, f"Created {model.id}")


def cmd_models_show(args: argparse.Namespace) -> None:
    with _client(args) as client:
        model = client.models.get(args.model)
    _emit(args, model, _model_text(model))


def cmd_models_delete(args: argparse.Namespace) -> None:
    with _client(args) as client:
        client.models.delete(args.model)
    _emit(args, {"deleted": args.model}, f"Deleted {args.model}")


def cmd_push(args: argparse.Namespace) -> None:
    with _client(args) as client:
        artifact = client.artifacts.upload(
            args.model, args.file, kind=args.kind, metadata=args.metadata, parents=args.parent
        )
    _emit(args, artifact, f"Pushed {_artifact_line(artifact)}")


def cmd_pull(args: argparse.Namespace) -> None:
    with _client(args) as client:
        path = client.artifacts.download(args.ref, args.output or ".")
    _emit(args, {"path": str(path)}, str(path))


def cmd_ls(args: argparse.Namespace) -> None:
    with _client(args) as client:
        artifacts = list(client.artifacts.list(args.model, kind=args.kind))
    rows = [[f"v{a.version}", a.kind, _size(a.size), a.sha256[:12], a.id, ",".join(a.aliases)] for a in artifacts]
    _emit(args, artifacts, table(rows, ["VERSION", "KIND", "SIZE", "SHA256", "ID", "ALIASES"]))


def cmd_tensors(args: argparse.Namespace) -> None:
    with _client(args) as client:
        index = client.artifacts.tensors(args.ref)
    rows = [[t.name, t.dtype, "x".join(map(str, t.shape)) or "scalar", str(t.numel)] for t in index.tensors]
    listing = table(rows, ["TENSOR", "DTYPE", "SHAPE", "NUMEL"])
    _emit(args, index, f"{listing}\n{len(index.tensors)} tensors, {index.parameter_count} parameters")


def cmd_report(args: argparse.Namespace) -> None:
    with _client(args) as client:
        artifact = client.artifacts.get(args.ref)
    body = render(artifact.metadata) or "(no evaluations, robustness report, widths or deltas recorded)"
    _emit(args, artifact.metadata, f"{_artifact_line(artifact)}\n\n{body}")


def cmd_alias_set(args: argparse.Namespace) -> None:
    with _client(args) as client:
        alias = client.artifacts.set_alias(args.model, args.alias, args.target)
    _emit(args, alias, f"{alias.model}@{alias.alias} -> v{alias.version} ({alias.artifact_id})")


def cmd_alias_rm(args: argparse.Namespace) -> None:
    with _client(args) as client:
        client.artifacts.delete_alias(args.model, args.alias)
    _emit(args, {"deleted": f"{args.model}@{args.alias}"}, f"Removed {args.model}@{args.alias}")


def cmd_alias_ls(args: argparse.Namespace) -> None:
    with _client(args) as client:
        aliases = client.artifacts.aliases(args.model)
    rows = [[a.alias, f"v{a.version}", a.artifact_id] for a in aliases]
    _emit(args, aliases, table(rows, ["ALIAS", "VERSION", "ARTIFACT"]))


def _job_line(job: Job) -> str:
    detail = f" ({job.error})" if job.error else ""
    return f"{job.id} {job.kind} {job.status} {job.progress:.0%} {job.message}{detail}".rstrip()


def _job_text(job: Job) -> str:
    lines = [
        _job_line(job),
        f"  namespace: {job.namespace}  queue: {job.queue}  attempts: {job.attempts}  by: {job.created_by}",
        f"  created: {job.created_at}  started: {job.started_at or '-'}  finished: {job.finished_at or '-'}",
        f"  params: {json.dumps(job.params, sort_keys=True)}",
    ]
    if job.result:
        lines.append(f"  result: {json.dumps(job.result, sort_keys=True)}")
    if job.outputs:
        lines.append(f"  outputs: {', '.join(job.outputs)}")
    if job.cancel_requested and not job.done:
        lines.append("  cancel requested: stops at its next progress point")
    return "\n".join(lines)


def _job_namespace(client: Client, namespace: str | None) -> str:
    if namespace:
        return namespace
    scope = client.whoami().namespace
    if scope is None:
        raise PatchhubError("this token is not scoped to one namespace: pass --namespace")
    return scope


def cmd_jobs_submit(args: argparse.Namespace) -> None:
    params = {**args.params_json, **dict(args.param)}
    with _client(args) as client:
        namespace = _job_namespace(client, args.namespace)
        job = client.jobs.submit(args.kind, namespace, params, idempotency_key=args.idempotency_key)
        if not args.wait:
            _emit(args, job, f"Submitted {_job_line(job)}")
            return
        if not args.json:
            print(f"Submitted {_job_line(job)}", flush=True)
        job = client.jobs.wait(job.id, timeout=args.timeout)
    _emit(args, job, _job_text(job))


def cmd_jobs_list(args: argparse.Namespace) -> None:
    with _client(args) as client:
        jobs = list(client.jobs.list(namespace=args.namespace, status=args.status, kind=args.kind))
    rows = [
        [j.id, j.kind, j.namespace, j.status, f"{j.progress:.0%}", str(j.created_at)[:19], j.message[:40]] for j in jobs
    ]
    _emit(args, jobs, table(rows, ["ID", "KIND", "NAMESPACE", "STATUS", "PROGRESS", "CREATED", "MESSAGE"]))


def cmd_jobs_show(args: argparse.Namespace) -> None:
    with _client(args) as client:
        job = client.jobs.get(args.job_id)
    _emit(args, job, _job_text(job))


def cmd_jobs_logs(args: argparse.Namespace) -> None:
    with _client(args) as client:
        if not args.follow:
            lines = client.jobs.logs(args.job_id)
            _emit(args, lines, "\n".join(line.line for line in lines))
            return
        for event in client.jobs.follow(args.job_id):  # until the job ends; Ctrl-C stops following only
            if event.line is not None:
                print(json.dumps(_plain(event.line), default=str) if args.json else event.line.line, flush=True)


def cmd_jobs_cancel(args: argparse.Namespace) -> None:
    with _client(args) as client:
        job = client.jobs.cancel(args.job_id)
    note = "" if job.done else " (cancel requested: it stops at its next progress point)"
    _emit(args, job, f"{_job_line(job)}{note}")


def cmd_jobs_wait(args: argparse.Namespace) -> None:
    with _client(args) as client:
        job = client.jobs.wait(args.job_id, timeout=args.timeout)
    _emit(args, job, _job_text(job))


def cmd_jobs_kinds(args: argparse.Namespace) -> None:
    with _client(args) as client:
        kinds = client.jobs.kinds()
    lines = []
    for kind in kinds:
        fields = ", ".join(sorted(kind.params_schema.get("properties", {})))
        lines.append(f"{kind.name}: {kind.description}\n  params: {fields}")
    _emit(args, kinds, "\n".join(lines) or "(none)")


def cmd_compose(args: argparse.Namespace) -> None:
    with _client(args) as client:
        path = client.compose(args.base, args.patches, path=args.output)
    _emit(args, {"path": str(path)}, str(path))


def _add_jobs_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    jobs = command("jobs", cmd_jobs_list, "submit, follow, list and cancel jobs")
    job_commands = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    listing = command("ls", cmd_jobs_list, "list jobs, oldest first", job_commands)
    for sub in (jobs, listing):
        sub.add_argument("--namespace")
        sub.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
        sub.add_argument("--kind")
    submit = command("submit", cmd_jobs_submit, "queue a job (kinds: patchhub jobs kinds)", job_commands)
    submit.add_argument("kind")
    submit.add_argument("--namespace", help="namespace the job runs for (default: the token's)")
    submit.add_argument(
        "--param", action="append", type=_param, default=[], help="key=value (value as JSON if it parses)"
    )
    submit.add_argument("--params-json", type=_json_object, default={}, help="params as a JSON object")
    submit.add_argument("--idempotency-key", help="the same key returns the same job")
    submit.add_argument("--wait", action="store_true", help="follow the job until it finishes")
    submit.add_argument("--timeout", type=float, help="with --wait: give up waiting after this many seconds")
    command("show", cmd_jobs_show, "show one job", job_commands).add_argument("job_id")
    logs = command("logs", cmd_jobs_logs, "print a job's log", job_commands)
    logs.add_argument("job_id")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until the job ends")
    command("cancel", cmd_jobs_cancel, "cancel a job", job_commands).add_argument("job_id")
    wait = command("wait", cmd_jobs_wait, "wait for a job to finish (exit 1 if it fails)", job_commands)
    wait.add_argument("job_id")
    wait.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    command("kinds", cmd_jobs_kinds, "list the job kinds and their params", job_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patchhub", description="patchhub model-weight registry client")
    parser.add_argument("--url", help="service URL (default: PATCHHUB_URL, then the stored login)")
    parser.add_argument("--token", help="API token (default: PATCHHUB_TOKEN, then the stored login)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str, group: Any = commands) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command("login", cmd_login, "store the URL and token (checked with the service first)")
    command("logout", cmd_logout, "forget the stored token")
    command("whoami", cmd_whoami, "show the token in use")

    models = command("models", cmd_models_list, "list, create, show or delete models")
    model_commands = models.add_subparsers(dest="models_command", metavar="ACTION")
    listing = command("list", cmd_models_list, "list the models this token can see", model_commands)
    for sub in (models, listing):
        sub.add_argument("--namespace")
        sub.add_argument("--arch")
        sub.add_argument("--query", "-s", help="substring of the name or description")
    create = command("create", cmd_models_create, "create a model", model_commands)
    create.add_argument("model", help="namespace/name")
    create.add_argument("--arch", required=True, help="architecture name from the model zoo")
    create.add_argument("--arch-config", type=_json_object, default={}, help="architecture config (JSON)")
    create.add_argument("--description", default="")
    create.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    command("show", cmd_models_show, "show one model", model_commands).add_argument("model")
    command("delete", cmd_models_delete, "soft-delete a model (admin)", model_commands).add_argument("model")

    push = command("push", cmd_push, "upload a safetensors file as a model's next version")
    push.add_argument("file")
    push.add_argument("model", help="namespace/name")
    push.add_argument("--kind", default="base", choices=["base", "rws", "pruned", "checkpoint", "dataset"])
    push.add_argument("--metadata", type=_json_object, default={}, help="user metadata (JSON object)")
    push.add_argument("--parent", action="append", default=[], help="a parent artifact ref (repeatable)")

    pull = command("pull", cmd_pull, "download an artifact (ns/name, ns/name@v3, ns/name@prod or an id)")
    pull.add_argument("ref")
    pull.add_argument("-o", "--output", help="file or directory (default: the current directory)")

    ls = command("ls", cmd_ls, "list a model's versions")
    ls.add_argument("model", help="namespace/name")
    ls.add_argument("--kind")

    command("tensors", cmd_tensors, "list an artifact's tensors (no download)").add_argument("ref")
    command(
        "report", cmd_report, "show what jobs recorded: evaluations, robustness, LAPP widths, RWS layer deltas"
    ).add_argument("ref")

    alias = command("alias", cmd_alias_ls, "list, set or remove aliases")
    alias_commands = alias.add_subparsers(dest="alias_command", metavar="ACTION", required=True)
    alias_set = command("set", cmd_alias_set, "point an alias at a version or artifact", alias_commands)
    alias_set.add_argument("model")
    alias_set.add_argument("alias")
    alias_set.add_argument("target", help="a version (3 or v3), an artifact id or a ref")
    alias_rm = command("rm", cmd_alias_rm, "remove an alias", alias_commands)
    alias_rm.add_argument("model")
    alias_rm.add_argument("alias")
    command("ls", cmd_alias_ls, "list a model's aliases", alias_commands).add_argument("model")

    _add_jobs_commands(command)

    compose = command("compose", cmd_compose, "compose a base with signatures here: BASE +REF*SCALE ...")
    compose.add_argument("base", help="the base artifact (ns/name@v3, an alias or an id)")
    compose.add_argument("patches", nargs="*", type=_patch, help="+REF or +REF*SCALE, e.g. +team/fog@v1*0.5")
    compose.add_argument("-o", "--output", help="file or directory (default: print the cached file's path)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except (PatchhubError, ValueError, OSError) as exc:
        print(f"patchhub: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("patchhub: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
