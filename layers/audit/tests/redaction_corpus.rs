//! Recall and precision of `detect` per category on the labelled corpus
//! (`tests/data/redaction-corpus.jsonl`, written by `scripts/lib/make_redaction_corpus.py`).
//!
//! A detection counts as correct when it overlaps a labelled span of the same category; a
//! labelled span counts as found when such a detection overlaps it. The floors sit just under
//! the measured figures, so a regression in any detector fails the build. Run with
//! `--nocapture` to see the table.

use secops_audit::redact::{Category, CorrelationKey, Destination, Policy, Redactor};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Record {
    text: String,
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Span {
    byte_start: usize,
    byte_end: usize,
    category: Category,
}

#[derive(Default, Clone, Copy)]
struct Score {
    labelled: usize,
    found: usize,
    exact: usize,
    reported: usize,
    correct: usize,
}

impl Score {
    fn recall(&self) -> f64 {
        if self.labelled == 0 {
            1.0
        } else {
            self.found as f64 / self.labelled as f64
        }
    }

    fn precision(&self) -> f64 {
        if self.reported == 0 {
            1.0
        } else {
            self.correct as f64 / self.reported as f64
        }
    }
}

/// (category, recall floor, precision floor)
const FLOORS: &[(Category, f64, f64)] = &[
    (Category::Email, 0.99, 0.99),
    (Category::Phone, 0.93, 0.97),
    (Category::Ipv4, 0.99, 0.99),
    (Category::Ipv6, 0.99, 0.99),
    (Category::Ssn, 0.99, 0.99),
    (Category::PaymentCard, 0.99, 0.99),
    (Category::DateOfBirth, 0.97, 0.99),
    (Category::DriversLicence, 0.97, 0.99),
    (Category::AwsAccessKeyId, 0.99, 0.99),
    (Category::AwsSecretKey, 0.99, 0.99),
    (Category::ApiKey, 0.97, 0.97),
    (Category::BearerToken, 0.99, 0.99),
    (Category::Jwt, 0.99, 0.99),
    (Category::PrivateKey, 0.99, 0.99),
    (Category::Password, 0.97, 0.97),
    (Category::SlackToken, 0.99, 0.99),
    (Category::GithubToken, 0.99, 0.99),
];

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

#[test]
fn recall_and_precision_per_category_stay_above_their_floors() {
    let corpus = include_str!("data/redaction-corpus.jsonl");
    let redactor = Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([0; 32]));
    let mut scores: BTreeMap<Category, Score> = Category::ALL.iter().map(|&c| (c, Score::default())).collect();
    let mut mistakes: Vec<String> = Vec::new();
    let mut records = 0;
    for (n, line) in corpus.lines().enumerate() {
        let record: Record = serde_json::from_str(line).unwrap_or_else(|e| panic!("corpus line {}: {e}", n + 1));
        records += 1;
        let detections = redactor.detect(&record.text);
        for span in &record.spans {
            let score = scores.entry(span.category).or_default();
            score.labelled += 1;
            let gold = (span.byte_start, span.byte_end);
            let hit = detections.iter().find(|d| d.category == span.category && overlaps(gold, (d.start, d.end)));
            match hit {
                Some(d) => {
                    score.found += 1;
                    if (d.start, d.end) == gold {
                        score.exact += 1;
                    }
                }
                None => mistakes.push(format!(
                    "line {}: missed {} {:?}",
                    n + 1,
                    span.category,
                    &record.text[span.byte_start..span.byte_end]
                )),
            }
        }
        for d in &detections {
            let score = scores.entry(d.category).or_default();
            score.reported += 1;
            let right = record
                .spans
                .iter()
                .any(|s| s.category == d.category && overlaps((s.byte_start, s.byte_end), (d.start, d.end)));
            if right {
                score.correct += 1;
            } else {
                mistakes.push(format!("line {}: wrongly reported {} {:?}", n + 1, d.category, &record.text[d.range()]));
            }
        }
    }
    assert!(records >= 2500, "the corpus has {records} records");

    println!(
        "{:<18} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "category", "labelled", "recall", "exact", "precision", "reported"
    );
    for (category, s) in &scores {
        println!(
            "{:<18} {:>8} {:>8.3} {:>8.3} {:>10.3} {:>8}",
            category.name(),
            s.labelled,
            s.recall(),
            if s.labelled == 0 { 1.0 } else { s.exact as f64 / s.labelled as f64 },
            s.precision(),
            s.reported
        );
    }
    for m in mistakes.iter().take(60) {
        println!("{m}");
    }

    let mut failures = Vec::new();
    for &(category, min_recall, min_precision) in FLOORS {
        let s = scores[&category];
        assert!(s.labelled >= 30, "{category}: only {} labelled spans in the corpus", s.labelled);
        if s.recall() < min_recall {
            failures.push(format!("{category}: recall {:.3} < {min_recall}", s.recall()));
        }
        if s.precision() < min_precision {
            failures.push(format!("{category}: precision {:.3} < {min_precision}", s.precision()));
        }
    }
    assert!(failures.is_empty(), "below the floors:\n{}", failures.join("\n"));
}
