//! The target file's `debug:` section: what kind of unit this is, how to reach its debug port, and
//! the memory map the debug-port checks read and write (ID-12, FR-03, LA-11, SU-12).

use serde::Deserialize;

use super::target::TcpChannel;

/// `debug:` as written. `unit` may come from the environment (`${VAR:-default}`), so that one
/// target file serves a production and an engineering unit of an emulated device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct DebugFile {
    pub unit: String,
    #[serde(default)]
    pub gdb_remote: Option<TcpChannel>,
    #[serde(default)]
    pub probe: Option<ProbeSpec>,
    #[serde(default)]
    pub identifier: Option<IdentifierRegion>,
    #[serde(default)]
    pub flash: Vec<Region>,
    #[serde(default)]
    pub images: Vec<Region>,
}

/// The debug port as the checks use it.
#[derive(Debug, Clone)]
pub struct Debug {
    pub unit: DebugUnit,
    pub access: DebugAccess,
    /// Where the physical identifier lives (ID-12).
    pub identifier: Option<IdentifierRegion>,
    /// Regions dumped and searched for data left after a factory reset (FR-03).
    pub flash: Vec<Region>,
    /// Regions holding the resident image(s), tampered with by SU-12.
    pub images: Vec<Region>,
}

/// The declared kind of unit (IXIT): a production unit's debug port must be locked (LA-11); an
/// engineering unit is one a lab asked for with debug left open, for the checks that look inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugUnit {
    Production,
    Engineering,
}

impl DebugUnit {
    pub fn name(self) -> &'static str {
        match self {
            DebugUnit::Production => "production",
            DebugUnit::Engineering => "engineering",
        }
    }
}

/// How hilt reaches the debug port.
#[derive(Debug, Clone)]
pub enum DebugAccess {
    /// A GDB server: QEMU's gdbstub, OpenOCD, J-Link GDB server, Black Magic Probe.
    GdbRemote(TcpChannel),
    /// A probe driven by probe-rs.
    Probe(ProbeSpec),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProbeSpec {
    /// `VID:PID[:SERIAL]`, as `hilt probes` lists it.
    pub selector: String,
    /// The chip name probe-rs knows, e.g. `nRF52840_xxAA`, `STM32F446RETx`.
    pub chip: String,
    #[serde(default)]
    pub speed_khz: Option<u32>,
}

/// A span of target memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Region {
    /// What the region holds, for messages ("internal flash", "slot A").
    #[serde(default)]
    pub name: Option<String>,
    pub address: u64,
    pub size: u64,
}

impl Region {
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({:#x}..{:#x})", self.address, self.address + self.size),
            None => format!("{:#x}..{:#x}", self.address, self.address + self.size),
        }
    }
}

/// Where the physical identifier is, and how its bytes read as the logical identifier's text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IdentifierRegion {
    pub address: u64,
    pub size: u64,
    #[serde(default)]
    pub encoding: IdEncoding,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum IdEncoding {
    /// Lowercase hex of the bytes in memory order.
    #[default]
    Hex,
    /// Lowercase hex of the bytes from the last to the first: a little-endian number printed
    /// most significant digit first (how firmware often prints nRF FICR DEVICEID or STM32 UID).
    HexReversed,
}

impl IdEncoding {
    pub fn render(self, bytes: &[u8]) -> String {
        let hex = |b: &u8| format!("{b:02x}");
        match self {
            IdEncoding::Hex => bytes.iter().map(hex).collect(),
            IdEncoding::HexReversed => bytes.iter().rev().map(hex).collect(),
        }
    }
}

/// Largest region hilt dumps in one piece (the biggest internal flash of common MCUs is 2 MiB;
/// external flash is dumped region by region).
pub const MAX_REGION: u64 = 64 << 20;

/// `DebugFile` checked and resolved; errors as (path under `debug`, message).
pub(super) fn resolve(raw: DebugFile) -> Result<Debug, Vec<(Vec<String>, String)>> {
    let mut errors: Vec<(Vec<String>, String)> = Vec::new();
    let mut err = |path: &[&str], m: String| errors.push((path.iter().map(|s| s.to_string()).collect(), m));
    let unit = match super::values::resolve_secret(&raw.unit).as_deref() {
        Ok("production") => Some(DebugUnit::Production),
        Ok("engineering") => Some(DebugUnit::Engineering),
        Ok(other) => {
            err(&["unit"], format!("expected `production` or `engineering`, found {other:?}"));
            None
        }
        Err(m) => {
            err(&["unit"], m.clone());
            None
        }
    };
    if let Some(probe) = &raw.probe {
        if let Err(m) = probe.selector.parse::<crate::transport::probe::ProbeSelector>() {
            err(&["probe", "selector"], m);
        }
        if probe.chip.trim().is_empty() {
            err(&["probe", "chip"], "expected the chip name probe-rs knows, e.g. nRF52840_xxAA".into());
        }
    }
    let access = match (raw.gdb_remote, raw.probe) {
        (Some(g), None) => Some(DebugAccess::GdbRemote(g)),
        (None, Some(p)) => Some(DebugAccess::Probe(p)),
        _ => {
            err(
                &[],
                "expected exactly one of `gdb-remote: {host, port}` or `probe: {selector, chip}`".into(),
            );
            None
        }
    };
    let mut check_region = |path: &[&str], address: u64, size: u64, max: u64| {
        if size == 0 || size > max {
            err(path, format!("expected a size from 1 to {max} bytes, found {size}"));
        } else if address.checked_add(size).is_none() {
            err(path, format!("{address:#x} + {size:#x} runs past the end of the address space"));
        }
    };
    if let Some(id) = &raw.identifier {
        check_region(&["identifier"], id.address, id.size, 64);
    }
    for (list, regions) in [("flash", &raw.flash), ("images", &raw.images)] {
        for (i, r) in regions.iter().enumerate() {
            check_region(&[list, &i.to_string()], r.address, r.size, MAX_REGION);
        }
    }
    match (unit, access) {
        (Some(unit), Some(access)) if errors.is_empty() => {
            Ok(Debug { unit, access, identifier: raw.identifier, flash: raw.flash, images: raw.images })
        }
        _ => Err(errors),
    }
}
