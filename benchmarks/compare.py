"""Compare the send path of several checkouts side by side: client CPU per message and msg/s.

    git worktree add /tmp/before HEAD~1
    python -m benchmarks.compare before=/tmp/before after=. [--latency-ms 20 50 100] [--rounds 7]

Each run is a child process that imports `wooxy_bulk` and `benchmarks.sending` from its checkout
(run from there, with it first on PYTHONPATH), against one lean server per latency shared by all;
the variants take turns, round after round, with the reference client (ten bare aiohttp workers)
as one more variant. Medians per variant and latency are printed, each rate also as a share of
the reference's (the target: at least 0.95). The machines are shared and noisy (±0.04 ms a
message between two runs of the same code), so judge a change by several rounds, not one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .sending import lean_server

# Runs in the checkout's own folder, so that its code is the one imported.
_CHILD = """
import asyncio, json, sys
from pathlib import Path
from benchmarks import sending
url, count, data, which = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
batch = sending.messages(count)
if which == "reference":
    sample = asyncio.run(sending.reference(url, batch))
else:
    sample = sending.run_event_loop(sending.ours(url, batch, data))
print(json.dumps({"cpu_ms": sample.cpu_ms_per_message, "rate": sample.rate}))
"""

REFERENCE = "reference"


def run_once(tree: Path, url: str, count: int, data: Path, which: str) -> dict[str, float]:
    """One timed send of `count` messages by the checkout at `tree` (or the reference client)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, url, str(count), str(data), which],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tree}: the send failed:\n{done.stderr}")
    return json.loads(done.stdout)


def parse_variant(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not Path(path).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=FOLDER of a checkout")
    return name, Path(path).resolve()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", type=parse_variant, metavar="NAME=FOLDER")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[20.0, 50.0, 100.0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-reference", action="store_true", help="leave the reference out")
    args = parser.parse_args(argv)
    data = Path(__file__).resolve().parent / ".data"
    data.mkdir(exist_ok=True)
    here = Path(__file__).resolve().parent.parent
    runs = [(name, tree, "ours") for name, tree in args.variants]
    if not args.no_reference:
        runs.append((REFERENCE, here, REFERENCE))
    for latency in args.latency_ms:
        samples: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in runs}
        with lean_server(latency) as (url, _peak):
            for round_ in range(1, args.rounds + 1):
                for name, tree, which in runs:
                    samples[name].append(run_once(tree, url, args.messages, data, which))
                line = ", ".join(f"{n} {s[-1]['rate']:.0f}" for n, s in samples.items())
                print(f"{latency:g} ms, round {round_}: msg/s: {line}", flush=True)
        print(f"\n{args.messages:,} messages @ {latency:g} ms, medians of {args.rounds}:")
        rates = {n: statistics.median(s["rate"] for s in taken) for n, taken in samples.items()}
        for name, taken in samples.items():
            cpu = statistics.median(s["cpu_ms"] for s in taken)
            share = (
                f"  {rates[name] / rates[REFERENCE]:.3f}× the reference"
                if REFERENCE in rates
                else ""
            )
            print(f"  {name:12s} {rates[name]:.0f} msg/s   client CPU {cpu:.3f} ms/msg{share}")
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
