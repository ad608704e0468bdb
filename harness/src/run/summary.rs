//! The end of a run: the summary (counts, what did not pass, where its evidence is) and the exit
//! code that follows from the verdicts.

use std::path::Path;

use super::exit;
use crate::report::verdict::{CheckResult, Verdict};
use crate::report::ResultsWriter;

/// Prints the summary of `writer`'s results and returns the exit code.
pub fn print(writer: &ResultsWriter, out_dir: &Path) -> i32 {
    println!();
    print!("{}", writer.summary());
    println!(
        "results: {} and {}",
        out_dir.join("junit.xml").display(),
        out_dir.join("results.json").display()
    );
    exit_code(writer.results())
}

/// 1 if anything FAILed; else 3 if anything ended in ERROR; else 0.
pub fn exit_code(results: &[CheckResult]) -> i32 {
    if results.iter().any(|r| r.verdict == Verdict::Fail) {
        exit::FAIL
    } else if results.iter().any(|r| r.verdict == Verdict::Error) {
        exit::ERROR
    } else {
        exit::OK
    }
}
