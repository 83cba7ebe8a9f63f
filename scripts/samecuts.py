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
import csv
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from hindsight import said  # runs a forecast command on samples, as JSON


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
    if not os.path.isfile(a.manifest):
        sys.exit(f"samecuts: no manifest at {a.manifest}")
    data = os.path.dirname(os.path.abspath(a.manifest))
    evaluation = a.eval or os.path.join(data, "..", "..", "eval")
    sys.path.insert(0, evaluation)
    try:
        import backtest as bt  # the shared protocol: loading and cut placement
    except ImportError:
        sys.exit(f"samecuts: no backtest.py in {evaluation} (set --eval)")

    cuts = []
    for m in csv.DictReader(open(a.manifest)):
        ts, vs = bt.load_series(os.path.join(data, m["file"]))
        if len(ts) < 2:
            sys.exit(f"samecuts: {m['file']}: fewer than two samples")
        wall, cross = float(m["threshold"]), float(m["first_cross_t"])
        span = ts[-1] - ts[0]
        lead, start = 0.1 * span, ts[0] + 0.2 * span
        for i in range(a.cuts):
            cut = start + (cross - start) * i / a.cuts
            if cross - cut > 0:
                cuts.append((m["series_id"], i, cut, ts, vs, wall, m["direction"] == "above", lead))

    def compare(job):
        series, i, cut, ts, vs, wall, rising, lead = job
        seen = sum(1 for t in ts if t <= cut)
        old, new = (said(cmd, ts[:seen], vs[:seen], wall, rising, lead, "samecuts")
                    for cmd in (a.old, a.new))
        return series, i, old, new

    with ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(compare, cuts))
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
