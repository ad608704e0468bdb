//! `hilt probes`: what is plugged into this machine, written as the lines a target file needs to
//! select it — debug probes as probe-rs sees them, serial ports as the OS enumerates them.
//!
//! Selecting by USB VID/PID/serial number instead of `/dev/ttyACM0` keeps a target file right when
//! adapters enumerate in another order, and the serial number keeps two identical adapters apart.

use serialport::{SerialPortInfo, SerialPortType};

use super::probe::{list_probes, ProbeListing};
use crate::run::exit;

/// Lists debug probes and serial ports on stdout. Exit code 0 when listing worked, even if nothing
/// is attached; 2 when the serial ports could not be enumerated.
pub fn run() -> i32 {
    print!("{}", format_probes(&list_probes()));
    println!();
    match serial_ports() {
        Ok(ports) => {
            print!("{}", format_serial_ports(&ports));
            exit::OK
        }
        Err(e) => {
            eprintln!("hilt: cannot list serial ports: {e}");
            exit::USAGE
        }
    }
}

/// A serial port as `hilt probes` shows it.
struct SerialEntry {
    path: String,
    kind: PortKind,
}

enum PortKind {
    Usb { vid: u16, pid: u16, serial: Option<String>, manufacturer: Option<String>, product: Option<String> },
    Pci,
    Bluetooth,
    Other,
}

impl From<SerialPortInfo> for SerialEntry {
    fn from(port: SerialPortInfo) -> Self {
        let kind = match port.port_type {
            SerialPortType::UsbPort(usb) => PortKind::Usb {
                vid: usb.vid,
                pid: usb.pid,
                serial: usb.serial_number.filter(|s| !s.is_empty()),
                manufacturer: usb.manufacturer,
                product: usb.product,
            },
            SerialPortType::PciPort => PortKind::Pci,
            SerialPortType::BluetoothPort => PortKind::Bluetooth,
            SerialPortType::Unknown => PortKind::Other,
        };
        SerialEntry { path: port.port_name, kind }
    }
}

/// Serial ports in path order.
fn serial_ports() -> Result<Vec<SerialEntry>, String> {
    // Without libudev, serialport scans sysfs and panics if it is missing (a container without
    // /sys): refuse first, with a message.
    if !std::path::Path::new("/sys/class/tty").is_dir() {
        return Err("/sys/class/tty does not exist (is sysfs mounted?)".into());
    }
    let mut ports = serialport::available_ports().map_err(|e| e.to_string())?;
    ports.sort_by(|a, b| a.port_name.cmp(&b.port_name));
    Ok(ports.into_iter().map(SerialEntry::from).collect())
}

fn format_probes(probes: &[ProbeListing]) -> String {
    let mut out = String::from("Debug probes:\n");
    if probes.is_empty() {
        out.push_str(
            "  no debug probe is attached (probe-rs sees no CMSIS-DAP, ST-Link, J-Link, FTDI or ESP \
             USB-JTAG probe)\n",
        );
        return out;
    }
    for p in probes {
        let selector = p.selector();
        out.push_str(&format!("  {selector}  {}\n", p.name));
        if p.serial.is_none() {
            out.push_str("    no serial number: the selector holds only while one such probe is attached\n");
        }
        if !p.accessible {
            out.push_str(
                "    this user may not open it: install probe-rs's udev rules \
                 (https://probe.rs/docs/getting-started/probe-setup/)\n",
            );
        }
        out.push_str(&format!(
            "    target file, under debug:  probe: {{ selector: {}, chip: CHIP }}\n",
            quoted(&selector)
        ));
    }
    out.push_str("  CHIP is the chip name probe-rs knows, e.g. nRF52840_xxAA (`probe-rs chip list`)\n");
    out
}

fn format_serial_ports(ports: &[SerialEntry]) -> String {
    let mut out = String::from("Serial ports:\n");
    if ports.is_empty() {
        out.push_str("  no serial ports found (pseudo-terminals of emulated devices are never listed)\n");
        return out;
    }
    for port in ports {
        let by_path = format!("path: {}", port.path);
        let (kind, selector) = match &port.kind {
            PortKind::Usb { vid, pid, serial, manufacturer, product } => {
                let mut kind = format!("USB {vid:04x}:{pid:04x}");
                match serial {
                    Some(serial) => kind.push_str(&format!(" serial {serial}")),
                    None => kind.push_str(" (no serial number)"),
                }
                let names: Vec<&str> =
                    [manufacturer, product].into_iter().flatten().map(String::as_str).collect();
                if !names.is_empty() {
                    kind.push_str(&format!(" ({})", names.join(", ")));
                }
                let serial =
                    serial.as_deref().map(|s| format!(", serial: {}", quoted(s))).unwrap_or_default();
                (kind, format!("usb: {{ vid: {vid:#06x}, pid: {pid:#06x}{serial} }}"))
            }
            PortKind::Pci => ("PCI".to_string(), by_path),
            PortKind::Bluetooth => ("Bluetooth".to_string(), by_path),
            PortKind::Other => ("other (a UART of this machine)".to_string(), by_path),
        };
        out.push_str(&format!("  {}  {kind}\n", port.path));
        out.push_str(&format!(
            "    target file, under channels:  console: {{ serial: {{ {selector}, baud: 115200 }} }}\n"
        ));
    }
    out.push_str("  baud: 115200 stands for the console's rate; a USB match survives re-enumeration\n");
    out
}

/// `s` as a YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32 & 0xff)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_is_listed_with_the_line_that_selects_it() {
        let probes = [
            ProbeListing {
                vid: 0x1366,
                pid: 0x1015,
                serial: Some("000683000000".into()),
                name: "J-Link".into(),
                interface: None,
                accessible: true,
            },
            ProbeListing {
                vid: 0x0d28,
                pid: 0x0204,
                serial: None,
                name: "DAPLink CMSIS-DAP".into(),
                interface: Some(3),
                accessible: false,
            },
        ];
        let text = format_probes(&probes);
        assert!(text.contains("  1366:1015:000683000000  J-Link\n"), "{text}");
        assert!(
            text.contains("under debug:  probe: { selector: \"1366:1015:000683000000\", chip: CHIP }"),
            "{text}"
        );
        assert!(text.contains("0d28:0204  DAPLink CMSIS-DAP\n    no serial number"), "{text}");
        assert!(text.contains("udev rules"), "{text}");
        assert!(format_probes(&[]).contains("no debug probe is attached (probe-rs sees no CMSIS-DAP"));
    }

    #[test]
    fn a_usb_serial_port_is_listed_with_the_target_file_usb_match() {
        let usb = |serial: Option<&str>| PortKind::Usb {
            vid: 0x0483,
            pid: 0x374b,
            serial: serial.map(String::from),
            manufacturer: Some("STMicroelectronics".into()),
            product: Some("STM32 STLink".into()),
        };
        let ports = [
            SerialEntry { path: "/dev/ttyACM0".into(), kind: usb(Some("0671FF\"1")) },
            SerialEntry { path: "/dev/ttyACM1".into(), kind: usb(None) },
            SerialEntry { path: "/dev/ttyS0".into(), kind: PortKind::Other },
        ];
        let text = format_serial_ports(&ports);
        assert!(
            text.contains(
                "  /dev/ttyACM0  USB 0483:374b serial 0671FF\"1 (STMicroelectronics, STM32 STLink)\n    \
                 target file, under channels:  console: { serial: { usb: { vid: 0x0483, pid: 0x374b, \
                 serial: \"0671FF\\\"1\" }, baud: 115200 } }\n"
            ),
            "{text}"
        );
        assert!(text.contains("usb: { vid: 0x0483, pid: 0x374b }, baud"), "{text}");
        assert!(text.contains("/dev/ttyS0  other"), "{text}");
        assert!(text.contains("serial: { path: /dev/ttyS0, baud: 115200 }"), "{text}");
        assert!(format_serial_ports(&[]).contains("no serial ports found"));
    }
}
