#!/usr/bin/env python3
"""Generated SRE shapes with exact truth: two runway builds compared, forecast by forecast.

    scripts/shapes.py BASE_BINARY NEW_BINARY [--threads 2] [--out results.md]

Warm-ups that level off under or over their wall, ramps that settle into a
steady climb, a warm-up with a leak, a slow fill that levels off, a restart
bump on a linear fill, growth as the square root of time, and two controls (a linear fill, a drifting random
walk), each over tens of seeds (deterministic: `random.Random` seeded by the
scenario and the seed) and several cuts. At each cut both binaries forecast
from the samples up to it (`runway forecast --output json`); the truth is
when the noise-free signal first reaches the wall (the random walk: its own
path). The report counts, per scenario and build, the cuts whose wall is
within the lead ("due") and how many of them paged, the pages where the
wall was further away, the forecasts without a time, and the median eta
error; then the same seed and cut compared between the builds (pages lost
and gained, times worse or better by more than 1.25x). Written for the
trends that level off (session 17): what a change to the forecaster does to
shapes where such a trend must win and where it must not. Scenario 10 (session
28): connection pools with a floor under a daily swing, whose time must not
depend on the hour of the cut (`--only "10 pool"` runs them alone).
"""
import argparse, json, math, os, random, subprocess, sys, statistics, tempfile
from concurrent.futures import ThreadPoolExecutor

MIN, HOUR, DAY = 60, 3600, 86400
T0 = 1_700_000_000
LN10 = math.log(10)
LN15 = math.log(1.5)
VARIANTS = ("BASE", "NEW")
CROSSINGS = {}
ONLY = ""  # --only: the scenarios whose name contains it


def ar1(rng, n, sd, phi):
    """Stationary AR(1) noise with marginal sd."""
    e = rng.gauss(0, sd)
    out = []
    inn = sd * math.sqrt(1 - phi * phi)
    for _ in range(n):
        out.append(e)
        e = phi * e + rng.gauss(0, inn)
    return out


def first_cross(f, wall, t_from, t_to, step=5.0):
    """First t >= t_from with f(t) >= wall (noise-free), scanned at `step` s then bisected."""
    t = t_from
    if f(t) >= wall:
        return t
    while t < t_to:
        t2 = t + step
        if f(t2) >= wall:
            lo, hi = t, t2
            for _ in range(40):
                mid = (lo + hi) / 2
                if f(mid) >= wall:
                    hi = mid
                else:
                    lo = mid
            return hi
        t = t2
    return math.inf


# ---------------------------------------------------------------- scenarios
# Each scenario: dict(name, params, wall, lead, dt, seeds, cuts (seconds since start),
#                     f (noise-free signal) and noise sd/phi, or rw (a random walk's path), horizon)

def scenario(name, params, wall, lead, cuts, f, horizon, seeds=40, dt=5 * MIN, sd=0.5, phi=0.5,
             scan=5.0):
    """One scenario of a noise-free signal `f` under AR(1) noise; the defaults are the
    common case (40 seeds, 5-minute samples, noise sd 0.5 and phi 0.5). `scan`: the step in
    seconds at which the crossing is looked for before it is bisected."""
    return dict(name=name, params=params, wall=wall, lead=lead, dt=dt, seeds=range(seeds),
                cuts=list(cuts), f=f, sd=sd, phi=phi, horizon=horizon, scan=scan)


def make_scenarios():
    S = []

    # 1. warm-up levelling off UNDER the wall (never reaches). 1-minute samples.
    for lead, tag in ((HOUR, "1h"), (DAY, "1d")):
        S.append(scenario(
            name=f"1 warm-up under wall (lead {tag})",
            params="v=60-40*exp(-t/30m), AR(1) sd 0.5 phi 0.7, 1-min samples, wall 80, "
                   f"cuts 30m,45m,1h,1.5h,2h,3h after restart, lead {tag}",
            wall=80.0, lead=lead, dt=MIN, seeds=60,
            cuts=[30 * MIN, 45 * MIN, 60 * MIN, 90 * MIN, 120 * MIN, 180 * MIN],
            f=lambda t: 60 - 40 * math.exp(-t / (30 * MIN)),
            sd=0.5, phi=0.7, horizon=30 * DAY))

    # 2. warm-up whose plateau is ABOVE the wall. crossing at 2h*ln(13) = 5.13h
    f2 = lambda t: 85 - 65 * math.exp(-t / (2 * HOUR))
    S.append(scenario(
        name="2 warm-up plateau over wall",
        params="v=85-65*exp(-t/2h), AR(1) sd 0.5 phi 0.7, 1-min samples, wall 80 (crossing 5.13h), "
               "cuts every 15m from 30m to crossing, lead 1h",
        wall=80.0, lead=HOUR, dt=MIN, seeds=60,
        cuts=range(30 * MIN, int(5.13 * HOUR), 15 * MIN),
        f=f2, sd=0.5, phi=0.7, horizon=2 * DAY))

    # 3. linear fill + restart bump at day 2 (+5, tau 1h). Linear 20 -> 80 in 5 days.
    def f3(t):
        v = 20 + 60 * t / (5 * DAY)
        if t >= 2 * DAY:
            v += 5 * math.exp(-(t - 2 * DAY) / HOUR)
        return v
    S.append(scenario(
        name="3 linear fill + restart bump",
        params="v=20+60*t/5d, +5*exp(-(t-2d)/1h) from day 2, AR(1) sd 0.5 phi 0.5, 5-min samples, "
               "wall 80 (crossing 5d), cuts every 3h from 2.5d to crossing, lead 1d",
        wall=80.0, lead=DAY, cuts=range(int(2.5 * DAY), 5 * DAY, 3 * HOUR),
        f=f3, horizon=10 * DAY))

    # 4. connection-pool ramp slowing to a steady climb: 10 + 40(1-exp(-t/2h)) + b t, b = 40/7d
    f4 = lambda t: 10 + 40 * (1 - math.exp(-t / (2 * HOUR))) + (40 / (7 * DAY)) * t
    S.append(scenario(
        name="4 pool ramp -> steady climb",
        params="v=10+40*(1-exp(-t/2h))+(40/7d)*t, AR(1) sd 0.5 phi 0.5, 5-min samples, wall 90 "
               "(crossing ~7d), cuts every 6h from 12h to crossing, lead 1d",
        wall=90.0, lead=DAY, cuts=range(12 * HOUR, 7 * DAY, 6 * HOUR),
        f=f4, horizon=20 * DAY))

    # 5. warm-up with a leak: 50 - 30 exp(-t/1h) + leak t, leak = 40/3d
    f5 = lambda t: 50 - 30 * math.exp(-t / HOUR) + (40 / (3 * DAY)) * t
    S.append(scenario(
        name="5 warm-up + leak",
        params="v=50-30*exp(-t/1h)+(40/3d)*t, AR(1) sd 0.5 phi 0.5, 5-min samples, wall 90 "
               "(crossing ~3d), cuts every 3h from 3h to crossing, lead 1d",
        wall=90.0, lead=DAY, cuts=range(3 * HOUR, 3 * DAY, 3 * HOUR),
        f=f5, horizon=20 * DAY))

    # 6. slow level-off over the wall: 100 - 80 exp(-t/4d), wall 95, crossing 4d*ln16 = 11.09d
    f6 = lambda t: 100 - 80 * math.exp(-t / (4 * DAY))
    S.append(scenario(
        name="6 slow level-off over wall",
        params="v=100-80*exp(-t/4d), AR(1) sd 0.5 phi 0.5, 5-min samples over 14d, wall 95 "
               "(crossing 11.09d), cuts every 12h from 1d to crossing, lead 3d",
        wall=95.0, lead=3 * DAY, cuts=range(1 * DAY, int(11.09 * DAY), 12 * HOUR),
        f=f6, horizon=40 * DAY))

    # 7. control: plain linear fill
    f7 = lambda t: 20 + 60 * t / (5 * DAY)
    S.append(scenario(
        name="7 control: linear fill",
        params="v=20+60*t/5d, AR(1) sd 1.0 phi 0.5, 5-min samples, wall 80 (crossing 5d), "
               "cuts every 6h from 1d to crossing, lead 1d",
        wall=80.0, lead=DAY, cuts=range(1 * DAY, 5 * DAY, 6 * HOUR),
        f=f7, sd=1.0, phi=0.5, horizon=20 * DAY))

    # 8. control: random walk with upward drift. truth = realised path's first sample >= wall.
    S.append(dict(
        name="8 control: drifting random walk",
        params="x0=20, step drift 60/1440 per 5m (drift line reaches 80 at 5d), step sd 0.4, "
               "5-min samples, wall 80, cuts every 6h from 1d until the realised path reaches the wall, "
               "lead 1d; truth = realised path's first crossing",
        wall=80.0, lead=DAY, dt=5 * MIN, seeds=range(40),
        cuts=[c for c in range(1 * DAY, 8 * DAY, 6 * HOUR)],
        f=None, rw=dict(x0=20.0, drift=60 / 1440, sd=0.4), horizon=40 * DAY))

    # 9. growth as the square root of time: its rate falls for ever, and it never levels off
    # (session 13's saturating prototype read it as a plateau).
    f9 = lambda t: 10 + 5 * math.sqrt(t / HOUR)
    S.append(scenario(
        name="9 square-root growth",
        params="v=10+5*sqrt(t/1h), AR(1) sd 0.5 phi 0.5, 5-min samples, wall 60 (crossing 100h), "
               "cuts every 6h from 6h to crossing, lead 1d",
        wall=60.0, lead=DAY, cuts=range(6 * HOUR, 100 * HOUR, 6 * HOUR),
        f=f9, horizon=10 * DAY))

    # ---- probes added after the first pass: same shapes, parameters moved so that the
    # ---- early (ramp/warm-up dominated) cuts are due, or the bump is larger.
    f3b = lambda t: 20 + 60 * t / (5 * DAY) + (15 * math.exp(-(t - 2 * DAY) / (3 * HOUR)) if t >= 2 * DAY else 0)
    S.append(scenario(
        name="3b probe: linear fill + big restart bump",
        params="v=20+60*t/5d, +15*exp(-(t-2d)/3h) from day 2, AR(1) sd 0.5 phi 0.5, 5-min samples, "
               "wall 80 (crossing 5d), cuts every 3h from 2.5d to crossing, lead 1d",
        wall=80.0, lead=DAY, seeds=20,
        cuts=range(int(2.5 * DAY), 5 * DAY, 3 * HOUR),
        f=f3b, horizon=10 * DAY))
    S.append(scenario(
        name="4b probe: pool ramp -> fast climb",
        params="v=10+40*(1-exp(-t/2h))+(40/2d)*t, AR(1) sd 0.5 phi 0.5, 5-min samples, wall 90 "
               "(crossing ~2d), cuts every 2h from 4h to crossing, lead 1d",
        wall=90.0, lead=DAY, cuts=range(4 * HOUR, 2 * DAY, 2 * HOUR),
        f=lambda t: 10 + 40 * (1 - math.exp(-t / (2 * HOUR))) + (40 / (2 * DAY)) * t,
        horizon=20 * DAY))
    S.append(scenario(
        name="4c probe: scenario 4 with lead 7d",
        params="as scenario 4 (v=10+40*(1-exp(-t/2h))+(40/7d)*t, wall 90, crossing ~7d) but lead 7d, "
               "cuts every 6h from 12h to 66h (all due)",
        wall=90.0, lead=7 * DAY, cuts=range(12 * HOUR, 67 * HOUR, 6 * HOUR),
        f=f4, horizon=20 * DAY))
    S.append(scenario(
        name="5b probe: warm-up + fast leak",
        params="v=50-30*exp(-t/1h)+(40/1.5d)*t, AR(1) sd 0.5 phi 0.5, 5-min samples, wall 90 "
               "(crossing ~1.5d), cuts every 2h from 2h to crossing, lead 1d",
        wall=90.0, lead=DAY, cuts=range(2 * HOUR, int(1.5 * DAY), 2 * HOUR),
        f=lambda t: 50 - 30 * math.exp(-t / HOUR) + (40 / (1.5 * DAY)) * t,
        horizon=20 * DAY))
    S.append(scenario(
        name="5c probe: slow warm-up + leak",
        params="v=50-30*exp(-t/3h)+(40/3d)*t, AR(1) sd 0.5 phi 0.5, 5-min samples, wall 90 "
               "(crossing ~3d), cuts every 3h from 6h to crossing, lead 1d",
        wall=90.0, lead=DAY, seeds=30,
        cuts=range(6 * HOUR, 3 * DAY, 3 * HOUR),
        f=lambda t: 50 - 30 * math.exp(-t / (3 * HOUR)) + (40 / (3 * DAY)) * t,
        horizon=20 * DAY))

    # 10. connection pools under a daily swing, a week of history: idle connections (the
    # floor, which does not swing) plus a share of a load that compounds and swings by a
    # share of itself. The wall is first met at the busiest hour. Eight cuts three hours
    # apart over the last day: the time to wall should not depend on the hour.
    for growth in (0.02, 0.03, 0.04):
        for swing in (0.3, 0.5):
            for floor in (0, 20, 40):
                amount = (65 - floor) / (1 + swing)
                def f10(t, g=growth, s=swing, c=floor, a=amount):
                    d = t / DAY
                    return c + a * (1 + g) ** d * (1 + s * math.sin(2 * math.pi * d))
                S.append(scenario(
                    name=f"10 pool, floor {floor}, +{growth:.0%}/day, swing ±{swing:.0%}",
                    params=f"v={floor}+{amount:.2f}*{1 + growth}^(t/1d)*(1+{swing}*sin(2 pi t/1d)), "
                           "peaks 65 at t=0, AR(1) sd 0.5 phi 0.5, 5-min samples, wall 100, "
                           "cuts every 3h from 7d to 7d21h, lead 3d",
                    wall=100.0, lead=3 * DAY, seeds=4,
                    cuts=range(7 * DAY, 8 * DAY, 3 * HOUR),
                    f=f10, horizon=60 * DAY, scan=60.0))
    return [sc for sc in S if ONLY in sc["name"]]


def jobs_for(sc):
    """(scenario name, seed, cut, values, index of the cut's sample, truth seconds from the cut; inf: never)."""
    jobs = []
    dt = sc["dt"]
    for seed in sc["seeds"]:
        rng = random.Random(f"{sc['name']}|{seed}")
        if sc.get("rw"):
            p = sc["rw"]
            n = int(sc["horizon"] // dt) + 1
            vals, x = [], p["x0"]
            for _ in range(n):
                vals.append(x)
                x += p["drift"] + rng.gauss(0, p["sd"])
            cross_idx = next((i for i, v in enumerate(vals) if v >= sc["wall"]), None)
            t_cross = math.inf if cross_idx is None else cross_idx * dt
        else:
            n = int(max(sc["cuts"]) // dt) + 1
            noise = ar1(rng, n, sc["sd"], sc["phi"])
            vals = [sc["f"](i * dt) + noise[i] for i in range(n)]
            t_cross = None  # computed per cut from noise-free f
        for cut in sc["cuts"]:
            k = cut // dt  # index of last sample (time == cut)
            if sc.get("rw"):
                if cut >= t_cross:
                    continue  # path already at/over the wall: not a forecast question
                truth = t_cross - cut
            else:
                # The noise-free crossing is the same for every seed.
                key = (sc["name"], cut)
                if key not in CROSSINGS:
                    CROSSINGS[key] = first_cross(sc["f"], sc["wall"], cut, cut + sc["horizon"],
                                                 sc["scan"])
                tc = CROSSINGS[key]
                truth = tc - cut
                if truth <= 0:
                    continue
            jobs.append((sc["name"], seed, cut, vals, k, truth))
    return jobs


def run_one(args):
    sc, job, variant, binary, tmp = args
    name, seed, cut, vals, k, truth = job
    dt = sc["dt"]
    fd, path = tempfile.mkstemp(suffix=".csv", dir=tmp)
    with os.fdopen(fd, "w") as fh:
        fh.write("timestamp,value\n")
        for i in range(k + 1):
            fh.write(f"{T0 + i * dt},{vals[i]:.4f}\n")
    cmd = [binary, "forecast", "--input", path, "--wall", str(sc["wall"]), "--direction", "rising",
           "--lead", str(sc["lead"]), "--output", "json"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.unlink(path)
    try:
        s = json.loads(p.stdout)["series"][0]
    except (ValueError, KeyError, IndexError):
        return dict(scenario=name, seed=seed, cut=cut, truth=truth, variant=variant, error=p.stderr[-300:])
    return dict(scenario=name, seed=seed, cut=cut, truth=None if math.isinf(truth) else truth,
                variant=variant, ttw=s.get("time_to_wall_seconds"), alert=s.get("alert"),
                status=s.get("status"), lo=s.get("time_to_wall_lower_seconds"),
                hi=s.get("time_to_wall_upper_seconds"), reason=s.get("reason", ""))


def run(binaries, threads):
    with tempfile.TemporaryDirectory() as tmp:
        tasks = [(sc, job, v, binaries[v], tmp)
                 for sc in make_scenarios() for job in jobs_for(sc) for v in VARIANTS]
        print(f"{len(tasks)} forecasts", file=sys.stderr)
        with ThreadPoolExecutor(max_workers=threads) as ex:
            return list(ex.map(run_one, tasks, chunksize=16))


# ---------------------------------------------------------------- report

def lnerr(r, dt):
    """|ln(pred/truth)| capped at ln 10; no time (null) -> ln 10; predicted 0 (breached) floored at one sample."""
    if r["truth"] is None:
        return None
    if r.get("ttw") is None:
        return LN10
    pred = max(r["ttw"], dt)
    return min(abs(math.log(pred / r["truth"])), LN10)


def report(rows, binaries):
    scs = {sc["name"]: sc for sc in make_scenarios()}
    errs = [r for r in rows if "error" in r]
    by = {}
    for r in rows:
        if "error" in r:
            continue
        by.setdefault((r["scenario"], r["seed"], r["cut"]), {})[r["variant"]] = r
    lines = ["# runway shapes: BASE vs NEW", "",
             f"BASE: `{binaries['BASE']}`; NEW: `{binaries['NEW']}`.", "",
             "Generated by `scripts/shapes.py`. Rising walls. Truth = first time the noise-free signal reaches the wall "
             "(scenario 8: the realised random-walk path). `due` = truth <= lead. `false` = paged while truth > lead "
             "or never. `med|ln|` = median |ln(pred/truth)| over cuts with a finite truth (null time -> ln 10; "
             "all values capped at ln 10; predicted 0 floored at one sample interval). `<=1.5x` = share with "
             "|ln| <= ln 1.5.", ""]
    if errs:
        lines += [f"**{len(errs)} forecasts failed**: {errs[0]['error']}", ""]
    hdr = ("| scenario | variant | cuts | due | due paged | false pages | null time | med\\|ln\\| | <=1.5x |")
    lines += [hdr, "|---|---|---|---|---|---|---|---|---|"]
    paired = []
    detail = []
    for name, sc in scs.items():
        keys = sorted(k for k in by if k[0] == name)
        for v in VARIANTS:
            rs = [by[k][v] for k in keys if v in by[k]]
            due = [r for r in rs if r["truth"] is not None and r["truth"] <= sc["lead"]]
            notdue = [r for r in rs if r["truth"] is None or r["truth"] > sc["lead"]]
            le = [lnerr(r, sc["dt"]) for r in rs if r["truth"] is not None]
            med = f"{statistics.median(le):.3f}" if le else "n/a (never)"
            within = f"{sum(e <= LN15 for e in le) / len(le):.1%}" if le else "n/a"
            nnull = sum(r["ttw"] is None for r in rs)
            lines.append(f"| {name} | {v} | {len(rs)} | {len(due)} | {sum(r['alert'] for r in due)} | "
                         f"{sum(r['alert'] for r in notdue)} | {nnull} | {med} | {within} |")
        # paired comparison
        both = [by[k] for k in keys if len(by[k]) == 2]
        lost = [p for p in both if p["BASE"]["truth"] is not None and p["BASE"]["truth"] <= sc["lead"]
                and p["BASE"]["alert"] and not p["NEW"]["alert"]]
        gained = [p for p in both if p["BASE"]["truth"] is not None and p["BASE"]["truth"] <= sc["lead"]
                  and not p["BASE"]["alert"] and p["NEW"]["alert"]]
        nd = lambda p: p["BASE"]["truth"] is None or p["BASE"]["truth"] > sc["lead"]
        fadd = [p for p in both if nd(p) and p["NEW"]["alert"] and not p["BASE"]["alert"]]
        frem = [p for p in both if nd(p) and p["BASE"]["alert"] and not p["NEW"]["alert"]]
        worse = better = changed = 0
        for p in both:
            if p["BASE"]["ttw"] != p["NEW"]["ttw"]:
                changed += 1
            eb, en = lnerr(p["BASE"], sc["dt"]), lnerr(p["NEW"], sc["dt"])
            if eb is None:
                continue
            if en > eb + math.log(1.25):
                worse += 1
            elif eb > en + math.log(1.25):
                better += 1
        lev = sum("levelling off" in p["NEW"]["reason"] for p in both)
        paired.append(f"| {name} | {len(both)} | {changed} | {lev} | {len(lost)} | {len(gained)} | "
                      f"{len(fadd)} | {len(frem)} | {worse} | {better} |")
        # per-cut breakdown where anything differs
        if changed:
            detail.append(f"\n### {name}\n\n{sc['params']}\n")
            detail.append("| cut (h) | truth (h) | n | BASE paged | NEW paged | BASE med pred (h) | NEW med pred (h) "
                          "| BASE med\\|ln\\| | NEW med\\|ln\\| | NEW reason mentions levelling off |")
            detail.append("|---|---|---|---|---|---|---|---|---|---|")
            cuts = sorted(set(k[2] for k in keys))
            for c in cuts:
                ps = [by[k] for k in keys if k[2] == c and len(by[k]) == 2]
                if not ps:
                    continue
                trl = [p["BASE"]["truth"] for p in ps if p["BASE"]["truth"] is not None]
                trs = "never" if not trl else f"{statistics.median(trl) / HOUR:.1f}"
                if trl and sc.get("rw"):
                    trs += " (median)"
                def mp(v):
                    xs = [p[v]["ttw"] for p in ps if p[v]["ttw"] is not None]
                    nn = len(ps) - len(xs)
                    s = f"{statistics.median(xs) / HOUR:.1f}" if xs else "-"
                    return s + (f" ({nn} null)" if nn else "")
                def me(v):
                    xs = [lnerr(p[v], sc["dt"]) for p in ps]
                    return "-" if xs[0] is None else f"{statistics.median(xs):.3f}"
                detail.append(f"| {c / HOUR:.2f} | {trs} | {len(ps)} | {sum(p['BASE']['alert'] for p in ps)} | "
                              f"{sum(p['NEW']['alert'] for p in ps)} | {mp('BASE')} | {mp('NEW')} | {me('BASE')} | "
                              f"{me('NEW')} | {sum('levelling off' in p['NEW']['reason'] for p in ps)} |")
    lines += ["", "## Paired (same seed and cut), NEW vs BASE", "",
              "`worse`/`better` = NEW |ln err| more than ln 1.25 above/below BASE's (cuts with finite truth).", "",
              "| scenario | pairs | time changed | NEW reason has 'levelling off' | due pages lost | due pages gained "
              "| false pages added | false pages removed | times worse | times better |",
              "|---|---|---|---|---|---|---|---|---|---|"] + paired
    # lost due pages by what NEW said instead
    lines += ["", "## Due pages lost by NEW (BASE paged, NEW did not), by what NEW returned", "",
              "`null/receding` = NEW gave no time (status receding); `time, no page` = NEW gave a time but did not "
              "page (`alert waits` = its reason contains 'the alert waits'); `truth==lead` = cut where the truth "
              "equals the lead to within a minute (borderline).", "",
              "| scenario | null/receding | time, no page (alert waits) | time, no page (other) | of which truth==lead |",
              "|---|---|---|---|---|"]
    for name, sc in scs.items():
        c = {"null": 0, "waits": 0, "other": 0, "border": 0}
        for k in by:
            if k[0] != name or len(by[k]) != 2:
                continue
            b, n = by[k]["BASE"], by[k]["NEW"]
            if b["truth"] is not None and b["truth"] <= sc["lead"] and b["alert"] and not n["alert"]:
                c["null" if n["ttw"] is None else ("waits" if "alert waits" in n["reason"] else "other")] += 1
                c["border"] += abs(b["truth"] - sc["lead"]) < 60
        if c["null"] + c["waits"] + c["other"]:
            lines.append(f"| {name} | {c['null']} | {c['waits']} | {c['other']} | {c['border']} |")
    lines += ["", "## Scenario parameters", ""] + [f"- **{n}**: {s['params']}; seeds {len(s['seeds'])}"
                                                    for n, s in scs.items()]
    lines += ["", "## Per-cut breakdown (scenarios where any NEW time differs from BASE)"] + detail
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", help="the runway binary to compare against")
    ap.add_argument("new", help="the runway binary with the change")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--only", default="", help="only the scenarios whose name contains this")
    a = ap.parse_args()
    global ONLY
    ONLY = a.only
    binaries = {"BASE": a.base, "NEW": a.new}
    for b in binaries.values():
        if not os.access(b, os.X_OK):
            sys.exit(f"shapes.py: {b}: not an executable")
    text = report(run(binaries, a.threads), binaries)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
