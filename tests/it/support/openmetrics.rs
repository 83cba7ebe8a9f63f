//! An OpenMetrics text writer for backfilling known history with
//! `promtool tsdb create-blocks-from openmetrics`, which also writes the
//! same samples in Prometheus' text format with millisecond timestamps, as
//! VictoriaMetrics' `/api/v1/import/prometheus` reads them.
//!
//! Facts the format imposes (checked on Prometheus 2.42):
//! - timestamps are SECONDS (milliseconds would land in the year 58878); we
//!   write them as exact decimals with millisecond precision, which is what
//!   the TSDB stores;
//! - the text ends with `# EOF` and has no blank line;
//! - the samples of one metric name form one block after its `# TYPE` line;
//! - out-of-order or duplicate samples of a series are silently dropped.

use std::fmt::Write;

#[derive(Debug, Clone, Default)]
pub struct OpenMetrics {
    /// (metric name, sample lines, the same lines with millisecond
    /// timestamps), in order of first appearance.
    families: Vec<(String, String, String)>,
    samples: usize,
}

impl OpenMetrics {
    pub fn new() -> OpenMetrics {
        OpenMetrics::default()
    }

    /// Adds one gauge series: `name{labels} value timestamp` per sample, with
    /// `samples` as (unix seconds, value). Call again with the same name and
    /// other labels for more series of the same metric. Values round-trip
    /// exactly (shortest round-trip decimal; `NaN`, `+Inf`, `-Inf`).
    /// Timestamps are rounded to milliseconds.
    pub fn gauge_history(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        samples: &[(f64, f64)],
    ) -> &mut OpenMetrics {
        assert!(valid_name(name, true), "invalid metric name {name:?}");
        let mut series = String::from(name);
        if !labels.is_empty() {
            series.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                assert!(
                    valid_name(k, false) && *k != "__name__",
                    "invalid label name {k:?}"
                );
                if i > 0 {
                    series.push(',');
                }
                write!(series, "{k}=\"{}\"", escape_label_value(v)).unwrap();
            }
            series.push('}');
        }
        let idx = match self.families.iter().position(|(n, _, _)| n == name) {
            Some(i) => i,
            None => {
                self.families
                    .push((name.to_string(), String::new(), String::new()));
                self.families.len() - 1
            }
        };
        self.samples += samples.len();
        let (_, lines, ms_lines) = &mut self.families[idx];
        for &(t, v) in samples {
            writeln!(
                lines,
                "{series} {} {}",
                format_value(v),
                format_timestamp(t)
            )
            .unwrap();
            writeln!(
                ms_lines,
                "{series} {} {}",
                format_value(v),
                (t * 1000.0).round() as i64
            )
            .unwrap();
        }
        self
    }

    /// The whole file text, ending with `# EOF\n`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (name, lines, _) in &self.families {
            writeln!(out, "# TYPE {name} gauge").unwrap();
            out.push_str(lines);
        }
        out.push_str("# EOF\n");
        out
    }

    /// The same samples in Prometheus' text format: timestamps in
    /// milliseconds, no `# EOF`.
    pub fn prometheus_text(&self) -> String {
        let mut out = String::new();
        for (name, _, lines) in &self.families {
            writeln!(out, "# TYPE {name} gauge").unwrap();
            out.push_str(lines);
        }
        out
    }

    /// True if no sample was added.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// How many samples were added.
    pub fn sample_count(&self) -> usize {
        self.samples
    }
}

/// Shortest decimal that parses back to exactly `v` (Go's ParseFloat reads
/// Rust's `{:?}` output, exponent form included).
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v:?}")
    }
}

/// Unix seconds -> exact decimal seconds with at most 3 decimals.
pub(crate) fn format_timestamp(t: f64) -> String {
    assert!(
        t.is_finite() && t >= 0.0,
        "timestamp must be finite unix seconds >= 0, got {t}"
    );
    let ms = (t * 1000.0).round() as i64;
    if ms % 1000 == 0 {
        format!("{}", ms / 1000)
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn valid_name(s: &str, colons: bool) -> bool {
    let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if ok_first(c) => chars.all(|c| ok_first(c) || c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_groups_by_name_and_ends_with_eof() {
        let mut om = OpenMetrics::new();
        om.gauge_history("disk_used", &[("dev", "a")], &[(10.0, 1.0), (20.5, 2.5)])
            .gauge_history("other", &[], &[(10.0, f64::NAN)])
            .gauge_history(
                "disk_used",
                &[("dev", "b\"\\\n")],
                &[(10.001, f64::INFINITY), (11.0, f64::NEG_INFINITY)],
            );
        assert_eq!(
            om.text(),
            "# TYPE disk_used gauge\n\
             disk_used{dev=\"a\"} 1.0 10\n\
             disk_used{dev=\"a\"} 2.5 20.500\n\
             disk_used{dev=\"b\\\"\\\\\\n\"} +Inf 10.001\n\
             disk_used{dev=\"b\\\"\\\\\\n\"} -Inf 11\n\
             # TYPE other gauge\n\
             other NaN 10\n\
             # EOF\n"
        );
        assert!(!om.text().contains("\n\n"));
    }

    #[test]
    fn values_round_trip() {
        for v in [
            0.1,
            1e21,
            1.5e-10,
            -0.0,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let s = format_value(v);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
        }
    }
}
