//! The evidence manifest of a real run, and `hilt verify` noticing any change to the results.

mod common;

use common::{hilt, run};

fn verify(dir: &std::path::Path) -> (i32, String) {
    let (code, out) = hilt(&["verify", &dir.display().to_string()], &[]);
    (code, String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_run_leaves_a_manifest_that_verifies_and_lists_its_inputs() {
    let r = run("manifest-ok", "", &["--suite", "identity"]);
    assert_eq!(r.code, 0, "{}", r.explain());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.out.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> =
        manifest["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    for want in ["junit.xml", "results.json", "transcripts/ID-01.log", "transcripts/ID-05.log"] {
        assert!(files.contains(&want), "{want} listed: {files:?}");
    }
    assert!(!files.iter().any(|f| f.starts_with("devices/")), "device state is not evidence: {files:?}");
    let inputs = manifest["inputs"].to_string();
    assert!(
        inputs.contains("targets/refdev.yaml") && inputs.contains("testsuites/identity.yaml"),
        "{inputs}"
    );
    assert_eq!(manifest["hilt_version"], env!("CARGO_PKG_VERSION"));
    let (code, text) = verify(&r.out);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn verify_names_every_changed_missing_and_added_file() {
    let r = run("manifest-tampered", "", &["--suite", "identity"]);
    assert_eq!(r.code, 0, "{}", r.explain());
    let log = r.out.join("transcripts/ID-02.log");
    let mut text = std::fs::read(&log).unwrap();
    text.push(b'x');
    std::fs::write(&log, text).unwrap();
    std::fs::remove_file(r.out.join("results.json")).unwrap();
    std::fs::write(r.out.join("transcripts/forged.log"), "PASS").unwrap();
    let (code, text) = verify(&r.out);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("changed:  transcripts/ID-02.log"), "{text}");
    assert!(text.contains("missing:  results.json"), "{text}");
    assert!(text.contains("unlisted: transcripts/forged.log"), "{text}");
}

#[test]
fn verify_without_a_manifest_is_a_usage_error_naming_the_file() {
    let dir = common::out_dir("manifest-none");
    let (code, text) = verify(&dir);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("manifest.json"), "{text}");
}
