//! What a check concluded, and the record of one check that reporters write out.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::device::transcript::Transcript;

/// The five verdicts. ERROR is the harness's own failure to decide (device unreachable, setup
/// timed out) and is never reported as a device FAIL or as a PASS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    Fail,
    Error,
    NotApplicable,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
            Verdict::NotApplicable => "NOT_APPLICABLE",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }

    pub const ALL: [Verdict; 5] =
        [Verdict::Pass, Verdict::Fail, Verdict::Error, Verdict::NotApplicable, Verdict::Inconclusive];
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value a check measured, reported next to the verdict (e.g. lockout threshold, boot time).
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub name: String,
    pub value: String,
    pub unit: String,
}

/// One check's complete record: what it covers, what it concluded, and the evidence.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// Check id from the catalog, e.g. "ID-01".
    pub id: String,
    /// Short description, e.g. "same identifier on every channel".
    pub title: String,
    /// The capability the check belongs to, e.g. "device-identity"; one JUnit testsuite each.
    pub capability: String,
    /// Requirement references, e.g. "NIST IR 8259A DI.1", "ETSI EN 303 645 5.4-4".
    pub requirements: Vec<String>,
    pub verdict: Verdict,
    /// For FAIL: what was expected and what was seen. For ERROR: what the harness could not do.
    /// For NOT_APPLICABLE/INCONCLUSIVE: why. For PASS: what was shown.
    pub message: String,
    pub measurements: Vec<Measurement>,
    pub started: SystemTime,
    pub duration: Duration,
    pub transcript: Transcript,
}

/// Facts about the run that every report carries (JUnit properties, JSON header).
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub target_name: String,
    pub target_file: String,
    /// Known once the device has been identified; absent if it never answered.
    pub device_id: Option<String>,
    pub firmware_version: Option<String>,
    pub hilt_version: String,
    pub started: SystemTime,
    pub suites: Vec<String>,
}
