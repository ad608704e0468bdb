//! Factory reset for retirement (NIST IR 8259A DC.3, DP.2; NIST IR 8425 2b, 3b; ETSI EN 303 645
//! 5.11-1; TS 103 701 5.11-1-2b/c). The target declares its reset methods, how to seed and read
//! user data, and how a reset without a login is attempted.

use super::{CheckDef, Conclusion, Context};
use crate::config::{FactoryResetCap, UserDataOps};
use crate::device::{DeviceError, Dut, State};

pub static CHECKS: [CheckDef; 3] = [
    CheckDef {
        id: "FR-01",
        title: "every declared reset method completes and confirms",
        needs: &["factory-reset"],
        state: State::Any,
        params: &[],
        run: every_method_resets,
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

fn nothing_left(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let cap = declared(ctx.dut)?;
    let user_data: UserDataOps = cap.user_data.clone().ok_or_else(|| {
        DeviceError::Config(
            "factory-reset.user-data (write and read operations) is needed to seed canaries".into(),
        )
    })?;
    let method =
        cap.methods.first().ok_or_else(|| DeviceError::Config("factory-reset.methods is empty".into()))?;
    let seeded = canaries();
    for (key, value) in &seeded {
        ctx.dut.op_ok(&user_data.write, &[("key", key), ("value", value)])?;
    }
    ctx.dut.note(format!("seeded {} canaries; factory reset with {method}", seeded.len()));
    ctx.dut.op_ok(method, &[])?;
    let state = ctx.dut.reported_state()?;
    if state != "uninitialized" {
        return Ok(Conclusion::fail(format!(
            "expected the device uninitialized after a reset, its credentials gone; it reports {state:?}"
        )));
    }
    // Only a provisioned device lets the user-data store be read: provision it anew and look.
    ctx.dut.ensure_state(State::Initialized)?;
    let mut found = Vec::new();
    for (key, value) in &seeded {
        let read = ctx.dut.op(&user_data.read, &[("key", key)])?;
        if read.outcome == "ok" && read.captures.get("value") == Some(value) {
            found.push(format!("{key}={value}"));
        }
    }
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
