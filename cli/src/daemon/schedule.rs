//! EventBridge schedule expressions, as template.yaml writes them: `rate(N unit)` and AWS's
//! six-field `cron(minutes hours day-of-month month day-of-week year)`, evaluated in UTC.
//!
//! The AWS dialect: day-of-week 1-7 is SUN-SAT (names allowed), months 1-12 or JAN-DEC, years
//! 1970-2199, and exactly one of day-of-month and day-of-week is `?`. `*`, `?`, lists, ranges and
//! steps are supported; `L`, `W` and `#` are refused with a message rather than misread.

use std::collections::BTreeSet;
use std::time::Duration;

use time::{Date, OffsetDateTime, Time};

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Rate(Duration),
    Cron(Box<Cron>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    /// None: `?` (the day is chosen by day-of-week).
    days_of_month: Option<BTreeSet<u32>>,
    months: BTreeSet<u32>,
    /// 1 = Sunday … 7 = Saturday; None: `?`.
    days_of_week: Option<BTreeSet<u32>>,
    years: BTreeSet<u32>,
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let expr = expr.trim();
        if let Some(body) = expr.strip_prefix("rate(").and_then(|b| b.strip_suffix(')')) {
            return parse_rate(body).map(Schedule::Rate).map_err(|e| format!("{expr:?}: {e}"));
        }
        if let Some(body) = expr.strip_prefix("cron(").and_then(|b| b.strip_suffix(')')) {
            return Cron::parse(body).map(|c| Schedule::Cron(Box::new(c))).map_err(|e| format!("{expr:?}: {e}"));
        }
        Err(format!("{expr:?} is not a schedule expression: expected rate(N minutes|hours|days) or cron(min hour day-of-month month day-of-week year)"))
    }

    /// When this schedule is next due, given when it last started (None: never).
    ///
    /// A rate schedule that never ran is due now; a cron schedule that never ran waits for its
    /// next fire after `now`. A fire missed while the daemon was down is due now, once.
    pub fn next_due(&self, last_started: Option<OffsetDateTime>, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match (self, last_started) {
            (Schedule::Rate(_), None) => Some(now),
            (Schedule::Rate(every), Some(last)) => Some(last + *every),
            (Schedule::Cron(cron), None) => cron.next_after(now),
            (Schedule::Cron(cron), Some(last)) => cron.next_after(last),
        }
    }
}

fn parse_rate(body: &str) -> Result<Duration, String> {
    let mut parts = body.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected rate(N unit), e.g. rate(6 hours)".into());
    };
    let n: u64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| format!("{n:?} is not a positive whole number"))?;
    let (seconds, singular) = match unit {
        "minute" | "minutes" => (60, unit == "minute"),
        "hour" | "hours" => (3600, unit == "hour"),
        "day" | "days" => (86_400, unit == "day"),
        other => return Err(format!("unknown unit {other:?} (minute(s), hour(s) or day(s))")),
    };
    // EventBridge insists: rate(1 hour), rate(2 hours).
    if singular != (n == 1) {
        return Err(format!("write the unit {} for {n}", if n == 1 { "in the singular" } else { "in the plural" }));
    }
    Ok(Duration::from_secs(n.checked_mul(seconds).ok_or("the interval is too long")?))
}

impl Cron {
    pub fn parse(body: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
            return Err(format!(
                "expected 6 fields (minutes hours day-of-month month day-of-week year), found {}",
                fields.len()
            ));
        };
        let dom_any = *dom == "?";
        let dow_any = *dow == "?";
        if dom_any == dow_any {
            return Err("exactly one of day-of-month and day-of-week must be ?".into());
        }
        Ok(Cron {
            minutes: field(minutes, "minutes", 0, 59, &[], 0)?,
            hours: field(hours, "hours", 0, 23, &[], 0)?,
            days_of_month: if dom_any { None } else { Some(field(dom, "day-of-month", 1, 31, &[], 0)?) },
            months: field(month, "month", 1, 12, &MONTHS, 1)?,
            days_of_week: if dow_any { None } else { Some(field(dow, "day-of-week", 1, 7, &WEEKDAYS, 1)?) },
            years: field(year, "year", 1970, 2199, &[], 0)?,
        })
    }

    /// The first fire strictly after `after` (whole minutes, UTC); None when the years run out.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let after = after.to_offset(time::UtcOffset::UTC);
        let start = after.replace_second(0).ok()?.replace_nanosecond(0).ok()? + time::Duration::minutes(1);
        let mut date = start.date();
        let last_year = *self.years.last()?;
        while date.year() <= last_year as i32 {
            if self.day_matches(date) {
                let first_day = date == start.date();
                let from_hour = if first_day { u32::from(start.hour()) } else { 0 };
                for &hour in self.hours.range(from_hour..) {
                    let from_minute = if first_day && hour == from_hour { u32::from(start.minute()) } else { 0 };
                    if let Some(&minute) = self.minutes.range(from_minute..).next() {
                        let time = Time::from_hms(hour as u8, minute as u8, 0).ok()?;
                        return Some(date.with_time(time).assume_utc());
                    }
                }
            }
            date = date.next_day()?;
        }
        None
    }

    fn day_matches(&self, date: Date) -> bool {
        let year_ok = u32::try_from(date.year()).is_ok_and(|y| self.years.contains(&y));
        let month_ok = self.months.contains(&u32::from(u8::from(date.month())));
        let day_ok = match (&self.days_of_month, &self.days_of_week) {
            (Some(dom), _) => dom.contains(&u32::from(date.day())),
            (None, Some(dow)) => dow.contains(&u32::from(date.weekday().number_from_sunday())),
            (None, None) => true,
        };
        year_ok && month_ok && day_ok
    }
}

/// One field: `*`, or a comma list of `v`, `a-b`, `a/step`, `a-b/step`, `*/step`; names (1-based
/// from `base`) where the field has them.
fn field(text: &str, name: &str, min: u32, max: u32, names: &[&str], base: u32) -> Result<BTreeSet<u32>, String> {
    let value = |v: &str| -> Result<u32, String> {
        let upper = v.to_ascii_uppercase();
        let n = match names.iter().position(|n| *n == upper) {
            Some(i) => i as u32 + base,
            None => v.parse::<u32>().map_err(|_| {
                if v.contains(['L', 'W', '#']) {
                    format!("{name} {text:?}: L, W and # are not supported")
                } else {
                    format!("{name} {text:?}: {v:?} is not a number")
                }
            })?,
        };
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("{name} {text:?}: {n} is outside {min}-{max}"))
        }
    };
    let mut set = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{name} {text:?}: step {s:?} is not a positive number"))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `5/15` = from 5 to the end, every 15.
                None if step > 1 || part.contains('/') => (value(r)?, max),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if from > to {
            return Err(format!("{name} {text:?}: the range {from}-{to} runs backwards"));
        }
        set.extend((from..=to).step_by(step as usize));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn cron(expr: &str) -> Cron {
        match Schedule::parse(expr).unwrap() {
            Schedule::Cron(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rates_parse_with_the_aws_unit_rules() {
        assert_eq!(Schedule::parse("rate(6 hours)"), Ok(Schedule::Rate(Duration::from_secs(21_600))));
        assert_eq!(Schedule::parse("rate(1 minute)"), Ok(Schedule::Rate(Duration::from_secs(60))));
        assert_eq!(Schedule::parse("rate(2 days)"), Ok(Schedule::Rate(Duration::from_secs(172_800))));
        for bad in ["rate(1 hours)", "rate(2 hour)", "rate(0 minutes)", "rate(5 weeks)", "rate(hours)", "every hour"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_daily_triage_cron_fires_at_five_utc() {
        let c = cron("cron(0 5 * * ? *)");
        assert_eq!(c.next_after(datetime!(2026-11-22 04:30 UTC)), Some(datetime!(2026-11-22 05:00 UTC)));
        assert_eq!(c.next_after(datetime!(2026-11-22 05:00 UTC)), Some(datetime!(2026-11-23 05:00 UTC)));
        assert_eq!(c.next_after(datetime!(2026-12-31 06:00 UTC)), Some(datetime!(2027-01-01 05:00 UTC)));
    }

    #[test]
    fn day_of_week_counts_from_sunday_and_takes_names() {
        // 2026-11-22 is a Sunday.
        let weekdays = cron("cron(30 8 ? * MON-FRI *)");
        assert_eq!(weekdays.next_after(datetime!(2026-11-21 12:00 UTC)), Some(datetime!(2026-11-23 08:30 UTC)));
        let sundays = cron("cron(0 0 ? * 1 *)");
        assert_eq!(sundays.next_after(datetime!(2026-11-20 00:00 UTC)), Some(datetime!(2026-11-22 00:00 UTC)));
        let saturday = cron("cron(0 0 ? * 7 *)");
        assert_eq!(saturday.next_after(datetime!(2026-11-22 00:00 UTC)), Some(datetime!(2026-11-28 00:00 UTC)));
    }

    #[test]
    fn lists_ranges_steps_months_and_years() {
        let c = cron("cron(0/15 9-10 1,15 JAN,jul ? 2027-2028)");
        assert_eq!(c.next_after(datetime!(2026-11-22 00:00 UTC)), Some(datetime!(2027-01-01 09:00 UTC)));
        assert_eq!(c.next_after(datetime!(2027-01-01 10:45 UTC)), Some(datetime!(2027-01-15 09:00 UTC)));
        assert_eq!(c.next_after(datetime!(2027-01-15 09:07 UTC)), Some(datetime!(2027-01-15 09:15 UTC)));
        assert_eq!(c.next_after(datetime!(2028-07-15 10:45 UTC)), None);
        let every_ten = cron("cron(*/10 * * * ? *)");
        assert_eq!(every_ten.next_after(datetime!(2026-11-22 04:59:59.9 UTC)), Some(datetime!(2026-11-22 05:00 UTC)));
        // 31 February never comes: the search ends with the years.
        assert_eq!(cron("cron(0 0 31 2 ? 2026-2030)").next_after(datetime!(2026-01-01 00:00 UTC)), None);
    }

    #[test]
    fn unsupported_and_malformed_crons_say_why() {
        for (expr, says) in [
            ("cron(0 5 * * * *)", "exactly one"),
            ("cron(0 5 ? * ? *)", "exactly one"),
            ("cron(0 5 L * ? *)", "not supported"),
            ("cron(0 5 ? * 6#3 *)", "not supported"),
            ("cron(0 5 15W * ? *)", "not supported"),
            ("cron(60 5 * * ? *)", "outside 0-59"),
            ("cron(0 5 * * ?)", "6 fields"),
            ("cron(0 5 * 13 ? *)", "outside 1-12"),
            ("cron(0 5 ? * 0 *)", "outside 1-7"),
            ("cron(0 20-5 * * ? *)", "backwards"),
        ] {
            let err = Schedule::parse(expr).unwrap_err();
            assert!(err.contains(says), "{expr}: {err}");
        }
    }

    #[test]
    fn a_missed_fire_is_due_once_and_a_new_rate_runs_at_once() {
        let now = datetime!(2026-11-22 07:00 UTC);
        let daily = Schedule::parse("cron(0 5 * * ? *)").unwrap();
        // Last ran three days ago: due now (the fire two days ago and yesterday's are one run).
        let due = daily.next_due(Some(datetime!(2026-11-19 05:00 UTC)), now).unwrap();
        assert!(due <= now);
        // After that run started, the next is tomorrow.
        assert_eq!(daily.next_due(Some(now), now), Some(datetime!(2026-11-23 05:00 UTC)));
        assert_eq!(daily.next_due(None, now), Some(datetime!(2026-11-23 05:00 UTC)));
        let hourly = Schedule::parse("rate(1 hour)").unwrap();
        assert_eq!(hourly.next_due(None, now), Some(now));
        assert_eq!(hourly.next_due(Some(datetime!(2026-11-22 06:30 UTC)), now), Some(datetime!(2026-11-22 07:30 UTC)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The next fire is after the given time, matches every field, and no minute between
        /// them matches (checked minute by minute over a bounded window).
        #[test]
        fn next_fire_is_the_first_matching_minute(
            minute in 0u32..60, hour in 0u32..24, step in 1u32..30, dow in 1u32..8,
            offset_minutes in 0i64..(60 * 24 * 40),
        ) {
            let exprs = [
                format!("cron({minute} {hour} * * ? *)"),
                format!("cron({minute}/{step} * ? * {dow} *)"),
                format!("cron(*/{step} {hour}-23 1-10 * ? *)"),
            ];
            let after = datetime!(2026-01-01 00:00:30 UTC) + time::Duration::minutes(offset_minutes);
            for expr in &exprs {
                let c = cron(expr);
                let next = c.next_after(after).unwrap();
                prop_assert!(next > after);
                prop_assert!(matches(&c, next), "{expr}: {next} does not match");
                let mut t = after.replace_second(0).unwrap() + time::Duration::minutes(1);
                while t < next {
                    prop_assert!(!matches(&c, t), "{expr}: {t} matches before {next}");
                    t += time::Duration::minutes(1);
                }
            }
        }
    }

    fn matches(c: &Cron, t: OffsetDateTime) -> bool {
        c.day_matches(t.date()) && c.hours.contains(&u32::from(t.hour())) && c.minutes.contains(&u32::from(t.minute()))
    }
}
