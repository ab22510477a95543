//! Running the detectors over a text fast: a `RegexSet` pre-filter per line says which detectors
//! can match there, so most lines are read once, and the individual regexes (with their
//! capture groups and checks) run only on the lines that need them. Overlapping detections are
//! then resolved so every byte is reported at most once.

use super::category::Category;
use super::detectors::{line_detectors, unterminated_private_key_end, Check, Groups};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Serialize;
use std::sync::LazyLock;

/// One sensitive value found: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Detection {
    pub category: Category,
    /// Byte offset of the first byte (always on a UTF-8 character boundary).
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Detection {
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

struct LineDetector {
    category: Category,
    regex: Regex,
    check: Check,
    /// Named groups and their indices; none means the whole match is the value and the
    /// cheaper `find` does.
    names: Vec<(String, usize)>,
    /// Indices of the value groups `v`, `v2`, `v3`, `v4` that the pattern has, in that order.
    value_groups: Vec<usize>,
}

struct Scanner {
    prefilter: RegexSet,
    detectors: Vec<LineDetector>,
    private_key_header: Regex,
    private_key_footer: Regex,
}

// The compiled automata are large; building them once per process keeps `Redactor::new` cheap.
static SCANNER: LazyLock<Scanner> = LazyLock::new(Scanner::compile);

/// Generous limits: the patterns are fixed and tested, and a bigger lazy-DFA cache keeps the
/// pre-filter on its fast path over long mixed logs.
const REGEX_SIZE_LIMIT: usize = 64 << 20;
const DFA_CACHE_LIMIT: usize = 16 << 20;

impl Scanner {
    // The patterns are constants: a failure to compile is a bug that every test catches.
    fn compile() -> Scanner {
        let specs = line_detectors();
        let prefilter = RegexSetBuilder::new(specs.iter().map(|s| s.trigger))
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(DFA_CACHE_LIMIT)
            .build()
            .expect("the redaction pre-filter patterns compile");
        let detectors = specs
            .into_iter()
            .map(|s| {
                let regex = RegexBuilder::new(&s.pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(DFA_CACHE_LIMIT)
                    .build()
                    .unwrap_or_else(|e| panic!("redaction pattern for {} compiles: {e}", s.category));
                let names: Vec<(String, usize)> =
                    regex.capture_names().enumerate().filter_map(|(i, n)| n.map(|n| (n.to_owned(), i))).collect();
                let value_groups = ["v", "v2", "v3", "v4"]
                    .iter()
                    .filter_map(|v| names.iter().find(|(n, _)| n == v).map(|&(_, i)| i))
                    .collect();
                LineDetector { category: s.category, regex, check: s.check, names, value_groups }
            })
            .collect();
        let label = r"-----KIND[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----";
        Scanner {
            prefilter,
            detectors,
            private_key_header: Regex::new(&label.replace("KIND", "BEGIN")).expect("the private key header compiles"),
            private_key_footer: Regex::new(&label.replace("KIND", "END")).expect("the private key footer compiles"),
        }
    }
}

/// The largest PEM block taken whole: an 8192-bit RSA key is under 7 KiB. A BEGIN line with no
/// END line within this distance is a key cut short (see `unterminated_private_key_end`), so a
/// stray BEGIN cannot swallow the rest of a long log.
const MAX_PRIVATE_KEY_BLOCK: usize = 64 << 10;

/// Every detection in `text`, sorted by start, non-overlapping.
pub(crate) fn detect(text: &str) -> Vec<Detection> {
    let scanner = &*SCANNER;
    let mut found = Vec::new();
    if text.contains("-----BEGIN") {
        find_private_keys(scanner, text, &mut found);
    }
    let mut line_start = 0;
    for line in text.split('\n') {
        if !line.is_empty() {
            scan_line(scanner, line, line_start, &mut found);
        }
        line_start += line.len() + 1;
    }
    resolve_overlaps(found)
}

fn scan_line(scanner: &Scanner, line: &str, offset: usize, found: &mut Vec<Detection>) {
    let can_match = scanner.prefilter.matches(line);
    if !can_match.matched_any() {
        return;
    }
    for index in can_match.iter() {
        scan_one(&scanner.detectors[index], line, offset, found);
    }
}

/// The longest rejected match searched again from its second character (see `scan_one`).
const RESCAN_INSIDE_UP_TO: usize = 64;

/// Every detection of one detector in one line; `offset` is the line's place in the text.
fn scan_one(detector: &LineDetector, line: &str, offset: usize, found: &mut Vec<Detection>) {
    let mut slots = (!detector.names.is_empty()).then(|| detector.regex.capture_locations());
    let mut at = 0;
    while at <= line.len() {
        let whole = match slots.as_mut() {
            Some(slots) => detector.regex.captures_read_at(slots, line, at),
            None => detector.regex.find_at(line, at),
        };
        let Some(whole) = whole.map(|m| m.range()) else { break };
        let value = slots
            .as_ref()
            .and_then(|slots| detector.value_groups.iter().find_map(|&i| slots.get(i)))
            .map_or(whole.clone(), |(start, end)| start..end);
        let groups = Groups { hay: line, slots: slots.as_ref(), names: &detector.names };
        match (detector.check)(line, &groups, value) {
            Some(span) if span.start < span.end => {
                found.push(Detection {
                    category: detector.category,
                    start: offset + span.start,
                    end: offset + span.end,
                });
                at = whole.end.max(at + 1);
            }
            // Rejected: a valid match may start inside a short one (a card after an order
            // number), so look again from its next character. Long matches come from the
            // open-ended values after key names; looking inside them again and again would take
            // quadratic time, so the search goes on after them.
            _ if whole.len() <= RESCAN_INSIDE_UP_TO => {
                at = whole.start + line[whole.start..].chars().next().map_or(1, char::len_utf8);
            }
            _ => at = whole.end,
        }
        while !line.is_char_boundary(at.min(line.len())) {
            at += 1;
        }
    }
}

fn find_private_keys(scanner: &Scanner, text: &str, found: &mut Vec<Detection>) {
    let mut at = 0;
    // The next END line, found once and reused by every BEGIN before it: linear time even on
    // text made of BEGIN lines alone.
    let mut footer: Option<regex::Match<'_>> = None;
    let mut footers_exhausted = false;
    while let Some(header) = scanner.private_key_header.find_at(text, at) {
        if !footers_exhausted && footer.is_none_or(|f| f.start() < header.end()) {
            footer = scanner.private_key_footer.find_at(text, header.end());
            footers_exhausted = footer.is_none();
        }
        let end = match footer {
            Some(f) if f.end() - header.start() <= MAX_PRIVATE_KEY_BLOCK => f.end(),
            _ => unterminated_private_key_end(text, header.end()),
        };
        found.push(Detection { category: Category::PrivateKey, start: header.start(), end });
        at = end.max(header.end());
    }
}

/// Keeps one detection per byte: the more specific category first (see `Category::precedence`),
/// then the longer span, then the earlier one. Deterministic whatever order detectors ran in.
fn resolve_overlaps(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_unstable_by_key(|d| (d.start, d.end, d.category));
    found.dedup();
    let mut kept = Vec::with_capacity(found.len());
    // Overlaps are rare and local: settle each run of mutually reaching detections on its own.
    let mut cluster_start = 0;
    let mut cluster_end = 0;
    for i in 0..found.len() {
        if i > cluster_start && found[i].start >= cluster_end {
            settle_cluster(&found[cluster_start..i], &mut kept);
            cluster_start = i;
        }
        cluster_end = if i == cluster_start { found[i].end } else { cluster_end.max(found[i].end) };
    }
    if cluster_start < found.len() {
        settle_cluster(&found[cluster_start..], &mut kept);
    }
    kept
}

fn settle_cluster(cluster: &[Detection], kept: &mut Vec<Detection>) {
    if let [only] = cluster {
        kept.push(*only);
        return;
    }
    let mut by_rank = cluster.to_vec();
    by_rank.sort_unstable_by_key(|d| {
        (std::cmp::Reverse(d.category.precedence()), std::cmp::Reverse(d.end - d.start), d.start)
    });
    let mut chosen: Vec<Detection> = Vec::new();
    for d in by_rank {
        if chosen.iter().all(|c| c.end <= d.start || d.end <= c.start) {
            chosen.push(d);
        }
    }
    chosen.sort_unstable_by_key(|d| d.start);
    kept.extend(chosen);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(category: Category, start: usize, end: usize) -> Detection {
        Detection { category, start, end }
    }

    #[test]
    fn overlaps_resolve_to_the_more_specific_then_the_longer() {
        let resolved = resolve_overlaps(vec![
            d(Category::ApiKey, 10, 50),
            d(Category::GithubToken, 10, 50),
            d(Category::Ipv4, 60, 70),
            d(Category::Phone, 58, 72),
            d(Category::Email, 80, 90),
        ]);
        assert_eq!(
            resolved,
            vec![d(Category::GithubToken, 10, 50), d(Category::Phone, 58, 72), d(Category::Email, 80, 90)]
        );
    }

    #[test]
    fn resolution_does_not_depend_on_input_order() {
        let a = vec![d(Category::Ipv4, 0, 7), d(Category::Phone, 0, 12), d(Category::Ssn, 5, 16)];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(resolve_overlaps(a), resolve_overlaps(b));
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(SCANNER.detectors.len(), SCANNER.prefilter.len());
    }

    /// What every detector finds in `line` when run without the pre-filter.
    fn unfiltered(line: &str) -> Vec<Detection> {
        let mut found = Vec::new();
        for detector in &SCANNER.detectors {
            scan_one(detector, line, 0, &mut found);
        }
        resolve_overlaps(found)
    }

    fn filtered(line: &str) -> Vec<Detection> {
        let mut found = Vec::new();
        scan_line(&SCANNER, line, 0, &mut found);
        resolve_overlaps(found)
    }

    fn corpus_lines() -> &'static [String] {
        static LINES: LazyLock<Vec<String>> = LazyLock::new(|| {
            include_str!("../../tests/data/redaction-corpus.jsonl")
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["text"].as_str().map(str::to_owned))
                .flat_map(|t| t.split('\n').map(str::to_owned).collect::<Vec<_>>())
                .collect()
        });
        &LINES
    }

    /// Each trigger must match wherever its detector can report something, or the pre-filter
    /// would hide detections.
    #[test]
    fn the_prefilter_hides_nothing_on_the_corpus() {
        for line in corpus_lines() {
            assert_eq!(filtered(line), unfiltered(line), "{line:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_prefilter_hides_nothing_on_pieces_of_the_corpus(
            picks in proptest::collection::vec((0usize..100_000, 0usize..64, 0usize..64), 1..6)
        ) {
            let lines = corpus_lines();
            let mut line = String::new();
            for (which, from, len) in picks {
                let source = &lines[which % lines.len()];
                let chars: Vec<char> = source.chars().collect();
                let from = from.min(chars.len());
                let to = (from + len).min(chars.len());
                line.extend(&chars[from..to]);
            }
            proptest::prop_assert_eq!(filtered(&line), unfiltered(&line), "{:?}", line);
        }
    }
}
