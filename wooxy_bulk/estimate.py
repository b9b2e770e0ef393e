"""What a campaign will cost: segments by recipient country, times the campaign's `prices`.

Wooxy exposes no price list, so prices come from the campaign (per segment, by ISO country,
``default`` for the rest). Without prices the estimate is segments only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import phonenumbers

from .errors import ExitStatus, WooxyBulkError
from .plan import PlanRow

_PREFIX = 8  # "+" and 7 digits: enough to tell the region sharing a country code (+1, +7, +44)


class OverBalance(WooxyBulkError):
    """The estimated cost exceeds the account's balance: nothing is sent."""

    exit_status = ExitStatus.STOPPED


@dataclass
class Estimate:
    """Messages, segments and cost by recipient country (cost None without prices)."""

    messages: dict[str, int] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    costs: dict[str, float] | None = None

    @property
    def total_segments(self) -> int:
        return sum(self.segments.values())

    @property
    def total_cost(self) -> float | None:
        return None if self.costs is None else sum(self.costs.values())

    def lines(self) -> list[str]:
        """One line per country, most segments first, then the total."""
        lines = []
        for country, segments in sorted(self.segments.items(), key=lambda kv: (-kv[1], kv[0])):
            cost = "" if self.costs is None else f", est. {self.costs[country]:,.2f}"
            lines.append(
                f"  {country}: {self.messages[country]:,} messages, {segments:,} segments{cost}"
            )
        total = "" if self.total_cost is None else f", est. {self.total_cost:,.2f}"
        messages = sum(self.messages.values())
        lines.append(f"  total: {messages:,} messages, {self.total_segments:,} segments{total}")
        return lines


_REGIONS: dict[str, str] = {}  # leading digits -> region, filled as numbers are seen


def country_of(e164: str) -> str:
    """The ISO region of an E.164 number, looked up once per leading digits (the region of
    numbers sharing a country code, such as +1 or +44, follows from their first digits)."""
    prefix = e164[:_PREFIX]
    region = _REGIONS.get(prefix)
    if region is None:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return "ZZ"
        region = phonenumbers.region_code_for_number(number) or "ZZ"
        if len(_REGIONS) < 100_000:
            _REGIONS[prefix] = region
    return region


def row_price(row: PlanRow, prices: Mapping[str, float]) -> float:
    country = country_of(row.phone)
    return row.segments * prices.get(country, prices.get("default", 0.0))


def estimate(rows: Sequence[PlanRow], prices: Mapping[str, float] | None) -> Estimate:
    """The estimate for `rows` (the ones that would be sent)."""
    result = Estimate(costs={} if prices else None)
    for row in rows:
        country = country_of(row.phone)
        result.messages[country] = result.messages.get(country, 0) + 1
        result.segments[country] = result.segments.get(country, 0) + row.segments
        if prices and result.costs is not None:
            price = prices.get(country, prices.get("default", 0.0))
            result.costs[country] = result.costs.get(country, 0.0) + row.segments * price
    return result


def check_balance(
    rows: Sequence[PlanRow], prices: Mapping[str, float] | None, balance: float | None
) -> None:
    """Raise OverBalance when the estimate exceeds `balance`, saying how many messages it covers."""
    if not prices or balance is None:
        return
    total, covered = 0.0, 0
    for row in rows:
        total += row_price(row, prices)
        if total <= balance + 1e-9:
            covered += 1
    if total <= balance + 1e-9:
        return
    raise OverBalance(
        f"the estimated cost {total:,.2f} exceeds the account's balance {balance:,.2f}:"
        f" it covers the first {covered:,} of {len(rows):,} messages; send those with"
        f" --limit {covered}, or top up the balance. Nothing was sent"
    )
