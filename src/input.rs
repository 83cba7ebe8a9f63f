//! Reading series from files for the offline commands: a CSV of
//! `timestamp,value` (Unix seconds) or a saved Prometheus `query_range` JSON
//! response. Every error names the file and, for CSV, the line.

use std::collections::hash_map::Entry;

use crate::model::{Labels, Sample, Series};
use crate::source::prometheus::{parse_saved_response, parse_value};
use crate::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{origin}:{line}: {message}")]
    Csv {
        origin: String,
        line: usize,
        message: String,
    },
    #[error("{origin}: {message}")]
    Json { origin: String, message: String },
    #[error("{origin}: no samples")]
    Empty { origin: String },
}

/// Parses `text` read from `origin` (a path, or `-` for stdin).
pub fn parse_series(text: &str, origin: &str) -> Result<Vec<Series>, InputError> {
    // A byte-order mark (a spreadsheet's export) would hide the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let series = if text.trim_start().starts_with('{') {
        let series = parse_saved_response(text, origin).map_err(|e| InputError::Json {
            origin: origin.to_string(),
            // A file is no query: the adapter's own words would call it one.
            message: match e {
                SourceError::InvalidResponse { message, .. } => {
                    format!("not a Prometheus query_range response: {message}")
                }
                other => other.to_string(),
            },
        })?;
        if let Some((s, t)) = series.iter().find_map(|s| {
            s.samples
                .iter()
                .find(|x| x.t.abs() >= MILLISECONDS_FROM)
                .map(|x| (s, x.t))
        }) {
            return Err(InputError::Json {
                origin: origin.to_string(),
                message: format!(
                    "series {}: timestamp {t} looks like milliseconds; a query_range response has Unix seconds",
                    crate::evaluate::label_string(&s.labels)
                ),
            });
        }
        series
    } else {
        vec![Series::new(Labels::new(), parse_csv(text, origin)?)]
    };
    if series.iter().all(|s| s.samples.is_empty()) {
        return Err(InputError::Empty {
            origin: origin.to_string(),
        });
    }
    Ok(series)
}

/// Timestamps from here on are taken for milliseconds, not seconds (Unix
/// seconds reach it in the year 5138, milliseconds passed it in 1973).
pub const MILLISECONDS_FROM: f64 = 1e11;

/// What a header may call the column of Unix seconds (case aside).
const TIME_NAMES: [&str; 7] = ["timestamp", "time", "ts", "t", "epoch", "unix", "seconds"];
/// What a header may call the column of values (case aside).
const VALUE_NAMES: [&str; 4] = ["value", "v", "y", "val"];

/// Whether a header's two names put the value first: the second is a name
/// of [`TIME_NAMES`] and the first is not ("value,timestamp", as some
/// exports write it), or neither names the time and the first is a name of
/// [`VALUE_NAMES`] ("value,date"). Read in the usual order, every timestamp
/// would be taken for a value and every value for a time, without an
/// error. Names may be quoted, as a spreadsheet's export quotes them.
fn value_first(first: &str, second: &str) -> bool {
    let name = |raw: &str| {
        raw.trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .trim()
            .to_string()
    };
    let (first, second) = (name(first), name(second));
    let among = |names: &[&str], n: &str| names.iter().any(|x| n.eq_ignore_ascii_case(x));
    let (time1, time2) = (among(&TIME_NAMES, &first), among(&TIME_NAMES, &second));
    if time1 != time2 {
        return time2;
    }
    !time1 && among(&VALUE_NAMES, &first) && !among(&VALUE_NAMES, &second)
}

/// `timestamp,value` per line; the first line that is not a comment, if it
/// is not numeric, is a header; blank lines and `#` comments are skipped.
/// Values may be `NaN`, `+Inf`, `-Inf` as Prometheus writes them (the
/// forecaster skips them). A header that names the value first
/// (`value,timestamp`) is read in its order (see [`value_first`]).
fn parse_csv(text: &str, origin: &str) -> Result<Vec<Sample>, InputError> {
    let mut out = Vec::new();
    let mut swapped = false;
    let mut header = false;
    let mut dropped = 0usize;
    // Each timestamp's first line and value. A sample given again is the
    // same observation and counts once; a second, different value for a
    // timestamp is dropped with a warning, as Prometheus refuses a
    // duplicate sample (the first one holds).
    let mut seen: std::collections::HashMap<u64, (usize, u64)> = std::collections::HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| InputError::Csv {
            origin: origin.to_string(),
            line: i + 1,
            message,
        };
        let mut fields = line.split(',').map(unquoted);
        // A trailing comma (a spreadsheet's export) is no third column.
        let (Some(a), Some(b), None | Some("")) = (fields.next(), fields.next(), fields.next())
        else {
            let expected = if swapped {
                "value,timestamp"
            } else {
                "timestamp,value"
            };
            return Err(err(format!("expected `{expected}`, got {line:?}")));
        };
        let (t, v) = if swapped { (b, a) } else { (a, b) };
        let Ok(t) = t.parse::<f64>() else {
            if out.is_empty() && !header {
                header = true;
                swapped = value_first(a, b);
                continue;
            }
            return Err(err(format!("timestamp {t:?} is not a number of seconds")));
        };
        if !t.is_finite() {
            return Err(err(format!("timestamp {t} is not finite")));
        }
        // Unix seconds reach 1e11 in the year 5138; milliseconds passed it
        // in 1973. Read as seconds they would make every duration 1000
        // times too long, silently.
        if t.abs() >= MILLISECONDS_FROM {
            return Err(err(format!(
                "timestamp {t} looks like milliseconds; give Unix seconds (divide by 1000)"
            )));
        }

        let value = parse_value(v);
        if value.is_nan() && !v.eq_ignore_ascii_case("nan") {
            return Err(err(format!("value {v:?} is not a number")));
        }
        match seen.entry(t.to_bits()) {
            Entry::Occupied(first) => {
                let (line, v0) = *first.get();
                if v0 != value.to_bits() {
                    dropped += 1;
                    // A few say where; an export at a coarse precision
                    // would otherwise say it thousands of times.
                    if dropped <= DUPLICATES_SHOWN {
                        tracing::warn!(
                            "{origin}:{}: timestamp {t} was given on line {line} with value {}; this value, {value}, is dropped",
                            i + 1,
                            f64::from_bits(v0)
                        );
                    }
                }
            }
            Entry::Vacant(slot) => {
                slot.insert((i + 1, value.to_bits()));
                out.push(Sample::new(t, value));
            }
        }
    }
    if dropped > DUPLICATES_SHOWN {
        tracing::warn!(
            "{origin}: {} more samples at a timestamp already given, with another value, are dropped (each timestamp's first value holds)",
            dropped - DUPLICATES_SHOWN
        );
    }
    Ok(out)
}

/// A field without the double quotes a spreadsheet's or a database's
/// export puts around it (`"1700000000","42.5"`), and the spaces about it.
/// (A quoted field holding a comma, `"1,234"`, still splits into more
/// fields than two, and is refused for it.)
fn unquoted(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .map_or(field, str::trim)
}

/// How many timestamps given twice with different values are each named.
const DUPLICATES_SHOWN: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_comments_and_special_values() {
        let s = parse_series("timestamp,value\n# c\n1,2\n\n2,NaN\n3,+Inf\n", "f.csv").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].samples.len(), 3);
        assert_eq!(s[0].samples[0], Sample::new(1.0, 2.0));
    }

    /// An export that quotes every field (a spreadsheet's, `psql --csv`
    /// with FORCE_QUOTE) is read as it says; a quoted number with a
    /// thousands separator is refused, not read as two fields.
    #[test]
    fn quoted_fields_are_read_and_a_quoted_comma_is_refused_by_line() {
        let s = parse_series(
            "\"timestamp\",\"value\"\n\"1700000000\",\"42.5\"\n\" 1700000060 \",\"NaN\"\n",
            "q.csv",
        )
        .unwrap();
        assert_eq!(s[0].samples[0], Sample::new(1_700_000_000.0, 42.5));
        assert!(s[0].samples[1].v.is_nan());
        let e = parse_series("1,2\n2,\"1,234\"\n", "q.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "q.csv:2: expected `timestamp,value`, got \"2,\\\"1,234\\\"\""
        );
    }

    #[test]
    fn a_sample_given_twice_counts_once_and_the_first_value_holds() {
        let s = parse_series("t,v\n1,2\n2,3\n2,3\n1,4\n3,5\n", "f.csv").unwrap();
        let got: Vec<(f64, f64)> = s[0].samples.iter().map(|x| (x.t, x.v)).collect();
        assert_eq!(got, [(1.0, 2.0), (2.0, 3.0), (3.0, 5.0)]);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let cases = [
            ("1,2\n2,x\n", "f.csv:2: value \"x\" is not a number"),
            (
                "1,2\nabc,3\n",
                "f.csv:2: timestamp \"abc\" is not a number of seconds",
            ),
            ("1\n", "f.csv:1: expected `timestamp,value`, got \"1\""),
            // A third column is not silently dropped: which one is the value?
            (
                "1,2,\n2,3,4\n",
                "f.csv:2: expected `timestamp,value`, got \"2,3,4\"",
            ),
            ("timestamp,value\n", "f.csv: no samples"),
            (
                "1700000000000,2\n",
                "f.csv:1: timestamp 1700000000000 looks like milliseconds; give Unix seconds (divide by 1000)",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_series(text, "f.csv").unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn json_errors_name_the_file() {
        let e = parse_series("{not json", "saved.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("saved.json: not a Prometheus query_range response: "),
            "{e}"
        );
        let e = parse_series(r#"{"status":"error","error":"bad"}"#, "saved.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "saved.json: not a Prometheus query_range response: status \"error\": bad"
        );
    }

    /// Milliseconds are refused in a saved response as in a CSV: read as
    /// seconds, "4d 5h" to the wall read "11y 193d".
    #[test]
    fn a_saved_response_in_milliseconds_is_refused() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"job":"node"},"values":[[1700000000000,"1"],[1700000060000,"2"]]}]}}"#;
        assert_eq!(
            parse_series(text, "saved.json").unwrap_err().to_string(),
            "saved.json: series {job=\"node\"}: timestamp 1700000000000 looks like milliseconds; a query_range response has Unix seconds"
        );
    }

    /// A header that names the value first is read in its order, not
    /// taken for the usual one: the times would have been read as values.
    #[test]
    fn a_header_that_names_the_value_first_is_read_in_its_order() {
        for header in [
            "value,timestamp",
            "Value,Time",
            "bytes, ts",
            "\"value\",\"timestamp\"",
            "value,epoch",
            "value,date",
            "# exported by hand\nvalue,timestamp",
        ] {
            let s = parse_series(&format!("{header}\n5,100\n7,160\n"), "f.csv").unwrap();
            let got: Vec<(f64, f64)> = s[0].samples.iter().map(|x| (x.t, x.v)).collect();
            assert_eq!(got, [(100.0, 5.0), (160.0, 7.0)], "{header}");
        }
        for header in [
            "timestamp,value",
            "time,bytes",
            "t,v",
            "a,b",
            "date,value",
            "\"epoch\",\"free\"",
            "# a comment\ntimestamp,value",
        ] {
            let s = parse_series(&format!("{header}\n100,5\n160,7\n"), "f.csv").unwrap();
            assert_eq!(s[0].samples[0], Sample::new(100.0, 5.0), "{header}");
        }
        let e = parse_series("value,timestamp\n5,100\n6\n", "f.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv:3: expected `value,timestamp`, got \"6\""
        );
    }

    /// A CSV or a saved response with characters cut, repeated or
    /// inserted anywhere is read or refused with a message naming the
    /// file (and, for a CSV, its line), and never panics: a file is user
    /// input. `RUNWAY_FUZZ_CASES` runs more (default 2,000).
    #[test]
    fn a_mangled_file_is_read_or_refused_by_name() {
        let cases = crate::forecast::tests::fuzz_cases(2000, 1);
        let csv = "timestamp,value\n# a comment\n1700000000,1.5\n1700000060,NaN\n1700000120,+Inf\n1700000180,2e3\n";
        let json = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[1700000000,"1"],[1700000060.5,"2"]]},{"metric":{},"values":[[1700000000,"NaN"]]}]}}"#;
        let junk = [
            ",", "\n", "\"", "{", "}", "[", "]", "-", "e", ".", "9", "\u{feff}", "é", " ", "1e400",
            "NaN", ":",
        ];
        for case in 0..cases {
            let mut draws = crate::forecast::tests::noise(case, 32).into_iter();
            let mut next = |n: usize| {
                let x = (draws.next().unwrap_or(0.0) + 1.0) / 2.0;
                ((x * n as f64) as usize).min(n.saturating_sub(1))
            };
            let mut text: Vec<char> = if case % 2 == 0 { csv } else { json }.chars().collect();
            for _ in 0..1 + next(4) {
                let at = next(text.len() + 1);
                match next(3) {
                    0 if at < text.len() => {
                        text.drain(at..(at + 1 + next(8)).min(text.len()));
                    }
                    1 if at < text.len() => {
                        let c = text[at];
                        text.insert(at, c);
                    }
                    _ => {
                        let j: Vec<char> = junk[next(junk.len())].chars().collect();
                        text.splice(at..at, j);
                    }
                }
            }
            let text: String = text.into_iter().collect();
            let origin = format!("case{case}.csv");
            if let Err(e) = parse_series(&text, &origin) {
                assert!(
                    e.to_string().starts_with(&format!("{origin}:")),
                    "{e}\n---\n{text}"
                );
            }
        }
    }

    /// A spreadsheet's export starts with a byte-order mark; the first
    /// sample is still read, not taken for a header.
    #[test]
    fn a_byte_order_mark_does_not_hide_the_first_sample() {
        let s = parse_series("\u{feff}1,2\n2,3\n", "f.csv").unwrap();
        assert_eq!(s[0].samples.len(), 2);
        assert_eq!(s[0].samples[0], Sample::new(1.0, 2.0));
    }
}
