//! Generated analyst triage reports: Markdown shaped like what the product writes into tickets
//! (headings, severity tables, evidence lists with ARNs and addresses in code, nested lists,
//! remediation task lists, JSON/Bash/HCL code, quotes, links, emphasis). The ADF schema test and
//! the benchmark (`scripts/compare-adf`) use them as a corpus. Deterministic for a seed; addresses
//! come from the documentation ranges (RFC 5737) and account ids are made up.

/// `count` reports generated from `seed`. Report `i` depends only on `seed` and `i`, so a
/// longer run starts with the reports of a shorter one.
pub fn sample_triage_reports(count: usize, seed: u64) -> Vec<String> {
    (0..count as u64).map(|index| Report::new(seed ^ index.wrapping_mul(0xA076_1D64_78BD_642F)).write()).collect()
}

/// SplitMix64: tiny, fast, and good enough to vary text.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next() % bound
        }
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices.get(self.below(choices.len() as u64) as usize).copied().unwrap_or("")
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An address from one of the RFC 5737 documentation ranges.
    fn address(&mut self) -> String {
        let net = self.pick(&["192.0.2", "198.51.100", "203.0.113"]);
        format!("{net}.{}", 1 + self.below(254))
    }

    fn account(&mut self) -> String {
        format!("{:012}", self.below(1_000_000_000_000))
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut out = format!("{:016x}{:016x}", self.next(), self.next());
        out.truncate(digits);
        out
    }
}

struct Kind {
    title: &'static str,
    service: &'static str,
    resource_type: &'static str,
    control: &'static str,
    docs: &'static str,
}

const KINDS: [Kind; 8] = [
    Kind {
        title: "S3 bucket allows public read access",
        service: "s3",
        resource_type: "AwsS3Bucket",
        control: "S3.2",
        docs: "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html",
    },
    Kind {
        title: "Security group allows ingress from 0.0.0.0/0 to port 22",
        service: "ec2",
        resource_type: "AwsEc2SecurityGroup",
        control: "EC2.19",
        docs: "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html",
    },
    Kind {
        title: "IAM access key unused for 90 days",
        service: "iam",
        resource_type: "AwsIamAccessKey",
        control: "IAM.3",
        docs: "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html",
    },
    Kind {
        title: "Root account used without MFA",
        service: "iam",
        resource_type: "AwsAccount",
        control: "IAM.9",
        docs: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html",
    },
    Kind {
        title: "EC2 instance is querying a domain associated with cryptocurrency mining",
        service: "ec2",
        resource_type: "AwsEc2Instance",
        control: "GuardDuty CryptoCurrency:EC2/BitcoinTool.B!DNS",
        docs: "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-ec2.html",
    },
    Kind {
        title: "EBS volume is not encrypted at rest",
        service: "ec2",
        resource_type: "AwsEc2Volume",
        control: "EC2.3",
        docs: "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html",
    },
    Kind {
        title: "CloudTrail logging is disabled in a region",
        service: "cloudtrail",
        resource_type: "AwsCloudTrailTrail",
        control: "CloudTrail.1",
        docs: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/best-practices-security.html",
    },
    Kind {
        title: "RDS snapshot is shared publicly",
        service: "rds",
        resource_type: "AwsRdsDbSnapshot",
        control: "RDS.1",
        docs: "https://docs.aws.amazon.com/securityhub/latest/userguide/rds-controls.html",
    },
];

const REGIONS: [&str; 6] = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2", "eu-north-1"];
const SEVERITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const TEAMS: [&str; 5] = ["payments", "platform", "data-lake", "identity", "edge"];

struct Report {
    rng: SplitMix64,
}

impl Report {
    fn new(seed: u64) -> Self {
        Report { rng: SplitMix64(seed) }
    }

    fn write(mut self) -> String {
        let kind = &KINDS[self.rng.below(KINDS.len() as u64) as usize];
        let region = self.rng.pick(&REGIONS);
        let account = self.rng.account();
        let team = self.rng.pick(&TEAMS);
        let severity = self.rng.pick(&SEVERITIES);
        let resource = self.resource_arn(kind, region, &account, team);
        let finding_id = format!(
            "arn:aws:securityhub:{region}:{account}:subscription/aws-foundational-security-best-practices/v/1.0.0/{}/finding/{}",
            kind.control,
            self.rng.hex(32)
        );
        let mut out = String::with_capacity(4096);
        out.push_str(&format!("# Triage: {}\n\n", kind.title));
        out.push_str(&format!(
            "**Finding** `{finding_id}` in account *{account}* ({region}), owned by team **{team}**.\n\n"
        ));
        self.summary(&mut out, kind, severity, &resource);
        self.severity_table(&mut out, severity);
        self.evidence(&mut out, kind, &resource, region);
        if self.rng.chance(70) {
            self.analyst_note(&mut out);
        }
        self.code(&mut out, kind, &resource, region);
        self.remediation(&mut out, kind);
        self.references(&mut out, kind, region);
        if self.rng.chance(50) {
            out.push_str("---\n\n_Generated by SecOps Autopilot; reply in this ticket to override the decision._\n");
        }
        out
    }

    fn resource_arn(&mut self, kind: &Kind, region: &str, account: &str, team: &str) -> String {
        match kind.resource_type {
            "AwsS3Bucket" => format!("arn:aws:s3:::{team}-exports-{}", self.rng.hex(6)),
            "AwsIamAccessKey" | "AwsAccount" => format!("arn:aws:iam::{account}:user/{team}-ci"),
            "AwsCloudTrailTrail" => format!("arn:aws:cloudtrail:{region}:{account}:trail/org-trail"),
            "AwsRdsDbSnapshot" => format!("arn:aws:rds:{region}:{account}:snapshot:{team}-db-{}", self.rng.hex(4)),
            "AwsEc2SecurityGroup" => format!("arn:aws:ec2:{region}:{account}:security-group/sg-{}", self.rng.hex(17)),
            "AwsEc2Volume" => format!("arn:aws:ec2:{region}:{account}:volume/vol-{}", self.rng.hex(17)),
            _ => format!("arn:aws:{}:{region}:{account}:instance/i-{}", kind.service, self.rng.hex(17)),
        }
    }

    fn summary(&mut self, out: &mut String, kind: &Kind, severity: &str, resource: &str) {
        out.push_str("## Summary\n\n");
        let verdict = self.rng.pick(&["a true positive", "likely a true positive", "an accepted risk", "a duplicate"]);
        out.push_str(&format!(
            "The {} control **{}** failed for `{resource}`. The analyst judged it *{verdict}* with severity **{severity}**",
            kind.service.to_uppercase(),
            kind.control
        ));
        if self.rng.chance(50) {
            out.push_str(" and ~~no~~ *an* automatic fix is available");
        }
        out.push_str(".\nThe resource was last changed ");
        out.push_str(&format!("{} days ago by `{}`.\n\n", 1 + self.rng.below(40), self.rng.address()));
    }

    fn severity_table(&mut self, out: &mut String, severity: &str) {
        out.push_str("## Severity\n\n| Factor | Value | Weight |\n|:-------|:-----:|-------:|\n");
        out.push_str(&format!("| Severity label | **{severity}** | {:.1} |\n", 5.0 + self.rng.below(50) as f64 / 10.0));
        let rows: [(&str, &[&str]); 5] = [
            ("Exposure", &["Internet", "VPC only", "Account only"]),
            ("Data classification", &["`confidential`", "`internal`", "`public`"]),
            ("Exploitability", &["Known exploit", "Proof of concept", "Theoretical"]),
            ("Asset criticality", &["Tier 1", "Tier 2", "Tier 3"]),
            ("Blast radius", &["Organisation", "Account", "Single resource"]),
        ];
        let shown = 2 + self.rng.below(rows.len() as u64 - 1) as usize;
        for (factor, values) in rows.iter().take(shown) {
            let value = self.rng.pick(values);
            out.push_str(&format!("| {factor} | {value} | {:.2} |\n", self.rng.below(100) as f64 / 100.0));
        }
        out.push('\n');
    }

    fn evidence(&mut self, out: &mut String, kind: &Kind, resource: &str, region: &str) {
        out.push_str("## Evidence\n\n");
        out.push_str(&format!("- Resource `{resource}` (type `{}`)\n", kind.resource_type));
        let sources = 1 + self.rng.below(4);
        for _ in 0..sources {
            let address = self.rng.address();
            out.push_str(&format!(
                "- {} from `{address}` at {:02}:{:02} UTC\n",
                self.rng.pick(&["API call", "Connection attempt", "Console sign-in", "DNS query"]),
                self.rng.below(24),
                self.rng.below(60)
            ));
            if self.rng.chance(40) {
                out.push_str(&format!(
                    "  - user agent `{}`\n  - {} events in the last hour\n",
                    self.rng.pick(&["aws-cli/2.15.30", "Boto3/1.34.69", "console.amazonaws.com", "curl/8.5.0"]),
                    1 + self.rng.below(500)
                ));
                if self.rng.chance(30) {
                    out.push_str(&format!("    1. first seen in `{region}`\n    2. then seen in `us-east-1`\n"));
                }
            }
        }
        if self.rng.chance(30) {
            out.push_str("- Related findings:\n");
            for _ in 0..1 + self.rng.below(3) {
                out.push_str(&format!(
                    "  - [{}](https://console.aws.amazon.com/securityhub/home#/findings)\n",
                    self.rng.hex(8)
                ));
            }
        }
        out.push('\n');
    }

    fn analyst_note(&mut self, out: &mut String) {
        let note = self.rng.pick(&[
            "The bucket policy grants `s3:GetObject` to `*`; the objects include exports with customer e-mail addresses.",
            "The same key was used from two countries within ten minutes, which **does not** match the CI runners.",
            "Nothing indicates access beyond the scanner traffic, but the exposure window is unknown.",
            "The owner confirmed the change was made during an incident and never reverted.",
        ]);
        if self.rng.chance(30) {
            out.push_str(&format!("> [!WARNING]\n> {note}\n\n"));
        } else {
            out.push_str(&format!(
                "> **Analyst note:** {note}\n>\n> — triage bot, confidence {}%\n\n",
                50 + self.rng.below(50)
            ));
        }
    }

    fn code(&mut self, out: &mut String, kind: &Kind, resource: &str, region: &str) {
        match self.rng.below(3) {
            0 => out.push_str(&format!(
                "```json\n{{\n  \"eventSource\": \"{}.amazonaws.com\",\n  \"awsRegion\": \"{region}\",\n  \"sourceIPAddress\": \"{}\",\n  \"resources\": [\"{resource}\"]\n}}\n```\n\n",
                kind.service,
                self.rng.address()
            )),
            1 => out.push_str(&format!(
                "```bash\naws {} describe-{} --region {region} \\\n  --query 'Findings[?Severity.Label==`HIGH`]' --output json | jq '.[] | .Id'\n```\n\n",
                kind.service,
                self.rng.pick(&["findings", "configuration", "policy"])
            )),
            _ => {
                let name = resource.rsplit([':', '/']).next().unwrap_or(resource);
                let fix = match kind.service {
                    "s3" => format!("resource \"aws_s3_bucket_public_access_block\" \"fix\" {{\n  bucket                  = \"{name}\"\n  block_public_acls       = true\n  restrict_public_buckets = true\n}}"),
                    "ec2" => "resource \"aws_ebs_encryption_by_default\" \"fix\" {\n  enabled = true\n}".to_owned(),
                    "cloudtrail" => format!("resource \"aws_cloudtrail\" \"fix\" {{\n  name                  = \"{name}\"\n  is_multi_region_trail = true\n  enable_logging        = true\n}}"),
                    _ => format!("resource \"aws_config_remediation_configuration\" \"fix\" {{\n  config_rule_name = \"{}\"\n  target_type      = \"SSM_DOCUMENT\"\n  automatic        = false\n}}", kind.control),
                };
                out.push_str(&format!("```hcl\n{fix}\n```\n\n"));
            }
        }
    }

    fn remediation(&mut self, out: &mut String, kind: &Kind) {
        out.push_str("## Remediation\n\n");
        let steps = [
            "Confirm the owner in the `#secops` channel",
            "Snapshot the current configuration",
            "Apply the fix through the pipeline, not the console",
            "Re-run the control check",
            "Close the finding with a note",
        ];
        let done = self.rng.below(3) as usize;
        for (index, step) in steps.iter().enumerate().take(3 + self.rng.below(3) as usize) {
            let mark = if index < done { "x" } else { " " };
            out.push_str(&format!("- [{mark}] {step}\n"));
            if index == 2 && self.rng.chance(30) {
                out.push_str("  - [ ] Wait for the change window\n");
            }
        }
        out.push('\n');
        if self.rng.chance(50) {
            let start = 1 + self.rng.below(3);
            out.push_str(&format!(
                "{start}. Open the {} console.\n{}. Apply control **{}**.\n{}. Verify with `aws configservice get-compliance-details-by-resource`.\n\n",
                kind.service.to_uppercase(),
                start + 1,
                kind.control,
                start + 2
            ));
        }
    }

    fn references(&mut self, out: &mut String, kind: &Kind, region: &str) {
        out.push_str("### References\n\n");
        out.push_str(&format!("- [{} controls]({} \"AWS documentation\")\n", kind.control, kind.docs));
        out.push_str(&format!("- Console: https://{region}.console.aws.amazon.com/securityhub/home?region={region}\n"));
        if self.rng.chance(40) {
            out.push_str("- <https://www.cisecurity.org/benchmark/amazon_web_services>\n");
        }
        out.push('\n');
    }
}
