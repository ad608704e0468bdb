//! Byte streams to a device: serial ports (real adapters and pseudo-terminals) and TCP.
//!
//! Every stream is a file descriptor, so one primitive serves all of them: wait with poll(2) until
//! bytes arrive or a deadline passes. No reader threads, no fixed sleeps: a wait ends the moment
//! data, a hang-up or the deadline arrives.

pub mod debug;
pub mod gdb_remote;
pub mod inventory;
pub mod probe;
pub mod qmp;
pub mod serial;
pub mod tcp;

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

/// One open byte stream to the device.
pub struct Stream {
    inner: Box<dyn Port>,
    /// Human-readable endpoint for messages ("/dev/pts/7 at 115200 baud", "127.0.0.1:4000").
    endpoint: String,
}

/// What a transport must offer: bytes both ways and a pollable descriptor.
pub trait Port: Read + Write + AsRawFd + Send {}
impl<T: Read + Write + AsRawFd + Send> Port for T {}

/// The result of one bounded read.
#[derive(Debug)]
pub enum ReadOutcome {
    Data(usize),
    /// The deadline passed with nothing to read.
    TimedOut,
    /// The far end closed or vanished (EOF, hang-up, EIO on a pty whose device died).
    Closed(String),
    /// hilt was asked to stop (SIGINT, SIGTERM).
    Interrupted,
}

impl Stream {
    pub fn new(inner: Box<dyn Port>, endpoint: String) -> Self {
        Stream { inner, endpoint }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.inner.flush()
    }

    /// Reads whatever is available, waiting at most until `deadline`.
    pub fn read_until(&mut self, buf: &mut [u8], deadline: Instant) -> ReadOutcome {
        match wait_readable(self.inner.as_raw_fd(), deadline) {
            Ok(Ready::TimedOut) => return ReadOutcome::TimedOut,
            Ok(Ready::Interrupted) => return ReadOutcome::Interrupted,
            Ok(Ready::Readable) => {}
            Err(e) => return ReadOutcome::Closed(format!("poll failed: {e}")),
        }
        match self.inner.read(buf) {
            Ok(0) => ReadOutcome::Closed("end of stream".into()),
            Ok(n) => ReadOutcome::Data(n),
            // A serial port's own timeout after poll said readable: treat as nothing yet.
            Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock => {
                ReadOutcome::Data(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Data(0),
            Err(e) => ReadOutcome::Closed(format!("read failed: {e}")),
        }
    }
}

enum Ready {
    Readable,
    TimedOut,
    Interrupted,
}

/// Waits until `fd` is readable (or hung up: the next read reports it), the deadline passes, or a
/// stop is requested.
fn wait_readable(fd: RawFd, deadline: Instant) -> io::Result<Ready> {
    if crate::interrupt::requested().is_some() {
        return Ok(Ready::Interrupted);
    }
    let wake = crate::interrupt::wake_fd().unwrap_or(-1);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        // Round up so a sub-millisecond remainder still waits instead of spinning.
        let ms = remaining.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // poll(2) ignores entries with a negative fd: no wake pipe before `interrupt::install`.
        let mut pfds = [
            libc::pollfd { fd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: wake, events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: two valid pollfds.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), 2, ms) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                if crate::interrupt::requested().is_some() {
                    return Ok(Ready::Interrupted);
                }
                continue;
            }
            return Err(err);
        }
        if pfds[1].revents != 0 {
            return Ok(Ready::Interrupted);
        }
        if rc > 0 {
            if pfds[0].revents & libc::POLLNVAL != 0 {
                return Err(io::Error::other("descriptor is not open"));
            }
            return Ok(Ready::Readable);
        }
        if Instant::now() >= deadline {
            return Ok(Ready::TimedOut);
        }
    }
}
