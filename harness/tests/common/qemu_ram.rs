//! A QEMU `mps2-an385` machine whose 16 MiB of RAM at 0x21000000 is a host file mapped shared,
//! with its gdbstub on a free loopback port: shared by `tests/gdb_remote.rs` and
//! `benches/gdb_dump.rs`, which include this file with `#[path]`.

use std::io::Read;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hilt::transport::debug::DebugError;
use hilt::transport::gdb_remote::GdbRemote;

/// Where the machine's RAM starts, and its size (the size of the RAM file).
pub const RAM: u64 = 0x2100_0000;
pub const RAM_SIZE: u64 = 16 << 20;

/// A QEMU machine with its gdbstub, stopped at launch (-S), killed when dropped.
pub struct Qemu {
    child: Child,
    stderr: ChildStderr,
    log: Vec<u8>,
    dir: PathBuf,
    /// The gdbstub's port on 127.0.0.1.
    pub port: u16,
}

impl Qemu {
    /// Launches QEMU with `contents` placed in its RAM file (offset, bytes); `None` when
    /// `qemu-system-arm` is not on PATH (what to make of that is the caller's to say).
    pub fn launch(contents: &[(u64, &[u8])]) -> Option<Qemu> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        if !std::env::split_paths(&path).any(|dir| dir.join("qemu-system-arm").is_file()) {
            return None;
        }
        static LAUNCHES: AtomicUsize = AtomicUsize::new(0);
        let n = LAUNCHES.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("hilt-qemu-ram-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = std::fs::File::create(dir.join("flash.bin")).expect("RAM file");
        file.set_len(RAM_SIZE).expect("size the RAM file");
        for (offset, bytes) in contents {
            std::os::unix::fs::FileExt::write_all_at(&file, bytes, *offset).expect("fill the RAM file");
        }
        // Picked free now; QEMU binds it a moment later.
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
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
        Some(Qemu { child, stderr, log: Vec::new(), dir, port })
    }

    /// A scratch folder of this machine's own (it holds the RAM file, `flash.bin`), removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Connects once the gdbstub listens: refused while QEMU starts, so try again, pacing each
    /// attempt on QEMU's stderr (which also reports at once if QEMU dies), within 20 s.
    pub fn connect(&mut self) -> GdbRemote {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match GdbRemote::connect("127.0.0.1", self.port, Duration::from_secs(2)) {
                Ok(gdb) => return gdb,
                Err(DebugError::Refused(why)) if Instant::now() < deadline => {
                    self.watch(Duration::from_millis(20)).unwrap_or_else(|e| panic!("{e} (connect: {why})"))
                }
                Err(e) => panic!("connecting to QEMU's gdbstub on port {}: {e}", self.port),
            }
        }
    }

    /// Waits up to `timeout` on QEMU's stderr: returns early on output, and fails if QEMU exited.
    pub fn watch(&mut self, timeout: Duration) -> Result<(), String> {
        let mut pfd = libc::pollfd { fd: self.stderr.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
        if rc > 0 {
            let mut chunk = [0u8; 4096];
            if let Ok(n) = self.stderr.read(&mut chunk) {
                self.log.extend_from_slice(&chunk[..n]);
            }
        }
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                let _ = self.stderr.read_to_end(&mut self.log);
                Err(format!("QEMU exited ({status}): {}", String::from_utf8_lossy(&self.log).trim()))
            }
            Err(e) => Err(format!("cannot check on QEMU: {e}")),
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A reproducible byte pattern (xorshift), so a misplaced packet shows as a mismatch.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}
