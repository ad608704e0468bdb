//! Property tests over target and suite parsing: no input makes hilt panic, and every error names
//! the file with a line and column inside it.

use std::path::Path;

use hilt::config::{parse_suite, parse_target, Diagnostics};
use proptest::prelude::*;

const TARGET: &str = include_str!("../../targets/refdev.yaml");
const SUITE: &str = include_str!("../../testsuites/identity.yaml");

fn assert_located(source: &str, result: Result<(), Diagnostics>, file: &str) {
    let Err(diagnostics) = result else { return };
    let lines = yaml_lines(source);
    assert!(!diagnostics.0.is_empty(), "an error with no diagnostic");
    for d in diagnostics.0 {
        assert_eq!(d.file, Path::new(file));
        assert!(d.line >= 1 && d.column >= 1, "{d}");
        assert!(d.line <= lines + 1, "{d} is past the end ({lines} lines)");
    }
}

/// Lines as YAML (libyaml) counts them: a lone CR, NEL, LS and PS end a line too, not only LF.
fn yaml_lines(source: &str) -> usize {
    let unified: String = source
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if matches!(c, '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') { '\n' } else { c })
        .collect();
    unified.lines().count().max(1)
}

fn check_both(source: &str) {
    assert_located(source, parse_target(source, Path::new("t.yaml")).map(|_| ()), "t.yaml");
    assert_located(source, parse_suite(source, Path::new("s.yaml")).map(|_| ()), "s.yaml");
}

/// A small edit of `text`: delete a range, duplicate a line, insert a character, or change one
/// letter of a key.
fn mutate(text: &str, kind: u8, at: usize, len: usize, c: char) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = at % chars.len().max(1);
    match kind % 4 {
        0 => chars[..at].iter().chain(chars[(at + len % 40).min(chars.len())..].iter()).collect(),
        1 => {
            let lines: Vec<&str> = text.lines().collect();
            let i = at % lines.len().max(1);
            let mut out: Vec<&str> = lines.clone();
            out.insert(i, lines[i]);
            out.join("\n")
        }
        2 => chars[..at].iter().chain(std::iter::once(&c)).chain(chars[at..].iter()).collect(),
        _ => {
            // Change the letter before the `at`-th colon: a misspelled key.
            let colons: Vec<usize> =
                chars.iter().enumerate().filter(|(_, c)| **c == ':').map(|(i, _)| i).collect();
            let Some(&colon) = colons.get(at % colons.len().max(1)) else {
                return text.to_string();
            };
            let mut out = chars.clone();
            if colon > 0 && out[colon - 1].is_ascii_alphabetic() {
                out[colon - 1] = if out[colon - 1] == 'x' { 'y' } else { 'x' };
            }
            out.into_iter().collect()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(source in "(?s).{0,400}") {
        check_both(&source);
    }

    #[test]
    fn yaml_shaped_noise_never_panics(source in "([a-z-]{1,8}: ?(\\[|\\{|'|\"|-|[0-9]{1,3}|[a-z{}.]{0,6})?\n {0,6}){0,12}") {
        check_both(&source);
    }

    #[test]
    fn edited_real_files_never_panic(kind in 0u8..4, at in 0usize..10_000, len in 0usize..40, c in any::<char>()) {
        check_both(&mutate(TARGET, kind, at, len, c));
        check_both(&mutate(SUITE, kind, at, len, c));
    }
}

/// Found by the fuzzer: libyaml counts a lone CR as a line break, so the error is on line 3.
#[test]
fn an_unterminated_quote_after_a_lone_carriage_return_is_located() {
    check_both("'\r\u{a1}\n");
    check_both("'\u{2028}x\u{85}");
}
