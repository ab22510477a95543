//! Text that came from a finding, a resource's owner or a model, made safe to quote: one line,
//! no control or invisible formatting characters, bounded. It stays data: the Markdown
//! rendering escapes it again for its own syntax ([`crate::markdown`]).

/// Characters that change how text is laid out or read without being visible: zero-width
/// spaces and joiners, bidirectional overrides and isolates, the byte-order mark, soft hyphens,
/// interlinear annotations (Unicode's format class, Cf, as far as it matters here).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
}

/// `text` on one line: control characters, line and paragraph separators and invisible
/// formatting characters become spaces, runs of whitespace one space, the ends trimmed; at most
/// `max_chars` characters (cut ones end in "…").
pub fn one_line(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut count = 0usize;
    let mut pending_space = false;
    let mut cut = false;
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() || is_invisible(c) { ' ' } else { c };
        if c == ' ' {
            pending_space = count > 0;
            continue;
        }
        let needed = if pending_space { 2 } else { 1 };
        if count + needed > max_chars {
            cut = true;
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        count += needed;
    }
    if cut && max_chars > 0 {
        // Room for the ellipsis: drop characters from the end until it fits.
        while count + 1 > max_chars {
            if out.pop().is_none() {
                break;
            }
            count -= 1;
        }
        out.push('…');
    }
    out
}

/// `text` as a quoted value: « one line », or "(empty)" when nothing printable is left. Quote
/// marks inside become `"`, so quoted text cannot pretend to end its quote.
pub fn quoted(text: &str, max_chars: usize) -> String {
    let line = one_line(&text.replace(['«', '»'], "\""), max_chars);
    if line.is_empty() {
        "(empty)".to_owned()
    } else {
        format!("«{line}»")
    }
}

/// `text` when it is a plain token (an id, a version, a package name: letters, digits and
/// `._:+~/@-`, at most `max_chars`), else nothing. For values from a vendor record that are put
/// into an instruction ("upgrade openssl to 3.0.7-25").
pub fn token(text: &str, max_chars: usize) -> Option<&str> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.chars().count() <= max_chars
        && t.chars().all(|c| c.is_ascii_alphanumeric() || "._:+~/@-".contains(c))
        && t.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    ok.then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_flattens_and_bounds() {
        assert_eq!(one_line("  a\nb\r\n\tc\u{200B}d\u{202E}e  ", 100), "a b c d e");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("ab cd", 5), "ab cd");
        assert_eq!(one_line("ab cdef", 5), "ab c…");
        assert_eq!(one_line("", 10), "");
        assert!(one_line(&"é".repeat(50), 10).chars().count() <= 10);
    }

    #[test]
    fn quoted_and_token() {
        assert_eq!(quoted("x\ny", 10), "«x y»");
        assert_eq!(quoted(" \n", 10), "(empty)");
        assert_eq!(quoted("a» ignore «b", 20), "«a\" ignore \"b»");
        assert_eq!(token("3.0.7-25.el9_3", 64), Some("3.0.7-25.el9_3"));
        assert_eq!(token("1.0; rm -rf /", 64), None);
        assert_eq!(token("-rf", 64), None);
        assert_eq!(token("", 64), None);
    }
}
