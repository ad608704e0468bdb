//! Checks across a target file that serde cannot make: references between sections, and that the
//! operations the harness reads values from can produce them.

use super::debug::DebugAccess;
use super::diagnostics::Diagnostic;
use super::locate::locate;
use super::target::{Channel, OpBody, Power, Target};
use super::values::Template;

pub(super) fn target(t: &Target) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |path: &[&str], message: String| out.push(locate(&t.source, &t.file, path, message));

    match &t.power {
        Some(Power::Launch(_)) if t.launch.is_none() => err(
            &["power", "launch"],
            "power `launch` needs a `launch` section to start the device again".into(),
        ),
        Some(Power::Qmp(_)) if t.launch.is_none() => err(
            &["power", "qmp"],
            "power `qmp` needs a `launch` section: hilt starts QEMU again after a power-off".into(),
        ),
        _ => {}
    }
    let ready_names: Vec<String> = t
        .launch
        .as_ref()
        .map(|l| l.ready.regex().capture_names().flatten().map(String::from).collect())
        .unwrap_or_default();
    let check_any = |path: &[&str],
                     tpl: &Template,
                     chunk_line: bool,
                     err: &mut dyn FnMut(&[&str], String)| {
        for p in tpl.placeholders() {
            if let Some(name) = p.strip_prefix("secret.") {
                if !t.secrets.contains_key(name) {
                    err(path, format!("{{{p}}}: no secret named {name:?} is declared under `secrets`"));
                }
            } else if p.starts_with("chunk.") {
                if !chunk_line {
                    err(path, format!("{{{p}}} is only known in a `send-file` step's `line`"));
                } else if !["chunk.hex", "chunk.offset"].contains(&p) {
                    err(path, format!("{{{p}}}: expected {{chunk.hex}} or {{chunk.offset}}"));
                }
            } else if let Some(name) = p.strip_prefix("ready.") {
                if t.launch.is_none() {
                    err(
                        path,
                        format!("{{{p}}}: expected a `launch` section whose `ready` pattern captures it"),
                    );
                } else if !ready_names.iter().any(|n| n == name) {
                    err(
                        path,
                        format!("{{{p}}}: the launch `ready` pattern has no capture group named {name:?}"),
                    );
                }
            }
        }
    };
    let check_template = |path: &[&str], tpl: &Template, err: &mut dyn FnMut(&[&str], String)| {
        check_any(path, tpl, false, err)
    };

    for (name, ch) in &t.channels {
        match ch {
            Channel::Serial(s) => {
                if s.path.is_some() == s.usb.is_some() {
                    err(
                        &["channels", name, "serial"],
                        "a serial channel has exactly one of `path` or `usb`".into(),
                    );
                }
                if let Some(p) = &s.path {
                    check_template(&["channels", name, "serial", "path"], p, &mut err);
                }
            }
            Channel::Tcp(c) => {
                check_template(&["channels", name, "tcp", "host"], &c.host, &mut err);
                check_template(&["channels", name, "tcp", "port"], &c.port, &mut err);
            }
        }
    }
    if let Some(l) = &t.launch {
        for c in &l.command {
            check_template(&["launch", "command"], c, &mut err);
        }
        for (var, value) in &l.env {
            check_template(&["launch", "env", var], value, &mut err);
        }
    }
    match &t.power {
        Some(Power::Exec(p)) => {
            for (key, command) in [("on", &p.on), ("off", &p.off)] {
                for c in command {
                    check_template(&["power", "exec", key], c, &mut err);
                }
            }
        }
        Some(Power::Qmp(q)) => {
            check_template(&["power", "qmp", "host"], &q.host, &mut err);
            check_template(&["power", "qmp", "port"], &q.port, &mut err);
        }
        _ => {}
    }
    if let Some(DebugAccess::GdbRemote(g)) = t.debug.as_ref().map(|d| &d.access) {
        check_template(&["debug", "gdb-remote", "host"], &g.host, &mut err);
        check_template(&["debug", "gdb-remote", "port"], &g.port, &mut err);
    }

    let channels: Vec<&str> = t.channels.keys().map(String::as_str).collect();
    if let Some(ready) = t.launch.as_ref().and_then(|l| l.console_ready.as_ref()) {
        if !channels.contains(&ready.channel.as_str()) {
            err(
                &["launch", "console-ready", "channel"],
                format!("no channel named {:?}; declared: {}", ready.channel, channels.join(", ")),
            );
        }
    }
    for (name, op) in &t.operations {
        let known = |c: &str| channels.contains(&c);
        if let Some(c) = &op.channel {
            if !known(c) {
                err(
                    &["operations", name, "channel"],
                    format!("no channel named {c:?}; declared: {}", channels.join(", ")),
                );
            }
        }
        match &op.body {
            OpBody::Steps(steps) => {
                for (i, step) in steps.iter().enumerate() {
                    let idx = i.to_string();
                    match (&step.channel, &op.channel) {
                        (Some(c), _) if !known(c) => err(
                            &["operations", name, "steps", &idx, "channel"],
                            format!("no channel named {c:?}; declared: {}", channels.join(", ")),
                        ),
                        (None, None) => err(
                            &["operations", name, "steps", &idx],
                            "this step names no channel and its operation has none".into(),
                        ),
                        _ => {}
                    }
                    if let Some(s) = &step.send {
                        check_template(&["operations", name, "steps", &idx, "send"], s, &mut err);
                    }
                    if let Some(f) = &step.send_file {
                        let at = |k| ["operations", name, "steps", &idx, "send-file", k];
                        check_template(&at("path"), &f.path, &mut err);
                        check_any(&at("line"), &f.line, true, &mut err);
                    }
                }
            }
            OpBody::Exec(e) => {
                for c in &e.command {
                    check_template(&["operations", name, "exec", "command"], c, &mut err);
                }
            }
        }
    }

    let mut refs: Vec<(Vec<&str>, &str)> = Vec::new();
    let l = &t.lifecycle;
    for (key, op) in [
        ("version", &l.version),
        ("status", &l.status),
        ("provision", &l.provision),
        ("factory-reset", &l.factory_reset),
    ] {
        if let Some(op) = op {
            refs.push((vec!["lifecycle", key], op));
        }
    }
    if let Some(id) = &t.capabilities.device_identity {
        refs.extend(id.read.iter().map(|op| (vec!["capabilities", "device-identity", "read"], op.as_str())));
        if id.read.is_empty() {
            err(
                &["capabilities", "device-identity", "read"],
                "list at least one operation that reads the identifier".into(),
            );
        }
    }
    if let Some(fr) = &t.capabilities.factory_reset {
        refs.extend(
            fr.methods.iter().map(|op| (vec!["capabilities", "factory-reset", "methods"], op.as_str())),
        );
        if fr.methods.is_empty() {
            err(&["capabilities", "factory-reset", "methods"], "list at least one reset operation".into());
        }
        if let Some(op) = &fr.unauthenticated {
            refs.push((vec!["capabilities", "factory-reset", "unauthenticated"], op));
        }
        if let Some(u) = &fr.user_data {
            refs.push((vec!["capabilities", "factory-reset", "user-data", "write"], &u.write));
            refs.push((vec!["capabilities", "factory-reset", "user-data", "read"], &u.read));
        }
    }
    if let Some(la) = &t.capabilities.access_lockout {
        let at = |k| vec!["capabilities", "access-lockout", k];
        refs.extend(la.login.iter().map(|op| (at("login"), op.as_str())));
        refs.push((at("logout"), &la.logout));
        refs.extend(la.protected.iter().map(|op| (at("protected"), op.as_str())));
        refs.push((at("change-password"), &la.change_password));
        if la.login.is_empty() {
            err(&at("login"), "list at least one login operation".into());
        }
        if la.threshold == 0 {
            err(&at("threshold"), "expected the number of failed logins that locks (at least 1)".into());
        }
        if !t.secrets.contains_key(&la.credential) {
            err(&at("credential"), format!("no secret named {:?} under `secrets`", la.credential));
        }
    }
    if let Some(su) = &t.capabilities.software_update {
        let at = |k| vec!["capabilities", "software-update", k];
        refs.push((at("update"), &su.update));
        refs.push((at("activate"), &su.activate));
        if let Some(op) = &su.confirm {
            refs.push((at("confirm"), op));
        }
        if let Some(op) = &su.unauthenticated {
            refs.push((at("unauthenticated"), op));
        }
        if su.model == su.other_model {
            err(&at("other-model"), "expected a model other than `model`".into());
        }
    }
    for (path, op) in refs {
        if !t.operations.contains_key(op) {
            err(&path, format!("no operation named {op:?} under `operations`"));
        }
    }
    answers(t, &mut err);
    out
}

/// The operations whose answers the harness reads must be able to give them: identity readers
/// capture `device_id`, `lifecycle.version` captures `version`, and `lifecycle.status` names both
/// states. Otherwise every run would end in ERROR at the first check that asks.
fn answers(t: &Target, err: &mut dyn FnMut(&[&str], String)) {
    let expects = |op: &str| match t.operations.get(op).map(|o| &o.body) {
        Some(OpBody::Steps(steps)) => steps.iter().filter_map(|s| s.expect.as_ref()).collect(),
        _ => Vec::new(),
    };
    let mut capture = |op: &str, group: &str, listed: &str| {
        let captured = expects(op)
            .iter()
            .flat_map(|e| e.alternatives())
            .any(|(_, p)| p.regex().capture_names().any(|n| n == Some(group)));
        if t.operations.contains_key(op) && !captured {
            err(
                &["operations", op],
                format!(
                    "operation {op:?} is listed under `{listed}` but captures no `{group}`; \
                     expected a pattern with a group like (?P<{group}>...)"
                ),
            );
        }
    };
    if let Some(id) = &t.capabilities.device_identity {
        for op in &id.read {
            capture(op, "device_id", "capabilities.device-identity.read");
        }
    }
    if let Some(op) = &t.lifecycle.version {
        capture(op, "version", "lifecycle.version");
    }
    if let Some(op) = t.lifecycle.status.as_deref().filter(|op| t.operations.contains_key(*op)) {
        let outcomes: Vec<&str> =
            expects(op).iter().flat_map(|e| e.alternatives()).map(|(o, _)| o.as_str()).collect();
        for state in ["uninitialized", "initialized"] {
            if !outcomes.contains(&state) {
                err(
                    &["operations", op],
                    format!(
                        "operation {op:?} is `lifecycle.status` but has no outcome {state:?}; expected \
                         `expect` alternatives named uninitialized and initialized"
                    ),
                );
            }
        }
    }
}
