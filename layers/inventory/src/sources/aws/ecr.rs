//! ECR repositories (`ecr:DescribeRepositories`), per region.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "ecr",
    scope: AwsScope::Regional,
    tables: &[&REPOSITORIES],
    actions: &["ecr:DescribeRepositories"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let ecr = aws_sdk_ecr::Client::new(&target.sdk);
    each_page!(ecr.describe_repositories().into_paginator().send(), "ecr:DescribeRepositories", |page| {
        emit(out, &REPOSITORIES, None, &page).await?;
    });
    Ok(())
}

pub static REPOSITORIES: Table = Table {
    name: "ecr_repositories",
    file: "ecr.describe-repositories",
    records: "/repositories/*",
    parent: None,
    key: &["repository_name"],
    placement: Placement::Target,
    columns: &[
        text("repository_name", "/repositoryName"),
        text("repository_arn", "/repositoryArn"),
        text("repository_uri", "/repositoryUri"),
        text("tag_mutability", "/imageTagMutability"),
        flag("scan_on_push", "/imageScanningConfiguration/scanOnPush"),
        text("encryption_type", "/encryptionConfiguration/encryptionType"),
        timestamp("created_at", "/createdAt"),
    ],
};
