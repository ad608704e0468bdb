//! QEMU's machine protocol (QMP): JSON lines over a socket, used for power control of an emulated
//! device. QEMU greets, the client enables commands with `qmp_capabilities`, then each command gets
//! one `return` or `error` line; asynchronous `event` lines may come in between and are skipped.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{tcp, ReadOutcome, Stream};

pub struct Qmp {
    stream: Stream,
    /// Bytes received after the last complete line.
    pending: Vec<u8>,
}

/// A QMP line longer than this is not QEMU talking.
const MAX_LINE: usize = 1 << 20;

impl Qmp {
    /// Connects, reads QEMU's greeting and enables commands, all before `deadline`.
    pub fn connect(host: &str, port: u16, deadline: Instant) -> Result<Qmp, String> {
        let timeout = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let stream = tcp::open(host, port, timeout).map_err(|e| format!("QMP {host}:{port}: {e}"))?;
        let mut qmp = Qmp { stream, pending: Vec::new() };
        let greeting = qmp.next_message(deadline)?;
        if greeting.get("QMP").is_none() {
            return Err(format!("QMP {host}:{port}: expected QEMU's greeting, got {greeting}"));
        }
        qmp.execute("qmp_capabilities", deadline)?;
        Ok(qmp)
    }

    /// Runs one command; its `return` value, or QEMU's error description.
    pub fn execute(&mut self, command: &str, deadline: Instant) -> Result<Value, String> {
        let mut line = json!({ "execute": command }).to_string();
        line.push('\n');
        self.stream.write_all(line.as_bytes()).map_err(|e| format!("QMP {command}: send failed: {e}"))?;
        loop {
            let message = self.next_message(deadline)?;
            if let Some(result) = message.get("return") {
                return Ok(result.clone());
            }
            if let Some(error) = message.get("error") {
                let desc = error.get("desc").and_then(Value::as_str).unwrap_or("no description");
                return Err(format!("QMP {command}: QEMU refused: {desc}"));
            }
            // An event (RESET, STOP, SHUTDOWN...): not the answer.
        }
    }

    /// Asks QEMU to exit and waits until it has closed the connection (QEMU may close it before
    /// its answer arrives).
    pub fn quit(&mut self, deadline: Instant) -> Result<(), String> {
        self.stream
            .write_all(b"{\"execute\": \"quit\"}\n")
            .map_err(|e| format!("QMP quit: send failed: {e}"))?;
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read_until(&mut buf, deadline) {
                ReadOutcome::Data(_) => continue,
                ReadOutcome::Closed(_) => return Ok(()),
                ReadOutcome::TimedOut => return Err("QMP quit: QEMU did not exit in time".into()),
                ReadOutcome::Interrupted => return Err("QMP quit: interrupted".into()),
            }
        }
    }

    fn next_message(&mut self, deadline: Instant) -> Result<Value, String> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                if text.trim().is_empty() {
                    continue;
                }
                return serde_json::from_str(text.trim())
                    .map_err(|e| format!("QMP: not a JSON message ({e}): {}", text.trim()));
            }
            if self.pending.len() > MAX_LINE {
                return Err(format!("QMP: a line longer than {MAX_LINE} bytes"));
            }
            match self.stream.read_until(&mut buf, deadline) {
                ReadOutcome::Data(n) => self.pending.extend_from_slice(&buf[..n]),
                ReadOutcome::TimedOut => return Err("QMP: no answer in time".into()),
                ReadOutcome::Closed(why) => return Err(format!("QMP: connection closed ({why})")),
                ReadOutcome::Interrupted => return Err("QMP: interrupted".into()),
            }
        }
    }
}
