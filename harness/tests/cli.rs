//! The command line as a user meets it: configuration errors, exit codes, selection, a device
//! that stops answering, and secrets that must never reach an output file.

mod common;

use common::{assert_junit_valid, hilt, out_dir, repo_root, run, run_with};

#[test]
fn misspelled_key_in_a_target_file_is_a_located_configuration_error() {
    let dir = out_dir("misspelled-target");
    let file = dir.join("board.yaml");
    std::fs::write(
        &file,
        "name: board\nchannels:\n  console:\n    serial: { path: /dev/ttyACM0, baudrate: 115200 }\n",
    )
    .unwrap();
    let (code, out) = hilt(&["check", file.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code, 2, "{stderr}");
    let location = format!("{}:4:", file.display());
    assert!(stderr.contains(&location), "expected {location} in: {stderr}");
    assert!(stderr.contains("baudrate"), "{stderr}");
}

#[test]
fn unknown_check_id_in_a_suite_is_located() {
    let dir = out_dir("unknown-check");
    let file = dir.join("suite.yaml");
    std::fs::write(
        &file,
        "suite: s\nchecks:\n  - id: ID-99\n    title: t\n    capability: device-identity\n",
    )
    .unwrap();
    let (code, out) = hilt(&["check", file.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("{}:3:5: unknown check id \"ID-99\"", file.display())), "{stderr}");
}

#[test]
fn shipped_target_and_suite_files_are_valid() {
    // Every file shipped, bench boards included: `hilt check` is all a user without the board can run.
    let mut files: Vec<String> = ["targets", "testsuites"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(repo_root().join(dir)).expect("shipped folder").flatten())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("nrf52840-dk.yaml")), "{files:?}");
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let (code, out) = hilt(&args, &[]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn list_shows_selected_checks_without_touching_a_device() {
    let r = run("list", "", &["--list", "--skip", "ID-02"]);
    assert_eq!(r.code, 0, "{}", r.explain());
    assert!(r.stdout.contains("ID-01") && !r.stdout.contains("ID-02"), "{}", r.explain());
    assert!(!r.out.join("junit.xml").exists(), "--list must not run anything");
}

#[test]
fn a_filter_runs_only_the_matching_check() {
    let r = run("filter", "", &["ID-02"]);
    assert_eq!(r.code, 0, "{}", r.explain());
    assert_eq!(r.verdicts().keys().collect::<Vec<_>>(), ["ID-02"]);
}

#[test]
fn a_device_that_stops_answering_gives_error_not_fail_and_the_run_finishes() {
    // Four answers: the run header's identifier and version, ID-01's two reads; then silence.
    let r = run_with("muted", &[("REFDEV_FAULTS", "mute-after=4")], &["--suite", "identity"]);
    assert_eq!(r.code, 3, "{}", r.explain());
    let verdicts = r.verdicts();
    assert_eq!(verdicts.len(), 5, "every check gets a verdict: {verdicts:?}");
    assert_eq!(verdicts["ID-01"], "PASS");
    // Decided from the target file alone (no debug port), so the silence does not reach it.
    assert_eq!(verdicts["ID-12"], "NOT_APPLICABLE");
    for id in ["ID-02", "ID-03", "ID-05"] {
        assert_eq!(verdicts[id], "ERROR", "{id}: {}", r.message(id));
        assert!(r.message(id).contains("no answer"), "{id}: {}", r.message(id));
    }
    assert_junit_valid(&r.out.join("junit.xml"));
}

#[test]
fn secrets_from_the_environment_never_reach_an_output_file() {
    let canary = "Canary-Secret-7f3e9a";
    let r = run_with("secret-canary", &[("REFDEV_ADMIN_PASSWORD", canary)], &[]);
    assert_eq!(r.code, 0, "{}", r.explain());
    let out = r.out.clone();
    let mut files = vec![];
    let mut dirs = vec![out.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            // The device's own flash holds the password, as a real device's does: not hilt output.
            if p.is_dir() && !p.ends_with("devices") {
                dirs.push(p);
            } else if p.is_file() {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 6, "{files:?}");
    let provisioned = std::fs::read_to_string(out.join("transcripts/ID-05.log")).unwrap();
    assert!(provisioned.contains("setup ***"), "the provisioning step is recorded, masked:\n{provisioned}");
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(canary), "{} contains the secret", f.display());
    }
    assert!(!r.stdout.contains(canary) && !r.stderr.contains(canary));
}
