//! Running the real `hilt` binary against the real reference device, as a user would.

#![allow(dead_code)] // each test binary uses its own subset of these helpers

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root: where `cargo run` runs hilt, so default paths resolve as for a user.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("harness/ has a parent").to_path_buf()
}

/// A fresh, empty directory for one test's results.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hilt-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test out dir");
    dir
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub out: PathBuf,
}

impl Run {
    pub fn results(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.out.join("results.json"))
            .unwrap_or_else(|e| panic!("results.json missing ({e}); stderr:\n{}", self.stderr));
        serde_json::from_str(&text).expect("results.json is JSON")
    }

    /// Check id -> verdict, from results.json.
    pub fn verdicts(&self) -> BTreeMap<String, String> {
        self.results()["checks"]
            .as_array()
            .expect("checks array")
            .iter()
            .map(|c| (c["id"].as_str().unwrap().to_string(), c["verdict"].as_str().unwrap().to_string()))
            .collect()
    }

    pub fn message(&self, id: &str) -> String {
        self.results()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    pub fn explain(&self) -> String {
        format!("exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `hilt ARGS` from the repository root with `env` set (and REFDEV_FLAWS cleared unless given).
pub fn hilt(args: &[&str], env: &[(&str, &str)]) -> (i32, Output) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hilt"));
    cmd.current_dir(repo_root()).args(args).env_remove("REFDEV_FLAWS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("hilt runs");
    (output.status.code().unwrap_or(-1), output)
}

/// `hilt run --out <fresh dir> ARGS` with the given flaws switched on in the reference device.
pub fn run(name: &str, flaws: &str, args: &[&str]) -> Run {
    run_with(name, &[("REFDEV_FLAWS", flaws)], args)
}

/// The target file the tests run against when they name none: hilt's default (the host reference
/// device) unless `HILT_TEST_TARGET` names another. CI runs the flaw matrix a second time with
/// `HILT_TEST_TARGET=targets/qemu-mps2-an385.yaml`: the same checks, the same flaws, the firmware.
pub fn test_target() -> Option<String> {
    std::env::var("HILT_TEST_TARGET").ok().filter(|t| !t.is_empty())
}

/// `hilt run --out <fresh dir> ARGS` with `env` set, against [`test_target`] unless ARGS name one.
pub fn run_with(name: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let target = test_target();
    // Runs against another target keep their results apart, for a look after a failure.
    let out = match &target {
        Some(t) if !args.contains(&"--target") => out_dir(&format!("{}-{name}", target_stem(t))),
        _ => out_dir(name),
    };
    let out_s = out.display().to_string();
    let mut all = vec!["run", "--out", &out_s];
    if let Some(t) = target.as_deref().filter(|_| !args.contains(&"--target")) {
        all.extend(["--target", t]);
    }
    all.extend_from_slice(args);
    let (code, output) = hilt(&all, env);
    Run {
        code,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        out,
    }
}

/// Checks the target under test cannot run: the host reference device has no debug port; a QEMU
/// production unit's port is locked, so the checks that look inside through it do not apply (LA-11
/// judges the lock instead); an engineering unit's port is open by declaration, so LA-11 does not.
pub fn not_applicable_here() -> &'static [&'static str] {
    match test_target() {
        None => &["ID-12", "FR-03", "SU-12", "LA-11"],
        Some(_) if std::env::var("HILT_QEMU_UNIT").as_deref() == Ok("engineering") => &["LA-11"],
        Some(_) => &["ID-12", "FR-03", "SU-12"],
    }
}

/// The verdict `id` gets from a conformant device of the target under test.
pub fn conformant_verdict(id: &str) -> &'static str {
    if not_applicable_here().contains(&id) {
        "NOT_APPLICABLE"
    } else {
        "PASS"
    }
}

/// A conformant device's run of a suite of `checks` checks: exit 0, each check PASS (or
/// NOT_APPLICABLE where the target cannot run it), valid JUnit.
pub fn assert_conformant(r: &Run, checks: usize) {
    assert_eq!(r.code, 0, "{}", r.explain());
    assert_eq!(r.verdicts().len(), checks, "{}", r.explain());
    for (id, verdict) in r.verdicts() {
        assert_eq!(verdict, conformant_verdict(&id), "{id}: {}\n{}", r.message(&id), r.explain());
    }
    assert_junit_valid(&r.out.join("junit.xml"));
}

fn target_stem(path: &str) -> String {
    Path::new(path).file_stem().map_or_else(|| "target".into(), |s| s.to_string_lossy().into_owned())
}

/// Validates a JUnit file the way Jenkins does (xmllint against shared/schemas/junit-10.xsd).
pub fn assert_junit_valid(path: &Path) {
    let schema = std::env::var("HILT_JUNIT_XSD")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("../shared/schemas/junit-10.xsd"));
    assert!(schema.exists(), "JUnit schema not found at {} (set HILT_JUNIT_XSD)", schema.display());
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(path)
        .output()
        .expect("xmllint runs (install libxml2-utils; ci/setup.sh does)");
    assert!(
        out.status.success(),
        "{} does not validate:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `suite` with `flaw` switched on and asserts every verdict: the checks named in `expected`
/// get the verdict given there, every other check its [`conformant_verdict`]; the first named check's message contains
/// `words` (what differed). Exit code 1, and a JUnit file that validates.
pub fn assert_flaw_verdicts(suite: &str, flaw: &str, expected: &[(&str, &str)], words: &str) {
    let r = run(&format!("{suite}-{flaw}"), flaw, &["--suite", suite]);
    assert_eq!(r.code, 1, "{flaw}: {}", r.explain());
    for (id, verdict) in r.verdicts() {
        let want = expected.iter().find(|(e, _)| *e == id).map_or(conformant_verdict(&id), |(_, v)| *v);
        assert_eq!(verdict, want, "{flaw}: {id} ({})\n{}", r.message(&id), r.explain());
    }
    let first = expected[0].0;
    let message = r.message(first);
    assert!(message.contains(words), "{flaw}: {first} should say what differed: {message}");
    assert_junit_valid(&r.out.join("junit.xml"));
}

/// The QEMU target's file, relative to the repository root.
pub const QEMU_TARGET: &str = "targets/qemu-mps2-an385.yaml";

/// Whether QEMU and the reference firmware are here to run the QEMU target. Without them a test
/// says why and is skipped — unless `HILT_REQUIRE_QEMU=1` (CI), where that is a failure.
pub fn qemu_ready() -> bool {
    let firmware = std::env::var("HILT_QEMU_FIRMWARE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target/firmware/thumbv7m-none-eabi/release/refdev-fw"));
    let qemu = Command::new("qemu-system-arm").arg("--version").output().is_ok_and(|o| o.status.success());
    let missing = match (qemu, firmware.exists()) {
        (true, true) => return true,
        (false, _) => "qemu-system-arm is not installed (ci/firmware.sh installs it)".to_string(),
        (true, false) => format!("no firmware at {} (build it with ci/firmware.sh)", firmware.display()),
    };
    assert!(std::env::var("HILT_REQUIRE_QEMU").as_deref() != Ok("1"), "HILT_REQUIRE_QEMU=1 but {missing}");
    eprintln!("skipped: {missing}");
    false
}
