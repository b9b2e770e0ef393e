"""`wooxy-bulk new`: a campaign file and template for a contacts sheet, its columns guessed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import scaffold
from ..errors import ExitStatus, WooxyBulkError, display_path
from .shared import fail


@click.command("new")
@click.argument("contacts", type=click.Path(path_type=Path))
@click.option("--name", help="The campaign's name (default: from the contacts file's name).")
@click.option("--region", help="Country code of numbers written without one, e.g. GB.")
def new_command(contacts: Path, name: str | None, region: str | None) -> None:
    """Write NAME.yaml and NAME.txt.j2 for CONTACTS, guessing its columns."""
    try:
        found = _guess(contacts, region)
        campaign_name = scaffold.campaign_name(contacts, name)
        files = scaffold.write_files(found, campaign_name, Path.cwd())
    except WooxyBulkError as exc:
        fail(str(exc), exc.exit_status)
    except (KeyboardInterrupt, click.Abort):
        fail("interrupted; nothing was written", ExitStatus.INTERRUPTED)
    click.echo(f"Read {display_path(contacts)}:")
    click.echo("\n".join(f"  {reason}" for reason in found.reasons))
    click.echo("Wrote " + " and ".join(display_path(p.name) for p in files))
    campaign_file = files[0].name
    click.echo("Next: edit domain (and the message), then:")
    click.echo(f"  wooxy-bulk run {campaign_file} --dry-run    # see every text; sends nothing")
    click.echo(f"  wooxy-bulk run {campaign_file} --sandbox    # rehearse against a local fake API")
    click.echo(f"  wooxy-bulk run {campaign_file}              # send (WOOXY_API_KEY set)")


def _guess(contacts: Path, region: str | None) -> scaffold.Guess:
    try:
        return scaffold.guess(contacts, region)
    except scaffold.RegionNeeded:
        if region or not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise
    asked = click.prompt("Country code of the numbers written without one (e.g. GB)")
    return scaffold.guess(contacts, asked)
