//! The run loop. libtest-mimic selects and lists trials and prints one line per check; each trial
//! runs its check on the one device session, under a lock, and records the result before returning.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use libtest_mimic::{Arguments, Failed, Trial};

use super::exit;
use super::plan::Planned;
use super::summary;
use crate::checks::{Conclusion, Context, Params};
use crate::config::{Suite, Target};
use crate::device::{DeviceError, Dut};
use crate::interrupt;
use crate::report::verdict::{CheckResult, RunInfo, Verdict};
use crate::report::{NotRun, ResultsWriter};

pub struct RunOptions {
    pub out_dir: PathBuf,
    pub filters: Vec<String>,
    pub skip: Vec<String>,
    pub exact: bool,
    pub list: bool,
}

struct Session {
    dut: Dut,
    writer: ResultsWriter,
    /// Checks a stop (SIGINT, SIGTERM) kept from running or from finishing.
    not_run: Vec<NotRun>,
}

/// Runs `planned` against `target` and returns the process exit code.
pub fn run(target: Target, suites: &[Suite], planned: Vec<Planned>, opts: &RunOptions) -> i32 {
    let selected: Vec<Planned> = planned.into_iter().filter(|p| selected(p, opts)).collect();
    let mut args =
        Arguments { exact: opts.exact, list: opts.list, test_threads: Some(1), ..Arguments::default() };
    if opts.list {
        let trials = selected.iter().map(|p| trial(p, || Ok(()))).collect();
        let _ = libtest_mimic::run(&args, trials);
        return exit::OK;
    }
    args.list = false;

    let target = Arc::new(target);
    let devices = opts.out_dir.join("devices");
    let mut dut = match Dut::new(target.clone(), "unit-a", &devices.join("unit-a")) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hilt: {e}");
            return exit::USAGE;
        }
    };
    // Before anything is written: a second run on the same device must not touch its results.
    if let Err(e) = dut.claim() {
        eprintln!("hilt: {e}");
        return exit::ERROR;
    }
    // A launched reference device starts as a new unit each run: its flash lives here.
    if target.launch.is_some() {
        let _ = std::fs::remove_dir_all(&devices);
    }
    let info = RunInfo {
        target_name: target.name.clone(),
        target_file: target.file.display().to_string(),
        device_id: None,
        firmware_version: None,
        hilt_version: env!("CARGO_PKG_VERSION").to_string(),
        started: SystemTime::now(),
        suites: suites.iter().map(|s| s.name.clone()).collect(),
    };
    let inputs: Vec<PathBuf> =
        std::iter::once(target.file.clone()).chain(suites.iter().map(|s| s.file.clone())).collect();
    let writer = match ResultsWriter::create(&opts.out_dir, info)
        .and_then(|mut w| w.set_inputs(&inputs).map(|()| w))
    {
        Ok(w) => w,
        Err(e) => {
            eprintln!("hilt: cannot write results to {}: {e}", opts.out_dir.display());
            return exit::USAGE;
        }
    };
    let session = Arc::new(Mutex::new(Session { dut, writer, not_run: Vec::new() }));
    identify(&session);

    let trials = selected
        .iter()
        .map(|p| {
            let p = p.clone();
            let session = session.clone();
            if let Some(reason) = &p.not_applicable {
                record(
                    &session,
                    &p,
                    Conclusion { verdict: Verdict::NotApplicable, message: reason.clone() },
                    vec![],
                    Instant::now(),
                    SystemTime::now(),
                );
            }
            trial(&p.clone(), move || run_one(&session, &p))
        })
        .collect();
    // Verdicts, not libtest's pass/fail, decide the exit code (see summary::exit_code).
    let _ = libtest_mimic::run(&args, trials);

    let mut session = session.lock().unwrap_or_else(|e| e.into_inner());
    // Power off launched devices and close every channel before the results are final.
    session.dut.release();
    let not_run = std::mem::take(&mut session.not_run);
    if let Err(e) = session.writer.finish(&not_run) {
        eprintln!("hilt: cannot write final results: {e}");
    }
    let code = summary::print(&session.writer, &opts.out_dir);
    match interrupt::requested() {
        Some(signal) => {
            println!("hilt: stopped by signal {signal}; {} check(s) not run", not_run.len());
            128 + signal
        }
        None => code,
    }
}

fn selected(p: &Planned, opts: &RunOptions) -> bool {
    let name = p.name();
    let hit = |f: &String| {
        if opts.exact {
            name == *f || p.def.id == f
        } else {
            name.contains(f.as_str())
        }
    };
    (opts.filters.is_empty() || opts.filters.iter().any(hit)) && !opts.skip.iter().any(hit)
}

/// The libtest-mimic trial for `p`; NOT_APPLICABLE checks are "ignored" there (and recorded by us).
fn trial(p: &Planned, body: impl FnOnce() -> Result<(), Failed> + Send + 'static) -> Trial {
    Trial::test(p.name(), body).with_kind(p.capability.clone()).with_ignored_flag(p.not_applicable.is_some())
}

/// Reads the device's identifier and firmware version for the report header. Failures are left to
/// the checks to report; what this exchange recorded belongs to no check.
fn identify(session: &Arc<Mutex<Session>>) {
    let mut s = session.lock().unwrap_or_else(|e| e.into_inner());
    let target = s.dut.target().clone();
    if let Some(op) = target.capabilities.device_identity.as_ref().and_then(|c| c.read.first()) {
        s.writer.info_mut().device_id = crate::checks::identity::read_id(&mut s.dut, op).ok();
    }
    if let Some(op) = &target.lifecycle.version {
        s.writer.info_mut().firmware_version =
            s.dut.op_ok(op, &[]).ok().and_then(|m| m.captures.get("version").cloned());
    }
    let _ = s.dut.take_transcript();
}

fn run_one(session: &Arc<Mutex<Session>>, p: &Planned) -> Result<(), Failed> {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut s = session.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(signal) = interrupt::requested() {
        return Err(not_run(&mut s, p, format!("the run was stopped by signal {signal} before it started")));
    }
    let params = Params::new(p.def.params, &p.params);
    let mut ctx = Context { dut: &mut s.dut, params: &params, measurements: Vec::new() };
    let outcome = ctx
        .dut
        .ensure_state(p.def.state)
        .map_err(|e| (e, true))
        .and_then(|()| (p.def.run)(&mut ctx).map_err(|e| (e, false)));
    let measurements = std::mem::take(&mut ctx.measurements);
    let conclusion = match outcome {
        Ok(c) => c,
        Err((e, in_setup)) => conclusion_from_error(&e, in_setup),
    };
    // A check cut off by a stop has no verdict: its ERROR would be the stop's, not the device's.
    if let (Some(signal), Verdict::Error) = (interrupt::requested(), conclusion.verdict) {
        let _ = s.dut.take_transcript();
        return Err(not_run(&mut s, p, format!("the run was stopped by signal {signal} while it ran")));
    }
    drop(s);
    let verdict = conclusion.verdict;
    let message = conclusion.message.clone();
    record(session, p, conclusion, measurements, start, started_at);
    match verdict {
        Verdict::Pass | Verdict::NotApplicable => Ok(()),
        v => Err(format!("{v}: {message}").into()),
    }
}

fn not_run(s: &mut Session, p: &Planned, reason: String) -> Failed {
    let failed = Failed::from(format!("NOT RUN: {reason}"));
    s.not_run.push(NotRun {
        id: p.def.id.to_string(),
        title: p.title.clone(),
        capability: p.capability.clone(),
        requirements: p.requirements.clone(),
        reason,
    });
    failed
}

/// A device error is ERROR (the harness could not decide), unless the device printed a crash.
fn conclusion_from_error(e: &DeviceError, in_setup: bool) -> Conclusion {
    if e.is_device_crash() {
        return Conclusion::fail(format!("expected the device to keep running; {e}"));
    }
    let when = if in_setup { "while bringing the device to the state the check needs: " } else { "" };
    Conclusion { verdict: Verdict::Error, message: format!("{when}{e}") }
}

fn record(
    session: &Arc<Mutex<Session>>,
    p: &Planned,
    c: Conclusion,
    measurements: Vec<crate::report::verdict::Measurement>,
    start: Instant,
    started: SystemTime,
) {
    let mut s = session.lock().unwrap_or_else(|e| e.into_inner());
    let mut transcript = s.dut.take_transcript();
    transcript.note("hilt", format!("verdict {}: {}", c.verdict, c.message));
    let result = CheckResult {
        id: p.def.id.to_string(),
        title: p.title.clone(),
        capability: p.capability.clone(),
        requirements: p.requirements.clone(),
        verdict: c.verdict,
        message: c.message,
        measurements,
        started,
        duration: start.elapsed(),
        transcript,
    };
    if let Err(e) = s.writer.record(result) {
        eprintln!("hilt: cannot write results: {e}");
    }
}
