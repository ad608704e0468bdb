//! Every byte a check sends or receives, with when, on which channel and in which direction.
//!
//! The transcript is the evidence behind a verdict, so it is recorded as raw bytes and only turned
//! into text when rendered. Rendering escapes anything that is not printable ASCII, so the rendered
//! form is safe to put in a file, a terminal or an XML report whatever the device printed.
//! Secrets are masked twice: when a chunk is recorded, and again over the rendered text, which
//! catches a secret the device echoed back split across two reads.

use std::time::{Duration, Instant, SystemTime};

/// Who moved the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Harness to device.
    Tx,
    /// Device to harness.
    Rx,
    /// A note by the harness: launch, power cycle, lifecycle step, timeout.
    Note,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Tx => "TX",
            Direction::Rx => "RX",
            Direction::Note => "--",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    /// Time since the transcript started.
    pub offset: Duration,
    pub channel: String,
    pub direction: Direction,
    pub bytes: Vec<u8>,
}

/// Upper bound on the bytes one transcript keeps, so a device that floods cannot exhaust memory.
pub const DEFAULT_CAPACITY: usize = 4 * 1024 * 1024;

/// The mask that replaces secret values everywhere they would be shown.
pub const MASK: &str = "***";

#[derive(Clone, Debug)]
pub struct Transcript {
    started: SystemTime,
    origin: Instant,
    entries: Vec<Entry>,
    secrets: Vec<Vec<u8>>,
    kept: usize,
    capacity: usize,
    dropped: usize,
}

impl Transcript {
    /// A transcript that masks each of `secrets` (empty values are ignored).
    pub fn new(secrets: &[String]) -> Self {
        Self::with_capacity(secrets, DEFAULT_CAPACITY)
    }

    pub fn with_capacity(secrets: &[String], capacity: usize) -> Self {
        let mut secrets: Vec<Vec<u8>> =
            secrets.iter().filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec()).collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Transcript {
            started: SystemTime::now(),
            origin: Instant::now(),
            entries: Vec::new(),
            secrets,
            kept: 0,
            capacity,
            dropped: 0,
        }
    }

    pub fn started(&self) -> SystemTime {
        self.started
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Bytes that arrived after the capacity was reached and were not kept.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    pub fn record(&mut self, channel: &str, direction: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let room = self.capacity.saturating_sub(self.kept);
        let keep = bytes.len().min(room);
        self.dropped += bytes.len() - keep;
        if keep == 0 {
            return;
        }
        let bytes = mask(&bytes[..keep], &self.secrets);
        self.kept += keep;
        // Consecutive reads on one channel are one stream: merge them so rendering stays readable.
        if let Some(last) = self.entries.last_mut() {
            if direction == Direction::Rx
                && last.direction == Direction::Rx
                && last.channel == channel
                && !last.bytes.ends_with(b"\n")
            {
                last.bytes.extend_from_slice(&bytes);
                return;
            }
        }
        self.entries.push(Entry {
            offset: self.origin.elapsed(),
            channel: channel.to_string(),
            direction,
            bytes,
        });
    }

    /// A harness note, e.g. "power cycle 3/5: killed pid 1234".
    pub fn note(&mut self, channel: &str, text: impl AsRef<str>) {
        // Notes are never dropped for capacity: they explain what the harness did.
        let bytes = mask(text.as_ref().as_bytes(), &self.secrets);
        self.entries.push(Entry {
            offset: self.origin.elapsed(),
            channel: channel.to_string(),
            direction: Direction::Note,
            bytes,
        });
    }

    /// Appends another transcript's entries (e.g. a second unit's), keeping their relative times.
    pub fn absorb(&mut self, other: Transcript) {
        let shift = other.origin.saturating_duration_since(self.origin);
        self.dropped += other.dropped;
        for mut e in other.entries {
            e.offset += shift;
            self.entries.push(e);
        }
        self.entries.sort_by_key(|e| e.offset);
    }

    /// One line per entry: offset, channel, direction and the escaped bytes. Pure printable ASCII.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let text = match e.direction {
                Direction::Note => escape(&e.bytes, false),
                _ => escape(&e.bytes, true),
            };
            out.push_str(&format!(
                "+{:>9.3}s {:<10} {} {}\n",
                e.offset.as_secs_f64(),
                e.channel,
                e.direction.label(),
                text
            ));
        }
        if self.dropped > 0 {
            out.push_str(&format!(
                "[transcript capacity of {} bytes reached: {} further bytes not kept]\n",
                self.capacity, self.dropped
            ));
        }
        // The rendered form of each secret, as it appears inside a quoted entry (quotes stripped).
        let secrets: Vec<Vec<u8>> = self
            .secrets
            .iter()
            .map(|s| {
                let quoted = escape(s, true);
                quoted.as_bytes()[1..quoted.len() - 1].to_vec()
            })
            .collect();
        String::from_utf8(mask(out.as_bytes(), &secrets)).expect("escaped text is ASCII")
    }
}

/// Replaces every occurrence of each secret with [`MASK`].
pub fn mask(bytes: &[u8], secrets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let mut masked = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(secret) {
                masked.extend_from_slice(MASK.as_bytes());
                i += secret.len();
            } else {
                masked.push(out[i]);
                i += 1;
            }
        }
        out = masked;
    }
    out
}

/// Printable ASCII stays; `\n`, `\r`, `\t`, `\\` and other bytes become escapes. With `quoted`, the
/// result is wrapped in double quotes (and `"` escaped) so trailing spaces stay visible.
pub fn escape(bytes: &[u8], quoted: bool) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    if quoted {
        s.push('"');
    }
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'"' if quoted => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if quoted {
        s.push('"');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_even_when_split_across_reads() {
        let mut t = Transcript::new(&["hunter2".to_string()]);
        t.record("console", Direction::Tx, b"login hunter2\n");
        t.record("console", Direction::Rx, b"echo hun");
        t.record("console", Direction::Rx, b"ter2\n");
        let text = t.render();
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(text.matches(MASK).count(), 2, "{text}");
    }

    #[test]
    fn rendering_is_ascii_whatever_the_device_printed() {
        let mut t = Transcript::new(&[]);
        t.record("console", Direction::Rx, b"\x00\x1b[31m]]>\xff\xef\xbf\xbe\n");
        let text = t.render();
        assert!(text.is_ascii());
        assert!(text.contains("\\x00\\x1b[31m]]>\\xff\\xef\\xbf\\xbe\\n"), "{text}");
    }

    #[test]
    fn capacity_bounds_memory_and_says_what_was_dropped() {
        let mut t = Transcript::with_capacity(&[], 10);
        t.record("console", Direction::Rx, &[b'a'; 25]);
        assert_eq!(t.dropped(), 15);
        assert!(t.render().contains("15 further bytes not kept"));
    }
}
