//! Timing helpers shared by the benches (each bench is its own crate and says `mod common;`).

use std::time::{Duration, Instant};

/// How long each of `rounds` calls of `f` takes.
pub fn time(rounds: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// The middle time (the upper one of the two middle times for an even count).
pub fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}
