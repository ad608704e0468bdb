//! The access-lockout suite against the reference device: every check PASSes on the conformant
//! device, and each access-control flaw makes exactly its checks FAIL (see docs/flaws.md for why
//! some flaws take a dependent check with them).

mod common;

use common::{assert_conformant, assert_flaw_verdicts, run};

#[test]
fn conformant_device_passes_every_lockout_check() {
    let r = run("lockout-conformant", "", &["--suite", "access-lockout"]);
    assert_conformant(&r, 8);
    let la05 =
        r.results()["checks"].as_array().unwrap().iter().find(|c| c["id"] == "LA-05").cloned().unwrap();
    let measured = la05["measurements"].to_string();
    assert!(measured.contains("failures_before_lockout"), "LA-05 reports what it measured: {measured}");
}

fn assert_flaw(flaw: &str, expected: &[(&str, &str)], words: &str) {
    assert_flaw_verdicts("access-lockout", flaw, expected, words);
}

#[test]
fn flaw_lockout_none() {
    let expected = [("LA-05", "FAIL"), ("LA-06", "FAIL"), ("LA-07", "INCONCLUSIVE")];
    assert_flaw("lockout-none", &expected, "never locking");
}

#[test]
fn flaw_lockout_shorter_than_declared() {
    assert_flaw("lockout-shorter-than-declared", &[("LA-05", "FAIL")], "declared 3.0 s");
}

#[test]
fn flaw_lockout_resets_on_reboot() {
    assert_flaw("lockout-resets-on-reboot", &[("LA-06", "FAIL")], "survive a power cycle");
}

#[test]
fn flaw_lockout_per_connection() {
    let expected = [("LA-07", "FAIL"), ("LA-06", "FAIL")];
    assert_flaw("lockout-per-connection", &expected, "login-mgmt answered \"ok\"");
}

#[test]
fn flaw_password_change_no_auth() {
    assert_flaw("password-change-no-auth", &[("LA-08", "FAIL")], "without login");
}

#[test]
fn flaw_default_password() {
    assert_flaw("default-password", &[("LA-03", "FAIL"), ("LA-04", "FAIL")], "accepted \"admin\"");
}

#[test]
fn flaw_mgmt_no_auth() {
    let expected = [("LA-02", "FAIL"), ("LA-04", "FAIL")];
    assert_flaw("mgmt-no-auth", &expected, "protected-mgmt refused without credentials");
}
