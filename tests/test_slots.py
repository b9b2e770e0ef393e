"""Request slots: 10 per account across processes, freed when a process dies, keyed by a hash."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import MakeCampaign, cli_env, numbers, start_cli

from wooxy_bulk.sandbox import SandboxConfig, running_sandbox
from wooxy_bulk.send.slots import API_SLOTS, LocalSlots, account_folder

KEY = "wx_live_0123456789abcdef"


@pytest.mark.parametrize(
    ("other_url", "other_key", "same"),
    [
        ("http://LOCALHOST:8025/v3/", KEY, True),
        ("http://127.0.0.1:8025/sms", KEY, True),  # the path is not part of the account
        ("http://127.0.0.1:8026/v3", KEY, False),
        ("https://api.wooxy.com/v3", KEY, False),
        ("http://127.0.0.1:8025/v3", KEY + "x", False),
    ],
)
def test_the_folder_is_one_per_key_and_origin(
    tmp_path: Path, other_url: str, other_key: str, same: bool
) -> None:
    """One folder per API key and normalised origin; its name never contains the key."""
    folder = account_folder(KEY, "http://127.0.0.1:8025/v3", tmp_path)
    assert (account_folder(other_key, other_url, tmp_path) == folder) is same
    assert KEY not in str(folder) and folder.parent == tmp_path


def test_two_holders_share_the_slots(tmp_path: Path) -> None:
    """With every slot held, another holder waits, and gets one as soon as one is let go."""

    async def main() -> float:
        first, second = LocalSlots(tmp_path), LocalSlots(tmp_path)
        held = [await first.acquire() for _ in range(API_SLOTS)]
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(0.2)
        assert not waiting.done()
        started = time.monotonic()
        first.release(*held.pop())
        index, fd = await asyncio.wait_for(waiting, 5)
        took = time.monotonic() - started
        second.release(index, fd)
        for hold in held:
            first.release(*hold)
        first.close()
        second.close()
        return took

    assert asyncio.run(main()) < 0.5


def test_more_requests_than_slots_in_one_process_wait_their_turn(tmp_path: Path) -> None:
    """25 requests of one process through 10 slots: never more than 10 at once, all served."""

    async def main() -> int:
        slots = LocalSlots(tmp_path)
        inside = peak = 0

        async def request() -> None:
            nonlocal inside, peak
            async with slots.slot():
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.wait_for(asyncio.gather(*(request() for _ in range(25))), 10)
        slots.close()
        return peak

    assert asyncio.run(main()) == API_SLOTS


def test_a_killed_process_frees_its_slots(tmp_path: Path) -> None:
    """A process SIGKILLed while it holds every slot leaves them free for the next one."""
    snippet = f"""
        import asyncio, sys
        from pathlib import Path
        from wooxy_bulk.send.slots import LocalSlots

        async def main():
            slots = LocalSlots(Path({str(tmp_path)!r}))
            for _ in range(10):
                await slots.acquire()
            print("holding", flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
    """
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(snippet)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"

        async def free_now() -> bool:
            slots = LocalSlots(tmp_path)
            try:
                await asyncio.wait_for(slots.acquire(), 0.2)
            except TimeoutError:
                return False
            finally:
                slots.close()
            return True

        assert not asyncio.run(free_now())
        holder.kill()
        holder.wait(timeout=10)

        async def all_ten() -> None:
            slots = LocalSlots(tmp_path)
            await asyncio.wait_for(asyncio.gather(*(slots.acquire() for _ in range(10))), 5)
            slots.close()

        asyncio.run(all_ten())
    finally:
        holder.kill()


def test_two_campaigns_at_once_share_the_ten(make_campaign: MakeCampaign, tmp_path: Path) -> None:
    """Two runs with one key against one sandbox, each with concurrency 10: never over 10 at
    once, no 429, every number of both sent once."""
    first = make_campaign(150)
    second_folder = tmp_path / "second"
    second_folder.mkdir()
    second = second_folder / "campaign.yaml"
    second.write_text(first.read_text().replace("name: test", "name: other"))
    other = numbers(150, start=447400200000)
    (second_folder / "contacts.csv").write_text(
        "phone,first_name\n" + "".join(f"{n},X\n" for n in other)
    )
    with running_sandbox(SandboxConfig(latency_ms=40)) as box:
        env = cli_env(api_url=box.url)
        args = ("--yes", "--quiet", "--no-dry-run-check")
        runs = [start_cli("run", c, *args, env=env) for c in (first, second)]
        outputs = [p.communicate(timeout=120) for p in runs]
        stats = box.state.stats()
        accepted = Counter(m["phoneNumber"] for m in box.state.messages)
    assert [p.returncode for p in runs] == [0, 0], outputs
    assert stats["throttled"] == 0
    assert stats["peak_concurrency"] == API_SLOTS
    assert accepted == Counter(numbers(150) + other)
