//! Results: verdicts, and the files a run leaves behind -- junit.xml for CI, results.json for
//! scripts, and one transcript log per check as evidence. All are rewritten atomically after every
//! check (see [`ResultsWriter`]) and stay valid whatever bytes the device printed.

mod atomic;
pub mod json;
pub mod junit;
pub mod manifest;
mod model;
mod rfc3339;
pub mod sanitize;
mod summary;
#[cfg(test)]
mod testutil;
pub mod verdict;
mod writer;

pub use model::{NotRun, Recorded, Report};
pub use summary::{NotPassed, Summary};
pub use writer::ResultsWriter;
