//! Glob patterns for control ids, incident types, resource ids and tag values: `*` is any run of
//! characters (also none), `?` is exactly one character, everything else is literal.

use regex::Regex;

/// Characters that other glob dialects give a meaning (classes, alternatives, escapes). We
/// reject them instead of matching them literally, so `arn:*:[ab]*` is an error rather than a
/// pattern that silently never matches.
const UNSUPPORTED: &[char] = &['[', ']', '{', '}', '\\'];

/// A compiled glob. The pattern is translated to an anchored regex whose literal parts go
/// through `regex::escape`, so `.`, `+` or `(` in a pattern match only themselves.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    pattern: String,
    regex: Regex,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("a glob pattern cannot be empty; use `*` to match any value".to_owned());
        }
        if let Some(bad) = pattern.chars().find(|c| UNSUPPORTED.contains(c)) {
            return Err(format!(
                "invalid glob `{pattern}`: `{bad}` is not supported; only `*` (any run of characters) and `?` (one character) are wildcards, every other character is literal"
            ));
        }
        // `(?s)` so that `*` and `?` also match line breaks, as a glob would.
        let mut source = String::from("(?s)^");
        let mut literal = String::new();
        for c in pattern.chars() {
            let wildcard = match c {
                '*' => ".*",
                '?' => ".",
                _ => {
                    literal.push(c);
                    continue;
                }
            };
            source.push_str(&regex::escape(&literal));
            literal.clear();
            source.push_str(wildcard);
        }
        source.push_str(&regex::escape(&literal));
        source.push('$');
        let regex = Regex::new(&source).map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
        Ok(Glob { pattern: pattern.to_owned(), regex })
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The pattern as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reference matcher written the slow, obvious way (backtracking over characters), to check
    /// the regex translation against.
    fn reference_match(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|skip| reference_match(rest, &text[skip..])),
            Some(('?', rest)) => !text.is_empty() && reference_match(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && reference_match(rest, &text[1..]),
        }
    }

    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern).unwrap()
    }

    #[test]
    fn wildcards_and_literals() {
        let cases = [
            ("IAM.21", "IAM.21", true),
            ("IAM.21", "IAM.211", false),
            ("IAM.21", "IAMx21", false),
            ("IAM.*", "IAM.1", true),
            ("IAM.*", "IAM.", true),
            ("IAM.*", "EC2.1", false),
            ("IAM.?", "IAM.1", true),
            ("IAM.?", "IAM.21", false),
            ("IAM.?", "IAM.", false),
            ("Recon:EC2/*", "Recon:EC2/PortProbeUnprotectedPort", true),
            ("Recon:EC2/*", "Recon:IAMUser/NetworkPermissions", false),
            ("arn:aws:iam::*:policy/boundary-*", "arn:aws:iam::111111111111:policy/boundary-dev", true),
            ("arn:aws:iam::*:policy/boundary-*", "arn:aws:iam::111111111111:policy/admin", false),
            ("a+b(c)|d$^", "a+b(c)|d$^", true),
            ("a+b(c)|d$^", "aab(c)|d$^", false),
            ("*", "", true),
            ("*", "line one\nline two", true),
            ("?", "é", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(glob(pattern).matches(text), expected, "{pattern:?} against {text:?}");
        }
    }

    #[test]
    fn unsupported_syntax_is_rejected_with_the_character() {
        for (pattern, bad) in [("[ab]*", "`[`"), ("a]", "`]`"), ("{a,b}", "`{`"), ("a}", "`}`"), ("a\\*", "`\\`")] {
            let err = Glob::new(pattern).unwrap_err();
            assert!(err.contains(bad) && err.contains("only `*`"), "{pattern}: {err}");
        }
        assert!(Glob::new("").unwrap_err().contains("cannot be empty"));
    }

    /// Characters that are regex metacharacters, glob wildcards or ordinary letters.
    fn glob_char() -> impl Strategy<Value = char> {
        prop::sample::select(vec!['a', 'b', '.', '+', '(', ')', '|', '$', '^', '-', ':', '/', '*', '?'])
    }

    fn literal_char() -> impl Strategy<Value = char> {
        prop::sample::select(vec!['a', 'b', '.', '+', '(', ')', '|', '$', '^', '-', ':', '/', 'é', ' ', '\n'])
    }

    proptest! {
        #[test]
        fn a_pattern_without_wildcards_matches_only_itself(
            pattern in prop::collection::vec(literal_char(), 1..12).prop_map(String::from_iter),
            other in prop::collection::vec(literal_char(), 0..12).prop_map(String::from_iter),
        ) {
            let g = glob(&pattern);
            prop_assert!(g.matches(&pattern));
            prop_assert_eq!(g.matches(&other), other == pattern);
        }

        #[test]
        fn a_star_matches_everything(text in ".*") {
            prop_assert!(glob("*").matches(&text));
        }

        #[test]
        fn the_regex_agrees_with_the_reference(
            pattern in prop::collection::vec(glob_char(), 1..10),
            text in prop::collection::vec(literal_char(), 0..10),
        ) {
            let pattern_text = String::from_iter(&pattern);
            let text_text = String::from_iter(&text);
            prop_assert_eq!(glob(&pattern_text).matches(&text_text), reference_match(&pattern, &text));
        }

        #[test]
        fn text_built_from_a_pattern_is_matched(
            pattern in prop::collection::vec(glob_char(), 1..10),
            fill in prop::collection::vec(literal_char(), 0..4),
        ) {
            // Replace `?` by one character and `*` by a run, so the text must match.
            let fill_text = String::from_iter(&fill);
            let text: String = pattern
                .iter()
                .map(|c| match c {
                    '*' => fill_text.clone(),
                    '?' => "x".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            prop_assert!(glob(&String::from_iter(&pattern)).matches(&text));
        }
    }
}
