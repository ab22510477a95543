//! The penalty score: how much a finding weighs, for ordering tickets and reports.
//!
//! `score = ((Severity.Normalized + 60) / 100)² × environment weight`. The severity term keeps the
//! replaced system's curve (LOW 0.37, MEDIUM 1.0, HIGH 1.69, CRITICAL 2.25) so scores stay
//! comparable across the migration; the weights come from the policy (PROD 10, STAGING 2, DEV 1).

use secops_core::asff::{AwsSecurityFinding, SeverityLabel};

use crate::policy::Policy;

/// The severity term for a normalized severity (0..=100).
pub fn severity_term(normalized: i64) -> f64 {
    let n = normalized.clamp(0, 100) as f64;
    ((n + 60.0) / 100.0).powi(2)
}

/// The finding's normalized severity: `Severity.Normalized`, else the label's band floor.
pub fn normalized_severity(finding: &AwsSecurityFinding, label: Option<SeverityLabel>) -> i64 {
    finding.severity.normalized_value().or_else(|| label.map(SeverityLabel::normalized)).unwrap_or(0)
}

/// The score and the environment it was weighted for, rounded to 4 decimals.
pub fn penalty_score(policy: &Policy, normalized: i64, environment: Option<&str>) -> (f64, String) {
    let env = policy.environment(environment);
    let score = severity_term(normalized) * env.weight;
    ((score * 10_000.0).round() / 10_000.0, env.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_term_matches_the_documented_curve() {
        for (n, want) in [(0, 0.36), (1, 0.3721), (40, 1.0), (70, 1.69), (90, 2.25), (100, 2.56)] {
            assert!((severity_term(n) - want).abs() < 1e-9, "{n}: {}", severity_term(n));
        }
        assert_eq!(severity_term(-5), severity_term(0));
        assert_eq!(severity_term(250), severity_term(100));
    }

    #[test]
    fn production_weighs_ten_times_development() {
        let policy = Policy::built_in();
        let (prod, env) = penalty_score(&policy, 70, Some("production"));
        assert_eq!(env, "PROD");
        assert_eq!(prod, 16.9);
        assert_eq!(penalty_score(&policy, 70, Some("dev")), (1.69, "DEV".to_owned()));
        assert_eq!(penalty_score(&policy, 90, Some("uat")), (4.5, "STAGING".to_owned()));
        assert_eq!(penalty_score(&policy, 40, None), (1.0, "UNSPECIFIED".to_owned()));
    }
}
