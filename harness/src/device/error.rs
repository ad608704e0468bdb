//! What can go wrong while talking to a device, and whether it is the device's fault.

use super::expect::ExpectError;
use super::launch::LaunchError;
use crate::transport::debug::DebugError;

#[derive(Debug)]
pub enum DeviceError {
    /// The launched device would not start.
    Launch(LaunchError),
    /// A channel could not be opened.
    Channel { channel: String, reason: String },
    /// A step of an operation did not get its answer.
    Expect { operation: String, step: usize, error: ExpectError },
    /// The target file does not give what the harness needs (e.g. an operation is missing).
    Config(String),
    /// Power control failed.
    Power(String),
    /// Another run holds the device.
    Busy(String),
    /// The debug port refused access or could not be reached (the [`DebugError`] says which).
    Debug(DebugError),
    /// A lifecycle operation ended with an outcome that prevents reaching the state a check needs.
    Lifecycle(String),
}

impl DeviceError {
    /// A crash banner is the device misbehaving; everything else is the harness failing to decide.
    pub fn is_device_crash(&self) -> bool {
        matches!(self, DeviceError::Expect { error: ExpectError::Crash { .. }, .. })
    }
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceError::Launch(e) => write!(f, "{e}"),
            DeviceError::Channel { channel, reason } => write!(f, "channel {channel}: {reason}"),
            DeviceError::Expect { operation, step, error } => {
                write!(f, "operation {operation}, step {}: {error}", step + 1)
            }
            DeviceError::Config(m) => write!(f, "target file: {m}"),
            DeviceError::Power(m) => write!(f, "power control: {m}"),
            DeviceError::Busy(m) => write!(f, "{m}"),
            DeviceError::Lifecycle(m) => write!(f, "device state: {m}"),
            DeviceError::Debug(e) => write!(f, "debug port: {e}"),
        }
    }
}

impl From<LaunchError> for DeviceError {
    fn from(e: LaunchError) -> Self {
        DeviceError::Launch(e)
    }
}
