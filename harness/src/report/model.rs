//! What the reporters are given: the run, each recorded check with its transcript file, and the
//! checks that never ran. JUnit, JSON and the summary are all views of one [`Report`].

use std::fmt::Write as _;
use std::path::Path;

use super::verdict::{CheckResult, Measurement, RunInfo, Verdict};

/// A selected check that did not run because the run was interrupted (Ctrl-C, run timeout, a
/// device that stopped answering). Reported as skipped so it cannot be mistaken for a PASS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRun {
    pub id: String,
    pub title: String,
    pub capability: String,
    pub requirements: Vec<String>,
    pub reason: String,
}

/// One recorded check and its transcript file, relative to the results directory so the reports
/// stay correct when CI moves that directory as an artifact.
#[derive(Clone, Copy, Debug)]
pub struct Recorded<'a> {
    pub result: &'a CheckResult,
    pub transcript: &'a Path,
}

#[derive(Clone, Debug)]
pub struct Report<'a> {
    pub info: &'a RunInfo,
    pub checks: Vec<Recorded<'a>>,
    pub not_run: &'a [NotRun],
    /// False until the run has finished, so a crashed or killed run is recognisable as such.
    pub finished: bool,
}

impl Report<'_> {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.checks.iter().filter(|c| c.result.verdict == verdict).count()
    }
}

/// The readable account of an outcome that heads both a transcript log and a JUnit `system-out`:
/// verdict, message, one requirement per line, then measurements. Not sanitised: callers do that
/// for the whole text they write.
pub fn describe(
    verdict: &str,
    message: &str,
    requirements: &[String],
    measurements: &[Measurement],
) -> String {
    let mut out = format!("verdict: {verdict}\nmessage: {message}\n");
    if !requirements.is_empty() {
        out.push_str("requirements:\n");
        for r in requirements {
            let _ = writeln!(out, "  {r}");
        }
    }
    if !measurements.is_empty() {
        out.push_str("measurements:\n");
        for m in measurements {
            let _ = writeln!(out, "  {} = {}", m.name, value_with_unit(m));
        }
    }
    out
}

fn value_with_unit(m: &Measurement) -> String {
    if m.unit.is_empty() {
        m.value.clone()
    } else {
        format!("{} {}", m.value, m.unit)
    }
}

/// `describe` for a recorded check.
pub fn describe_result(r: &CheckResult) -> String {
    describe(r.verdict.as_str(), &r.message, &r.requirements, &r.measurements)
}
