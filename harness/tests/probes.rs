//! `hilt probes` as a bench user meets it, on a machine with no debug probe (CI, this one).

use std::process::Command;

fn hilt(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hilt")).args(args).output().expect("hilt runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn probes_lists_both_sections_and_exits_0_with_nothing_attached() {
    let (code, stdout, stderr) = hilt(&["probes"]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.starts_with("Debug probes:\n"), "{stdout}");
    assert!(
        stdout.contains(
            "no debug probe is attached (probe-rs sees no CMSIS-DAP, ST-Link, J-Link, FTDI or ESP USB-JTAG probe)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("\nSerial ports:\n"), "{stdout}");
}

#[test]
fn probes_help_says_how_to_use_the_output() {
    let (code, stdout, _) = hilt(&["probes", "--help"]);
    assert_eq!(code, 0, "{stdout}");
    // The help is wrapped to the terminal: compare with single spaces.
    let stdout = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(stdout.contains("copy it under `debug:` in the target file"), "{stdout}");
    assert!(stdout.contains("its line for `channels:`"), "{stdout}");
    assert!(
        stdout.contains("probe: { selector: \"1366:1015:000683000000\", chip: nRF52840_xxAA }"),
        "{stdout}"
    );
}
