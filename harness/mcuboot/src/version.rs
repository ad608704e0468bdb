//! The image version: major.minor.revision+build, ordered field by field as MCUboot compares.

use core::fmt;
use core::str::FromStr;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    pub revision: u16,
    pub build: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.revision)?;
        if self.build != 0 {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

/// A text that is not `MAJOR.MINOR.REVISION[+BUILD]` within the fields' ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadVersion;

impl fmt::Display for BadVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected MAJOR.MINOR.REVISION[+BUILD] (at most 255.255.65535+4294967295)")
    }
}

impl FromStr for Version {
    type Err = BadVersion;

    fn from_str(s: &str) -> Result<Version, BadVersion> {
        let (main, build) = match s.split_once('+') {
            Some((m, b)) => (m, b.parse().map_err(|_| BadVersion)?),
            None => (s, 0),
        };
        let mut parts = main.split('.');
        let mut next = || parts.next().ok_or(BadVersion);
        let major = next()?.parse().map_err(|_| BadVersion)?;
        let minor = next()?.parse().map_err(|_| BadVersion)?;
        let revision = next()?.parse().map_err(|_| BadVersion)?;
        if parts.next().is_some() {
            return Err(BadVersion);
        }
        Ok(Version { major, minor, revision, build })
    }
}
