//! Small helpers the controls share: error conversion with the IAM action's name, and checks of
//! error codes that mean "not configured" rather than "failed".

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use secops_aws::AwsError;
use secops_core::ErrorClass;
use std::collections::BTreeMap;

/// `map_err(aws("s3:GetBucketPolicy"))`: name the error by the IAM action the call needs, so an
/// AccessDenied ticket names the missing permission.
pub fn aws<E>(action: &'static str) -> impl FnOnce(SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| AwsError::from_sdk(action, e)
}

/// Whether an SDK error carries one of these service codes (e.g. `NoSuchBucketPolicy`).
pub fn has_code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>, codes: &[&str]) -> bool {
    e.code().is_some_and(|c| codes.contains(&c))
}

/// Key/value pairs as a tag map.
pub fn tag_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// The most pages any listing reads: loops are bounded, and an account with more than 100 pages of
/// one kind of resource is a case for a person, not a guess.
pub const MAX_PAGES: usize = 100;

/// The error for a listing that still had pages after `MAX_PAGES`.
pub fn too_many_pages(action: &'static str) -> AwsError {
    AwsError::new(
        action,
        ErrorClass::Permanent,
        format!("{action} returned more than {MAX_PAGES} pages; stopped reading"),
    )
}
