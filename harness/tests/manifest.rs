//! The evidence manifest of a real run, and `hilt verify` noticing any change to the results.

mod common;

use common::{hilt, run};
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

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
    let entries = manifest["files"].as_array().unwrap();
    let mut files: Vec<&str> = entries.iter().map(|f| f["path"].as_str().unwrap()).collect();
    files.sort_unstable();
    let want = [
        "junit.xml",
        "results.json",
        "transcripts/ID-01.log",
        "transcripts/ID-02.log",
        "transcripts/ID-03.log",
        "transcripts/ID-05.log",
        "transcripts/ID-12.log",
    ];
    assert_eq!(files, want, "exactly the reports and transcripts, no device state, not itself");
    // Every digest and size matches the bytes on disk, computed here independently of hilt.
    for e in entries {
        let bytes = std::fs::read(r.out.join(e["path"].as_str().unwrap())).unwrap();
        assert_eq!(e["sha256"], sha256_hex(&bytes), "{e}");
        assert_eq!(e["bytes"], bytes.len() as u64, "{e}");
    }
    for input in manifest["inputs"].as_array().unwrap() {
        let path = common::repo_root().join(input["path"].as_str().unwrap());
        assert_eq!(input["sha256"], sha256_hex(&std::fs::read(&path).unwrap()), "{input}");
    }
    assert!(manifest["created"].as_str().is_some_and(|c| c.ends_with('Z')), "{}", manifest["created"]);
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
