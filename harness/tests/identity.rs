//! The identity suite against the reference device: every check PASSes on the conformant device
//! and exactly the check each flaw targets FAILs, with a message naming what differed.

mod common;

use common::{assert_conformant, assert_flaw_verdicts, run};

#[test]
fn conformant_device_passes_every_identity_check() {
    let r = run("identity-conformant", "", &["--suite", "identity"]);
    assert_conformant(&r, 5);
    for id in ["ID-01", "ID-02", "ID-03", "ID-05", "ID-12"] {
        assert!(r.out.join("transcripts").join(format!("{id}.log")).exists(), "{id} transcript");
    }
}

#[test]
fn flaw_id_channel_mismatch_fails_id01() {
    assert_flaw_verdicts("identity", "id-channel-mismatch", &[("ID-01", "FAIL")], "identify-mgmt");
}

#[test]
fn flaw_id_shared_fails_id02() {
    assert_flaw_verdicts("identity", "id-shared", &[("ID-02", "FAIL")], "both report");
}

#[test]
fn flaw_id_random_per_boot_fails_id03() {
    assert_flaw_verdicts("identity", "id-random-per-boot", &[("ID-03", "FAIL")], "after power cycle 1");
}

#[test]
fn flaw_id_changes_on_reset_fails_id05() {
    assert_flaw_verdicts("identity", "id-changes-on-reset", &[("ID-05", "FAIL")], "survive factory reset");
}
