#!/usr/bin/env python3
"""Do two builds forecast the same? A check for changes meant to change nothing.

    python3 scripts/samecuts.py --manifest ../shared/data/dev/manifest.csv \
        --old '/tmp/old/target/release/runway forecast' \
        --new 'target/release/runway forecast'

A change meant only to make runway faster or its code clearer (a new way
to find a median, a refactor) must leave every forecast as it was. This
replays the cuts of the shared protocol (`shared/eval/backtest.py`, which
it imports for its data loading; the cuts are placed as the protocol places
them, on every series of the manifest, trend and step alike) with both
commands, and compares everything each says about the series: the times to
wall and their band, the alert, the status, the model and its reason, to
the last digit of the JSON. It prints the cuts that differ (at most
`--show` of them) and exits 1 if any does, 0 if none.

Build the old commit in a worktree of its own, with a target folder of its
own, for `--old`:

    git worktree add /tmp/old HEAD && \
        (cd /tmp/old && cargo build --release --bin runway)
"""
import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

# The shared protocol's loading and cut placement, and a forecast command
# run on samples, as JSON.
from hindsight import cuts, protocol, said


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--old", required=True, help="the forecast command before the change")
    ap.add_argument("--new", default="target/release/runway forecast")
    ap.add_argument("--cuts", type=int, default=60)
    ap.add_argument("--show", type=int, default=10, help="differing cuts to print")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--eval", help="folder of backtest.py (default: ../eval beside the data)")
    a = ap.parse_args()
    bt, data = protocol(a.manifest, a.eval, "samecuts")
    jobs = list(cuts(bt, data, a.manifest, a.cuts, tool="samecuts"))

    def compare(job):
        m, i, _, _, ts, vs, seen, wall, rising, lead = job
        old, new = (said(cmd, ts[:seen], vs[:seen], wall, rising, lead, "samecuts")
                    for cmd in (a.old, a.new))
        return m["series_id"], i, old, new

    with ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(compare, jobs))
    differ = [(s, i, old, new) for s, i, old, new in results if old != new]
    for s, i, old, new in differ[:a.show]:
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        print(f"{s} cut {i}:")
        for k in keys:
            print(f"  {k}: {old.get(k)!r} -> {new.get(k)!r}")
    print(f"samecuts: {len(differ)} of {len(results)} cuts differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
