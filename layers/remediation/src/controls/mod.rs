//! One file per Security Hub control (`<family>_<n>.rs`), plus `<group>_common.rs` files for
//! what a group shares. `all()` is the catalogue's contents.

use std::sync::Arc;

use crate::spec::Remediation;

mod s3_2;

// S3 and logging.
mod cloudtrail_1;
mod cloudtrail_2;
mod cloudtrail_4;
mod cloudtrail_5;
mod cloudtrail_common;
mod config_1;
mod elb_5;
mod guardduty_1;
mod s3_1;
mod s3_10;
mod s3_13;
mod s3_3;
mod s3_5;
mod s3_8;
mod s3_9;
mod s3_common;

// EC2, ELB listeners, ECS.
mod ec2_1;
mod ec2_12;
mod ec2_13;
mod ec2_14;
mod ec2_15;
mod ec2_19;
mod ec2_2;
mod ec2_22;
mod ec2_4;
mod ec2_6;
mod ec2_7;
mod ec2_8;
mod ec2_common;
mod ecs_12;
mod ecs_2;
mod elb_1;
mod elb_4;
mod elb_common;

// RDS, IAM, KMS, DynamoDB.
mod dynamodb_2;
mod iam_3;
mod iam_7;
mod iam_8;
mod iam_common;
mod kms_4;
mod rds_1;
mod rds_11;
mod rds_13;
mod rds_17;
mod rds_2;
mod rds_4;
mod rds_6;
mod rds_7;
mod rds_8;
mod rds_9;
mod rds_common;

// ECR, Lambda, SNS, SQS, SSM, Secrets Manager.
mod ecr_1;
mod ecr_2;
mod ecr_3;
mod lambda_1;
mod secretsmanager_1;
mod services_common;
mod sns_1;
mod sqs_1;
mod ssm_4;

/// Every remediation of this build.
pub fn all() -> Vec<Arc<dyn Remediation>> {
    vec![
        Arc::new(s3_2::S3_2),
        // S3 and logging.
        Arc::new(s3_1::S3_1),
        Arc::new(s3_3::S3_3),
        Arc::new(s3_5::S3_5),
        Arc::new(s3_8::S3_8),
        Arc::new(s3_9::S3_9),
        Arc::new(s3_10::S3_10),
        Arc::new(s3_13::S3_13),
        Arc::new(cloudtrail_1::CloudTrail1),
        Arc::new(cloudtrail_2::CloudTrail2),
        Arc::new(cloudtrail_4::CloudTrail4),
        Arc::new(cloudtrail_5::CloudTrail5),
        Arc::new(config_1::Config1),
        Arc::new(guardduty_1::GuardDuty1),
        Arc::new(elb_5::Elb5),
        // EC2, ELB listeners, ECS.
        Arc::new(ec2_1::Ec2_1),
        Arc::new(ec2_2::Ec2_2),
        Arc::new(ec2_4::Ec2_4),
        Arc::new(ec2_6::Ec2_6),
        Arc::new(ec2_7::Ec2_7),
        Arc::new(ec2_8::Ec2_8),
        Arc::new(ec2_12::Ec2_12),
        Arc::new(ec2_13::Ec2_13),
        Arc::new(ec2_14::Ec2_14),
        Arc::new(ec2_15::Ec2_15),
        Arc::new(ec2_19::Ec2_19),
        Arc::new(ec2_22::Ec2_22),
        Arc::new(elb_1::Elb1),
        Arc::new(elb_4::Elb4),
        Arc::new(ecs_2::Ecs2),
        Arc::new(ecs_12::Ecs12),
        // RDS, IAM, KMS, DynamoDB.
        Arc::new(rds_1::Rds1),
        Arc::new(rds_2::Rds2),
        Arc::new(rds_4::Rds4),
        Arc::new(rds_6::Rds6),
        Arc::new(rds_7::Rds7),
        Arc::new(rds_8::Rds8),
        Arc::new(rds_9::Rds9),
        Arc::new(rds_11::Rds11),
        Arc::new(rds_13::Rds13),
        Arc::new(rds_17::Rds17),
        Arc::new(iam_3::Iam3),
        Arc::new(iam_7::Iam7),
        Arc::new(iam_8::Iam8),
        Arc::new(kms_4::Kms4),
        Arc::new(dynamodb_2::DynamoDb2),
        // ECR, Lambda, SNS, SQS, SSM, Secrets Manager.
        Arc::new(ecr_1::Ecr1),
        Arc::new(ecr_2::Ecr2),
        Arc::new(ecr_3::Ecr3),
        Arc::new(lambda_1::Lambda1),
        Arc::new(sns_1::Sns1),
        Arc::new(sqs_1::Sqs1),
        Arc::new(ssm_4::Ssm4),
        Arc::new(secretsmanager_1::SecretsManager1),
    ]
}
