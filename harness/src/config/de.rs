//! Serde helpers that keep serde_yaml's positions. serde_yaml stamps an error with the position of
//! the value being read only when the error comes out of a `Visitor` callback; an error returned
//! after a value has been read gets the position of some enclosing map instead (often 1:1). So every
//! check that rejects a map or a key runs inside a visitor here.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Reads a map as `F` (a struct deriving `Deserialize`, so unknown keys are still errors naming the
/// valid ones), then turns it into `T` with `check`; a `check` error is reported at the map.
pub fn checked_map<'de, D, F, T>(
    d: D,
    expecting: &'static str,
    check: fn(F) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: Deserialize<'de>,
{
    struct V<F, T> {
        expecting: &'static str,
        check: fn(F) -> Result<T, String>,
    }
    impl<'de, F: Deserialize<'de>, T> Visitor<'de> for V<F, T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let file = F::deserialize(MapAccessDeserializer::new(map))?;
            (self.check)(file).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(V { expecting, check })
}

/// A map key that must not repeat one read earlier in the same map: YAML forbids duplicate keys,
/// but serde's maps would silently keep the last (two operations named `login`, one ignored).
pub struct UniqueKey<'a>(pub &'a [String]);

impl<'de> DeserializeSeed<'de> for UniqueKey<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        // Rejected inside `visit_str`, so the error points at the second key itself.
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for UniqueKey<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if self.0.iter().any(|k| k == key) {
            return Err(E::custom(format!("{key:?} is declared twice; expected each name once")));
        }
        Ok(key.to_string())
    }
}

/// `deserialize_with` for a map of names: like `BTreeMap`'s own, but a repeated name is an error.
pub fn unique_map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = BTreeMap<String, T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of names")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key_seed(UniqueKey(&names))? {
                out.insert(name.clone(), map.next_value()?);
                names.push(name);
            }
            Ok(out)
        }
    }
    d.deserialize_map(V(PhantomData))
}

/// Reads a string and parses it with `parse` inside the visitor, so a parse error (a bad regex, a
/// duration without a unit) points at the string itself. Plain scalars count as strings: `5` is
/// read as "5" and then rejected by a duration's own parser with its own message.
pub fn parsed_str<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<T> {
        expecting: &'static str,
        parse: fn(&str) -> Result<T, String>,
    }
    impl<T> Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            (self.parse)(text).map_err(E::custom)
        }
    }
    d.deserialize_str(V { expecting, parse })
}
