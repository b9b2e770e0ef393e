"""The cost estimate: segments by recipient country, times the campaign's prices."""

from __future__ import annotations

import pytest

from wooxy_bulk.estimate import OverBalance, check_balance, country_of, estimate
from wooxy_bulk.plan import PlanRow, Status


def rows(*numbers_and_segments: tuple[str, int]) -> list[PlanRow]:
    return [
        PlanRow(i + 2, (), Status.READY, phone=phone, segments=segments)
        for i, (phone, segments) in enumerate(numbers_and_segments)
    ]


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("+447400100000", "GB"),
        ("+447624123456", "IM"),  # shares +44 with GB
        ("+14165550123", "CA"),  # shares +1 with US
        ("+12125550123", "US"),
        ("+33612345678", "FR"),
    ],
)
def test_the_country_of_a_number(number: str, country: str) -> None:
    """Numbers sharing a country code are told apart by their leading digits."""
    assert country_of(number) == country


def test_without_prices_the_estimate_is_segments_by_country() -> None:
    """No prices: segments and messages by country, no cost."""
    found = estimate(rows(("+447400100000", 1), ("+447400100001", 2), ("+33612345678", 3)), None)
    assert found.lines() == [  # most segments first, then by country
        "  FR: 1 messages, 3 segments",
        "  GB: 2 messages, 3 segments",
        "  total: 3 messages, 6 segments",
    ]
    assert found.total_cost is None


def test_with_prices_each_country_costs_its_price_else_the_default() -> None:
    """GB at its own price, FR at the default: segments × price, summed."""
    found = estimate(
        rows(("+447400100000", 1), ("+447400100001", 2), ("+33612345678", 4)),
        {"default": 0.05, "GB": 0.035},
    )
    assert found.costs == pytest.approx({"GB": 0.105, "FR": 0.2})
    assert found.lines()[-1] == "  total: 3 messages, 7 segments, est. 0.31"  # 0.305


def test_an_estimate_over_the_balance_says_how_many_messages_it_covers() -> None:
    """Over the balance: exit 3's error, naming what the balance covers and --limit."""
    planned = rows(*[("+447400100000", 2)] * 10)
    check_balance(planned, {"default": 0.05}, 1.0)  # exactly covered
    with pytest.raises(OverBalance) as caught:
        check_balance(planned, {"default": 0.05}, 0.75)
    assert caught.value.exit_status == 3
    assert str(caught.value) == (
        "the estimated cost 1.00 exceeds the account's balance 0.75: it covers the first 7 of"
        " 10 messages; send those with --limit 7, or top up the balance. Nothing was sent"
    )
    check_balance(planned, None, 0.01)  # without prices there is no estimate to compare
