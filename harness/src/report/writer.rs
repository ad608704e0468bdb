//! Keeps the results of a run on disk as it goes: after every check, its transcript log is written
//! and junit.xml and results.json are rewritten atomically, so a crash, a kill or a power loss at
//! any moment leaves complete, valid reports of every check recorded so far.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::atomic;
use super::model::{describe_result, NotRun, Recorded, Report};
use super::sanitize::sanitize;
use super::summary::Summary;
use super::verdict::{CheckResult, RunInfo};
use super::{json, junit, manifest};

const TRANSCRIPTS: &str = "transcripts";
const JUNIT: &str = "junit.xml";
const JSON: &str = "results.json";
/// Keeps file names well under every file system's name limit.
const MAX_STEM: usize = 100;

pub struct ResultsWriter {
    out_dir: PathBuf,
    info: RunInfo,
    results: Vec<CheckResult>,
    /// Each result's transcript file relative to `out_dir`, at the same index as in `results`.
    transcripts: Vec<PathBuf>,
    /// Lower-cased stems already used, so two checks never share a log, even on a case-insensitive
    /// file system.
    used_stems: HashSet<String>,
    not_run: Vec<NotRun>,
    finished: bool,
    /// Digests of the target and suite files the run used, for the evidence manifest.
    inputs: Vec<manifest::Entry>,
}

impl ResultsWriter {
    /// Creates `out_dir` and `out_dir/transcripts/`, and writes empty but valid reports at once, so
    /// a run that dies before its first check still leaves files CI can parse.
    pub fn create(out_dir: &Path, info: RunInfo) -> io::Result<Self> {
        // Transcripts of an earlier run into the same directory are not this run's evidence.
        match fs::remove_dir_all(out_dir.join(TRANSCRIPTS)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        fs::create_dir_all(out_dir.join(TRANSCRIPTS))?;
        let writer = ResultsWriter {
            out_dir: out_dir.to_path_buf(),
            info,
            results: Vec::new(),
            transcripts: Vec::new(),
            used_stems: HashSet::new(),
            not_run: Vec::new(),
            finished: false,
            inputs: Vec::new(),
        };
        writer.write_reports()?;
        Ok(writer)
    }

    /// The target and suite files the run used: hashed now, listed in the manifest.
    pub fn set_inputs(&mut self, paths: &[PathBuf]) -> io::Result<()> {
        self.inputs = manifest::inputs(paths);
        self.write_reports()
    }

    /// For facts learnt during the run (device id, firmware version); written with the next report.
    pub fn info_mut(&mut self) -> &mut RunInfo {
        &mut self.info
    }

    /// Writes `transcripts/<ID>.log` and rewrites the reports; returns the log's path. The result
    /// is kept and reported even if its log cannot be written: the verdict must not get lost.
    pub fn record(&mut self, result: CheckResult) -> io::Result<PathBuf> {
        let relative = Path::new(TRANSCRIPTS).join(format!("{}.log", self.unique_stem(&result.id)));
        let path = self.out_dir.join(&relative);
        let log = atomic::write(&path, transcript_log(&result).as_bytes());
        self.results.push(result);
        self.transcripts.push(relative);
        let reports = self.write_reports();
        log.and(reports)?;
        Ok(path)
    }

    /// Writes the final reports, with `not_run` (checks an interrupted run never reached) as
    /// skipped, and marks the run finished.
    pub fn finish(&mut self, not_run: &[NotRun]) -> io::Result<()> {
        self.not_run = not_run.to_vec();
        self.finished = true;
        self.write_reports()
    }

    pub fn results(&self) -> &[CheckResult] {
        &self.results
    }

    /// What the CLI prints at the end: counts per verdict and where to look for what did not pass.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.report(), &self.out_dir)
    }

    fn report(&self) -> Report<'_> {
        let checks = self
            .results
            .iter()
            .zip(&self.transcripts)
            .map(|(result, transcript)| Recorded { result, transcript })
            .collect();
        Report { info: &self.info, checks, not_run: &self.not_run, finished: self.finished }
    }

    /// Tries every file even if one fails, so one bad write does not cost the others; the
    /// manifest comes last, over what is then on disk.
    fn write_reports(&self) -> io::Result<()> {
        let report = self.report();
        let junit = atomic::write(&self.out_dir.join(JUNIT), junit::to_xml(&report).as_bytes());
        let json = atomic::write(&self.out_dir.join(JSON), json::to_json(&report).as_bytes());
        let mut files: Vec<PathBuf> = vec![JUNIT.into(), JSON.into()];
        files.extend(self.transcripts.iter().filter(|t| self.out_dir.join(t).exists()).cloned());
        let created = super::rfc3339::rfc3339(std::time::SystemTime::now());
        let manifest =
            manifest::write(&self.out_dir, &self.info.hilt_version, &created, &self.inputs, &files);
        junit.and(json).and(manifest)
    }

    /// `id` reduced to `[A-Za-z0-9._-]`; a check recorded again (e.g. against a second unit) gets
    /// `-2`, `-3`, ... rather than overwriting the first one's evidence.
    fn unique_stem(&mut self, id: &str) -> String {
        let base = safe_stem(id);
        let mut stem = base.clone();
        let mut n = 1;
        while !self.used_stems.insert(stem.to_ascii_lowercase()) {
            n += 1;
            stem = format!("{base}-{n}");
        }
        stem
    }
}

/// A file stem that cannot escape the directory, hide itself or exceed name limits.
fn safe_stem(id: &str) -> String {
    let mut stem: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .take(MAX_STEM)
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        stem.insert(0, '_');
    }
    stem
}

/// The log file: what the check is and concluded, then every byte exchanged. Sanitised like the
/// JUnit text, so `cat` on a terminal shows control characters instead of obeying them.
fn transcript_log(r: &CheckResult) -> String {
    let text = format!("check: {} {}\n{}\n{}", r.id, r.title, describe_result(r), r.transcript.render());
    sanitize(&text)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::report::testutil::{all_verdicts, assert_valid_junit, result, run_info, temp_dir, HOSTILE};
    use crate::report::verdict::Verdict;

    fn json_of(dir: &Path) -> Value {
        serde_json::from_str(&fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
    }

    fn junit_of(dir: &Path) -> String {
        fs::read_to_string(dir.join("junit.xml")).unwrap()
    }

    #[test]
    fn create_leaves_valid_empty_reports() {
        let tmp = temp_dir("writer-create");
        let dir = tmp.join("nested/out");
        let writer = ResultsWriter::create(&dir, run_info()).unwrap();
        assert!(dir.join("transcripts").is_dir());
        assert_valid_junit(&junit_of(&dir), &dir);
        let json = json_of(&dir);
        assert_eq!(json["summary"]["total"], 0);
        assert_eq!(json["run"]["finished"], false);
        assert_eq!(json["run"]["device_id"], "0123456789abcdef");
        assert_eq!(json["run"]["firmware_version"], Value::Null);
        assert!(writer.results().is_empty());
    }

    #[test]
    fn every_record_rewrites_valid_reports() {
        let dir = temp_dir("writer-record");
        let mut writer = ResultsWriter::create(&dir, run_info()).unwrap();
        for (i, r) in all_verdicts().into_iter().enumerate() {
            let path = writer.record(r).unwrap();
            assert_eq!(path, dir.join(format!("transcripts/ID-0{i}.log")));
            assert_valid_junit(&junit_of(&dir), &dir);
            assert_eq!(json_of(&dir)["checks"].as_array().unwrap().len(), i + 1);
        }
        writer.info_mut().firmware_version = Some("1.2.3".into());
        let not_run = NotRun {
            id: "UP-09".into(),
            title: "rollback is refused".into(),
            capability: "software-update".into(),
            requirements: vec![],
            reason: "interrupted".into(),
        };
        writer.finish(&[not_run]).unwrap();
        assert_valid_junit(&junit_of(&dir), &dir);

        let json = json_of(&dir);
        assert_eq!(json["run"]["finished"], true);
        assert_eq!(json["run"]["firmware_version"], "1.2.3");
        assert_eq!(json["run"]["start_time"], "2024-02-29T12:34:56.000Z");
        for v in Verdict::ALL {
            assert_eq!(json["summary"][v.as_str()], 1, "{v}");
        }
        assert_eq!(json["summary"]["total"], 5);
        assert_eq!(json["summary"]["NOT_RUN"], 1);
        assert_eq!(json["not_run"][0]["id"], "UP-09");
        let fail = &json["checks"][1];
        assert_eq!(fail["verdict"], "FAIL");
        assert_eq!(fail["message"], format!("FAIL {HOSTILE}"));
        assert_eq!(fail["requirements"][1], "ETSI EN 303 645 5.4-4");
        assert_eq!(fail["measurements"][0]["unit"], "attempts");
        assert_eq!(fail["started"], "2024-02-29T12:34:57.250Z");
        assert_eq!(fail["duration_s"], 1.5);
        assert_eq!(fail["transcript"], "transcripts/ID-01.log");
    }

    #[test]
    fn transcript_log_has_a_header_and_visible_controls() {
        let dir = temp_dir("writer-log");
        let mut writer = ResultsWriter::create(&dir, run_info()).unwrap();
        let path = writer.record(result("ID-02", "device-identity", Verdict::Fail)).unwrap();
        let log = fs::read_to_string(path).unwrap();
        assert!(log.starts_with("check: ID-02 title of ID-02\nverdict: FAIL\nmessage: FAIL got ␀␛"));
        assert!(log.contains("requirements:\n  NIST IR 8259A DI.1\n"), "{log}");
        assert!(log.contains("RX \"\\x00\\x1b[31m]]>"), "{log}");
        assert!(!log.contains('\u{1b}'), "{log}");
    }

    #[test]
    fn log_names_are_safe_and_never_overwritten() {
        let dir = temp_dir("writer-names");
        let mut writer = ResultsWriter::create(&dir, run_info()).unwrap();
        let mut name = |id: &str| {
            let path = writer.record(result(id, "device-identity", Verdict::Pass)).unwrap();
            path.strip_prefix(dir.join("transcripts")).unwrap().display().to_string()
        };
        assert_eq!(name("ID-01"), "ID-01.log");
        assert_eq!(name("ID-01"), "ID-01-2.log");
        assert_eq!(name("id-01"), "id-01-3.log");
        assert_eq!(name("../../etc/passwd"), "_.._.._etc_passwd.log");
        assert_eq!(name(".hidden"), "_.hidden.log");
        assert_eq!(name(""), "_.log");
        assert_eq!(name("ID 05/ü"), "ID_05__.log");
        assert_eq!(name(&"x".repeat(300)), format!("{}.log", "x".repeat(MAX_STEM)));
        let json = json_of(&dir);
        assert_eq!(json["checks"][1]["transcript"], "transcripts/ID-01-2.log");
    }

    #[test]
    fn summary_points_at_the_evidence_of_what_did_not_pass() {
        let dir = temp_dir("writer-summary");
        let mut writer = ResultsWriter::create(&dir, run_info()).unwrap();
        for r in all_verdicts() {
            writer.record(r).unwrap();
        }
        let summary = writer.summary();
        assert_eq!(summary.total(), 5);
        assert!(summary.counts.iter().all(|(_, n)| *n == 1));
        let not_passed: Vec<_> = summary.not_passed.iter().map(|p| (p.id.as_str(), p.verdict)).collect();
        assert_eq!(
            not_passed,
            [
                ("ID-01", Verdict::Fail),
                ("ID-02", Verdict::Error),
                ("ID-03", Verdict::NotApplicable),
                ("ID-04", Verdict::Inconclusive),
            ]
        );
        assert_eq!(summary.not_passed[0].transcript, dir.join("transcripts/ID-01.log"));
        let text = summary.to_string();
        assert!(text.starts_with("hilt: 5 check(s): 1 PASS, 1 FAIL, 1 ERROR"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
