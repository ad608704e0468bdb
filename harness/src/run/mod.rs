//! Running a plan: selection (libtest-mimic's filters, `--skip`, `--exact`, `--list`), one check at
//! a time on the device, every result written out as soon as it is known.

mod execute;
pub mod plan;
mod summary;

pub use execute::{run, RunOptions};

/// Process exit codes, as documented in `hilt --help` and README.md.
pub mod exit {
    /// No FAIL and no ERROR.
    pub const OK: i32 = 0;
    /// At least one FAIL.
    pub const FAIL: i32 = 1;
    /// Usage or configuration error.
    pub const USAGE: i32 = 2;
    /// At least one ERROR and no FAIL.
    pub const ERROR: i32 = 3;
}
