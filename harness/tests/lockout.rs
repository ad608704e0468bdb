//! The access-lockout suite against the reference device: every check PASSes on the conformant
//! device, and each access-control flaw makes exactly its checks FAIL (see docs/flaws.md for why
//! some flaws take a dependent check with them).

mod common;

use common::{assert_junit_valid, run};

#[test]
fn conformant_device_passes_every_lockout_check() {
    let r = run("lockout-conformant", "", &["--suite", "access-lockout"]);
    assert_eq!(r.code, 0, "{}", r.explain());
    for (id, verdict) in r.verdicts() {
        assert_eq!(verdict, "PASS", "{id}: {}", r.message(&id));
    }
    assert_eq!(r.verdicts().len(), 7);
    let la05 =
        r.results()["checks"].as_array().unwrap().iter().find(|c| c["id"] == "LA-05").cloned().unwrap();
    let measured = la05["measurements"].to_string();
    assert!(measured.contains("failures_before_lockout"), "LA-05 reports what it measured: {measured}");
    assert_junit_valid(&r.out.join("junit.xml"));
}

/// (flaw, checks that must FAIL, checks that may not PASS either, words in the first FAIL's message)
const MATRIX: &[(&str, &[&str], &[&str], &str)] = &[
    ("lockout-none", &["LA-05", "LA-06"], &["LA-07"], "never locking"),
    ("lockout-shorter-than-declared", &["LA-05"], &[], "declared 3.0 s"),
    ("lockout-resets-on-reboot", &["LA-06"], &[], "survive a power cycle"),
    ("lockout-per-connection", &["LA-07", "LA-06"], &[], "login-mgmt answered \"ok\""),
    ("password-change-no-auth", &["LA-08"], &[], "without login"),
    ("default-password", &["LA-03", "LA-04"], &[], "accepted \"admin\""),
    ("mgmt-no-auth", &["LA-02", "LA-04"], &[], "protected-mgmt refused without credentials"),
];

fn assert_flaw(flaw: &str) {
    let (_, fails, not_pass, words) = MATRIX.iter().find(|(f, ..)| *f == flaw).expect("flaw in matrix");
    let r = run(&format!("lockout-{flaw}"), flaw, &["--suite", "access-lockout"]);
    assert_eq!(r.code, 1, "{flaw}: {}", r.explain());
    for (id, verdict) in r.verdicts() {
        if fails.contains(&id.as_str()) {
            assert_eq!(verdict, "FAIL", "{flaw}: {id} ({})", r.message(&id));
        } else if not_pass.contains(&id.as_str()) {
            assert_eq!(verdict, "INCONCLUSIVE", "{flaw}: {id} ({})", r.message(&id));
        } else {
            assert_eq!(verdict, "PASS", "{flaw}: {id} ({})", r.message(&id));
        }
    }
    let message = r.message(fails[0]);
    assert!(message.contains(words), "{flaw}: {} should say what differed: {message}", fails[0]);
    assert_junit_valid(&r.out.join("junit.xml"));
}

#[test]
fn flaw_lockout_none() {
    assert_flaw("lockout-none");
}

#[test]
fn flaw_lockout_shorter_than_declared() {
    assert_flaw("lockout-shorter-than-declared");
}

#[test]
fn flaw_lockout_resets_on_reboot() {
    assert_flaw("lockout-resets-on-reboot");
}

#[test]
fn flaw_lockout_per_connection() {
    assert_flaw("lockout-per-connection");
}

#[test]
fn flaw_password_change_no_auth() {
    assert_flaw("password-change-no-auth");
}

#[test]
fn flaw_default_password() {
    assert_flaw("default-password");
}

#[test]
fn flaw_mgmt_no_auth() {
    assert_flaw("mgmt-no-auth");
}
