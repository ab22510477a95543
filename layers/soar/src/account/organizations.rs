//! The account directory from AWS Organizations: DescribeAccount for name, e-mail, status and
//! join date; ListTagsForResource for the tags; ListParents + DescribeOrganizationalUnit walked
//! up to the root for the OU path. Works from the management account or a delegated
//! administrator of Organizations.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_organizations::error::SdkError;
use aws_sdk_organizations::types::{Account, ParentType};
use aws_sdk_organizations::Client;
use secops_aws::AwsError;
use time::OffsetDateTime;

use crate::account::{AccountDirectory, OrgAccount};
use crate::{Result, SoarError};

/// Organizations allows five OU levels below the root; anything deeper than this means the
/// parent chain loops or the API misbehaves.
const MAX_OU_DEPTH: usize = 10;
/// ListAccounts returns at most 20 accounts a page: 1,000 pages is 20,000 accounts, far above
/// any organization's quota.
const MAX_ACCOUNT_PAGES: usize = 1_000;
/// An account has at most 50 tags; a few pages cover them whatever the page size.
const MAX_TAG_PAGES: usize = 20;
/// ListParents answers with one parent; a second page would be an API change.
const MAX_PARENT_PAGES: usize = 5;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct OrganizationsDirectory {
    client: Client,
}

impl OrganizationsDirectory {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self { client: Client::new(config) }
    }

    async fn tags(&self, account_id: &str) -> Result<Option<BTreeMap<String, String>>> {
        let mut tags = BTreeMap::new();
        let mut next_token: Option<String> = None;
        for _page in 0..MAX_TAG_PAGES {
            let out = match self
                .client
                .list_tags_for_resource()
                .resource_id(account_id)
                .set_next_token(next_token.take())
                .send()
                .await
            {
                Ok(out) => out,
                // The account left the organization between DescribeAccount and now.
                Err(e) if e.as_service_error().is_some_and(|s| s.is_target_not_found_exception()) => return Ok(None),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) => {
                    return Err(not_in_use("organizations:ListTagsForResource", e))
                }
                Err(e) => return Err(AwsError::from_sdk("organizations:ListTagsForResource", e).into()),
            };
            tags.extend(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(Some(tags)),
            }
        }
        Err(too_many_pages("organizations:ListTagsForResource", MAX_TAG_PAGES))
    }

    /// The parent of `child_id` (an account or an OU): None at the root.
    async fn parent_ou(&self, child_id: &str) -> Result<ParentLookup> {
        let mut next_token: Option<String> = None;
        for _page in 0..MAX_PARENT_PAGES {
            let out = match self.client.list_parents().child_id(child_id).set_next_token(next_token.take()).send().await
            {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_child_not_found_exception()) => {
                    return Ok(ParentLookup::ChildGone)
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) => {
                    return Err(not_in_use("organizations:ListParents", e))
                }
                Err(e) => return Err(AwsError::from_sdk("organizations:ListParents", e).into()),
            };
            if let Some(parent) = out.parents().first() {
                let id = parent.id().ok_or_else(|| {
                    SoarError::Permanent(format!("organizations:ListParents: the parent of {child_id} has no id"))
                })?;
                return Ok(match parent.r#type() {
                    Some(ParentType::Root) => ParentLookup::Root,
                    Some(ParentType::OrganizationalUnit) => ParentLookup::Ou(id.to_owned()),
                    other => {
                        return Err(SoarError::Permanent(format!(
                            "organizations:ListParents: the parent {id} of {child_id} has the unknown type {other:?}"
                        )))
                    }
                });
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Err(SoarError::Permanent(format!("organizations:ListParents: {child_id} has no parent")))
    }

    async fn ou_name(&self, ou_id: &str) -> Result<String> {
        let out = match self.client.describe_organizational_unit().organizational_unit_id(ou_id).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) => {
                return Err(not_in_use("organizations:DescribeOrganizationalUnit", e))
            }
            Err(e) => return Err(AwsError::from_sdk("organizations:DescribeOrganizationalUnit", e).into()),
        };
        out.organizational_unit().and_then(|ou| ou.name()).map(str::to_owned).ok_or_else(|| {
            SoarError::Permanent(format!("organizations:DescribeOrganizationalUnit: {ou_id} has no name"))
        })
    }

    /// OU names from the root's child down to the account's parent; None when the account left
    /// the organization during the walk.
    async fn ou_path(&self, account_id: &str) -> Result<Option<Vec<String>>> {
        let mut names_upwards = Vec::new();
        let mut child = account_id.to_owned();
        for _level in 0..=MAX_OU_DEPTH {
            match self.parent_ou(&child).await? {
                ParentLookup::Root => {
                    names_upwards.reverse();
                    return Ok(Some(names_upwards));
                }
                ParentLookup::ChildGone => return Ok(None),
                ParentLookup::Ou(ou_id) => {
                    names_upwards.push(self.ou_name(&ou_id).await?);
                    child = ou_id;
                }
            }
        }
        Err(SoarError::Permanent(format!(
            "organizations:ListParents: account {account_id} is more than {MAX_OU_DEPTH} organizational units below \
             the root (Organizations allows 5); the parent chain is inconsistent"
        )))
    }
}

enum ParentLookup {
    Root,
    Ou(String),
    /// The account or OU no longer exists (it moved out or was removed mid-walk).
    ChildGone,
}

#[async_trait]
impl AccountDirectory for OrganizationsDirectory {
    async fn account(&self, account_id: &str) -> Result<Option<OrgAccount>> {
        let described = match self.client.describe_account().account_id(account_id).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_account_not_found_exception()) => return Ok(None),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) => {
                return Err(not_in_use("organizations:DescribeAccount", e))
            }
            Err(e) => return Err(AwsError::from_sdk("organizations:DescribeAccount", e).into()),
        };
        let account = described.account().ok_or_else(|| {
            SoarError::Permanent(format!("organizations:DescribeAccount: the answer for {account_id} has no account"))
        })?;
        let Some(tags) = self.tags(account_id).await? else { return Ok(None) };
        let Some(ou_path) = self.ou_path(account_id).await? else { return Ok(None) };
        Ok(Some(OrgAccount {
            id: account.id().unwrap_or(account_id).to_owned(),
            name: account.name().unwrap_or_default().to_owned(),
            email: account.email().unwrap_or_default().to_owned(),
            status: account_status(account).unwrap_or_default(),
            joined_at: account
                .joined_timestamp()
                .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()),
            ou_path,
            tags,
        }))
    }

    async fn account_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut next_token: Option<String> = None;
        for _page in 0..MAX_ACCOUNT_PAGES {
            let out = match self.client.list_accounts().set_next_token(next_token.take()).send().await {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) => {
                    return Err(not_in_use("organizations:ListAccounts", e))
                }
                Err(e) => return Err(AwsError::from_sdk("organizations:ListAccounts", e).into()),
            };
            ids.extend(
                out.accounts()
                    .iter()
                    .filter(|a| account_status(a).as_deref() == Some("ACTIVE"))
                    .filter_map(|a| a.id().map(str::to_owned)),
            );
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(ids),
            }
        }
        Err(too_many_pages("organizations:ListAccounts", MAX_ACCOUNT_PAGES))
    }
}

/// `State` where the API sends it (it replaces `Status`, which AWS retires in September 2026),
/// else `Status`.
fn account_status(account: &Account) -> Option<String> {
    account.state().map(|s| s.as_str().to_owned()).or_else(|| account.status().map(|s| s.as_str().to_owned()))
}

fn not_in_use<E>(
    operation: &'static str,
    err: SdkError<E, aws_sdk_organizations::config::http::HttpResponse>,
) -> SoarError
where
    E: aws_sdk_organizations::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    SoarError::Permanent(format!(
        "AWS Organizations is not in use for these credentials, or they are not from the management account or a \
         delegated administrator of Organizations: {}",
        AwsError::from_sdk(operation, err)
    ))
}

fn too_many_pages(operation: &str, pages: usize) -> SoarError {
    SoarError::Permanent(format!("{operation}: still more pages after {pages}; giving up rather than looping"))
}
