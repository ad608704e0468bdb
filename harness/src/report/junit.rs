//! JUnit XML for CI systems: one `<testsuite>` per capability, one `<testcase>` per check.
//!
//! Built with quick-junit (maintained with cargo-nextest; it escapes markup, so `]]>` and `<` in
//! device output cannot break the document) over [`sanitize`], which keeps control characters
//! visible instead of letting quick-junit drop them. The result validates against the Jenkins
//! xUnit schema (`junit-10.xsd`), which the tests check with xmllint.

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::model::{describe, describe_result, NotRun, Recorded, Report};
use super::rfc3339::rfc3339;
use super::sanitize::sanitize;
use super::verdict::{RunInfo, Verdict};

/// The whole JUnit document for `report`.
pub fn to_xml(report: &Report) -> String {
    let properties = properties(report.info);
    let mut suites: Vec<TestSuite> = Vec::new();
    for c in &report.checks {
        let suite = suite_for(&mut suites, &c.result.capability, &properties);
        let time = suite.time.unwrap_or_default() + c.result.duration;
        suite.set_time(time).add_test_case(recorded_case(c));
    }
    for n in report.not_run {
        suite_for(&mut suites, &n.capability, &properties).add_test_case(not_run_case(n));
    }
    let mut junit = quick_junit::Report::new("hilt");
    junit.add_test_suites(suites);
    let xml =
        junit.to_string().expect("serialising into memory cannot fail and sanitised text is valid UTF-8");
    drop_root_skipped(xml, junit.skipped)
}

/// quick-junit always writes `skipped` on `<testsuites>`, which junit-10.xsd does not allow there
/// (it allows it on `<testsuite>`, where the per-suite count stays). Removed from the root tag only.
fn drop_root_skipped(mut xml: String, skipped: usize) -> String {
    let attr = format!(" skipped=\"{skipped}\"");
    let root = xml.find("<testsuites").expect("quick-junit writes a <testsuites> root");
    let root_end = root + xml[root..].find('>').expect("the root tag is closed");
    if let Some(at) = xml[root..root_end].find(&attr) {
        xml.replace_range(root + at..root + at + attr.len(), "");
    }
    xml
}

fn properties(info: &RunInfo) -> Vec<Property> {
    let unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_string());
    [
        ("target", info.target_name.clone()),
        ("target_file", info.target_file.clone()),
        ("device_id", unknown(&info.device_id)),
        ("firmware_version", unknown(&info.firmware_version)),
        ("hilt_version", info.hilt_version.clone()),
        ("start_time", rfc3339(info.started)),
        ("suites", info.suites.join(",")),
    ]
    .into_iter()
    .map(|(name, value)| Property::new(name, sanitize(&value)))
    .collect()
}

/// The suite for `capability`, created (with the run's properties) on first sight, so suites keep
/// the order in which their first check ran.
fn suite_for<'s>(
    suites: &'s mut Vec<TestSuite>,
    capability: &str,
    properties: &[Property],
) -> &'s mut TestSuite {
    let name = sanitize(capability);
    let index = match suites.iter().position(|s| s.name.as_str() == name) {
        Some(i) => i,
        None => {
            let mut suite = TestSuite::new(name);
            suite.add_properties(properties.iter().cloned());
            suites.push(suite);
            suites.len() - 1
        }
    };
    &mut suites[index]
}

fn recorded_case(c: &Recorded) -> TestCase {
    let r = c.result;
    let status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => non_success(NonSuccessKind::Failure, "FAIL", &r.message),
        Verdict::Error => non_success(NonSuccessKind::Error, "ERROR", &r.message),
        Verdict::NotApplicable | Verdict::Inconclusive => {
            skipped(r.verdict.as_str(), &format!("{}: {}", r.verdict, r.message))
        }
    };
    let mut out = describe_result(r);
    out.push_str(&format!("transcript: {}\n\n", c.transcript.display()));
    out.push_str(&excerpt(&r.transcript.render(), c.transcript));
    let mut case = case(&r.id, &r.title, &r.capability, status, &out);
    case.set_time(r.duration);
    case
}

/// The most of a transcript `system-out` quotes. A flooding device's megabytes stay in the log file;
/// CI viewers choke on huge system-out, and every rewrite of junit.xml would carry them again.
const SYSTEM_OUT_MAX: usize = 64 * 1024;

/// The head and tail of a long rendered transcript (which is ASCII, so any cut is a char boundary).
fn excerpt(text: &str, path: &std::path::Path) -> String {
    if text.len() <= SYSTEM_OUT_MAX {
        return text.to_string();
    }
    let head = SYSTEM_OUT_MAX / 4;
    let tail = SYSTEM_OUT_MAX - head;
    format!(
        "{}\n[... {} bytes of transcript omitted here: the whole transcript is {} ...]\n{}",
        &text[..head],
        text.len() - head - tail,
        path.display(),
        &text[text.len() - tail..]
    )
}

fn not_run_case(n: &NotRun) -> TestCase {
    let status = skipped("NOT_RUN", &format!("NOT RUN: {}", n.reason));
    let out = describe("NOT RUN", &n.reason, &n.requirements, &[]);
    case(&n.id, &n.title, &n.capability, status, &out)
}

fn case(id: &str, title: &str, capability: &str, status: TestCaseStatus, out: &str) -> TestCase {
    let mut case = TestCase::new(sanitize(&format!("{id} {title}")), status);
    case.set_classname(sanitize(&format!("hilt.{capability}"))).set_system_out(sanitize(out));
    case
}

fn non_success(kind: NonSuccessKind, ty: &str, message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status.set_type(ty).set_message(sanitize(message));
    status
}

/// `type` carries the machine-readable reason for skipping; `message` says it for humans.
fn skipped(ty: &str, message: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_type(ty).set_message(sanitize(message));
    status
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use quick_junit::{Report as Parsed, TestCaseStatus as Status};

    use super::*;
    use crate::report::testutil::{all_verdicts, assert_valid_junit, result, run_info, temp_dir};
    use crate::report::verdict::CheckResult;

    fn render(results: &[CheckResult], not_run: &[NotRun]) -> String {
        let paths: Vec<PathBuf> =
            results.iter().map(|r| PathBuf::from(format!("transcripts/{}.log", r.id))).collect();
        let info = run_info();
        let checks =
            results.iter().zip(&paths).map(|(result, transcript)| Recorded { result, transcript }).collect();
        to_xml(&Report { info: &info, checks, not_run, finished: true })
    }

    fn not_run() -> Vec<NotRun> {
        vec![NotRun {
            id: "UP-09".into(),
            title: "rollback is refused".into(),
            capability: "software-update".into(),
            requirements: vec!["NIST IR 8259A SU.2".into()],
            reason: "run interrupted \u{1b} by SIGINT".into(),
        }]
    }

    #[test]
    fn hostile_output_validates_against_the_schema() {
        let xml = render(&all_verdicts(), &not_run());
        assert!(!xml.contains("]]>"), "a CDATA terminator got through:\n{xml}");
        assert_valid_junit(&xml, &temp_dir("junit-hostile"));
    }

    #[test]
    fn an_empty_run_validates() {
        let xml = render(&[], &[]);
        assert!(xml.contains("<testsuites name=\"hilt\" tests=\"0\""), "{xml}");
        assert_valid_junit(&xml, &temp_dir("junit-empty"));
    }

    #[test]
    fn each_verdict_maps_to_its_element_and_counts() {
        let parsed = Parsed::deserialize_from_str(&render(&all_verdicts(), &not_run())).unwrap();
        assert_eq!((parsed.tests, parsed.failures, parsed.errors), (6, 1, 1));
        let names: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["device-identity", "software-update"]);
        let counts: Vec<_> =
            parsed.test_suites.iter().map(|s| (s.tests, s.failures, s.errors, s.skipped)).collect();
        // identity: PASS, ERROR, INCONCLUSIVE; update: FAIL, NOT_APPLICABLE, not run.
        assert_eq!(counts, [(3, 0, 1, 1), (3, 1, 0, 2)]);

        let cases: Vec<_> = parsed.test_suites.iter().flat_map(|s| &s.test_cases).collect();
        let pass = cases[0];
        assert_eq!(pass.name.as_str(), "ID-00 title of ID-00");
        assert_eq!(pass.classname.as_deref(), Some("hilt.device-identity"));
        assert_eq!(pass.time, Some(std::time::Duration::from_millis(1500)));
        let statuses: Vec<String> = cases
            .iter()
            .map(|c| match &c.status {
                Status::Success { .. } => "success".to_string(),
                Status::NonSuccess { kind, ty, message, .. } => {
                    format!("{kind:?} type={} message={}", text(ty), text(message))
                }
                Status::Skipped { ty, message, .. } => {
                    format!("skipped type={} message={}", text(ty), text(message))
                }
            })
            .collect();
        let expected = [
            "success",
            "Error type=ERROR message=ERROR got ␀␛",
            "skipped type=INCONCLUSIVE message=INCONCLUSIVE: INCONCLUSIVE got ␀␛",
            "Failure type=FAIL message=FAIL got ␀␛",
            "skipped type=NOT_APPLICABLE message=NOT_APPLICABLE: NOT_APPLICABLE got ␀␛",
            "skipped type=NOT_RUN message=NOT RUN: run interrupted ␛ by SIGINT",
        ];
        assert_eq!(statuses.len(), expected.len());
        for (status, expected) in statuses.iter().zip(expected) {
            assert!(status.starts_with(expected), "{status:?} should start with {expected:?}");
        }
    }

    fn text(x: &Option<quick_junit::XmlString>) -> &str {
        x.as_deref().unwrap_or_default()
    }

    #[test]
    fn every_suite_carries_the_run_properties() {
        let parsed = Parsed::deserialize_from_str(&render(&all_verdicts(), &[])).unwrap();
        for suite in &parsed.test_suites {
            let props: Vec<(&str, &str)> =
                suite.properties.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
            assert_eq!(
                props,
                [
                    ("target", "refdev <host>"),
                    ("target_file", "targets/refdev.yaml"),
                    ("device_id", "0123456789abcdef"),
                    ("firmware_version", "unknown"),
                    ("hilt_version", "0.1.0"),
                    ("start_time", "2024-02-29T12:34:56.000Z"),
                    ("suites", "identity,update"),
                ]
            );
        }
    }

    #[test]
    fn system_out_holds_the_evidence_with_controls_visible() {
        let xml = render(&[result("ID-01", "device-identity", Verdict::Fail)], &[]);
        let parsed = Parsed::deserialize_from_str(&xml).unwrap();
        let out = parsed.test_suites[0].test_cases[0].system_out.as_deref().unwrap().to_string();
        for expected in [
            "verdict: FAIL\nmessage: FAIL got ␀␛[31m\\u{fffe}\\u{9b} ]]> <x>&amp;␍\n␉end\n",
            "requirements:\n  NIST IR 8259A DI.1\n  ETSI EN 303 645 5.4-4\n",
            "measurements:\n  lockout_threshold = 5 attempts\n",
            "transcript: transcripts/ID-01.log\n",
            "RX \"\\x00\\x1b[31m]]>\\xff\\xfe\\xed\\xa0\\x80\\n\"",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
        }
    }
}
