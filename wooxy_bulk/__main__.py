"""`python -m wooxy_bulk` runs the CLI."""

from .cli import main

main()
