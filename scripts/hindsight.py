#!/usr/bin/env python3
"""How far from reach are the development set's targets? A hindsight bound.

    python3 scripts/hindsight.py --manifest ../shared/data/dev/manifest.csv \
        --cmd 'target/release/runway forecast'

Replays the cuts of the shared protocol (`shared/eval/backtest.py`, which
this imports for its data loading and cut placement) on the trend series,
with runway and eight simple forecasters: least squares and the mean rate
(the change between a window's two ends) over the last 100%, 50% and 25% of
the history, and a least-squares line through the logarithm of the values
over the last 100% and 50%. Each simple forecaster alerts when its time to
wall is within the lead.

Then, for each series separately, it picks the forecaster that did best on
that series **with hindsight** (most cuts within a factor 1.65, the
`eta_err_median <= 0.50` target; fewest missed and false alerts, for F1)
and pools the picks. It also counts how often runway's 90% band held the
true crossing, where runway gave a band, and sorts the cuts by how many of
the simple forecasters came within the factor there (none, a minority, a
majority), with runway's count in each. No forecaster can choose that well
without hindsight: the pooled figures bound what a per-series model choice
among these methods can reach, and say how much of a target is out of
reach of the data rather than of the forecaster.

With `--combinations K` it also lists the K medians of two or three of
runway and the simple forecasters (per cut, the middle of three times or
the geometric mean of two) that put the most cuts within the factor: how
far combining runway's time with simple readings could go.
"""
import argparse
import collections
import csv
import itertools
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile

CAP = math.log(10.0)
WITHIN = 0.5  # the eta_err_median target: a factor e^0.5 = 1.65


def line_ttw(ts, vs, now, wall, rising, frac, log=False, ends=False):
    """Time to wall of a line over the trailing `frac` of the history."""
    k = max(5, int(len(ts) * frac))
    ts, vs = ts[-k:], vs[-k:]
    if log:
        if wall <= 0 or any(v <= 0 for v in vs):
            return None
        vs, wall = [math.log(v) for v in vs], math.log(wall)
    if ends:
        m = max(3, len(vs) // 40)
        med = lambda xs: sorted(xs)[len(xs) // 2]
        t0, t1 = med(ts[:m]), med(ts[-m:])
        if t1 <= t0:
            return None
        slope = (med(vs[-m:]) - med(vs[:m])) / (t1 - t0)
        level = med(vs[-m:]) + slope * (now - t1)
    else:
        n = len(ts)
        mx, my = sum(ts) / n, sum(vs) / n
        sxx = sum((t - mx) ** 2 for t in ts)
        if sxx == 0:
            return None
        slope = sum((t - mx) * (v - my) for t, v in zip(ts, vs)) / sxx
        level = my + slope * (now - mx)
    gap = (wall - level) if rising else (level - wall)
    if gap <= 0:
        return 0.0
    rate = slope if rising else -slope
    return gap / rate if rate > 0 else None


SIMPLE = {
    "least squares 100%": dict(frac=1.0),
    "least squares 50%": dict(frac=0.5),
    "least squares 25%": dict(frac=0.25),
    "mean rate 100%": dict(frac=1.0, ends=True),
    "mean rate 50%": dict(frac=0.5, ends=True),
    "mean rate 25%": dict(frac=0.25, ends=True),
    "log-linear 100%": dict(frac=1.0, log=True),
    "log-linear 50%": dict(frac=0.5, log=True),
}


def said(cmd, ts, vs, wall, rising, lead, tool="hindsight"):
    """What `cmd` (a `runway forecast` command) says of the samples `ts`,
    `vs`: the first series of its JSON. Exits, naming `tool`, when it
    cannot be run or fails."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("timestamp,value\n")
        for t, v in zip(ts, vs):
            f.write(f"{t:.3f},{v!r}\n")
        path = f.name
    argv = shlex.split(cmd) + ["--input", path, "--wall", repr(wall),
                               "--direction", "rising" if rising else "falling",
                               "--lead", str(int(lead)), "--output", "json"]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except OSError as e:
        sys.exit(f"{tool}: cannot run {argv[0]}: {e.strerror} (build it, or set the command)")
    finally:
        os.unlink(path)
    if p.returncode != 0:
        sys.exit(f"{tool}: {' '.join(argv)} exited {p.returncode}: {p.stderr.strip()[:400]}")
    return json.loads(p.stdout)["series"][0]


def protocol(manifest, evaluation, tool="hindsight"):
    """The shared protocol's module (`backtest.py`: data loading and cut
    placement), found in `evaluation` or in ../eval beside the data, and
    the folder of the manifest's data. Exits, naming `tool`, when either is
    missing."""
    data = os.path.dirname(os.path.abspath(manifest))
    if not os.path.isfile(manifest):
        sys.exit(f"{tool}: no manifest at {manifest}")
    evaluation = evaluation or os.path.join(data, "..", "..", "eval")
    sys.path.insert(0, evaluation)
    try:
        import backtest as bt
    except ImportError:
        sys.exit(f"{tool}: no backtest.py in {evaluation} (set --eval)")
    return bt, data


def cuts(bt, data, manifest, count, kinds=None, tool="hindsight"):
    """The protocol's cuts, placed as `backtest.py` places them: `count`
    evenly spaced times from 20% of each series' span up to its crossing,
    for the manifest's series (those whose crossing type is in `kinds`, or
    all). Yields (manifest row, index, cut, time to the crossing, times,
    values, how many of them the cut sees, wall, rising, lead)."""
    for m in csv.DictReader(open(manifest)):
        if kinds is not None and m["crossing_type"] not in kinds:
            continue
        ts, vs = bt.load_series(os.path.join(data, m["file"]))
        if len(ts) < 2:
            sys.exit(f"{tool}: {m['file']}: fewer than two samples")
        wall, cross = float(m["threshold"]), float(m["first_cross_t"])
        rising = m["direction"] == "above"
        span = ts[-1] - ts[0]
        lead, start = 0.1 * span, ts[0] + 0.2 * span
        for i in range(count):
            cut = start + (cross - start) * i / count
            tau = cross - cut
            if tau <= 0:
                continue
            seen = sum(1 for t in ts if t <= cut)
            yield m, i, cut, tau, ts, vs, seen, wall, rising, lead


def runway(cmd, ts, vs, cut, wall, rising, lead):
    s = said(cmd, ts, vs, wall, rising, lead)
    ttw = 0.0 if s.get("status") == "breached" else s.get("time_to_wall_seconds")
    band = None
    if s.get("status") == "approaching" and s.get("time_to_wall_lower_seconds") is not None:
        upper = s.get("time_to_wall_upper_seconds")
        band = (s["time_to_wall_lower_seconds"], math.inf if upper is None else upper)
    return ttw, bool(s.get("alert")), band


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--cmd", default="target/release/runway forecast")
    ap.add_argument("--cuts", type=int, default=60)
    ap.add_argument("--eval", help="folder of backtest.py (default: ../eval beside the data)")
    ap.add_argument("--combinations", type=int, default=0, metavar="K",
                    help="also list the K best medians of two or three of runway and the simple "
                         "forecasters (per cut: the middle of three, the geometric mean of two)")
    a = ap.parse_args()
    bt, data = protocol(a.manifest, a.eval)

    # results[forecaster][series] = [(err, alerted, truth)]
    results = collections.defaultdict(lambda: collections.defaultdict(list))
    # times[forecaster] = [predicted time or None], every cut in order;
    # truths[i] the true time to the crossing at cut i
    times = collections.defaultdict(list)
    truths = []
    banded = held = 0  # runway's 90% band: cuts where it gave one, and held the truth
    for m, _, cut, tau, ts, vs, k, wall, rising, lead in cuts(bt, data, a.manifest, a.cuts, bt.TREND):
        seen_t, seen_v = ts[:k], vs[:k]
        answers = {name: (lambda p: (p, p is not None and p <= lead))(
            line_ttw(seen_t, seen_v, cut, wall, rising, **kw))
            for name, kw in SIMPLE.items()}
        ttw, alerted, band = runway(a.cmd, seen_t, seen_v, cut, wall, rising, lead)
        answers["runway"] = (ttw, alerted)
        if band is not None:
            banded += 1
            held += band[0] <= tau <= band[1]
        truths.append(tau)
        for name, (p, alerted) in answers.items():
            times[name].append(p)
            err = CAP if p is None or p <= 0 else min(abs(math.log(p / tau)), CAP)
            results[name][m["series_id"]].append((err, alerted, tau <= lead))

    series = list(results["runway"].keys())
    within = lambda rows: sum(1 for e, _, _ in rows if e <= WITHIN)
    wrong = lambda rows: sum(1 for _, al, tr in rows if al != tr)
    total = sum(len(results["runway"][s]) for s in series)
    print(f"{total} trend cuts; eta_err_median <= {WITHIN} needs {total // 2 + 1} within a factor {math.exp(WITHIN):.2f}\n")
    print("| series | runway within | best with hindsight | its within |")
    print("|---|---|---|---|")
    best_within = 0
    tp = fp = fn = 0
    for s in series:
        pick = max(results, key=lambda f: within(results[f][s]))
        best_within += within(results[pick][s])
        print(f"| {s} | {within(results['runway'][s])} | {pick} | {within(results[pick][s])} |")
        alerts = min(results, key=lambda f: wrong(results[f][s]))
        for _, al, tr in results[alerts][s]:
            tp += al and tr
            fp += al and not tr
            fn += (not al) and tr
    ours = sum(within(results["runway"][s]) for s in series)
    prec, rec = tp / max(1, tp + fp), tp / max(1, tp + fn)
    print(f"\nwithin the factor: runway {ours}, hindsight choice {best_within}, needed {total // 2 + 1}")
    print(f"alert F1 of the hindsight choice (fewest wrong alerts per series): "
          f"{2 * prec * rec / max(1e-9, prec + rec):.3f} (tp {tp}, fp {fp}, fn {fn})")
    print(f"runway's 90% band held the crossing at {held} of the {banded} cuts where it gave one "
          f"({held / max(1, banded):.0%}; {held / max(1, total):.0%} of all {total})")

    # Where the cuts within reach are: by how many of the simple forecasters
    # came within the factor at that cut, and how often runway did there.
    groups = collections.Counter()
    ours_in = collections.Counter()
    for s in series:
        for j, (e, _, _) in enumerate(results["runway"][s]):
            hits = sum(1 for f in SIMPLE if results[f][s][j][0] <= WITHIN)
            group = "none" if hits == 0 else "a majority" if 2 * hits > len(SIMPLE) else "a minority"
            groups[group] += 1
            ours_in[group] += e <= WITHIN
    print(f"\ncuts by how many of the {len(SIMPLE)} simple forecasters came within the factor:")
    for group in ("none", "a minority", "a majority"):
        print(f"  {group}: {groups[group]} cuts, runway within at {ours_in[group]}")
    if a.combinations > 0:
        combinations(times, truths, a.combinations)


def combined(readings):
    """The middle of three times, or the geometric mean of two (the one
    time, when the other is never). None, or a time not after now, counts
    as never: neither is within the factor of a crossing still to come."""
    ts = sorted(math.inf if p is None or p <= 0 else p for p in readings)
    if len(ts) == 3:
        return ts[1]
    if math.isinf(ts[1]):
        return ts[0]
    return math.sqrt(ts[0] * ts[1])


def combinations(times, truths, k):
    """How many cuts each median of two or three forecasters puts within
    the factor: what combining runway with simple readings could reach."""
    names = list(times)
    scored = []
    for r in (2, 3):
        for group in itertools.combinations(names, r):
            hits = 0
            for tau, cut in zip(truths, zip(*(times[n] for n in group))):
                p = combined(cut)
                hits += math.isfinite(p) and p > 0 and abs(math.log(p / tau)) <= WITHIN
            scored.append((hits, group))
    scored.sort(key=lambda x: -x[0])
    print(f"\nthe {k} best medians of two or three forecasters (within the factor):")
    for hits, group in scored[:k]:
        print(f"  {hits}: {', '.join(group)}")


if __name__ == "__main__":
    sys.exit(main())
