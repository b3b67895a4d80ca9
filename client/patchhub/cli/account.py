"""``patchhub login / logout / whoami``, and remote administration: ``namespaces`` and ``tokens``."""

from __future__ import annotations

import getpass

import click

from patchhub.cli._common import DefaultGroup, emit, global_options, options, plain
from patchhub.config import StoredLogin, read_login, resolve_base_url, write_login
from patchhub.errors import PatchhubError
from patchhub.report import table


@click.command()
@global_options
@click.pass_context
def login(ctx: click.Context) -> None:
    """Store the URL and token (checked with the service first). Asks for the token unless --token is given."""
    g = options(ctx)
    url = resolve_base_url(g.url)
    token = g.token or getpass.getpass(f"Token for {url}: ").strip()
    if not token:
        raise PatchhubError("no token given")
    with g.client(token=token) as client:
        me = client.whoami()  # verify before storing anything
    path = write_login(StoredLogin(url=url, token=token))
    scope = me.namespace or "all namespaces"
    emit(
        ctx,
        {"url": url, "token_name": me.token_name, "role": me.role, "namespace": me.namespace, "config": str(path)},
        f"Logged in to {url} as {me.token_name} ({me.role} on {scope}); saved to {path}",
    )


@click.command()
@global_options
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Forget the stored token (the URL stays)."""
    stored = read_login()
    write_login(StoredLogin(url=stored.url, token=None))
    emit(ctx, {"logged_out": True, "url": stored.url}, "Logged out: the stored token was removed")


@click.command()
@global_options
@click.pass_context
def whoami(ctx: click.Context) -> None:
    """Show the token in use: its name, role and namespace."""
    with options(ctx).client() as client:
        me = client.whoami()
        emit(ctx, me, f"{me.token_name}: {me.role} on {me.namespace or 'all namespaces'} at {client.base_url}")


@click.group(cls=DefaultGroup, default="list")
@global_options
def namespaces() -> None:
    """List or create namespaces (creating needs an admin token for all namespaces)."""


@namespaces.command("list")
@global_options
@click.pass_context
def namespaces_list(ctx: click.Context) -> None:
    """The namespaces this token can see."""
    with options(ctx).client() as client:
        found = client.namespaces.list()
    emit(ctx, found, table([[n.name, n.description] for n in found], ["NAMESPACE", "DESCRIPTION"]))


@namespaces.command("create")
@click.argument("name")
@click.option("--description", default="")
@click.option("--exist-ok", is_flag=True, help="an existing namespace of this name is fine")
@global_options
@click.pass_context
def namespaces_create(ctx: click.Context, name: str, description: str, exist_ok: bool) -> None:
    """Create a namespace (a team or user that owns models)."""
    with options(ctx).client() as client:
        namespace = client.namespaces.create(name, description, exist_ok=exist_ok)
    emit(ctx, namespace, f"Namespace {namespace.name} ready")


@click.group(cls=DefaultGroup, default="list")
@global_options
def tokens() -> None:
    """List, create or revoke API tokens (admin)."""


@tokens.command("list")
@global_options
@click.pass_context
def tokens_list(ctx: click.Context) -> None:
    """Tokens this admin token manages (never their secrets)."""
    with options(ctx).client() as client:
        found = client.tokens.list()
    rows = [
        [str(t.id), t.name, t.role, t.namespace or "*", f"{t.prefix}...", "revoked" if t.revoked_at else "active"]
        for t in found
    ]
    emit(ctx, found, table(rows, ["ID", "NAME", "ROLE", "NAMESPACE", "PREFIX", "STATE"]))


@tokens.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["read", "write", "admin"]), default="read", show_default=True)
@click.option("--namespace", default=None, help="scope to one namespace (default: all)")
@global_options
@click.pass_context
def tokens_create(ctx: click.Context, name: str, role: str, namespace: str | None) -> None:
    """Issue a token; its secret is printed once (the last line, or "secret" with --json)."""
    with options(ctx).client() as client:
        created = client.tokens.create(name, role, namespace)  # type: ignore[arg-type]
    token = created.token
    human = (
        f"token {token.id} ({token.role} on {token.namespace or 'all namespaces'}); store it now, it is not kept:\n"
        f"{created.secret}"
    )
    emit(ctx, {**plain(created.token), "secret": created.secret}, human)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@global_options
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke a token by its id (see: patchhub tokens list)."""
    with options(ctx).client() as client:
        token = client.tokens.revoke(token_id)
    emit(ctx, token, f"token {token.id} ({token.name}) revoked")
