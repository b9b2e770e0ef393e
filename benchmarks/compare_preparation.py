"""Compare the XLSX dry run of several checkouts side by side, against the read+write floor.

    git worktree add /tmp/before <commit>
    python -m benchmarks.compare_preparation before=/tmp/before after=. [--rows 100000] [--rounds 5]

Each measurement is a child process that imports `wooxy_bulk` and `benchmarks.preparation` from
its checkout: the dry run (load_campaign → prepare → write_results) of one generated XLSX, or the
floor (calamine reads it, xlsxwriter writes it). Variants and the floor take turns, round after
round; medians are printed with their ratio to the floor's median.
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

HERE = Path(__file__).resolve().parent

_CHILD = """
import json, sys
from pathlib import Path
from benchmarks import data, preparation
folder, rows, which = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
contacts = data.ensure(folder / f"contacts-{rows}.xlsx", rows)
runs = folder / f"runs-{which}"
runs.mkdir(parents=True, exist_ok=True)
if which == "floor":
    seconds, _ = preparation.floor(contacts, runs / "floor.xlsx")
else:
    campaign = data.write_campaign(runs, f"xlsx-{rows}", contacts, runs / f"xlsx-{rows}.xlsx")
    seconds, _ = preparation.dry_run(campaign)
print(json.dumps(seconds))
"""

FLOOR = "floor"


def run_once(tree: Path, folder: Path, rows: int, which: str) -> float:
    """Seconds of one dry run (or of the floor) by the checkout at `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder), str(rows), which],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{which} in {tree} failed: {done.stderr[-800:]}")
    return float(json.loads(done.stdout))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", metavar="NAME=PATH", help="checkouts to compare")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=HERE / ".data", help="generated files")
    args = parser.parse_args(argv)
    trees = {name: Path(path).resolve() for name, path in (v.split("=", 1) for v in args.variants)}
    seconds: dict[str, list[float]] = {name: [] for name in [*trees, FLOOR]}
    first = next(iter(trees.values()))
    for _ in range(args.rounds):
        for name, tree in [*trees.items(), (FLOOR, first)]:
            seconds[name].append(run_once(tree, args.data.resolve(), args.rows, name))
    floor = statistics.median(seconds[FLOOR])
    for name, values in seconds.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name}: median {median:.2f} s, {median / floor:.2f}× the floor ({runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
