//! Factory reset for retirement (NIST IR 8259A DC.3, DP.2; NIST IR 8425 2b, 3b; ETSI EN 303 645
//! 5.11-1; TS 103 701 5.11-1-2b/c). The target declares its reset methods, how to seed and read
//! user data, and how a reset without a login is attempted.

use std::time::Instant;

use super::lockout::{try_dictionary, DICTIONARY};
use super::update::{running_version, SplitMix, Updater};
use super::{CheckDef, Conclusion, Context, ParamDef, ENGINEERING_UNIT};
use crate::config::{FactoryResetCap, Region, UserDataOps};
use crate::device::{CutRun, DeviceError, Dut, State};

pub static CHECKS: [CheckDef; 6] = [
    CheckDef {
        id: "FR-01",
        title: "every declared reset method completes and confirms",
        needs: &["factory-reset"],
        state: State::Any,
        params: &[],
        run: every_method_resets,
    },
    CheckDef {
        id: "FR-05",
        title: "a power cut during a reset never leaves data behind a reset-looking device",
        needs: &["factory-reset"],
        state: State::Initialized,
        params: &[
            ParamDef {
                name: "trials",
                default: "20",
                help: "power cuts at seeded instants during the reset",
            },
            ParamDef {
                name: "seed",
                default: "8259",
                help: "seeds the cut instants, so a run can be repeated",
            },
        ],
        run: power_cut_during_reset,
    },
    CheckDef {
        id: "FR-07",
        title: "after a reset: no universal password, no firmware rollback",
        needs: &["factory-reset"],
        state: State::Initialized,
        params: &[DICTIONARY],
        run: secure_after_reset,
    },
    CheckDef {
        id: "FR-02",
        title: "no user data or credentials left after a reset",
        needs: &["factory-reset"],
        state: State::Initialized,
        params: &[],
        run: nothing_left,
    },
    CheckDef {
        id: "FR-08",
        title: "a reset without authentication is refused",
        needs: &["factory-reset"],
        state: State::Initialized,
        params: &[],
        run: reset_needs_authentication,
    },
    CheckDef {
        id: "FR-03",
        title: "no seeded data or credential left in flash after a reset (dumped through the debug port)",
        needs: &["factory-reset", ENGINEERING_UNIT],
        state: State::Initialized,
        params: &[],
        run: nothing_left_in_flash,
    },
];

fn declared(dut: &Dut) -> Result<FactoryResetCap, DeviceError> {
    dut.target()
        .capabilities
        .factory_reset
        .clone()
        .ok_or_else(|| DeviceError::Config("factory-reset is not declared".into()))
}

/// Provisions the device if it is not initialized, so a reset has something to undo. Uses the
/// provisioning step only: bringing it to a clean state would itself need a working reset.
fn initialize(dut: &mut Dut) -> Result<(), DeviceError> {
    if dut.reported_state()? == "initialized" {
        return Ok(());
    }
    let op = dut.target().lifecycle.provision.clone().ok_or_else(|| {
        DeviceError::Config("lifecycle.provision is needed to give the reset something to undo".into())
    })?;
    dut.op_ok(&op, &[])?;
    Ok(())
}

fn every_method_resets(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let cap = declared(ctx.dut)?;
    for method in &cap.methods {
        initialize(ctx.dut)?;
        let outcome = ctx.dut.op_past_lockout(method, &[])?.outcome;
        if outcome != "ok" {
            return Ok(Conclusion::fail(format!(
                "expected reset method {method} to confirm; it answered {outcome:?}"
            )));
        }
        let state = ctx.dut.reported_state()?;
        if state != "uninitialized" {
            return Ok(Conclusion::fail(format!(
                "expected the device uninitialized after {method} confirmed; it reports {state:?}"
            )));
        }
    }
    Ok(Conclusion::pass(format!("{} confirmed and left the device uninitialized", cap.methods.join(", "))))
}

/// Canary values seeded before a reset: unique per run, so finding one is proof.
fn canaries() -> Vec<(&'static str, String)> {
    let tag = std::process::id();
    vec![
        ("wifi.psk", format!("hilt-canary-wifi-{tag}")),
        ("cloud.token", format!("hilt-canary-token-{tag}")),
        ("log.entry", format!("hilt-canary-log-{tag}")),
    ]
}

fn user_data(cap: &FactoryResetCap) -> Result<UserDataOps, DeviceError> {
    cap.user_data.clone().ok_or_else(|| {
        DeviceError::Config(
            "factory-reset.user-data (write and read operations) is needed to seed canaries".into(),
        )
    })
}

fn first_method(cap: &FactoryResetCap) -> Result<String, DeviceError> {
    cap.methods.first().cloned().ok_or_else(|| DeviceError::Config("factory-reset.methods is empty".into()))
}

fn seed(dut: &mut Dut, ops: &UserDataOps, seeded: &[(&str, String)]) -> Result<(), DeviceError> {
    for (key, value) in seeded {
        dut.op_ok(&ops.write, &[("key", key), ("value", value)])?;
    }
    Ok(())
}

/// The seeded canaries still readable. Only a provisioned device lets the user-data store be
/// read, so an uninitialized one is provisioned anew first.
fn readable(dut: &mut Dut, ops: &UserDataOps, seeded: &[(&str, String)]) -> Result<Vec<String>, DeviceError> {
    dut.ensure_state(State::Initialized)?;
    let mut found = Vec::new();
    for (key, value) in seeded {
        let read = dut.op(&ops.read, &[("key", key)])?;
        if read.outcome == "ok" && read.captures.get("value") == Some(value) {
            found.push(format!("{key}={value}"));
        }
    }
    Ok(found)
}

fn nothing_left(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let cap = declared(ctx.dut)?;
    let ops = user_data(&cap)?;
    let method = first_method(&cap)?;
    let seeded = canaries();
    seed(ctx.dut, &ops, &seeded)?;
    ctx.dut.note(format!("seeded {} canaries; factory reset with {method}", seeded.len()));
    ctx.dut.op_ok(&method, &[])?;
    let state = ctx.dut.reported_state()?;
    if state != "uninitialized" {
        return Ok(Conclusion::fail(format!(
            "expected the device uninitialized after a reset, its credentials gone; it reports {state:?}"
        )));
    }
    let found = readable(ctx.dut, &ops, &seeded)?;
    if !found.is_empty() {
        return Ok(Conclusion::fail(format!(
            "expected no user data after a reset; still readable: {}",
            found.join(", ")
        )));
    }
    Ok(Conclusion::pass(format!(
        "after {method}: device uninitialized, and none of {} seeded canaries readable once provisioned again",
        seeded.len()
    )))
}

fn reset_needs_authentication(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let cap = declared(ctx.dut)?;
    let Some(op) = cap.unauthenticated else {
        return Ok(Conclusion::inconclusive(
            "the target declares no factory-reset.unauthenticated operation to attempt a reset without a login",
        ));
    };
    let outcome = ctx.dut.op(&op, &[])?.outcome;
    if outcome != "denied" {
        return Ok(Conclusion::fail(format!(
            "expected a reset without authentication refused; {op} answered {outcome:?}"
        )));
    }
    let state = ctx.dut.reported_state()?;
    if state != "initialized" {
        return Ok(Conclusion::fail(format!(
            "{op} was answered `denied`, but the device now reports {state:?}: it reset anyway"
        )));
    }
    Ok(Conclusion::pass(format!("{op} was refused and the device kept its configuration")))
}

fn power_cut_during_reset(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let trials = ctx.params.u64("trials").map_err(DeviceError::Config)?;
    let mut rng = SplitMix(ctx.params.u64("seed").map_err(DeviceError::Config)?);
    let cap = declared(ctx.dut)?;
    let ops = user_data(&cap)?;
    let method = first_method(&cap)?;
    if !ctx.dut.has_power_control() {
        return Ok(Conclusion::inconclusive("the target declares no power control to cut"));
    }
    let seeded = canaries();
    // One reset without a cut measures how long a reset takes: the span the cuts are spread over.
    seed(ctx.dut, &ops, &seeded)?;
    let start = Instant::now();
    ctx.dut.op_ok(&method, &[])?;
    let span = start.elapsed();
    let (mut completed, mut resumed, mut untouched) = (0, 0, 0);
    for trial in 0..trials {
        ctx.dut.ensure_state(State::Initialized)?;
        seed(ctx.dut, &ops, &seeded)?;
        let offset = span.mul_f64(rng.stratified(trial, trials));
        let at =
            format!("trial {}/{trials}: cut {:.1} ms into {method}", trial + 1, offset.as_secs_f64() * 1e3);
        ctx.dut.note(&at);
        let cut = ctx.dut.op_with_cut(&method, &[], Instant::now() + offset)?;
        ctx.dut.power_on()?;
        let state = match ctx.dut.reported_state() {
            Ok(s) => s,
            Err(e) if e.is_device_crash() => {
                return Ok(Conclusion::fail(format!("{at}: the device no longer boots: {e}")));
            }
            Err(e) => return Err(e),
        };
        match state.as_str() {
            "uninitialized" => {
                let found = readable(ctx.dut, &ops, &seeded)?;
                if !found.is_empty() {
                    return Ok(Conclusion::fail(format!(
                        "{at}: the device came back uninitialized, as if reset, yet still holds {}",
                        found.join(", ")
                    )));
                }
                if matches!(cut, CutRun::Cut) {
                    resumed += 1;
                } else {
                    completed += 1;
                }
            }
            "initialized" => {
                // The reset had not begun: a retry must now do it whole.
                untouched += 1;
                ctx.dut.op_ok(&method, &[])?;
                let found = readable(ctx.dut, &ops, &seeded)?;
                if !found.is_empty() {
                    return Ok(Conclusion::fail(format!(
                        "{at}: the device kept its data through the cut, and the retried reset left {}",
                        found.join(", ")
                    )));
                }
            }
            other => return Err(DeviceError::Lifecycle(format!("{at}: the device reports state {other:?}"))),
        }
    }
    ctx.measure("reset_ms", format!("{:.1}", span.as_secs_f64() * 1e3), "ms");
    ctx.measure("trials", trials, "");
    Ok(Conclusion::pass(format!(
        "{trials} power cuts during {method}: {resumed} cut mid-reset came back fully reset, {completed} after it, \
         {untouched} before it began (retried); no canary ever readable behind a reset-looking device"
    )))
}

fn secure_after_reset(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let cap = declared(ctx.dut)?;
    let method = first_method(&cap)?;
    // A rollback is only visible on a device that runs something newer than its factory image.
    let up = Updater::new(ctx.dut).ok().filter(|u| u.key().ok().flatten().is_some());
    if let Some(up) = &up {
        let running = running_version(ctx.dut)?;
        let image = up.newer(ctx.dut, running)?;
        if let Err(why) = up.install(ctx.dut, &image)? {
            return Err(DeviceError::Lifecycle(format!("updating before the reset: {why}")));
        }
    }
    let before = running_version(ctx.dut)?;
    ctx.dut.op_ok(&method, &[])?;
    let after = running_version(ctx.dut)?;
    if after < before {
        return Ok(Conclusion::fail(format!("the reset rolled the firmware back from {before} to {after}")));
    }
    let words = ctx.params.list("dictionary").map_err(DeviceError::Config)?;
    let Some(la) = ctx.dut.target().capabilities.access_lockout.clone() else {
        return Ok(Conclusion::inconclusive(format!(
            "version kept ({after}); no access-lockout login operations are declared to try default passwords with"
        )));
    };
    if let Some((op, word)) = try_dictionary(ctx.dut, &la.login[..1], &words)? {
        return Ok(Conclusion::fail(format!("after the reset {op} accepted the common password {word:?}")));
    }
    let updated = if up.is_some() { " (updated first, so a rollback would show)" } else { "" };
    Ok(Conclusion::pass(format!(
        "after {method}: still {after}{updated}, and none of {} common passwords logged in",
        words.len()
    )))
}

/// DP.2 / EN 303 645 5.11-1: after a reset, the data is gone from the storage itself, not only
/// from the interfaces. Seeds canaries (and uses the credential), dumps the declared flash regions
/// through the debug port before and after the reset, and searches the dumps for every form the
/// values could be stored in.
fn nothing_left_in_flash(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let debug = ctx.dut.debug_config()?;
    if debug.flash.is_empty() {
        return Ok(Conclusion::not_applicable(
            "the target's debug section declares no `flash` regions to dump",
        ));
    }
    let cap = declared(ctx.dut)?;
    let ops = user_data(&cap)?;
    let method = first_method(&cap)?;
    let seeded = canaries();
    seed(ctx.dut, &ops, &seeded)?;
    let mut needles: Vec<(String, Vec<u8>)> =
        seeded.iter().map(|(key, value)| (format!("canary {key}"), value.clone().into_bytes())).collect();
    let credential = ctx.dut.target().capabilities.access_lockout.as_ref().map(|la| la.credential.clone());
    if let Some(value) = credential.and_then(|c| ctx.dut.target().secrets.get(&c).cloned()) {
        needles.push(("the login credential".into(), value.into_bytes()));
    }
    let before = search(&dump(ctx.dut, &debug.flash)?, &needles);
    let visible: std::collections::BTreeSet<&str> = before.iter().map(|f| f.what.as_str()).collect();
    if visible.is_empty() {
        return Ok(Conclusion::inconclusive(format!(
            "none of {} seeded values is visible in the declared regions even before the reset (stored elsewhere, or \
             encrypted): a dump of {} cannot show whether a reset erases them",
            needles.len(),
            region_list(&debug.flash)
        )));
    }
    ctx.dut.note(format!("before the reset the dump shows {}; factory reset with {method}", join(&visible)));
    ctx.dut.op_ok(&method, &[])?;
    let after = search(&dump(ctx.dut, &debug.flash)?, &needles);
    ctx.measure("bytes_dumped", debug.flash.iter().map(|r| r.size).sum::<u64>(), "bytes");
    if !after.is_empty() {
        let listing: Vec<String> = after.iter().take(8).map(Found::describe).collect();
        return Ok(Conclusion::fail(format!(
            "expected no seeded data in flash after {method}; still there: {}{}",
            listing.join("; "),
            if after.len() > 8 { format!(" (and {} more)", after.len() - 8) } else { String::new() }
        )));
    }
    Ok(Conclusion::pass(format!(
        "after {method}, none of {} seeded values in {} (searched raw, UTF-16LE, hex and base64); before the reset \
         the dump showed {}",
        needles.len(),
        region_list(&debug.flash),
        join(&visible)
    )))
}

fn join(names: &std::collections::BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(", ")
}

fn region_list(regions: &[Region]) -> String {
    regions.iter().map(Region::label).collect::<Vec<_>>().join(", ")
}

/// Every declared region's bytes, read through the debug port in one attach.
fn dump(dut: &mut Dut, regions: &[Region]) -> Result<Vec<(Region, Vec<u8>)>, DeviceError> {
    dut.with_debug(|port| regions.iter().map(|r| Ok((r.clone(), port.read(r.address, r.size)?))).collect())
}

/// One seeded value found in a dump.
#[derive(Debug, PartialEq)]
struct Found {
    what: String,
    form: &'static str,
    region: String,
    address: u64,
}

impl Found {
    fn describe(&self) -> String {
        format!("{} ({}) at {:#x} in {}", self.what, self.form, self.address, self.region)
    }
}

fn search(dumps: &[(Region, Vec<u8>)], needles: &[(String, Vec<u8>)]) -> Vec<Found> {
    let mut found = Vec::new();
    for (what, value) in needles {
        for (form, needle) in forms(value) {
            for (region, bytes) in dumps {
                if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle.as_slice()) {
                    found.push(Found {
                        what: what.clone(),
                        form,
                        region: region.label(),
                        address: region.address + at as u64,
                    });
                }
            }
        }
    }
    found
}

/// The forms a stored value may take: as written, UTF-16LE, hex either case, and base64 at each
/// of the three alignments it can start at inside a longer encoded record (the characters that
/// depend on neighbouring bytes are left out of the needle).
fn forms(value: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let hex = crate::image::hex(value);
    let mut out = vec![
        ("raw", value.to_vec()),
        ("UTF-16LE", value.iter().flat_map(|&b| [b, 0]).collect()),
        ("hex", hex.clone().into_bytes()),
        ("HEX", hex.to_uppercase().into_bytes()),
    ];
    for lead in 0..3 {
        let mut bytes = vec![0u8; lead];
        bytes.extend_from_slice(value);
        let encoded = base64(&bytes);
        let start = if lead == 0 { 0 } else { 4 };
        let end = encoded.len().saturating_sub(4);
        if end > start + 8 {
            out.push(("base64", encoded.as_bytes()[start..end].to_vec()));
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn a_value_is_found_in_every_form_at_any_alignment() {
        let value = b"hilt-canary-wifi-4242";
        let region = Region { name: Some("flash".into()), address: 0x1000, size: 0 };
        let stored: Vec<(&str, Vec<u8>)> = vec![
            ("raw", value.to_vec()),
            ("UTF-16LE", value.iter().flat_map(|&b| [b, 0]).collect()),
            ("hex", value.iter().map(|b| format!("{b:02x}")).collect::<String>().into_bytes()),
            ("HEX", value.iter().map(|b| format!("{b:02X}")).collect::<String>().into_bytes()),
        ];
        for (form, bytes) in stored {
            let mut dump = vec![0xFF; 7];
            dump.extend_from_slice(&bytes);
            let hits = search(&[(region.clone(), dump)], &[("c".into(), value.to_vec())]);
            assert!(hits.iter().any(|f| f.form == form && f.address == 0x1007), "{form}: {hits:?}");
        }
        for lead in 0..3 {
            let mut record = b"token=".to_vec();
            record.extend(std::iter::repeat_n(b'x', lead));
            record.extend_from_slice(value);
            record.extend_from_slice(b";end");
            let hits =
                search(&[(region.clone(), base64(&record).into_bytes())], &[("c".into(), value.to_vec())]);
            assert!(hits.iter().any(|f| f.form == "base64"), "lead {lead}: {hits:?}");
        }
        let hits = search(&[(region, vec![0xFF; 256])], &[("c".into(), value.to_vec())]);
        assert!(hits.is_empty(), "{hits:?}");
    }
}
