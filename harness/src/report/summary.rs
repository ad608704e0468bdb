//! The end-of-run summary the CLI prints: counts per verdict and, for every check that did not
//! pass, why and where its evidence is.

use std::fmt;
use std::path::{Path, PathBuf};

use super::model::Report;
use super::sanitize::sanitize;
use super::verdict::Verdict;

#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The count of each verdict, in [`Verdict::ALL`] order.
    pub counts: Vec<(Verdict, usize)>,
    /// Checks an interrupted run never reached.
    pub not_run: usize,
    pub not_passed: Vec<NotPassed>,
}

/// A check whose verdict is not PASS.
#[derive(Clone, Debug, PartialEq)]
pub struct NotPassed {
    pub id: String,
    pub title: String,
    pub verdict: Verdict,
    pub message: String,
    /// The transcript log, under the results directory.
    pub transcript: PathBuf,
}

impl Summary {
    pub fn of(report: &Report, out_dir: &Path) -> Summary {
        let not_passed = report
            .checks
            .iter()
            .filter(|c| c.result.verdict != Verdict::Pass)
            .map(|c| NotPassed {
                id: c.result.id.clone(),
                title: c.result.title.clone(),
                verdict: c.result.verdict,
                message: c.result.message.clone(),
                transcript: out_dir.join(c.transcript),
            })
            .collect();
        Summary {
            counts: Verdict::ALL.iter().map(|v| (*v, report.count(*v))).collect(),
            not_run: report.not_run.len(),
            not_passed,
        }
    }

    pub fn total(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

/// Sanitised, since messages quote device output and a terminal would act on its escape codes.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self.counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        write!(f, "hilt: {} check(s): {}", self.total(), counts.join(", "))?;
        if self.not_run > 0 {
            write!(f, "; {} not run", self.not_run)?;
        }
        writeln!(f)?;
        for p in &self.not_passed {
            writeln!(f, "  {:<14} {} {}", p.verdict.as_str(), p.id, sanitize(&p.title))?;
            writeln!(f, "  {:<14} {}", "", sanitize(&p.message))?;
            writeln!(f, "  {:<14} evidence: {}", "", p.transcript.display())?;
        }
        Ok(())
    }
}
