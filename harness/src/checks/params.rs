//! A check's parameters: the suite's values over the check's declared defaults.

use std::collections::BTreeMap;

use super::ParamDef;
use crate::config::ParamValue;

pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Defaults from `defs`, overridden by the suite's `given` values. Unknown names are reported
    /// by `hilt check` and the run planner before this is built.
    pub fn new(defs: &[ParamDef], given: &BTreeMap<String, ParamValue>) -> Params {
        let mut values: BTreeMap<String, String> =
            defs.iter().map(|d| (d.name.to_string(), d.default.to_string())).collect();
        for (k, v) in given {
            values.insert(k.clone(), v.to_string());
        }
        Params { values }
    }

    /// A comma-separated list, e.g. a password dictionary.
    pub fn list(&self, name: &str) -> Result<Vec<String>, String> {
        let v = self.values.get(name).ok_or_else(|| format!("parameter {name} is not set"))?;
        Ok(v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
    }

    pub fn u64(&self, name: &str) -> Result<u64, String> {
        let v = self.values.get(name).ok_or_else(|| format!("parameter {name} is not set"))?;
        v.parse().map_err(|_| format!("parameter {name} = {v:?} is not a whole number"))
    }
}
