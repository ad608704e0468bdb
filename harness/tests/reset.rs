//! The factory-reset suite against the reference device: all PASS when conformant; each reset flaw
//! FAILs its checks. A reset that keeps credentials also leaves FR-08, FR-05 and FR-07 in ERROR: the
//! device can no longer be brought to a known state, which hilt reports as its own inability, not
//! as a verdict.

mod common;

use common::{assert_conformant, assert_flaw_verdicts, run};

#[test]
fn conformant_device_passes_every_reset_check() {
    let r = run("reset-conformant", "", &["--suite", "factory-reset"]);
    assert_conformant(&r, 6);
}

#[test]
fn flaw_reset_keeps_user_data() {
    assert_flaw_verdicts(
        "factory-reset",
        "reset-keeps-user-data",
        // FR-05 too: any reset, cut or not, leaves data behind an uninitialized device.
        &[("FR-02", "FAIL"), ("FR-05", "FAIL")],
        "still readable: wifi.psk=",
    );
}

#[test]
fn flaw_reset_keeps_credentials() {
    let expected =
        [("FR-02", "FAIL"), ("FR-01", "FAIL"), ("FR-08", "ERROR"), ("FR-05", "ERROR"), ("FR-07", "ERROR")];
    assert_flaw_verdicts("factory-reset", "reset-keeps-credentials", &expected, "credentials gone");
}

#[test]
fn flaw_reset_no_auth() {
    assert_flaw_verdicts("factory-reset", "reset-no-auth", &[("FR-08", "FAIL")], "without authentication");
}

#[test]
fn flaw_reset_not_atomic() {
    assert_flaw_verdicts(
        "factory-reset",
        "reset-not-atomic",
        &[("FR-05", "FAIL")],
        "as if reset, yet still holds",
    );
}

#[test]
fn flaw_reset_rolls_back() {
    assert_flaw_verdicts(
        "factory-reset",
        "reset-rolls-back",
        &[("FR-07", "FAIL")],
        "rolled the firmware back",
    );
}

/// The universal password a `default-password` device accepts (LA-03, LA-04) is still there after
/// a reset: FR-07 re-runs that check on the reset device.
#[test]
fn flaw_default_password_survives_reset() {
    assert_flaw_verdicts(
        "factory-reset",
        "default-password",
        &[("FR-07", "FAIL")],
        "accepted the common password",
    );
}
