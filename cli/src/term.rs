//! Text from a server, made safe to print on a terminal.
//!
//! An `error_description`, a scope list or a response body may carry escape sequences
//! (`ESC ] 0 ; title BEL`, `ESC [ 2K`) that retitle the window, erase lines or forge output.
//! Everything the command prints that came from a server goes through [`clean`] or
//! [`clean_lines`]; control characters come out as visible `\x1b`-style escapes.

/// True for characters that must not reach a terminal raw: C0 and C1 controls and the Unicode
/// bidirectional overrides (which reorder what a reader sees).
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape(c: char, out: &mut String) {
    use std::fmt::Write;
    let n = c as u32;
    let _ = if n <= 0xff { write!(out, "\\x{n:02x}") } else { write!(out, "\\u{{{n:x}}}") };
}

/// One line of server text: every control character (newlines too) escaped.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unsafe(c) { escape(c, &mut out) } else { out.push(c) }
    }
    out
}

/// Multi-line server text (a response body): newlines and tabs kept, every other control
/// character escaped.
pub fn clean_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unsafe(c) && c != '\n' && c != '\t' { escape(c, &mut out) } else { out.push(c) }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralised() {
        assert_eq!(clean("a\u{1b}]0;x\u{7}\u{1b}[2Kb\n"), "a\\x1b]0;x\\x07\\x1b[2Kb\\x0a");
        assert_eq!(clean_lines("a\nb\t\u{9b}c\u{202e}"), "a\nb\t\\x9bc\\u{202e}");
        assert_eq!(clean("Zoho é ✓"), "Zoho é ✓");
    }
}
