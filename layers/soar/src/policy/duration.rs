//! Durations written as a whole number and a unit: `90s`, `15m`, `24h`, `14d`.

use time::Duration;

/// What a duration looks like, for error messages.
pub(super) const DURATION_FORMAT: &str =
    "a positive whole number followed by s, m, h or d (seconds, minutes, hours, days), e.g. 8h or 14d";

/// Parses `<n>s|m|h|d` with `n > 0`. Signs, spaces, fractions and other units are rejected
/// rather than guessed at, so `1.5d` or `24 h` is an error instead of a different deadline.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = |why: &str| format!("invalid duration `{text}`: {why}; expected {DURATION_FORMAT}");
    let Some(unit) = text.chars().last() else {
        return Err(invalid("it is empty"));
    };
    let digits = &text[..text.len() - unit.len_utf8()];
    let seconds_per_unit: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        _ => return Err(invalid("it does not end in a unit")),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("the amount is not a whole number"));
    }
    let amount: u64 = digits.parse().map_err(|_| invalid("the amount is too large"))?;
    if amount == 0 {
        return Err(invalid("it is zero"));
    }
    let seconds = amount
        .checked_mul(seconds_per_unit)
        .and_then(|s| i64::try_from(s).ok())
        .ok_or_else(|| invalid("it is too large"))?;
    Ok(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_scales_the_amount() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_duration("14d"), Ok(Duration::days(14)));
        assert_eq!(parse_duration("007d"), Ok(Duration::days(7)));
    }

    #[test]
    fn malformed_durations_say_why() {
        for (text, why) in [
            ("", "it is empty"),
            ("24", "does not end in a unit"),
            ("24w", "does not end in a unit"),
            ("24é", "does not end in a unit"),
            ("h", "not a whole number"),
            ("-1h", "not a whole number"),
            ("+1h", "not a whole number"),
            ("1.5d", "not a whole number"),
            ("24 h", "not a whole number"),
            ("0s", "it is zero"),
            ("99999999999999999999s", "the amount is too large"),
            ("9223372036854775807d", "it is too large"),
            ("9223372036854775808s", "it is too large"),
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(err.contains("expected a positive whole number"), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_largest_representable_amount_is_accepted() {
        assert_eq!(parse_duration("9223372036854775807s"), Ok(Duration::seconds(i64::MAX)));
    }
}
