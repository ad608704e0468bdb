//! Dumping 1 MiB of target RAM through QEMU's gdbstub: hilt's `GdbRemote::read_memory` next to
//! `gdb-multiarch` (`dump binary memory`) on the same machine.
//!
//! `cargo bench -p hilt --bench gdb_dump` prints MiB/s for both (median of several rounds) and
//! their ratio; gdb-multiarch is timed as a whole process and, to leave out its start-up and
//! connection, also minus a run that dumps 4 bytes. Both dumps are checked byte for byte against
//! the pattern. Not a test: no timing is asserted anywhere. Needs qemu-system-arm and gdb-multiarch.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use hilt::transport::debug::{DebugError, DebugPort};
use hilt::transport::gdb_remote::GdbRemote;

const RAM: u64 = 0x2100_0000;
const DUMP: usize = 1 << 20;
const ROUNDS: usize = 7;
/// A `b .` loop past the dumped region, so the core has something to run between dumps: a
/// Cortex-M without a valid vector table locks up and QEMU 7.2 exits.
const IDLE_LOOP: u64 = DUMP as u64;

struct Qemu {
    child: Child,
    stderr: ChildStderr,
    dir: PathBuf,
    port: u16,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn main() {
    let expected = pattern(DUMP);
    let mut qemu = launch(&expected);
    let mut gdb = connect(&mut qemu);
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

    let out = qemu.dir.join("dump.bin");
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

fn launch(contents: &[u8]) -> Qemu {
    let dir = std::env::temp_dir().join(format!("hilt-gdb-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = std::fs::File::create(dir.join("flash.bin")).expect("RAM file");
    file.set_len(16 << 20).expect("size the RAM file");
    std::os::unix::fs::FileExt::write_all_at(&file, contents, 0).expect("fill the RAM file");
    // b . (Thumb)
    std::os::unix::fs::FileExt::write_all_at(&file, &0xe7feu16.to_le_bytes(), IDLE_LOOP).expect("idle loop");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let mut child = Command::new("qemu-system-arm")
        .args(["-M", "mps2-an385", "-display", "none", "-monitor", "none", "-serial", "null", "-S"])
        .args(["-gdb", &format!("tcp:127.0.0.1:{port}")])
        .args([
            "-object",
            &format!(
                "memory-backend-file,id=mem,size=16M,mem-path={},share=on",
                dir.join("flash.bin").display()
            ),
        ])
        .args(["-machine", "memory-backend=mem"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("launch qemu-system-arm");
    let stderr = child.stderr.take().expect("piped stderr");
    Qemu { child, stderr, dir, port }
}

/// Connects once QEMU listens, pacing the attempts on its stderr (which also ends the wait if it
/// dies), within a deadline.
fn connect(qemu: &mut Qemu) -> GdbRemote {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match GdbRemote::connect("127.0.0.1", qemu.port, Duration::from_secs(2)) {
            Ok(gdb) => return gdb,
            Err(DebugError::Refused(_)) if Instant::now() < deadline => {
                let mut pfd = libc::pollfd { fd: qemu.stderr.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut pfd, 1, 20) } > 0 {
                    let mut log = String::new();
                    let _ = qemu.stderr.read_to_string(&mut log);
                    panic!("QEMU failed to start: {log}");
                }
            }
            Err(e) => panic!("connecting to QEMU's gdbstub: {e}"),
        }
    }
}

/// Vector table at 0 pointing at the idle loop, then a reset through the debug port to take it.
fn start_idle_loop(gdb: &mut GdbRemote) {
    let vectors =
        [(RAM as u32 + 0x0020_0000).to_le_bytes(), (RAM as u32 + IDLE_LOOP as u32 + 1).to_le_bytes()]
            .concat();
    gdb.write_memory(0, &vectors).expect("write the vector table");
    gdb.reset().expect("reset");
}

fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn time(rounds: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}
