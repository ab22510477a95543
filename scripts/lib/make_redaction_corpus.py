#!/usr/bin/env python3
"""Write the labelled redaction corpus: realistic mixed log text with every sensitive span marked.

    python3 scripts/lib/make_redaction_corpus.py [OUTPUT]   (default: layers/audit/tests/data/redaction-corpus.jsonl)

Deterministic (fixed seed, Python 3 standard library only): running it again gives the same file.
Each line is one record:

    {"text": "...", "spans": [{"start": 12, "end": 30, "byte_start": 12, "byte_end": 30, "category": "email"}]}

`start`/`end` are CHARACTER offsets (Python string indices, Unicode code points) into `text`;
`byte_start`/`byte_end` are BYTE offsets into its UTF-8 encoding (what the Rust `detect` reports).
Spans are sorted and never overlap. A span covers the sensitive value only, not the key or label
before it (`password=` stays outside the `password` span), and where two categories could claim
the same bytes the label follows the redactor's precedence: a JWT after `Bearer` is `jwt`; a GitHub
token after `token=` is `github_token`; an IPv4-mapped IPv6 address is `ipv6`.

Categories: email phone ipv4 ipv6 ssn payment_card date_of_birth drivers_licence aws_access_key_id
aws_secret_key api_key bearer_token jwt private_key password slack_token github_token.

The corpus also holds many near misses that must NOT be reported: hostnames, ARNs, UUIDs, version
strings, timestamps, durations, ports, hashes, MAC addresses, random 16-digit numbers that fail the
Luhn check, AKIA-like strings of the wrong length, and prose about passwords and keys.
A few positives are deliberately hard (a UK phone number without +44, an e-mail address in upper
case) so the figures are not flattered by construction.
"""

import base64
import ipaddress
import json
import random
import string
import sys
from pathlib import Path

SEED = 20240315
RECORDS = 3000

rng = random.Random(SEED)

ALNUM = string.ascii_letters + string.digits
UPPER_B32 = string.ascii_uppercase + "234567"
HEX = "0123456789abcdef"
B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"

FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "wendy", "yusuf", "zara", "omar", "mei"]
LAST = ["smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "anderson", "thomas", "moore", "martin",
        "lee", "walker", "hall", "young", "king", "wright", "scott", "green", "baker", "nguyen", "patel", "kim"]
DISPLAY_NAMES = ["José Müller", "Zoë Ångström", "李雷", "Renée O'Brien", "Søren Kierkegaard", "Ana Łukasik",
                 "Jane Doe", "John Smith", "Priya Raman", "Mikko Häkkinen", "Αλέξης Παππάς", "Chloé Dubois"]
DOMAINS = ["example.com", "example.org", "corp.example.net", "mail.example.co.uk", "acme-corp.io", "contoso.com",
           "fabrikam.example", "globex.example.com", "initech.io"]
SERVICES = ["api-gateway", "billing", "auth", "inventory", "notify", "search", "payments", "reporting", "ingest"]
HOSTS = ["web-01.prod.example.com", "db.internal", "cache-2.internal", "ip-10-0-1-23.ec2.internal",
         "worker-7.eu-west-1.compute.internal", "bastion.example.net", "k8s-node-3", "api.example.com"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1"]
PASSWORD_WORDS = ["hunter2", "Sup3r$ecret!", "P@ssw0rd2024", "correct-horse-battery-staple", "Tr0ub4dor&3x",
                  "letmein123", "Winter2024!", "qwerty!9876", "s3cr3t-P4ss", "dragon_fly42", "N0tMyRealPw#"]


def pick(seq):
    return rng.choice(seq)


def rand(alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def digits(n):
    return rand(string.digits, n)


def mixed_token(n, alphabet=ALNUM):
    """Random characters with at least one digit, one lower and one upper letter."""
    while True:
        t = rand(alphabet, n)
        if any(c.isdigit() for c in t) and any(c.islower() for c in t) and any(c.isupper() for c in t):
            return t


# ---------------------------------------------------------------- sensitive values


def email():
    f, l = pick(FIRST), pick(LAST)
    local = pick([f"{f}.{l}", f"{f}{rng.randint(1, 99)}", f"{f[0]}.{l}", f"{f}.{l}+{pick(['ops', 'jira', 'test'])}",
                  f"{f}_{l}"])
    return f"{local}@{pick(DOMAINS)}"


def us_phone():
    a = f"{rng.randint(2, 9)}{digits(2)}"
    e = f"{rng.randint(2, 9)}{digits(2)}"
    n = digits(4)
    return pick([f"({a}) {e}-{n}", f"{a}-{e}-{n}", f"{a}.{e}.{n}", f"+1 {a} {e} {n}", f"+1-{a}-{e}-{n}",
                 f"1-800-{e}-{n}", f"+1{a}{e}{n}", f"+1 ({a}) {e}-{n}"])


def intl_phone():
    return pick([f"+44 20 7946 {digits(4)}", f"+44 7700 900{digits(3)}", f"+49 30 {digits(7)}",
                 f"+33 1 {digits(2)} {digits(2)} {digits(2)} {digits(2)}", f"+81 3-{digits(4)}-{digits(4)}",
                 f"+61 2 {digits(4)} {digits(4)}", f"+91 98765 {digits(5)}", f"+353 1 {digits(3)} {digits(4)}",
                 f"+34 612 {digits(3)} {digits(3)}", f"+46 8 {digits(3)} {digits(2)} {digits(2)}"])


def phone():
    return us_phone() if rng.random() < 0.55 else intl_phone()


def ipv4():
    kind = rng.random()
    if kind < 0.3:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind < 0.45:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind < 0.6:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6():
    kind = rng.random()
    if kind < 0.1:
        return "::1"
    if kind < 0.25:
        return f"::ffff:{ipv4()}"
    if kind < 0.45:
        return f"fe80::{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}"
    if kind < 0.65:
        return f"2001:db8::{rng.randint(1, 0xffff):x}"
    addr = ipaddress.IPv6Address(rng.getrandbits(128) & ~(0xffff << 64) | (0x2001 << 112))
    if rng.random() < 0.3:
        return addr.exploded
    text = str(addr)
    # Real addresses have a digit in them; the random ones nearly always do.
    return text if any(c.isdigit() for c in text) else "2001:db8::7"


def ssn():
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    sep = "-" if rng.random() < 0.85 else " "
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def luhn_check_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number):
    return luhn_check_digit(number[:-1]) == number[-1]


def card():
    network = rng.random()
    if network < 0.35:
        prefix, length, groups = "4", 16, [4, 4, 4, 4]
    elif network < 0.5:
        prefix, length, groups = str(rng.randint(51, 55)), 16, [4, 4, 4, 4]
    elif network < 0.58:
        prefix, length, groups = str(rng.randint(2221, 2720)), 16, [4, 4, 4, 4]
    elif network < 0.73:
        prefix, length, groups = pick(["34", "37"]), 15, [4, 6, 5]
    elif network < 0.85:
        prefix, length, groups = "6011", 16, [4, 4, 4, 4]
    elif network < 0.93:
        prefix, length, groups = str(rng.randint(3528, 3589)), 16, [4, 4, 4, 4]
    else:
        prefix, length, groups = "36", 14, [4, 6, 4]
    body = prefix + digits(length - len(prefix) - 1)
    number = body + luhn_check_digit(body)
    style = rng.random()
    if style < 0.3:
        return number
    sep = " " if style < 0.75 else "-"
    out, i = [], 0
    for g in groups:
        out.append(number[i:i + g])
        i += g
    return sep.join(out)


def non_luhn_16():
    while True:
        n = str(rng.randint(1, 9)) + digits(15)
        if not luhn_ok(n):
            return n


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def birth_date():
    y, m, d = rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)
    return pick([f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{d:02d}.{m:02d}.{y}", f"{MONTHS[m - 1]} {d}, {y}",
                 f"{d} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1][:3]} {d} {y}", f"{m}/{d}/{y}"])


def licence_number():
    return pick([f"{rand(string.ascii_uppercase, 1)}{digits(7)}", f"{rand(string.ascii_uppercase, 1)}{digits(3)}-{digits(4)}-{digits(4)}",
                 f"{rand(string.ascii_uppercase, 5)}{digits(6)}{rand(string.ascii_uppercase, 2)}{digits(1)}{rand(string.ascii_uppercase, 2)}",
                 digits(9), f"{rand(string.ascii_uppercase, 1)}{digits(12)}"])


def aws_access_key_id():
    return pick(["AKIA", "AKIA", "ASIA", "AROA", "AIDA"]) + rand(UPPER_B32, 16)


def aws_secret_key():
    return mixed_token(40, B64)


def api_key_value():
    return pick([lambda: rand(HEX, 32), lambda: mixed_token(rng.randint(24, 40)), lambda: "sk_live_" + mixed_token(24),
                 lambda: "AIza" + mixed_token(35, ALNUM + "-_"), lambda: mixed_token(20) + "." + mixed_token(12)])()


def bearer_value():
    return pick([lambda: mixed_token(32), lambda: "ya29." + mixed_token(40, ALNUM + "-_"), lambda: rand(HEX, 40)])()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt():
    header = pick([{"alg": "HS256", "typ": "JWT"}, {"alg": "RS256", "kid": rand(HEX, 8), "typ": "JWT"},
                   {"typ": "JWT", "alg": "ES256"}])
    payload = {"sub": digits(10), "name": f"{pick(FIRST)} {pick(LAST)}", "iat": rng.randint(1600000000, 1720000000)}
    if rng.random() < 0.5:
        payload["scope"] = "read:findings write:tickets"
    sig = rand(B64URL, 43)
    return f"{b64url(json.dumps(header, separators=(',', ':')).encode())}.{b64url(json.dumps(payload, separators=(',', ':')).encode())}.{sig}"


def pem_body(lines):
    return [rand(B64, 64) for _ in range(lines - 1)] + [rand(B64, rng.randint(8, 60)) + pick(["", "=", "=="])]


def private_key(newline):
    kind = pick(["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""])
    lines = [f"-----BEGIN {kind}PRIVATE KEY-----"]
    if kind == "RSA " and rng.random() < 0.4:
        lines += ["Proc-Type: 4,ENCRYPTED", f"DEK-Info: AES-128-CBC,{rand(HEX, 32).upper()}", ""]
    lines += pem_body(rng.randint(2, 4))
    lines.append(f"-----END {kind}PRIVATE KEY-----")
    return newline.join(lines)


def password_value(url_safe=False):
    # In a URL, '#', '/', '?', '@' and '%' would have to be percent-encoded.
    specials = "!$*()_+-=" if url_safe else "!#$%^*()_+-="
    words = [w for w in PASSWORD_WORDS if not url_safe or not set(w) & set("#/?@%&")]
    return pick(words) if rng.random() < 0.4 else mixed_token(rng.randint(10, 18), ALNUM + specials)


def slack_token():
    return pick([f"xoxb-{digits(12)}-{digits(13)}-{rand(ALNUM, 24)}", f"xoxp-{digits(12)}-{digits(12)}-{digits(13)}-{rand(HEX, 32)}",
                 f"xapp-1-A{rand(UPPER_B32, 10)}-{digits(13)}-{rand(HEX, 64)}"])


def slack_webhook():
    return f"https://hooks.slack.com/services/T{rand(UPPER_B32, 8)}/B{rand(UPPER_B32, 8)}/{rand(ALNUM, 24)}"


def github_token():
    if rng.random() < 0.75:
        return pick(["ghp_", "ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + rand(ALNUM, 36)
    return "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59)


# ---------------------------------------------------------------- near misses (never labelled)


def uuid():
    h = rand(HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{pick('89ab')}{h[17:20]}-{h[20:]}"


def iso_ts():
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{digits(3)}Z"


def syslog_ts():
    return f"{pick(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun'])} {rng.randint(1, 28):2d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def clf_ts():
    return f"{rng.randint(1, 28):02d}/{pick(['Jan', 'Feb', 'Mar'])}/2024:{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} +0000"


def version():
    return pick([f"v{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}", f"{rng.randint(1, 3)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}-rc{rng.randint(1, 4)}",
                 f"10.0.{rng.randint(17000, 22631)}.{rng.randint(1000, 4000)}", f"1.{rng.randint(24, 30)}.{rng.randint(0, 9)}-eks-{rand(HEX, 6)}"])


def account_id():
    return digits(12)


def arn():
    return pick([f"arn:aws:iam::{account_id()}:role/{pick(SERVICES)}-role", f"arn:aws:s3:::{pick(SERVICES)}-logs-{account_id()}/AWSLogs/",
                 f"arn:aws:ec2:{pick(REGIONS)}:{account_id()}:instance/i-0{rand(HEX, 16)}",
                 f"arn:aws:lambda:{pick(REGIONS)}:{account_id()}:function:{pick(SERVICES)}"])


def mac():
    return ":".join(rand(HEX, 2) for _ in range(6))


def wrong_akia():
    return pick(["AKIA" + rand(UPPER_B32, rng.randint(8, 14)), "AKIA" + rand(UPPER_B32, 18), "AKIB" + rand(UPPER_B32, 16)])


# ---------------------------------------------------------------- templates: lists of text and (category, value)


def t_sshd():
    return [f"{syslog_ts()} {pick(HOSTS)} sshd[{rng.randint(1000, 65000)}]: Accepted publickey for {pick(FIRST)} from ",
            ("ipv4", ipv4()), f" port {rng.randint(1024, 65535)} ssh2: RSA SHA256:{rand(B64, 43)}"]


def t_sshd_failed():
    return [f"{syslog_ts()} {pick(HOSTS)} sshd[{rng.randint(1000, 65000)}]: Failed password for invalid user {pick(FIRST)} from ",
            ("ipv6" if rng.random() < 0.3 else "ipv4", None), f" port {rng.randint(1024, 65535)} ssh2"]


def t_sudo():
    user = pick(FIRST)
    return [f"{syslog_ts()} {pick(HOSTS)} sudo: {user} : TTY=pts/{rng.randint(0, 9)} ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/systemctl restart {pick(SERVICES)}"]


def t_access_log():
    client = ("ipv4", ipv4()) if rng.random() < 0.8 else ("ipv6", ipv6())
    path = pick([f"/api/v1/findings/{uuid()}", f"/health", f"/api/v2/accounts/{account_id()}/resources?page={rng.randint(1, 40)}",
                 f"/static/app.{rand(HEX, 8)}.js"])
    pieces = [client, f' - - [{clf_ts()}] "{pick(["GET", "POST", "PUT"])} {path}']
    extra = rng.random()
    if extra < 0.12:
        pieces += ["&api_key=" if "?" in path else "?api_key=", ("api_key", api_key_value())]
    elif extra < 0.2:
        pieces += ["&email=" if "?" in path else "?email=", ("email", email())]
    elif extra < 0.26:
        pieces += ["&access_token=" if "?" in path else "?access_token=", ("jwt", jwt())]
    pieces += [f' HTTP/1.1" {pick([200, 200, 201, 204, 301, 404, 500])} {rng.randint(0, 90000)} "-" "{pick(["curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "Go-http-client/2.0", "aws-sdk-go/1.44.0"])}"']
    return pieces


def t_json_login():
    pieces = ['{"ts":"', iso_ts(), '","level":"info","service":"', pick(SERVICES), '","msg":"user login","user":"', ("email", email()),
              '","ip":"', ("ipv4", ipv4()) if rng.random() < 0.75 else ("ipv6", ipv6()), f'","request_id":"{uuid()}","duration_ms":{rng.randint(1, 900)}}}']
    return pieces


def t_json_db():
    user = pick(["app", "svc_billing", "readonly", "admin"])
    scheme = pick(["postgres", "mysql", "mongodb", "redis"])
    userinfo = "" if scheme == "redis" and rng.random() < 0.5 else user
    return ['{"ts":"', iso_ts(), f'","level":"debug","msg":"connecting","dsn":"{scheme}://{userinfo}:', ("password", password_value(url_safe=True)),
            f'@{pick(HOSTS)}:{pick([5432, 3306, 27017, 6379])}/{pick(SERVICES)}","pool":{rng.randint(2, 20)}}}']


def t_json_config():
    return ['{"level":"warn","msg":"config dump","config":{"db_host":"', pick(HOSTS), '","db_user":"app","password":"', ("password", password_value()),
            f'","timeout_ms":{rng.randint(100, 5000)},"retries":{rng.randint(1, 5)}}}}}']


def t_env_dump():
    pieces = [f"{iso_ts()} {pick(SERVICES)} env:"]
    choices = rng.sample(["db", "slack", "github", "aws", "api", "hook"], rng.randint(2, 4))
    for c in choices:
        if c == "db":
            pieces += [" DB_PASSWORD=", ("password", password_value())]
        elif c == "slack":
            pieces += [" SLACK_BOT_TOKEN=", ("slack_token", slack_token())]
        elif c == "github":
            pieces += [" GITHUB_TOKEN=", ("github_token", github_token())]
        elif c == "aws":
            pieces += [" AWS_ACCESS_KEY_ID=", ("aws_access_key_id", aws_access_key_id()), " AWS_SECRET_ACCESS_KEY=", ("aws_secret_key", aws_secret_key())]
        elif c == "api":
            pieces += [" STRIPE_API_KEY=", ("api_key", api_key_value())]
        else:
            pieces += [" SLACK_WEBHOOK_URL=", ("slack_token", slack_webhook())]
    pieces += [f" REGION={pick(REGIONS)} LOG_LEVEL=info"]
    return pieces


def t_cloudtrail():
    pieces = ['{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"', arn(), '","accessKeyId":"', ("aws_access_key_id", aws_access_key_id()),
              f'"}},"eventTime":"{iso_ts()}","eventSource":"iam.amazonaws.com","eventName":"', pick(["CreateAccessKey", "GetSecretValue", "AssumeRole", "ConsoleLogin"]),
              f'","awsRegion":"{pick(REGIONS)}","sourceIPAddress":"', ("ipv4", ipv4()), '"']
    if rng.random() < 0.4:
        pieces += [',"responseElements":{"accessKey":{"accessKeyId":"', ("aws_access_key_id", aws_access_key_id()), '","secretAccessKey":"',
                   ("aws_secret_key", aws_secret_key()), '","status":"Active"}}']
    pieces += [f',"requestID":"{uuid()}","recipientAccountId":"{account_id()}"}}']
    return pieces


def t_curl():
    token = ("jwt", jwt()) if rng.random() < 0.45 else ("bearer_token", bearer_value())
    return [f"$ curl -sS -H 'Authorization: Bearer ", token, f"' https://{pick(HOSTS)}/api/v1/{pick(SERVICES)}?limit={rng.randint(1, 100)}"]


def t_http_headers():
    pieces = [f"{iso_ts()} DEBUG http request headers: Host: {pick(HOSTS)}; "]
    kind = rng.random()
    if kind < 0.35:
        pieces += ["x-api-key: ", ("api_key", api_key_value())]
    elif kind < 0.7:
        pieces += ["Authorization: Bearer ", ("bearer_token", bearer_value())]
    else:
        pieces += ["Authorization: Basic ", ("password", base64.b64encode(f"{pick(FIRST)}:{password_value()}".encode()).decode())]
    pieces += [f"; User-Agent: aws-sdk-go/1.44.{rng.randint(0, 300)}"]
    return pieces


def t_stack_trace():
    svc = pick(SERVICES).capitalize()
    kind = rng.random()
    if kind < 0.35:
        return [f"java.lang.IllegalStateException: charge declined for card ", ("payment_card", card()),
                f"\n\tat com.example.{svc.lower()}.CardService.charge(CardService.java:{rng.randint(40, 400)})\n\tat com.example.{svc.lower()}.Api.handle(Api.java:{rng.randint(10, 99)})"]
    if kind < 0.6:
        return [f'Traceback (most recent call last):\n  File "/app/{svc.lower()}/handlers.py", line {rng.randint(10, 300)}, in process\n    send_mail(to=',
                "'", ("email", email()), f"')\nsmtplib.SMTPRecipientsRefused: 550 5.1.1 mailbox unavailable"]
    return [f"panic: runtime error: index out of range [{rng.randint(1, 9)}] with length {rng.randint(0, 5)}\n\ngoroutine {rng.randint(1, 300)} [running]:\nmain.(*Worker).run(0xc000{rand(HEX, 6)})\n\t/src/worker.go:{rng.randint(10, 300)} +0x{rand(HEX, 3)}"]


def t_jira_customer():
    name = pick(DISPLAY_NAMES)
    pieces = [f"Customer {name} (", ("email", email()), ", ", ("phone", phone()), f") reports a duplicate charge on {iso_ts()[:10]}. "]
    if rng.random() < 0.5:
        pieces += ["Card on file: ", ("payment_card", card()), ". "]
    else:
        pieces += [f"Order {non_luhn_16()} was refunded. "]
    pieces += [pick(["Please advise.", "Escalating to billing.", "Ticket reopened.", "Verified by phone."])]
    return pieces


def t_jira_identity():
    dob_context = pick(["DOB: ", "DOB ", "Date of birth: ", "date of birth ", "born on ", "Birthdate: ", "D.O.B. "])
    dl_context = pick(["Driver's License: ", "driver's licence no. ", "DL# ", "DLN: ", "drivers license number ", "Driver License #"])
    pieces = [f"Identity check for {pick(DISPLAY_NAMES)}: SSN ", ("ssn", ssn()), f", {dob_context}", ("date_of_birth", birth_date()),
              f", {dl_context}", ("drivers_licence", licence_number()), f". Verified by {pick(FIRST)} on {iso_ts()[:10]}."]
    return pieces


def t_hr_record():
    return ['{"employee_id":', str(rng.randint(10000, 99999)), ',"name":"', pick(DISPLAY_NAMES), '","work_email":"', ("email", email()),
            '","mobile":"', ("phone", phone()), '","ssn":"', ("ssn", ssn()), '","birthdate":"', ("date_of_birth", birth_date()),
            f'","start_date":"{iso_ts()[:10]}","manager_id":{rng.randint(10000, 99999)}}}']


def t_payment():
    pieces = [f"{iso_ts()} payments INFO charge approved card=", ("payment_card", card()),
              f" amount={rng.randint(1, 900)}.{digits(2)} currency={pick(['USD', 'EUR', 'GBP'])} txn={rand(HEX, 32)}"]
    return pieces


def t_payment_near_miss():
    return [f"{iso_ts()} payments INFO order_id={non_luhn_16()} trace_id={non_luhn_16()} amount={rng.randint(1, 900)}.{digits(2)} status=settled epoch_ms={rng.randint(1600000000000, 1720000000000)}"]


def t_slack_webhook():
    return [f"{iso_ts()} notify INFO POST ", ("slack_token", slack_webhook()), f" -> {pick([200, 200, 429, 500])} in {rng.randint(40, 900)}ms"]


def t_github():
    return [f"{iso_ts()} ci WARN git clone https://x-access-token:", ("github_token", github_token()),
            f"@github.com/{pick(['acme', 'globex', 'initech'])}/{pick(SERVICES)}.git failed: exit status 128"]


def t_github_scan():
    return [f"secret scanning alert #{rng.randint(1, 500)}: token=", ("github_token", github_token()),
            f" found in {pick(SERVICES)}/config/settings.py line {rng.randint(1, 300)}"]


def t_api_key_config():
    key = pick(["api_key=", "apikey: ", "API_KEY=", "client_secret=", "token=", '"api_key": "', "X-Api-Key: "])
    return [f"{iso_ts()} {pick(SERVICES)} loaded integration {pick(['pagerduty', 'datadog', 'sendgrid', 'twilio'])} with {key}", ("api_key", api_key_value()),
            '"' if key.endswith('"') else "", f" (timeout={rng.randint(1, 30)}s)"]


def t_password_kv():
    form = rng.random()
    if form < 0.3:
        return [f"{iso_ts()} {pick(SERVICES)} DEBUG login attempt user={pick(FIRST)} password=", ("password", password_value()), f" result=ok"]
    if form < 0.55:
        return [f"mysql -h {pick(HOSTS)} -u root --password ", ("password", password_value()), f" -e 'SHOW DATABASES'"]
    if form < 0.8:
        return [f"{pick(SERVICES)}.yaml: passwd: ", ("password", password_value()), f"  # rotated {iso_ts()[:10]}"]
    return [f"ldap bind dn=cn={pick(FIRST)},dc=example,dc=com pwd=", ("password", password_value()), f" host={pick(HOSTS)}"]


def t_private_key():
    if rng.random() < 0.5:
        return [f"{iso_ts()} secrets-scanner found a private key in {pick(SERVICES)}/deploy/id_rsa:\n", ("private_key", private_key("\n")), "\nrotate it now"]
    return ['{"type":"service_account","project_id":"', pick(SERVICES), '-prod","private_key_id":"', rand(HEX, 40), '","private_key":"',
            ("private_key", private_key("\\n")), '\\n","client_email":"', ("email", f"{pick(SERVICES)}@{pick(SERVICES)}-prod.iam.gserviceaccount.com"), '"}']


def t_jwt_log():
    return [f"{iso_ts()} auth DEBUG issued id_token=", ("jwt", jwt()), f" for session {uuid()} expires_in=3600"]


def t_ipv6_net():
    return [f"{syslog_ts()} {pick(HOSTS)} kernel: [{rng.randint(1, 99999)}.{digits(6)}] IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready; address ",
            ("ipv6", ipv6()), f" gateway ", ("ipv6", ipv6()), f" mtu {pick([1500, 9001])}"]


def t_vpc_flow():
    return [f"2 {account_id()} eni-0{rand(HEX, 16)} ", ("ipv4", ipv4()), " ", ("ipv4", ipv4()),
            f" {rng.randint(1024, 65535)} {pick([22, 443, 5432, 3389, 8080])} 6 {rng.randint(1, 90)} {rng.randint(40, 90000)} {rng.randint(1700000000, 1720000000)} {rng.randint(1700000000, 1720000000)} {pick(['ACCEPT', 'REJECT'])} OK"]


def t_support_phone():
    # Deliberately hard: national formats with no +44 and an upper-case address.
    if rng.random() < 0.5:
        return [f"Caller asked to be reached on ", ("phone", f"020 7946 {digits(4)}"), " after 5pm."]
    return [f"Forwarded from ", ("email", email().upper()), f" at {syslog_ts()}."]


# Lines with nothing to find: the near misses.
def t_quiet():
    return [pick([
        lambda: f"{iso_ts()} INFO [scheduler] job nightly-backup completed in {rng.randint(1, 99)}.{digits(2)}s (exit=0)",
        lambda: f"{syslog_ts()} {pick(HOSTS)} kernel: [{rng.randint(1, 99999)}.{digits(6)}] eth0: link up, 10000 Mbps, full duplex, mac {mac()}",
        lambda: f"Deploying {pick(SERVICES)} {version()} to cluster prod-{pick(REGIONS)} (image sha256:{rand(HEX, 64)})",
        lambda: f"{iso_ts()} WARN {pick(SERVICES)} request_id={uuid()} upstream {pick(HOSTS)}:{pick([443, 8443, 5432])} timed out after {rng.randint(1000, 30000)}ms",
        lambda: f"assumed role {arn()} session {pick(FIRST)}-{rng.randint(1000, 9999)} expires {iso_ts()}",
        lambda: f"commit {rand(HEX, 40)} Merge pull request #{rng.randint(100, 9999)} from {pick(['acme', 'globex'])}/fix-{pick(SERVICES)}",
        lambda: f"The password policy now requires {rng.randint(12, 16)} characters and rotation every {pick([60, 90])} days; password reset emails were sent.",
        lambda: f"Reminder: rotate the api key for {pick(['pagerduty', 'datadog'])} before {iso_ts()[:10]}; the bearer token flow is deprecated.",
        lambda: f"{iso_ts()} auth INFO token refreshed for session {uuid()} (token_type=Bearer, expires_in=3600)",
        lambda: f"{iso_ts()} audit INFO key {wrong_akia()} rejected: malformed access key id",
        lambda: f"build {version()} passed {rng.randint(100, 2000)} tests in {rng.randint(10, 600)}s on {pick(HOSTS)}",
        lambda: f"{syslog_ts()} {pick(HOSTS)} systemd[1]: Started {pick(SERVICES)}.service - {pick(SERVICES)} worker (pid {rng.randint(100, 65000)}).",
        lambda: f"metrics p50={rng.randint(1, 90)}ms p99={rng.randint(100, 900)}ms rps={rng.randint(10, 9000)} errors={rng.randint(0, 9)} window=2024-03-15T10:00:00Z/PT5M",
        lambda: f"Ticket SEC-{rng.randint(100, 9999)}: {pick(['S3 bucket', 'security group', 'IAM role'])} {pick(SERVICES)}-{rng.randint(1, 9)} flagged by control {pick(['S3.1', 'EC2.19', 'IAM.4', 'CloudTrail.1'])} at {iso_ts()}",
        lambda: f"{iso_ts()} DEBUG cache hit ratio {rng.randint(50, 99)}.{digits(1)}% keys={rng.randint(1000, 99999)} evictions={rng.randint(0, 500)} node={pick(HOSTS)}",
        lambda: f"Windows build {version()} KB{rng.randint(5000000, 5099999)} installed on {pick(['WS-', 'LAPTOP-'])}{rand(string.ascii_uppercase + string.digits, 7)}",
        lambda: f"{iso_ts()} INFO created user record {rng.randint(1, 10 ** 6)} on {iso_ts()[:10]} by {pick(FIRST)} (tenant {uuid()})",
        lambda: f"{syslog_ts()} {pick(HOSTS)} cron[{rng.randint(100, 9999)}]: ({pick(FIRST)}) CMD (/usr/local/bin/rotate-logs --keep 14 --since {iso_ts()[:10]})",
        lambda: f"Résumé of incident: {pick(DISPLAY_NAMES)} acknowledged the page at {syslog_ts()}; root cause was a stale DNS record for {pick(HOSTS)}.",
    ])()]


TEMPLATES = [
    (t_sshd, 5), (t_sshd_failed, 3), (t_sudo, 3), (t_access_log, 10), (t_json_login, 7), (t_json_db, 4), (t_json_config, 3),
    (t_env_dump, 4), (t_cloudtrail, 5), (t_curl, 4), (t_http_headers, 4), (t_stack_trace, 4), (t_jira_customer, 5),
    (t_jira_identity, 4), (t_hr_record, 3), (t_payment, 4), (t_payment_near_miss, 4), (t_slack_webhook, 2), (t_github, 2),
    (t_github_scan, 2), (t_api_key_config, 4), (t_password_kv, 4), (t_private_key, 2), (t_jwt_log, 2), (t_ipv6_net, 3),
    (t_vpc_flow, 3), (t_support_phone, 1), (t_quiet, 38),
]


def fill(pieces):
    """Pieces whose value is None get one of that category (used where the category is chosen at random)."""
    makers = {"ipv4": ipv4, "ipv6": ipv6}
    return [(p[0], makers[p[0]]()) if isinstance(p, tuple) and p[1] is None else p for p in pieces]


def render(pieces):
    text, spans = "", []
    for piece in fill(pieces):
        if isinstance(piece, str):
            text += piece
            continue
        category, value = piece
        start = len(text)
        text += value
        spans.append({"start": start, "end": len(text), "byte_start": len(text[:start].encode()),
                      "byte_end": len(text.encode()), "category": category})
    return {"text": text, "spans": spans}


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "layers/audit/tests/data/redaction-corpus.jsonl"
    funcs = [f for f, _ in TEMPLATES]
    weights = [w for _, w in TEMPLATES]
    records = [render(rng.choices(funcs, weights)[0]()) for _ in range(RECORDS)]
    counts = {}
    for r in records:
        for s in r["spans"]:
            counts[s["category"]] = counts.get(s["category"], 0) + 1
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    quiet = sum(1 for r in records if not r["spans"])
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(records)} records, {quiet} with nothing sensitive)", file=sys.stderr)
    for c in sorted(counts):
        print(f"  {c:18} {counts[c]}", file=sys.stderr)


if __name__ == "__main__":
    main()
