//! Wall time of the default suites against the host reference device, next to the time the device
//! itself imposes: its boots (launch to readiness), its declared waits (lockout windows), and the
//! time it takes to answer (from a command sent to its first answer byte: flash erases and writes
//! at NOR-flash speed, image checks). The difference is what hilt itself costs.
//! `cargo bench -p hilt --bench suites`; prints figures only.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use hilt::device::operation::WAITED;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let out = std::env::temp_dir().join(format!("hilt-bench-suites-{}", std::process::id()));
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_hilt"))
        .current_dir(&root)
        .args(["run", "--out", &out.display().to_string()])
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
    println!("default suites (identity, software-update, access-lockout, factory-reset) on the host reference device");
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
