"""What every ``patchhub`` command shares: the global options (accepted before or after the command), the
client they configure, JSON or human output, and the parameter types."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from patchhub.client import Client
from patchhub.local_compose import parse_patch

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class GlobalOptions:
    url: str | None = None
    token: str | None = None
    json: bool = False
    quiet: bool = False
    progress: bool | None = None  # None: bars when stderr is a terminal

    def client(self, *, token: str | None = None) -> Client:
        progress = False if self.quiet else self.progress
        return Client(base_url=self.url, token=token or self.token, progress=progress)


def options(ctx: click.Context) -> GlobalOptions:
    return ctx.ensure_object(GlobalOptions)


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None and value is not False:  # only what was given: a later place may set it too
            setattr(options(ctx), name, value)

    return callback


def global_options(command: F) -> F:
    """The options every command takes, wherever they appear on the line (``patchhub --json ls m`` and
    ``patchhub ls m --json`` are the same)."""
    decorators = [
        click.option(
            "--url",
            expose_value=False,
            callback=_store("url"),
            help="service URL (default: PATCHHUB_URL, then the stored login, then http://127.0.0.1:8000)",
        ),
        click.option(
            "--token",
            expose_value=False,
            callback=_store("token"),
            help="API token (default: PATCHHUB_TOKEN, then the stored login)",
        ),
        click.option("--json", "json_", is_flag=True, expose_value=False, callback=_store("json"), help="JSON output"),
        click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_store("quiet"), help="no progress"),
        click.option(
            "--progress/--no-progress",
            default=None,
            expose_value=False,
            callback=_store("progress"),
            help="force progress bars on or off (default: on when stderr is a terminal)",
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def emit(ctx: click.Context, value: Any, human: str) -> None:
    """Print ``value`` as JSON with ``--json``, else the human text."""
    if options(ctx).json:
        click.echo(json.dumps(plain(value), indent=2, default=_json_default))
    else:
        click.echo(human)


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class DefaultGroup(click.Group):
    """A group whose bare form runs one of its commands: ``patchhub alias ns/name`` lists aliases like
    ``patchhub alias ls ns/name``, and ``patchhub jobs --json`` lists jobs."""

    def __init__(self, *args: Any, default: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first_word = next((arg for arg in args if not arg.startswith("-")), None)
        # Not while completing (resilient parsing): there the group's own commands are what to offer.
        if first_word not in self.commands and not _asks_for_help(args) and not ctx.resilient_parsing:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _asks_for_help(args: list[str]) -> bool:
    return args[:1] in (["--help"], ["-h"])


class JsonObject(click.ParamType):
    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not valid JSON: {exc.msg}", param, ctx)
        if not isinstance(parsed, dict):
            self.fail("must be a JSON object", param, ctx)
        return parsed


class KeyValue(click.ParamType):
    """``key=value``: the value as JSON when it parses (8, 0.1, true, [1, 2]), else as a string."""

    name = "KEY=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Any]:
        if isinstance(value, tuple):
            return value
        key, sep, raw = str(value).partition("=")
        if not sep or not key:
            self.fail(f"expected key=value, not {value!r}", param, ctx)
        try:
            return key, json.loads(raw)
        except json.JSONDecodeError:
            return key, raw


class Patch(click.ParamType):
    name = "+REF[*SCALE]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, float]:
        if isinstance(value, tuple):
            return value
        try:
            return parse_patch(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def size_text(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
