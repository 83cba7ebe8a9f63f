//! Known histories for end-to-end tests: straight lines with deterministic
//! noise (no random number generator: the same test sees the same noise on
//! every run), so that the true time to wall is known exactly.

/// Deterministic noise in [-1, 1): SplitMix64 of (`seed`, `i`), a hash with
/// no visible pattern between neighbouring indices.
pub fn noise(seed: u64, i: u64) -> f64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED69));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits as a fraction in [0, 1), mapped to [-1, 1).
    (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// Samples every `step` seconds over the `span` seconds ending at `end`
/// (both ends included, the last sample exactly at `end`) of
/// `line(t - end) + amplitude * noise(seed, i)`.
pub fn noisy(
    end: f64,
    span: f64,
    step: f64,
    amplitude: f64,
    seed: u64,
    line: impl Fn(f64) -> f64,
) -> Vec<(f64, f64)> {
    let n = (span / step).round() as u64;
    (0..=n)
        .map(|i| {
            let t = end - (n - i) as f64 * step;
            (t, line(t - end) + amplitude * noise(seed, i))
        })
        .collect()
}

/// A line reaching `wall` `seconds_to_wall` after `end`, with the value
/// `value_at_end` at `end`: the function of (t - end) to give [`noisy`].
pub fn towards(value_at_end: f64, wall: f64, seconds_to_wall: f64) -> impl Fn(f64) -> f64 {
    let rate = (wall - value_at_end) / seconds_to_wall;
    move |dt| value_at_end + rate * dt
}

/// How close to the known truth a time to wall must be (the 5%).
pub const TOLERANCE: f64 = 0.05;

/// Unix seconds of an RFC 3339 time, as runway writes `wall_at`.
pub fn unix(rfc3339: &str) -> f64 {
    humantime::parse_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339:?} is not RFC 3339: {e}"))
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

/// Asserts a time to wall within [`TOLERANCE`] of the truth, and prints how
/// close it came, so a run's log shows the accuracy.
pub fn assert_near_truth(what: &str, got: f64, truth: f64) {
    eprintln!(
        "{what}: {got:.0} s, truth {truth:.0} s ({:+.3}%)",
        (got - truth) / truth * 100.0
    );
    assert!(
        (got - truth).abs() <= TOLERANCE * truth.abs(),
        "{what}: {got} s is not within {}% of the truth {truth} s ({:+.2}%)",
        TOLERANCE * 100.0,
        (got - truth) / truth * 100.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic_bounded_and_centred() {
        let xs: Vec<f64> = (0..10_000).map(|i| noise(7, i)).collect();
        assert_eq!(xs[123], noise(7, 123));
        assert_ne!(noise(7, 1), noise(8, 1));
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn noisy_ends_at_end_and_follows_the_line() {
        let s = noisy(1_000_000.0, 600.0, 60.0, 0.0, 1, towards(10.0, 0.0, 100.0));
        assert_eq!(s.len(), 11);
        assert_eq!(s[10], (1_000_000.0, 10.0));
        assert_eq!(s[0], (999_400.0, 70.0));
    }
}
