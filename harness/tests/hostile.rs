//! Devices that misbehave on purpose (the reference device's REFDEV_FAULTS): silent, flooding,
//! printing garbage, crashing, rebooting mid-operation, vanishing, answering too late. For each,
//! hilt finishes the run, its memory stays bounded, the JUnit validates, and the affected checks
//! are ERROR or FAIL with the transcript as evidence — never PASS.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use common::{assert_junit_valid, out_dir, repo_root};

/// A run that no hostile device may push past this peak resident memory.
const MEMORY_BOUND_KB: i64 = 256 * 1024;

struct Outcome {
    code: i32,
    verdicts: BTreeMap<String, (String, String)>,
    peak_kb: i64,
    out: std::path::PathBuf,
}

/// Runs hilt against the reference device with `fault`, measuring its peak memory with wait4.
// The child is reaped by wait4 below, which (unlike Child::wait) returns its resource usage.
#[allow(clippy::zombie_processes)]
fn run_hostile(fault: &str) -> Outcome {
    let out = out_dir(&format!("hostile-{}", fault.replace([':', '='], "-")));
    let child = Command::new(env!("CARGO_BIN_EXE_hilt"))
        .current_dir(repo_root())
        .args(["run", "--suite", "identity", "--out", &out.display().to_string()])
        .env("REFDEV_FAULTS", fault)
        .env_remove("REFDEV_FLAWS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hilt starts");
    let mut status = 0;
    // SAFETY: rusage is plain data filled by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    assert!(libc::WIFEXITED(status), "hilt ended by a signal (a panic or crash) with {fault}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let verdicts = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("id"), (s("verdict"), s("message")))
        })
        .collect();
    assert_junit_valid(&out.join("junit.xml"));
    let o = Outcome { code: libc::WEXITSTATUS(status), verdicts, peak_kb: usage.ru_maxrss, out };
    eprintln!("{fault}: exit {}, peak {} KiB, verdicts {:?}", o.code, o.peak_kb, o.verdicts);
    assert!(o.peak_kb < MEMORY_BOUND_KB, "{fault}: peak memory {} KiB", o.peak_kb);
    // ID-01..ID-05, and ID-12: NOT_APPLICABLE from the target file (the host build has no debug port).
    assert_eq!(o.verdicts.len(), 5, "{fault}: every check gets a verdict");
    o
}

impl Outcome {
    fn verdict(&self, id: &str) -> &str {
        &self.verdicts[id].0
    }

    fn message(&self, id: &str) -> &str {
        &self.verdicts[id].1
    }

    /// The device answered its first four commands: the run header and ID-01 are unaffected, and
    /// every later check is `want` (ERROR or FAIL), with evidence in its transcript.
    fn assert_affected_after_id01(&self, want: &str) {
        assert_eq!(self.verdict("ID-01"), "PASS", "{}", self.message("ID-01"));
        for id in ["ID-02", "ID-03", "ID-05"] {
            assert_eq!(self.verdict(id), want, "{id}: {}", self.message(id));
            assert!(self.out.join(format!("transcripts/{id}.log")).exists());
        }
    }
}

#[test]
fn silent_device() {
    let o = run_hostile("mute-after=0");
    assert_eq!(o.code, 3);
    for id in ["ID-01", "ID-02", "ID-03", "ID-05"] {
        assert_eq!(o.verdict(id), "ERROR", "{id}: {}", o.message(id));
        assert!(o.message(id).contains("no answer"), "{}", o.message(id));
    }
}

#[test]
fn flood_without_newlines() {
    let o = run_hostile("flood-after=4");
    assert_eq!(o.code, 3);
    o.assert_affected_after_id01("ERROR");
    let log = std::fs::read_to_string(o.out.join("transcripts/ID-02.log")).unwrap();
    assert!(log.contains("~~~~~~~~"), "the flood is in the evidence");
}

#[test]
fn binary_garbage() {
    let o = run_hostile("garbage-after=4");
    assert_eq!(o.code, 3);
    o.assert_affected_after_id01("ERROR");
    let log = std::fs::read_to_string(o.out.join("transcripts/ID-02.log")).unwrap();
    assert!(log.contains(r"\x00\x1b[2J") && log.contains("]]>") && log.contains(r"\xef\xbf\xbe"), "{log}");
}

#[test]
fn crash_banner_is_a_device_failure() {
    let o = run_hostile("crash-after=4");
    assert_eq!(o.code, 1);
    assert_eq!(o.verdict("ID-01"), "PASS");
    assert_eq!(o.verdict("ID-02"), "FAIL", "{}", o.message("ID-02"));
    assert!(o.message("ID-02").contains("crash") && o.message("ID-02").contains("HardFault"));
    for id in ["ID-03", "ID-05"] {
        assert_ne!(o.verdict(id), "PASS", "{id}: a crashed, silent device passes nothing");
    }
}

#[test]
fn answers_just_too_late() {
    // The identify steps allow 2 s, other operations 5 s: 5.5 s is late for every one.
    let o = run_hostile("slow-after=4:5500");
    assert_eq!(o.code, 3);
    o.assert_affected_after_id01("ERROR");
}

#[test]
fn reboot_in_the_middle_of_an_operation() {
    let o = run_hostile("reboot-after=4");
    assert_eq!(o.code, 3);
    assert_eq!(o.verdict("ID-02"), "ERROR", "{}", o.message("ID-02"));
    assert!(
        o.message("ID-02").contains("refdev 1.0.0 booting"),
        "the reboot banner is quoted: {}",
        o.message("ID-02")
    );
}

#[test]
fn port_vanishes_mid_operation_and_the_run_goes_on() {
    let o = run_hostile("exit-after=4");
    assert_eq!(o.code, 3);
    assert_eq!(o.verdict("ID-02"), "ERROR", "{}", o.message("ID-02"));
    assert!(o.message("ID-02").contains("channel closed"), "{}", o.message("ID-02"));
    // The next check starts the device again: a vanished device costs one verdict, not the run.
    assert_eq!(o.verdict("ID-03"), "PASS", "{}", o.message("ID-03"));
}
