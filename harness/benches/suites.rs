//! Wall time of the default suites against the host reference device, next to the time the device
//! itself imposes: its boots (launch to readiness) and its declared waits (lockout windows). The
//! difference is what hilt itself costs. `cargo bench -p hilt --bench suites`; prints figures only.

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
    for entry in std::fs::read_dir(out.join("transcripts")).expect("transcripts").flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            if let Some(s) = seconds_after(line, "ready after ") {
                boots += 1;
                boot_s += s;
            } else if let Some(s) = seconds_after(line, &format!("{WAITED} ")) {
                waits += 1;
                wait_s += s;
            }
        }
    }
    let imposed = boot_s + wait_s;
    println!("default suites (identity, access-lockout, factory-reset) on the host reference device");
    println!("  wall time                         {wall:>8.2} s");
    println!("  device boots       {boots:>4}           {boot_s:>8.2} s");
    println!("  declared waits     {waits:>4}           {wait_s:>8.2} s   (lockout windows)");
    println!("  imposed by the device, in all     {imposed:>8.2} s");
    println!("  ratio wall / imposed              {:>8.2}", wall / imposed);
    println!("  hilt's own time (wall - imposed)  {:>8.2} s", wall - imposed);
    let _ = std::fs::remove_dir_all(out);
}

/// The number of seconds in `line` right after `marker`, written like `2.345s`.
fn seconds_after(line: &str, marker: &str) -> Option<f64> {
    let rest = &line[line.find(marker)? + marker.len()..];
    rest.split('s').next()?.trim().parse().ok()
}
