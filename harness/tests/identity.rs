//! The identity suite against the reference device: every check PASSes on the conformant device
//! and exactly the check each flaw targets FAILs, with a message naming what differed.

mod common;

use common::{assert_junit_valid, run};

#[test]
fn conformant_device_passes_every_identity_check() {
    let r = run("identity-conformant", "", &["--suite", "identity"]);
    assert_eq!(r.code, 0, "{}", r.explain());
    let verdicts = r.verdicts();
    for id in ["ID-01", "ID-02", "ID-03", "ID-05"] {
        assert_eq!(
            verdicts.get(id).map(String::as_str),
            Some("PASS"),
            "{id}: {}\n{}",
            r.message(id),
            r.explain()
        );
    }
    assert_junit_valid(&r.out.join("junit.xml"));
    for id in ["ID-01", "ID-02", "ID-03", "ID-05"] {
        assert!(r.out.join("transcripts").join(format!("{id}.log")).exists(), "{id} transcript");
    }
}

/// (flaw, the check it must make FAIL, words the failure message must contain)
const MATRIX: &[(&str, &str, &str)] = &[
    ("id-channel-mismatch", "ID-01", "identify-mgmt"),
    ("id-shared", "ID-02", "both report"),
    ("id-random-per-boot", "ID-03", "after power cycle 1"),
    ("id-changes-on-reset", "ID-05", "survive factory reset"),
];

fn assert_only_target_fails(flaw: &str) {
    let (_, check, words) = MATRIX.iter().find(|(f, _, _)| *f == flaw).expect("flaw in matrix");
    let r = run(&format!("identity-{flaw}"), flaw, &["--suite", "identity"]);
    assert_eq!(r.code, 1, "{flaw}: {}", r.explain());
    for (id, verdict) in r.verdicts() {
        let want = if id == *check { "FAIL" } else { "PASS" };
        assert_eq!(verdict, want, "{flaw}: {id} ({})\n{}", r.message(&id), r.explain());
    }
    let message = r.message(check);
    assert!(message.contains(words), "{flaw}: {check} message should name what differed: {message}");
    assert_junit_valid(&r.out.join("junit.xml"));
}

#[test]
fn flaw_id_channel_mismatch_fails_id01() {
    assert_only_target_fails("id-channel-mismatch");
}

#[test]
fn flaw_id_shared_fails_id02() {
    assert_only_target_fails("id-shared");
}

#[test]
fn flaw_id_random_per_boot_fails_id03() {
    assert_only_target_fails("id-random-per-boot");
}

#[test]
fn flaw_id_changes_on_reset_fails_id05() {
    assert_only_target_fails("id-changes-on-reset");
}
