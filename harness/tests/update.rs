//! The software-update suite against the reference device: all PASS when conformant; each update
//! flaw FAILs the checks docs/flaws.md names, with the evidence in the message.

mod common;

use common::{assert_conformant, assert_flaw_verdicts, run};

#[test]
fn conformant_device_passes_every_update_check() {
    let r = run("update-conformant", "", &["--suite", "software-update"]);
    assert_conformant(&r, 9);
    assert!(r.message("SU-07").contains("20 power cuts"), "{}", r.message("SU-07"));
    assert!(
        r.message("SU-02").contains("hash-mismatch"),
        "the device's reason is quoted: {}",
        r.message("SU-02")
    );
}

#[test]
fn flaw_update_no_verify() {
    let expected = [("SU-02", "FAIL"), ("SU-04", "FAIL")];
    assert_flaw_verdicts("software-update", "update-no-verify", &expected, "accepted: flip-header");
}

/// A device that checks only the hash also takes a flipped byte inside the signature (SU-02's
/// flip-trailer): the signature is the only thing covering it.
#[test]
fn flaw_update_hash_only() {
    let expected = [("SU-04", "FAIL"), ("SU-02", "FAIL")];
    assert_flaw_verdicts("software-update", "update-hash-only", &expected, "accepted: strip-signature");
}

#[test]
fn flaw_update_accepts_truncated() {
    assert_flaw_verdicts("software-update", "update-accepts-truncated", &[("SU-03", "FAIL")], "truncate-1");
}

#[test]
fn flaw_update_any_target() {
    assert_flaw_verdicts("software-update", "update-any-target", &[("SU-05", "FAIL")], "for model refdev-b");
}

#[test]
fn flaw_update_allow_downgrade() {
    assert_flaw_verdicts("software-update", "update-allow-downgrade", &[("SU-06", "FAIL")], "older");
}

#[test]
fn flaw_update_in_place() {
    assert_flaw_verdicts("software-update", "update-in-place", &[("SU-07", "FAIL")], "no longer boots");
}

#[test]
fn flaw_update_no_auth() {
    assert_flaw_verdicts("software-update", "update-no-auth", &[("SU-09", "FAIL")], "without a login");
}
