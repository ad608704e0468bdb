//! The unit's debug port, as the checks use it: attach the way the target file says, do a few
//! reads and writes with every one noted in the transcript, and always let go afterwards (a GDB
//! server halts the target while a client is attached; detaching lets it run again).

use std::time::Duration;

use super::error::DeviceError;
use super::transcript::Transcript;
use super::Dut;
use crate::config::{self, DebugAccess};
use crate::image::{hex, sha256_hex};
use crate::transport::debug::{DebugError, DebugPort};
use crate::transport::gdb_remote::GdbRemote;
use crate::transport::probe::{ProbeRs, ProbeSelector};

/// How long reaching a debug server may take before hilt gives up on it.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(5);

/// An attached debug port whose every access is noted in the check's transcript.
pub struct DebugSession<'a> {
    port: Box<dyn DebugPort>,
    transcript: &'a mut Transcript,
    unit: String,
}

impl DebugSession<'_> {
    /// Reads `size` bytes at `address`.
    pub fn read(&mut self, address: u64, size: u64) -> Result<Vec<u8>, DebugError> {
        let len =
            usize::try_from(size).map_err(|_| DebugError::Io(format!("{size} bytes do not fit memory")))?;
        let mut buf = vec![0u8; len];
        let result = self.port.read_memory(address, &mut buf);
        let what = format!("debug: read {size} bytes at {address:#x}");
        match &result {
            Ok(()) => self.note(format!("{what}: SHA-256 {}", sha256_hex(&buf))),
            Err(e) => self.note(format!("{what}: {e}")),
        }
        result.map(|()| buf)
    }

    /// Writes `data` at `address`.
    pub fn write(&mut self, address: u64, data: &[u8]) -> Result<(), DebugError> {
        let result = self.port.write_memory(address, data);
        let shown = if data.len() <= 16 { hex(data) } else { format!("{} bytes", data.len()) };
        match &result {
            Ok(()) => self.note(format!("debug: wrote {shown} at {address:#x}")),
            Err(e) => self.note(format!("debug: writing {shown} at {address:#x}: {e}")),
        }
        result
    }

    fn note(&mut self, text: String) {
        self.transcript.note(&self.unit, text);
    }
}

impl Dut {
    /// The target's debug section; a config error if it has none (checks that need one declare
    /// the `debug-port` capability, so they are NOT_APPLICABLE before they get here).
    pub fn debug_config(&self) -> Result<config::Debug, DeviceError> {
        self.target()
            .debug
            .clone()
            .ok_or_else(|| DeviceError::Config("the target file has no `debug` section".into()))
    }

    /// Attaches to the debug port, runs `f`, and detaches whatever `f` returned. Attaching or
    /// any access failing gives `DeviceError::Debug`, whose [`DebugError`] tells a refusal (the
    /// device's answer) from hilt failing to talk to the port.
    pub fn with_debug<T>(
        &mut self,
        f: impl FnOnce(&mut DebugSession) -> Result<T, DebugError>,
    ) -> Result<T, DeviceError> {
        self.ensure_running()?;
        self.drain_launch_output();
        let debug = self.debug_config()?;
        let port = self.attach(&debug.access);
        let unit = self.unit().to_string();
        let port = match port {
            Ok(p) => p,
            Err(e) => {
                self.note(format!("debug: cannot attach: {e}"));
                return Err(DeviceError::Debug(e));
            }
        };
        self.note(format!("debug: attached {}", port.describe()));
        let mut session = DebugSession { port, transcript: self.transcript_mut(), unit };
        let result = f(&mut session);
        let detached = session.port.detach();
        match &detached {
            Ok(()) => session.note("debug: detached".into()),
            Err(e) => session.note(format!("debug: detaching failed: {e}")),
        }
        match (result, detached) {
            (Ok(v), Ok(())) => Ok(v),
            (Err(e), _) | (Ok(_), Err(e)) => Err(DeviceError::Debug(e)),
        }
    }

    fn attach(&self, access: &DebugAccess) -> Result<Box<dyn DebugPort>, DebugError> {
        match access {
            DebugAccess::GdbRemote(server) => {
                let lookup = |p: &str| self.builtin_placeholder(p);
                let render = |t: &config::Template| {
                    t.render(&lookup)
                        .map_err(|m| DebugError::Io(format!("gdb-remote: placeholder {{{m}}} has no value")))
                };
                let host = render(&server.host)?;
                let port = render(&server.port)?;
                let port: u16 = port
                    .parse()
                    .map_err(|_| DebugError::Io(format!("gdb-remote: {port:?} is not a TCP port")))?;
                match GdbRemote::connect(&host, port, self.scaled(ATTACH_TIMEOUT)) {
                    Ok(gdb) => Ok(Box::new(gdb)),
                    // Nothing listening is the lock only where the server is part of the unit
                    // hilt launched (QEMU without a gdbstub). On a bench the server is equipment
                    // (OpenOCD, a J-Link GDB server) that is simply not running: hilt cannot decide.
                    Err(DebugError::Refused(why)) if self.target().launch.is_none() => Err(DebugError::Io(
                        format!("{why}: start the GDB server (OpenOCD, J-Link GDB server) for this bench"),
                    )),
                    Err(e) => Err(e),
                }
            }
            DebugAccess::Probe(spec) => {
                let selector: ProbeSelector = spec.selector.parse().map_err(DebugError::Io)?;
                Ok(Box::new(ProbeRs::attach(&selector, &spec.chip, spec.speed_khz)?))
            }
        }
    }
}
