//! A device under test: its channels, its launched process (if any), its power, and the operations
//! its target file declares. Checks talk to the device only through [`dut::Dut`].

pub mod debug;
pub mod dut;
pub mod error;
pub mod expect;
pub mod launch;
pub mod lifecycle;
pub mod lock;
pub mod operation;
pub mod transcript;

pub use dut::Dut;
pub use error::DeviceError;
pub use lifecycle::State;
pub use operation::CutRun;
