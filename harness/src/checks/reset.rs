//! Factory reset for retirement (NIST IR 8259A DC.3, DP.2; NIST IR 8425 2b, 3b; ETSI EN 303 645
//! 5.11-1; TS 103 701 5.11-1-2b/c). The target declares its reset methods, how to seed and read
//! user data, and how a reset without a login is attempted.

use std::time::Instant;

use super::lockout::{try_dictionary, DICTIONARY};
use super::update::{running_version, SplitMix, Updater};
use super::{CheckDef, Conclusion, Context, ParamDef};
use crate::config::{FactoryResetCap, UserDataOps};
use crate::device::{CutRun, DeviceError, Dut, State};

pub static CHECKS: [CheckDef; 5] = [
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
        let offset = span.mul_f64(rng.next_fraction());
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
