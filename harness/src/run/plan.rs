//! Turning a target and suites into the list of checks to run, each with its verdict-to-be decided
//! up front where it can be: a capability the target does not declare makes a check NOT_APPLICABLE.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checks::{self, CheckDef};
use crate::config::{self, Diagnostic, ParamValue, Suite, Target};

/// One check to run, with what its suite says about it.
#[derive(Clone)]
pub struct Planned {
    pub def: &'static CheckDef,
    pub title: String,
    /// The JUnit testsuite it reports under: the suite entry's capability.
    pub capability: String,
    pub requirements: Vec<String>,
    pub params: BTreeMap<String, ParamValue>,
    /// Why it cannot apply to this target, if so.
    pub not_applicable: Option<String>,
}

impl Planned {
    /// The name shown in listings, filters and JUnit: the id first, so `hilt run ID-02` selects it.
    pub fn name(&self) -> String {
        format!("{} {}", self.def.id, self.title)
    }
}

/// Checks a suite against the checks hilt knows: ids, capabilities, parameter names.
pub fn validate_suite(suite: &Suite) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (index, entry) in suite.checks.iter().enumerate() {
        let at = |key: &str, message: String| {
            config::locate(&suite.source, &suite.file, &["checks", &index.to_string(), key], message)
        };
        let Some(def) = checks::find(&entry.id) else {
            let known = checks::all().iter().map(|c| c.id).collect::<Vec<_>>().join(", ");
            out.push(at("id", format!("unknown check id {:?}; hilt knows {known}", entry.id)));
            continue;
        };
        if checks::declares_known(&entry.capability).is_none() {
            out.push(at(
                "capability",
                format!(
                    "unknown capability {:?}; expected one of {}",
                    entry.capability,
                    checks::CAPABILITIES.join(", ")
                ),
            ));
        }
        for name in entry.params.keys() {
            if !def.params.iter().any(|p| p.name == name) {
                let known: Vec<_> = def.params.iter().map(|p| p.name).collect();
                let expected = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                out.push(at(
                    "params",
                    format!("check {} has no parameter {name:?}; it takes: {expected}", def.id),
                ));
            }
        }
    }
    out
}

/// The plan for `target` and `suites`; suites must already be valid.
pub fn plan(target: &Target, suites: &[Suite]) -> Vec<Planned> {
    let mut planned = Vec::new();
    for suite in suites {
        for entry in &suite.checks {
            let Some(def) = checks::find(&entry.id) else {
                continue;
            };
            let missing: Vec<&str> = std::iter::once(entry.capability.as_str())
                .chain(def.needs.iter().copied())
                .filter(|cap| checks::declares(target, cap) != Some(true))
                .collect();
            // Unit kinds say why themselves; plain capabilities are named together.
            let mut reasons: Vec<String> =
                missing.iter().filter_map(|need| checks::unmet_unit(target, need)).collect();
            let capabilities: Vec<&str> =
                missing.iter().copied().filter(|need| checks::unmet_unit(target, need).is_none()).collect();
            if !capabilities.is_empty() {
                reasons.insert(
                    0,
                    format!(
                        "target {} does not declare the capabilit{} {}",
                        target.name,
                        if capabilities.len() == 1 { "y" } else { "ies" },
                        capabilities.join(", ")
                    ),
                );
            }
            let not_applicable = (!reasons.is_empty()).then(|| reasons.join("; "));
            planned.push(Planned {
                def,
                title: entry.title.clone(),
                capability: entry.capability.clone(),
                requirements: entry.requirements.clone(),
                params: entry.params.clone(),
                not_applicable,
            });
        }
    }
    planned
}

/// Resolves `--suite` values: a path to a file, or a name under `testsuites/`.
pub fn suite_path(name_or_file: &str) -> PathBuf {
    let p = Path::new(name_or_file);
    if p.extension().is_some() || name_or_file.contains('/') {
        p.to_path_buf()
    } else {
        Path::new("testsuites").join(format!("{name_or_file}.yaml"))
    }
}
