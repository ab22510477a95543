//! GFM's extended autolinks: `https://…`, `http://…` and `www.…` in plain text become links, as
//! GitHub renders them (pulldown-cmark only knows the `<…>` autolinks of CommonMark). Bare
//! e-mail addresses stay text. Text that already has a link or is code is left alone.

use std::sync::Arc;

use super::node::{Inline, Link, TextBuf};
use super::swar::{byte_mask, padded_word_at};

/// Splits the text nodes of `content` around the URLs they contain.
pub(crate) fn linkify(content: &mut Vec<Inline>, buf: &TextBuf) {
    // Most paragraphs hold no URL: find them all first and rebuild only when there are some.
    let found: Vec<(usize, Vec<(usize, usize)>)> = content
        .iter()
        .enumerate()
        .filter_map(|(index, inline)| match inline {
            Inline::Text { span, marks } if !marks.has_link() && !marks.has_code() => {
                let urls = find_urls(buf.get(*span));
                (!urls.is_empty()).then_some((index, urls))
            }
            _ => None,
        })
        .collect();
    if found.is_empty() {
        return;
    }
    let mut out = Vec::with_capacity(content.len() + 2 * found.len());
    let mut found = found.into_iter().peekable();
    for (index, inline) in content.drain(..).enumerate() {
        let (Some((_, urls)), Inline::Text { span, marks }) = (found.next_if(|(at, _)| *at == index), &inline) else {
            out.push(inline);
            continue;
        };
        // The pieces keep the node's marks; neighbours differ in marks, so nothing merges.
        let text = buf.get(*span);
        let mut rest = 0;
        for (start, end) in urls {
            let before = span.slice(rest, start);
            if !before.is_empty() {
                out.push(Inline::Text { span: before, marks: marks.clone() });
            }
            let url = text.get(start..end).unwrap_or_default();
            let href = if url.starts_with("www.") { format!("http://{url}") } else { url.to_owned() };
            let link = marks.with_link(Arc::new(Link { href, title: None }));
            out.push(Inline::Text { span: span.slice(start, end), marks: link });
            rest = end;
        }
        let after = span.slice(rest, text.len());
        if !after.is_empty() {
            out.push(Inline::Text { span: after, marks: marks.clone() });
        }
    }
    *content = out;
}

/// Byte ranges of the autolinks in `text`, in order.
fn find_urls(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    // The shortest autolink is `www.a.b`.
    if bytes.len() < 7 {
        return found;
    }
    // Candidates are the `:` of `://` and the `w` of `www.`; words of eight bytes are searched
    // at once and only their candidate bytes looked at. `done` is where the last link ended.
    let mut done = 0;
    let mut word_start = 0;
    while word_start < bytes.len() {
        // Zero padding past the end matches neither byte.
        let word = padded_word_at(bytes, word_start);
        let mut candidates = byte_mask(word, b':') | byte_mask(word, b'w');
        let mut next_word = word_start + 8;
        while candidates != 0 {
            let at = word_start + (candidates.trailing_zeros() / 8) as usize;
            // Clear this byte's bit.
            candidates &= candidates - 1;
            if at < done {
                continue;
            }
            let candidate = match bytes[at] {
                b':' => scheme_start(bytes, at).map(|start| (start, at + 3)),
                b'w' if bytes[at..].starts_with(b"www.") => Some((at, at)),
                _ => None,
            };
            let Some((start, domain_start)) =
                candidate.filter(|&(start, _)| start >= done && at_boundary(bytes, start))
            else {
                continue;
            };
            if let Some(end) = url_end(text, domain_start) {
                found.push((start, end));
                done = end;
                // Resume right after the link (always past `at`).
                next_word = end;
                break;
            }
        }
        word_start = next_word;
    }
    found
}

/// Where `http://` or `https://` (any case) starts when the `://` is at `colon`.
fn scheme_start(bytes: &[u8], colon: usize) -> Option<usize> {
    if !bytes[colon..].starts_with(b"://") {
        return None;
    }
    ["https", "http"].into_iter().find_map(|scheme| {
        let start = colon.checked_sub(scheme.len())?;
        bytes[start..colon].eq_ignore_ascii_case(scheme.as_bytes()).then_some(start)
    })
}

/// GFM recognises an autolink at the start of a text, after whitespace, or after `*`, `_`, `~`
/// or `(`.
fn at_boundary(bytes: &[u8], at: usize) -> bool {
    at == 0 || matches!(bytes[at - 1], b' ' | b'\t' | b'\n' | b'\r' | b'*' | b'_' | b'~' | b'(')
}

/// Where the autolink whose domain starts at `domain_start` ends, or None when no valid domain
/// starts there.
fn url_end(text: &str, domain_start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let domain_end = domain_end(bytes, domain_start)?;
    // The link runs to the next whitespace or `<`.
    let end = bytes[domain_end..]
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'<')
        .map_or(bytes.len(), |offset| domain_end + offset);
    let end = domain_end + trim_trailing(&bytes[domain_end..end]);
    Some(end)
}

/// A valid domain: segments of letters, digits, `_` and `-` separated by periods, at least one
/// period, no `_` in the last two segments. Returns where it ends.
fn domain_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut end = from;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'-' | b'.')) {
        end += 1;
    }
    // A trailing period ends a sentence, not the domain.
    while end > from && bytes[end - 1] == b'.' {
        end -= 1;
    }
    let domain = &bytes[from..end];
    let segments: Vec<&[u8]> = domain.split(|&b| b == b'.').collect();
    let valid = segments.len() >= 2
        && segments.iter().all(|segment| !segment.is_empty())
        && segments.iter().rev().take(2).all(|segment| !segment.contains(&b'_'));
    valid.then_some(end)
}

/// GFM's trailing-punctuation rules: `?!.,:*_~` at the end are not part of the link, nor is
/// an unbalanced `)` or a trailing entity reference like `&amp;`. `bytes` is the part after
/// the domain (which holds none of these); returns the length kept.
fn trim_trailing(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    // Each pass removes at least one byte, so this ends.
    loop {
        let Some(&last) = bytes[..end].last() else { return 0 };
        match last {
            b'?' | b'!' | b'.' | b',' | b':' | b'*' | b'_' | b'~' => end -= 1,
            b')' => {
                let opened = bytes[..end].iter().filter(|&&b| b == b'(').count();
                let closed = bytes[..end].iter().filter(|&&b| b == b')').count();
                if closed > opened {
                    end -= 1;
                } else {
                    return end;
                }
            }
            b';' => {
                let name_start = bytes[..end - 1].iter().rposition(|b| !b.is_ascii_alphanumeric()).unwrap_or(0);
                if name_start + 1 < end - 1 && bytes[name_start] == b'&' {
                    end = name_start;
                } else {
                    return end;
                }
            }
            _ => return end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<&str> {
        find_urls(text).into_iter().map(|(start, end)| &text[start..end]).collect()
    }

    #[test]
    fn finds_gfm_autolinks_and_trims_what_gfm_trims() {
        assert_eq!(urls("see https://example.com/a?b=c."), ["https://example.com/a?b=c"]);
        assert_eq!(urls("(www.example.com/x)"), ["www.example.com/x"]);
        assert_eq!(urls("www.example.com/a(b)"), ["www.example.com/a(b)"]);
        assert_eq!(urls("http://a.b/c&amp; d"), ["http://a.b/c"]);
        assert_eq!(urls("x https://a.b<c"), ["https://a.b"]);
        assert_eq!(urls("two: http://a.b, https://c.d!"), ["http://a.b", "https://c.d"]);
    }

    #[test]
    fn leaves_what_is_not_an_autolink() {
        assert!(urls("http://localhost:8080/").is_empty(), "a domain needs a period");
        assert!(urls("awww.example.com").is_empty(), "not at a word boundary");
        assert!(urls("http://a_b.c_d/").is_empty(), "no underscore in the last two segments");
        assert!(urls("https://").is_empty());
        assert!(urls("www.").is_empty());
        assert!(urls("ftp://example.com").is_empty(), "GFM links http and https only");
    }
}
