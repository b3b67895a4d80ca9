"""``patchhub``: the command line for the registry.

Global options (``--url``, ``--token``, ``--json``, ``-q``, ``--progress``) go before or after the command.
Errors print one line on stderr and exit with status 1 (usage errors: 2). The token is never printed.
Shell completion: ``eval "$(patchhub completion bash)"`` (or zsh, fish).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from click.shell_completion import get_completion_class

from patchhub.cli import account, artifacts, jobs
from patchhub.cli._common import GlobalOptions, emit, global_options
from patchhub.errors import PatchhubError

PROG = "patchhub"
COMPLETE_VAR = "_PATCHHUB_COMPLETE"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.version_option(package_name="patchhub", prog_name=PROG)
def cli() -> None:
    """patchhub model-weight registry client."""


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]), default="bash")
@global_options
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script: eval "$(patchhub completion bash)" in ~/.bashrc."""
    completer = get_completion_class(shell)
    assert completer is not None
    script = completer(cli, {}, PROG, COMPLETE_VAR).source()
    emit(ctx, {"shell": shell, "script": script}, script)


for command in (
    account.login,
    account.logout,
    account.whoami,
    account.namespaces,
    account.tokens,
    artifacts.models,
    artifacts.push,
    artifacts.pull,
    artifacts.list_versions,
    artifacts.tensors,
    artifacts.report,
    artifacts.alias,
    artifacts.compose,
    jobs.jobs,
):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args, prog_name=PROG, complete_var=COMPLETE_VAR, standalone_mode=False, obj=GlobalOptions())
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.ClickException as exc:  # usage errors
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("patchhub: interrupted", err=True)
        return 130
    except (PatchhubError, ValueError, OSError) as exc:
        click.echo(f"patchhub: error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("patchhub: interrupted", err=True)
        return 130
    return 0
