//! Launching emulated and host devices: start the process, wait for its readiness line, keep its
//! output flowing into the transcript, and make sure it dies with hilt.
//!
//! Launched devices are started from one long-lived thread with PR_SET_PDEATHSIG: Linux delivers
//! that signal when the *thread* that forked the child exits, so forking from a short-lived test
//! thread would kill the device early, while a SIGKILLed hilt must still take its devices with it.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use regex::Regex;

use super::transcript::{escape, Direction, Transcript};
use crate::interrupt::{self, Wait};

/// A fully rendered launch: what to run and how to know it is ready.
pub struct LaunchSpec {
    /// The name the process's output is recorded under in transcripts, e.g. "unit-a".
    pub label: String,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub ready: Regex,
    pub ready_timeout: Duration,
    pub crash: Vec<Regex>,
}

/// Output chunks from the process's stdout and stderr, tagged by stream.
type OutputChunk = (&'static str, Vec<u8>);

/// A running launched device.
pub struct Launched {
    child: Child,
    label: String,
    /// Named captures of the readiness line, e.g. `console` = "/dev/pts/7".
    pub ready: BTreeMap<String, String>,
    output: Receiver<OutputChunk>,
}

#[derive(Debug)]
pub enum LaunchError {
    Spawn(String),
    Exited { status: String, output: String },
    NotReady { waited: Duration, output: String },
    Crashed { pattern: String, output: String },
    Interrupted,
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::Interrupted => write!(f, "interrupted while the device was starting"),
            LaunchError::Spawn(e) => write!(f, "cannot start device: {e}"),
            LaunchError::Exited { status, output } => {
                write!(f, "device process exited before it was ready ({status}); output: {output}")
            }
            LaunchError::NotReady { waited, output } => write!(
                f,
                "device printed no readiness line within {:.1}s; output: {output}",
                waited.as_secs_f64()
            ),
            LaunchError::Crashed { pattern, output } => {
                write!(f, "device crashed while starting (pattern {pattern}); output: {output}")
            }
        }
    }
}

/// Bound on buffered output chunks; beyond it chunks are dropped (and counted), never blocking the device.
const OUTPUT_QUEUE: usize = 1024;
/// Bound on one output line kept while looking for the readiness line.
const MAX_LINE: usize = 4096;

impl Launched {
    pub fn start(spec: &LaunchSpec, transcript: &mut Transcript) -> Result<Launched, LaunchError> {
        let (program, args) =
            spec.command.split_first().ok_or_else(|| LaunchError::Spawn("empty launch command".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // Put the device in its own process group so a terminal's Ctrl-C reaches hilt only;
                // hilt then powers the device off in order.
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        transcript.note(&spec.label, format!("launch: {}", spec.command.join(" ")));
        let mut child = spawn(cmd).map_err(|e| LaunchError::Spawn(format!("{program}: {e}")))?;
        let (tx, rx) = mpsc::sync_channel(OUTPUT_QUEUE);
        forward(child.stdout.take(), "stdout", tx.clone());
        forward(child.stderr.take(), "stderr", tx);
        transcript.note(&spec.label, format!("started pid {}", child.id()));
        let mut launched = Launched { child, label: spec.label.clone(), ready: BTreeMap::new(), output: rx };
        launched.wait_ready(spec, transcript)?;
        Ok(launched)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line matching the readiness pattern, watching for crashes and early exit.
    fn wait_ready(&mut self, spec: &LaunchSpec, transcript: &mut Transcript) -> Result<(), LaunchError> {
        let start = Instant::now();
        let deadline = start + spec.ready_timeout;
        let mut seen = Vec::<u8>::new();
        let mut line = Vec::<u8>::new();
        loop {
            let chunk = match interrupt::recv_until(&self.output, deadline) {
                Ok((stream, chunk)) => {
                    transcript.record(&format!("{}.{stream}", self.label), Direction::Rx, &chunk);
                    chunk
                }
                Err(Wait::Interrupted) => {
                    let _ = self.kill();
                    return Err(LaunchError::Interrupted);
                }
                Err(Wait::TimedOut) => {
                    let _ = self.kill();
                    return Err(LaunchError::NotReady { waited: start.elapsed(), output: tail(&seen) });
                }
                Err(Wait::Disconnected) => {
                    let status = self.child.wait().map(describe).unwrap_or_else(|e| e.to_string());
                    return Err(LaunchError::Exited { status, output: tail(&seen) });
                }
            };
            seen.extend_from_slice(&chunk);
            if seen.len() > MAX_LINE * 4 {
                seen.drain(..seen.len() - MAX_LINE * 2);
            }
            for &b in &chunk {
                if b != b'\n' {
                    if line.len() < MAX_LINE {
                        line.push(b);
                    }
                    continue;
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                line.clear();
                if let Some(p) = spec.crash.iter().find(|p| p.is_match(&text)) {
                    let _ = self.kill();
                    return Err(LaunchError::Crashed { pattern: p.as_str().into(), output: tail(&seen) });
                }
                if let Some(caps) = spec.ready.captures(&text) {
                    self.ready = spec
                        .ready
                        .capture_names()
                        .flatten()
                        .filter_map(|n| caps.name(n).map(|m| (n.to_string(), m.as_str().to_string())))
                        .collect();
                    transcript
                        .note(&self.label, format!("ready after {:.3}s", start.elapsed().as_secs_f64()));
                    return Ok(());
                }
            }
        }
    }

    /// Moves the process's output that arrived since the last call into the transcript.
    pub fn drain_output(&self, transcript: &mut Transcript) {
        while let Ok((stream, chunk)) = self.output.try_recv() {
            transcript.record(&format!("{}.{stream}", self.label), Direction::Rx, &chunk);
        }
    }

    /// Whether the process is still running (a device that died can be told from one that hangs).
    pub fn exit_status(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(describe)
    }

    /// Hard power-off: SIGKILL, as a pulled plug. Waits for the process to be gone.
    pub fn kill(&mut self) -> io::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill()?;
        }
        self.child.wait().map(|_| ())
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

fn tail(bytes: &[u8]) -> String {
    escape(&bytes[bytes.len().saturating_sub(600)..], true)
}

/// Copies a pipe into the queue in chunks; drops chunks when the queue is full rather than block.
fn forward(pipe: Option<impl Read + Send + 'static>, stream: &'static str, tx: SyncSender<OutputChunk>) {
    let Some(mut pipe) = pipe else { return };
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut dropped = 0usize;
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let mut chunk = buf[..n].to_vec();
                    if dropped > 0 {
                        chunk.splice(0..0, format!("[{dropped} bytes of output dropped]\n").into_bytes());
                    }
                    match tx.try_send((stream, chunk)) {
                        Ok(()) => dropped = 0,
                        Err(mpsc::TrySendError::Full(_)) => dropped += n,
                        Err(mpsc::TrySendError::Disconnected(_)) => return,
                    }
                }
            }
        }
    });
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns on the process-lifetime spawner thread (see the module comment for why).
fn spawn(cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("hilt-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawner thread starts");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    sender
        .lock()
        .map_err(|_| io::Error::other("spawner lock poisoned"))?
        .send((cmd, reply_tx))
        .map_err(|_| io::Error::other("spawner thread is gone"))?;
    reply_rx.recv().map_err(|_| io::Error::other("spawner thread is gone"))?
}
