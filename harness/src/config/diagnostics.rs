//! Configuration errors that say where: file, line, column, and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

/// All the errors found in one or more files.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// A serde_yaml error as a diagnostic; errors without a location point at the file's start.
pub fn from_yaml(file: &Path, e: &serde_yaml::Error) -> Diagnostic {
    let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
    // serde_yaml puts " at line L column C" into the message; the location is already in front.
    // (Only that exact place is cut: libyaml's context, "while parsing a block mapping at line 1
    // column 1", still helps.)
    let message = e.to_string().replacen(&format!(" at line {line} column {column}"), "", 1);
    Diagnostic { file: file.to_path_buf(), line, column, message }
}
