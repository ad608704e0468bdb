//! Round-trip time of one send/expect operation through hilt's device session, next to a raw
//! serialport write/read loop on the same pseudo-terminal of the same reference device.
//!
//! `cargo bench -p hilt --bench roundtrip` prints both, so the harness's own overhead per operation
//! (template rendering, pattern matching, transcript recording) is visible. Not a test: no timing
//! is asserted anywhere.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hilt::config;
use hilt::device::Dut;

mod common;
use common::{median, time};

const ROUNDS: usize = 2000;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let target = config::load_target(&root.join("targets/refdev.yaml")).unwrap_or_else(|d| panic!("{d}"));
    let state = std::env::temp_dir().join(format!("hilt-bench-{}", std::process::id()));
    let mut dut = Dut::new(Arc::new(target), "unit-a", &state).expect("session");
    dut.set_hilt_exe(env!("CARGO_BIN_EXE_hilt"));

    // Warm up: launch, open the console, first answer.
    dut.op_ok("identify-console", &[]).expect("device answers");
    let hilt_times = time(ROUNDS, || {
        dut.op_ok("identify-console", &[]).expect("identify");
        let _ = dut.take_transcript();
    });
    let console = dut.ready_value("console").expect("console path");
    dut.close_channels();

    let mut port =
        serialport::new(&console, 115200).timeout(Duration::from_secs(2)).open().expect("open pty");
    let mut buf = [0u8; 256];
    let raw_times = time(ROUNDS, || {
        port.write_all(b"id\n").unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"\n") || !got.starts_with(b"ID=") {
            let n = port.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            if got.ends_with(b"\n") && !got.starts_with(b"ID=") {
                got.clear();
            }
        }
    });

    println!("round trip of `id` on the reference device's console ({ROUNDS} rounds each)");
    report("hilt send/expect operation", &hilt_times);
    report("raw serialport write/read", &raw_times);
    let overhead = median(&hilt_times).as_secs_f64() / median(&raw_times).as_secs_f64();
    println!("median ratio hilt/raw: {overhead:.2}");
    let _ = std::fs::remove_dir_all(state);
}

fn report(label: &str, times: &[Duration]) {
    let mut v = times.to_vec();
    v.sort();
    let pct = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
    println!(
        "  {label:<28} median {:>8.1} µs   p90 {:>8.1} µs   p99 {:>8.1} µs",
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.9).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6
    );
}
