//! The debug port (SWD/JTAG through a probe, or a GDB server such as QEMU's gdbstub) as the
//! checks see it: one trait, whatever sits behind it.
//!
//! Attaching is each backend's constructor (`GdbRemote::connect`, `ProbeRs::attach`); once
//! attached, every backend offers the same operations. Errors keep apart the two answers a check
//! must never confuse: the port *refused* access (a locked production unit: the expected answer
//! of LA-11) and hilt *could not talk* to it (nothing listening, a cable, a timeout: ERROR).

use std::fmt;

/// An attached debug port.
pub trait DebugPort: Send {
    /// What is attached, for transcripts and messages ("gdb-remote 127.0.0.1:3333", "probe-rs
    /// 1366:1015:000683 nRF52840_xxAA").
    fn describe(&self) -> String;

    /// Reads `buf.len()` bytes of target memory at `address`.
    fn read_memory(&mut self, address: u64, buf: &mut [u8]) -> Result<(), DebugError>;

    /// Writes `data` to target memory at `address` (RAM, or flash where the backend can program it).
    fn write_memory(&mut self, address: u64, data: &[u8]) -> Result<(), DebugError>;

    /// Stops the core.
    fn halt(&mut self) -> Result<(), DebugError>;

    /// Lets the core run again.
    fn resume(&mut self) -> Result<(), DebugError>;

    /// Resets the target through the debug port and lets it run.
    fn reset(&mut self) -> Result<(), DebugError>;

    /// Programs an image into flash. Backends that cannot answer `Unsupported`.
    fn flash(&mut self, image: &FlashImage) -> Result<(), DebugError>;

    /// Lets go of the target, leaving it running.
    fn detach(&mut self) -> Result<(), DebugError>;
}

/// An image to program: an ELF file (addresses from its program headers) or raw bytes at an address.
#[derive(Debug, Clone)]
pub enum FlashImage {
    Elf(std::path::PathBuf),
    Bin { path: std::path::PathBuf, address: u64 },
}

/// Why a debug-port operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugError {
    /// The target refused access: debug locked (APPROTECT, RDP, no debug server on a production
    /// unit), or the memory is protected. This is the device's answer, not a harness problem.
    Refused(String),
    /// The backend cannot do this (e.g. flashing through a GDB server that has no flash map).
    Unsupported(String),
    /// hilt could not complete the exchange: connection lost, no answer in time, malformed
    /// replies, no probe found. A harness or equipment problem.
    Io(String),
    /// hilt was asked to stop (SIGINT, SIGTERM).
    Interrupted,
}

impl fmt::Display for DebugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DebugError::Refused(m) => write!(f, "access refused: {m}"),
            DebugError::Unsupported(m) => write!(f, "not supported: {m}"),
            DebugError::Io(m) => write!(f, "{m}"),
            DebugError::Interrupted => write!(f, "interrupted"),
        }
    }
}

impl std::error::Error for DebugError {}

/// An error and every `source()` under it, joined with ": " — probe-rs errors are unreadable
/// without the whole chain.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}
