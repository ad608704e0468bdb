//! Wall time of the default suites, on the host reference device and on the same device logic as
//! firmware under QEMU, next to the time the device itself imposes: its boots (launch to
//! readiness), its declared waits (lockout windows), and the time it takes to answer (from a
//! command sent to its first answer byte: flash erases and writes at NOR-flash speed, image checks).
//! The difference is what hilt itself costs. Also launch-to-ready: from starting the device to its
//! first answer on the console. `cargo bench -p hilt --bench suites`; prints figures only. The QEMU
//! half needs `ci/firmware.sh` to have run (it says so and skips otherwise).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use hilt::device::operation::WAITED;
use hilt::device::Dut;

// The tests' helpers: whether QEMU and the firmware are here (one place decides).
#[path = "../tests/common/mod.rs"]
mod test_common;

const TARGETS: [(&str, &str); 2] = [
    ("host reference device", "targets/refdev.yaml"),
    ("reference firmware under QEMU (mps2-an385)", test_common::QEMU_TARGET),
];
/// Launches per target for the launch-to-ready figures.
const LAUNCHES: usize = 5;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    // Target files name the firmware relative to the repository root, as for a user there.
    std::env::set_current_dir(&root).expect("cd to the repository root");
    for (label, target) in TARGETS {
        if target.contains("qemu") && !test_common::qemu_ready() {
            println!("{label}: skipped (needs qemu-system-arm and the firmware: run ci/firmware.sh)");
            continue;
        }
        println!("{label} ({target})");
        launch_to_ready(target);
        suites(target);
        println!();
    }
}

/// Starts the device LAUNCHES times: time until hilt counts it started (its process's readiness
/// line, and its boot banner where the target names one), and until it answers a first command.
fn launch_to_ready(target_file: &str) {
    let target = Arc::new(hilt::config::load_target(Path::new(target_file)).expect("target file loads"));
    let dir = std::env::temp_dir().join(format!("hilt-bench-launch-{}", std::process::id()));
    let (mut ready, mut answered) = (Vec::new(), Vec::new());
    for i in 0..LAUNCHES {
        let mut dut = Dut::new(target.clone(), "bench", &dir.join(i.to_string())).expect("device session");
        dut.set_hilt_exe(env!("CARGO_BIN_EXE_hilt"));
        let start = Instant::now();
        dut.ensure_running().expect("device launches");
        ready.push(start.elapsed().as_secs_f64());
        dut.reported_state().expect("device answers");
        answered.push(start.elapsed().as_secs_f64());
        dut.release();
    }
    let _ = std::fs::remove_dir_all(dir);
    println!(
        "  launch to ready                   {:>8.3} s   (median of {LAUNCHES}; process up, firmware booted)",
        median(&mut ready)
    );
    println!(
        "  launch to first answer            {:>8.3} s   (median of {LAUNCHES}; first boot of a blank flash)",
        median(&mut answered)
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The default suites against `target`: wall time and what the device imposed.
fn suites(target: &str) {
    let out = std::env::temp_dir().join(format!("hilt-bench-suites-{}", std::process::id()));
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_hilt"))
        .args(["run", "--target", target, "--out", &out.display().to_string()])
        .env_remove("REFDEV_FLAWS")
        .env_remove("REFDEV_FAULTS")
        .output()
        .expect("hilt runs");
    let wall = start.elapsed().as_secs_f64();
    assert!(
        status.status.success(),
        "the conformant run must pass:\n{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let (mut boots, mut boot_s, mut waits, mut wait_s) = (0, 0.0, 0, 0.0);
    let (mut answers, mut answer_s) = (0, 0.0);
    for entry in std::fs::read_dir(out.join("transcripts")).expect("transcripts").flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        // When the last command went out on each channel and has not been answered yet.
        let mut pending: std::collections::HashMap<String, f64> = Default::default();
        for line in text.lines() {
            if let Some(s) = seconds_after(line, "ready after ") {
                boots += 1;
                boot_s += s;
            } else if let Some(s) = seconds_after(line, &format!("{WAITED} ")) {
                waits += 1;
                wait_s += s;
            } else if line.contains("power off") {
                // A command cut off by a power cut was never answered.
                pending.clear();
            } else if let Some((at, channel, dir)) = traffic(line) {
                match dir {
                    "TX" => {
                        pending.entry(channel).or_insert(at);
                    }
                    _ => {
                        if let Some(sent) = pending.remove(&channel) {
                            answers += 1;
                            answer_s += at - sent;
                        }
                    }
                }
            }
        }
    }
    let imposed = boot_s + wait_s + answer_s;
    println!("  default suites (identity, software-update, access-lockout, factory-reset)");
    println!("  wall time                         {wall:>8.2} s");
    println!("  device boots       {boots:>4}           {boot_s:>8.2} s");
    println!("  declared waits     {waits:>4}           {wait_s:>8.2} s   (lockout windows)");
    println!("  device answering   {answers:>4}           {answer_s:>8.2} s   (command to first answer: flash at NOR speed)");
    println!("  imposed by the device, in all     {imposed:>8.2} s");
    println!("  ratio wall / imposed              {:>8.2}", wall / imposed);
    println!("  hilt's own time (wall - imposed)  {:>8.2} s", wall - imposed);
    let _ = std::fs::remove_dir_all(out);
}

/// A transcript traffic line: `+    0.118s console    TX "..."` -> (seconds, channel, TX|RX).
fn traffic(line: &str) -> Option<(f64, String, &str)> {
    let mut words = line.trim_start_matches('+').split_whitespace();
    let at = words.next()?.strip_suffix('s')?.parse().ok()?;
    let channel = words.next()?.to_string();
    let dir = words.next().filter(|d| *d == "TX" || *d == "RX")?;
    Some((at, channel, dir))
}

/// The number of seconds in `line` right after `marker`, written like `2.345s`.
fn seconds_after(line: &str, marker: &str) -> Option<f64> {
    let rest = &line[line.find(marker)? + marker.len()..];
    rest.split('s').next()?.trim().parse().ok()
}
