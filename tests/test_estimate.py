"""The cost estimate: segments by recipient country, times the campaign's prices."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wooxy_bulk.campaign import load_campaign
from wooxy_bulk.plan.estimate import OverBalance, check_balance, estimate
from wooxy_bulk.plan.phones import PhoneParser
from wooxy_bulk.plan.rows import PlanRow, Status, prepare

PHONES = PhoneParser(None)


def rows(*numbers_and_segments: tuple[str, int]) -> list[PlanRow]:
    """Plan rows of these numbers, each with its region as the plan reads it."""
    return [
        PlanRow(i + 2, (), Status.READY, phone, segments=segments, region=PHONES.read(phone).region)
        for i, (phone, segments) in enumerate(numbers_and_segments)
    ]


# Neighbours that share a country code and their first digits, each priced apart.
SHARED_CODES = [
    ("+14155550123", "US", 0.011),
    ("+14165550123", "CA", 0.012),  # +1 41…, as San Francisco
    ("+447400100000", "GB", 0.031),
    ("+447781123456", "GG", 0.032),  # +44 7…, as UK mobiles
    ("+447797123456", "JE", 0.033),
    ("+447700312345", "JE", 0.033),  # +44 7700 3…: Jersey's, as +44 7700 1… is the UK's
    ("+447700112345", "GB", 0.031),
    ("+447624012345", "IM", 0.034),
    ("+79123456789", "RU", 0.041),
    ("+77012345678", "KZ", 0.042),  # +7, as Russia
]


def test_each_number_is_priced_in_its_own_country(tmp_path: Path) -> None:
    """Through the plan, numbers sharing a country code and first digits (+1 US and CA; +44 GB,
    GG, JE and IM; +7 RU and KZ) each cost their own country's price."""
    numbers = [number for number, _, _ in SHARED_CODES]
    (tmp_path / "contacts.csv").write_text("phone\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    prices = {country: price for _, country, price in SHARED_CODES}
    campaign = {
        "name": "t",
        "contacts": "contacts.csv",
        "message": {"text": "Hi"},
        "domain": "shop.example.com",
        "prices": {"default": 0.5, **prices},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(campaign), encoding="utf-8")
    plan = prepare(load_campaign(tmp_path / "c.yaml"))
    assert [(r.status, r.region) for r in plan.rows] == [
        (Status.READY, country) for _, country, _ in SHARED_CODES
    ]
    found = estimate(plan.rows, plan.prices)
    counts = {"US": 1, "CA": 1, "GB": 2, "GG": 1, "JE": 2, "IM": 1, "RU": 1, "KZ": 1}
    assert found.messages == counts
    assert found.costs == pytest.approx({c: counts[c] * p for c, p in prices.items()})


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
