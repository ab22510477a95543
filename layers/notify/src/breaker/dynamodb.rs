//! Breakers in the DynamoDB state table (the serverless hot state store): one item per
//! destination, `pk = breaker#<destination>`, written with a condition on its version. The most
//! recent transitions ride in the same item, so a transition is never logged without its state.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{BreakerRow, BreakerState, BreakerStore, Transition};
use crate::message::Destination;
use crate::{NotifyError, Result};

/// Transitions kept in the item; older ones are dropped (the log is for operators, not audit).
const KEPT_TRANSITIONS: usize = 50;

#[derive(Debug, Clone)]
pub struct DynamoBreakerStore {
    client: Client,
    table: String,
}

impl DynamoBreakerStore {
    pub fn new(config: &SdkConfig, state_table: impl Into<String>) -> Self {
        DynamoBreakerStore { client: Client::new(config), table: state_table.into() }
    }
}

type Item = HashMap<String, AttributeValue>;

fn pk(destination: Destination) -> String {
    format!("breaker#{}", destination.name())
}

fn corrupt(destination: Destination, what: &str) -> NotifyError {
    NotifyError::Store {
        class: secops_core::ErrorClass::Permanent,
        message: format!("the {} breaker item in the state table has a bad '{what}'", destination.name()),
    }
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn time_at(item: &Item, name: &str, d: Destination) -> Result<Option<OffsetDateTime>> {
    text(item, name).map(|t| OffsetDateTime::parse(t, &Rfc3339).map_err(|_| corrupt(d, name))).transpose()
}

fn number(item: &Item, name: &str, d: Destination) -> Result<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).ok_or_else(|| corrupt(d, name))
}

fn format_time(t: OffsetDateTime) -> Result<AttributeValue> {
    t.format(&Rfc3339)
        .map(AttributeValue::S)
        .map_err(|e| NotifyError::InvalidInput(format!("breaker time {t} cannot be stored: {e}")))
}

fn aws_error<E>(
    operation: &'static str,
    err: aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> NotifyError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    secops_aws::AwsError::from_sdk(operation, err).into()
}

impl DynamoBreakerStore {
    async fn item(&self, destination: Destination) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk(destination)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb:GetItem", e))?;
        Ok(out.item)
    }

    fn history(item: Option<&Item>, d: Destination) -> Result<Vec<Transition>> {
        match item.and_then(|i| text(i, "transitions")) {
            None => Ok(vec![]),
            Some(json) => serde_json::from_str(json).map_err(|_| corrupt(d, "transitions")),
        }
    }
}

#[async_trait]
impl BreakerStore for DynamoBreakerStore {
    async fn load(&self, destination: Destination) -> Result<Option<BreakerRow>> {
        let Some(item) = self.item(destination).await? else { return Ok(None) };
        let d = destination;
        Ok(Some(BreakerRow {
            destination,
            state: text(&item, "state").and_then(BreakerState::parse).ok_or_else(|| corrupt(d, "state"))?,
            consecutive_failures: u32::try_from(number(&item, "failures", d)?).map_err(|_| corrupt(d, "failures"))?,
            open_until: time_at(&item, "open_until", d)?,
            probe_until: time_at(&item, "probe_until", d)?,
            last_error: text(&item, "last_error").map(str::to_owned),
            changed_at: time_at(&item, "changed_at", d)?.ok_or_else(|| corrupt(d, "changed_at"))?,
            version: number(&item, "version", d)?,
        }))
    }

    async fn swap(&self, expected: Option<i64>, b: &BreakerRow, transition: Option<&Transition>) -> Result<bool> {
        let d = b.destination;
        let mut item: Item = HashMap::new();
        item.insert("pk".into(), AttributeValue::S(pk(d)));
        item.insert("state".into(), AttributeValue::S(b.state.as_str().into()));
        item.insert("failures".into(), AttributeValue::N(b.consecutive_failures.to_string()));
        item.insert("changed_at".into(), format_time(b.changed_at)?);
        item.insert("version".into(), AttributeValue::N(b.version.to_string()));
        if let Some(t) = b.open_until {
            item.insert("open_until".into(), format_time(t)?);
        }
        if let Some(t) = b.probe_until {
            item.insert("probe_until".into(), format_time(t)?);
        }
        if let Some(e) = &b.last_error {
            item.insert("last_error".into(), AttributeValue::S(e.clone()));
        }
        // The history is carried over from the item read for this swap; the version condition
        // below guarantees nobody appended in between.
        let mut history = match expected {
            Some(_) => Self::history(self.item(d).await?.as_ref(), d)?,
            None => vec![],
        };
        if let Some(t) = transition {
            history.push(t.clone());
        }
        let skip = history.len().saturating_sub(KEPT_TRANSITIONS);
        let json = serde_json::to_string(&history[skip..])
            .map_err(|e| NotifyError::InvalidInput(format!("breaker transitions cannot be stored: {e}")))?;
        item.insert("transitions".into(), AttributeValue::S(json));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if err.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::put_item::PutItemError::is_conditional_check_failed_exception,
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(aws_error("dynamodb:PutItem", err)),
        }
    }

    async fn transitions(&self, destination: Destination, limit: usize) -> Result<Vec<Transition>> {
        let history = Self::history(self.item(destination).await?.as_ref(), destination)?;
        let skip = history.len().saturating_sub(limit);
        Ok(history[skip..].to_vec())
    }
}
