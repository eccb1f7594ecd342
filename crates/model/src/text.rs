//! Untrusted text: which characters must never reach a terminal, a Markdown
//! comment or an error message raw, and how to show them visibly instead.
//!
//! Strings from a desired-state file or from a live tenant are data. A raw ESC
//! can rewrite a terminal (colours, cursor moves, window titles, OSC 8 links),
//! a NUL or DEL can hide text, a C1 control is a one-byte escape sequence on
//! some terminals, a TAB would split a banned-password list (the wire separates
//! terms with TABs), and a bidi override (U+202E …) makes a reviewer read text
//! in a different order than a parser does ("Trojan Source", CVE-2021-42574).
//!
//! - [`is_control`]: the predicate; the config loader refuses such characters
//!   in every string and key, output code escapes them.
//! - [`escape_controls`]: the visible form, e.g. `a\u{1b}[31m` for `a` ESC `[31m`.
//! - [`find_control`]: the first such character of a string, if any.
//!
//! This module performs no I/O and allocates only in [`escape_controls`].

/// Whether `c` must not appear raw in output: a control character or one that
/// reorders text.
///
/// These are:
/// - the C0 controls U+0000..=U+001F, TAB, LF and CR included (a value of the
///   desired-state file has no business spanning lines or holding a TAB);
/// - DEL U+007F and the C1 controls U+0080..=U+009F (general category `Cc`);
/// - the Unicode `Bidi_Control` characters: ALM U+061C, LRM U+200E, RLM U+200F,
///   the embeddings and overrides U+202A..=U+202E and the isolates
///   U+2066..=U+2069;
/// - the line and paragraph separators U+2028 and U+2029, which some renderers
///   treat as line breaks.
///
/// Printable characters, letters of every script and emoji are not controls.
///
/// ```
/// use ssprctl_model::text::is_control;
/// assert!(is_control('\u{1b}'));
/// assert!(is_control('\t'));
/// assert!(is_control('\u{202e}'));
/// assert!(!is_control('é'));
/// assert!(!is_control(' '));
/// ```
pub const fn is_control(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// The first character of `s` that [`is_control`], with its byte offset.
///
/// ```
/// use ssprctl_model::text::find_control;
/// assert_eq!(find_control("ok"), None);
/// assert_eq!(find_control("a\u{7}b"), Some((1, '\u{7}')));
/// ```
pub fn find_control(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| is_control(c))
}

/// `s` with every character that [`is_control`] replaced by a visible escape:
/// `\t`, `\n` and `\r` for those three, `\u{…}` (lower-case hex, as Rust
/// writes it) for the others. Every other character is kept as it is, so text
/// without controls comes back unchanged.
///
/// A backslash is not escaped: the result is meant for a person to read, not
/// to be parsed back, and paths such as `C:\work` stay readable. A literal
/// `\u{1b}` in the input therefore looks the same as an escaped ESC; what
/// matters is that neither reaches a terminal as ESC.
///
/// ```
/// use ssprctl_model::text::escape_controls;
/// assert_eq!(escape_controls("plain"), "plain");
/// assert_eq!(escape_controls("a\tb\n"), "a\\tb\\n");
/// assert_eq!(escape_controls("\u{1b}[31mred"), "\\u{1b}[31mred");
/// assert_eq!(escape_controls("abc\u{202e}fed"), "abc\\u{202e}fed");
/// ```
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// Appends `c` to `out`, escaped if it [`is_control`].
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        // `\u{1b}`: lower-case hex, no leading zeros.
        c if is_control(c) => out.extend(c.escape_unicode()),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_c0_del_and_c1_character_is_a_control() {
        for cp in (0x00..=0x1f).chain(0x7f..=0x9f) {
            let c = char::from_u32(cp).expect("a scalar value");
            assert!(is_control(c), "U+{cp:04X}");
        }
    }

    #[test]
    fn every_bidi_control_and_line_separator_is_a_control() {
        let listed = [
            0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066,
            0x2067, 0x2068, 0x2069,
        ];
        for cp in listed {
            let c = char::from_u32(cp).expect("a scalar value");
            assert!(is_control(c), "U+{cp:04X}");
        }
    }

    #[test]
    fn printable_text_of_any_script_is_not_a_control() {
        let text = "Contoso IT-Helpdesk 24/7 ~ äöü ß é ñ Ωμέγα Кириллица 日本語 עברית العربية 🙂 \\ \u{a0}";
        assert_eq!(find_control(text), None);
        // Neighbours of the ranges are printable.
        for cp in [0x20, 0x7e, 0xa0, 0x200d, 0x2030, 0x2065, 0x206a] {
            let c = char::from_u32(cp).expect("a scalar value");
            assert!(!is_control(c), "U+{cp:04X}");
        }
    }

    #[test]
    fn text_without_controls_is_returned_unchanged() {
        for s in [
            "",
            "plain",
            "C:\\work\\ssprctl.yaml",
            "日本語 🙂",
            "a\\u{1b}b",
        ] {
            assert_eq!(escape_controls(s), s);
        }
    }

    #[test]
    fn tab_newline_and_carriage_return_use_their_short_escapes() {
        assert_eq!(escape_controls("a\tb\nc\r"), "a\\tb\\nc\\r");
    }

    #[test]
    fn other_controls_use_hex_escapes() {
        assert_eq!(escape_controls("\u{1b}[2J"), "\\u{1b}[2J");
        assert_eq!(escape_controls("\u{0}"), "\\u{0}");
        assert_eq!(escape_controls("\u{7}"), "\\u{7}");
        assert_eq!(escape_controls("\u{7f}"), "\\u{7f}");
        assert_eq!(escape_controls("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(
            escape_controls("user\u{202e}gpj.exe"),
            "user\\u{202e}gpj.exe"
        );
        assert_eq!(escape_controls("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
    }

    #[test]
    fn each_character_is_kept_or_escaped_visibly() {
        for c in (0..=0x2100u32).filter_map(char::from_u32) {
            let escaped = escape_controls(&c.to_string());
            if is_control(c) {
                assert!(escaped.starts_with('\\'), "{escaped}");
                assert!(escaped.len() > 1, "{escaped}");
                assert_eq!(find_control(&escaped), None, "{escaped}");
            } else {
                assert_eq!(escaped, c.to_string());
            }
        }
    }

    #[test]
    fn find_control_reports_the_first_with_its_byte_offset() {
        assert_eq!(find_control("é\u{1b}\u{7}"), Some((2, '\u{1b}')));
        assert_eq!(find_control(""), None);
    }
}
