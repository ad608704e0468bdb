//! One run per device. Each device a run uses (a serial port, a USB adapter, a TCP endpoint, a
//! launched unit's state directory) is claimed with flock(2) on a file in a shared lock directory.
//! The kernel drops a lock when its holder dies, so a stale lock file from a killed run is simply
//! taken over; the file's text names the holder for the message a second run prints.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Where lock files live: `$HILT_LOCK_DIR`, or a directory under the system's temporary directory
/// shared by every user of this bench host.
pub fn lock_dir() -> PathBuf {
    std::env::var_os("HILT_LOCK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("hilt-locks"))
}

/// A held claim on one device; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DeviceLock {
    file: File,
    /// A note for the transcript when a dead run's lock was taken over.
    pub took_over: Option<String>,
}

/// Claims `resource` (e.g. "serial:/dev/ttyACM0"). Fails at once, naming the holder, if another
/// live process holds it.
pub fn acquire(resource: &str) -> Result<DeviceLock, String> {
    let dir = lock_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create lock directory {}: {e}", dir.display()))?;
    let path = dir.join(file_name(resource));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
    let mut previous = String::new();
    let _ = file.read_to_string(&mut previous);
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(format!(
            "device {resource} is in use by another hilt run ({}); lock file {}",
            previous.trim().replace('\n', ", "),
            path.display()
        ));
    }
    let took_over = (!previous.trim().is_empty()).then(|| {
        format!(
            "took over the lock on {resource} left by a run that is gone ({})",
            previous.trim().replace('\n', ", ")
        )
    });
    let holder =
        format!("pid {}\ncommand {}\n", std::process::id(), std::env::args().collect::<Vec<_>>().join(" "));
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(holder.as_bytes()))
        .map_err(|e| format!("cannot write lock file {}: {e}", path.display()))?;
    Ok(DeviceLock { file, took_over })
}

impl Drop for DeviceLock {
    /// A clean release empties the file: text left in it means its holder died holding it.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// A file name for `resource`: readable, and unique through a hash of the full text.
fn file_name(resource: &str) -> String {
    let readable: String = resource
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .collect();
    let tail = &readable[readable.len().saturating_sub(60)..];
    // FNV-1a: stable across runs and builds, which DefaultHasher does not promise.
    let hash =
        resource.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    format!("{tail}-{hash:016x}.lock")
}

/// The resource key of a launched unit: its state directory, made absolute.
pub fn unit_resource(state_dir: &Path) -> String {
    let abs = std::path::absolute(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    format!("unit:{}", abs.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_claim_naming_the_holder() {
        let name = format!("test:held-{}", std::process::id());
        let first = acquire(&name).unwrap();
        let err = acquire(&name).unwrap_err();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        let again = acquire(&name).unwrap();
        assert!(again.took_over.is_none(), "a clean release leaves nothing to take over");
    }

    #[test]
    fn a_lock_left_by_a_dead_holder_is_taken_over() {
        let name = format!("test:stale-{}", std::process::id());
        std::fs::create_dir_all(lock_dir()).unwrap();
        // What a SIGKILLed run leaves: its text, and no flock (the kernel dropped it).
        std::fs::write(lock_dir().join(file_name(&name)), "pid 4194304\ncommand hilt run\n").unwrap();
        let taken = acquire(&name).unwrap();
        assert!(taken.took_over.as_deref().unwrap_or("").contains("pid 4194304"));
    }
}
