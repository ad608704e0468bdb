//! hilt: a hardware-in-the-loop conformance harness for IoT device security.
//!
//! Data flows one way: `config` (target and suite files) -> `device` (a session with the device
//! under test over `transport`) -> `checks` (one module per capability) -> `report` (verdicts,
//! JUnit, JSON, transcripts). `run` ties them together for the CLI in `main.rs`.

pub mod checks;
pub mod config;
pub mod device;
pub mod image;
pub mod interrupt;
pub mod report;
pub mod run;
pub mod transport;
