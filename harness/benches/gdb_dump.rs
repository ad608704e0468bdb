//! Dumping 1 MiB of target RAM through QEMU's gdbstub: hilt's `GdbRemote::read_memory` next to
//! `gdb-multiarch` (`dump binary memory`) on the same machine.
//!
//! `cargo bench -p hilt --bench gdb_dump` prints MiB/s for both (median of several rounds) and
//! their ratio; gdb-multiarch is timed as a whole process and, to leave out its start-up and
//! connection, also minus a run that dumps 4 bytes. Both dumps are checked byte for byte against
//! the pattern. Not a test: no timing is asserted anywhere. Needs qemu-system-arm and gdb-multiarch.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hilt::transport::debug::DebugPort;
use hilt::transport::gdb_remote::GdbRemote;

mod common;
use common::{median, time};

#[path = "../tests/common/qemu_ram.rs"]
mod qemu_ram;
use qemu_ram::{pattern, Qemu, RAM};

const DUMP: usize = 1 << 20;
const ROUNDS: usize = 7;
/// A `b .` loop past the dumped region, so the core has something to run between dumps: a
/// Cortex-M without a valid vector table locks up and QEMU 7.2 exits.
const IDLE_LOOP: u64 = DUMP as u64;

fn main() {
    let expected = pattern(0x2545_f491, DUMP);
    // b . (Thumb)
    let idle_loop = 0xe7feu16.to_le_bytes();
    let mut qemu = Qemu::launch(&[(0, &expected), (IDLE_LOOP, &idle_loop)])
        .expect("qemu-system-arm is not on PATH (apt-get install qemu-system-arm)");
    let mut gdb = qemu.connect();
    start_idle_loop(&mut gdb);
    gdb.halt().expect("halt");

    let mut dump = vec![0u8; DUMP];
    let hilt_times = time(ROUNDS, || {
        dump.fill(0);
        gdb.read_memory(RAM, &mut dump).unwrap_or_else(|e| panic!("read_memory: {e}"));
        assert!(dump == expected, "GdbRemote dump differs from the pattern");
    });
    // One client at a time: gdb-multiarch attaches next.
    gdb.detach().expect("detach");
    drop(gdb);

    let out = qemu.dir().join("dump.bin");
    let gdb_times = time(ROUNDS, || {
        gdb_multiarch(qemu.port, &out, DUMP);
        assert!(std::fs::read(&out).expect("gdb-multiarch dump") == expected, "gdb-multiarch dump differs");
    });
    let startup_times = time(ROUNDS, || gdb_multiarch(qemu.port, &out, 4));

    let mib = DUMP as f64 / (1024.0 * 1024.0);
    let hilt = median(&hilt_times);
    let whole = median(&gdb_times);
    let startup = median(&startup_times);
    let transfer = whole.saturating_sub(startup);
    println!("dump of {} KiB through QEMU's gdbstub ({ROUNDS} rounds each, medians)", DUMP / 1024);
    report("hilt GdbRemote::read_memory", hilt, mib);
    report("gdb-multiarch, whole process", whole, mib);
    println!("  gdb-multiarch 4-byte dump (start-up, connect): {:9.1} ms", startup.as_secs_f64() * 1e3);
    report("gdb-multiarch, minus start-up", transfer, mib);
    println!(
        "speed ratio hilt / gdb-multiarch: {:.2} (whole process), {:.2} (minus start-up)",
        ratio(whole, hilt),
        ratio(transfer, hilt)
    );
}

fn report(label: &str, t: Duration, mib: f64) {
    println!("  {label:<45} {:9.1} ms {:8.2} MiB/s", t.as_secs_f64() * 1e3, mib / t.as_secs_f64());
}

/// How many times faster `fast` is than `slow`.
fn ratio(slow: Duration, fast: Duration) -> f64 {
    slow.as_secs_f64() / fast.as_secs_f64()
}

fn gdb_multiarch(port: u16, out: &Path, len: usize) {
    let dump = format!("dump binary memory {} {RAM:#x} {:#x}", out.display(), RAM + len as u64);
    let status = Command::new("gdb-multiarch")
        .args(["-batch", "-nx", "-ex", "set architecture arm"])
        .args(["-ex", &format!("target remote 127.0.0.1:{port}"), "-ex", &dump])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run gdb-multiarch (apt-get install gdb-multiarch)");
    assert!(status.success(), "gdb-multiarch failed: {status}");
}

/// Vector table at 0 pointing at the idle loop, then a reset through the debug port to take it.
fn start_idle_loop(gdb: &mut GdbRemote) {
    let vectors =
        [(RAM as u32 + 0x0020_0000).to_le_bytes(), (RAM as u32 + IDLE_LOOP as u32 + 1).to_le_bytes()]
            .concat();
    gdb.write_memory(0, &vectors).expect("write the vector table");
    gdb.reset().expect("reset");
}
