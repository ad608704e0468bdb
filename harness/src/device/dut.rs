//! The device under test as the checks see it: operations by name, power, and a second unit.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use regex::bytes::Regex;

use super::error::DeviceError;
use super::expect::{Channel, ExpectError};
use super::launch::{LaunchSpec, Launched};
use super::lock::{self, DeviceLock};
use super::transcript::Transcript;
use crate::config::{self, Target};
use crate::transport::qmp::Qmp;
use crate::transport::{serial, tcp};

/// How long opening a TCP channel may take before the device counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long QEMU may take to answer its monitor (and to exit after `quit`).
const QMP_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Dut {
    target: Arc<Target>,
    /// "unit-a" for the device under test, "unit-b" for a second unit of the same kind.
    unit: String,
    /// Where a launched device keeps its state (its flash): persists across power cycles.
    state_dir: PathBuf,
    /// The hilt executable, for targets that launch the built-in reference device.
    hilt_exe: String,
    launched: Option<Launched>,
    channels: BTreeMap<String, Channel>,
    transcript: Transcript,
    patterns: HashMap<String, Regex>,
    crash: Vec<Regex>,
    /// `{port.NAME}` values: free loopback ports chosen once per unit, kept across power cycles.
    ports: BTreeMap<String, u16>,
    /// Claims on the device, so no other run uses it at the same time.
    locks: Vec<DeviceLock>,
}

impl Dut {
    /// A session for `unit` of `target`. Nothing is launched or opened until first needed.
    pub fn new(target: Arc<Target>, unit: &str, state_dir: &Path) -> Result<Dut, DeviceError> {
        let crash =
            target.crash_patterns.iter().map(|p| bytes_regex(p.as_str())).collect::<Result<_, _>>()?;
        let hilt_exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .map_err(|e| DeviceError::Config(format!("cannot find the hilt executable: {e}")))?;
        Ok(Dut {
            locks: Vec::new(),
            ports: allocate_ports(&target)?,
            transcript: Transcript::new(&target.secret_values()),
            target,
            unit: unit.to_string(),
            state_dir: state_dir.to_path_buf(),
            hilt_exe,
            launched: None,
            channels: BTreeMap::new(),
            patterns: HashMap::new(),
            crash,
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The executable `{hilt}` stands for; by default this process's own (benchmarks name the
    /// real hilt binary instead).
    pub fn set_hilt_exe(&mut self, path: &str) {
        self.hilt_exe = path.to_string();
    }

    /// A named capture of the launched device's readiness line (e.g. its console path).
    pub fn ready_value(&self, name: &str) -> Option<String> {
        self.builtin_placeholder(&format!("ready.{name}"))
    }

    pub(super) fn target_arc(&self) -> Arc<Target> {
        self.target.clone()
    }

    /// Where this unit keeps its files (a launched device's flash, images made for it).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// Starts a fresh transcript (one per check) and returns the finished one.
    pub fn take_transcript(&mut self) -> Transcript {
        self.drain_launch_output();
        std::mem::replace(&mut self.transcript, Transcript::new(&self.target.secret_values()))
    }

    pub fn transcript_mut(&mut self) -> &mut Transcript {
        &mut self.transcript
    }

    pub fn note(&mut self, text: impl AsRef<str>) {
        let unit = self.unit.clone();
        self.transcript.note(&unit, text);
    }

    /// A second unit of the same kind, for checks that compare units (e.g. identifier uniqueness).
    /// Only launched targets can make one; for a bench, a second target file names the other board.
    pub fn second_unit(&self, unit: &str) -> Option<Result<Dut, DeviceError>> {
        self.target.launch.as_ref()?;
        let dir = self.state_dir.with_file_name(unit);
        Some(Dut::new(self.target.clone(), unit, &dir).and_then(|mut d| {
            d.hilt_exe = self.hilt_exe.clone();
            d.claim()?;
            Ok(d)
        }))
    }

    /// Claims the device for this run: a launched unit by its state directory, a bench device by
    /// each channel's port or endpoint. Fails at once, naming the holder, if another run has it.
    pub fn claim(&mut self) -> Result<(), DeviceError> {
        let resources = if self.target.launch.is_some() {
            vec![lock::unit_resource(&self.state_dir)]
        } else {
            let lookup = |p: &str| self.builtin_placeholder(p);
            let render = |t: &config::Template| t.render(&lookup).unwrap_or_else(|_| t.raw().to_string());
            self.target
                .channels
                .values()
                .map(|ch| match ch {
                    config::Channel::Serial(s) => match (&s.path, &s.usb) {
                        (Some(p), _) => format!("serial:{}", render(p)),
                        (None, Some(u)) => {
                            format!("usb:{:04x}:{:04x}:{}", u.vid, u.pid, u.serial.as_deref().unwrap_or("*"))
                        }
                        (None, None) => "serial:?".to_string(),
                    },
                    config::Channel::Tcp(t) => {
                        format!("tcp:{}:{}", render(&t.host), render(&t.port))
                    }
                })
                .collect()
        };
        for resource in resources {
            let claimed = lock::acquire(&resource).map_err(DeviceError::Busy)?;
            if let Some(note) = &claimed.took_over {
                eprintln!("hilt: note: {note}");
            }
            self.locks.push(claimed);
        }
        Ok(())
    }

    /// Makes sure a launched device is running (starting it if not, or if it died).
    pub fn ensure_running(&mut self) -> Result<(), DeviceError> {
        let target = self.target.clone();
        let Some(launch) = &target.launch else {
            return Ok(());
        };
        if let Some(l) = &mut self.launched {
            match l.exit_status() {
                None => return Ok(()),
                Some(status) => {
                    let text = format!("launched device exited ({status}); starting it again");
                    self.drain_launch_output();
                    self.launched = None;
                    self.channels.clear();
                    self.note(text);
                }
            }
        }
        std::fs::create_dir_all(&self.state_dir)
            .map_err(|e| DeviceError::Config(format!("cannot create {}: {e}", self.state_dir.display())))?;
        let lookup = |name: &str| self.builtin_placeholder(name);
        let render = |t: &config::Template| {
            t.render(&lookup).map_err(|missing| {
                DeviceError::Config(format!("launch: placeholder {{{missing}}} has no value"))
            })
        };
        let spec = LaunchSpec {
            label: self.unit.clone(),
            command: launch.command.iter().map(render).collect::<Result<_, _>>()?,
            env: launch
                .env
                .iter()
                .map(|(k, v)| Ok((k.clone(), render(v)?)))
                .collect::<Result<_, DeviceError>>()?,
            ready: launch.ready.regex().clone(),
            ready_timeout: self.scaled(launch.ready_timeout),
            crash: self.target.crash_patterns.iter().map(|p| p.regex().clone()).collect(),
        };
        self.launched = Some(Launched::start(&spec, &mut self.transcript)?);
        self.wait_for_boot()?;
        if let Some(config::Power::Qmp(qmp)) = &target.power {
            // QEMU's pty backend notices that a reader opened the console only on a once-a-second
            // poll, unless its main loop wakes for something else: input sent before that waits
            // up to a second (measured). A monitor command wakes the loop, and checks QMP works.
            self.with_qmp(qmp, "query-status", |m, deadline| m.execute("query-status", deadline).map(drop))?;
        }
        Ok(())
    }

    /// Waits for the boot banner the launch section names, if any: an emulator is ready before its
    /// firmware has booted, and a command sent meanwhile would spend its timeout on the boot. A
    /// crash banner ends the wait without an error: the next operation meets the device as it is
    /// and reports it (a bricked device is the check's finding, not a failed launch).
    fn wait_for_boot(&mut self) -> Result<(), DeviceError> {
        let target = self.target.clone();
        let Some(ready) = target.launch.as_ref().and_then(|l| l.console_ready.as_ref()) else {
            return Ok(());
        };
        let start = Instant::now();
        let deadline = start + self.scaled(ready.timeout);
        self.channel(&ready.channel)?;
        let banner = self.pattern(ready.pattern.as_str())?;
        let crash = self.crash_patterns();
        let (ch, transcript) = self.split_for_expect(&ready.channel).expect("opened above");
        match ch.expect(&[("ready", &banner)], &crash, deadline, transcript) {
            Ok(_) => {
                self.note(format!("booted after {:.3}s", start.elapsed().as_secs_f64()));
                Ok(())
            }
            Err(error @ ExpectError::Crash { .. }) => {
                self.note(format!("while booting: {error}"));
                Ok(())
            }
            Err(error) => {
                Err(DeviceError::Expect { operation: "waiting for the boot banner".into(), step: 0, error })
            }
        }
    }

    /// Power off and on again. For launched devices a power-off is SIGKILL (a pulled plug), or
    /// QEMU's `quit` where the target gives its QMP monitor.
    pub fn power_cycle(&mut self) -> Result<(), DeviceError> {
        self.power_off()?;
        self.power_on()
    }

    pub fn power_off(&mut self) -> Result<(), DeviceError> {
        match self.target.power.clone() {
            Some(config::Power::Qmp(qmp)) => {
                self.channels.clear();
                if self.launched.is_some() {
                    if let Err(e) = self.with_qmp(&qmp, "quit", Qmp::quit) {
                        self.note(format!("{e}; pulling the plug instead"));
                    }
                }
                self.kill_launched()
            }
            _ => self.power_cut(),
        }
    }

    /// Power lost at this instant: a launched device is killed (SIGKILL) whatever else the target
    /// offers, so nothing it was doing gets to finish; a bench device's power-off command runs.
    pub fn power_cut(&mut self) -> Result<(), DeviceError> {
        self.channels.clear();
        match &self.target.power {
            Some(config::Power::Launch(_) | config::Power::Qmp(_)) => self.kill_launched(),
            Some(config::Power::Exec(p)) => self.power_exec("off", &p.off.clone(), p.timeout),
            None => Err(DeviceError::Power("the target file declares no power control".into())),
        }
    }

    pub fn power_on(&mut self) -> Result<(), DeviceError> {
        match &self.target.power {
            Some(config::Power::Launch(_) | config::Power::Qmp(_)) => {
                self.note("power on");
                self.ensure_running()
            }
            Some(config::Power::Exec(p)) => self.power_exec("on", &p.on.clone(), p.timeout),
            None => Err(DeviceError::Power("the target file declares no power control".into())),
        }
    }

    /// Presses reset: QEMU's `system_reset` where the target gives QMP (the process, its console
    /// and its flash stay; the firmware starts over), a power cycle otherwise.
    pub fn reset(&mut self) -> Result<(), DeviceError> {
        match self.target.power.clone() {
            Some(config::Power::Qmp(qmp)) if self.launched.is_some() => {
                self.with_qmp(&qmp, "system_reset", |m, deadline| {
                    m.execute("system_reset", deadline).map(drop)
                })?;
                self.wait_for_boot()
            }
            _ => self.power_cycle(),
        }
    }

    fn kill_launched(&mut self) -> Result<(), DeviceError> {
        if let Some(mut l) = self.launched.take() {
            l.drain_output(&mut self.transcript);
            let pid = l.pid();
            let was = l.exit_status();
            l.kill().map_err(|e| DeviceError::Power(format!("cannot kill pid {pid}: {e}")))?;
            match was {
                Some(status) => self.note(format!("power off: pid {pid} had exited ({status})")),
                None => self.note(format!("power off: killed pid {pid}")),
            }
        }
        Ok(())
    }

    /// Connects to the launched QEMU's monitor and does `command` there (`f`), within QMP_TIMEOUT.
    fn with_qmp(
        &mut self,
        qmp: &config::TcpChannel,
        command: &str,
        f: impl FnOnce(&mut Qmp, Instant) -> Result<(), String>,
    ) -> Result<(), DeviceError> {
        let lookup = |p: &str| self.builtin_placeholder(p);
        let fail = |m: String| DeviceError::Power(format!("QMP {command}: {m}"));
        let host = qmp.host.render(&lookup).map_err(|m| fail(format!("placeholder {{{m}}} has no value")))?;
        let port = qmp.port.render(&lookup).map_err(|m| fail(format!("placeholder {{{m}}} has no value")))?;
        let port: u16 = port.parse().map_err(|_| fail(format!("port {port:?} is not a TCP port")))?;
        let deadline = Instant::now() + self.scaled(QMP_TIMEOUT);
        let mut monitor = Qmp::connect(&host, port, deadline).map_err(fail)?;
        f(&mut monitor, deadline).map_err(fail)?;
        self.note(format!("QMP {command} ({host}:{port})"));
        Ok(())
    }

    pub fn has_power_control(&self) -> bool {
        self.target.power.is_some()
    }

    fn power_exec(
        &mut self,
        what: &str,
        command: &[config::Template],
        timeout: Duration,
    ) -> Result<(), DeviceError> {
        let lookup = |name: &str| self.builtin_placeholder(name);
        let argv = command
            .iter()
            .map(|t| t.render(&lookup))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| DeviceError::Power(format!("power {what}: placeholder {{{m}}} has no value")))?;
        let timeout = self.scaled(timeout);
        let result = super::operation::run_command(&argv, timeout, &mut self.transcript, &self.unit.clone());
        match result {
            Ok(0) => Ok(()),
            Ok(code) => Err(DeviceError::Power(format!("power {what} command exited with {code}"))),
            Err(e) => Err(DeviceError::Power(format!("power {what}: {e}"))),
        }
    }

    /// The open channel `name`, opening it on first use.
    pub(super) fn channel(&mut self, name: &str) -> Result<&mut Channel, DeviceError> {
        self.ensure_running()?;
        self.drain_launch_output();
        if !self.channels.contains_key(name) {
            let spec = self
                .target
                .channels
                .get(name)
                .ok_or_else(|| DeviceError::Config(format!("no channel named {name}")))?;
            let lookup = |p: &str| self.builtin_placeholder(p);
            let fail = |reason: String| DeviceError::Channel { channel: name.to_string(), reason };
            let render = |t: &config::Template| {
                t.render(&lookup).map_err(|m| fail(format!("placeholder {{{m}}} has no value")))
            };
            let stream = match spec {
                config::Channel::Serial(s) => match (&s.path, &s.usb) {
                    (Some(path), _) => serial::open_path(&render(path)?, s.baud),
                    (None, Some(usb)) => serial::open_usb(
                        &serial::UsbSelector { vid: usb.vid, pid: usb.pid, serial: usb.serial.clone() },
                        s.baud,
                    ),
                    (None, None) => return Err(fail("serial channel has neither path nor usb".into())),
                },
                config::Channel::Tcp(t) => {
                    let host = render(&t.host)?;
                    let port = render(&t.port)?;
                    let port: u16 =
                        port.parse().map_err(|_| fail(format!("port {port:?} is not a TCP port")))?;
                    tcp::open(&host, port, CONNECT_TIMEOUT)
                }
            }
            .map_err(|e| fail(e.to_string()))?;
            let channel = Channel::new(name, stream);
            let text = format!("opened channel {name}: {}", channel.endpoint());
            self.note(text);
            self.channels.insert(name.to_string(), channel);
        }
        Ok(self.channels.get_mut(name).expect("inserted above"))
    }

    /// Ends the session with the device: closes channels and powers off a launched device.
    pub fn release(&mut self) {
        self.channels.clear();
        if let Some(mut l) = self.launched.take() {
            l.drain_output(&mut self.transcript);
            let _ = l.kill();
        }
    }

    /// Closes every channel; the next operation opens them again (e.g. after a reboot).
    pub fn close_channels(&mut self) {
        self.channels.clear();
    }

    pub(super) fn crash_patterns(&self) -> Vec<Regex> {
        self.crash.clone()
    }

    pub(super) fn pattern(&mut self, source: &str) -> Result<Regex, DeviceError> {
        if let Some(re) = self.patterns.get(source) {
            return Ok(re.clone());
        }
        let re = bytes_regex(source)?;
        self.patterns.insert(source.to_string(), re.clone());
        Ok(re)
    }

    pub(super) fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.target.timeouts.scale)
    }

    /// Values for placeholders that do not depend on an operation's arguments.
    pub(super) fn builtin_placeholder(&self, name: &str) -> Option<String> {
        match name {
            "hilt" => Some(self.hilt_exe.clone()),
            "state_dir" => Some(self.state_dir.display().to_string()),
            "instance" => Some(self.unit.clone()),
            _ => {
                let (ns, key) = name.split_once('.')?;
                match ns {
                    "secret" => self.target.secrets.get(key).cloned(),
                    "ready" => self.launched.as_ref()?.ready.get(key).cloned(),
                    "port" => self.ports.get(key).map(u16::to_string),
                    _ => None,
                }
            }
        }
    }

    /// How the launched device's process ended, if it has (its output is drained into the
    /// transcript first, so the reason is there).
    pub(super) fn launched_exit(&mut self) -> Option<String> {
        self.drain_launch_output();
        self.launched.as_mut()?.exit_status()
    }

    pub(super) fn drain_launch_output(&mut self) {
        if let Some(l) = &self.launched {
            l.drain_output(&mut self.transcript);
        }
    }

    pub(super) fn split_for_expect(&mut self, channel: &str) -> Option<(&mut Channel, &mut Transcript)> {
        let ch = self.channels.get_mut(channel)?;
        Some((ch, &mut self.transcript))
    }
}

/// A free TCP port on 127.0.0.1 for each `{port.NAME}` the launch command, its environment or a
/// channel uses. The kernel picks it; it is released at once for the device to bind. Another
/// process could take it in between, which would show as a launch ERROR, never as a verdict.
fn allocate_ports(target: &Target) -> Result<BTreeMap<String, u16>, DeviceError> {
    let mut templates: Vec<&config::Template> = Vec::new();
    if let Some(l) = &target.launch {
        templates.extend(&l.command);
        templates.extend(l.env.values());
    }
    if let Some(config::Power::Qmp(q)) = &target.power {
        templates.extend([&q.host, &q.port]);
    }
    if let Some(config::DebugAccess::GdbRemote(g)) = target.debug.as_ref().map(|d| &d.access) {
        templates.extend([&g.host, &g.port]);
    }
    for ch in target.channels.values() {
        match ch {
            config::Channel::Serial(s) => templates.extend(&s.path),
            config::Channel::Tcp(t) => templates.extend([&t.host, &t.port]),
        }
    }
    let mut ports = BTreeMap::new();
    // Every listener stays bound until all are chosen: released one by one, the kernel may hand
    // the same port out twice (seen: QEMU's management console and QMP on one port).
    let mut held = Vec::new();
    for name in templates.iter().flat_map(|t| t.placeholders()).filter_map(|p| p.strip_prefix("port.")) {
        if !ports.contains_key(name) {
            let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| {
                DeviceError::Config(format!("cannot allocate a loopback port for {{port.{name}}}: {e}"))
            })?;
            let port = listener
                .local_addr()
                .map_err(|e| {
                    DeviceError::Config(format!("cannot read the port chosen for {{port.{name}}}: {e}"))
                })?
                .port();
            held.push(listener);
            ports.insert(name.to_string(), port);
        }
    }
    Ok(ports)
}

fn bytes_regex(source: &str) -> Result<Regex, DeviceError> {
    Regex::new(source).map_err(|e| DeviceError::Config(format!("pattern {source:?}: {e}")))
}
