//! The allocator runway runs on: mimalloc, for the daemon, the offline
//! commands, the benchmarks and the tests alike, so that what the
//! benchmarks time is what a deployment pays.
//!
//! glibc's malloc kept the raw histories an evaluation had freed resident
//! in its per-thread arenas (0.5-0.9 GB between evaluations of 10,000
//! series, `scripts/bench-scale`), and on one forecast of 2,016 points it
//! gave back and faulted in again about 0.2 ms of pages that mimalloc
//! keeps (BENCHMARKS, "Speed").

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e` of the
/// bundled `mimalloc.h` (v3), which libmimalloc-sys names no constant for.
/// The test below checks it against the option's documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// An evaluation frees each answer once it is packed and each chunk of
/// series it unpacked (16 bytes a point) once it is forecast; mimalloc
/// holds freed pages for a second by default,
/// long enough for the next limits' histories to pile on top. At once, the
/// resident memory follows the limits in flight (scripts/bench-scale:
/// 10,000 series, peak 419 -> 276 MiB; 1,000 series, 146 -> 91 MiB).
/// Called first thing by the program, and by the benchmarks before they
/// time anything.
pub fn return_freed_memory_at_once() {
    // SAFETY: sets one integer option in mimalloc's option table; no
    // pointers, callable at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // `purge_delay` is the one option whose default is 1000 (ms, v3's
        // options.c); a shifted index would read another option's. (Unless
        // the environment set it: runway's setting overrides that too.)
        // SAFETY: reads and sets one integer option.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(default, 1000);
        }
        return_freed_memory_at_once();
        assert_eq!(
            unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) },
            0
        );
    }
}
