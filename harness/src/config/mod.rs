//! Target and suite files: YAML models, validation, and diagnostics that name file, line and column.
//!
//! Unknown keys are errors everywhere (`deny_unknown_fields`), so a typo is never a silent skip.
//! Values with their own syntax (durations, patterns, templates) are validated while deserializing,
//! which gives their errors the value's own position; references between sections are checked
//! afterwards and located with [`locate`].

mod de;
mod debug;
mod diagnostics;
mod locate;
mod nesting;
mod suite;
mod target;
mod validate;
mod values;

use std::path::Path;

pub use debug::{Debug, DebugAccess, DebugUnit, IdEncoding, IdentifierRegion, ProbeSpec, Region};
pub use diagnostics::{Diagnostic, Diagnostics};
pub use locate::locate;
pub use suite::{ParamValue, Suite, SuiteCheck};
pub use target::{
    AccessLockoutCap, Capabilities, Channel, ConsoleReady, ExecOp, Expect, FactoryResetCap, IdentityCap,
    Launch, Lifecycle, OpBody, Operation, Power, PowerExec, SendFile, SerialChannel, SoftwareUpdateCap, Step,
    Target, TcpChannel, Timeouts, UpdateImages, UsbMatch, UserDataOps,
};
pub use values::{Pattern, Template};

/// A file `hilt check` was given: a target or a suite (a suite has a top-level `suite:` key).
pub enum Loaded {
    Target(Box<Target>),
    Suite(Suite),
}

fn read(path: &Path) -> Result<String, Diagnostics> {
    let bytes = std::fs::read(path).map_err(|e| Diagnostic {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read: {e}"),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        Diagnostics::from(Diagnostic {
            file: path.to_path_buf(),
            line,
            column,
            message: "expected UTF-8 text; found an invalid byte".into(),
        })
    })
}

pub fn load_target(path: &Path) -> Result<Target, Diagnostics> {
    parse_target(&read(path)?, path)
}

pub fn load_suite(path: &Path) -> Result<Suite, Diagnostics> {
    parse_suite(&read(path)?, path)
}

pub fn load_any(path: &Path) -> Result<Loaded, Diagnostics> {
    let source = read(path)?;
    let is_suite = from_yaml::<serde_yaml::Value>(&source, path)
        .ok()
        .and_then(|v| v.as_mapping().map(|m| m.contains_key("suite")))
        .unwrap_or(false);
    if is_suite {
        parse_suite(&source, path).map(Loaded::Suite)
    } else {
        parse_target(&source, path).map(|t| Loaded::Target(Box::new(t)))
    }
}

/// `source` read as a `T`; a YAML or model error becomes a located diagnostic.
fn from_yaml<T: serde::de::DeserializeOwned>(source: &str, file: &Path) -> Result<T, Diagnostics> {
    if let Some((line, column)) = nesting::too_deep(source) {
        let message = format!("nested more than {} levels deep; expected a flatter file", nesting::MAX_DEPTH);
        return Err(Diagnostic { file: file.to_path_buf(), line, column, message }.into());
    }
    serde_yaml::from_str(source).map_err(|e| diagnostics::from_yaml(file, &e).into())
}

pub fn parse_target(source: &str, file: &Path) -> Result<Target, Diagnostics> {
    let raw: target::TargetFile = from_yaml(source, file)?;
    let mut errors = Vec::new();
    let mut secrets = std::collections::BTreeMap::new();
    for (name, value) in &raw.secrets {
        match values::resolve_secret(value) {
            Ok(v) => {
                secrets.insert(name.clone(), v);
            }
            Err(m) => errors.push(locate(source, file, &["secrets", name], m)),
        }
    }
    let debug = match raw.debug.map(debug::resolve) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(problems)) => {
            for (path, message) in problems {
                let mut at = vec!["debug"];
                at.extend(path.iter().map(String::as_str));
                errors.push(locate(source, file, &at, message));
            }
            None
        }
    };
    let t = Target {
        name: raw.name,
        description: raw.description,
        timeouts: raw.timeouts,
        launch: raw.launch,
        channels: raw.channels,
        power: raw.power,
        debug,
        crash_patterns: raw.crash_patterns,
        secrets,
        lifecycle: raw.lifecycle,
        capabilities: raw.capabilities,
        operations: raw.operations,
        file: file.to_path_buf(),
        source: source.to_string(),
    };
    if !(t.timeouts.scale.is_finite() && t.timeouts.scale > 0.0 && t.timeouts.scale <= 1000.0) {
        errors.push(locate(
            source,
            file,
            &["timeouts", "scale"],
            "expected a scale factor above 0 and at most 1000".into(),
        ));
    }
    if t.channels.is_empty() {
        errors.push(locate(source, file, &["channels"], "expected at least one channel".into()));
    }
    errors.extend(validate::target(&t));
    if errors.is_empty() {
        Ok(t)
    } else {
        Err(Diagnostics(errors))
    }
}

pub fn parse_suite(source: &str, file: &Path) -> Result<Suite, Diagnostics> {
    let mut raw: suite::SuiteFile = from_yaml(source, file)?;
    for (i, c) in raw.checks.iter_mut().enumerate() {
        (c.line, c.column) = locate::position(source, &["checks", &i.to_string(), "id"]);
    }
    let mut errors = Vec::new();
    for (i, c) in raw.checks.iter().enumerate() {
        if raw.checks[..i].iter().any(|p| p.id == c.id) {
            errors.push(locate(
                source,
                file,
                &["checks", &i.to_string(), "id"],
                format!("check {} is listed twice; expected each check once", c.id),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(Suite {
        name: raw.suite,
        description: raw.description,
        requirements: raw.requirements,
        checks: raw.checks,
        file: file.to_path_buf(),
        source: source.to_string(),
    })
}

#[cfg(test)]
mod tests;
