"""`wooxy-bulk sandbox`: serve the local fake of the Wooxy API, for rehearsals and tests."""

from __future__ import annotations

import click

from ..errors import WooxyBulkError
from ..sandbox import SandboxConfig, serve
from .shared import API_KEY_VARIABLE, API_URL_VARIABLE, SANDBOX_TOKEN, fail


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", multiple=True, help="Accepted Access-Token (repeatable; default sandbox).")
@click.option("--domain", multiple=True, help="Known domain (repeatable; default: any domain).")
@click.option("--blacklist", multiple=True, metavar="NUMBER", help="Blacklisted E.164 number.")
@click.option(
    "--balance", type=click.IntRange(min=0), help="Messages accepted before the balance error."
)
@click.option(
    "--latency-ms", default=0.0, type=click.FloatRange(min=0), help="Added to each answer."
)
@click.option("--fail-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of HTTP 500s.")
@click.option("--publish-error-rate", default=0.0, type=click.FloatRange(0, 1))
@click.option("--hang-rate", default=0.0, type=click.FloatRange(0, 1), help="Share never answered.")
@click.option(
    "--gateway-error-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share taken, then answered with a gateway's HTML 504.",
)
@click.option(
    "--delivery-delay-s",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds a message stays new before it is delivered or failed.",
)
@click.option(
    "--delivery-fail-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of accepted messages whose delivery fails.",
)
@click.option("--seed", type=int, help="Seed for the injected faults.")
def sandbox_command(
    host: str,
    port: int,
    token: tuple[str, ...],
    domain: tuple[str, ...],
    blacklist: tuple[str, ...],
    balance: int | None,
    latency_ms: float,
    fail_rate: float,
    publish_error_rate: float,
    hang_rate: float,
    gateway_error_rate: float,
    delivery_delay_s: float,
    delivery_fail_rate: float,
    seed: int | None,
) -> None:
    """Serve a local fake of the Wooxy API, for rehearsals and tests."""
    config = SandboxConfig(
        tokens=token or (SANDBOX_TOKEN,),
        domains=domain,
        blacklist=blacklist,
        balance=balance,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        publish_error_rate=publish_error_rate,
        hang_rate=hang_rate,
        gateway_error_rate=gateway_error_rate,
        seed=seed,
        delivery_delay_s=delivery_delay_s,
        delivery_fail_rate=delivery_fail_rate,
    )

    def ready(url: str) -> None:
        click.echo(f"Wooxy sandbox listening on {url}")
        click.echo("Point a campaign at it:")
        click.echo(f"  {API_URL_VARIABLE}={url} {API_KEY_VARIABLE}={config.tokens[0]} \\")
        click.echo("    wooxy-bulk run CAMPAIGN.yaml")
        click.echo("Messages: GET /sandbox/messages   Stats: GET /sandbox/stats   Ctrl-C stops it.")

    try:
        serve(config, host=host, port=port, on_ready=ready)
    except WooxyBulkError as exc:
        fail(str(exc), exc.exit_status)
    click.echo("Sandbox stopped.")
