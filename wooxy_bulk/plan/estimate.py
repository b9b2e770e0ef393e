"""What a campaign will cost: segments by recipient country, times the campaign's `prices`.

Wooxy exposes no price list, so prices come from the campaign (per segment, by ISO country,
``default`` for the rest). Without prices the estimate is segments only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import ExitStatus, WooxyBulkError
from .rows import PlanRow


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


def country_of(row: PlanRow) -> str:
    """The row's recipient country, as the plan read it from the number (ZZ: none known)."""
    return row.region or "ZZ"


def row_price(row: PlanRow, prices: Mapping[str, float]) -> float:
    return row.segments * prices.get(country_of(row), prices.get("default", 0.0))


def estimate(rows: Sequence[PlanRow], prices: Mapping[str, float] | None) -> Estimate:
    """The estimate for `rows` (the ones that would be sent)."""
    result = Estimate(costs={} if prices else None)
    for row in rows:
        country = country_of(row)
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
