//! Logical access to interfaces: lockout and password change (NIST IR 8259A LA.3; ETSI EN 303 645
//! 5.1-4, 5.1-5; TS 103 701 5.1-5-1, 5.1-5-2a/b, 5.1-4-2; OWASP ISVS 2.1.6, 2.1.12), and a
//! production unit's locked debug port (8259A LA.1; EN 303 645 5.6-4; ISVS 5.1.1).
//!
//! Judged against the target's declaration (threshold, duration), as TS 103 701's functional tests
//! are against the IXIT. Lockout windows are waited out with `wait_watching`: a deadline on the
//! device's own channel, so a crash or a vanished device still ends the wait at once.

use std::time::{Duration, Instant};

use super::update::{running_version, Updater};
use super::{CheckDef, Conclusion, Context, ParamDef, PRODUCTION_UNIT};
use crate::config::AccessLockoutCap;
use crate::device::{DeviceError, Dut, State};
use crate::transport::debug::DebugError;

pub static CHECKS: [CheckDef; 8] = [
    CheckDef {
        id: "LA-02",
        title: "missing and wrong credentials refused on every interface",
        needs: &["access-lockout"],
        state: State::Initialized,
        params: &[],
        run: credentials_required,
    },
    CheckDef {
        id: "LA-03",
        title: "no common default password accepted on any interface",
        needs: &["access-lockout"],
        state: State::Initialized,
        params: &[DICTIONARY],
        run: no_default_password,
    },
    CheckDef {
        id: "LA-04",
        title: "a factory-default unit demands a password before use",
        needs: &["access-lockout"],
        state: State::FactoryDefault,
        params: &[DICTIONARY],
        run: password_before_use,
    },
    CheckDef {
        id: "LA-05",
        title: "lockout after the declared failures, for the declared time",
        needs: &["access-lockout"],
        state: State::Initialized,
        params: &[ParamDef {
            name: "extra_attempts",
            default: "5",
            help: "failed logins tried beyond the declared threshold before concluding there is no lockout",
        }],
        run: lockout_matches_declaration,
    },
    CheckDef {
        id: "LA-06",
        title: "failure count and lockout survive a power cycle",
        needs: &["access-lockout"],
        state: State::Initialized,
        params: &[],
        run: survives_power_cycle,
    },
    CheckDef {
        id: "LA-07",
        title: "no bypass of a lockout through another interface or a new connection",
        needs: &["access-lockout"],
        state: State::Initialized,
        params: &[],
        run: no_bypass,
    },
    CheckDef {
        id: "LA-08",
        title: "changing the password needs the current one; the old one stops working",
        needs: &["access-lockout"],
        state: State::Initialized,
        params: &[],
        run: password_change,
    },
    CheckDef {
        id: "LA-11",
        title: "the debug port of a production unit is locked",
        needs: &[PRODUCTION_UNIT],
        state: State::Any,
        params: &[],
        run: debug_port_locked,
    },
];

pub(super) const DICTIONARY: ParamDef = ParamDef {
    name: "dictionary",
    default: "admin,password,1234,root,default",
    help: "comma-separated common default passwords to try",
};

/// A password no device under test has: the failed-login attempts.
const WRONG: &str = "hilt-Wrong-Passw0rd";
/// A lockout must last at least this share of the declared duration to count as that duration.
const EARLY_SHARE: f64 = 0.8;
/// Added to the declared duration before expecting the lockout to be over.
const LATE_MARGIN: Duration = Duration::from_millis(500);

/// The declaration and the valid credential.
fn declared(dut: &Dut) -> Result<(AccessLockoutCap, String), DeviceError> {
    let cap = dut
        .target()
        .capabilities
        .access_lockout
        .clone()
        .ok_or_else(|| DeviceError::Config("access-lockout is not declared".into()))?;
    let password = dut
        .target()
        .secrets
        .get(&cap.credential)
        .cloned()
        .ok_or_else(|| DeviceError::Config(format!("secret {} is not declared", cap.credential)))?;
    Ok((cap, password))
}

/// The outcome of a login attempt: ok, denied or locked.
fn login(dut: &mut Dut, op: &str, password: &str) -> Result<String, DeviceError> {
    Ok(dut.op(op, &[("password", password)])?.outcome)
}

/// What a series of failed logins ran into.
struct Series {
    /// Logins answered `denied`.
    denied: u32,
    /// When the last `denied` answer arrived: a lockout it triggered began no later.
    last_denied: Instant,
    /// When that last failing login was sent: the lockout began no earlier.
    last_denied_sent: Instant,
    /// The answer that ended the series early (`locked`, or `ok` to a wrong password).
    stopped_by: Option<String>,
}

/// Up to `count` logins with a wrong password on `op`, stopping at the first answer that is not
/// `denied`.
fn fail_logins(dut: &mut Dut, op: &str, count: u32) -> Result<Series, DeviceError> {
    let now = Instant::now();
    let mut series = Series { denied: 0, last_denied: now, last_denied_sent: now, stopped_by: None };
    for _ in 0..count {
        let sent = Instant::now();
        match login(dut, op, WRONG)?.as_str() {
            "denied" => {
                series.denied += 1;
                series.last_denied = Instant::now();
                series.last_denied_sent = sent;
            }
            other => {
                series.stopped_by = Some(other.to_string());
                break;
            }
        }
    }
    Ok(series)
}

/// Locks the device through `op` with the declared number of failures, and shows it is locked.
/// Err(conclusion) when it cannot be locked that way, which the calling check reports.
fn lock(
    dut: &mut Dut,
    cap: &AccessLockoutCap,
    op: &str,
    password: &str,
) -> Result<Result<Instant, Conclusion>, DeviceError> {
    let series = fail_logins(dut, op, cap.threshold)?;
    if series.stopped_by.as_deref() == Some("ok") {
        return Ok(Err(Conclusion::fail(format!("expected a wrong password refused; {op} accepted it"))));
    }
    match login(dut, op, password)?.as_str() {
        "locked" => Ok(Ok(series.last_denied)),
        outcome => Ok(Err(Conclusion::inconclusive(format!(
            "the device did not lock after the declared {} failed logins (the correct password then gave {outcome:?}), so there is no lockout to test here; LA-05 reports the lockout itself",
            cap.threshold
        )))),
    }
}

fn credentials_required(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let (cap, _) = declared(ctx.dut)?;
    for op in &cap.login {
        for (what, password) in [("a wrong password", WRONG), ("an empty password", "")] {
            // `locked` is a refusal too: only `ok` lets anyone in.
            if login(ctx.dut, op, password)? == "ok" {
                return Ok(Conclusion::fail(format!("expected {what} refused; {op} accepted it")));
            }
        }
    }
    for op in &cap.protected {
        let outcome = ctx.dut.op(op, &[])?.outcome;
        if outcome != "denied" {
            return Ok(Conclusion::fail(format!(
                "expected {op} refused without credentials; it answered {outcome:?}"
            )));
        }
    }
    Ok(Conclusion::pass(format!(
        "wrong and empty passwords refused on {}; {} refused without credentials",
        cap.login.join(", "),
        cap.protected.join(", ")
    )))
}

/// Tries every dictionary password on each of `ops`, waiting out lockouts so none is skipped.
/// Returns the first (operation, password) that logged in.
pub(super) fn try_dictionary(
    dut: &mut Dut,
    ops: &[String],
    words: &[String],
) -> Result<Option<(String, String)>, DeviceError> {
    for op in ops {
        for word in words {
            if dut.op_past_lockout(op, &[("password", word)])?.outcome == "ok" {
                return Ok(Some((op.clone(), word.clone())));
            }
        }
    }
    Ok(None)
}

fn no_default_password(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let (cap, _) = declared(ctx.dut)?;
    let words = ctx.params.list("dictionary").map_err(DeviceError::Config)?;
    if let Some((op, word)) = try_dictionary(ctx.dut, &cap.login, &words)? {
        return Ok(Conclusion::fail(format!(
            "expected no common default password accepted; {op} accepted {word:?}"
        )));
    }
    Ok(Conclusion::pass(format!(
        "{} common passwords ({}) refused on {}",
        words.len(),
        words.join(", "),
        cap.login.join(", ")
    )))
}

fn password_before_use(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let (cap, _) = declared(ctx.dut)?;
    for op in &cap.protected {
        let outcome = ctx.dut.op(op, &[])?.outcome;
        if outcome != "denied" {
            return Ok(Conclusion::fail(format!(
                "expected a factory-default unit to refuse {op} before a password is set; it answered {outcome:?}"
            )));
        }
    }
    let words = ctx.params.list("dictionary").map_err(DeviceError::Config)?;
    if let Some((op, word)) = try_dictionary(ctx.dut, &cap.login[..1], &words)? {
        return Ok(Conclusion::fail(format!(
            "expected a factory-default unit to demand a password first; {op} accepted {word:?} before any was set"
        )));
    }
    Ok(Conclusion::pass(format!(
        "before a password was set, {} refused and no common password ({}) logged in",
        cap.protected.join(", "),
        words.join(", ")
    )))
}

fn lockout_matches_declaration(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let (cap, password) = declared(ctx.dut)?;
    let op = cap.login[0].clone();
    let extra = ctx.params.u64("extra_attempts").map_err(DeviceError::Config)? as u32;
    let tries = cap.threshold + extra;
    let series = fail_logins(ctx.dut, &op, tries)?;
    match series.stopped_by.as_deref() {
        Some("locked") => {}
        Some("ok") => {
            return Ok(Conclusion::fail(format!("expected a wrong password refused; {op} accepted it")))
        }
        Some(other) => {
            return Err(DeviceError::Lifecycle(format!("{op} answered {other:?} to a wrong password")));
        }
        None => {
            return Ok(Conclusion::fail(format!(
                "expected a lockout after {} failed logins (declared threshold); {op} still refused only the password, never locking, after {tries}",
                cap.threshold
            )));
        }
    }
    ctx.measure("failures_before_lockout", series.denied, "logins");
    if series.denied > cap.threshold {
        return Ok(Conclusion::fail(format!(
            "expected a lockout after {} failed logins (declared); it came after {}",
            cap.threshold, series.denied
        )));
    }
    if login(ctx.dut, &op, &password)? == "ok" {
        return Ok(Conclusion::fail(
            "expected the correct password refused while locked out; it was accepted",
        ));
    }
    let channel = ctx.dut.op_channel(&op)?;
    let declared = cap.duration;
    let early = declared.mul_f64(EARLY_SHARE);
    ctx.dut.wait_watching(&channel, series.last_denied + early)?;
    if login(ctx.dut, &op, &password)? == "ok" {
        // The lockout began no earlier than the failing login was sent and ended no later than
        // this answer: an upper bound on its length that a slow host can only make larger.
        let at_most = series.last_denied_sent.elapsed();
        ctx.measure("lockout_at_most_s", format!("{:.2}", at_most.as_secs_f64()), "s");
        if at_most >= declared {
            return Ok(Conclusion::inconclusive(format!(
                "the probe meant for {:.0} % of the declared {:.1} s was answered only {:.1} s after the lockout began (a loaded host?), so a shorter lockout cannot be told apart",
                EARLY_SHARE * 100.0,
                declared.as_secs_f64(),
                at_most.as_secs_f64()
            )));
        }
        return Ok(Conclusion::fail(format!(
            "expected the lockout to last the declared {:.1} s; the correct password was accepted at most {:.1} s after it began",
            declared.as_secs_f64(),
            at_most.as_secs_f64()
        )));
    }
    let at_least = series.last_denied.elapsed();
    ctx.dut.wait_watching(&channel, series.last_denied + declared + LATE_MARGIN)?;
    let after = series.last_denied.elapsed();
    if login(ctx.dut, &op, &password)? != "ok" {
        return Ok(Conclusion::fail(format!(
            "expected the lockout over after the declared {:.1} s; the correct password was still refused {:.1} s after it began",
            declared.as_secs_f64(),
            after.as_secs_f64()
        )));
    }
    ctx.measure("lockout_at_least_s", format!("{:.2}", at_least.as_secs_f64()), "s");
    ctx.measure("lockout_at_most_s", format!("{:.2}", after.as_secs_f64()), "s");
    Ok(Conclusion::pass(format!(
        "locked after {} failed logins (declared {}); the correct password was refused while locked; the lockout lasted between {:.1} s and {:.1} s (declared {:.1} s)",
        series.denied,
        cap.threshold,
        at_least.as_secs_f64(),
        after.as_secs_f64(),
        declared.as_secs_f64()
    )))
}

fn survives_power_cycle(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let (cap, password) = declared(ctx.dut)?;
    if !ctx.dut.has_power_control() {
        return Ok(Conclusion::inconclusive("the target file declares no power control"));
    }
    let op = cap.login[0].clone();
    // One failure short of the threshold, a power cut, then the last failure.
    let before = fail_logins(ctx.dut, &op, cap.threshold - 1)?;
    if before.stopped_by.is_some() {
        return Ok(Conclusion::inconclusive(format!(
            "the device answered {:?} before the declared threshold; LA-05 reports it",
            before.stopped_by
        )));
    }
    ctx.dut.note(format!("{} failed logins, then a power cycle", cap.threshold - 1));
    ctx.dut.power_cycle()?;
    fail_logins(ctx.dut, &op, 1)?;
    match login(ctx.dut, &op, &password)?.as_str() {
        "locked" => {}
        outcome => {
            return Ok(Conclusion::fail(format!(
                "expected the failure count to survive a power cycle: after {} failed logins, a power cycle and 1 more, the device should be locked; the correct password gave {outcome:?}",
                cap.threshold - 1
            )))
        }
    }
    ctx.dut.note("locked; now a power cycle during the lockout");
    ctx.dut.power_cycle()?;
    match login(ctx.dut, &op, &password)?.as_str() {
        "locked" => Ok(Conclusion::pass(format!(
            "{} failures across a power cycle locked the device, and the lockout survived another power cycle",
            cap.threshold
        ))),
        outcome => Ok(Conclusion::fail(format!(
            "expected an active lockout to survive a power cycle; after it the correct password gave {outcome:?}"
        ))),
    }
}

fn no_bypass(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let (cap, password) = declared(ctx.dut)?;
    let first = cap.login[0].clone();
    if let Err(c) = lock(ctx.dut, &cap, &first, &password)? {
        return Ok(c);
    }
    let mut tried = Vec::new();
    for other in &cap.login[1..] {
        let outcome = login(ctx.dut, other, &password)?;
        if outcome != "locked" {
            return Ok(Conclusion::fail(format!(
                "expected the lockout on every interface; while locked through {first}, {other} answered {outcome:?} to the correct password"
            )));
        }
        tried.push(other.clone());
    }
    ctx.dut.note("new connections on every channel");
    ctx.dut.close_channels();
    for op in &cap.login {
        let outcome = login(ctx.dut, op, &password)?;
        if outcome != "locked" {
            return Ok(Conclusion::fail(format!(
                "expected the lockout to hold for a new connection; {op} on a new connection answered {outcome:?} to the correct password"
            )));
        }
    }
    Ok(Conclusion::pass(format!(
        "while locked through {first}, the correct password was refused on {} and on new connections",
        if tried.is_empty() { "no other interface (one declared)".to_string() } else { tried.join(", ") }
    )))
}

fn password_change(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let (cap, password) = declared(ctx.dut)?;
    let new = format!("hilt-New-Pw-{}", std::process::id());
    let conclusion = change_and_judge(ctx.dut, &cap, &password, &new);
    // Whatever happened, give the device its declared credential back: later checks log in with it.
    restore_password(ctx.dut, &cap, &password, &new)?;
    conclusion
}

fn change_and_judge(
    dut: &mut Dut,
    cap: &AccessLockoutCap,
    password: &str,
    new: &str,
) -> Result<Conclusion, DeviceError> {
    let op = &cap.login[0];
    let change = |dut: &mut Dut, current: &str| -> Result<String, DeviceError> {
        Ok(dut.op(&cap.change_password, &[("current", current), ("new", new)])?.outcome)
    };
    dut.op_ok(&cap.logout, &[])?;
    if change(dut, WRONG)? == "ok" {
        return Ok(Conclusion::fail("expected a password change refused without login; it was accepted"));
    }
    if login(dut, op, password)? != "ok" {
        return Err(DeviceError::Lifecycle("cannot log in with the declared credential".into()));
    }
    if change(dut, WRONG)? == "ok" {
        return Ok(Conclusion::fail(
            "expected a password change refused with a wrong current password; it was accepted",
        ));
    }
    let changed = change(dut, password)?;
    if changed != "ok" {
        return Ok(Conclusion::inconclusive(format!(
            "the password could not be changed with the right current password (outcome {changed:?})"
        )));
    }
    dut.op_ok(&cap.logout, &[])?;
    let old = login(dut, op, password)?;
    if old == "ok" {
        return Ok(Conclusion::fail("expected the old password refused after the change; it was accepted"));
    }
    if login(dut, op, new)? != "ok" {
        return Ok(Conclusion::fail("expected the new password accepted after the change; it was refused"));
    }
    Ok(Conclusion::pass(
        "a change was refused without login and with a wrong current password; with the current one it worked, the old password was then refused and the new one accepted",
    ))
}

/// Logs in with whichever password is current and sets the declared one again.
fn restore_password(
    dut: &mut Dut,
    cap: &AccessLockoutCap,
    password: &str,
    new: &str,
) -> Result<(), DeviceError> {
    let op = &cap.login[0];
    if login(dut, op, password)? == "ok" {
        return Ok(());
    }
    if login(dut, op, new)? == "ok" {
        let restored = dut.op(&cap.change_password, &[("current", new), ("new", password)])?;
        if restored.outcome == "ok" {
            dut.note("declared password restored");
            return Ok(());
        }
    }
    Err(DeviceError::Lifecycle("cannot restore the declared password after the check".into()))
}

/// When LA-11 tries the port again.
#[derive(Clone, Copy, PartialEq)]
enum Moment {
    AsFound,
    /// A lock that only holds until the next boot is no lock.
    AfterPowerCycle,
    /// An update must not reopen the port (a debug build slipping out to the field).
    AfterUpdate,
}

/// LA.1: a production unit's debug port refuses attach or memory reads, as found, after a power
/// cycle, and after an update, where the target lets hilt do those.
fn debug_port_locked(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let debug = ctx.dut.debug_config()?;
    // Read where something is surely mapped: the identifier, else the first declared region.
    let (address, size) = match (&debug.identifier, debug.flash.first(), debug.images.first()) {
        (Some(id), _, _) => (id.address, id.size.min(4)),
        (None, Some(r), _) | (None, None, Some(r)) => (r.address, r.size.min(4)),
        (None, None, None) => (0, 4),
    };
    let updater = Updater::new(ctx.dut).ok().filter(|u| u.key().ok().flatten().is_some());
    let mut moments = vec![Moment::AsFound];
    let mut skipped = Vec::new();
    if ctx.dut.has_power_control() {
        moments.push(Moment::AfterPowerCycle);
    } else {
        skipped.push("after a power cycle: the target declares no power control");
    }
    if updater.is_some() {
        moments.push(Moment::AfterUpdate);
    } else {
        skipped.push("after an update: hilt cannot make images for this unit (no signing key)");
    }
    let mut refusals = Vec::new();
    for moment in moments {
        let when = match moment {
            Moment::AsFound => "as found".to_string(),
            Moment::AfterPowerCycle => {
                ctx.dut.power_cycle()?;
                "after a power cycle".to_string()
            }
            Moment::AfterUpdate => {
                let up = updater.as_ref().expect("AfterUpdate is planned only with an updater");
                // Updates need a provisioned device (a login).
                ctx.dut.ensure_state(State::Initialized)?;
                let running = running_version(ctx.dut)?;
                let image = up.newer(ctx.dut, running)?;
                if let Err(why) = up.install(ctx.dut, &image)? {
                    return Err(DeviceError::Lifecycle(format!("updating before the last attempt: {why}")));
                }
                format!("after an update to {}", image.version)
            }
        };
        // The device answering first shows it is fully up, so a refusal is the lock, not a port
        // that was not listening yet.
        awake(ctx.dut)?;
        match ctx.dut.with_debug(|port| port.read(address, size)) {
            Ok(bytes) => {
                return Ok(Conclusion::fail(format!(
                    "expected the debug port of a production unit to be locked; {when}, hilt attached and read {size} bytes at {address:#x}: {}",
                    crate::image::hex(&bytes)
                )));
            }
            Err(DeviceError::Debug(DebugError::Refused(why))) => refusals.push(format!("{when}: {why}")),
            Err(e) => return Err(e),
        }
    }
    let not_tried =
        if skipped.is_empty() { String::new() } else { format!("; not tried {}", skipped.join("; ")) };
    Ok(Conclusion::pass(format!("debug access refused ({}){not_tried}", refusals.join("; "))))
}

/// Asks the device its state (where the target says how) and waits for the answer.
fn awake(dut: &mut Dut) -> Result<(), DeviceError> {
    if dut.target().lifecycle.status.is_some() {
        dut.reported_state()?;
    }
    Ok(())
}
