//! Which product produced a finding: the first fork of the decide step.

use super::AwsSecurityFinding;
use std::fmt;

/// The producer of a finding, as the pipeline routes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Product {
    /// A Security Hub security-control check (`Compliance.SecurityControlId`, or a
    /// `security-control/…` or standards generator): handled as a failed control.
    SecurityHubControl,
    GuardDuty,
    /// Amazon Inspector (V2 and classic share the product ARN).
    Inspector,
    Macie,
    IamAccessAnalyzer,
    /// AWS Health notifications forwarded into Security Hub.
    Health,
    /// Another AWS integration (Config, Firewall Manager, Systems Manager Patch Manager, Security
    /// Hub findings that are not control checks, ...); `product` is its product name.
    OtherAws {
        product: String,
    },
    /// A partner or custom integration, by its company and product names.
    ThirdParty {
        company: String,
        product: String,
    },
}

impl Product {
    /// Classifies a finding from `Compliance.SecurityControlId`, `GeneratorId`, `ProductArn`
    /// (`arn:aws:securityhub:<region>::product/<company>/<product>`), then `CompanyName` and
    /// `ProductName` when the ARN is not of that form.
    pub fn of(finding: &AwsSecurityFinding) -> Product {
        if finding.compliance.as_ref().is_some_and(|c| c.security_control_id.is_some())
            || finding.generator_id.starts_with("security-control/")
        {
            return Product::SecurityHubControl;
        }
        let (company, product) = match product_arn_names(&finding.product_arn) {
            Some((company, product)) => (company.to_ascii_lowercase(), product.to_ascii_lowercase()),
            None => (
                name_key(finding.company_name.as_deref().unwrap_or_default()),
                name_key(finding.product_name.as_deref().unwrap_or_default()),
            ),
        };
        if !matches!(company.as_str(), "aws" | "amazon") {
            return Product::ThirdParty {
                company: finding.company_name.clone().unwrap_or(company),
                product: finding.product_name.clone().unwrap_or(product),
            };
        }
        match product.as_str() {
            "securityhub" | "security-hub" if is_standards_generator(&finding.generator_id) => {
                Product::SecurityHubControl
            }
            "guardduty" => Product::GuardDuty,
            "inspector" => Product::Inspector,
            "macie" => Product::Macie,
            "access-analyzer" | "iam-access-analyzer" => Product::IamAccessAnalyzer,
            "health" => Product::Health,
            _ => Product::OtherAws { product: finding.product_name.clone().unwrap_or(product) },
        }
    }

    /// A short name for logs and reports.
    pub fn name(&self) -> &str {
        match self {
            Product::SecurityHubControl => "Security Hub control",
            Product::GuardDuty => "GuardDuty",
            Product::Inspector => "Inspector",
            Product::Macie => "Macie",
            Product::IamAccessAnalyzer => "IAM Access Analyzer",
            Product::Health => "Health",
            Product::OtherAws { product } | Product::ThirdParty { product, .. } => product,
        }
    }

    pub fn is_aws(&self) -> bool {
        !matches!(self, Product::ThirdParty { .. })
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Product::ThirdParty { company, product } => write!(f, "{company} {product}"),
            other => f.write_str(other.name()),
        }
    }
}

/// `(company, product)` from `arn:<partition>:securityhub:<region>:<account>:product/<company>/<product>`.
pub fn product_arn_names(arn: &str) -> Option<(&str, &str)> {
    let resource = arn.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    let mut parts = resource.strip_prefix("product/")?.splitn(2, '/');
    let company = parts.next().filter(|s| !s.is_empty())?;
    let product = parts.next().filter(|s| !s.is_empty())?;
    Some((company, product))
}

/// `IAM Access Analyzer` → `iam-access-analyzer`, the shape of the ARN's names.
fn name_key(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace(' ', "-")
}

/// Generators of Security Hub standard checks before consolidated control findings:
/// `aws-foundational-security-best-practices/v/1.0.0/EC2.13`,
/// `arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.1`, `pci-dss/v/3.2.1/...`.
fn is_standards_generator(generator_id: &str) -> bool {
    generator_id.contains("/v/") || generator_id.contains(":ruleset/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_arn_names_are_read_from_the_resource_part() {
        assert_eq!(
            product_arn_names("arn:aws:securityhub:us-east-1::product/aws/guardduty"),
            Some(("aws", "guardduty"))
        );
        assert_eq!(
            product_arn_names("arn:aws:securityhub:eu-west-1::product/crowdstrike/crowdstrike-falcon"),
            Some(("crowdstrike", "crowdstrike-falcon"))
        );
        assert_eq!(
            product_arn_names("arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default"),
            Some(("111122223333", "default"))
        );
        assert_eq!(product_arn_names("arn:aws:securityhub:us-east-1::hub/default"), None);
        assert_eq!(product_arn_names("guardduty"), None);
    }
}
