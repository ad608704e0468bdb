//! Replacing a file so that a reader, a crash or a SIGKILL only ever sees the old or the new
//! complete content, never a partial write.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `contents` to a temporary file next to `path`, flushes it to disk, and renames it over
/// `path`. The rename is atomic only within one file system, hence the same directory.
pub fn write(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let result = write_synced(&tmp, contents).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(path)
}

fn write_synced(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(contents)?;
    // Without this, a power loss after the rename can leave the new name pointing at empty data.
    file.sync_all()
}

/// A name no other writer uses: pid for concurrent processes, a counter for concurrent calls.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("not a file path: {}", path.display()))
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(".{}.{}.{n}.tmp", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(tmp))
}

/// Makes the rename itself durable. Directories cannot be opened for syncing on every platform,
/// and the file is complete either way, so failure to open the directory is not an error.
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match File::open(dir) {
        Ok(d) => d.sync_all(),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::temp_dir;
    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary_behind() {
        let dir = temp_dir("atomic");
        let path = dir.join("junit.xml");
        write(&path, &vec![b'a'; 100_000]).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = dir.read_dir().unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["junit.xml"]);
    }

    #[test]
    fn a_reader_only_ever_sees_a_complete_file() {
        let dir = temp_dir("atomic-reader");
        let path = dir.join("results.json");
        let (old, new) = (vec![b'o'; 200_000], vec![b'n'; 100_000]);
        write(&path, &old).unwrap();
        let writer = {
            let (path, old, new) = (path.clone(), old.clone(), new.clone());
            std::thread::spawn(move || {
                for i in 0..100 {
                    write(&path, if i % 2 == 0 { &new } else { &old }).unwrap();
                }
            })
        };
        while !writer.is_finished() {
            let seen = fs::read(&path).unwrap();
            assert!(seen == old || seen == new, "partial file of {} bytes", seen.len());
        }
        writer.join().unwrap();
    }

    #[test]
    fn a_failed_rename_leaves_no_temporary_behind() {
        let dir = temp_dir("atomic-fail");
        // Renaming a file over a non-empty directory fails.
        let blocked = dir.join("blocked");
        fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write(&blocked, b"new").is_err());
        let names: Vec<_> = dir.read_dir().unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["blocked"]);
    }
}
