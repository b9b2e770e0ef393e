"""`python -m wooxy_bulk` and the `wooxy-bulk` command: the CLI, quiet if interrupted loading."""

from __future__ import annotations


def main() -> None:
    from .send import interrupts

    interrupts.quiet_while_loading()
    from .cli import main as cli

    cli()


if __name__ == "__main__":
    main()
