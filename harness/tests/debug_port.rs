//! The debug-port checks against the reference firmware under QEMU, where QEMU's gdbstub is the
//! debug port: on an engineering unit (debug left open) ID-12, FR-03 and SU-12 PASS and LA-11 does
//! not apply; on a production unit LA-11 PASSes and the others do not apply. Each debug-port flaw
//! makes exactly its check FAIL.

mod common;

use common::{assert_junit_valid, qemu_ready, run_with, Run, QEMU_TARGET};

const CHECKS: [&str; 4] = ["ID-12", "FR-03", "SU-12", "LA-11"];

fn run_unit(name: &str, unit: &str, flaws: &str) -> Run {
    let mut args = vec!["--target", QEMU_TARGET];
    args.extend(CHECKS);
    run_with(name, &[("HILT_QEMU_UNIT", unit), ("REFDEV_FLAWS", flaws)], &args)
}

/// Asserts each check's verdict; a FAILing one must say `words`; exit code and JUnit to match.
fn assert_verdicts(r: &Run, expected: &[(&str, &str)], words: &str) {
    let verdicts = r.verdicts();
    assert_eq!(verdicts.len(), CHECKS.len(), "{}", r.explain());
    for (id, want) in expected {
        assert_eq!(verdicts[*id], *want, "{id}: {}\n{}", r.message(id), r.explain());
    }
    if let Some((id, _)) = expected.iter().find(|(_, v)| *v == "FAIL") {
        assert!(r.message(id).contains(words), "{id} should say what it found: {}", r.message(id));
        assert_eq!(r.code, 1, "{}", r.explain());
    } else {
        assert_eq!(r.code, 0, "{}", r.explain());
    }
    assert_junit_valid(&r.out.join("junit.xml"));
}

/// Verdicts of a conformant unit of each kind.
const ENGINEERING_PASS: [(&str, &str); 4] =
    [("ID-12", "PASS"), ("FR-03", "PASS"), ("SU-12", "PASS"), ("LA-11", "NOT_APPLICABLE")];
const PRODUCTION_PASS: [(&str, &str); 4] = [
    ("LA-11", "PASS"),
    ("ID-12", "NOT_APPLICABLE"),
    ("FR-03", "NOT_APPLICABLE"),
    ("SU-12", "NOT_APPLICABLE"),
];

#[test]
fn engineering_unit_passes_the_checks_that_look_inside() {
    if !qemu_ready() {
        return;
    }
    let r = run_unit("debug-engineering", "engineering", "");
    assert_verdicts(&r, &ENGINEERING_PASS, "");
    assert!(r.message("FR-03").contains("before the reset"), "{}", r.message("FR-03"));
    assert!(r.message("SU-12").contains("refused"), "{}", r.message("SU-12"));
}

#[test]
fn production_unit_has_its_debug_port_locked() {
    if !qemu_ready() {
        return;
    }
    let r = run_unit("debug-production", "production", "");
    assert_verdicts(&r, &PRODUCTION_PASS, "");
    let la11 = r.message("LA-11");
    assert!(la11.contains("after a power cycle") && la11.contains("after an update to"), "{la11}");
}

/// One flaw on one unit: its check FAILs, the other checks keep their conformant verdicts.
fn assert_flaw(unit: &str, flaw: &str, failing: &str, words: &str) {
    if !qemu_ready() {
        return;
    }
    let r = run_unit(&format!("debug-{flaw}"), unit, flaw);
    let conformant = if unit == "engineering" { ENGINEERING_PASS } else { PRODUCTION_PASS };
    let expected = conformant.map(|(id, v)| if id == failing { (id, "FAIL") } else { (id, v) });
    assert_verdicts(&r, &expected, words);
}

#[test]
fn flaw_id_physical_mismatch_fails_id12() {
    assert_flaw("engineering", "id-physical-mismatch", "ID-12", "read through the debug port hold");
}

#[test]
fn flaw_reset_logical_only_fails_fr03() {
    assert_flaw("engineering", "reset-logical-only", "FR-03", "still there: canary");
}

#[test]
fn flaw_no_secure_boot_fails_su12() {
    assert_flaw("engineering", "no-secure-boot", "SU-12", "it booted and runs");
}

#[test]
fn flaw_debug_open_fails_la11() {
    assert_flaw("production", "debug-open", "LA-11", "hilt attached and read");
}

/// With no image verification anywhere, the bootloader also runs an image changed in flash.
#[test]
fn flaw_update_no_verify_also_fails_su12() {
    assert_flaw("engineering", "update-no-verify", "SU-12", "it booted and runs");
}
