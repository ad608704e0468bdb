//! Conformance checks: code, one module per capability. A suite file selects checks by id and
//! gives their parameters; the target file says whether the device claims the capability.
//!
//! A check returns `Ok(Conclusion)` when it could decide (PASS, FAIL, INCONCLUSIVE) and
//! `Err(DeviceError)` when the harness could not talk to the device as needed: that becomes ERROR,
//! never FAIL or PASS — except a crash banner, which is the device's own failure.

pub mod identity;
pub mod lockout;
mod params;
pub mod reset;
pub mod update;

use crate::config::{DebugUnit, Target};
use crate::device::{DeviceError, Dut, State};
use crate::report::verdict::{Measurement, Verdict};

pub use params::Params;

/// What a check concluded about the device.
#[derive(Clone, Debug)]
pub struct Conclusion {
    pub verdict: Verdict,
    pub message: String,
}

impl Conclusion {
    pub fn pass(message: impl Into<String>) -> Self {
        Conclusion { verdict: Verdict::Pass, message: message.into() }
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Conclusion { verdict: Verdict::Fail, message: message.into() }
    }
    pub fn inconclusive(message: impl Into<String>) -> Self {
        Conclusion { verdict: Verdict::Inconclusive, message: message.into() }
    }
    pub fn not_applicable(message: impl Into<String>) -> Self {
        Conclusion { verdict: Verdict::NotApplicable, message: message.into() }
    }
}

/// Everything a running check may use.
pub struct Context<'a> {
    pub dut: &'a mut Dut,
    pub params: &'a Params,
    pub measurements: Vec<Measurement>,
}

impl Context<'_> {
    pub fn measure(&mut self, name: &str, value: impl ToString, unit: &str) {
        self.measurements.push(Measurement {
            name: name.into(),
            value: value.to_string(),
            unit: unit.into(),
        });
    }
}

/// A parameter a check accepts from its suite entry.
pub struct ParamDef {
    pub name: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

/// One check, as code.
pub struct CheckDef {
    pub id: &'static str,
    pub title: &'static str,
    /// Capabilities the target must declare; otherwise the check is NOT_APPLICABLE.
    pub needs: &'static [&'static str],
    /// The device state the harness establishes before the check runs.
    pub state: State,
    pub params: &'static [ParamDef],
    pub run: fn(&mut Context) -> Result<Conclusion, DeviceError>,
}

/// Every check hilt knows, in catalog order.
pub fn all() -> Vec<&'static CheckDef> {
    identity::CHECKS.iter().chain(&update::CHECKS).chain(&lockout::CHECKS).chain(&reset::CHECKS).collect()
}

pub fn find(id: &str) -> Option<&'static CheckDef> {
    all().into_iter().find(|c| c.id == id)
}

/// The capability names suites and target files use.
pub const CAPABILITIES: &[&str] =
    &["device-identity", "software-update", "factory-reset", "access-lockout", "debug-port"];

/// Why `target` does not meet a unit-kind need, for the NOT_APPLICABLE message; None for a plain
/// capability (the caller names those together).
pub fn unmet_unit(target: &Target, need: &str) -> Option<String> {
    let Some(debug) = &target.debug else {
        return [ENGINEERING_UNIT, PRODUCTION_UNIT]
            .contains(&need)
            .then(|| format!("target {} has no debug port (no `debug:` section)", target.name));
    };
    match need {
        ENGINEERING_UNIT => Some(format!(
            "the target declares a {} unit, whose debug port must be locked; this check looks inside \
             through the port, so it needs an engineering unit with debug left open (`debug.unit: engineering`)",
            debug.unit.name()
        )),
        PRODUCTION_UNIT => Some(format!(
            "the target declares an {} unit, whose debug port is open by declaration; this check judges \
             production units",
            debug.unit.name()
        )),
        _ => None,
    }
}

/// Whether `capability` is a name hilt knows.
pub fn declares_known(capability: &str) -> Option<()> {
    CAPABILITIES.contains(&capability).then_some(())
}

/// What a debug-port check needs beyond the port: the kind of unit behind it (IXIT). The checks
/// that look inside need an engineering unit (debug left open); LA-11 judges a production unit.
pub const ENGINEERING_UNIT: &str = "debug-port:engineering";
pub const PRODUCTION_UNIT: &str = "debug-port:production";

/// Whether `target` declares `capability` (or is the kind of unit a check needs); None for a name
/// hilt does not know.
pub fn declares(target: &Target, capability: &str) -> Option<bool> {
    let caps = &target.capabilities;
    let unit = target.debug.as_ref().map(|d| d.unit);
    match capability {
        ENGINEERING_UNIT => Some(unit == Some(DebugUnit::Engineering)),
        PRODUCTION_UNIT => Some(unit == Some(DebugUnit::Production)),
        "device-identity" => Some(caps.device_identity.is_some()),
        "factory-reset" => Some(caps.factory_reset.is_some()),
        "access-lockout" => Some(caps.access_lockout.is_some()),
        "software-update" => Some(caps.software_update.is_some()),
        // Declared by the target's `debug:` section (how to reach the port, what the unit is).
        "debug-port" => Some(target.debug.is_some()),
        _ => None,
    }
}
