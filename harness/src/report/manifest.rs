//! The evidence manifest: SHA-256 of every file a run wrote and of the target and suite files it
//! used, so a lab can show later that the results were not changed. `hilt verify` recomputes it.
//!
//! The manifest is itself rewritten atomically after every check, like the reports it covers.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::atomic;

pub const FILE: &str = "manifest.json";
/// Device state of launched units: not evidence, and it changes after the run.
const NOT_EVIDENCE: &str = "devices";

/// A file and its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex(&hasher.finalize()), total))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Digests of the input files (target, suites), taken when the run starts.
pub fn inputs(paths: &[PathBuf]) -> Vec<Entry> {
    paths
        .iter()
        .map(|p| {
            let (sha256, bytes) = sha256_file(p).unwrap_or_else(|e| (format!("unreadable: {e}"), 0));
            Entry { path: p.display().to_string(), sha256, bytes }
        })
        .collect()
}

/// Writes `out_dir/manifest.json` over `files` (paths relative to `out_dir`).
pub fn write(
    out_dir: &Path,
    hilt_version: &str,
    created: &str,
    inputs: &[Entry],
    files: &[PathBuf],
) -> io::Result<()> {
    let mut listed = Vec::new();
    for f in files {
        let (sha256, bytes) = sha256_file(&out_dir.join(f))?;
        listed.push(Entry { path: slash(f), sha256, bytes });
    }
    let doc = json!({
        "hilt_version": hilt_version,
        "created": created,
        "inputs": inputs.iter().map(to_json).collect::<Vec<_>>(),
        "files": listed.iter().map(to_json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&doc).map_err(io::Error::other)?;
    atomic::write(&out_dir.join(FILE), text.as_bytes())
}

fn to_json(e: &Entry) -> Value {
    json!({ "path": e.path, "sha256": e.sha256, "bytes": e.bytes })
}

fn slash(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// One way a results directory differs from its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    Changed(String),
    Missing(String),
    Unlisted(String),
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Changed(p) => {
                write!(f, "changed:  {p} (its SHA-256 differs from the manifest)")
            }
            Finding::Missing(p) => write!(f, "missing:  {p} (listed in the manifest)"),
            Finding::Unlisted(p) => write!(f, "unlisted: {p} (not in the manifest)"),
        }
    }
}

/// Recomputes every digest in `out_dir/manifest.json`. Err names what made the manifest unusable.
pub fn verify(out_dir: &Path) -> Result<(usize, Vec<Finding>), String> {
    let path = out_dir.join(FILE);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not a manifest: {e}", path.display()))?;
    let files = doc["files"].as_array().ok_or_else(|| format!("{}: no \"files\" list", path.display()))?;
    let mut findings = Vec::new();
    let mut listed = Vec::new();
    for f in files {
        let (Some(rel), Some(want)) = (f["path"].as_str(), f["sha256"].as_str()) else {
            return Err(format!("{}: an entry lacks path or sha256", path.display()));
        };
        // A forged manifest must not make verify hash files outside the results directory.
        if !Path::new(rel).components().all(|c| matches!(c, std::path::Component::Normal(_))) {
            return Err(format!("{}: {rel:?} is not a path inside {}", path.display(), out_dir.display()));
        }
        listed.push(rel.to_string());
        match sha256_file(&out_dir.join(rel)) {
            Ok((got, _)) if got == want => {}
            Ok(_) => findings.push(Finding::Changed(rel.to_string())),
            Err(_) => findings.push(Finding::Missing(rel.to_string())),
        }
    }
    for rel in files_under(out_dir, Path::new("")) {
        if rel != FILE && !listed.contains(&rel) {
            findings.push(Finding::Unlisted(rel));
        }
    }
    Ok((listed.len(), findings))
}

/// Every file below `dir`, as slash-separated paths relative to it, leaving out device state.
fn files_under(root: &Path, rel: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(root.join(rel)) else {
        return out;
    };
    for e in entries.flatten() {
        let rel = rel.join(e.file_name());
        if rel == Path::new(NOT_EVIDENCE) {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(root, &rel)),
            Ok(_) => out.push(slash(&rel)),
            Err(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::{temp_dir, TempDir};

    fn sample(name: &str) -> TempDir {
        let dir = temp_dir(name);
        fs::create_dir_all(dir.join("transcripts")).unwrap();
        fs::create_dir_all(dir.join("devices/unit-1")).unwrap();
        fs::write(dir.join("junit.xml"), "<testsuites/>").unwrap();
        fs::write(dir.join("transcripts/ID-01.log"), "check: ID-01").unwrap();
        fs::write(dir.join("devices/unit-1/flash.bin"), "state").unwrap();
        let files = [PathBuf::from("junit.xml"), Path::new("transcripts").join("ID-01.log")];
        write(&dir, "0.1.0", "2024-02-29T12:34:56.000Z", &[], &files).unwrap();
        dir
    }

    #[test]
    fn digests_are_sha256_of_the_bytes() {
        let dir = sample("manifest-digest");
        let doc: Value = serde_json::from_str(&fs::read_to_string(dir.join(FILE)).unwrap()).unwrap();
        assert_eq!(doc["files"][0]["path"], "junit.xml");
        assert_eq!(doc["files"][1]["path"], "transcripts/ID-01.log");
        fs::write(dir.join("abc"), "abc").unwrap();
        let (sha, bytes) = sha256_file(&dir.join("abc")).unwrap();
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(bytes, 3);
    }

    #[test]
    fn verify_ignores_device_state_and_the_manifest_itself() {
        let dir = sample("manifest-clean");
        fs::write(dir.join("devices/unit-1/flash.bin"), "changed state").unwrap();
        assert_eq!(verify(&dir).unwrap(), (2, vec![]));
    }

    #[test]
    fn verify_reports_changed_missing_and_unlisted_files() {
        let dir = sample("manifest-findings");
        fs::write(dir.join("junit.xml"), "<testsuites/>\n").unwrap();
        fs::remove_file(dir.join("transcripts/ID-01.log")).unwrap();
        fs::write(dir.join("transcripts/ID-09.log"), "forged").unwrap();
        let (listed, findings) = verify(&dir).unwrap();
        assert_eq!(listed, 2);
        assert_eq!(
            findings,
            [
                Finding::Changed("junit.xml".into()),
                Finding::Missing("transcripts/ID-01.log".into()),
                Finding::Unlisted("transcripts/ID-09.log".into()),
            ]
        );
    }

    #[test]
    fn an_unusable_manifest_is_an_error_naming_it() {
        let dir = temp_dir("manifest-bad");
        assert!(verify(&dir).unwrap_err().contains("manifest.json"));
        fs::write(dir.join(FILE), "{").unwrap();
        assert!(verify(&dir).unwrap_err().contains("manifest.json"));
        fs::write(dir.join(FILE), r#"{"files":[{"path":"../../etc/passwd","sha256":"00"}]}"#).unwrap();
        let e = verify(&dir).unwrap_err();
        assert!(e.contains("manifest.json") && e.contains("not a path inside"), "{e}");
    }
}
