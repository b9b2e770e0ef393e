"""The `wooxy-bulk` command: a module per sub-command over `shared.py`.

The only package that prints, prompts and chooses exit codes: each command turns our
exceptions (`errors.py`) into a one-line message and its `ExitStatus`.
"""

from __future__ import annotations

import click

from .. import __version__
from ..send import interrupts
from .new import new_command
from .optout import optout
from .run import run
from .sandbox import sandbox_command
from .status import status_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wooxy-bulk")
def main() -> None:
    """Send bulk SMS campaigns from spreadsheets through the Wooxy Send SMS API.

    Start with a dry run: wooxy-bulk run CAMPAIGN.yaml --dry-run
    """
    interrupts.raising()  # SIGTERM as Ctrl-C: each command stops cleanly


for command in (run, sandbox_command, status_command, optout, new_command):
    main.add_command(command)

__all__ = ["main"]
