//! Bringing a device into the state a check needs, with the target's own lifecycle operations.
//!
//! Each check declares a state; before it runs the harness gets the device there and records what
//! it did in the check's transcript. Because every check starts from a known state, one check's
//! leftovers (user data, a changed password) never decide another's verdict.

use std::time::{Duration, Instant};

use super::dut::Dut;
use super::error::DeviceError;
use super::expect::Matched;

/// Added to a lockout's reported remaining time: the device rounds, and clocks differ.
const LOCKOUT_MARGIN: Duration = Duration::from_millis(500);
/// A device still locked after this many waits is not going to unlock.
const MAX_LOCKOUT_WAITS: usize = 5;

/// The device states a check can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Running and reachable; its configuration does not matter.
    Any,
    /// Factory default: uninitialized, no credentials, no user data.
    FactoryDefault,
    /// Provisioned by the harness with the target file's credentials, and no user data.
    Initialized,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Any => "any",
            State::FactoryDefault => "factory-default",
            State::Initialized => "initialized",
        }
    }
}

impl Dut {
    /// The state the device reports through the target's `lifecycle.status` operation.
    pub fn reported_state(&mut self) -> Result<String, DeviceError> {
        let op = self.lifecycle_op("status", |l| l.status.clone())?;
        Ok(self.op(&op, &[])?.outcome)
    }

    /// Brings the device into `state`, noting each step in the transcript.
    pub fn ensure_state(&mut self, state: State) -> Result<(), DeviceError> {
        self.ensure_running()?;
        if state == State::Any {
            return Ok(());
        }
        self.note(format!("bringing device to state {}", state.as_str()));
        if self.reported_state()? != "uninitialized" {
            let reset = self.lifecycle_op("factory-reset", |l| l.factory_reset.clone())?;
            let outcome = self.op_past_lockout(&reset, &[])?.outcome;
            if outcome != "ok" {
                return Err(DeviceError::Lifecycle(format!(
                    "operation {reset} ended with outcome {outcome:?}, not ok"
                )));
            }
            self.expect_state("uninitialized", "after factory reset")?;
        }
        if state == State::Initialized {
            let provision = self.lifecycle_op("provision", |l| l.provision.clone())?;
            self.op_ok(&provision, &[])?;
            self.expect_state("initialized", "after provisioning")?;
        }
        Ok(())
    }

    /// Performs `op` with `args`; while the device answers `locked` (a lockout left by earlier
    /// failures), waits out the time it reports, watching the device, and tries again. A lockout
    /// then decides nothing: an attempt is never skipped because the device was locked.
    pub fn op_past_lockout(&mut self, op: &str, args: &[(&str, &str)]) -> Result<Matched, DeviceError> {
        for _ in 0..MAX_LOCKOUT_WAITS {
            let m = self.op(op, args)?;
            if m.outcome != "locked" {
                return Ok(m);
            }
            let secs: u64 = m.captures.get("remaining").and_then(|r| r.parse().ok()).unwrap_or(1);
            self.note(format!("device is locked out for {secs} s more; waiting it out before {op} again"));
            let channel = self.op_channel(op)?;
            self.wait_watching(&channel, Instant::now() + Duration::from_secs(secs) + LOCKOUT_MARGIN)?;
        }
        Err(DeviceError::Lifecycle(format!(
            "{op} still answered `locked` after waiting out {MAX_LOCKOUT_WAITS} lockouts"
        )))
    }

    fn expect_state(&mut self, want: &str, when: &str) -> Result<(), DeviceError> {
        let got = self.reported_state()?;
        if got != want {
            return Err(DeviceError::Lifecycle(format!(
                "device reports state {got:?} {when}, expected {want:?}"
            )));
        }
        Ok(())
    }

    fn lifecycle_op(
        &self,
        role: &str,
        pick: impl Fn(&crate::config::Lifecycle) -> Option<String>,
    ) -> Result<String, DeviceError> {
        pick(&self.target().lifecycle).ok_or_else(|| {
            DeviceError::Config(format!(
                "lifecycle.{role} is not declared, so the device cannot be brought to a known state"
            ))
        })
    }
}
