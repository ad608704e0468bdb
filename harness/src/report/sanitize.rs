//! Turns any string into text that is legal in XML 1.0 and survives quick-junit unchanged.
//!
//! Why our own sanitiser: `junit-report` 0.9.1 writes control bytes raw (and does not split `]]>`),
//! so one ESC from a device makes the whole report unparseable for Jenkins. `quick-junit` escapes
//! markup correctly, but its `XmlString` silently *deletes* ANSI sequences and every control
//! character except `\n` -- including `\t`, `\r` and the C1 range -- and lets the XML-illegal
//! U+FFFE/U+FFFF through. Evidence must never lose a byte without a trace, so everything that is
//! illegal in XML or that quick-junit would drop is replaced here by a visible stand-in first:
//!
//! - C0 controls other than `\n` (including `\t` and `\r`) become their "control picture"
//!   (U+2400 + code: NUL -> `␀`, TAB -> `␉`, CR -> `␍`, ESC -> `␛`); DEL becomes `␡`.
//! - C1 controls (U+0080..U+009F) and the non-characters U+FFFE/U+FFFF become `\u{..}`.
//!
//! Lone surrogates cannot occur in a Rust `str`: they are rejected when bytes are decoded, and the
//! transcript renders raw device bytes as `\xNN` escapes before they ever become a `str`.

/// Returns `text` with every character that XML 1.0 forbids, or quick-junit would drop, replaced by
/// a visible escape. Legal characters, including `\n` and all printable Unicode, are kept as is.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push(c),
            '\u{0}'..='\u{1f}' => out.push(control_picture(c as u32)),
            '\u{7f}' => out.push('\u{2421}'),
            '\u{80}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// The Unicode "control pictures" block mirrors C0 one to one, starting at U+2400.
fn control_picture(code: u32) -> char {
    char::from_u32(0x2400 + code).expect("U+2400..U+241F are assigned characters")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The XML 1.0 `Char` production.
    fn xml_legal(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}') || c >= '\u{10000}'
    }

    #[test]
    fn controls_become_visible() {
        assert_eq!(sanitize("a\u{0}b\u{1b}[31mc\u{7f}"), "a␀b␛[31mc␡");
        assert_eq!(sanitize("tab\there\r\n"), "tab␉here␍\n");
        assert_eq!(sanitize("\u{9b}x\u{fffe}\u{ffff}"), "\\u{9b}x\\u{fffe}\\u{ffff}");
    }

    #[test]
    fn legal_text_is_kept() {
        let text = "ID=0123 ]]> <&> \"quoted\" ünïcødé 日本 🦀 \u{fffd}\nnext line";
        assert_eq!(sanitize(text), text);
    }

    /// Strings rich in the characters that matter: C0, DEL, C1, non-characters, anything else.
    fn device_text() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            prop::char::range('\u{0}', '\u{a0}'),
            Just('\u{fffe}'),
            Just('\u{ffff}'),
            any::<char>(),
        ];
        prop::collection::vec(c, 0..64).prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn output_is_xml_legal_and_quick_junit_keeps_it(text in device_text()) {
            let clean = sanitize(&text);
            prop_assert!(clean.chars().all(xml_legal), "{:?}", clean);
            let kept = quick_junit::XmlString::new(&clean);
            prop_assert_eq!(kept.as_str(), clean.as_str());
            // Every input character leaves at least one visible character behind.
            prop_assert!(clean.chars().count() >= text.chars().count());
        }
    }
}
