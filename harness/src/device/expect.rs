//! The expect engine: send bytes on a channel, then wait until one of several patterns matches,
//! a crash pattern matches, the channel closes, or the deadline passes — whichever comes first.
//!
//! Matching runs on a bounded window of unconsumed bytes, so a device that floods output without
//! a newline costs a fixed amount of memory, and every byte still reaches the transcript (itself
//! bounded). Patterns are byte regexes: device output need not be UTF-8.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use regex::bytes::Regex;

use super::transcript::{escape, Direction, Transcript};
use crate::transport::{ReadOutcome, Stream};

/// The most unconsumed bytes kept for matching. Output beyond it slides the window forward.
pub const WINDOW: usize = 64 * 1024;
/// A wait longer than this prints what it is waiting for, so a person at the bench knows.
const PROGRESS_AFTER: Duration = Duration::from_secs(2);
/// How much of the window's end an error message quotes.
const TAIL: usize = 200;

/// Why reading stopped.
enum Stop {
    Closed(String),
    Interrupted,
}

/// An open channel and the bytes it has received that no pattern has consumed yet.
pub struct Channel {
    name: String,
    stream: Stream,
    pending: Vec<u8>,
}

/// A successful match: which alternative, and its named captures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    pub outcome: String,
    pub captures: BTreeMap<String, String>,
}

/// Why a wait ended without a match. Each carries the window's tail as evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectError {
    Timeout {
        waited: Duration,
        expected: Vec<String>,
        tail: String,
    },
    Crash {
        pattern: String,
        tail: String,
    },
    Closed {
        reason: String,
        tail: String,
    },
    Write {
        reason: String,
    },
    /// hilt was asked to stop while waiting.
    Interrupted,
}

impl std::fmt::Display for ExpectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectError::Timeout { waited, expected, tail } => write!(
                f,
                "no answer matching {} within {:.1}s; last output: {tail}",
                expected.join(" | "),
                waited.as_secs_f64()
            ),
            ExpectError::Crash { pattern, tail } => {
                write!(f, "device printed a crash (pattern {pattern}): {tail}")
            }
            ExpectError::Closed { reason, tail } => {
                write!(f, "channel closed ({reason}); last output: {tail}")
            }
            ExpectError::Write { reason } => write!(f, "cannot send: {reason}"),
            ExpectError::Interrupted => write!(f, "interrupted: hilt was asked to stop"),
        }
    }
}

impl Channel {
    pub fn new(name: &str, stream: Stream) -> Self {
        Channel { name: name.to_string(), stream, pending: Vec::new() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn endpoint(&self) -> &str {
        self.stream.endpoint()
    }

    /// Sends `bytes`. Output that arrived before the send is recorded and dropped first, so a
    /// stale line (a boot banner, an earlier answer) can never satisfy the next expect.
    pub fn send(&mut self, bytes: &[u8], transcript: &mut Transcript) -> Result<(), ExpectError> {
        self.fill(Instant::now(), transcript)?;
        self.pending.clear();
        transcript.record(&self.name, Direction::Tx, bytes);
        let Err(e) = self.stream.write_all(bytes) else { return Ok(()) };
        // A device that vanished can fail the write (a pty's EIO on drain) before a read sees it
        // close: look, so the error says what happened rather than how the send noticed.
        match self.fill(Instant::now(), transcript) {
            Err(closed @ ExpectError::Closed { .. }) => Err(closed),
            _ => Err(ExpectError::Write { reason: format!("{} ({})", e, self.stream.endpoint()) }),
        }
    }

    /// Waits for the first of `alternatives` (outcome name, pattern) to match. Crash patterns are
    /// checked first on every arrival and end the wait at once.
    pub fn expect(
        &mut self,
        alternatives: &[(&str, &Regex)],
        crash: &[Regex],
        deadline: Instant,
        transcript: &mut Transcript,
    ) -> Result<Matched, ExpectError> {
        let start = Instant::now();
        let mut announce_at = Some(start + PROGRESS_AFTER).filter(|t| *t < deadline);
        loop {
            if let Some(done) = self.settle(alternatives, crash) {
                return done;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ExpectError::Timeout {
                    waited: start.elapsed(),
                    expected: alternatives.iter().map(|(_, p)| p.as_str().to_string()).collect(),
                    tail: self.tail(),
                });
            }
            if announce_at.is_some_and(|t| now >= t) {
                announce_at = None;
                let what: Vec<&str> = alternatives.iter().map(|(_, p)| p.as_str()).collect();
                let what =
                    if what.is_empty() { "a declared wait to pass".to_string() } else { what.join(" | ") };
                eprintln!(
                    "hilt: still waiting on {} for {what} ({:.1}s left)",
                    self.name,
                    (deadline - now).as_secs_f64()
                );
            }
            match self.read_once(announce_at.unwrap_or(deadline).min(deadline), transcript) {
                Ok(_) => {}
                Err(Stop::Interrupted) => return Err(ExpectError::Interrupted),
                Err(Stop::Closed(reason)) => {
                    // Output that came with the hang-up may still hold the crash banner or answer.
                    return self
                        .settle(alternatives, crash)
                        .unwrap_or_else(|| Err(ExpectError::Closed { reason, tail: self.tail() }));
                }
            }
        }
    }

    /// What the window already decides: a crash (checked first), a match, or nothing yet.
    fn settle(
        &mut self,
        alternatives: &[(&str, &Regex)],
        crash: &[Regex],
    ) -> Option<Result<Matched, ExpectError>> {
        if let Some(p) = crash.iter().find(|p| p.is_match(&self.pending)) {
            return Some(Err(ExpectError::Crash { pattern: p.as_str().to_string(), tail: self.tail() }));
        }
        self.try_match(alternatives).map(Ok)
    }

    /// Reads everything available until `deadline` without matching; used to record stray output.
    fn fill(&mut self, deadline: Instant, transcript: &mut Transcript) -> Result<(), ExpectError> {
        loop {
            match self.read_once(deadline, transcript) {
                Ok(true) => continue,
                Ok(false) => return Ok(()),
                Err(Stop::Interrupted) => return Err(ExpectError::Interrupted),
                Err(Stop::Closed(reason)) => return Err(ExpectError::Closed { reason, tail: self.tail() }),
            }
        }
    }

    /// One bounded read into the window. Ok(true) if bytes arrived, Ok(false) on deadline.
    fn read_once(&mut self, deadline: Instant, transcript: &mut Transcript) -> Result<bool, Stop> {
        let mut buf = [0u8; 4096];
        match self.stream.read_until(&mut buf, deadline) {
            ReadOutcome::Data(0) => Ok(true),
            ReadOutcome::Data(n) => {
                transcript.record(&self.name, Direction::Rx, &buf[..n]);
                self.pending.extend_from_slice(&buf[..n]);
                if self.pending.len() > WINDOW {
                    // Keep the newest half: a pattern that has not matched in WINDOW bytes is not
                    // going to start in the oldest ones.
                    let cut = self.pending.len() - WINDOW / 2;
                    self.pending.drain(..cut);
                }
                Ok(true)
            }
            ReadOutcome::TimedOut => Ok(false),
            ReadOutcome::Closed(reason) => Err(Stop::Closed(reason)),
            ReadOutcome::Interrupted => Err(Stop::Interrupted),
        }
    }

    /// The earliest-ending match among the alternatives; consumes the window up to its end.
    fn try_match(&mut self, alternatives: &[(&str, &Regex)]) -> Option<Matched> {
        let (outcome, caps) = alternatives
            .iter()
            .filter_map(|(name, re)| re.captures(&self.pending).map(|c| (*name, c)))
            .min_by_key(|(_, c)| c.get(0).map_or(usize::MAX, |m| m.end()))?;
        let end = caps.get(0).map_or(0, |m| m.end());
        let re = alternatives.iter().find(|(n, _)| *n == outcome).map(|(_, r)| *r)?;
        let captures = re
            .capture_names()
            .flatten()
            .filter_map(|n| {
                caps.name(n).map(|m| (n.to_string(), String::from_utf8_lossy(m.as_bytes()).into_owned()))
            })
            .collect();
        self.pending.drain(..end);
        Some(Matched { outcome: outcome.to_string(), captures })
    }

    fn tail(&self) -> String {
        let start = self.pending.len().saturating_sub(TAIL);
        escape(&self.pending[start..], true)
    }
}
