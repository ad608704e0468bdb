//! results.json: the same run as the JUnit file, in a shape scripts can read without an XML parser.
//!
//! Strings need no sanitising here: serde_json escapes every control character, and messages and
//! rendered transcripts are Rust strings, so the document is valid JSON whatever the device printed.

use serde_json::{json, Map, Value};

use super::model::{Recorded, Report};
use super::rfc3339::rfc3339;
use super::verdict::Verdict;

/// The whole results document for `report`, pretty-printed.
pub fn to_json(report: &Report) -> String {
    let info = report.info;
    let mut summary = Map::new();
    summary.insert("total".into(), json!(report.checks.len()));
    for v in Verdict::ALL {
        summary.insert(v.as_str().into(), json!(report.count(v)));
    }
    summary.insert("NOT_RUN".into(), json!(report.not_run.len()));
    let doc = json!({
        "run": {
            "target": info.target_name,
            "target_file": info.target_file,
            "device_id": info.device_id,
            "firmware_version": info.firmware_version,
            "hilt_version": info.hilt_version,
            "start_time": rfc3339(info.started),
            "suites": info.suites,
            "finished": report.finished,
        },
        "summary": summary,
        "checks": report.checks.iter().map(check).collect::<Vec<_>>(),
        "not_run": report.not_run.iter().map(|n| json!({
            "id": n.id,
            "title": n.title,
            "capability": n.capability,
            "requirements": n.requirements,
            "reason": n.reason,
        })).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("a JSON value always serialises");
    text.push('\n');
    text
}

fn check(c: &Recorded) -> Value {
    let r = c.result;
    json!({
        "id": r.id,
        "title": r.title,
        "capability": r.capability,
        "requirements": r.requirements,
        "verdict": r.verdict.as_str(),
        "message": r.message,
        "measurements": r.measurements.iter().map(|m| json!({
            "name": m.name,
            "value": m.value,
            "unit": m.unit,
        })).collect::<Vec<_>>(),
        "started": rfc3339(r.started),
        "duration_s": r.duration.as_secs_f64(),
        "transcript": c.transcript.display().to_string(),
    })
}
