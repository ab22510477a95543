//! `Resources[]`: what a finding is about.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One entry of `Resources`. `Details` stays untyped: it has a different shape for each of the
/// hundreds of resource types, and the pipeline reads only a few paths of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a resource object with Type and Id")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub resource_type: ResourceType,
    /// Usually an ARN; sometimes a bare id (`i-0abc…`, an account id, a container image digest).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
    /// Every other field (ResourceRole, DataClassification, ApplicationArn, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Resource {
    /// The type-specific part of `Details`, e.g. `details_of("AwsEc2SecurityGroup")`.
    pub fn details_of(&self, key: &str) -> Option<&Value> {
        self.details.as_ref()?.get(key)
    }

    /// A tag value of the resource as Security Hub reported it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.as_ref()?.get(key).map(String::as_str)
    }

    /// The account in `Id` when it is an ARN that names one (`arn:aws:ec2:us-east-1:111122223333:…`);
    /// used to notice findings reported in one account about a resource in another.
    pub fn arn_account(&self) -> Option<&str> {
        let mut parts = self.id.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let account = parts.nth(3)?;
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
    }
}

macro_rules! resource_types {
    ($( $variant:ident ),+ $(,)?) => {
        /// `Resources[].Type`. The types the pipeline knows are variants; any other string is kept
        /// verbatim in `Other`, so a new AWS type never fails a parse. AWS's own generic type
        /// `"Other"` is `Other("Other")`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResourceType {
            $( $variant, )+
            Other(String),
        }

        impl ResourceType {
            /// The AWS name, e.g. `AwsEc2SecurityGroup`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ResourceType::$variant => stringify!($variant), )+
                    ResourceType::Other(s) => s,
                }
            }

            /// Never fails: unknown names become `Other`.
            pub fn from_name(name: &str) -> Self {
                match name {
                    $( stringify!($variant) => ResourceType::$variant, )+
                    other => ResourceType::Other(other.to_owned()),
                }
            }
        }
    };
}

resource_types! {
    AwsAccount,
    AwsAutoScalingAutoScalingGroup,
    AwsCloudFrontDistribution,
    AwsCloudTrailTrail,
    AwsDynamoDbTable,
    AwsEc2Eip,
    AwsEc2Instance,
    AwsEc2LaunchTemplate,
    AwsEc2NetworkAcl,
    AwsEc2NetworkInterface,
    AwsEc2RouteTable,
    AwsEc2SecurityGroup,
    AwsEc2Subnet,
    AwsEc2Volume,
    AwsEc2Vpc,
    AwsEcrContainerImage,
    AwsEcrRepository,
    AwsEcsCluster,
    AwsEcsService,
    AwsEcsTaskDefinition,
    AwsEksCluster,
    AwsElbLoadBalancer,
    AwsElbv2LoadBalancer,
    AwsIamAccessKey,
    AwsIamGroup,
    AwsIamPolicy,
    AwsIamRole,
    AwsIamUser,
    AwsKmsKey,
    AwsLambdaFunction,
    AwsRdsDbCluster,
    AwsRdsDbClusterSnapshot,
    AwsRdsDbInstance,
    AwsRdsDbSnapshot,
    AwsS3Bucket,
    AwsS3Object,
    AwsSecretsManagerSecret,
    AwsSnsTopic,
    AwsSqsQueue,
    AwsSsmPatchCompliance,
    Container,
}

impl ResourceType {
    /// Whether this is a type the pipeline has a variant for.
    pub fn is_known(&self) -> bool {
        !matches!(self, ResourceType::Other(_))
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ResourceType {
    fn from(name: &str) -> Self {
        ResourceType::from_name(name)
    }
}

impl Serialize for ResourceType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeName;
        impl serde::de::Visitor<'_> for TypeName {
            type Value = ResourceType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a resource type name such as AwsEc2Instance")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ResourceType, E> {
                Ok(ResourceType::from_name(v))
            }
        }
        deserializer.deserialize_str(TypeName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_types_round_trip() {
        for name in ["AwsEc2SecurityGroup", "AwsElbv2LoadBalancer", "Container", "Other", "AwsBrandNewThing"] {
            let t = ResourceType::from_name(name);
            assert_eq!(t.as_str(), name);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<ResourceType>(&json).unwrap(), t);
        }
        assert_eq!(ResourceType::from_name("AwsS3Bucket"), ResourceType::AwsS3Bucket);
        assert_eq!(ResourceType::from_name("Other"), ResourceType::Other("Other".into()));
        assert!(!ResourceType::from_name("AwsBrandNewThing").is_known());
    }

    #[test]
    fn arn_account_only_for_arns_with_an_account() {
        let r = |id: &str| Resource {
            resource_type: ResourceType::AwsS3Bucket,
            id: id.into(),
            partition: None,
            region: None,
            tags: None,
            details: None,
            extra: Map::new(),
        };
        assert_eq!(r("arn:aws:ec2:us-east-1:111122223333:instance/i-0abc").arn_account(), Some("111122223333"));
        assert_eq!(r("arn:aws:s3:::my-bucket").arn_account(), None);
        assert_eq!(r("i-0abc").arn_account(), None);
    }
}
