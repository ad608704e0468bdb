//! A guard against absurdly deep flow nesting (`[[[[...` or `{a: {a: ...`). libyaml's scanner takes
//! time quadratic in the depth (64 KiB of `{a: ` takes seconds, a megabyte hours), and serde_yaml
//! rejects anything deeper than 128 levels afterwards anyway; so such input is refused up front.

/// Deeper than serde_yaml's own recursion limit, far deeper than any target or suite file.
pub(super) const MAX_DEPTH: usize = 128;

/// 1-based (line, column) of the bracket that opens level `MAX_DEPTH + 1`, if any does.
///
/// Brackets inside quoted scalars and comments do not count. One inside a plain scalar
/// (`expect: ID=[0-9]`) does, but it takes over a hundred unbalanced ones to trip the limit.
pub(super) fn too_deep(source: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (line_no, line) in source.lines().enumerate() {
        let mut prev: Option<char> = None;
        let mut chars = line.chars().enumerate();
        while let Some((column, c)) = chars.next() {
            match (quote, c) {
                (Some('"'), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') if prev.is_none_or(|p| " \t[{,:-?".contains(p)) => quote = Some(c),
                (None, '#') if prev.is_none_or(char::is_whitespace) => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some((line_no + 1, column + 1));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_nesting_counts() {
        assert_eq!(too_deep(&"{a: ".repeat(200)), Some((1, 129 * 4 - 3)));
        assert_eq!(too_deep(&format!("x:\n {}", "[".repeat(129))), Some((2, 130)));
        let quoted = format!("a: '{0}'\nb: \"{0}\\\"\"\nc: 1 # {0}\n", "[".repeat(500));
        assert_eq!(too_deep(&quoted), None);
        assert_eq!(too_deep(&"[]".repeat(10_000)), None);
    }
}
