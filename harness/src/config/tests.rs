use std::path::Path;

use super::*;

fn target(src: &str) -> Result<Target, Diagnostics> {
    parse_target(src, Path::new("t.yaml"))
}

const MINIMAL: &str = "name: x\nchannels:\n  console:\n    serial: { path: /dev/ttyACM0, baud: 115200 }\n";

#[test]
fn the_reference_target_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let t = load_target(&root.join("targets/refdev.yaml")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(t.capabilities.device_identity.as_ref().unwrap().read.len(), 2);
    assert!(load_suite(&root.join("testsuites/identity.yaml")).is_ok());
}

#[test]
fn misspelled_key_names_line_column_and_the_expected_keys() {
    let d = target("name: x\nchannels:\n  console:\n    serial: { path: /dev/ttyACM0, baudrate: 115200 }\n")
        .unwrap_err();
    let text = d.to_string();
    assert!(text.starts_with("t.yaml:4:"), "{text}");
    assert!(text.contains("baudrate") && text.contains("expected"), "{text}");
    let d = target("name: x\nchanels: {}\n").unwrap_err();
    assert!(d.to_string().starts_with("t.yaml:2:1:"), "{d}");
}

#[test]
fn bad_values_are_located() {
    let src = format!("{MINIMAL}crash-patterns: ['(unclosed']\n");
    assert!(target(&src).unwrap_err().to_string().starts_with("t.yaml:5:"), "regex");
    let src = format!("{MINIMAL}timeouts: {{ operation: 5 }}\n");
    let d = target(&src).unwrap_err().to_string();
    assert!(d.starts_with("t.yaml:5:") && d.contains("like 2s"), "{d}");
    let src = format!(
        "{MINIMAL}operations:\n  op:\n    channel: console\n    steps:\n      - send: \"{{oops}}\"\n"
    );
    let d = target(&src).unwrap_err().to_string();
    assert!(d.starts_with("t.yaml:9:") && d.contains("unknown placeholder"), "{d}");
}

#[test]
fn references_between_sections_are_checked_and_located() {
    let src = format!(
        "{MINIMAL}operations:\n  op:\n    channel: consol\n    steps:\n      - send: \"{{secret.pw}}\"\nlifecycle:\n  status: nope\n"
    );
    let d = target(&src).unwrap_err();
    let text = d.to_string();
    assert!(text.contains("t.yaml:7:5: no channel named \"consol\""), "{text}");
    assert!(text.contains("t.yaml:9:") && text.contains("no secret named"), "{text}");
    assert!(text.contains("t.yaml:11:3: no operation named \"nope\""), "{text}");
}

#[test]
fn secrets_come_from_the_environment() {
    let src = format!("{MINIMAL}secrets:\n  pw: \"${{HILT_CONFIG_TEST_UNSET_VAR}}\"\n");
    let d = target(&src).unwrap_err().to_string();
    assert!(d.starts_with("t.yaml:6:3:") && d.contains("HILT_CONFIG_TEST_UNSET_VAR"), "{d}");
    let src = format!("{MINIMAL}secrets:\n  pw: \"${{HILT_CONFIG_TEST_UNSET_VAR:-fallback}}\"\n");
    assert_eq!(target(&src).unwrap().secret_values(), vec!["fallback".to_string()]);
}

#[test]
fn duplicate_check_ids_are_located() {
    let src = "suite: s\nchecks:\n  - id: A\n    title: a\n    capability: c\n  - id: A\n    title: b\n    capability: c\n";
    let d = parse_suite(src, Path::new("s.yaml")).unwrap_err().to_string();
    assert!(d.starts_with("s.yaml:6:5: check A is listed twice"), "{d}");
}

#[test]
fn garbage_never_panics_and_is_located() {
    for src in [
        "",
        "\u{0}\u{1b}]]>",
        "[[[[[[",
        "name: [1, {",
        "- - - -",
        ": : :",
        "name: x\nchannels: 7\n",
        "\t\tname",
    ] {
        let d = target(src).unwrap_err();
        assert!(d.0.iter().all(|e| e.line >= 1 && e.column >= 1), "{src:?}: {d}");
    }
}
