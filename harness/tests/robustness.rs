//! A run that is interrupted, killed, or started twice on one device: results stay valid and
//! complete so far, launched devices never outlive hilt, and a second run refuses at once.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{assert_junit_valid, out_dir, qemu_ready, repo_root, QEMU_TARGET};

/// Starts `hilt run --out OUT` on a device that goes silent after ID-01, and returns once hilt has
/// reported ID-01's verdict (read from its output: an event, not a guess at timing).
fn start_slow_run(out: &Path) -> Child {
    start_run(out, &["--suite", "identity"], &[("REFDEV_FAULTS", "mute-after=4")], "ID-01")
}

/// Starts `hilt run --out OUT ARGS` with `env` and returns once hilt has reported check `first`.
fn start_run(out: &Path, args: &[&str], env: &[(&str, &str)], first: &str) -> Child {
    let out = out.display().to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_hilt"));
    command.current_dir(repo_root()).args(["run", "--out", &out]).args(args).env_remove("REFDEV_FLAWS");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("hilt starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().unwrap_or_else(|| panic!("hilt reports {first} before it ends")).unwrap();
        if line.contains(first) && line.ends_with("ok") {
            break;
        }
    }
    // Keep draining so hilt never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

/// Processes whose command line mentions `needle` (the launched devices of one run).
fn processes_mentioning(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Waits (with poll(2) on a pidfd, so no sleeping) until `pid` has exited; false if it outlives `limit`.
fn exits_within(pid: i32, limit: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags; the result is a descriptor we close below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return true; // already gone
    }
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd; then close our descriptor.
    let rc = unsafe { libc::poll(&mut pfd, 1, limit.as_millis() as i32) };
    unsafe { libc::close(fd) };
    rc > 0
}

fn verdicts(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

#[test]
fn sigint_stops_the_run_powers_off_the_device_and_marks_the_rest_not_run() {
    stop_with(libc::SIGINT, "sigint");
}

#[test]
fn sigterm_stops_the_run_the_same_way() {
    stop_with(libc::SIGTERM, "sigterm");
}

fn stop_with(signal: i32, name: &str) {
    let out = out_dir(name);
    let mut hilt = start_slow_run(&out);
    let devices = processes_mentioning(&out.display().to_string());
    assert!(!devices.is_empty(), "the launched device is running");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(hilt.id() as i32, signal) };
    let status = hilt.wait().unwrap();
    assert_eq!(status.code(), Some(128 + signal));
    for pid in devices {
        assert!(exits_within(pid, Duration::ZERO), "device pid {pid} was left running");
    }
    assert_junit_valid(&out.join("junit.xml"));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("NOT RUN"), "{junit}");
    let json = verdicts(&out);
    // ID-12 is decided from the target file before anything runs (no debug port: NOT_APPLICABLE).
    let ran: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] != "NOT_APPLICABLE")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["ID-01"], "only ID-01 finished: {json}");
    assert_eq!(json["not_run"].as_array().map_or(0, Vec::len), 3, "{json}");
}

#[test]
fn sigkill_leaves_valid_results_and_takes_the_devices_with_it() {
    let out = out_dir("sigkill");
    let mut hilt = start_slow_run(&out);
    let devices = processes_mentioning(&out.display().to_string());
    assert!(!devices.is_empty(), "the launched device is running");
    hilt.kill().unwrap();
    hilt.wait().unwrap();
    for pid in devices {
        assert!(exits_within(pid, Duration::from_secs(10)), "device pid {pid} outlived a SIGKILLed hilt");
    }
    assert_junit_valid(&out.join("junit.xml"));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("ID-01 one identifier"), "completed checks are listed:\n{junit}");
}

#[test]
fn a_second_run_on_the_same_device_refuses_at_once_naming_the_holder() {
    let out = out_dir("locked");
    let mut first = start_slow_run(&out);
    let second = Command::new(env!("CARGO_BIN_EXE_hilt"))
        .current_dir(repo_root())
        .args(["run", "--out", &out.display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("in use by another hilt run") && stderr.contains(&format!("pid {}", first.id())),
        "{stderr}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The killed run's lock is stale now: the next run takes it over.
    let third = Command::new(env!("CARGO_BIN_EXE_hilt"))
        .current_dir(repo_root())
        .args(["run", "--out", &out.display().to_string(), "ID-01"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert_eq!(third.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("took over the lock"), "{stderr}");
}

/// QEMU dies with hilt too: powered off in order on SIGINT, and through PR_SET_PDEATHSIG (which the
/// launch's `sh -c exec qemu-system-arm` keeps) when hilt itself is SIGKILLed.
#[test]
fn qemu_never_outlives_hilt() {
    if !qemu_ready() {
        return;
    }
    for (signal, name) in [(libc::SIGINT, "qemu-sigint"), (libc::SIGKILL, "qemu-sigkill")] {
        let out = out_dir(name);
        let mut hilt = start_run(&out, &["--target", QEMU_TARGET, "--suite", "access-lockout"], &[], "LA-02");
        let devices = processes_mentioning(&out.display().to_string());
        assert!(!devices.is_empty(), "{name}: QEMU is running");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(hilt.id() as i32, signal) };
        hilt.wait().unwrap();
        for pid in devices {
            assert!(exits_within(pid, Duration::from_secs(10)), "{name}: QEMU pid {pid} outlived hilt");
        }
        assert_junit_valid(&out.join("junit.xml"));
    }
}
