//! Performing a target file's operations: send/expect steps over named channels, or an external
//! command (a vendor's flashing or update tool).
//!
//! Outcome rules: each step's `expect` names its alternatives; a step that matches an alternative
//! other than `ok` ends the operation with that outcome (e.g. `denied` at the login step of a
//! factory reset), otherwise the last expecting step's alternative is the operation's outcome.
//! Named captures from every step are merged.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::dut::Dut;
use super::error::DeviceError;
use super::expect::{ExpectError, Matched};
use super::transcript::{Direction, Transcript};
use crate::config::OpBody;

/// Where a step runs, for its sends and expectations.
struct StepCtx<'a> {
    op: &'a str,
    index: usize,
    channel: &'a str,
    cut: Option<Instant>,
}

/// How a transcript notes a declared wait (e.g. a lockout window) that the device imposed.
pub const WAITED: &str = "declared wait over after";

/// How an operation run with a power cut ended.
#[derive(Debug)]
pub enum CutRun {
    /// The operation finished before the cut (the cut still happened, at its instant).
    Finished(Matched),
    /// The cut landed while the operation was under way.
    Cut,
}

impl Dut {
    /// Performs operation `name` with `args` as `{arg.NAME}` values.
    pub fn op(&mut self, name: &str, args: &[(&str, &str)]) -> Result<Matched, DeviceError> {
        Ok(self.run_op(name, args, None)?.expect("no cut was asked for"))
    }

    /// Performs `name` and cuts the power at `cut`, whether the operation is still under way then
    /// (the usual case) or has finished (then the device is watched until the cut). The device is
    /// off afterwards.
    pub fn op_with_cut(
        &mut self,
        name: &str,
        args: &[(&str, &str)],
        cut: Instant,
    ) -> Result<CutRun, DeviceError> {
        let run = match self.run_op(name, args, Some(cut))? {
            Some(matched) => {
                let channel = self.op_channel(name)?;
                self.wait_watching(&channel, cut)?;
                CutRun::Finished(matched)
            }
            None => CutRun::Cut,
        };
        self.note(format!(
            "power cut {}",
            if matches!(run, CutRun::Cut) { "during the operation" } else { "after it finished" }
        ));
        self.power_cut()?;
        Ok(run)
    }

    /// The operation; None when `cut` came first.
    fn run_op(
        &mut self,
        name: &str,
        args: &[(&str, &str)],
        cut: Option<Instant>,
    ) -> Result<Option<Matched>, DeviceError> {
        let target = self.target_arc();
        let op = target
            .operations
            .get(name)
            .ok_or_else(|| DeviceError::Config(format!("the target file declares no operation {name}")))?;
        let op_deadline = Instant::now() + self.scaled(op.timeout.unwrap_or(target.timeouts.operation));
        let mut result = Matched { outcome: "ok".into(), captures: BTreeMap::new() };
        let steps = match &op.body {
            OpBody::Steps(steps) => steps,
            OpBody::Exec(exec) => {
                let argv =
                    exec.command.iter().map(|t| self.render(t, args)).collect::<Result<Vec<_>, _>>()?;
                let timeout = self.scaled(exec.timeout);
                let unit = self.unit().to_string();
                let code = run_command(&argv, timeout, self.transcript_mut(), &unit)
                    .map_err(|e| DeviceError::Config(format!("operation {name}: {e}")))?;
                if code != exec.expect_exit {
                    result.outcome = format!("exit-{code}");
                }
                return Ok(Some(result));
            }
        };
        for (index, step) in steps.iter().enumerate() {
            let channel = step.channel.as_deref().or(op.channel.as_deref()).ok_or_else(|| {
                DeviceError::Config(format!("operation {name} step {} names no channel", index + 1))
            })?;
            self.channel(channel)?;
            let deadline = match step.timeout {
                Some(t) => (Instant::now() + self.scaled(t)).min(op_deadline),
                None => op_deadline,
            };
            let sends = match (&step.send, &step.send_file) {
                (Some(send), _) => vec![self.render(send, args)?.into_bytes()],
                (None, Some(file)) => self.file_lines(file, args)?,
                (None, None) => vec![Vec::new()],
            };
            let step_ctx = StepCtx { op: name, index, channel, cut };
            for bytes in sends {
                match self.send_expect(&step_ctx, &bytes, step.expect.as_ref(), deadline)? {
                    None => return Ok(None),
                    Some(Some(matched)) => {
                        result.captures.extend(matched.captures);
                        result.outcome = matched.outcome;
                        if result.outcome != "ok" {
                            break;
                        }
                    }
                    Some(None) => {}
                }
            }
            if result.outcome != "ok" {
                break;
            }
        }
        self.drain_launch_output();
        Ok(Some(result))
    }

    /// One send and its expectation. None: the cut came first; Some(None): nothing to expect.
    fn send_expect(
        &mut self,
        step: &StepCtx,
        bytes: &[u8],
        expect: Option<&crate::config::Expect>,
        deadline: Instant,
    ) -> Result<Option<Option<Matched>>, DeviceError> {
        let step_err =
            |error| DeviceError::Expect { operation: step.op.to_string(), step: step.index, error };
        if step.cut.is_some_and(|cut| Instant::now() >= cut) {
            return Ok(None);
        }
        if !bytes.is_empty() {
            let (ch, transcript) = self.split_for_expect(step.channel).expect("opened by the caller");
            if let Err(error) = ch.send(bytes, transcript) {
                return Err(step_err(self.explain_closed(error)));
            }
        }
        let Some(expect) = expect else { return Ok(Some(None)) };
        let alternatives = expect
            .alternatives()
            .iter()
            .map(|(outcome, p)| Ok((outcome.clone(), self.pattern(p.as_str())?)))
            .collect::<Result<Vec<_>, DeviceError>>()?;
        let refs: Vec<(&str, &regex::bytes::Regex)> =
            alternatives.iter().map(|(o, r)| (o.as_str(), r)).collect();
        let crash = self.crash_patterns();
        let until = step.cut.map_or(deadline, |cut| cut.min(deadline));
        let (ch, transcript) = self.split_for_expect(step.channel).expect("opened by the caller");
        match ch.expect(&refs, &crash, until, transcript) {
            Ok(matched) => Ok(Some(Some(matched))),
            Err(ExpectError::Timeout { .. }) if step.cut.is_some_and(|cut| Instant::now() >= cut) => Ok(None),
            Err(error) => Err(step_err(self.explain_closed(error))),
        }
    }

    /// A channel that closed because the launched device's process exited says so: the process's
    /// own output (QEMU's complaint, a panic) is what explains it.
    fn explain_closed(&mut self, error: ExpectError) -> ExpectError {
        match (error, self.launched_exit()) {
            (ExpectError::Closed { reason, tail }, Some(status)) => ExpectError::Closed {
                reason: format!(
                    "{reason}; the device process had exited ({status}): its output is in the transcript"
                ),
                tail,
            },
            (error, _) => error,
        }
    }

    /// A `send-file` step's lines: the file in chunks, each rendered into the step's `line`.
    fn file_lines(
        &self,
        file: &crate::config::SendFile,
        args: &[(&str, &str)],
    ) -> Result<Vec<Vec<u8>>, DeviceError> {
        let path = self.render(&file.path, args)?;
        let bytes =
            std::fs::read(&path).map_err(|e| DeviceError::Config(format!("send-file {path}: {e}")))?;
        bytes
            .chunks(file.chunk)
            .enumerate()
            .map(|(i, chunk)| {
                let hex: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
                let offset = (i * file.chunk).to_string();
                let line = file.line.render(&|name: &str| match name {
                    "chunk.hex" => Some(hex.clone()),
                    "chunk.offset" => Some(offset.clone()),
                    other => self.placeholder(other, args),
                });
                line.map(String::into_bytes)
                    .map_err(|missing| DeviceError::Config(format!("placeholder {{{missing}}} has no value")))
            })
            .collect()
    }

    /// The channel operation `name` starts on.
    pub fn op_channel(&self, name: &str) -> Result<String, DeviceError> {
        let op =
            self.target().operations.get(name).ok_or_else(|| {
                DeviceError::Config(format!("the target file declares no operation {name}"))
            })?;
        let first_step = match &op.body {
            OpBody::Steps(steps) => steps.first().and_then(|s| s.channel.clone()),
            OpBody::Exec(_) => None,
        };
        first_step
            .or_else(|| op.channel.clone())
            .ok_or_else(|| DeviceError::Config(format!("operation {name} names no channel")))
    }

    /// Waits until `deadline` while watching `channel`: output is recorded, and a crash banner or
    /// the channel closing ends the wait at once as an error. For declared waiting times (a
    /// lockout window) that the device gives no event for.
    pub fn wait_watching(&mut self, channel: &str, deadline: Instant) -> Result<(), DeviceError> {
        self.channel(channel)?;
        let crash = self.crash_patterns();
        let start = Instant::now();
        let (ch, transcript) = self.split_for_expect(channel).expect("opened above");
        match ch.expect(&[], &crash, deadline, transcript) {
            // With nothing to match, reaching the deadline is the wait succeeding.
            Ok(_) | Err(ExpectError::Timeout { .. }) => {
                // The benchmark adds these up: time the device's own rules imposed on the run.
                self.note(format!("{WAITED} {:.3}s", start.elapsed().as_secs_f64()));
                Ok(())
            }
            Err(error) => {
                Err(DeviceError::Expect { operation: format!("waiting on {channel}"), step: 0, error })
            }
        }
    }

    /// Performs `name` and requires the outcome `ok`; any other outcome is a lifecycle error.
    pub fn op_ok(&mut self, name: &str, args: &[(&str, &str)]) -> Result<Matched, DeviceError> {
        let m = self.op(name, args)?;
        if m.outcome != "ok" {
            return Err(DeviceError::Lifecycle(format!(
                "operation {name} ended with outcome {:?}, not ok",
                m.outcome
            )));
        }
        Ok(m)
    }

    fn render(&self, t: &crate::config::Template, args: &[(&str, &str)]) -> Result<String, DeviceError> {
        t.render(&|name: &str| self.placeholder(name, args))
            .map_err(|missing| DeviceError::Config(format!("placeholder {{{missing}}} has no value")))
    }

    fn placeholder(&self, name: &str, args: &[(&str, &str)]) -> Option<String> {
        match name.strip_prefix("arg.") {
            Some(key) => args.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string()),
            None => self.builtin_placeholder(name),
        }
    }
}

/// Runs an external command with a deadline; its output goes into the transcript. Returns the exit
/// code (a signal counts as -1). A command still running at the deadline is killed.
pub fn run_command(
    argv: &[String],
    timeout: Duration,
    transcript: &mut Transcript,
    label: &str,
) -> Result<i32, String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    transcript.note(label, format!("exec: {}", argv.join(" ")));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    thread::spawn(move || {
        // stderr on its own thread, so a tool that fills one pipe while we read the other cannot stall.
        let err_reader = thread::spawn(move || {
            let mut err = Vec::new();
            let _ = stderr.read_to_end(&mut err);
            err
        });
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        let err = err_reader.join().unwrap_or_default();
        let status = child.wait();
        let _ = tx.send((status, out, err));
    });
    match crate::interrupt::recv_until(&rx, Instant::now() + timeout) {
        Ok((status, out, err)) => {
            transcript.record(&format!("{label}.exec"), Direction::Rx, &out);
            transcript.record(&format!("{label}.exec"), Direction::Rx, &err);
            let status = status.map_err(|e| e.to_string())?;
            Ok(status.code().unwrap_or(-1))
        }
        Err(wait) => {
            // SAFETY: plain kill(2) of the child we started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            Err(match wait {
                crate::interrupt::Wait::Interrupted => {
                    format!("{program} was killed: hilt was asked to stop")
                }
                _ => format!("{program} did not finish within {:.1}s and was killed", timeout.as_secs_f64()),
            })
        }
    }
}
