//! Shared by the report tests: temp dirs, results with hostile content, schema validation.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::device::transcript::{Direction, Transcript};
use crate::report::verdict::{CheckResult, Measurement, RunInfo, Verdict};

/// A fresh directory under the system temp dir, unique per test and process. Removed when the
/// test passes; kept when it fails, so the files can be inspected.
pub struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

pub fn temp_dir(test: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("hilt-report-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create temp dir");
    TempDir(dir)
}

pub fn run_info() -> RunInfo {
    RunInfo {
        target_name: "refdev <host>".into(),
        target_file: "targets/refdev.yaml".into(),
        device_id: Some("0123456789abcdef".into()),
        firmware_version: None,
        hilt_version: "0.1.0".into(),
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096),
        suites: vec!["identity".into(), "update".into()],
    }
}

/// Text no report may choke on: controls, a non-character, a CDATA terminator, markup.
pub const HOSTILE: &str = "got \u{0}\u{1b}[31m\u{fffe}\u{9b} ]]> <x>&amp;\r\n\tend";

/// A result with `verdict`, a hostile message and a transcript with hostile raw bytes.
pub fn result(id: &str, capability: &str, verdict: Verdict) -> CheckResult {
    let mut transcript = Transcript::new(&[]);
    transcript.record("console", Direction::Tx, b"id\n");
    transcript.record("console", Direction::Rx, b"\x00\x1b[31m]]>\xff\xfe\xed\xa0\x80\n");
    transcript.note("harness", HOSTILE);
    CheckResult {
        id: id.into(),
        title: format!("title of {id}"),
        capability: capability.into(),
        requirements: vec!["NIST IR 8259A DI.1".into(), "ETSI EN 303 645 5.4-4".into()],
        verdict,
        message: format!("{verdict} {HOSTILE}"),
        measurements: vec![Measurement {
            name: "lockout_threshold".into(),
            value: "5".into(),
            unit: "attempts".into(),
        }],
        started: SystemTime::UNIX_EPOCH + Duration::from_millis(1_709_210_097_250),
        duration: Duration::from_millis(1500),
        transcript,
    }
}

/// One result per verdict, over two capabilities.
pub fn all_verdicts() -> Vec<CheckResult> {
    Verdict::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let capability = if i % 2 == 0 { "device-identity" } else { "software-update" };
            result(&format!("ID-0{i}"), capability, *v)
        })
        .collect()
}

/// Validates `xml` with xmllint against the JUnit schema CI uses (`HILT_JUNIT_XSD` overrides).
pub fn assert_valid_junit(xml: &str, dir: &Path) {
    let schema = std::env::var_os("HILT_JUNIT_XSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/schemas/junit-10.xsd"));
    assert!(schema.exists(), "JUnit schema {} not found: set HILT_JUNIT_XSD", schema.display());
    let file = dir.join("junit-under-test.xml");
    fs::write(&file, xml).expect("write junit under test");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmllint ({e}): install libxml2-utils"));
    assert!(
        out.status.success(),
        "JUnit does not validate against {}:\n{}\n{xml}",
        schema.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
