//! The target file: how to reach, launch and power one device, what it claims, and how to perform
//! each operation on its own interface. See docs/target-files.md.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::Deserialize;

use super::de::{checked_map, unique_map, UniqueKey};
use super::values::{port_template, Pattern, Span, Template};

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub description: Option<String>,
    pub timeouts: Timeouts,
    pub launch: Option<Launch>,
    pub channels: BTreeMap<String, Channel>,
    pub power: Option<Power>,
    pub debug: Option<super::debug::Debug>,
    pub crash_patterns: Vec<Pattern>,
    /// Resolved secret values by name; masked wherever output is written.
    pub secrets: BTreeMap<String, String>,
    pub lifecycle: Lifecycle,
    pub capabilities: Capabilities,
    pub operations: BTreeMap<String, Operation>,
    pub file: PathBuf,
    pub source: String,
}

impl Target {
    pub fn secret_values(&self) -> Vec<String> {
        self.secrets.values().cloned().collect()
    }
}

/// The file as written; turned into [`Target`] once secrets are resolved.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct TargetFile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub launch: Option<Launch>,
    #[serde(deserialize_with = "unique_map")]
    pub channels: BTreeMap<String, Channel>,
    #[serde(default)]
    pub power: Option<Power>,
    #[serde(default)]
    pub debug: Option<super::debug::DebugFile>,
    #[serde(default)]
    pub crash_patterns: Vec<Pattern>,
    #[serde(default, deserialize_with = "unique_map")]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub capabilities: Capabilities,
    #[serde(default, deserialize_with = "unique_map")]
    pub operations: BTreeMap<String, Operation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Timeouts {
    /// Multiplies every timeout (a slow CI runner, a slow board).
    pub scale: f64,
    #[serde(deserialize_with = "span")]
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { scale: 1.0, operation: Duration::from_secs(5) }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Launch {
    pub command: Vec<Template>,
    #[serde(default, deserialize_with = "unique_map")]
    pub env: BTreeMap<String, Template>,
    pub ready: Pattern,
    #[serde(default = "default_ready_timeout", deserialize_with = "span")]
    pub ready_timeout: Duration,
    /// When the process's readiness line comes before the device has booted (an emulator is up
    /// before its firmware is), the banner to wait for on a channel before anything is sent.
    #[serde(default)]
    pub console_ready: Option<ConsoleReady>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConsoleReady {
    pub channel: String,
    pub pattern: Pattern,
    #[serde(default = "default_ready_timeout", deserialize_with = "span")]
    pub timeout: Duration,
}

fn default_ready_timeout() -> Duration {
    Duration::from_secs(10)
}

#[derive(Debug, Clone)]
pub enum Channel {
    Serial(SerialChannel),
    Tcp(TcpChannel),
}

/// `{ serial: {...} }` or `{ tcp: {...} }`. Written as a one-key map rather than a serde enum,
/// which serde_yaml would want as a YAML tag (`!serial`) that nobody writes by hand.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelFile {
    #[serde(default)]
    serial: Option<SerialChannel>,
    #[serde(default)]
    tcp: Option<TcpChannel>,
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(d, "a channel: `serial: {...}` or `tcp: {...}`", |f: ChannelFile| match f {
            ChannelFile { serial: Some(s), tcp: None } => Ok(Channel::Serial(s)),
            ChannelFile { serial: None, tcp: Some(t) } => Ok(Channel::Tcp(t)),
            _ => Err("expected exactly one of `serial` or `tcp` in a channel".into()),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SerialChannel {
    #[serde(default)]
    pub path: Option<Template>,
    #[serde(default)]
    pub usb: Option<UsbMatch>,
    pub baud: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UsbMatch {
    pub vid: u16,
    pub pid: u16,
    #[serde(default)]
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TcpChannel {
    pub host: Template,
    #[serde(deserialize_with = "port_template")]
    pub port: Template,
}

#[derive(Debug, Clone)]
pub enum Power {
    /// Power off = kill the launched process; power on = launch it again.
    Launch(EmptyMap),
    /// Commands for a PDU or USB relay.
    Exec(PowerExec),
    /// A launched QEMU's monitor (QMP): power off = `quit`, reset = `system_reset`; a power cut
    /// is still a SIGKILL of QEMU at the chosen instant.
    Qmp(TcpChannel),
}

/// `{ launch: {} }`, `{ exec: {...} }` or `{ qmp: {...} }`, for the same reason as [`ChannelFile`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PowerFile {
    #[serde(default)]
    launch: Option<EmptyMap>,
    #[serde(default)]
    exec: Option<PowerExec>,
    #[serde(default)]
    qmp: Option<TcpChannel>,
}

impl<'de> Deserialize<'de> for Power {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let what = "power control: `launch: {}`, `exec: {...}` or `qmp: {host, port}`";
        checked_map(d, what, |f: PowerFile| match f {
            PowerFile { launch: Some(l), exec: None, qmp: None } => Ok(Power::Launch(l)),
            PowerFile { launch: None, exec: Some(e), qmp: None } => Ok(Power::Exec(e)),
            PowerFile { launch: None, exec: None, qmp: Some(q) } => Ok(Power::Qmp(q)),
            _ => Err("expected exactly one of `launch`, `exec` or `qmp` under `power`".into()),
        })
    }
}

/// `{}`: a variant that takes no settings (yet).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyMap {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PowerExec {
    pub on: Vec<Template>,
    pub off: Vec<Template>,
    #[serde(default = "default_ready_timeout", deserialize_with = "span")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lifecycle {
    /// Reports the firmware version (captures `version`); shown in every report's header.
    pub version: Option<String>,
    pub status: Option<String>,
    pub provision: Option<String>,
    pub factory_reset: Option<String>,
}

/// The capability declaration (ICS) with its parameters (IXIT). A misspelled capability is an
/// error, never a silently skipped check.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Capabilities {
    pub device_identity: Option<IdentityCap>,
    pub factory_reset: Option<FactoryResetCap>,
    pub access_lockout: Option<AccessLockoutCap>,
    pub software_update: Option<SoftwareUpdateCap>,
}

/// Software update as declared (TS 103 701 IXIT "Update Mechanisms"). Images are MCUboot images.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SoftwareUpdateCap {
    /// Pushes `{arg.image}` (a file, `{arg.size}` bytes) and stages it; outcomes `ok` (accepted),
    /// anything else (e.g. `rejected`, `denied`) for a refusal.
    pub update: String,
    /// Boots the staged image (e.g. a reboot); outcome `ok` once the device is up again.
    pub activate: String,
    /// Makes the running image permanent; outcome `ok`. Omit if the device needs no confirmation.
    #[serde(default)]
    pub confirm: Option<String>,
    /// Starts an update without a login; a conformant device answers `denied`.
    #[serde(default)]
    pub unauthenticated: Option<String>,
    /// The model (hardware id) the device's images are for, and one it must refuse.
    pub model: String,
    pub other_model: String,
    /// A test or engineering unit's signing key (never a product key): with it hilt makes every
    /// image a check needs from the running version. Without it, give `images`.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// Manufacturer-signed images for units without a signing key: `newer` than the running
    /// image (the base of every mutation), `older` (below the anti-rollback floor) and one for
    /// `other-model`.
    #[serde(default)]
    pub images: Option<UpdateImages>,
    /// The MCUboot header size to sign with (imgtool's --header-size).
    #[serde(default = "default_header_size")]
    pub header_size: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpdateImages {
    pub newer: PathBuf,
    #[serde(default)]
    pub older: Option<PathBuf>,
    #[serde(default)]
    pub other_model: Option<PathBuf>,
}

fn default_header_size() -> u16 {
    0x200
}

/// Brute-force prevention as declared (TS 103 701 IXIT "Brute Force Prevention").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AccessLockoutCap {
    /// Failed logins after which the device locks.
    pub threshold: u32,
    /// How long a lockout lasts.
    #[serde(deserialize_with = "span")]
    pub duration: Duration,
    /// The secret holding the valid credential.
    pub credential: String,
    /// Login operations, one per interface; each takes `{arg.password}` and has the outcomes
    /// `ok`, `denied` and `locked`.
    pub login: Vec<String>,
    /// Ends the session's login (outcome `ok`).
    pub logout: String,
    /// Operations that need a login, one per interface, each starting from a session that has
    /// none; a conformant device answers them `denied`.
    pub protected: Vec<String>,
    /// Changes the password: `{arg.current}`, `{arg.new}`; outcomes `ok` or `denied`.
    pub change_password: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IdentityCap {
    /// The declared format of the identifier.
    pub format: Pattern,
    /// Operations that read the identifier (capture `device_id`), one per channel exposing it.
    pub read: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FactoryResetCap {
    pub methods: Vec<String>,
    #[serde(default)]
    pub user_data: Option<UserDataOps>,
    /// Attempts a reset from a session without a login; a conformant device answers `denied`.
    #[serde(default)]
    pub unauthenticated: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UserDataOps {
    pub write: String,
    pub read: String,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub channel: Option<String>,
    pub timeout: Option<Duration>,
    pub body: OpBody,
}

#[derive(Debug, Clone)]
pub enum OpBody {
    Steps(Vec<Step>),
    Exec(ExecOp),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct OperationFile {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    timeout: Option<Span>,
    #[serde(default)]
    steps: Option<Vec<Step>>,
    #[serde(default)]
    exec: Option<ExecOp>,
}

impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(d, "an operation: `steps: [...]` or `exec: {...}`", |f: OperationFile| {
            let body = match (f.steps, f.exec) {
                (Some(steps), None) if !steps.is_empty() => OpBody::Steps(steps),
                (Some(_), None) => return Err("expected at least one step in `steps`".into()),
                (None, Some(exec)) => OpBody::Exec(exec),
                _ => return Err("expected exactly one of `steps` or `exec` in an operation".into()),
            };
            Ok(Operation { channel: f.channel, timeout: f.timeout.map(|s| s.0), body })
        })
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub channel: Option<String>,
    pub send: Option<Template>,
    pub send_file: Option<SendFile>,
    pub expect: Option<Expect>,
    pub timeout: Option<Duration>,
}

/// Sends a file in chunks, one `line` per chunk, each answered as the step's `expect` says: how
/// bootloaders and device consoles take an image over a text link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SendFile {
    pub path: Template,
    /// What to send per chunk: `{chunk.hex}` (the bytes in hex), `{chunk.offset}` (decimal).
    pub line: Template,
    /// Bytes per chunk.
    #[serde(default = "default_chunk")]
    pub chunk: usize,
}

fn default_chunk() -> usize {
    256
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StepFile {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    send: Option<Template>,
    #[serde(default)]
    send_file: Option<SendFile>,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    timeout: Option<Span>,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_map(d, "a step: `send` or `send-file`, `expect`, or both", |f: StepFile| {
            if f.send.is_some() && f.send_file.is_some() {
                return Err("expected `send` or `send-file` in a step, not both".into());
            }
            if f.send.is_none() && f.send_file.is_none() && f.expect.is_none() {
                return Err("expected `send` (or `send-file`), `expect` or both in a step".into());
            }
            if f.send_file.as_ref().is_some_and(|s| s.chunk == 0) {
                return Err("expected a `chunk` of at least 1 byte in `send-file`".into());
            }
            Ok(Step {
                channel: f.channel,
                send: f.send,
                send_file: f.send_file,
                expect: f.expect,
                timeout: f.timeout.map(|s| s.0),
            })
        })
    }
}

/// The answers a step waits for: one pattern (outcome `ok`) or named alternatives, in file order.
#[derive(Debug, Clone)]
pub struct Expect(Vec<(String, Pattern)>);

impl Expect {
    pub fn alternatives(&self) -> &[(String, Pattern)] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Expect;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a pattern, or a map of outcome name to pattern")
            }
            fn visit_str<E: de::Error>(self, p: &str) -> Result<Expect, E> {
                Pattern::new(p).map(|p| Expect(vec![("ok".into(), p)])).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Expect, A::Error> {
                let mut outcomes = Vec::new();
                let mut patterns = Vec::new();
                while let Some(outcome) = map.next_key_seed(UniqueKey(&outcomes))? {
                    patterns.push(map.next_value()?);
                    outcomes.push(outcome);
                }
                if outcomes.is_empty() {
                    return Err(de::Error::custom("expected at least one outcome: pattern"));
                }
                Ok(Expect(outcomes.into_iter().zip(patterns).collect()))
            }
        }
        // `any`, not `str`: the map form is told apart from the single pattern by its shape.
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExecOp {
    pub command: Vec<Template>,
    #[serde(default = "default_exec_timeout", deserialize_with = "span")]
    pub timeout: Duration,
    #[serde(default)]
    pub expect_exit: i32,
}

fn default_exec_timeout() -> Duration {
    Duration::from_secs(60)
}

fn span<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Span::deserialize(d).map(|s| s.0)
}
