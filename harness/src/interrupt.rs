//! Stopping a run on SIGINT or SIGTERM within moments, whatever it is waiting for.
//!
//! The handler records the signal and writes one byte into a pipe that is never drained, so every
//! wait that polls device descriptors also polls this pipe and ends at once from then on. Waits on
//! in-process queues (a launching device's output, an external command) check in short slices.
//! A second signal is not caught: it ends hilt at once, and launched devices die with it.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

static SIGNAL: AtomicI32 = AtomicI32::new(0);
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// How often queue waits look at the interrupt flag.
const SLICE: Duration = Duration::from_millis(50);

extern "C" fn on_signal(signo: libc::c_int) {
    SIGNAL.store(signo, Ordering::SeqCst);
    let fd = WAKE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe (impossible with one byte) is harmless.
        unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
    }
    // SAFETY: signal(2) with SIG_DFL is async-signal-safe; the next signal ends the process.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
}

/// Installs the handlers. Call once, before the run starts.
pub fn install() -> std::io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: a two-element array for pipe2; handlers installed after the pipe exists.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        WAKE_READ.store(fds[0], Ordering::SeqCst);
        WAKE_WRITE.store(fds[1], Ordering::SeqCst);
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    Ok(())
}

/// The signal that asked the run to stop, if one did.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// A descriptor that becomes readable when a stop is requested (None before `install`).
pub fn wake_fd() -> Option<RawFd> {
    let fd = WAKE_READ.load(Ordering::SeqCst);
    (fd >= 0).then_some(fd)
}

/// Why a queue wait ended without a value.
pub enum Wait {
    TimedOut,
    Disconnected,
    Interrupted,
}

/// `recv_timeout` that also ends when a stop is requested.
pub fn recv_until<T>(rx: &Receiver<T>, deadline: Instant) -> Result<T, Wait> {
    loop {
        if requested().is_some() {
            return Err(Wait::Interrupted);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Wait::TimedOut);
        }
        match rx.recv_timeout((deadline - now).min(SLICE)) {
            Ok(v) => return Ok(v),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Err(Wait::Disconnected),
        }
    }
}
