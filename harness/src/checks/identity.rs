//! Device identification (NIST IR 8259A DI.1, DI.2; NIST IR 8425 1a; ETSI EN 303 645 5.4-2, 5.4-4).
//!
//! The target declares the identifier's format and the operations that read it, one per channel
//! that exposes it; every operation captures `device_id`.

use super::{CheckDef, Conclusion, Context, ParamDef, ENGINEERING_UNIT};
use crate::config::IdentityCap;
use crate::device::{DeviceError, Dut, State};

pub static CHECKS: [CheckDef; 5] = [
    CheckDef {
        id: "ID-01",
        title: "one identifier on every channel, in the declared format",
        needs: &["device-identity"],
        state: State::Any,
        params: &[],
        run: same_on_every_channel,
    },
    CheckDef {
        id: "ID-02",
        title: "two units have different identifiers",
        needs: &["device-identity"],
        state: State::Any,
        params: &[],
        run: unique_across_units,
    },
    CheckDef {
        id: "ID-03",
        title: "identifier stable across power cycles",
        needs: &["device-identity"],
        state: State::Any,
        params: &[ParamDef { name: "cycles", default: "5", help: "power cycles to perform (at least 5)" }],
        run: stable_across_power_cycles,
    },
    CheckDef {
        id: "ID-05",
        title: "identifier kept and user data gone after factory reset",
        needs: &["device-identity", "factory-reset"],
        state: State::Initialized,
        params: &[],
        run: kept_across_factory_reset,
    },
    CheckDef {
        id: "ID-12",
        title: "the physical identifier read through the debug port is the one the device reports",
        needs: &["device-identity", ENGINEERING_UNIT],
        state: State::Any,
        params: &[],
        run: physical_matches_logical,
    },
];

fn identity(dut: &Dut) -> Result<IdentityCap, DeviceError> {
    dut.target()
        .capabilities
        .device_identity
        .clone()
        .ok_or_else(|| DeviceError::Config("device-identity is not declared".into()))
}

/// Reads the identifier with operation `op`.
pub fn read_id(dut: &mut Dut, op: &str) -> Result<String, DeviceError> {
    let m = dut.op_ok(op, &[])?;
    m.captures.get("device_id").cloned().ok_or_else(|| {
        DeviceError::Config(format!("operation {op} matched but its pattern captures no device_id"))
    })
}

/// Reads the identifier with the first declared read operation.
fn primary_id(dut: &mut Dut) -> Result<String, DeviceError> {
    let cap = identity(dut)?;
    let op = cap
        .read
        .first()
        .ok_or_else(|| DeviceError::Config("device-identity.read lists no operation".into()))?;
    read_id(dut, op)
}

fn same_on_every_channel(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let cap = identity(ctx.dut)?;
    let mut seen = Vec::new();
    for op in &cap.read {
        seen.push((op.clone(), read_id(ctx.dut, op)?));
    }
    let listing = seen.iter().map(|(op, id)| format!("{op}: {id}")).collect::<Vec<_>>().join(", ");
    let bad_format: Vec<_> = seen.iter().filter(|(_, id)| !cap.format.regex().is_match(id)).collect();
    if !bad_format.is_empty() {
        return Ok(Conclusion::fail(format!(
            "expected identifiers matching the declared format {}; saw {}",
            cap.format.as_str(),
            bad_format.iter().map(|(op, id)| format!("{op}: {id:?}")).collect::<Vec<_>>().join(", ")
        )));
    }
    let first = &seen[0].1;
    if seen.iter().any(|(_, id)| id != first) {
        return Ok(Conclusion::fail(format!("expected one identifier on every channel; saw {listing}")));
    }
    Ok(Conclusion::pass(format!(
        "identifier {first} on {} channel(s) ({listing}), format {}",
        seen.len(),
        cap.format.as_str()
    )))
}

fn unique_across_units(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let a = primary_id(ctx.dut)?;
    let Some(second) = ctx.dut.second_unit("unit-b") else {
        return Ok(Conclusion::inconclusive(
            "needs a second unit: the target is not launched by hilt, so run ID-02 with a launched target or compare two boards' ID-01 results",
        ));
    };
    let mut b_dut = second?;
    let b = primary_id(&mut b_dut);
    let b_transcript = b_dut.take_transcript();
    drop(b_dut);
    ctx.dut.transcript_mut().absorb(b_transcript);
    let b = b?;
    if a == b {
        return Ok(Conclusion::fail(format!(
            "expected different identifiers on two units; unit-a and unit-b both report {a}"
        )));
    }
    Ok(Conclusion::pass(format!("unit-a reports {a}, unit-b reports {b}")))
}

fn stable_across_power_cycles(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let cycles = ctx.params.u64("cycles").map_err(DeviceError::Config)?;
    if !ctx.dut.has_power_control() {
        return Ok(Conclusion::inconclusive(
            "the target file declares no power control, so the device cannot be power-cycled",
        ));
    }
    let before = primary_id(ctx.dut)?;
    for cycle in 1..=cycles {
        ctx.dut.note(format!("power cycle {cycle}/{cycles}"));
        ctx.dut.power_cycle()?;
        let after = primary_id(ctx.dut)?;
        if after != before {
            return Ok(Conclusion::fail(format!(
                "expected the identifier to survive power loss; before: {before}, after power cycle {cycle} of {cycles}: {after}"
            )));
        }
    }
    ctx.measure("power_cycles", cycles, "count");
    Ok(Conclusion::pass(format!("identifier {before} unchanged across {cycles} power cycles")))
}

fn kept_across_factory_reset(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let target = ctx.dut.target().clone();
    let reset = target
        .capabilities
        .factory_reset
        .as_ref()
        .ok_or_else(|| DeviceError::Config("factory-reset is not declared".into()))?;
    let user_data = reset.user_data.as_ref().ok_or_else(|| {
        DeviceError::Config(
            "factory-reset.user-data (write and read operations) is needed to seed user data".into(),
        )
    })?;
    let method = reset
        .methods
        .first()
        .ok_or_else(|| DeviceError::Config("factory-reset.methods lists no operation".into()))?;
    let canary = format!("hilt-canary-{}", std::process::id());
    let key = "hilt_canary";
    ctx.dut.op_ok(&user_data.write, &[("key", key), ("value", &canary)])?;
    let seeded = ctx.dut.op(&user_data.read, &[("key", key)])?;
    if seeded.outcome != "ok" || seeded.captures.get("value") != Some(&canary) {
        return Err(DeviceError::Lifecycle(format!(
            "could not seed user data: reading {key} back gave outcome {:?}, value {:?}",
            seeded.outcome,
            seeded.captures.get("value")
        )));
    }
    let before = primary_id(ctx.dut)?;
    ctx.dut.note(format!("factory reset with {method}"));
    ctx.dut.op_ok(method, &[])?;
    let after = primary_id(ctx.dut)?;
    if after != before {
        return Ok(Conclusion::fail(format!(
            "expected the identifier to survive factory reset; before: {before}, after: {after}"
        )));
    }
    let state = ctx.dut.reported_state()?;
    if state != "uninitialized" {
        return Ok(Conclusion::fail(format!(
            "expected the device uninitialized after factory reset; it reports {state:?}"
        )));
    }
    // Provision again with the harness's credentials: only then can the user data store be read.
    ctx.dut.ensure_state(State::Initialized)?;
    let left = ctx.dut.op(&user_data.read, &[("key", key)])?;
    if left.outcome == "ok" {
        return Ok(Conclusion::fail(format!(
            "expected user data gone after factory reset; {key} still reads {:?}",
            left.captures.get("value").map(String::as_str).unwrap_or("")
        )));
    }
    Ok(Conclusion::pass(format!(
        "identifier {before} kept across factory reset; device uninitialized; seeded user data gone (read outcome {:?})",
        left.outcome
    )))
}

/// DI.2: the identifier stored where an authorized entity with a probe can read it (the target's
/// `debug.identifier` region) is the one the device reports on its interfaces.
fn physical_matches_logical(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let debug = ctx.dut.debug_config()?;
    let Some(region) = debug.identifier else {
        return Ok(Conclusion::not_applicable(
            "the target's debug section declares no `identifier` region (where the physical identifier is)",
        ));
    };
    let logical = primary_id(ctx.dut)?;
    let bytes = ctx.dut.with_debug(|port| port.read(region.address, region.size))?;
    let physical = region.encoding.render(&bytes);
    let at = format!("the {} bytes at {:#x}", region.size, region.address);
    if bytes.iter().all(|&b| b == 0xFF) || bytes.iter().all(|&b| b == 0) {
        return Ok(Conclusion::fail(format!(
            "expected a physical identifier at {at}; the region is blank ({physical}), while the device reports {logical}"
        )));
    }
    if !physical.eq_ignore_ascii_case(&logical) {
        return Ok(Conclusion::fail(format!(
            "expected the identifier the device reports ({logical}) to be its physical identifier; {at} read through the debug port hold {physical}"
        )));
    }
    Ok(Conclusion::pass(format!(
        "the device reports {logical}, the identifier stored in {at} (read through the debug port)"
    )))
}
