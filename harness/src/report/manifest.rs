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
