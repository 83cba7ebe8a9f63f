//! PURE: a limit's history kept between evaluations, so that an evaluation
//! asks the source for the newest points only.
//!
//! A range query's points sit on a grid of whole steps (see
//! `engine::grid`), and a point of the grid, once the samples before it
//! have arrived, is what the next query returns for it too: each point is
//! evaluated on its own, from the samples up to it. So the history an
//! evaluation needs is the last one's, its oldest points dropped, and the
//! points since its end. The newest of those are asked for again
//! ([`overlap`]): a sample that arrives a little late (a slow scrape, a
//! remote write) changes the points near the end, and a series that stopped
//! reporting is carried forward for Prometheus' staleness window. Samples
//! later than that (an agent flushing an hour's backlog) are seen when the
//! whole lookback is fetched again, as it is every
//! `evaluation.refetch_every`. A re-asked point that is not the newest kept
//! and reads otherwise than it was kept says the past changed under runway
//! (a database restored or replaced, another replica answering): the whole
//! lookback is fetched at once.
//!
//! At the defaults (a week at five minutes, an evaluation a minute) an
//! evaluation then asks for about 4 of each series' 2,017 points. What is
//! kept costs 8 bytes a point (see `Packed`). A whole fetch of more points
//! a series than `source.points_per_request` is asked in pieces, whose
//! answers are joined ([`pieces`], [`Joined`]).

use std::cmp::Ordering;

use std::sync::Arc;

use crate::model::{Labels, Sample, Series, UnixSeconds};

/// What an evaluation asks the source for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ask {
    /// The whole range: nothing is kept, or what is kept cannot be
    /// extended (another query or step, too old, due to be fetched again).
    Whole,
    /// The points from this time (on the grid) to the range's end; the
    /// kept history holds the rest.
    Since(UnixSeconds),
}

/// The seconds before the kept end that an evaluation asks for again: the
/// points whose value can still change as samples arrive. Prometheus carries
/// a series' last sample forward for its staleness window (`stale`, in the
/// engine, allows the same) and a grid point can miss two steps of it.
pub fn overlap(step: f64) -> f64 {
    STALENESS_SECONDS + 2.0 * step
}

/// Prometheus' default lookback delta: a range query repeats a series' last
/// sample for this long after it stops being scraped.
pub const STALENESS_SECONDS: f64 = 300.0;

/// The points of the grid from `start` (on it) up to `end`, at `step`: a
/// range whose end is off the grid ends at the last point before it, as
/// the query's does.
fn points(start: UnixSeconds, end: UnixSeconds, step: f64) -> usize {
    if step > 0.0 && end > start {
        ((end - start) / step + 1e-9).floor() as usize + 1
    } else {
        1
    }
}

/// The ranges a range query over `[start, end]` at `step` is asked in, so
/// that none holds more than `max_points` points of the grid a series (0:
/// one range, whatever its length): consecutive, not overlapping, as even
/// as the count allows, together every point of the grid from `start` to
/// `end`. A query engine holds a query's points in memory while it answers
/// (Prometheus refuses one of more than `--query.max-samples`, 50 million
/// by default), and so does runway while it reads the answer: asked in
/// pieces, one after another, both hold a piece's at a time. Each point of
/// a range query is evaluated on its own, from the samples up to it, so
/// the pieces' answers, joined ([`Joined`]), are the whole range's.
pub fn pieces(
    start: UnixSeconds,
    end: UnixSeconds,
    step: f64,
    max_points: usize,
) -> Vec<(UnixSeconds, UnixSeconds)> {
    let count = points(start, end, step);
    if max_points == 0 || count <= max_points {
        return vec![(start, end)];
    }
    let k = count.div_ceil(max_points);
    (0..k)
        .map(|i| {
            let (first, next) = (i * count / k, (i + 1) * count / k);
            let to = if i + 1 == k {
                end
            } else {
                start + (next - 1) as f64 * step
            };
            (start + first as f64 * step, to)
        })
        .collect()
}

/// The whole range's series, joined from the answers for its [`pieces`] as
/// they come, in their order, and packed (see [`Packed`]) as they come:
/// each label set's points from every piece that has it, in time order,
/// in label order. A piece's points are unpacked only while it is added.
#[derive(Debug)]
pub struct Joined {
    step: f64,
    /// Room for a series' values: the range's points.
    points: usize,
    /// The pieces added so far.
    added: usize,
    /// Each series, and the piece (counted from 1) that last added to it.
    by_labels: std::collections::BTreeMap<Labels, (usize, Packed)>,
}

impl Joined {
    /// Nothing yet, of the range `[start, end]` of a grid of `step`.
    pub fn new(step: f64, (start, end): (UnixSeconds, UnixSeconds)) -> Self {
        Joined {
            step,
            points: points(start, end, step),
            added: 0,
            by_labels: Default::default(),
        }
    }

    /// Adds the next piece's answer. `false` when it holds a label set
    /// twice (metrics that differ only in their name), whose points cannot
    /// be told apart from one piece to the next: the whole range is then
    /// to be asked at once.
    #[must_use]
    pub fn add(&mut self, answer: Vec<Series>) -> bool {
        self.added += 1;
        let (step, points, piece) = (self.step, self.points, self.added);
        for series in answer {
            let (last, packed) = self
                .by_labels
                .entry(series.labels)
                .or_insert_with_key(|labels| {
                    let mut p = Packed::empty(labels.clone(), step);
                    p.values.reserve_exact(points.max(series.samples.len()));
                    (0, p)
                });
            if *last == piece {
                return false;
            }
            *last = piece;
            for sample in series.samples {
                packed.push(sample);
            }
        }
        true
    }

    /// The series, in label order (a series that did not report over the
    /// whole range gives back the room it did not use).
    pub fn series(self) -> Vec<Packed> {
        self.by_labels
            .into_values()
            .map(|(_, mut p)| {
                p.values.shrink_to_fit();
                p.runs.shrink_to_fit();
                p
            })
            .collect()
    }
}

/// `answer`, each series packed (see [`Packed`]) and let go of in turn.
pub fn pack(answer: Vec<Series>, step: f64) -> Vec<Packed> {
    answer.into_iter().map(|s| Packed::new(s, step)).collect()
}

/// One query's series over a grid, kept from one evaluation to the next.
#[derive(Debug, Default)]
pub struct History {
    /// What it answers: the query and its step. `None` holds nothing.
    key: Option<(String, f64)>,
    /// When the whole range was last fetched.
    whole_at: UnixSeconds,
    /// The range it holds: it is extended only for a range that begins
    /// no earlier (a longer lookback is fetched whole).
    from: UnixSeconds,
    end: UnixSeconds,
    /// The series, ordered by their labels, no label set twice; shared
    /// with the evaluation that forecasts them.
    series: Vec<Arc<Packed>>,
}

/// A series as runway keeps it, its points stored as runs of consecutive
/// points of the grid: the time of each run's first and how many, then
/// every value in order. A range query's points are on the grid, so a
/// series is one run per gap in its reporting, and 8 bytes a point rather
/// than a `Sample`'s 16. (A point off the grid, from a source that places
/// them so, is a run of its own: it is kept all the same.) Unpacked, every
/// time is the one the source gave, to the bit. A limit's series are held
/// so from the answer on, and unpacked a few at a time, as they are
/// forecast.
#[derive(Debug)]
pub struct Packed {
    labels: Labels,
    /// The grid's step (0: every point is a run).
    step: f64,
    runs: Vec<(UnixSeconds, u32)>,
    values: Vec<f64>,
}

impl Packed {
    /// `series` on a grid of `step`.
    pub fn new(series: Series, step: f64) -> Self {
        let mut packed = Packed::empty(series.labels, step);
        packed.values.reserve_exact(series.samples.len());
        for s in series.samples {
            packed.push(s);
        }
        packed.runs.shrink_to_fit();
        packed
    }

    fn empty(labels: Labels, step: f64) -> Self {
        Packed {
            labels,
            step,
            runs: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds a point after the others.
    fn push(&mut self, s: Sample) {
        match self.runs.last_mut() {
            Some((first, count)) if *first + f64::from(*count) * self.step == s.t => *count += 1,
            _ => self.runs.push((s.t, 1)),
        }
        self.values.push(s.v);
    }

    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The time of the newest point; `None` for a series of none.
    pub fn newest(&self) -> Option<UnixSeconds> {
        self.runs
            .last()
            .map(|&(first, count)| first + f64::from(count - 1) * self.step)
    }

    /// The series, every time and value as it came.
    pub fn unpack(&self) -> Series {
        let times = self
            .runs
            .iter()
            .flat_map(|&(first, count)| (0..count).map(move |i| first + f64::from(i) * self.step));
        Series {
            labels: self.labels.clone(),
            samples: times
                .zip(&self.values)
                .map(|(t, &v)| Sample::new(t, v))
                .collect(),
        }
    }
}

impl History {
    /// What to ask for to have `query`'s series over `[start, end]` at
    /// `step`, when the whole range is to be fetched at least every
    /// `refetch_every` seconds (0: always).
    pub fn ask(
        &self,
        query: &str,
        start: UnixSeconds,
        end: UnixSeconds,
        step: f64,
        refetch_every: f64,
    ) -> Ask {
        let same = self
            .key
            .as_ref()
            .is_some_and(|(q, s)| q == query && *s == step);
        // On the grid: a point between two of its points is another point.
        let since = ((self.end - overlap(step)) / step).floor() * step;
        if !same
            || start < self.from
            || end < self.end
            || since <= start
            || end - self.whole_at >= refetch_every
        {
            return Ask::Whole;
        }
        Ask::Since(since)
    }

    /// Keeps `series`, the whole range of `query` at `step` whose grid
    /// ends at `end`, and returns them in label order. Nothing is kept (and
    /// the whole range is fetched again) for more than `bound` series, the
    /// limit's series bound: the series forecast are the first by their
    /// labels, and one new to a later answer could sort among them with its
    /// newest points alone. Nor for a label set that comes twice (metrics
    /// that differ only in their name), which cannot be matched to the next
    /// evaluation's points.
    ///
    /// When nothing was kept before (the first evaluation), the next whole
    /// fetch is due `head_start` seconds early: the engine gives each limit
    /// its own share of `evaluation.refetch_every`, so that the limits'
    /// whole fetches, all at the first evaluation, then come spread over
    /// the interval rather than all at one evaluation each time.
    pub fn whole(
        &mut self,
        query: &str,
        step: f64,
        (start, end): (UnixSeconds, UnixSeconds),
        mut series: Vec<Packed>,
        head_start: f64,
        bound: usize,
    ) -> Vec<Arc<Packed>> {
        let whole_at = if self.key.is_none() {
            end - head_start
        } else {
            end
        };
        // What was kept goes before the answer is kept, not after.
        *self = History::default();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let series: Vec<Arc<Packed>> = series.into_iter().map(Arc::new).collect();
        if series.len() <= bound && !series.windows(2).any(|w| w[0].labels == w[1].labels) {
            *self = History {
                key: Some((query.to_string(), step)),
                whole_at,
                from: start,
                end,
                series: series.clone(),
            };
        }
        series
    }

    /// Extends the kept series with `newest`, the points from `since` to
    /// `end` (as [`History::ask`] said), and drops the points before `start`:
    /// each kept series' points from `since` on are replaced by the new
    /// answer's (none, when it has no longer any there), a series new to
    /// the answer joins with its points, and a series with no point left
    /// is gone. Returns the series, in label order; beyond `bound` of them
    /// they are not kept (see [`History::whole`]).
    ///
    /// `None`, and nothing kept (the whole range is to be fetched), when
    /// `newest` cannot extend what is kept: it holds a label set twice, or
    /// it says otherwise of a point that was kept, other than the newest
    /// (which a sample arriving a little late can still change). The past
    /// changed under runway then: a restored or replaced database, another
    /// replica behind the same address, a backfill.
    #[must_use]
    pub fn extend(
        &mut self,
        since: UnixSeconds,
        (start, end): (UnixSeconds, UnixSeconds),
        mut newest: Vec<Packed>,
        bound: usize,
    ) -> Option<Vec<Arc<Packed>>> {
        let step = self.step();
        let kept_end = self.end;
        let kept = std::mem::take(&mut self.series);
        newest.sort_by(|a, b| a.labels.cmp(&b.labels));
        if newest.windows(2).any(|w| w[0].labels == w[1].labels) {
            *self = History::default();
            return None;
        }
        // The points both answers hold, but for the kept newest one, to
        // the bit (a NaN, which Prometheus answers for 0/0, is the same
        // point each time).
        fn settled(
            series: &Option<Series>,
            (since, kept_end): (UnixSeconds, UnixSeconds),
        ) -> impl Iterator<Item = (u64, u64)> + '_ {
            series
                .iter()
                .flat_map(|s| &s.samples)
                .filter(move |s| s.t >= since && s.t < kept_end)
                .map(|s| (s.t.to_bits(), s.v.to_bits()))
        }
        let mut merged = Vec::with_capacity(kept.len().max(newest.len()));
        // One series unpacked at a time, and each kept one let go as it
        // is: a large limit's history is held packed, once (and, while it
        // is extended, twice), never unpacked whole.
        let mut kept = kept.into_iter().peekable();
        let mut newest = newest.into_iter().peekable();
        loop {
            let order = match (kept.peek(), newest.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(k), Some(n)) => k.labels.cmp(&n.labels),
            };
            let (old, new) = match order {
                Ordering::Less => (kept.next(), None),
                Ordering::Greater => (None, newest.next()),
                Ordering::Equal => (kept.next(), newest.next()),
            };
            let (old, new) = (old.map(|p| p.unpack()), new.map(|p| p.unpack()));
            if !settled(&old, (since, kept_end)).eq(settled(&new, (since, kept_end))) {
                *self = History::default();
                return None;
            }
            let mut s = match (old, new) {
                (Some(mut k), new) => {
                    k.samples.retain(|s| s.t < since);
                    if let Some(n) = new {
                        k.samples
                            .extend(n.samples.into_iter().filter(|s| s.t >= since));
                    }
                    k
                }
                (None, Some(n)) => n,
                (None, None) => continue,
            };
            let old = s.samples.partition_point(|x| x.t < start);
            s.samples.drain(..old);
            if !s.samples.is_empty() {
                merged.push(Arc::new(Packed::new(s, step)));
            }
        }
        if merged.len() > bound {
            *self = History::default();
        } else {
            self.series = merged.clone();
            self.from = start;
            self.end = end;
        }
        Some(merged)
    }

    /// The series it holds, ordered by their labels.
    #[cfg(test)]
    fn series(&self) -> Vec<Series> {
        self.series.iter().map(|p| p.unpack()).collect()
    }

    /// The grid's step (0 when nothing is kept: every point is a run).
    fn step(&self) -> f64 {
        self.key.as_ref().map_or(0.0, |(_, step)| *step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    impl History {
        /// Whether `newest` extends it, the series unbounded.
        fn extended(&mut self, since: f64, range: (f64, f64), newest: Vec<Series>) -> bool {
            self.extend(since, range, pack(newest, STEP), usize::MAX)
                .is_some()
        }
    }

    const STEP: f64 = 300.0;
    const HOUR: f64 = 3_600.0;

    fn labels(instance: &str) -> Labels {
        [("instance".to_string(), instance.to_string())].into()
    }

    /// The range query's answer for `[start, end]`: each series' points on
    /// the grid where `value` gives one.
    fn answer(
        start: f64,
        end: f64,
        value: impl Fn(&str, f64) -> Option<f64>,
        instances: &[&str],
    ) -> Vec<Series> {
        instances
            .iter()
            .filter_map(|i| {
                let n = ((end - start) / STEP).round() as usize;
                let samples: Vec<Sample> = (0..=n)
                    .map(|k| start + k as f64 * STEP)
                    .filter_map(|t| value(i, t).map(|v| Sample::new(t, v)))
                    .collect();
                (!samples.is_empty()).then(|| Series::new(labels(i), samples))
            })
            .collect()
    }

    #[test]
    fn a_long_range_is_asked_in_even_pieces_that_hold_every_point_once() {
        // A week at five minutes: 2,017 points, in pieces of at most 300.
        let (start, end) = (1_700_000_100.0, 1_700_000_100.0 + 7.0 * 86_400.0);
        let pieces = pieces(start, end, STEP, 300);
        assert_eq!(pieces.len(), 7);
        assert_eq!(pieces.first().map(|p| p.0), Some(start));
        assert_eq!(pieces.last().map(|p| p.1), Some(end));
        let mut points = Vec::new();
        for &(a, b) in &pieces {
            let n = ((b - a) / STEP).round() as usize + 1;
            assert!((288..=289).contains(&n), "{n} points in {a}..{b}");
            points.extend((0..n).map(|k| a + k as f64 * STEP));
        }
        let grid: Vec<f64> = (0..2_017).map(|k| start + k as f64 * STEP).collect();
        assert_eq!(points, grid, "every point of the grid, once, in order");

        // Short enough, or no bound: the range as it is.
        assert_eq!(super::pieces(start, end, STEP, 2_017), vec![(start, end)]);
        assert_eq!(super::pieces(start, end, STEP, 0), vec![(start, end)]);
        assert_eq!(super::pieces(start, start, STEP, 1), vec![(start, start)]);
        // An end off the grid stays the last piece's end.
        let ragged = super::pieces(start, start + 10.5 * STEP, STEP, 4);
        assert_eq!(ragged.len(), 3);
        assert_eq!(ragged[2], (start + 7.0 * STEP, start + 10.5 * STEP));
    }

    #[test]
    fn the_pieces_answers_joined_are_the_whole_ranges() {
        // A disk that stops reporting in the second piece, one that starts
        // in it, one steady: joined, each has its points from every piece.
        let value = |i: &str, t: f64| match i {
            "steady" => Some(t / 1e6),
            "stops" => (t <= 5.0 * HOUR).then_some(1.0),
            "starts" => (t >= 4.0 * HOUR).then_some(2.0),
            _ => None,
        };
        let all = ["steady", "stops", "starts"];
        let (start, end) = (0.0, 9.0 * HOUR);
        let whole = answer(start, end, value, &all);
        let pieces = pieces(start, end, STEP, 40);
        assert_eq!(pieces.len(), 3);
        let mut joined = Joined::new(STEP, (start, end));
        for (i, &(a, b)) in pieces.iter().enumerate() {
            let answer = answer(a, b, value, &all);
            if i == 2 {
                assert!(answer.iter().all(|s| s.labels != labels("stops")));
            }
            assert!(joined.add(answer));
        }
        let mut expected = whole;
        expected.sort_by(|a, b| a.labels.cmp(&b.labels));
        let series: Vec<Series> = joined.series().iter().map(Packed::unpack).collect();
        assert_eq!(series, expected);

        // A label set twice in a piece (two metrics that differ only in
        // their name): their points cannot be told apart across pieces.
        let mut twice = Joined::new(STEP, (0.0, 2.0 * HOUR));
        assert!(twice.add(answer(0.0, HOUR, value, &["steady"])));
        assert!(!twice.add(answer(
            HOUR + STEP,
            2.0 * HOUR,
            value,
            &["steady", "steady"]
        )));
    }

    #[test]
    fn an_extended_history_is_what_fetching_it_whole_returns() {
        // Three disks: one steady, one that stops reporting within the
        // first range, one that starts after it.
        let value = |i: &str, t: f64| match i {
            "steady" => Some(t / 1e6),
            "stops" => (t <= 10.0 * HOUR + 40.0 * 60.0).then_some(1.0),
            "starts" => (t >= 12.0 * HOUR).then_some(2.0),
            _ => None,
        };
        let all = ["steady", "stops", "starts"];
        let span = 12.0 * HOUR;
        let mut end = 11.0 * HOUR;
        let mut start = end - span;
        let mut kept = History::default();
        assert_eq!(kept.ask("q", start, end, STEP, 3.0 * HOUR), Ask::Whole);
        kept.whole(
            "q",
            STEP,
            (start, end),
            pack(answer(start, end, value, &all), STEP),
            0.0,
            usize::MAX,
        );
        // Four evaluations a step apart, each extended from the last.
        for _ in 0..4 {
            end += 20.0 * 60.0;
            start = end - span;
            let Ask::Since(since) = kept.ask("q", start, end, STEP, 3.0 * HOUR) else {
                panic!("a kept history a step old is extended");
            };
            assert_eq!(since, kept.end - overlap(STEP));
            assert_eq!(since % STEP, 0.0);
            assert!(kept.extended(since, (start, end), answer(since, end, value, &all)));
            let whole = {
                let mut w = answer(start, end, value, &all);
                w.sort_by(|a, b| a.labels.cmp(&b.labels));
                w
            };
            assert_eq!(kept.series(), whole, "at {end}");
        }
        // The disk that stopped is gone once its last point is before the
        // range, and the one that started is there with all of its points.
        end = 23.0 * HOUR;
        start = end - span;
        let Ask::Since(since) = kept.ask("q", start, end, STEP, 24.0 * HOUR) else {
            panic!("extended again")
        };
        assert!(kept.extended(since, (start, end), answer(since, end, value, &all)));
        let series = kept.series();
        let names: Vec<&str> = series
            .iter()
            .map(|s| s.labels["instance"].as_str())
            .collect();
        assert_eq!(names, ["starts", "steady"]);
        assert_eq!(series[0].samples.len(), 1 + (11.0 * HOUR / STEP) as usize);
    }

    #[test]
    fn a_point_that_changed_near_the_end_is_taken_from_the_newer_answer() {
        let mut kept = History::default();
        let end = 10.0 * HOUR;
        // The newest point was read before its scrape arrived: the value
        // carried forward from the one before.
        let first = |_: &str, t: f64| Some(if t >= end { 1.0 } else { t / HOUR });
        kept.whole(
            "q",
            STEP,
            (0.0, end),
            pack(answer(0.0, end, first, &["a"]), STEP),
            0.0,
            usize::MAX,
        );
        let later = end + STEP;
        let Ask::Since(since) = kept.ask("q", STEP, later, STEP, 3.0 * HOUR) else {
            panic!("extended")
        };
        assert!(since < end);
        let truth = |_: &str, t: f64| Some(t / HOUR);
        assert!(kept.extended(since, (STEP, later), answer(since, later, truth, &["a"])));
        assert_eq!(kept.series(), answer(STEP, later, truth, &["a"]));
    }

    #[test]
    fn the_whole_range_is_asked_for_when_the_kept_one_cannot_be_extended() {
        let mut kept = History::default();
        let end = 10.0 * HOUR;
        let start = end - 2.0 * HOUR;
        kept.whole(
            "q",
            STEP,
            (start, end),
            pack(answer(start, end, |_, _| Some(1.0), &["a"]), STEP),
            0.0,
            usize::MAX,
        );
        let later = end + STEP;
        let ask = |q: &str, start: f64, end: f64, step: f64, every: f64| {
            kept.ask(q, start, end, step, every)
        };
        assert!(matches!(
            ask("q", start + STEP, later, STEP, HOUR),
            Ask::Since(_)
        ));
        // Another query or step: another history.
        assert_eq!(ask("other", start + STEP, later, STEP, HOUR), Ask::Whole);
        assert_eq!(ask("q", start + STEP, later, 60.0, HOUR), Ask::Whole);
        // The lookback passed since: nothing kept is still in the range.
        assert_eq!(
            ask("q", later, later + 2.0 * HOUR, STEP, 4.0 * HOUR),
            Ask::Whole
        );
        // Due to be fetched whole again, or always fetched whole.
        assert_eq!(ask("q", start + HOUR, end + HOUR, STEP, HOUR), Ask::Whole);
        assert_eq!(ask("q", start + STEP, later, STEP, 0.0), Ask::Whole);
        // A clock that went back.
        assert_eq!(ask("q", start - STEP, end - STEP, STEP, HOUR), Ask::Whole);
        // A longer lookback (a reload): its older points were never kept.
        assert_eq!(ask("q", start - HOUR, later, STEP, HOUR), Ask::Whole);
        // Two series with one label set: nothing to match points to.
        let twice = answer(start, end, |_, _| Some(1.0), &["a", "a"]);
        assert_eq!(twice.len(), 2);
        kept.whole(
            "q",
            STEP,
            (start, end),
            pack(twice.clone(), STEP),
            0.0,
            usize::MAX,
        );
        assert_eq!(kept.ask("q", start + STEP, later, STEP, HOUR), Ask::Whole);
    }

    #[test]
    fn a_past_that_changed_under_runway_is_fetched_whole_again() {
        let end = 10.0 * HOUR;
        let start = end - 2.0 * HOUR;
        let later = end + STEP;
        let every = 24.0 * HOUR;
        let kept_from = |value: fn(&str, f64) -> Option<f64>, names: &[&str]| {
            let mut kept = History::default();
            kept.whole(
                "q",
                STEP,
                (start, end),
                pack(answer(start, end, value, names), STEP),
                0.0,
                usize::MAX,
            );
            let Ask::Since(since) = kept.ask("q", start + STEP, later, STEP, every) else {
                panic!("extended")
            };
            (kept, since)
        };
        // Extends `kept` with what `value` says of the newest points.
        let then = |value: fn(&str, f64) -> Option<f64>,
                    names: &[&str],
                    kept: &mut History,
                    since: f64| {
            kept.extended(
                since,
                (start + STEP, later),
                answer(since, later, value, names),
            )
        };
        let before = |_: &str, t: f64| Some(t);
        // The newest kept point may change (its sample arrived late).
        let (mut kept, since) = kept_from(before, &["a"]);
        let late = |_: &str, t: f64| Some(if t == 10.0 * HOUR { 0.0 } else { t });
        assert!(then(late, &["a"], &mut kept, since));
        // An older one may not: the database was restored or replaced.
        let (mut kept, since) = kept_from(before, &["a"]);
        let restored = |_: &str, t: f64| Some(t + 1.0);
        assert!(!then(restored, &["a"], &mut kept, since));
        assert!(kept.series().is_empty());
        assert_eq!(kept.ask("q", start + STEP, later, STEP, every), Ask::Whole);
        // A NaN (0/0 in a query) is the same point each time.
        let nan = |_: &str, t: f64| Some(if t == 10.0 * HOUR - STEP { f64::NAN } else { t });
        let (mut kept, since) = kept_from(nan, &["a"]);
        assert!(then(nan, &["a"], &mut kept, since));
        // Nor may a series that reported appear or vanish in the past.
        let (mut kept, since) = kept_from(before, &["a"]);
        assert!(!then(before, &["a", "b"], &mut kept, since));
        let (mut kept, since) = kept_from(before, &["a", "b"]);
        assert!(!then(before, &["a"], &mut kept, since));
    }

    #[test]
    fn a_kept_series_gives_back_every_time_and_value_to_the_bit() {
        // A gap in its reporting, points off the grid (to the millisecond,
        // as Prometheus gives them), values of a gauge's full precision.
        let step = 15.0;
        let t0 = 1_764_000_000.0;
        let mut times: Vec<f64> = (0..40).map(|i| t0 + f64::from(i) * step).collect();
        times.extend((60..90).map(|i| t0 + f64::from(i) * step));
        times.extend([t0 + 1_350.123, t0 + 1_351.5]);
        times.extend((91..95).map(|i| t0 + f64::from(i) * step));
        let samples: Vec<Sample> = times
            .iter()
            .enumerate()
            .map(|(i, &t)| Sample::new(t, 1e11 / 3.0 + i as f64 * 0.1 + f64::EPSILON))
            .collect();
        let series = Series::new(labels("a"), samples);
        let packed = Packed::new(series.clone(), step);
        assert_eq!(packed.unpack(), series);
        // One run per stretch on the grid (the off-grid points one each).
        assert_eq!(packed.runs.len(), 5, "{:?}", packed.runs);
    }

    #[test]
    fn the_limits_whole_fetches_after_the_first_come_spread_over_the_interval() {
        let (start, end) = (0.0, 10.0 * HOUR);
        let series = answer(start, end, |_, _| Some(1.0), &["a"]);
        let at = |head_start: f64, later: f64| {
            let mut kept = History::default();
            kept.whole(
                "q",
                STEP,
                (start, end),
                pack(series.clone(), STEP),
                head_start,
                usize::MAX,
            );
            kept.ask("q", start + later, end + later, STEP, HOUR)
        };
        // Its share of the hour early, once: the first limit's an hour after
        // the first evaluation, another's half an hour after it.
        assert!(matches!(at(0.0, HOUR / 2.0), Ask::Since(_)));
        assert_eq!(at(0.0, HOUR), Ask::Whole);
        assert_eq!(at(HOUR / 2.0, HOUR / 2.0), Ask::Whole);
        // After that, every hour.
        let mut kept = History::default();
        kept.whole(
            "q",
            STEP,
            (start, end),
            pack(series.clone(), STEP),
            HOUR / 2.0,
            usize::MAX,
        );
        let later = end + HOUR / 2.0;
        kept.whole(
            "q",
            STEP,
            (start + HOUR / 2.0, later),
            pack(series.clone(), STEP),
            HOUR / 2.0,
            usize::MAX,
        );
        assert!(matches!(
            kept.ask("q", start + HOUR, end + HOUR, STEP, HOUR),
            Ask::Since(_)
        ));
        assert_eq!(
            kept.ask("q", start + 1.5 * HOUR, end + 1.5 * HOUR, STEP, HOUR),
            Ask::Whole
        );
    }
}
