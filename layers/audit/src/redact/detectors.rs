//! The catalogue of detectors: one regular expression per shape of sensitive value, and the
//! checks a regular expression cannot make (Luhn, SSN number ranges, IPv6 grammar, entropy…).
//!
//! Patterns use ASCII classes and ASCII word boundaries `(?-u:\b)`: a Unicode `\b` would keep
//! the regex crate off its lazy DFA, and the values we look for are ASCII. E-mail addresses are
//! the exception: their classes take letters of any script (their boundaries stay ASCII).
//! Where a match includes context ("password=", "DOB:"), the value alone is the capture group
//! `v` (or `v2`, `v3`, `v4` for alternative forms); the context stays readable after redaction.

use super::category::Category;
use base64::Engine as _;
use regex::CaptureLocations;
use std::ops::Range;

/// The checks after a regex match: the span to report (possibly trimmed), or `None` to reject.
pub(crate) type Check = fn(hay: &str, groups: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>>;

/// The named groups of one match, read from capture slots the scanner reuses.
pub(crate) struct Groups<'a> {
    pub hay: &'a str,
    pub slots: Option<&'a CaptureLocations>,
    /// Group names and their indices in `slots`.
    pub names: &'a [(String, usize)],
}

impl<'a> Groups<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        let index = self.names.iter().find(|(n, _)| n == name)?.1;
        let (start, end) = self.slots?.get(index)?;
        self.hay.get(start..end)
    }
}

/// One detector as written; `scan` compiles these once per process.
pub(crate) struct DetectorSpec {
    pub category: Category,
    /// A cheap pattern that matches wherever `pattern` can produce a detection that passes
    /// `check` (a superset): the per-line pre-filter is built from these, and stays small
    /// enough for the lazy DFA to answer "which detectors?" in one fast pass.
    pub trigger: &'static str,
    pub pattern: String,
    pub check: Check,
}

/// ASCII word boundary (see the module comment).
const B: &str = r"(?-u:\b)";

/// Separators between a key and its value: `key=v`, `key: v`, `"key": "v"`, `\"key\":\"v\"`, `key => v`.
const KEY_VALUE_SEPARATOR: &str = r#"[ \t]*\\?["']?[ \t]*(?::|=>|=)[ \t]*"#;

const MONTH: &str = r"(?i-u:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// Every detector that works within one line. Private keys span lines and are found by `scan`.
pub(crate) fn line_detectors() -> Vec<DetectorSpec> {
    let spec = |category, trigger, pattern: String, check: Check| DetectorSpec { category, trigger, pattern, check };
    // Dates as people write them: 1985-03-12, 03/12/1985, 12.03.85, March 3, 1985, 3rd of May 1979.
    let (day, month, year) = ("(?:0?[1-9]|[12][0-9]|3[01])", "(?:0?[1-9]|1[0-2])", "(?:19|20)[0-9]{2}");
    let ordinal = "(?i-u:st|nd|rd|th)?";
    let date = format!(
        r"(?:{year}[-/.]{month}[-/.]{day}|{day}[-/.]{day}[-/.](?:19|20)?[0-9]{{2}}|{MONTH}\.?[ \t]+{day}{ordinal},?[ \t]+{year}|{day}{ordinal}[ \t]+(?:of[ \t]+)?{MONTH}\.?,?[ \t]+{year}){B}"
    );
    vec![
        // Letters of any script in the address (`jürgen@exämple.de`), so no part of one is left
        // behind. No boundary in front: leftmost matching already starts at the first character
        // that can belong to the address.
        spec(
            Category::Email,
            r"@",
            format!(r"[\p{{L}}\p{{N}}._%+-]+@(?:[\p{{L}}\p{{N}}-]+\.)+\p{{L}}{{2,24}}{B}"),
            check_email,
        ),
        // International: a leading +, a country code, then groups; the digit count is checked.
        spec(
            Category::Phone,
            r"\+[1-9]",
            format!(r"\+[1-9][0-9]{{0,3}}(?:[ .-]?(?:\([0-9]{{1,4}}\)|[0-9]{{1,6}})){{1,6}}{B}"),
            check_international_phone,
        ),
        // North American: (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567.
        spec(
            Category::Phone,
            r"[0-9)][ .-]?[0-9]{3}[ .-][0-9]{4}",
            format!(
                r"(?:\+?1[ .-]?)?(?:\([2-9][0-9]{{2}}\)(?P<p>[ .-]?)|[2-9][0-9]{{2}}(?P<s1>[ .-]))[2-9][0-9]{{2}}(?P<s2>[ .-])[0-9]{{4}}{B}"
            ),
            check_us_phone,
        ),
        spec(
            Category::Ipv4,
            r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]",
            format!(
                r"{B}(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{{2}}|[1-9]?[0-9])\.){{3}}(?:25[0-5]|2[0-4][0-9]|1[0-9]{{2}}|[1-9]?[0-9]){B}"
            ),
            check_ipv4,
        ),
        // Candidates only: groups of hex and colons (and a dotted IPv4 tail); the grammar is
        // checked by the standard library's parser. The check wants `::` or six colons, so the
        // trigger skips clock times and MAC addresses.
        spec(
            Category::Ipv6,
            r"::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:",
            r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}".to_owned(),
            check_ipv6,
        ),
        spec(
            Category::Ssn,
            r"[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}",
            format!(r"{B}[0-9]{{3}}(?P<s1>[- ])[0-9]{{2}}(?P<s2>[- ])[0-9]{{4}}{B}"),
            check_ssn,
        ),
        // The check wants 13 digits at least, in groups of 3 to 6 after the first 4 if grouped.
        spec(
            Category::PaymentCard,
            r"[0-9]{13}|[0-9]{4}[ -][0-9]{3,6}[ -][0-9]{3}",
            format!(r"{B}[0-9]{{4}}(?:[ -]?[0-9]){{9,15}}{B}"),
            check_payment_card,
        ),
        spec(
            Category::DateOfBirth,
            r"(?i-u:birth|d\.?o\.?b|born)",
            format!(
                r"(?i-u:{B}(?:date[ _-]?of[ _-]?birth|birth[ _-]?date|birthday|d\.?o\.?b\.?|born){B})[^0-9\r\n]{{0,24}}?{B}(?P<v>{date})"
            ),
            check_plain,
        ),
        spec(
            Category::DriversLicence,
            r"(?i-u:driver|licen[cs]e|dl)",
            format!(
                r"(?:(?i-u:{B}driver'?s?[ _-]?licen[cs]e(?:[ _-]?(?:number|num|no\.?|id|#))?|{B}licen[cs]e[ _-]?(?:number|num|no\.?|#)|{B}dl[ _-]?(?:number|num|no\.?|#))|{B}DLN?{B})[^0-9A-Za-z\r\n]{{0,6}}(?:(?i-u:is|no|number|num|id){B}[^0-9A-Za-z\r\n]{{1,6}})?(?P<v>{B}[A-Z0-9][A-Z0-9-]{{3,18}}[A-Z0-9]){B}"
            ),
            check_drivers_licence,
        ),
        spec(
            Category::AwsAccessKeyId,
            r"A(?:KIA|SIA|ROA|IDA|GPA|NPA|NVA|PKA|BIA|CCA|IPA)",
            format!(r"{B}(?:AKIA|ASIA|AROA|AIDA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA|AIPA)[A-Z0-9]{{16}}{B}"),
            check_plain,
        ),
        spec(
            Category::AwsSecretKey,
            r"(?i-u:aws[_-]?secret|secret[_ -]?access)",
            format!(
                r#"(?i-u:aws[_-]?secret(?:[_-]?access)?[_-]?key|secret[_ -]?access[_ -]?key|aws[_-]?secret){B}[ \t"'\\]*(?::|=>|=|[ \t]is[ \t])?[ \t"'\\]*(?P<v>[A-Za-z0-9/+]{{40}})"#
            ),
            check_aws_secret_key,
        ),
        // Every key name in the list ends in "key", "token" or "secret", then the separator.
        spec(
            Category::ApiKey,
            r#"(?i-u:key|token|secret)[ \t]*\\?["']?[ \t]*[:=]"#,
            format!(
                r"(?i-u:{B}(?:[A-Za-z0-9]+[_-])*(?:x[_-]api[_-]key|api[_-]?key|api[_-]?token|api[_-]?secret|access[_-]?token|auth[_-]?token|refresh[_-]?token|client[_-]?secret|secret[_-]?key|app[_-]?secret|private[_-]?token|session[_-]?token|token|secret){B}){KEY_VALUE_SEPARATOR}\\?[\x22']?(?P<v>[A-Za-z0-9_\-.~+/]{{16,}}={{0,2}})"
            ),
            check_api_key,
        ),
        spec(
            Category::BearerToken,
            r"(?i-u:bearer)",
            format!(r"(?i-u:{B}bearer)[ \t]+(?P<v>[A-Za-z0-9\-._~+/]{{12,}}=*)"),
            check_bearer_token,
        ),
        spec(Category::Jwt, r"eyJ", format!(r"{B}eyJ[A-Za-z0-9_-]{{4,}}(?:\.[A-Za-z0-9_-]*){{2,4}}"), check_jwt),
        spec(
            Category::Password,
            r"(?i-u:passw|passphrase|passcode|pwd)",
            format!(
                r#"(?i-u:{B}(?:[A-Za-z0-9]+[_-])*(?P<k>password|passwd|passphrase|passcode|pwd){B}){KEY_VALUE_SEPARATOR}(?:\\"(?P<v>(?:[^"\\\r\n]|\\[^"\r\n])+)|"(?P<v2>(?:[^"\\\r\n]|\\.)+)|'(?P<v3>[^'\r\n]+)|(?P<v4>[^\s"'&,;]+))"#
            ),
            check_password,
        ),
        // Command lines: `--password hunter2`.
        spec(
            Category::Password,
            r"--(?i-u:passw)",
            r#"--(?i-u:password|passwd)[ \t]+(?P<v>[^\s"'-][^\s"']*)"#.to_owned(),
            check_password,
        ),
        // URL userinfo: only the secret between `user:` and `@`.
        spec(
            Category::Password,
            r"://[^\s/?#@]*@",
            format!(r#"{B}[A-Za-z][A-Za-z0-9+.-]{{1,15}}://[^\s/?#@:"'<>]{{0,128}}:(?P<v>[^\s/?#@"'<>]+)@"#),
            check_plain,
        ),
        // HTTP Basic credentials are base64 of `user:password`.
        spec(
            Category::Password,
            r"(?i-u:basic)",
            r#"(?i-u:authorization)[ \t"'\\]*[:=][ \t"'\\]*(?i-u:basic)[ \t]+(?P<v>[A-Za-z0-9+/]{4,}={0,2})"#
                .to_owned(),
            check_plain,
        ),
        spec(
            Category::SlackToken,
            r"xox[abprs]-|xapp-",
            format!(r"{B}(?:xox[abprs]|xapp)-[0-9A-Za-z-]{{10,}}"),
            check_plain,
        ),
        spec(
            Category::SlackToken,
            r"hooks\.slack\.com/",
            r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,}".to_owned(),
            check_plain,
        ),
        spec(
            Category::GithubToken,
            r"gh[pousr]_|github_pat_",
            format!(r"{B}(?:gh[pousr]_[A-Za-z0-9]{{36,}}|github_pat_[A-Za-z0-9_]{{22,}}){B}"),
            check_plain,
        ),
    ]
}

fn prev_char(hay: &str, at: usize) -> Option<char> {
    hay[..at].chars().next_back()
}

fn next_char(hay: &str, at: usize) -> Option<char> {
    hay[at..].chars().next()
}

/// The character after `at` when it follows `c` (`next_after(hay, at, '.')` is the digit in `.5`).
fn char_after(hay: &str, at: usize, c: char) -> Option<char> {
    let mut rest = hay[at..].chars();
    (rest.next() == Some(c)).then(|| rest.next()).flatten()
}

/// True when `at` is preceded by `c` which is itself preceded by a digit (`7.` or `7-`).
fn digit_then(hay: &str, at: usize, c: char) -> bool {
    let mut before = hay[..at].chars().rev();
    before.next() == Some(c) && before.next().is_some_and(|d| d.is_ascii_digit())
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn check_plain(_: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    Some(value)
}

fn check_email(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    // Never rejects: a dot before the address (`….alice@x.io`) is trimmed off, and a malformed
    // address is still somebody's. (A rejection here would make the scanner retry inside the
    // match, which costs quadratic time on a long run of address characters.)
    let leading_dots = hay[value.clone()].bytes().take_while(|&b| b == b'.').count();
    Some(value.start + leading_dots..value.end)
}

fn check_international_phone(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    // E.164 allows 15 digits; fewer than 8 with the country code is a timezone or an offset.
    let digits = hay[value.clone()].bytes().filter(u8::is_ascii_digit).count();
    let before_ok = prev_char(hay, value.start).is_none_or(|c| !is_word(c) && c != '+');
    let after_ok =
        !matches!(char_after(hay, value.end, '.').or(char_after(hay, value.end, '-')), Some(c) if c.is_ascii_digit());
    ((8..=15).contains(&digits) && before_ok && after_ok).then_some(value)
}

fn check_us_phone(hay: &str, groups: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    // 555-123-4567 and 555.123.4567 but not 555-123.4567: mixed separators are other numbers.
    if let (Some(a), Some(b)) = (groups.get("s1"), groups.get("s2")) {
        if a != b {
            return None;
        }
    }
    let before_ok = prev_char(hay, value.start).is_none_or(|c| !is_word(c) && !matches!(c, '.' | '-' | '+' | '/'));
    let after_ok =
        !matches!(char_after(hay, value.end, '.').or(char_after(hay, value.end, '-')), Some(c) if c.is_ascii_digit());
    (before_ok && after_ok).then_some(value)
}

fn check_ipv4(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    // Part of a longer dotted number (an OID, 1.2.3.4.5) is not an address.
    let longer =
        digit_then(hay, value.start, '.') || char_after(hay, value.end, '.').is_some_and(|c| c.is_ascii_digit());
    (!longer).then_some(value)
}

fn check_ipv6(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    let candidate = &hay[value.clone()];
    // Code (`Face::Bad`, `std::io`) and clock times share the alphabet; addresses carry a digit
    // and either `::` or all eight groups, and stand apart from words.
    let colons = candidate.bytes().filter(|&b| b == b':').count();
    if !candidate.bytes().any(|b| b.is_ascii_digit()) || !(candidate.contains("::") || colons >= 6) {
        return None;
    }
    if prev_char(hay, value.start).is_some_and(|c| is_word(c) || c == ':' || c == '.')
        || next_char(hay, value.end).is_some_and(|c| is_word(c) || c == ':')
    {
        return None;
    }
    candidate.parse::<std::net::Ipv6Addr>().ok().map(|_| value)
}

fn check_ssn(hay: &str, groups: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    let (s1, s2) = (groups.get("s1")?, groups.get("s2")?);
    let digits: Vec<u8> = hay[value.clone()].bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    let area = u16::from(digits[0]) * 100 + u16::from(digits[1]) * 10 + u16::from(digits[2]);
    let group_zero = digits[3..5] == [0, 0];
    let serial_zero = digits[5..] == [0, 0, 0, 0];
    // The SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
    let issued = area != 0 && area != 666 && area < 900 && !group_zero && !serial_zero;
    let longer = digit_then(hay, value.start, '-')
        || char_after(hay, value.end, '-').is_some_and(|c| c.is_ascii_digit())
        || digit_then(hay, value.start, ' ')
        || char_after(hay, value.end, ' ').is_some_and(|c| c.is_ascii_digit());
    (s1 == s2 && issued && !longer).then_some(value)
}

fn check_payment_card(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    let text = &hay[value.clone()];
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    if !(13..=19).contains(&digits.len()) {
        return None;
    }
    // Grouped the way cards are printed: one separator kind, 4 first, then groups of 3 to 6.
    let has_space = text.contains(' ');
    let has_dash = text.contains('-');
    if has_space && has_dash {
        return None;
    }
    if has_space || has_dash {
        let groups: Vec<usize> = text.split([' ', '-']).map(str::len).collect();
        if groups[0] != 4 || groups[1..].iter().any(|&g| !(3..=6).contains(&g)) {
            return None;
        }
    }
    // A card number continued by more dashed or spaced digits is some other identifier.
    if digit_then(hay, value.start, '-') || char_after(hay, value.end, '-').is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    (luhn_valid(&digits) && card_network_prefix(&digits)).then_some(value)
}

/// The Luhn (mod 10) check every payment card number satisfies.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Issuer prefixes and lengths of the networks in use (Visa, Mastercard, Amex, Diners, JCB,
/// Discover, UnionPay): a Luhn-valid 16-digit number that starts with 1, 7, 8, 9 or 0 is an
/// identifier of some other kind.
fn card_network_prefix(digits: &[u8]) -> bool {
    let prefix = |n: usize| digits[..n].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
    let len = digits.len();
    match digits[0] {
        4 => matches!(len, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && len == 16,
        2 => (2221..=2720).contains(&prefix(4)) && len == 16,
        3 => match prefix(2) {
            34 | 37 => len == 15,
            30 | 36 | 38 | 39 => (14..=19).contains(&len),
            35 => (16..=19).contains(&len),
            _ => false,
        },
        6 => (prefix(4) == 6011 || prefix(2) == 62 || prefix(2) == 64 || prefix(2) == 65) && (16..=19).contains(&len),
        _ => false,
    }
}

fn check_drivers_licence(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    // Licence numbers mix letters and at least a few digits; "DL: pending" is not one.
    let digits = hay[value.clone()].bytes().filter(u8::is_ascii_digit).count();
    (digits >= 3).then_some(value)
}

fn check_aws_secret_key(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    let secret = &hay[value.clone()];
    let longer = next_char(hay, value.end).is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+');
    let mixed = secret.bytes().any(|b| b.is_ascii_lowercase()) && secret.bytes().any(|b| b.is_ascii_uppercase());
    (!longer && mixed).then_some(value)
}

/// Values after generic `token=`/`api_key:` keys: long, with letters and digits and enough
/// different characters to be random rather than a word or an identifier.
fn check_api_key(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    let value = trim_trailing(hay, value, &['.', '-']);
    let token = &hay[value.clone()];
    (token.len() >= 16 && looks_random(token)).then_some(value)
}

fn check_bearer_token(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    let value = trim_trailing(hay, value, &['.']);
    let token = &hay[value.clone()];
    (token.len() >= 12 && token.bytes().any(|b| b.is_ascii_digit()) && token.bytes().any(|b| b.is_ascii_alphabetic()))
        .then_some(value)
}

fn trim_trailing(hay: &str, mut value: Range<usize>, chars: &[char]) -> Range<usize> {
    let trimmed = hay[value.clone()].trim_end_matches(chars);
    value.end = value.start + trimmed.len();
    value
}

/// Letters and digits and at least 3 bits of Shannon entropy per character.
pub(crate) fn looks_random(token: &str) -> bool {
    let bytes = token.as_bytes();
    if !bytes.iter().any(u8::is_ascii_digit) || !bytes.iter().any(u8::is_ascii_alphabetic) {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy >= 3.0
}

fn check_jwt(hay: &str, _: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    // The header is base64url JSON naming the algorithm; a random "eyJ…" word is not a token.
    let token = &hay[value.clone()];
    let header = token.split('.').next()?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let decoded = engine.decode(header.trim_end_matches('=')).ok()?;
    let json = String::from_utf8_lossy(&decoded);
    (json.starts_with('{') && (json.contains("\"alg\"") || json.contains("\"typ\"") || json.contains("\"enc\"")))
        .then_some(value)
}

/// Words that follow "password:" in prose and configuration without being a password.
const NOT_A_PASSWORD: &[&str] = &[
    "true",
    "false",
    "null",
    "none",
    "nil",
    "undefined",
    "required",
    "optional",
    "missing",
    "invalid",
    "incorrect",
    "expired",
    "changed",
    "reset",
    "updated",
    "empty",
    "redacted",
    "hidden",
    "set",
    "unset",
    "yes",
    "no",
];

fn check_password(hay: &str, groups: &Groups<'_>, value: Range<usize>) -> Option<Range<usize>> {
    let secret = &hay[value.clone()];
    // `PWD=/home/alice` in sudo and shell logs is the working directory.
    if groups.get("k").is_some_and(|k| k.eq_ignore_ascii_case("pwd")) && secret.starts_with(['/', '~']) {
        return None;
    }
    let placeholder = secret.chars().all(|c| matches!(c, '*' | '•' | 'x' | 'X' | '.'))
        || NOT_A_PASSWORD.iter().any(|w| secret.eq_ignore_ascii_case(w))
        || (secret.starts_with('[') && secret.ends_with(']'))
        || (secret.starts_with('<') && secret.ends_with('>'))
        || (secret.starts_with("${") && secret.ends_with('}'));
    (!placeholder).then_some(value)
}

/// Where an unterminated PEM private key (a log line cut short) ends: the base64 body and
/// `Name: value` headers after the BEGIN line, on the same line (escaped `\n`) or on
/// the lines that follow, up to the first line that is neither.
pub(crate) fn unterminated_private_key_end(text: &str, header_end: usize) -> usize {
    let bytes = text.as_bytes();
    let is_body = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    // Same-line body: base64, spaces and escaped newlines (`\n`, `\r`) as in JSON strings.
    let mut end = header_end;
    loop {
        match bytes.get(end) {
            Some(&b) if is_body(b) || b == b' ' || b == b'\t' => end += 1,
            Some(b'\\') if matches!(bytes.get(end + 1), Some(b'n' | b'r')) => end += 2,
            _ => break,
        }
    }
    if end > header_end || bytes.get(end) != Some(&b'\n') {
        return trim_end_whitespace(text, header_end, end);
    }
    // Multi-line body: whole lines of base64 (or an encryption header, or the blank line after it).
    let mut pos = end + 1;
    let mut last_body_end = end;
    for line in text[pos..].split('\n') {
        let body = line.trim_end_matches('\r').trim();
        // `Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`, OpenPGP's `Version: …`; OpenPGP's `=AbCd` checksum.
        let header = body.split_once(": ").is_some_and(|(name, _)| {
            name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        let base64_line = !body.is_empty()
            && body.bytes().all(is_body)
            && (body.len() >= 16 || body.ends_with('=') || body.starts_with('='));
        if header || base64_line {
            last_body_end = pos + line.trim_end_matches('\r').len();
        } else if !body.is_empty() {
            break;
        }
        pos += line.len() + 1;
        if pos > text.len() {
            break;
        }
    }
    last_body_end.max(header_end)
}

fn trim_end_whitespace(text: &str, start: usize, end: usize) -> usize {
    start + text[start..end].trim_end().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_rejects_off_by_one() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<u8>>();
        assert!(luhn_valid(&digits("4111111111111111")));
        assert!(luhn_valid(&digits("378282246310005")));
        assert!(!luhn_valid(&digits("4111111111111112")));
        assert!(card_network_prefix(&digits("5555555555554444")));
        assert!(card_network_prefix(&digits("2223003122003222")));
        assert!(!card_network_prefix(&digits("9111111111111111")));
        assert!(!card_network_prefix(&digits("1234567812345670")));
    }

    #[test]
    fn randomness_needs_letters_digits_and_variety() {
        assert!(looks_random("a8f5f167f44f4964e6c998dee827110c"));
        assert!(!looks_random("this_is_not_a_key_at_all"));
        assert!(!looks_random("1111111111111111"));
        assert!(!looks_random("aaaaaaaa11111111"));
    }

    #[test]
    fn unterminated_keys_end_at_the_first_line_that_is_not_base64() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1y2z3w4v5u6t7s8r9q0p\nAbCdEfGhIjKlMnOpQrStUv==\nnext log line here\n";
        let header_end = text.find('\n').unwrap();
        let end = unterminated_private_key_end(text, header_end);
        assert_eq!(&text[end..], "\nnext log line here\n");
        let escaped = r"key=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAbCd end";
        let header_end = escaped.find("KEY-----").unwrap() + 8;
        let end = unterminated_private_key_end(escaped, header_end);
        assert_eq!(&escaped[..end], r"key=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAbCd end");
    }
}
