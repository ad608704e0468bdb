//! The GDB remote debug port against QEMU's real gdbstub (`qemu-system-arm -M mps2-an385`).
//!
//! The machine's 16 MiB of RAM at 0x21000000 is a host file mapped shared, so each test can check
//! both directions without trusting the debug port: bytes put into the file before launch must be
//! read through it, and bytes written through it must appear in the file. A tiny program in that
//! RAM counts in a word of it, which shows from outside whether the core runs or is halted.
//!
//! Without `qemu-system-arm` on PATH the QEMU tests say why and pass, unless HILT_REQUIRE_QEMU=1
//! (CI), where that is a failure. The tests with a fake server need no QEMU.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use hilt::transport::debug::{DebugError, DebugPort, FlashImage};
use hilt::transport::gdb_remote::GdbRemote;

#[path = "common/qemu_ram.rs"]
mod qemu_ram;
use qemu_ram::{pattern, Qemu, RAM};

/// Where the counting program sits in RAM, and the word it counts in.
const PROGRAM: u64 = 0x100;
const COUNTER: u64 = 0x200;

/// Launches QEMU with `contents` in its RAM file; `None` (after saying why) when QEMU is not
/// installed and not required.
fn launch(contents: &[(u64, &[u8])]) -> Option<Qemu> {
    let qemu = Qemu::launch(contents);
    if qemu.is_none() {
        if std::env::var("HILT_REQUIRE_QEMU").as_deref() == Ok("1") {
            panic!("qemu-system-arm is not on PATH, and HILT_REQUIRE_QEMU=1 requires these tests to run");
        }
        eprintln!(
            "skipped: qemu-system-arm is not on PATH (install Debian's qemu-system-arm; \
             HILT_REQUIRE_QEMU=1 makes this a failure)"
        );
    }
    qemu
}

/// What these tests read from outside the debug port: the RAM file and QEMU's life.
impl Qemu {
    /// Whether QEMU is still running, waiting up to `timeout` for it to exit.
    fn exits_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.watch(Duration::from_millis(50)).is_err() {
                return true;
            }
        }
        false
    }

    /// Bytes of RAM as the host file holds them.
    fn file_bytes(&self, offset: u64, len: usize) -> Vec<u8> {
        let file = std::fs::File::open(self.dir().join("flash.bin")).expect("RAM file");
        let mut buf = vec![0u8; len];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut buf, offset).expect("read RAM file");
        buf
    }

    fn counter(&self) -> u32 {
        let bytes = self.file_bytes(COUNTER, 4);
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    /// Whether the counting program advances within a few seconds (the core runs).
    fn counts(&mut self) -> bool {
        let start = self.counter();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            self.watch(Duration::from_millis(5)).unwrap_or_else(|e| panic!("{e}"));
            if self.counter() != start {
                return true;
            }
        }
        false
    }

    /// Whether the counter stays put over 100 ms (the core is halted).
    fn stands_still(&mut self) -> bool {
        let start = self.counter();
        self.watch(Duration::from_millis(100)).unwrap_or_else(|e| panic!("{e}"));
        self.counter() == start
    }
}

/// Puts a vector table at 0 (SP, then reset to the Thumb code) and a program in RAM that
/// increments the word at COUNTER forever, then resets the machine through the debug port so the
/// core starts it. Without a valid vector table a running Cortex-M locks up and QEMU 7.2 exits.
fn start_counting(gdb: &mut GdbRemote) {
    let vectors =
        [(RAM as u32 + 0x1000).to_le_bytes(), (RAM as u32 + PROGRAM as u32 + 1).to_le_bytes()].concat();
    // ldr r0, [pc, #8]; loop: ldr r1, [r0]; adds r1, #1; str r1, [r0]; b loop; nop; .word COUNTER
    let code = [0x4802u16, 0x6801, 0x3101, 0x6001, 0xe7fb, 0xbf00];
    let mut program: Vec<u8> = code.iter().flat_map(|op| op.to_le_bytes()).collect();
    program.extend_from_slice(&(RAM as u32 + COUNTER as u32).to_le_bytes());
    gdb.write_memory(0, &vectors).expect("write the vector table");
    gdb.write_memory(RAM + PROGRAM, &program).expect("write the program");
    gdb.write_memory(RAM + COUNTER, &[0; 4]).expect("clear the counter");
    gdb.reset().expect("reset through monitor system_reset");
}

#[test]
fn reads_a_pattern_written_before_launch_across_many_packets() {
    let expected = pattern(0x5eed, 64 * 1024);
    let Some(mut qemu) = launch(&[(0x10000, &expected)]) else { return };
    let mut gdb = qemu.connect();
    assert_eq!(gdb.describe(), format!("gdb-remote 127.0.0.1:{}", qemu.port));

    let mut got = vec![0u8; expected.len()];
    gdb.read_memory(RAM + 0x10000, &mut got).expect("read 64 KiB");
    assert!(got == expected, "64 KiB read through the debug port differs from the RAM file");

    // An odd start and length straddling packet boundaries.
    let mut odd = vec![0u8; 5001];
    gdb.read_memory(RAM + 0x10003, &mut odd).expect("read 5001 bytes");
    assert!(odd[..] == expected[3..5004], "unaligned read differs from the RAM file");
}

#[test]
fn writes_land_in_ram_and_read_back() {
    let Some(mut qemu) = launch(&[]) else { return };
    let mut gdb = qemu.connect();
    // One byte, odd sizes at odd addresses, and sizes beyond QEMU's 4096-byte PacketSize.
    for (i, (offset, len)) in
        [(0x20001u64, 1usize), (0x20011, 3), (0x20103, 2047), (0x21001, 5000), (0x30000, 9000)]
            .into_iter()
            .enumerate()
    {
        let data = pattern(i as u32 + 7, len);
        gdb.write_memory(RAM + offset, &data).unwrap_or_else(|e| panic!("write {len} bytes: {e}"));
        assert!(
            qemu.file_bytes(offset, len) == data,
            "{len} bytes written at {offset:#x} are not in the RAM file"
        );
        let mut back = vec![0u8; len];
        gdb.read_memory(RAM + offset, &mut back).unwrap_or_else(|e| panic!("read back {len} bytes: {e}"));
        assert!(back == data, "{len} bytes at {offset:#x} read back differently");
    }
    // Neighbours untouched.
    assert_eq!(qemu.file_bytes(0x20000, 1), [0]);
    assert_eq!(qemu.file_bytes(0x20002, 1), [0]);
}

#[test]
fn unmapped_memory_is_refused() {
    let Some(mut qemu) = launch(&[]) else { return };
    let mut gdb = qemu.connect();
    let mut buf = [0u8; 16];
    match gdb.read_memory(0xF000_0000, &mut buf) {
        Err(DebugError::Refused(m)) => assert!(m.contains("0xf0000000") && m.contains("E14"), "message: {m}"),
        other => panic!("expected Refused for unmapped memory, got {other:?}"),
    }
    // The refusal is an answer, not a broken session: the port still works.
    let mut ram = [0xffu8; 4];
    gdb.read_memory(RAM, &mut ram).expect("read after a refusal");
    assert_eq!(ram, [0; 4]);
    let image = FlashImage::Bin { path: "fw.bin".into(), address: 0 };
    assert!(matches!(gdb.flash(&image), Err(DebugError::Unsupported(m)) if m.contains("write_memory")));
}

#[test]
fn halt_resume_halt_round_trip() {
    let Some(mut qemu) = launch(&[]) else { return };
    let mut gdb = qemu.connect();
    assert!(qemu.stands_still(), "the core runs right after connect; it must be halted on attach");
    start_counting(&mut gdb);
    assert!(qemu.counts(), "the core does not run after reset");

    gdb.halt().expect("halt");
    assert!(qemu.stands_still(), "the core still runs after halt");
    let mut word = [0u8; 4];
    gdb.read_memory(RAM + COUNTER, &mut word).expect("read the counter");
    assert_eq!(u32::from_le_bytes(word), qemu.counter(), "the halted counter differs between port and file");

    gdb.resume().expect("resume");
    assert!(qemu.counts(), "the core does not run after resume");
    // Reading while it runs halts it briefly and lets it run again.
    gdb.read_memory(RAM + COUNTER, &mut word).expect("read while running");
    assert!(qemu.counts(), "the core stays halted after a read while running");

    gdb.halt().expect("halt again");
    assert!(qemu.stands_still(), "the core still runs after the second halt");
}

#[test]
fn detach_leaves_qemu_running_and_a_new_attach_halts_it() {
    let Some(mut qemu) = launch(&[]) else { return };
    let mut gdb = qemu.connect();
    start_counting(&mut gdb);
    gdb.halt().expect("halt");
    gdb.detach().expect("detach");
    assert!(qemu.counts(), "the core does not run after detach");
    assert!(qemu.watch(Duration::ZERO).is_ok(), "QEMU exited after detach");
    match gdb.halt() {
        Err(DebugError::Io(m)) => assert!(m.contains("already detached"), "message: {m}"),
        other => panic!("expected Io after detach, got {other:?}"),
    }
    drop(gdb);

    let gdb = qemu.connect();
    assert!(qemu.stands_still(), "the core runs after a new connect; it must be halted on attach");
    gdb.kill().expect("kill");
    assert!(qemu.exits_within(Duration::from_secs(5)), "QEMU still runs after `k`");
}

#[test]
fn nothing_listening_is_refused() {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    match GdbRemote::connect("127.0.0.1", port, Duration::from_secs(2)) {
        Err(DebugError::Refused(m)) => {
            assert_eq!(m, format!("no debug server at 127.0.0.1:{port} (connection refused)"))
        }
        Err(e) => panic!("expected Refused, got {e:?}"),
        Ok(_) => panic!("expected Refused, got a connection"),
    }
}

/// A one-connection server that reads the first packet, answers `reply`, then closes (after the
/// client does if `linger`, so the client's replies do not turn the close into a reset).
fn fake_server(reply: &'static [u8], linger: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut request = [0u8; 256];
        let _ = conn.read(&mut request);
        let _ = conn.write_all(reply);
        if linger {
            let _ = std::io::copy(&mut conn, &mut std::io::sink());
        }
    });
    port
}

fn connect_error(port: u16) -> String {
    match GdbRemote::connect("127.0.0.1", port, Duration::from_secs(2)) {
        Err(DebugError::Io(m)) => m,
        Err(e) => panic!("expected Io, got {e:?}"),
        Ok(_) => panic!("expected Io, got a session"),
    }
}

#[test]
fn server_hanging_up_mid_packet_is_io() {
    let m = connect_error(fake_server(b"+$PacketSize=10", false));
    assert!(m.contains("connection lost"), "message: {m}");
}

#[test]
fn garbage_instead_of_a_packet_is_io() {
    let m = connect_error(fake_server(b"+hello\x01#00", true));
    assert!(m.contains("expected a packet ($…), got `h`"), "message: {m}");
}

#[test]
fn replies_with_bad_checksums_are_io_after_retries() {
    let m = connect_error(fake_server(b"+$OK#00$OK#00$OK#00$OK#00", true));
    assert!(m.contains("bad checksums"), "message: {m}");
}
