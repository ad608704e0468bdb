//! The factory-reset suite against the reference device: all PASS when conformant; each reset flaw
//! FAILs its checks. A reset that keeps credentials also leaves FR-08 in ERROR: the device can no
//! longer be brought to a known state, which hilt reports as its own inability, not as a verdict.

mod common;

use common::{assert_flaw_verdicts, assert_junit_valid, run};

#[test]
fn conformant_device_passes_every_reset_check() {
    let r = run("reset-conformant", "", &["--suite", "factory-reset"]);
    assert_eq!(r.code, 0, "{}", r.explain());
    assert_eq!(r.verdicts().len(), 3);
    for (id, verdict) in r.verdicts() {
        assert_eq!(verdict, "PASS", "{id}: {}", r.message(&id));
    }
    assert_junit_valid(&r.out.join("junit.xml"));
}

#[test]
fn flaw_reset_keeps_user_data() {
    assert_flaw_verdicts(
        "factory-reset",
        "reset-keeps-user-data",
        &[("FR-02", "FAIL")],
        "still readable: wifi.psk=",
    );
}

#[test]
fn flaw_reset_keeps_credentials() {
    let expected = [("FR-02", "FAIL"), ("FR-01", "FAIL"), ("FR-08", "ERROR")];
    assert_flaw_verdicts("factory-reset", "reset-keeps-credentials", &expected, "credentials gone");
}

#[test]
fn flaw_reset_no_auth() {
    assert_flaw_verdicts("factory-reset", "reset-no-auth", &[("FR-08", "FAIL")], "without authentication");
}
