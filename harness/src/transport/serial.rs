//! Serial channels: a path (a USB adapter, a pseudo-terminal of an emulated device) or a USB match
//! by VID/PID/serial number, which survives re-enumeration to another /dev/ttyACM*.

use std::io;
use std::time::Duration;

use serialport::{SerialPortType, TTYPort};

use super::Stream;

/// Which USB serial adapter to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsbSelector {
    pub vid: u16,
    pub pid: u16,
    pub serial: Option<String>,
}

pub fn open_path(path: &str, baud: u32) -> io::Result<Stream> {
    let port = TTYPort::open(
        &serialport::new(path, baud)
            // Reads happen only after poll(2) says data is there; the port's own timeout is a backstop.
            .timeout(Duration::from_millis(10)),
    )
    .map_err(|e| io::Error::other(format!("cannot open serial port {path}: {e}")))?;
    Ok(Stream::new(Box::new(port), format!("{path} at {baud} baud")))
}

pub fn open_usb(selector: &UsbSelector, baud: u32) -> io::Result<Stream> {
    let path = find_usb(selector)?;
    open_path(&path, baud)
}

/// Finds the one port matching `selector`; zero or several matches are errors that list what was seen.
pub fn find_usb(selector: &UsbSelector) -> io::Result<String> {
    let ports = serialport::available_ports().map_err(io::Error::other)?;
    let mut seen = Vec::new();
    let mut matches = Vec::new();
    for p in &ports {
        if let SerialPortType::UsbPort(info) = &p.port_type {
            seen.push(format!(
                "{} {:04x}:{:04x} serial {}",
                p.port_name,
                info.vid,
                info.pid,
                info.serial_number.as_deref().unwrap_or("-")
            ));
            let serial_ok =
                selector.serial.as_deref().is_none_or(|want| info.serial_number.as_deref() == Some(want));
            if info.vid == selector.vid && info.pid == selector.pid && serial_ok {
                matches.push(p.port_name.clone());
            }
        }
    }
    let wanted = format!(
        "{:04x}:{:04x}{}",
        selector.vid,
        selector.pid,
        selector.serial.as_deref().map(|s| format!(" serial {s}")).unwrap_or_default()
    );
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no USB serial port matches {wanted}; attached: {}",
                if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
            ),
        )),
        _ => Err(io::Error::other(format!(
            "{} USB serial ports match {wanted} ({}); add the serial number to the target file",
            matches.len(),
            matches.join(", ")
        ))),
    }
}
