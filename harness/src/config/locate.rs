//! Finding where a key path sits in YAML source, for errors found after parsing (an operation that
//! names an undeclared channel, an unknown check id). Indentation-aware and forgiving: when a path
//! cannot be followed to the end, the deepest part found is reported.

use std::path::Path;

use super::diagnostics::Diagnostic;

/// A diagnostic at `path` (mapping keys, or sequence indexes as decimal strings) in `source`.
pub fn locate(source: &str, file: &Path, path: &[&str], message: String) -> Diagnostic {
    let (line, column) = position(source, path);
    Diagnostic { file: file.to_path_buf(), line, column, message }
}

/// 1-based (line, column) of the deepest element of `path` found.
fn position(source: &str, path: &[&str]) -> (usize, usize) {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = (1, 1);
    // The block being searched: line range and the indentation its children must exceed.
    let (mut from, mut to, mut parent_indent) = (0usize, lines.len(), -1i64);
    for seg in path {
        let mut hit = None;
        if let Ok(index) = seg.parse::<usize>() {
            // The index-th sequence item at the first indentation deeper than the parent.
            let mut count = 0;
            let mut item_indent = None;
            for (i, l) in lines.iter().enumerate().take(to).skip(from) {
                let ind = indent(l) as i64;
                let t = l.trim_start();
                if t.is_empty() || t.starts_with('#') || ind <= parent_indent && !t.starts_with("- ") {
                    continue;
                }
                if t.starts_with("- ") || t == "-" {
                    if *item_indent.get_or_insert(ind) != ind {
                        continue;
                    }
                    if count == index {
                        hit = Some((i, ind, ind + 2));
                        break;
                    }
                    count += 1;
                }
            }
        } else {
            for (i, l) in lines.iter().enumerate().take(to).skip(from) {
                let ind = indent(l) as i64;
                let t = l.trim_start().trim_start_matches("- ");
                let key_col = l.len() - t.len();
                if ind > parent_indent || key_col as i64 > parent_indent {
                    if let Some(rest) = t.strip_prefix(seg) {
                        if rest.trim_start().starts_with(':') {
                            hit = Some((i, key_col as i64, key_col as i64 + 1));
                            break;
                        }
                    }
                }
            }
        }
        let Some((line, key_indent, child_indent)) = hit else {
            break;
        };
        found = (line + 1, key_indent as usize + 1);
        // The block ends at the first content line indented less than its children, except a
        // sequence written flush with its key (`checks:` then `- id: ...`).
        let end = lines
            .iter()
            .enumerate()
            .skip(line + 1)
            .find(|(_, l)| {
                let t = l.trim_start();
                let ind = indent(l) as i64;
                let is_content = !t.is_empty() && !t.starts_with('#');
                let flush_item = ind == key_indent && t.starts_with("- ");
                is_content && ind < child_indent && !flush_item
            })
            .map_or(lines.len(), |(i, _)| i);
        // An inline `key: value` or `- key: value` holds its children on the same line.
        from = line;
        to = end.max(line + 1);
        parent_indent = key_indent;
    }
    found
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
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
        let flush = "checks:\n- id: A\n  title: a\n- id: B\n  params: {}\nnext: 1\n";
        assert_eq!(position(flush, &["checks", "1", "params"]), (5, 3));
    }
}
