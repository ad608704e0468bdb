//! The probe-rs backend of [`DebugPort`]: SWD/JTAG through a CMSIS-DAP, ST-Link, J-Link, FTDI or
//! ESP USB-JTAG probe.
//!
//! Everything that decides something — which probe a selector means, whether a chip name is
//! known, what a probe-rs error means for a check (refused or could not talk), how memory is cut
//! into chunks — is plain code over the [`ProbeAccess`] / [`AttachedCore`] seam, so the unit tests
//! run the same path a bench runs, up to the probe call. The real seam ([`RealProbes`]) is a thin
//! layer over probe-rs; its own `FakeProbe` cannot play a locked chip, hence our seam.
//!
//! A lab must never wipe a unit by accident: attaching uses `Permissions::default()`, which
//! forbids the mass erase probe-rs would otherwise run to unlock a protected chip. A locked chip
//! is therefore an answer (`Refused`), not something hilt fixes.

use std::error::Error as StdError;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use probe_rs::architecture::arm::{ArmError, DapError};
use probe_rs::config::{Registry, RegistryError};
use probe_rs::flashing::{download_file, BinLoader, BinOptions, ElfLoader, ElfOptions};
use probe_rs::probe::list::{Accessibility, Lister};
use probe_rs::probe::DebugProbeSelector;
use probe_rs::{MemoryInterface, Permissions, Session};

use super::debug::{error_chain, DebugError, DebugPort, FlashImage};

/// How long `halt` waits for the core to stop.
const HALT_TIMEOUT: Duration = Duration::from_millis(500);

/// Memory moves in pieces of this size, so that a stop request (Ctrl-C) is seen between pieces
/// of a large dump, and an error names the piece that failed.
const CHUNK: usize = 4096;

/// Which probe to use: `VID:PID[:SERIAL]`, hexadecimal VID and PID, as probe-rs's `--probe` and
/// `hilt probes` write it. Without a serial number it matches only while one such probe is
/// attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSelector {
    vid: u16,
    pid: u16,
    serial: Option<String>,
}

impl FromStr for ProbeSelector {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "invalid probe selector {s:?}: {why}; expected VID:PID[:SERIAL] with hexadecimal VID and \
                 PID, e.g. 1366:1015:000683000000 (`hilt probes` lists the attached probes)"
            )
        };
        // At most three parts: ESP USB-JTAG serial numbers are MAC addresses, with colons.
        let mut parts = s.trim().splitn(3, ':');
        let hex = |part: Option<&str>, name: &str| -> Result<u16, String> {
            match part {
                None | Some("") => Err(bad(&format!("{name} is missing"))),
                Some(text) => u16::from_str_radix(text, 16).map_err(|_| {
                    bad(&format!("{name} {text:?} is not a hexadecimal number of 1 to 4 digits"))
                }),
            }
        };
        let vid = hex(parts.next(), "VID")?;
        let pid = hex(parts.next(), "PID")?;
        let serial = match parts.next() {
            None => None,
            Some("") => return Err(bad("the serial number after the second ':' is empty")),
            Some(serial) => Some(serial.to_string()),
        };
        Ok(ProbeSelector { vid, pid, serial })
    }
}

impl fmt::Display for ProbeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vid, self.pid)?;
        match &self.serial {
            Some(serial) => write!(f, ":{serial}"),
            None => Ok(()),
        }
    }
}

/// One attached debug probe, as probe-rs lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeListing {
    pub vid: u16,
    pub pid: u16,
    /// The USB serial number; `None` when the probe has none (or an empty one).
    pub serial: Option<String>,
    /// probe-rs's name for it ("J-Link", "STLink V3", "CMSIS-DAP ...").
    pub name: String,
    /// The USB interface, for probes that offer several (probe-rs opens the one it listed).
    pub interface: Option<u8>,
    /// False when the OS denies this user access (Linux: udev rules not installed).
    pub accessible: bool,
}

impl ProbeListing {
    /// The selector that picks this probe: `VID:PID:SERIAL`, or `VID:PID` without a serial number.
    pub fn selector(&self) -> String {
        ProbeSelector { vid: self.vid, pid: self.pid, serial: self.serial.clone() }.to_string()
    }

    fn matches(&self, selector: &ProbeSelector) -> bool {
        self.vid == selector.vid
            && self.pid == selector.pid
            && selector.serial.as_deref().is_none_or(|want| self.serial.as_deref() == Some(want))
    }
}

/// Every debug probe probe-rs sees, in a stable order. Probes this user may not open are listed
/// too (`accessible: false`), so that a missing udev rule is reported instead of hidden.
pub fn list_probes() -> Vec<ProbeListing> {
    let mut probes = RealProbes.list();
    probes
        .sort_by(|a, b| (a.vid, a.pid, &a.serial, a.interface).cmp(&(b.vid, b.pid, &b.serial, b.interface)));
    probes
}

/// A core attached through probe-rs.
pub struct ProbeRs {
    /// `None` once detached.
    core: Option<Box<dyn AttachedCore>>,
    description: String,
}

impl ProbeRs {
    /// Finds the probe `selector` names, opens it at `speed_khz` (the probe's default if `None`),
    /// attaches to `chip` (a probe-rs chip name, e.g. `nRF52840_xxAA`) and uses core 0.
    ///
    /// `Refused` when the chip is locked (probe-rs would need to mass-erase it, which hilt never
    /// allows); `Io` for an unknown chip name, no matching probe, several matching probes, or any
    /// other failure, always with probe-rs's whole error chain.
    pub fn attach(
        selector: &ProbeSelector,
        chip: &str,
        speed_khz: Option<u32>,
    ) -> Result<ProbeRs, DebugError> {
        attach_with(&RealProbes, selector, chip, speed_khz)
    }

    fn core(&mut self) -> Result<&mut Box<dyn AttachedCore>, DebugError> {
        self.core.as_mut().ok_or_else(|| DebugError::Io(format!("{} is already detached", self.description)))
    }
}

fn attach_with(
    access: &dyn ProbeAccess,
    selector: &ProbeSelector,
    chip: &str,
    speed_khz: Option<u32>,
) -> Result<ProbeRs, DebugError> {
    let chip = chip.trim();
    if chip.is_empty() {
        return Err(DebugError::Io(
            "no chip name given: probe-rs needs the exact chip, e.g. nRF52840_xxAA or STM32F446RETx".into(),
        ));
    }
    // A typo in the chip name is reported before any probe is touched.
    access.check_chip(chip).map_err(|e| map_error(&format!("chip {chip:?}"), e.as_ref(), Op::Control))?;
    let probes = access.list();
    let probe = select(selector, &probes)?;
    let speed = speed_khz.map(|khz| format!(" at {khz} kHz")).unwrap_or_default();
    let description = format!("probe-rs {} {chip}", probe.selector());
    let core = access
        .open(probe, chip, speed_khz)
        .map_err(|e| map_error(&format!("attaching {description}{speed}"), e.as_ref(), Op::Attach))?;
    Ok(ProbeRs { core: Some(core), description })
}

/// The one probe `selector` names among `probes`; none or several are `Io` errors that say what is
/// attached, so a bench never runs against the wrong board.
fn select<'a>(selector: &ProbeSelector, probes: &'a [ProbeListing]) -> Result<&'a ProbeListing, DebugError> {
    if probes.is_empty() {
        return Err(DebugError::Io(format!(
            "no debug probe is attached (looking for {selector}); check the USB cable, and \
             `hilt probes` for what hilt sees"
        )));
    }
    let matching: Vec<&ProbeListing> = probes.iter().filter(|p| p.matches(selector)).collect();
    match matching.as_slice() {
        [one] if !one.accessible => Err(DebugError::Io(format!(
            "debug probe {} ({}) is attached but this user may not open it: install probe-rs's udev rules \
             (https://probe.rs/docs/getting-started/probe-setup/)",
            one.selector(),
            one.name
        ))),
        [one] => Ok(one),
        [] => Err(DebugError::Io(format!(
            "no debug probe matches {selector}; attached: {}",
            probes.iter().map(|p| format!("{} ({})", p.selector(), p.name)).collect::<Vec<_>>().join(", ")
        ))),
        several => Err(DebugError::Io(format!(
            "{} debug probes match {selector}: {}; give the serial number of the one wired to this \
             unit, e.g. {}",
            several.len(),
            several
                .iter()
                .map(|p| match p.serial {
                    Some(_) => format!("{} ({})", p.selector(), p.name),
                    None => format!("{} ({}, no serial number)", p.selector(), p.name),
                })
                .collect::<Vec<_>>()
                .join(", "),
            several[0].selector()
        ))),
    }
}

/// What was being done when probe-rs failed: it decides what a FAULT or a missing permission means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Attach,
    Memory,
    Control,
}

/// Turns a probe-rs error (anywhere in `e`'s source chain) into what the checks need to know.
///
/// `Refused`: probe-rs reports `Error::MissingPermissions` or `ArmError::MissingPermissions` —
/// what its vendor sequences (nRF APPROTECT, Microchip SAM security bit, ...) answer for a locked
/// chip that only a mass erase would open — or, for a memory access, the bus answered FAULT
/// (`DapError::FaultResponse`: read-protected memory, e.g. STM32 RDP level 1). Everything else is
/// `Io`: hilt could not talk, or was asked something the chip does not have.
fn map_error(what: &str, e: &(dyn StdError + 'static), op: Op) -> DebugError {
    let chain = error_chain(e);
    let mut next = Some(e);
    while let Some(err) = next {
        let locked = matches!(err.downcast_ref(), Some(probe_rs::Error::MissingPermissions(_)))
            || matches!(err.downcast_ref(), Some(ArmError::MissingPermissions(_)));
        if locked {
            return DebugError::Refused(format!(
                "{what}: the chip is locked (debug access protection); unlocking it would erase it, \
                 which hilt never does: {chain}"
            ));
        }
        if op == Op::Memory && matches!(err.downcast_ref(), Some(DapError::FaultResponse)) {
            return DebugError::Refused(format!(
                "{what}: the target answered FAULT (protected memory, or nothing mapped there): {chain}"
            ));
        }
        if let Some(RegistryError::ChipNotFound(_) | RegistryError::ChipNotUnique(..)) = err.downcast_ref() {
            return DebugError::Io(format!(
                "{what}: unknown chip name: {chain}; `probe-rs chip list` shows the names probe-rs knows"
            ));
        }
        next = err.source();
    }
    DebugError::Io(format!("{what}: {chain}"))
}

/// A stop request between pieces of a long transfer.
fn interrupted() -> Result<(), DebugError> {
    match crate::interrupt::requested() {
        Some(_) => Err(DebugError::Interrupted),
        None => Ok(()),
    }
}

/// The address of each piece of `len` bytes at `address`, and the range of the buffer it covers.
fn chunks(address: u64, len: usize) -> Result<Vec<(u64, std::ops::Range<usize>)>, DebugError> {
    let end = u64::try_from(len).ok().and_then(|n| address.checked_add(n));
    if end.is_none() {
        return Err(DebugError::Io(format!(
            "{len} bytes at {address:#x} run past the end of the address space"
        )));
    }
    Ok((0..len)
        .step_by(CHUNK)
        .map(|start| (address + start as u64, start..(start + CHUNK).min(len)))
        .collect())
}

impl DebugPort for ProbeRs {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn read_memory(&mut self, address: u64, buf: &mut [u8]) -> Result<(), DebugError> {
        let core = self.core()?;
        for (at, range) in chunks(address, buf.len())? {
            interrupted()?;
            let n = range.len();
            core.read(at, &mut buf[range])
                .map_err(|e| map_error(&format!("reading {n} bytes at {at:#x}"), e.as_ref(), Op::Memory))?;
        }
        Ok(())
    }

    fn write_memory(&mut self, address: u64, data: &[u8]) -> Result<(), DebugError> {
        let core = self.core()?;
        for (at, range) in chunks(address, data.len())? {
            interrupted()?;
            let n = range.len();
            core.write(at, &data[range])
                .map_err(|e| map_error(&format!("writing {n} bytes at {at:#x}"), e.as_ref(), Op::Memory))?;
        }
        Ok(())
    }

    fn halt(&mut self) -> Result<(), DebugError> {
        let what = format!("halting the core (waiting at most {} ms)", HALT_TIMEOUT.as_millis());
        self.core()?.halt(HALT_TIMEOUT).map_err(|e| map_error(&what, e.as_ref(), Op::Control))
    }

    fn resume(&mut self) -> Result<(), DebugError> {
        self.core()?.run().map_err(|e| map_error("resuming the core", e.as_ref(), Op::Control))
    }

    fn reset(&mut self) -> Result<(), DebugError> {
        self.core()?.reset().map_err(|e| map_error("resetting the target", e.as_ref(), Op::Control))
    }

    fn flash(&mut self, image: &FlashImage) -> Result<(), DebugError> {
        let what = match image {
            FlashImage::Elf(path) => format!("flashing ELF {}", path.display()),
            FlashImage::Bin { path, address } => format!("flashing {} at {address:#x}", path.display()),
        };
        self.core()?.flash(image).map_err(|e| map_error(&what, e.as_ref(), Op::Attach))
    }

    fn detach(&mut self) -> Result<(), DebugError> {
        match self.core.take() {
            Some(core) => core.detach().map_err(|e| map_error("detaching", e.as_ref(), Op::Control)),
            None => Ok(()),
        }
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// The probe-rs calls hilt makes to find and open a probe. Errors stay probe-rs's own, so that
/// [`map_error`] reads them the same way for the real probe and the tests' fake.
trait ProbeAccess {
    fn list(&self) -> Vec<ProbeListing>;
    /// Whether probe-rs knows `chip`.
    fn check_chip(&self, chip: &str) -> Result<(), BoxError>;
    fn open(
        &self,
        probe: &ProbeListing,
        chip: &str,
        speed_khz: Option<u32>,
    ) -> Result<Box<dyn AttachedCore>, BoxError>;
}

/// Core 0 of an attached session.
trait AttachedCore: Send {
    fn read(&mut self, address: u64, buf: &mut [u8]) -> Result<(), BoxError>;
    fn write(&mut self, address: u64, data: &[u8]) -> Result<(), BoxError>;
    fn halt(&mut self, timeout: Duration) -> Result<(), BoxError>;
    fn run(&mut self) -> Result<(), BoxError>;
    fn reset(&mut self) -> Result<(), BoxError>;
    fn flash(&mut self, image: &FlashImage) -> Result<(), BoxError>;
    /// Lets the core run if it is halted, then ends the session.
    fn detach(self: Box<Self>) -> Result<(), BoxError>;
}

/// The seam over the real probe-rs.
struct RealProbes;

impl ProbeAccess for RealProbes {
    fn list(&self) -> Vec<ProbeListing> {
        Lister::new()
            .list_all_with_access()
            .into_iter()
            .map(|item| ProbeListing {
                vid: item.info.vendor_id,
                pid: item.info.product_id,
                serial: item.info.serial_number.clone().filter(|s| !s.is_empty()),
                name: item.info.identifier.clone(),
                interface: item.info.interface,
                accessible: item.accessibility == Accessibility::Accessible,
            })
            .collect()
    }

    fn check_chip(&self, chip: &str) -> Result<(), BoxError> {
        Registry::from_builtin_families().get_target_by_name(chip)?;
        Ok(())
    }

    fn open(
        &self,
        probe: &ProbeListing,
        chip: &str,
        speed_khz: Option<u32>,
    ) -> Result<Box<dyn AttachedCore>, BoxError> {
        let mut opened = Lister::new().open(DebugProbeSelector {
            vendor_id: probe.vid,
            product_id: probe.pid,
            interface: probe.interface,
            serial_number: probe.serial.clone(),
        })?;
        if let Some(khz) = speed_khz {
            opened.set_speed(khz)?;
        }
        let mut session = opened.attach(chip, Permissions::default())?;
        // Fail at attach, not at the first operation, if the chip has no core 0.
        session.core(0)?;
        Ok(Box::new(RealCore { session }))
    }
}

struct RealCore {
    session: Session,
}

impl AttachedCore for RealCore {
    fn read(&mut self, address: u64, buf: &mut [u8]) -> Result<(), BoxError> {
        // `read` uses 32-bit transfers where aligned and bytes at the edges.
        Ok(self.session.core(0)?.read(address, buf)?)
    }

    fn write(&mut self, address: u64, data: &[u8]) -> Result<(), BoxError> {
        Ok(self.session.core(0)?.write(address, data)?)
    }

    fn halt(&mut self, timeout: Duration) -> Result<(), BoxError> {
        self.session.core(0)?.halt(timeout)?;
        Ok(())
    }

    fn run(&mut self) -> Result<(), BoxError> {
        Ok(self.session.core(0)?.run()?)
    }

    fn reset(&mut self) -> Result<(), BoxError> {
        Ok(self.session.core(0)?.reset()?)
    }

    fn flash(&mut self, image: &FlashImage) -> Result<(), BoxError> {
        // Erases only the sectors the image covers (never the whole chip); the core is left as
        // probe-rs leaves it after programming, so a check resets to boot the new image.
        match image {
            FlashImage::Elf(path) => {
                download_file(&mut self.session, path, ElfLoader(ElfOptions::default()))?
            }
            FlashImage::Bin { path, address } => download_file(
                &mut self.session,
                path,
                BinLoader(BinOptions { base_address: Some(*address), skip: 0 }),
            )?,
        }
        Ok(())
    }

    fn detach(mut self: Box<Self>) -> Result<(), BoxError> {
        let mut core = self.session.core(0)?;
        if core.core_halted()? {
            core.run()?;
        }
        // Dropping the session clears breakpoints and ends debugging; the core keeps running.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use probe_rs::probe::DebugProbeError;

    fn listing(vid: u16, pid: u16, serial: Option<&str>, name: &str) -> ProbeListing {
        ProbeListing {
            vid,
            pid,
            serial: serial.map(String::from),
            name: name.into(),
            interface: None,
            accessible: true,
        }
    }

    fn sel(text: &str) -> ProbeSelector {
        text.parse().unwrap()
    }

    #[test]
    fn selectors_parse_as_probe_rs_writes_them() {
        assert_eq!(
            sel("1366:1015:000683000000"),
            ProbeSelector { vid: 0x1366, pid: 0x1015, serial: Some("000683000000".into()) }
        );
        assert_eq!(sel("0483:374B"), ProbeSelector { vid: 0x0483, pid: 0x374b, serial: None });
        // ESP USB-JTAG serial numbers are MAC addresses.
        assert_eq!(sel("303a:1001:F4:12:FA:00:11:22").serial.as_deref(), Some("F4:12:FA:00:11:22"));
        assert_eq!(sel("483:374b:0671FF").to_string(), "0483:374b:0671FF");
    }

    #[test]
    fn bad_selectors_say_what_is_expected() {
        for (text, why) in [
            ("", "VID is missing"),
            ("1366", "PID is missing"),
            ("1366:", "PID is missing"),
            ("jlink:1015", "VID \"jlink\""),
            ("0x1366:1015", "VID \"0x1366\""),
            ("1366:10150", "PID \"10150\""),
            ("1366:1015:", "serial number after the second ':' is empty"),
        ] {
            let err = text.parse::<ProbeSelector>().unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(
                err.contains(
                    "expected VID:PID[:SERIAL] with hexadecimal VID and PID, e.g. 1366:1015:000683000000"
                ),
                "{err}"
            );
        }
    }

    #[test]
    fn an_exact_serial_picks_one_of_two_identical_probes() {
        let probes =
            [listing(0x1366, 0x1015, Some("111"), "J-Link"), listing(0x1366, 0x1015, Some("222"), "J-Link")];
        assert_eq!(select(&sel("1366:1015:222"), &probes).unwrap().serial.as_deref(), Some("222"));
    }

    #[test]
    fn without_a_serial_the_only_matching_probe_is_used() {
        let probes =
            [listing(0x0483, 0x374b, Some("0671"), "STLink V2-1"), listing(0x1366, 0x1015, None, "J-Link")];
        assert_eq!(select(&sel("1366:1015"), &probes).unwrap().name, "J-Link");
    }

    #[test]
    fn two_probes_matching_without_a_serial_are_an_error_naming_both() {
        let probes =
            [listing(0x1366, 0x1015, Some("111"), "J-Link"), listing(0x1366, 0x1015, Some("222"), "J-Link")];
        let err = select(&sel("1366:1015"), &probes).unwrap_err();
        let DebugError::Io(text) = &err else { panic!("{err:?}") };
        assert!(text.contains("2 debug probes match 1366:1015"), "{text}");
        assert!(text.contains("1366:1015:111 (J-Link), 1366:1015:222 (J-Link)"), "{text}");
    }

    #[test]
    fn no_probe_and_no_match_are_io_errors_that_say_what_is_attached() {
        let err = select(&sel("1366:1015"), &[]).unwrap_err();
        assert!(matches!(&err, DebugError::Io(t) if t.contains("no debug probe is attached")), "{err:?}");
        let probes = [listing(0x0483, 0x374b, Some("0671"), "STLink V2-1")];
        let err = select(&sel("1366:1015:9"), &probes).unwrap_err();
        assert!(
            matches!(&err, DebugError::Io(t) if t.contains("no debug probe matches 1366:1015:9; attached: 0483:374b:0671 (STLink V2-1)")),
            "{err:?}"
        );
    }

    #[test]
    fn a_probe_this_user_may_not_open_points_at_the_udev_rules() {
        let mut probe = listing(0x1366, 0x1015, Some("1"), "J-Link");
        probe.accessible = false;
        let err = select(&sel("1366:1015"), &[probe]).unwrap_err();
        assert!(matches!(&err, DebugError::Io(t) if t.contains("udev rules")), "{err:?}");
    }

    /// What a fake core was asked, and where it answers FAULT.
    #[derive(Default)]
    struct FakeCore {
        calls: Arc<Mutex<Vec<String>>>,
        fault_at: Option<u64>,
    }

    impl FakeCore {
        fn log(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
    }

    fn fault() -> BoxError {
        Box::new(probe_rs::Error::Arm(ArmError::Dap(DapError::FaultResponse)))
    }

    impl AttachedCore for FakeCore {
        fn read(&mut self, address: u64, buf: &mut [u8]) -> Result<(), BoxError> {
            self.log(format!("read {address:#x} {}", buf.len()));
            if self.fault_at.is_some_and(|a| (address..address + buf.len() as u64).contains(&a)) {
                return Err(fault());
            }
            buf.iter_mut().enumerate().for_each(|(i, b)| *b = (address as usize + i) as u8);
            Ok(())
        }
        fn write(&mut self, address: u64, data: &[u8]) -> Result<(), BoxError> {
            self.log(format!("write {address:#x} {}", data.len()));
            Ok(())
        }
        fn halt(&mut self, timeout: Duration) -> Result<(), BoxError> {
            self.log(format!("halt {}ms", timeout.as_millis()));
            Err(Box::new(probe_rs::Error::Timeout))
        }
        fn run(&mut self) -> Result<(), BoxError> {
            self.log("run".into());
            Ok(())
        }
        fn reset(&mut self) -> Result<(), BoxError> {
            self.log("reset".into());
            Ok(())
        }
        fn flash(&mut self, _: &FlashImage) -> Result<(), BoxError> {
            Err(Box::new(DebugProbeError::TargetNotFound))
        }
        fn detach(self: Box<Self>) -> Result<(), BoxError> {
            self.log("detach".into());
            Ok(())
        }
    }

    /// Probes that are "attached", and what opening one or checking a chip answers.
    struct FakeProbes {
        probes: Vec<ProbeListing>,
        chip_error: fn() -> Option<BoxError>,
        open: fn() -> Result<FakeCore, BoxError>,
        opened: Mutex<Vec<String>>,
    }

    impl FakeProbes {
        fn with(open: fn() -> Result<FakeCore, BoxError>) -> Self {
            FakeProbes {
                probes: vec![listing(0x1366, 0x1015, Some("000683000000"), "J-Link")],
                chip_error: || None,
                open,
                opened: Mutex::default(),
            }
        }
    }

    impl ProbeAccess for FakeProbes {
        fn list(&self) -> Vec<ProbeListing> {
            self.probes.clone()
        }
        fn check_chip(&self, _: &str) -> Result<(), BoxError> {
            (self.chip_error)().map_or(Ok(()), Err)
        }
        fn open(
            &self,
            probe: &ProbeListing,
            chip: &str,
            _: Option<u32>,
        ) -> Result<Box<dyn AttachedCore>, BoxError> {
            self.opened.lock().unwrap().push(format!("{} {chip}", probe.selector()));
            Ok(Box::new((self.open)()?))
        }
    }

    /// An error of some other layer with a probe-rs error under it, as a flashing error wraps one.
    #[derive(Debug)]
    struct Wrapped(probe_rs::Error);
    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("debug sequence failed")
        }
    }
    impl StdError for Wrapped {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_locked_chip_deep_in_the_chain_is_refused_with_the_whole_chain() {
        let access = FakeProbes::with(|| {
            Err(Box::new(Wrapped(probe_rs::Error::Arm(ArmError::MissingPermissions("erase_all".into())))))
        });
        let err = attach_with(&access, &sel("1366:1015"), "nRF52840_xxAA", Some(4000)).err().unwrap();
        let DebugError::Refused(text) = &err else { panic!("{err:?}") };
        assert!(
            text.starts_with("attaching probe-rs 1366:1015:000683000000 nRF52840_xxAA at 4000 kHz"),
            "{text}"
        );
        assert!(text.contains("the chip is locked"), "{text}");
        // Every level of the chain is in the message.
        assert!(text.contains("debug sequence failed"), "{text}");
        assert!(text.contains("An ARM specific error occurred"), "{text}");
        assert!(text.contains("erase_all"), "{text}");
        assert_eq!(*access.opened.lock().unwrap(), ["1366:1015:000683000000 nRF52840_xxAA"]);

        let access =
            FakeProbes::with(|| Err(Box::new(probe_rs::Error::MissingPermissions("erase_all".into()))));
        let err = attach_with(&access, &sel("1366:1015"), "nRF52840_xxAA", None).err().unwrap();
        assert!(matches!(err, DebugError::Refused(_)), "{err:?}");
    }

    #[test]
    fn other_attach_failures_are_io_with_the_chain() {
        let access =
            FakeProbes::with(|| Err(Box::new(probe_rs::Error::Probe(DebugProbeError::TargetNotFound))));
        let err = attach_with(&access, &sel("1366:1015"), "nRF52840_xxAA", None).err().unwrap();
        let DebugError::Io(text) = &err else { panic!("{err:?}") };
        assert!(
            text.contains("An error with the usage of the probe occurred: Failed to find or attach"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_chip_name_is_io_before_any_probe_is_opened() {
        let mut access = FakeProbes::with(|| Ok(FakeCore::default()));
        access.chip_error = || Some(Box::new(RegistryError::ChipNotFound("nRF52840".into())));
        let err = attach_with(&access, &sel("1366:1015"), "nRF52840", None).err().unwrap();
        let DebugError::Io(text) = &err else { panic!("{err:?}") };
        assert!(text.contains("unknown chip name") && text.contains("'nRF52840'"), "{text}");
        assert!(access.opened.lock().unwrap().is_empty());
        let err = attach_with(&access, &sel("1366:1015"), " ", None).err().unwrap();
        assert!(matches!(&err, DebugError::Io(t) if t.contains("no chip name")), "{err:?}");
    }

    #[test]
    fn probe_rs_knows_real_chip_names_and_rejects_others() {
        RealProbes.check_chip("nRF52840_xxAA").unwrap();
        let err = RealProbes.check_chip("nRF52840_xxAB").unwrap_err();
        let err = map_error("chip \"nRF52840_xxAB\"", err.as_ref(), Op::Control);
        assert!(matches!(&err, DebugError::Io(t) if t.contains("unknown chip name")), "{err:?}");
    }

    #[test]
    fn memory_moves_in_chunks_and_a_fault_is_refused_naming_the_chunk() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut port = ProbeRs {
            core: Some(Box::new(FakeCore { calls: calls.clone(), fault_at: Some(0x2000_1100) })),
            description: "fake".into(),
        };
        let mut buf = vec![0; 2 * CHUNK + 100];
        port.read_memory(0x1000_0000, &mut buf).unwrap();
        assert_eq!(buf[CHUNK + 1], (0x1000_0000 + CHUNK + 1) as u8);
        port.write_memory(0x2000_0000, &buf[..CHUNK + 1]).unwrap();
        let err = port.read_memory(0x2000_0000, &mut buf).unwrap_err();
        assert!(
            matches!(&err, DebugError::Refused(t) if t.starts_with("reading 4096 bytes at 0x20001000: the target answered FAULT")),
            "{err:?}"
        );
        assert_eq!(
            *calls.lock().unwrap(),
            [
                "read 0x10000000 4096",
                "read 0x10001000 4096",
                "read 0x10002000 100",
                "write 0x20000000 4096",
                "write 0x20001000 1",
                "read 0x20000000 4096",
                "read 0x20001000 4096",
            ]
        );
        let err = port.read_memory(u64::MAX - 1, &mut buf).unwrap_err();
        assert!(
            matches!(&err, DebugError::Io(t) if t.contains("past the end of the address space")),
            "{err:?}"
        );
    }

    #[test]
    fn control_errors_are_io_and_detach_ends_the_session() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut port = ProbeRs {
            core: Some(Box::new(FakeCore { calls: calls.clone(), fault_at: None })),
            description: "fake".into(),
        };
        let err = port.halt().unwrap_err();
        assert!(
            matches!(&err, DebugError::Io(t) if t == "halting the core (waiting at most 500 ms): A timeout occurred."),
            "{err:?}"
        );
        let err = port.flash(&FlashImage::Bin { path: "fw.bin".into(), address: 0x8000 }).unwrap_err();
        assert!(
            matches!(&err, DebugError::Io(t) if t.starts_with("flashing fw.bin at 0x8000: Failed to find")),
            "{err:?}"
        );
        port.resume().unwrap();
        port.reset().unwrap();
        port.detach().unwrap();
        port.detach().unwrap();
        assert_eq!(*calls.lock().unwrap(), ["halt 500ms", "run", "reset", "detach"]);
        let err = port.resume().unwrap_err();
        assert!(matches!(&err, DebugError::Io(t) if t.contains("already detached")), "{err:?}");
    }
}
