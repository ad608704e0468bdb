//! Finding where a key path sits in YAML source, for errors found after parsing (an operation that
//! names an undeclared channel, an unknown check id). serde_yaml keeps no positions once a value is
//! read, so this scans the text: block mappings and sequences by indentation, and flow collections
//! (`{ serial: { path: x } }`, `[a, b]`) written on one line. When the path cannot be followed to
//! the end, the deepest part found is reported.

use std::path::Path;

use super::diagnostics::Diagnostic;

/// A diagnostic at `path` (mapping keys, or sequence indexes as decimal strings) in `source`.
pub fn locate(source: &str, file: &Path, path: &[&str], message: String) -> Diagnostic {
    let (line, column) = position(source, path);
    Diagnostic { file: file.to_path_buf(), line, column, message }
}

/// A key or sequence item found in the source.
#[derive(Clone, Copy)]
struct Node {
    /// 0-based line.
    line: usize,
    /// Byte offset of the key or of the item's `-` in its line.
    at: usize,
    /// Byte offset where the node's value starts on the same line.
    value: usize,
    item: bool,
}

/// 1-based (line, column) of the deepest element of `path` found; (1, 1) if none is.
pub(super) fn position(source: &str, path: &[&str]) -> (usize, usize) {
    let lines: Vec<&str> = source.lines().collect();
    let mut node: Option<Node> = None;
    for seg in path {
        let next = match node {
            None => block_child(&lines, 0, lines.len(), None, seg),
            Some(n) => child(&lines, n, seg),
        };
        match next {
            Some(n) => node = Some(n),
            None => break,
        }
    }
    node.map_or((1, 1), |n| (n.line + 1, lines[n.line][..n.at].chars().count() + 1))
}

/// The child `seg` of `n`: in a flow collection on `n`'s own line, or in the block below it.
fn child(lines: &[&str], n: Node, seg: &str) -> Option<Node> {
    let line = lines[n.line];
    let rest = &line[n.value..];
    if rest.starts_with(['{', '[']) {
        return flow_child(line, n.line, n.value, seg);
    }
    let end = block_end(lines, n);
    // An item whose first key shares its line (`- id: A`): that key's column is the children's.
    let first = (n.item && is_content(rest)).then_some((n.line, n.value));
    block_child(lines, n.line + 1, end, first, seg)
}

/// The line after `n`'s block: the first content line indented less than its children.
fn block_end(lines: &[&str], n: Node) -> usize {
    (n.line + 1..lines.len())
        .find(|&i| {
            let l = lines[i];
            let ind = indent(l);
            // A sequence may sit flush under its key (`checks:` then `- id: A`).
            let flush_item = !n.item && ind == n.at && is_item(&l[ind..]);
            is_content(l) && ind <= n.at && !flush_item
        })
        .unwrap_or(lines.len())
}

/// The child `seg` among lines `from..to` (plus an item's first key at `first`), taking only
/// nodes at the children's own column so a deeper key of the same name is never mistaken for it.
fn block_child(
    lines: &[&str],
    from: usize,
    to: usize,
    first: Option<(usize, usize)>,
    seg: &str,
) -> Option<Node> {
    let rest = (from..to).filter(|&i| is_content(lines[i])).map(|i| (i, indent(lines[i])));
    let mut candidates = first.into_iter().chain(rest).peekable();
    let column = candidates.peek()?.1;
    let mut candidates = candidates.filter(|&(_, at)| at == column);
    if let Ok(index) = seg.parse::<usize>() {
        let (line, at) = candidates.filter(|&(i, at)| is_item(&lines[i][at..])).nth(index)?;
        let value = at + 1 + indent(&lines[line][at + 1..]);
        return Some(Node { line, at, value, item: true });
    }
    candidates.find_map(|(line, at)| {
        let value = key_value(lines[line], at, seg)?;
        Some(Node { line, at, value, item: false })
    })
}

/// If `seg:` is written at byte `at` of `line`, where its value starts.
fn key_value(line: &str, at: usize, seg: &str) -> Option<usize> {
    let text = &line[at..];
    let quoted = |q: char| text.strip_prefix(q)?.strip_prefix(seg)?.strip_prefix(q);
    let after = text.strip_prefix(seg).or_else(|| quoted('"')).or_else(|| quoted('\''))?;
    let colon = after.trim_start_matches(' ').strip_prefix(':')?;
    let value = line.len() - colon.len();
    Some(value + indent(colon))
}

/// The child `seg` of the flow collection opening at byte `open` of `line`: a key of a `{...}` or
/// an element of a `[...]`. Only this line is searched; a collection spanning lines is not followed.
fn flow_child(line: &str, line_no: usize, open: usize, seg: &str) -> Option<Node> {
    let index = seg.parse::<usize>().ok();
    let mut depth = 0usize;
    let mut quote = None;
    let mut element = 0;
    let mut chars = line.char_indices().skip_while(|&(i, _)| i < open).peekable();
    let mut element_start = true;
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' && q == '"' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if depth == 1 && element_start && c != ' ' {
            element_start = false;
            let found = match index {
                Some(n) if element == n => Some(Node { line: line_no, at: i, value: i, item: true }),
                Some(_) => None,
                None => {
                    key_value(line, i, seg).map(|value| Node { line: line_no, at: i, value, item: false })
                }
            };
            if found.is_some() {
                return found;
            }
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' | '[' => {
                depth += 1;
                element_start = depth == 1;
            }
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            ',' if depth == 1 => {
                element += 1;
                element_start = true;
            }
            '#' if line[..i].ends_with(' ') => return None,
            _ => {}
        }
    }
    None
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_sequence_items() {
        let src = "a: 1\nops:\n  x:\n    channel: c\n  y:\n    channel: d\nchecks:\n  - id: A\n  - id: B\n    params: {}\n";
        assert_eq!(position(src, &["ops", "y", "channel"]), (6, 5));
        assert_eq!(position(src, &["checks", "1", "params"]), (10, 5));
        assert_eq!(position(src, &["checks", "1", "id"]), (9, 5));
        assert_eq!(position(src, &["ops", "nope"]), (2, 1));
        assert_eq!(position(src, &["nope"]), (1, 1));
        let flush = "checks:\n- id: A\n  title: a\n- id: B\n  params: {}\nnext: 1\n";
        assert_eq!(position(flush, &["checks", "1", "params"]), (5, 3));
    }

    #[test]
    fn a_deeper_key_of_the_same_name_is_not_the_child() {
        let src = "ops:\n  a:\n    steps:\n      - expect:\n          status: x\n  status:\n    channel: d\n";
        assert_eq!(position(src, &["ops", "status", "channel"]), (7, 5));
    }

    #[test]
    fn follows_flow_collections_on_one_line() {
        let src = "ops:\n  status: { channel: c, steps: [ { send: x }, { send: \"a,b\", expect: y } ] }\n";
        assert_eq!(position(src, &["ops", "status", "channel"]), (2, 13));
        assert_eq!(position(src, &["ops", "status", "steps", "1", "expect"]), (2, 62));
        assert_eq!(position(src, &["ops", "status", "steps", "5"]), (2, 25));
        let src = "t: { scale: -1 }\n";
        assert_eq!(position(src, &["t", "scale"]), (1, 6));
        let src = "\"ops\":\n  'a': { \"b\": 1 }\n";
        assert_eq!(position(src, &["ops", "a", "b"]), (2, 10));
    }
}
