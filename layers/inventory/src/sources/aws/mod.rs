//! The AWS collectors: one file per service area, each declaring its tables and its fetch.

pub mod cloudfront;
pub mod ec2_instances;
pub mod ec2_network;
pub mod ecr;
pub mod elb;
pub mod guardduty;
pub mod inspector;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod securityhub;

use crate::collector::AwsCollector;

/// Every AWS collector.
pub static COLLECTORS: &[&AwsCollector] = &[
    &ec2_instances::COLLECTOR,
    &ec2_network::COLLECTOR,
    &s3::COLLECTOR,
    &rds::COLLECTOR,
    &elb::COLLECTOR,
    &cloudfront::COLLECTOR,
    &route53::COLLECTOR,
    &securityhub::COLLECTOR,
    &guardduty::COLLECTOR,
    &inspector::COLLECTOR,
    &ecr::COLLECTOR,
];
