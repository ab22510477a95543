//! Every category: values it must find (true positives) and look-alikes it must leave alone.

use secops_audit::redact::{Category, CorrelationKey, Destination, Policy, Redactor};

fn redactor() -> Redactor {
    Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([1; 32]))
}

/// What `detect` finds in `text`, as (category, matched text).
fn found(text: &str) -> Vec<(Category, &str)> {
    redactor().detect(text).into_iter().map(|d| (d.category, &text[d.range()])).collect()
}

#[track_caller]
fn finds(text: &str, category: Category, value: &str) {
    let got = found(text);
    assert!(got.contains(&(category, value)), "{text:?}: expected {category} {value:?}, got {got:?}");
}

#[track_caller]
fn finds_nothing_of(text: &str, category: Category) {
    let got = found(text);
    assert!(got.iter().all(|(c, _)| *c != category), "{text:?}: expected no {category}, got {got:?}");
}

#[track_caller]
fn finds_nothing(text: &str) {
    let got = found(text);
    assert!(got.is_empty(), "{text:?}: expected nothing, got {got:?}");
}

#[test]
fn email() {
    finds("contact alice.smith+ops@example.co.uk today", Category::Email, "alice.smith+ops@example.co.uk");
    finds("<bob_99@mail.corp-internal.io>", Category::Email, "bob_99@mail.corp-internal.io");
    finds("user=Carol.O'Neil; mail=c.oneil@example.org.", Category::Email, "c.oneil@example.org");
    finds("mailto:jürgen.groß@exämple.de>", Category::Email, "jürgen.groß@exämple.de");
    finds_nothing_of("npm i @types/node@18.11.9 and user@localhost", Category::Email);
    finds_nothing_of("see @alice on slack and a@b", Category::Email);
}

#[test]
fn phone() {
    finds("call +44 20 7946 0958 now", Category::Phone, "+44 20 7946 0958");
    finds("tel:+14155552671", Category::Phone, "+14155552671");
    finds("mobile: +49 30 1234567", Category::Phone, "+49 30 1234567");
    finds("+33 1 23 45 67 89", Category::Phone, "+33 1 23 45 67 89");
    finds("+1 (415) 555-2671", Category::Phone, "+1 (415) 555-2671");
    finds("office (212) 555-0147 ext", Category::Phone, "(212) 555-0147");
    finds("call 212-555-0147.", Category::Phone, "212-555-0147");
    finds("call 212.555.0147 or", Category::Phone, "212.555.0147");
    finds("1-800-555-0199", Category::Phone, "1-800-555-0199");
    // Timestamps, offsets, durations, versions and ids are not phone numbers.
    finds_nothing_of("2024-03-15T10:23:45.123+00:00 took 1532 ms", Category::Phone);
    finds_nothing_of("2024-03-15 10:23:45,123 +0530 pid=21345", Category::Phone);
    finds_nothing_of("build 2024.03.1517 v10.4.2-rc1 +1000 ms", Category::Phone);
    finds_nothing_of("epoch 1710498225123 seq 212-555-01470", Category::Phone);
    finds_nothing_of("order 212-555.0147 mixed separators", Category::Phone);
    finds_nothing_of("span 555-123-4567-8901", Category::Phone);
}

#[test]
fn ipv4() {
    finds("from 10.0.12.7 port 22", Category::Ipv4, "10.0.12.7");
    finds("GET http://192.168.1.20:8080/health", Category::Ipv4, "192.168.1.20");
    finds("cidr 172.16.0.0/12.", Category::Ipv4, "172.16.0.0");
    finds("[255.255.255.255]", Category::Ipv4, "255.255.255.255");
    // Version strings that are valid addresses are reported: they cannot be told apart.
    finds("version 1.2.3.4 released", Category::Ipv4, "1.2.3.4");
    finds_nothing("host 999.1.1.1 and 256.1.1.1 and 1.2.3");
    finds_nothing("oid 1.3.6.1.4.1.2021 and v1.2.3.4 and 10.0.0.1.5");
}

#[test]
fn ipv6() {
    finds("from 2001:db8:85a3::8a2e:370:7334 ok", Category::Ipv6, "2001:db8:85a3::8a2e:370:7334");
    finds("full 2001:0db8:0000:0000:0000:ff00:0042:8329", Category::Ipv6, "2001:0db8:0000:0000:0000:ff00:0042:8329");
    finds("bind [::1]:8080", Category::Ipv6, "::1");
    finds("peer ::ffff:192.0.2.128 connected", Category::Ipv6, "::ffff:192.0.2.128");
    finds("link fe80::1ff:fe23:4567:890a%eth0", Category::Ipv6, "fe80::1ff:fe23:4567:890a");
    finds_nothing("at 10:23:45 the mac 00:1a:2b:3c:4d:5e and std::io::Error and Face::Bad");
    finds_nothing("ratio 1:2:3 and a::b::c and ::");
}

#[test]
fn ssn() {
    finds("ssn 123-45-6789", Category::Ssn, "123-45-6789");
    finds("SSN: 078 05 1120.", Category::Ssn, "078 05 1120");
    // Never issued: area 000, 666, 9xx; group 00; serial 0000. Mixed separators; longer numbers.
    finds_nothing_of("000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000", Category::Ssn);
    finds_nothing_of("123-45 6789 and 2023-123-45-6789 and 123456789", Category::Ssn);
}

#[test]
fn payment_card() {
    finds("card 4111 1111 1111 1111 exp", Category::PaymentCard, "4111 1111 1111 1111");
    finds("pan=4111-1111-1111-1111", Category::PaymentCard, "4111-1111-1111-1111");
    finds("pan=5555555555554444;", Category::PaymentCard, "5555555555554444");
    finds("amex 3782 822463 10005", Category::PaymentCard, "3782 822463 10005");
    finds("order 12 4111 1111 1111 1111", Category::PaymentCard, "4111 1111 1111 1111");
    finds("mc 2223 0031 2200 3222", Category::PaymentCard, "2223 0031 2200 3222");
    // Fails Luhn (a random 16-digit id), unknown issuer, bad grouping, too long, timestamps.
    finds_nothing_of("trace 4111111111111112 and 9111111111111111", Category::PaymentCard);
    finds_nothing_of("id 1234567812345670 and 41 1111 1111 1111 11", Category::PaymentCard);
    finds_nothing_of("4111 1111-1111 1111 and 41111111111111111111", Category::PaymentCard);
    finds_nothing_of("ts 1710498225123456 seq 1710498225123", Category::PaymentCard);
}

#[test]
fn date_of_birth() {
    finds("DOB: 1985-03-12", Category::DateOfBirth, "1985-03-12");
    finds("Date of Birth (MM/DD/YYYY): 03/12/1985", Category::DateOfBirth, "03/12/1985");
    finds("she was born on March 3, 1985 in Ohio", Category::DateOfBirth, "March 3, 1985");
    finds(r#"{"birthdate":"12.03.1985"}"#, Category::DateOfBirth, "12.03.1985");
    finds("d.o.b. 3rd of May 1979", Category::DateOfBirth, "3rd of May 1979");
    // A date with no birth context is a date.
    finds_nothing_of("created 1985-03-12 updated 03/12/1985", Category::DateOfBirth);
    finds_nothing_of("stubborn process 2024-01-01, born again", Category::DateOfBirth);
}

#[test]
fn drivers_licence() {
    finds("Driver's License: D1234567", Category::DriversLicence, "D1234567");
    finds("drivers licence number is MORGA753116SM9IJ", Category::DriversLicence, "MORGA753116SM9IJ");
    finds("DL# S530-4620-1234", Category::DriversLicence, "S530-4620-1234");
    finds("DLN: 123456789", Category::DriversLicence, "123456789");
    finds_nothing_of("download dl 12345 and DL380 server and driver's license pending", Category::DriversLicence);
    finds_nothing_of("licence MIT and the DL team", Category::DriversLicence);
}

#[test]
fn aws_access_key_id() {
    finds("key AKIAIOSFODNN7EXAMPLE used", Category::AwsAccessKeyId, "AKIAIOSFODNN7EXAMPLE");
    finds("\"AccessKeyId\": \"ASIAY34FZKBOKMUTVV7A\"", Category::AwsAccessKeyId, "ASIAY34FZKBOKMUTVV7A");
    finds("role AROAJQABLZS4A3QDU576 ok", Category::AwsAccessKeyId, "AROAJQABLZS4A3QDU576");
    // Wrong length, wrong prefix, lower case.
    finds_nothing("AKIAIOSFODNN7EXAMPL AKIAIOSFODNN7EXAMPLEX AKZAIOSFODNN7EXAMPLE akiaiosfodnn7example");
}

#[test]
fn aws_secret_key() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    finds(&format!("aws_secret_access_key = {secret}"), Category::AwsSecretKey, secret);
    finds(&format!("\"SecretAccessKey\": \"{secret}\""), Category::AwsSecretKey, secret);
    finds(&format!("export AWS_SECRET_ACCESS_KEY={secret}"), Category::AwsSecretKey, secret);
    finds(&format!("the secret access key is {secret}"), Category::AwsSecretKey, secret);
    // Without its name a 40-character base64 string is not taken for a secret key.
    finds_nothing_of(&format!("blob {secret}"), Category::AwsSecretKey);
    finds_nothing_of("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYLONGER", Category::AwsSecretKey);
}

#[test]
fn api_key() {
    finds("api_key=sk_test_4eC39HqLyjWDarjtT1zdp7dc", Category::ApiKey, "sk_test_4eC39HqLyjWDarjtT1zdp7dc");
    finds("apikey: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", Category::ApiKey, "9f8e7d6c5b4a39281706f5e4d3c2b1a0");
    finds("x-api-key: Qm9ndXNLZXkxMjM0NTY3ODkw", Category::ApiKey, "Qm9ndXNLZXkxMjM0NTY3ODkw");
    finds("?token=a1b2c3d4e5f6a7b8c9d0e1f2&x=1", Category::ApiKey, "a1b2c3d4e5f6a7b8c9d0e1f2");
    finds("client_secret=T8Q~abcDEF123ghiJKL456mnoPQR789.", Category::ApiKey, "T8Q~abcDEF123ghiJKL456mnoPQR789");
    finds(r#"{"stripe_api_key": "rk_live_51HxYZ2abcDEF3ghi4JKL"}"#, Category::ApiKey, "rk_live_51HxYZ2abcDEF3ghi4JKL");
    // Short, all letters, an identifier, or a key name without a value.
    finds_nothing_of("api_key=abc123 token=expired_session_value api_key: see_the_vault_docs", Category::ApiKey);
    finds_nothing_of("token_type=Bearer next_page=2 request_id=550e8400-e29b-41d4-a716-446655440000", Category::ApiKey);
    finds_nothing_of("rotate the api key every 90 days", Category::ApiKey);
}

#[test]
fn bearer_token() {
    finds("Authorization: Bearer 2YotnFZFEjr1zCsicMWpAA9x", Category::BearerToken, "2YotnFZFEjr1zCsicMWpAA9x");
    finds("curl -H 'authorization: bearer ya29.a0AfH6SMBx3jK9'", Category::BearerToken, "ya29.a0AfH6SMBx3jK9");
    finds_nothing_of("the bearer token expired; use Bearer authentication", Category::BearerToken);
}

#[test]
fn jwt() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    finds(&format!("Authorization: Bearer {jwt}"), Category::Jwt, jwt);
    finds(&format!("id_token={jwt}&state=x"), Category::Jwt, jwt);
    finds(&format!("{{\"token\":\"{jwt}\"}}"), Category::Jwt, jwt);
    finds_nothing_of("eyJustAWord.and.more and eyJub3QganNvbg.eyJ4Ijox.sig", Category::Jwt);
}

#[test]
fn private_key() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----";
    finds(&format!("key:\n{pem}\ndone"), Category::PrivateKey, pem);
    for kind in ["EC ", "OPENSSH ", "ENCRYPTED ", ""] {
        let block = format!("-----BEGIN {kind}PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIBVgIBADANBgkqhkiG9w0BAQEF\n-----END {kind}PRIVATE KEY-----");
        finds(&format!("x {block} y"), Category::PrivateKey, &block);
    }
    let escaped = r"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    finds(&format!(r#"{{"private_key": "{escaped}\n"}}"#), Category::PrivateKey, escaped);
    // Cut short: the body up to the first line that is not base64.
    finds(
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n[truncated]",
        Category::PrivateKey,
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49",
    );
    finds_nothing_of(
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
        Category::PrivateKey,
    );
    finds_nothing_of("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", Category::PrivateKey);
}

#[test]
fn password() {
    finds("password=hunter2 user=bob", Category::Password, "hunter2");
    finds("passwd: 'c0rrect horse'", Category::Password, "c0rrect horse");
    finds("DB_PWD=Sup3r$ecret!", Category::Password, "Sup3r$ecret!");
    finds(r#"{"user": "bob", "password": "p@ss w0rd\"x"}"#, Category::Password, r#"p@ss w0rd\"x"#);
    finds(r#"msg="{\"password\":\"hunter2\"}""#, Category::Password, "hunter2");
    finds("postgres://app:s3cr3t-P4ss@db.internal:5432/app", Category::Password, "s3cr3t-P4ss");
    finds("redis://:s3cr3t-P4ss@cache:6379/0", Category::Password, "s3cr3t-P4ss");
    finds("mysql -u root --password hunter22 -h db", Category::Password, "hunter22");
    finds("Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", Category::Password, "YWxhZGRpbjpvcGVuc2VzYW1l");
    // Prose and settings about passwords are not passwords.
    finds_nothing_of("the password policy requires 12 characters; password reset sent", Category::Password);
    finds_nothing_of("password_min_length=12 password: ******** require_password: true", Category::Password);
    finds_nothing_of("sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root", Category::Password);
    finds_nothing_of("password=${DB_PASSWORD} password=<redacted> https://example.com:8080/a@b", Category::Password);
}

#[test]
fn slack_token() {
    finds(
        "SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        Category::SlackToken,
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    );
    finds(
        "xapp-1-A01ABCDEFGH-1234567890123-0123456789abcdef",
        Category::SlackToken,
        "xapp-1-A01ABCDEFGH-1234567890123-0123456789abcdef",
    );
    finds(
        "post to https://hooks.slack.com/services/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 now",
        Category::SlackToken,
        "https://hooks.slack.com/services/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",
    );
    finds_nothing("xoxb- is the prefix; xoxz-1234567890123 is not; https://slack.com/services/x");
}

#[test]
fn github_token() {
    let classic = "ghp_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8";
    finds(&format!("GITHUB_TOKEN={classic}"), Category::GithubToken, classic);
    for prefix in ["gho_", "ghu_", "ghs_", "ghr_"] {
        let token = format!("{prefix}{}", &classic[4..]);
        finds(&format!("t {token} t"), Category::GithubToken, &token);
    }
    let fine = "github_pat_11ABCDEFG0123456789abc_defghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
    finds(fine, Category::GithubToken, fine);
    finds_nothing("ghp_short and ghx_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8 and github_pat_");
}

#[test]
fn uuids_timestamps_arns_and_hostnames_are_nothing() {
    finds_nothing("request_id=550e8400-e29b-41d4-a716-446655440000 trace=1-5f84c7a1-2b3c4d5e6f7a8b9c0d1e2f3a");
    finds_nothing("2024-03-15T10:23:45.123Z 2024-03-15 10:23:45,123 [main] INFO Started in 3.21s");
    finds_nothing("arn:aws:iam::123456789012:role/Admin arn:aws:s3:::my-bucket/key.txt");
    finds_nothing("ip-10-0-1-23.ec2.internal web-01.prod.example.com db.internal:5432");
    finds_nothing("the password policy was updated; rotate secrets regularly");
}

#[test]
fn overlapping_detections_are_resolved_to_the_specific_kind() {
    // The token is an api_key by its key name and a github_token by its shape.
    let got = found("token=ghp_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8");
    assert_eq!(got, vec![(Category::GithubToken, "ghp_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8")]);
    // An IPv4-mapped IPv6 address is one IPv6 address, not an IPv4 inside it.
    assert_eq!(found("::ffff:10.1.2.3"), vec![(Category::Ipv6, "::ffff:10.1.2.3")]);
    // Everything inside a private key block is the key.
    let text = "-----BEGIN PRIVATE KEY-----\nuser@example.com 10.0.0.1\n-----END PRIVATE KEY-----";
    assert_eq!(found(text), vec![(Category::PrivateKey, text)]);
}

#[test]
fn detections_are_byte_offsets_on_character_boundaries() {
    let text = "José Müller <jose.muller@exämple.com> jose@example.com · 日本 10.0.0.1 ☃";
    let detections = redactor().detect(text);
    for d in &detections {
        assert!(text.is_char_boundary(d.start) && text.is_char_boundary(d.end));
    }
    let got: Vec<&str> = detections.iter().map(|d| &text[d.range()]).collect();
    assert_eq!(got, vec!["jose.muller@exämple.com", "jose@example.com", "10.0.0.1"]);
}

/// Inputs built to make a scanner retry or backtrack: each must finish in linear time (a
/// quadratic scanner would take minutes here, not milliseconds).
#[test]
fn pathological_inputs_finish() {
    let inputs = [
        format!("{}@x.io", "a.".repeat(100_000)),
        format!("{}.@x.io", "a".repeat(200_000)),
        "4111 1111 1111 1112 ".repeat(10_000),
        "1.2.3.4.".repeat(25_000),
        ":".repeat(200_000),
        "a:".repeat(100_000),
        "1:".repeat(100_000),
        "password=".repeat(20_000),
        "password=${".repeat(20_000),
        "bearer ".repeat(20_000) + &"a".repeat(100_000),
        "token=".repeat(30_000) + &"a".repeat(100),
        format!("eyJ{}", "A.".repeat(100_000)),
        "-----BEGIN PRIVATE KEY-----\n".repeat(7_000),
        "+1 ".repeat(60_000),
        "DOB ".repeat(50_000),
        "aws_secret_access_key ".repeat(10_000),
        "https://u:".repeat(20_000),
    ];
    for input in &inputs {
        let detections = redactor().detect(input);
        assert!(detections.windows(2).all(|w| w[0].end <= w[1].start));
    }
}
