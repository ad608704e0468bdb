use std::path::Path;

use super::*;

fn target(src: &str) -> Result<Target, Diagnostics> {
    parse_target(src, Path::new("t.yaml"))
}

/// The one error `src` has, as text.
fn error(src: &str) -> String {
    let d = target(src).unwrap_err();
    assert_eq!(d.0.len(), 1, "{d}");
    d.0[0].to_string()
}

/// The example of the target file format from the design, with every section used.
const EXAMPLE: &str = r#"
name: refdev-host
description: Built-in reference device, host build
timeouts: { scale: 1.0, operation: 5s }
launch:
  command: ["{hilt}", "reference-device", "--state-dir", "{state_dir}"]
  env: { RUST_LOG: info }
  ready: 'REFDEV READY console=(?P<console>\S+) mgmt=(?P<mgmt_host>[0-9.]+):(?P<mgmt_port>\d+)'
  ready-timeout: 10s
channels:
  console: { serial: { path: "{ready.console}", baud: 115200 } }
  mgmt: { tcp: { host: "{ready.mgmt_host}", port: "{ready.mgmt_port}" } }
  bench: { serial: { usb: { vid: 0x1366, pid: 0x1015, serial: "000683" }, baud: 115200 } }
power:
  launch: {}
crash-patterns: ['PANIC', 'HardFault', 'panicked at']
secrets:
  admin-password: "${HILT_CONFIG_TEST_UNSET_VAR:-Ref-dev-Pw-4821}"
lifecycle:
  status: status
  provision: login
  factory-reset: factory-reset
capabilities:
  device-identity:
    format: '^[0-9a-f]{16}$'
    read: [identify-console]
  factory-reset:
    methods: [factory-reset]
    user-data:
      write: flash
      read: login
operations:
  identify-console:
    channel: console
    timeout: 3s
    steps:
      - send: "id
"
        expect: 'ID=(?P<device_id>[0-9a-f]+)'
        timeout: 2s
  login:
    channel: console
    steps:
      - send: "login {secret.admin-password}
"
        expect:
          ok: 'LOGIN OK'
          denied: 'LOGIN DENIED'
          locked: 'LOCKED (?P<remaining>\d+)'
  status: { channel: console, steps: [ { send: "status
", expect: { uninitialized: 'STATE=uninitialized', initialized: 'STATE=initialized' } } ] }
  factory-reset:
    steps:
      - { channel: mgmt, send: "reset
" }
      - { channel: console, expect: 'RESET OK' }
  flash:
    exec: { command: [nrfjprog, --program, "{arg.image}"], timeout: 60s, expect-exit: 0 }
"#;

#[test]
fn the_design_example_parses_into_the_model() {
    let t = target(EXAMPLE).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(t.timeouts.operation, std::time::Duration::from_secs(5));
    let launch = t.launch.as_ref().unwrap();
    assert_eq!(launch.command[3].raw(), "{state_dir}");
    assert_eq!(launch.ready_timeout, std::time::Duration::from_secs(10));
    assert!(matches!(&t.channels["bench"], Channel::Serial(s) if s.usb.as_ref().unwrap().vid == 0x1366));
    assert!(matches!(t.power, Some(Power::Launch(_))));
    assert_eq!(t.secret_values(), vec!["Ref-dev-Pw-4821".to_string()]);
    let OpBody::Steps(steps) = &t.operations["login"].body else { panic!("steps") };
    let outcomes: Vec<&str> =
        steps[0].expect.as_ref().unwrap().alternatives().iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(outcomes, ["ok", "denied", "locked"], "file order is kept");
    assert!(matches!(&t.operations["flash"].body, OpBody::Exec(e) if e.expect_exit == 0));
}

const MINIMAL: &str = "name: x\nchannels:\n  console:\n    serial: { path: /dev/ttyACM0, baud: 115200 }\n";

#[test]
fn the_reference_target_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let t = load_target(&root.join("targets/refdev.yaml")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(t.capabilities.device_identity.as_ref().unwrap().read.len(), 2);
    assert!(load_suite(&root.join("testsuites/identity.yaml")).is_ok());
}

#[test]
fn misspelled_key_names_line_column_and_the_expected_keys() {
    let d = target("name: x\nchannels:\n  console:\n    serial: { path: /dev/ttyACM0, baudrate: 115200 }\n")
        .unwrap_err();
    let text = d.to_string();
    assert!(text.starts_with("t.yaml:4:"), "{text}");
    assert!(text.contains("baudrate") && text.contains("expected"), "{text}");
    let d = target("name: x\nchanels: {}\n").unwrap_err();
    assert!(d.to_string().starts_with("t.yaml:2:1:"), "{d}");
}

#[test]
fn bad_values_are_located_at_the_value() {
    let d = error(&format!("{MINIMAL}crash-patterns: [PANIC, '(unclosed']\n"));
    assert!(
        d.starts_with("t.yaml:5:25: crash-patterns[1]: invalid regular expression") && !d.contains('\n'),
        "{d}"
    );
    let d = error(&format!("{MINIMAL}timeouts: {{ operation: 5 }}\n"));
    assert!(d.starts_with("t.yaml:5:24:") && d.contains("expected a duration like 2s or 500ms"), "{d}");
    let op = format!("{MINIMAL}operations:\n  op:\n    channel: console\n    steps:\n      - send: ");
    let d = error(&format!("{op}\"{{oops}}\"\n"));
    assert!(d.starts_with("t.yaml:9:15:") && d.contains("unknown placeholder {oops}"), "{d}");
    let d = error(&format!("{op}\"a {{arg.x\"\n"));
    assert!(d.starts_with("t.yaml:9:15:") && d.contains("unclosed '{'"), "{d}");
    let d = error(&format!("{op}x\n        expect:\n          ok: a\n          bad: '(x'\n"));
    assert!(d.starts_with("t.yaml:12:16:") && d.contains("unclosed group"), "{d}");
    let d = error("name: x\nchannels:\n  mgmt: { tcp: { host: h, port: 70000 } }\n");
    assert!(d.starts_with("t.yaml:3:33:") && d.contains("expected a port number"), "{d}");
}

#[test]
fn shapes_that_serde_cannot_express_are_located_at_their_map() {
    let d =
        error("name: x\nchannels:\n  c:\n    serial: { path: a, baud: 1 }\n    tcp: { host: a, port: 1 }\n");
    assert!(d.starts_with("t.yaml:4:5:") && d.contains("exactly one of `serial` or `tcp`"), "{d}");
    let d = error(&format!(
        "{MINIMAL}operations:\n  op:\n    channel: console\n    steps:\n      - timeout: 2s\n"
    ));
    assert!(d.starts_with("t.yaml:9:9:") && d.contains("`expect` or both"), "{d}");
    let d = error(&format!(
        "{MINIMAL}operations:\n  op:\n    channel: console\n    steps:\n      - send-file: {{ path: f, line: \"x\", chunk: 0 }}\n"
    ));
    assert!(d.starts_with("t.yaml:9:9:") && d.contains("`chunk` of at least 1 byte"), "{d}");
    let d = error(&format!("{MINIMAL}operations:\n  op:\n    channel: console\n    steps: []\n"));
    assert!(d.starts_with("t.yaml:7:5:") && d.contains("at least one step"), "{d}");
    let d = error(&format!("{MINIMAL}power:\n  launch: {{}}\n  exec: {{ on: [a], off: [b] }}\n"));
    assert!(d.starts_with("t.yaml:6:3:") && d.contains("exactly one of `launch`, `exec` or `qmp`"), "{d}");
}

#[test]
fn the_debug_section_is_checked_and_located() {
    let ok = format!(
        "{MINIMAL}debug:\n  unit: engineering\n  probe: {{ selector: \"1366:1015:000683\", chip: nRF52840_xxAA }}\n  \
         identifier: {{ address: 0x10000060, size: 8, encoding: hex-reversed }}\n  flash: [{{ address: 0x0, size: 0x100000 }}]\n"
    );
    let t = target(&ok).unwrap_or_else(|d| panic!("{d}"));
    let debug = t.debug.unwrap();
    assert_eq!(debug.unit, DebugUnit::Engineering);
    assert_eq!(debug.identifier.as_ref().unwrap().address, 0x1000_0060);
    assert_eq!(debug.identifier.unwrap().encoding.render(&[1, 2, 0xab]), "ab0201");
    let d = error(&format!("{MINIMAL}debug:\n  unit: prototype\n  gdb-remote: {{ host: h, port: 1 }}\n"));
    assert!(d.starts_with("t.yaml:6:3:") && d.contains("`production` or `engineering`"), "{d}");
    let d = error(&format!(
        "{MINIMAL}debug:\n  unit: production\n  gdb-remote: {{ host: h, port: 1 }}\n  probe: {{ selector: \"1:2\", chip: c }}\n"
    ));
    assert!(d.starts_with("t.yaml:5:1:") && d.contains("exactly one of `gdb-remote:"), "{d}");
    let d =
        error(&format!("{MINIMAL}debug:\n  unit: production\n  probe: {{ selector: \"jlink\", chip: c }}\n"));
    assert!(d.starts_with("t.yaml:7:") && d.contains("VID:PID[:SERIAL]"), "{d}");
    let d = error(&format!(
        "{MINIMAL}debug:\n  unit: production\n  gdb-remote: {{ host: h, port: 1 }}\n  flash: [{{ address: 0x0, size: 0 }}]\n"
    ));
    assert!(d.starts_with("t.yaml:8:") && d.contains("a size from 1"), "{d}");
    let d = error(&format!("{MINIMAL}debug:\n  unit: \"${{HILT_CONFIG_TEST_UNSET_VAR}}\"\n  gdb-remote: {{ host: h, port: 1 }}\n"));
    assert!(d.contains("HILT_CONFIG_TEST_UNSET_VAR is not set"), "{d}");
    let t = target(&format!("{MINIMAL}debug:\n  unit: \"${{HILT_CONFIG_TEST_UNSET_VAR:-production}}\"\n  gdb-remote: {{ host: h, port: 1 }}\n"));
    assert_eq!(t.unwrap_or_else(|d| panic!("{d}")).debug.unwrap().unit, DebugUnit::Production);
}

#[test]
fn a_name_declared_twice_is_an_error_not_a_silent_overwrite() {
    let op = "  a:\n    channel: console\n    steps: [{ send: x }]\n";
    let d = error(&format!("{MINIMAL}operations:\n{op}{op}"));
    assert!(d.starts_with("t.yaml:9:3:") && d.contains("\"a\" is declared twice"), "{d}");
    let d = error(&format!(
        "{MINIMAL}operations:\n  a:\n    channel: console\n    steps: [{{ expect: {{ ok: x, ok: y }} }}]\n"
    ));
    assert!(d.starts_with("t.yaml:8:32:") && d.contains("\"ok\" is declared twice"), "{d}");
}

#[test]
fn references_between_sections_are_checked_and_located() {
    let src = format!(
        "{MINIMAL}operations:\n  op:\n    channel: consol\n    steps:\n      - send: \"{{secret.pw}}\"\nlifecycle:\n  status: nope\n"
    );
    let d = target(&src).unwrap_err();
    let text = d.to_string();
    assert!(text.contains("t.yaml:7:5: no channel named \"consol\""), "{text}");
    assert!(text.contains("t.yaml:9:") && text.contains("no secret named"), "{text}");
    assert!(text.contains("t.yaml:11:3: no operation named \"nope\""), "{text}");

    let d = error(&format!("{MINIMAL}operations:\n  st: {{ channel: consol, steps: [ {{ send: x }} ] }}\n"));
    assert!(d.starts_with("t.yaml:6:9: no channel named \"consol\"; declared: console"), "{d}");
    let d = error(&format!("{MINIMAL}launch:\n  command: [dev]\n  env: {{ X: \"{{ready.nope}}\" }}\n  ready: 'UP (?P<port>\\d+)'\n"));
    assert!(d.starts_with("t.yaml:7:10:") && d.contains("no capture group named \"nope\""), "{d}");
    let d = error(&format!("{MINIMAL}power:\n  exec: {{ on: [\"{{secret.pw}}\"], off: [b] }}\n"));
    assert!(d.starts_with("t.yaml:6:11:") && d.contains("no secret named \"pw\""), "{d}");
    let d = error(&format!("{MINIMAL}power: {{ launch: {{}} }}\n"));
    assert!(d.starts_with("t.yaml:5:10:") && d.contains("needs a `launch` section"), "{d}");
}

#[test]
fn operations_the_harness_reads_values_from_can_produce_them() {
    let src = format!(
        "{MINIMAL}lifecycle: {{ status: st }}\ncapabilities:\n  device-identity: {{ format: x, read: [id] }}\noperations:\n  id:\n    channel: console\n    steps: [{{ send: x, expect: 'ID=(?P<id>.+)' }}]\n  st:\n    channel: console\n    steps: [{{ send: x, expect: {{ initialized: a, other: b }} }}]\n"
    );
    let text = target(&src).unwrap_err().to_string();
    assert!(text.contains("t.yaml:9:3: operation \"id\" is listed under `capabilities.device-identity.read` but captures no `device_id`"), "{text}");
    assert!(
        text.contains(
            "t.yaml:12:3: operation \"st\" is `lifecycle.status` but has no outcome \"uninitialized\""
        ),
        "{text}"
    );
    assert!(!text.contains("no outcome \"initialized\""), "{text}");
}

#[test]
fn secrets_come_from_the_environment() {
    let src = format!("{MINIMAL}secrets:\n  pw: \"${{HILT_CONFIG_TEST_UNSET_VAR}}\"\n");
    let d = target(&src).unwrap_err().to_string();
    assert!(d.starts_with("t.yaml:6:3:") && d.contains("HILT_CONFIG_TEST_UNSET_VAR"), "{d}");
    let src = format!("{MINIMAL}secrets:\n  pw: \"${{HILT_CONFIG_TEST_UNSET_VAR:-fallback}}\"\n");
    assert_eq!(target(&src).unwrap().secret_values(), vec!["fallback".to_string()]);
    // Any variable that is set will do; PATH is set wherever cargo runs tests.
    let src = format!("{MINIMAL}secrets:\n  pw: \"${{PATH:-fallback}}\"\n");
    assert_eq!(target(&src).unwrap().secrets["pw"], std::env::var("PATH").unwrap());
}

#[test]
fn duplicate_check_ids_are_located() {
    let src = "suite: s\nchecks:\n  - id: A\n    title: a\n    capability: c\n  - id: A\n    title: b\n    capability: c\n";
    let d = parse_suite(src, Path::new("s.yaml")).unwrap_err().to_string();
    assert!(d.starts_with("s.yaml:6:5: check A is listed twice"), "{d}");
}

#[test]
fn suite_checks_know_where_they_are_and_params_are_scalars() {
    let src = "suite: s\nchecks:\n- id: A\n  title: a\n  capability: c\n  params: { n: 5, t: 2s, f: 1.5, b: true }\n- { id: B, title: b, capability: c }\n";
    let s = parse_suite(src, Path::new("s.yaml")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!((s.checks[0].line, s.checks[0].column), (3, 3));
    assert_eq!((s.checks[1].line, s.checks[1].column), (7, 5));
    let p = &s.checks[0].params;
    assert_eq!(p["n"].as_u64(), Some(5));
    assert_eq!(p["t"].as_duration(), Some(std::time::Duration::from_secs(2)));
    assert_eq!(p["f"].as_f64(), Some(1.5));
    assert_eq!(p["b"].as_bool(), Some(true));
    let bad = src.replace("b: true", "b: [1]");
    let d = parse_suite(&bad, Path::new("s.yaml")).unwrap_err().to_string();
    assert!(d.starts_with("s.yaml:6:37:") && d.contains("expected a parameter value"), "{d}");
}

#[test]
fn garbage_never_panics_and_is_located() {
    for src in [
        "",
        "\u{0}\u{1b}]]>",
        "[[[[[[",
        "name: [1, {",
        "- - - -",
        ": : :",
        "name: x\nchannels: 7\n",
        "\t\tname",
        "name: \"\\x\"\n{",
        "{a: ".repeat(100_000).as_str(),
        "[".repeat(100_000).as_str(),
        "- ".repeat(10_000).as_str(),
        "a: &a [x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
        "name: x\nchannels:\n  c: { serial: { path: '{', baud: 1 } }\n  \u{1F600}: { tcp: { host: \u{e9}, port: \"{x\" } }\n",
    ] {
        let d = target(src).unwrap_err();
        assert!(d.0.iter().all(|e| e.line >= 1 && e.column >= 1), "{src:?}: {d}");
    }
}

#[test]
fn chunk_placeholders_belong_to_send_file_lines() {
    let d = error(&format!(
        "{MINIMAL}operations:\n  op:\n    channel: console\n    steps:\n      - send: \"{{chunk.hex}}\"\n"
    ));
    assert!(d.contains("only known in a `send-file` step's `line`"), "{d}");
    let d = error(&format!(
        "{MINIMAL}operations:\n  op:\n    channel: console\n    steps:\n      - send-file: {{ path: f, line: \"{{chunk.size}}\" }}\n"
    ));
    assert!(d.contains("expected {chunk.hex} or {chunk.offset}"), "{d}");
}
