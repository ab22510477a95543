//! The hot state store on DynamoDB (the serverless deployment).
//!
//! Two tables, both PAY_PER_REQUEST with TTL on `expires_at` (epoch seconds):
//!
//! - **tickets**, partition key `finding_id`: one item per finding, the open ticket or the last
//!   closed one (a new ticket replaces a closed item). While open the item also carries
//!   `open = "open"` and `open_since` (the opening time); closing removes both, so the sparse
//!   index [`OPEN_TICKETS_INDEX`] (partition `open`, sort `open_since`) holds open tickets only.
//! - **state**, partition key `pk`, one item kind per prefix: `claim#<key>`, `account#<id>`,
//!   `controls#<account>#<region>`, `policy#current`, `dead#<id>`, `incident#<finding>#<updated>`.
//!
//! Every "unless" / "only if" of [`StateStore`] is a DynamoDB condition expression, so two
//! executions racing on one finding are decided by DynamoDB, never by a read-then-write here.
//! Times that are compared or sorted by DynamoDB are either epoch seconds (`lease_until`,
//! `expires_at`) or [`sortable_time`] strings (`open_since`).

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableDescription,
    TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use secops_aws::AwsError;
use secops_core::scratchpad::AccountData;
use secops_core::ErrorClass;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use super::{
    Claim, ClaimKey, DeadLetter, EnabledControls, IncidentRecord, StateStore, StoredPolicy, TicketKind, TicketRecord,
};
use crate::{Result, SoarError};

/// The sparse global secondary index of the tickets table that holds open tickets only.
pub const OPEN_TICKETS_INDEX: &str = "open-tickets";

/// The TTL attribute of both tables (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The value of `open` on every open ticket: the index's single partition.
const OPEN_MARKER: &str = "open";

const POLICY_PK: &str = "policy#current";
const DEAD_LETTER_PREFIX: &str = "dead#";

const CLAIM_IN_PROGRESS: &str = "in_progress";
const CLAIM_DONE: &str = "done";

/// Page cap of the open-tickets query and the dead-letter scan (each page is up to 1 MB).
const MAX_PAGES: usize = 1000;

/// Attempts at a claim whose conflicting item vanished or expired between the write and the read.
const MAX_CLAIM_ATTEMPTS: usize = 3;

/// An abandoned claim (its owner crashed) is taken over as soon as its lease ends; TTL removes
/// the item a day later, which leaves time to see what happened.
const ABANDONED_CLAIM_RETENTION_SECS: i64 = 24 * 60 * 60;

/// How long [`create_tables`] waits for both tables to become ACTIVE.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
const TABLE_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// RFC 3339 in UTC with exactly nine fractional digits, so that lexical order is time order
/// (plain RFC 3339 drops a zero fraction, and `…00Z` sorts after `…00.5Z`).
const SORTABLE_RFC3339: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

type Item = HashMap<String, AttributeValue>;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: Client,
    tickets_table: String,
    state_table: String,
}

impl DynamoStateStore {
    pub fn new(config: &SdkConfig, tickets_table: impl Into<String>, state_table: impl Into<String>) -> Self {
        Self { client: Client::new(config), tickets_table: tickets_table.into(), state_table: state_table.into() }
    }

    /// A consistent read of one item by its partition key.
    async fn get_item(&self, table: &str, key_name: &str, key: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(key_name, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb:GetItem", e))?;
        Ok(out.item)
    }

    async fn get_state_item(&self, pk: &str) -> Result<Option<Item>> {
        self.get_item(&self.state_table, "pk", pk).await
    }

    fn state_view<'a>(&'a self, item: &'a Item) -> ItemView<'a> {
        ItemView::new(&self.state_table, "pk", item)
    }

    /// Put a state item unless one with the same `pk` exists; false when it existed.
    async fn put_state_item_if_absent(&self, item: Item) -> Result<bool> {
        let put = self
            .client
            .put_item()
            .table_name(&self.state_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(aws_error("dynamodb:PutItem", err)),
        }
    }

    async fn put_state_item(&self, item: Item) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.state_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| aws_error("dynamodb:PutItem", e))?;
        Ok(())
    }

    /// What a claim item says for `claimer` at `now`: None when it no longer blocks the claim
    /// (an expired lease, or the claimer's own), so the caller tries again.
    fn blocking_claim(&self, item: &Item, claimer: &str, now_epoch: i64) -> Result<Option<Claim>> {
        let view = self.state_view(item);
        match view.string("state")? {
            CLAIM_DONE => Ok(Some(Claim::Done { result: view.json("result")? })),
            CLAIM_IN_PROGRESS => {
                let lease_until = view.epoch("lease_until")?;
                let owner = view.string("owner")?;
                if lease_until.unix_timestamp() <= now_epoch || owner == claimer {
                    return Ok(None);
                }
                Ok(Some(Claim::InProgress { owner: owner.to_owned(), lease_until }))
            }
            other => Err(view.corrupt("state", format!("is {other:?}, not {CLAIM_IN_PROGRESS} or {CLAIM_DONE}"))),
        }
    }
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn claim(&self, key: &ClaimKey, owner: &str, now: OffsetDateTime, lease: Duration) -> Result<Claim> {
        let pk = claim_pk(key);
        let now_epoch = now.unix_timestamp();
        let lease_until = lease_end_epoch(now, lease)?;
        for _attempt in 0..MAX_CLAIM_ATTEMPTS {
            let put = self
                .client
                .put_item()
                .table_name(&self.state_table)
                .item("pk", s(&pk))
                .item("owner", s(owner))
                .item("state", s(CLAIM_IN_PROGRESS))
                .item("lease_until", n(lease_until))
                .item(TTL_ATTRIBUTE, n(lease_until.saturating_add(ABANDONED_CLAIM_RETENTION_SECS)))
                .condition_expression(
                    "attribute_not_exists(pk) OR (#state = :in_progress AND (lease_until <= :now OR #owner = :owner))",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":in_progress", s(CLAIM_IN_PROGRESS))
                .expression_attribute_values(":now", n(now_epoch))
                .expression_attribute_values(":owner", s(owner))
                // The item that failed the condition comes back with the error: no second read,
                // and no window in which it could change.
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let seen = match put {
                Ok(_) => return Ok(Claim::Acquired),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(failed)) => failed.item().cloned(),
                    _ => return Err(aws_error("dynamodb:PutItem", err)),
                },
            };
            // A service that does not return the old item: read it, and if it vanished or its
            // lease ended in the meantime, try again.
            let seen = match seen {
                Some(item) => Some(item),
                None => self.get_state_item(&pk).await?,
            };
            if let Some(item) = seen {
                if let Some(claim) = self.blocking_claim(&item, owner, now_epoch)? {
                    return Ok(claim);
                }
            }
        }
        Err(SoarError::Conflict(format!(
            "claim {key}: the claim item changed under each of {MAX_CLAIM_ATTEMPTS} attempts"
        )))
    }

    async fn complete(&self, key: &ClaimKey, owner: &str, result: &Value, keep_until: OffsetDateTime) -> Result<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.state_table)
            .key("pk", s(&claim_pk(key)))
            .update_expression("SET #state = :done, #result = :result, expires_at = :keep_until REMOVE lease_until")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#result", "result")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":done", s(CLAIM_DONE))
            .expression_attribute_values(":result", s(&result.to_string()))
            .expression_attribute_values(":keep_until", n(keep_until.unix_timestamp()))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match update {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Err(SoarError::Conflict(format!(
                "claim {key}: {owner} lost the lease (it expired and another owner took over, or the claim is gone)"
            ))),
            Err(err) => Err(aws_error("dynamodb:UpdateItem", err)),
        }
    }

    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<()> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.state_table)
            .key("pk", s(&claim_pk(key)))
            .condition_expression("#owner = :owner AND #state = :in_progress")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":in_progress", s(CLAIM_IN_PROGRESS))
            .send()
            .await;
        match delete {
            Ok(_) => Ok(()),
            // A missing, foreign or done claim is left alone: that is not an error.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(aws_error("dynamodb:DeleteItem", err)),
        }
    }

    async fn ticket(&self, finding_id: &str) -> Result<Option<TicketRecord>> {
        let item = self.get_item(&self.tickets_table, "finding_id", finding_id).await?;
        item.map(|item| ticket_from_item(&self.tickets_table, &item)).transpose()
    }

    async fn insert_ticket(&self, ticket: &TicketRecord) -> Result<bool> {
        if !ticket.is_open() {
            return Err(SoarError::InvalidInput(format!(
                "insert_ticket {}: the ticket is already closed; only open tickets are inserted",
                ticket.finding_id
            )));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.tickets_table)
            .set_item(Some(ticket_item(ticket)?))
            // No item, or only a closed one, which the new ticket replaces.
            .condition_expression("attribute_not_exists(finding_id) OR attribute_not_exists(open_since)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(aws_error("dynamodb:PutItem", err)),
        }
    }

    async fn close_ticket(
        &self,
        finding_id: &str,
        closed_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Option<TicketRecord>> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tickets_table)
            .key("finding_id", s(finding_id))
            .update_expression("SET closed_at = :closed_at, expires_at = :expires_at REMOVE open_since, #open")
            .condition_expression("attribute_exists(open_since)")
            .expression_attribute_names("#open", "open")
            .expression_attribute_values(":closed_at", s(&sortable_time(closed_at)?))
            .expression_attribute_values(":expires_at", n(expires_at.unix_timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update {
            Ok(out) => match out.attributes {
                Some(item) => ticket_from_item(&self.tickets_table, &item).map(Some),
                // ALL_NEW always returns the item; should a service not, the closed row is read back.
                None => self.ticket(finding_id).await,
            },
            Err(err) if condition_failed(&err) => Ok(None),
            Err(err) => Err(aws_error("dynamodb:UpdateItem", err)),
        }
    }

    async fn open_tickets(&self) -> Result<Vec<TicketRecord>> {
        let items = all_pages(
            |start| async move {
                // Index reads are eventually consistent: a ticket opened or closed a moment ago may
                // be missing or still listed.
                let out = self
                    .client
                    .query()
                    .table_name(&self.tickets_table)
                    .index_name(OPEN_TICKETS_INDEX)
                    .key_condition_expression("#open = :open")
                    .expression_attribute_names("#open", "open")
                    .expression_attribute_values(":open", s(OPEN_MARKER))
                    .scan_index_forward(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| aws_error("dynamodb:Query", e))?;
                Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
            },
            || {
                format!(
                    "{} index {OPEN_TICKETS_INDEX}: more than {MAX_PAGES} pages of open tickets",
                    self.tickets_table
                )
            },
        )
        .await?;
        items.iter().map(|item| ticket_from_item(&self.tickets_table, item)).collect()
    }

    async fn record_reminder(&self, finding_id: &str, reminder: &str) -> Result<bool> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tickets_table)
            .key("finding_id", s(finding_id))
            .update_expression("SET reminders = list_append(if_not_exists(reminders, :empty), :appended)")
            // `contains` on a list of strings tests membership; a missing list contains nothing.
            .condition_expression("attribute_exists(open_since) AND NOT contains(reminders, :reminder)")
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":appended", AttributeValue::L(vec![s(reminder)]))
            .expression_attribute_values(":reminder", s(reminder))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(aws_error("dynamodb:UpdateItem", err)),
        }
    }

    async fn cached_account(&self, account_id: &str, now: OffsetDateTime) -> Result<Option<AccountData>> {
        let pk = format!("account#{account_id}");
        let Some(item) = self.get_state_item(&pk).await? else {
            return Ok(None);
        };
        let view = self.state_view(&item);
        // TTL deletes expired items lazily (up to days later), so expiry is checked here.
        if view.epoch(TTL_ATTRIBUTE)? <= now {
            return Ok(None);
        }
        view.json("data").map(Some)
    }

    async fn cache_account(&self, account: &AccountData, expires_at: OffsetDateTime) -> Result<()> {
        let Some(account_id) = account.id.as_deref() else {
            return Err(SoarError::InvalidInput("cache_account: the account data has no id".into()));
        };
        let mut item = Item::new();
        item.insert("pk".into(), s(&format!("account#{account_id}")));
        item.insert("data".into(), s(&to_json("account data", account)?));
        item.insert(TTL_ATTRIBUTE.into(), n(expires_at.unix_timestamp()));
        self.put_state_item(item).await
    }

    async fn enabled_controls(&self, account_id: &str, region: &str) -> Result<Option<EnabledControls>> {
        let pk = controls_pk(account_id, region);
        let Some(item) = self.get_state_item(&pk).await? else {
            return Ok(None);
        };
        let view = self.state_view(&item);
        Ok(Some(EnabledControls {
            account_id: view.string("account_id")?.to_owned(),
            region: view.string("region")?.to_owned(),
            controls: view.required("controls", view.opt_strings("controls")?)?.into_iter().collect(),
            synced_at: view.time("synced_at")?,
        }))
    }

    async fn put_enabled_controls(&self, controls: &EnabledControls) -> Result<()> {
        let mut item = Item::new();
        item.insert("pk".into(), s(&controls_pk(&controls.account_id, &controls.region)));
        item.insert("account_id".into(), s(&controls.account_id));
        item.insert("region".into(), s(&controls.region));
        // A list, not a string set: a string set cannot be empty, and "no controls enabled" is a
        // state worth recording.
        item.insert("controls".into(), AttributeValue::L(controls.controls.iter().map(|c| s(c)).collect()));
        item.insert("synced_at".into(), s(&sortable_time(controls.synced_at)?));
        self.put_state_item(item).await
    }

    async fn policy(&self) -> Result<Option<StoredPolicy>> {
        let Some(item) = self.get_state_item(POLICY_PK).await? else {
            return Ok(None);
        };
        let view = self.state_view(&item);
        Ok(Some(StoredPolicy {
            yaml: view.string("yaml")?.to_owned(),
            sha256: view.string("sha256")?.to_owned(),
            loaded_at: view.time("loaded_at")?,
            source: view.string("source")?.to_owned(),
        }))
    }

    async fn put_policy(&self, policy: &StoredPolicy) -> Result<()> {
        let mut item = Item::new();
        item.insert("pk".into(), s(POLICY_PK));
        item.insert("yaml".into(), s(&policy.yaml));
        item.insert("sha256".into(), s(&policy.sha256));
        item.insert("loaded_at".into(), s(&sortable_time(policy.loaded_at)?));
        item.insert("source".into(), s(&policy.source));
        self.put_state_item(item).await
    }

    async fn put_dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        let mut item = Item::new();
        item.insert("pk".into(), s(&format!("{DEAD_LETTER_PREFIX}{}", letter.id)));
        item.insert("doc".into(), s(&to_json("dead letter", letter)?));
        item.insert("received_at".into(), s(&sortable_time(letter.received_at)?));
        // Keep the first: a second recording of the same input changes nothing.
        self.put_state_item_if_absent(item).await.map(|_inserted| ())
    }

    /// A filtered Scan of the whole state table, sorted here: meant for the small volumes of an
    /// operator's look at what failed, not for bulk export. Capped at [`MAX_PAGES`] pages.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let items = all_pages(
            |start| async move {
                let out = self
                    .client
                    .scan()
                    .table_name(&self.state_table)
                    .filter_expression("begins_with(pk, :prefix)")
                    .expression_attribute_values(":prefix", s(DEAD_LETTER_PREFIX))
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| aws_error("dynamodb:Scan", e))?;
                Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
            },
            || format!("{}: more than {MAX_PAGES} scan pages while listing dead letters", self.state_table),
        )
        .await?;
        let mut letters =
            items.iter().map(|item| self.state_view(item).json::<DeadLetter>("doc")).collect::<Result<Vec<_>>>()?;
        letters.sort_by(|a, b| b.received_at.cmp(&a.received_at).then_with(|| a.id.cmp(&b.id)));
        letters.truncate(limit);
        Ok(letters)
    }

    async fn insert_incident(&self, incident: &IncidentRecord) -> Result<bool> {
        let mut item = Item::new();
        item.insert("pk".into(), s(&format!("incident#{}#{}", incident.finding_id, incident.updated_at)));
        item.insert("doc".into(), s(&to_json("incident", incident)?));
        item.insert("recorded_at".into(), s(&sortable_time(incident.recorded_at)?));
        self.put_state_item_if_absent(item).await
    }
}

fn claim_pk(key: &ClaimKey) -> String {
    format!("claim#{key}")
}

fn controls_pk(account_id: &str, region: &str) -> String {
    format!("controls#{account_id}#{region}")
}

/// Create both tables (key schema and index as in `template.yaml`), wait until they are ACTIVE,
/// and turn TTL on. For tests and local set-up; tables that already exist are checked, not
/// recreated, so running it twice is harmless.
pub async fn create_tables(config: &SdkConfig, tickets_table: &str, state_table: &str) -> Result<()> {
    if tickets_table == state_table {
        return Err(SoarError::InvalidInput(format!("the tickets and state tables are both named {tickets_table}")));
    }
    let client = Client::new(config);
    let tickets = client
        .create_table()
        .table_name(tickets_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("finding_id")?)
        .attribute_definitions(attribute_definition("open")?)
        .attribute_definitions(attribute_definition("open_since")?)
        .key_schema(key_element("finding_id", KeyType::Hash)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(OPEN_TICKETS_INDEX)
                .key_schema(key_element("open", KeyType::Hash)?)
                .key_schema(key_element("open_since", KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(request_error)?,
        );
    let state = client
        .create_table()
        .table_name(state_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute_definition("pk")?)
        .key_schema(key_element("pk", KeyType::Hash)?);
    for (table, request, is_tickets) in [(tickets_table, tickets, true), (state_table, state, false)] {
        match request.send().await {
            Ok(_) => {}
            Err(err) if matches!(err.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) => {}
            Err(err) => return Err(aws_error("dynamodb:CreateTable", err)),
        }
        let description = wait_until_active(&client, table).await?;
        check_table_shape(table, &description, is_tickets)?;
        enable_ttl(&client, table).await?;
    }
    Ok(())
}

async fn wait_until_active(client: &Client, table: &str) -> Result<TableDescription> {
    let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_TIMEOUT;
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb:DescribeTable", e))?;
        if let Some(description) = out.table {
            if description.table_status() == Some(&TableStatus::Active) {
                return Ok(description);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SoarError::store(
                ErrorClass::Transient,
                format!("table {table} is not ACTIVE after {} s", TABLE_ACTIVE_TIMEOUT.as_secs()),
            ));
        }
        tokio::time::sleep(TABLE_POLL_INTERVAL).await;
    }
}

/// An existing table of the same name but another design would fail every call later; say so now.
fn check_table_shape(table: &str, description: &TableDescription, is_tickets: bool) -> Result<()> {
    let expected_key = if is_tickets { "finding_id" } else { "pk" };
    let actual_key =
        description.key_schema().iter().find(|k| k.key_type() == &KeyType::Hash).map(|k| k.attribute_name());
    if actual_key != Some(expected_key) {
        return Err(SoarError::store(
            ErrorClass::Permanent,
            format!(
                "table {table} exists with partition key {}, expected {expected_key}",
                actual_key.unwrap_or("<none>")
            ),
        ));
    }
    if is_tickets && !description.global_secondary_indexes().iter().any(|i| i.index_name() == Some(OPEN_TICKETS_INDEX))
    {
        return Err(SoarError::store(
            ErrorClass::Permanent,
            format!("table {table} exists without the {OPEN_TICKETS_INDEX} index"),
        ));
    }
    Ok(())
}

async fn enable_ttl(client: &Client, table: &str) -> Result<()> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| aws_error("dynamodb:DescribeTimeToLive", e))?;
    if let Some(ttl) = current.time_to_live_description() {
        let status = ttl.time_to_live_status();
        if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
            return match ttl.attribute_name() {
                Some(TTL_ATTRIBUTE) => Ok(()),
                other => Err(SoarError::store(
                    ErrorClass::Permanent,
                    format!("table {table} has TTL on {}, expected {TTL_ATTRIBUTE}", other.unwrap_or("<none>")),
                )),
            };
        }
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .map_err(request_error)?,
        )
        .send()
        .await
        .map_err(|e| aws_error("dynamodb:UpdateTimeToLive", e))?;
    Ok(())
}

fn attribute_definition(name: &str) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(request_error)
}

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(request_error)
}

fn request_error(err: BuildError) -> SoarError {
    SoarError::InvalidInput(format!("dynamodb request: {err}"))
}

fn aws_error<E>(operation: &'static str, err: SdkError<E>) -> SoarError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    AwsError::from_sdk(operation, err).into()
}

/// A condition expression was false: an answer, not a failure, wherever the semantics say bool/None.
fn condition_failed<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException")
}

/// Every item of a paged Query or Scan: `page` reads one page from a start key and returns its
/// items and the next start key; at most [`MAX_PAGES`] pages, else a `Permanent` error with
/// `too_many()` as its message.
async fn all_pages<F, Fut>(mut page: F, too_many: impl FnOnce() -> String) -> Result<Vec<Item>>
where
    F: FnMut(Option<Item>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<Item>, Option<Item>)>>,
{
    let mut items = Vec::new();
    let mut start_key: Option<Item> = None;
    for _page in 0..MAX_PAGES {
        let (mut got, next) = page(start_key.take()).await?;
        items.append(&mut got);
        match next {
            Some(key) if !key.is_empty() => start_key = Some(key),
            _ => return Ok(items),
        }
    }
    Err(SoarError::store(ErrorClass::Permanent, too_many()))
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// See [`SORTABLE_RFC3339`]; still valid RFC 3339, so every reader parses it as such.
fn sortable_time(t: OffsetDateTime) -> Result<String> {
    let unstorable = |why: String| SoarError::InvalidInput(format!("time {t} cannot be stored: {why}"));
    t.checked_to_offset(UtcOffset::UTC)
        .ok_or_else(|| unstorable("it is out of range in UTC".into()))?
        .format(SORTABLE_RFC3339)
        .map_err(|e| unstorable(e.to_string()))
}

/// The end of a lease in whole epoch seconds, rounded up so that a lease never ends early.
fn lease_end_epoch(now: OffsetDateTime, lease: Duration) -> Result<i64> {
    let end = time::Duration::try_from(lease)
        .ok()
        .and_then(|lease| now.checked_add(lease))
        .ok_or_else(|| SoarError::InvalidInput(format!("a lease of {lease:?} from {now} is out of range")))?;
    let whole = end.unix_timestamp();
    Ok(if end.nanosecond() > 0 { whole.saturating_add(1) } else { whole })
}

fn to_json(what: &str, value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| SoarError::InvalidInput(format!("{what} cannot be serialized: {e}")))
}

fn ticket_item(ticket: &TicketRecord) -> Result<Item> {
    if !ticket.penalty_score.is_finite() {
        return Err(SoarError::InvalidInput(format!(
            "ticket {}: penalty score {} is not a finite number",
            ticket.finding_id, ticket.penalty_score
        )));
    }
    let opened_at = sortable_time(ticket.opened_at)?;
    let mut item = Item::new();
    item.insert("finding_id".into(), s(&ticket.finding_id));
    item.insert("ticket_id".into(), s(&ticket.ticket_id));
    item.insert("kind".into(), s(ticket.kind.as_str()));
    item.insert("account_id".into(), s(&ticket.account_id));
    item.insert("title".into(), s(&ticket.title));
    item.insert("severity".into(), s(&ticket.severity));
    item.insert("penalty_score".into(), n(ticket.penalty_score));
    item.insert("reminders".into(), AttributeValue::L(ticket.reminders.iter().map(|r| s(r)).collect()));
    for (name, value) in
        [("control_id", &ticket.control_id), ("environment", &ticket.environment), ("team", &ticket.team)]
    {
        if let Some(value) = value {
            item.insert(name.into(), s(value));
        }
    }
    if let Some(closed_at) = ticket.closed_at {
        item.insert("closed_at".into(), s(&sortable_time(closed_at)?));
    } else {
        item.insert("open".into(), s(OPEN_MARKER));
        item.insert("open_since".into(), s(&opened_at));
    }
    if let Some(expires_at) = ticket.expires_at {
        item.insert(TTL_ATTRIBUTE.into(), n(expires_at.unix_timestamp()));
    }
    item.insert("opened_at".into(), s(&opened_at));
    Ok(item)
}

fn ticket_from_item(table: &str, item: &Item) -> Result<TicketRecord> {
    let view = ItemView::new(table, "finding_id", item);
    let kind = view.string("kind")?;
    Ok(TicketRecord {
        finding_id: view.string("finding_id")?.to_owned(),
        ticket_id: view.string("ticket_id")?.to_owned(),
        kind: TicketKind::parse(kind).ok_or_else(|| view.corrupt("kind", format!("is an unknown kind {kind:?}")))?,
        account_id: view.string("account_id")?.to_owned(),
        control_id: view.opt_string("control_id")?.map(str::to_owned),
        title: view.string("title")?.to_owned(),
        severity: view.string("severity")?.to_owned(),
        environment: view.opt_string("environment")?.map(str::to_owned),
        team: view.opt_string("team")?.map(str::to_owned),
        penalty_score: view.number("penalty_score")?,
        opened_at: view.time("opened_at")?,
        closed_at: view.opt_time("closed_at")?,
        // Written with every ticket, but a list that was never created holds no reminders.
        reminders: view.opt_strings("reminders")?.unwrap_or_default(),
        expires_at: view.opt_epoch(TTL_ATTRIBUTE)?,
    })
}

/// Typed reads of one item's attributes; every failure names the table, the key and the attribute.
struct ItemView<'a> {
    table: &'a str,
    key_name: &'a str,
    item: &'a Item,
}

impl<'a> ItemView<'a> {
    fn new(table: &'a str, key_name: &'a str, item: &'a Item) -> Self {
        Self { table, key_name, item }
    }

    fn corrupt(&self, attribute: &str, problem: impl Display) -> SoarError {
        let key = match self.item.get(self.key_name) {
            Some(AttributeValue::S(key)) => key.as_str(),
            _ => "<no key>",
        };
        SoarError::store(
            ErrorClass::Permanent,
            format!("table {} item {}={key}: attribute {attribute} {problem}", self.table, self.key_name),
        )
    }

    /// None for a missing attribute or an explicit NULL.
    fn present(&self, attribute: &str) -> Option<&AttributeValue> {
        self.item.get(attribute).filter(|v| !matches!(v, AttributeValue::Null(true)))
    }

    /// `value` of a required attribute, or the error that says it is missing.
    fn required<T>(&self, attribute: &str, value: Option<T>) -> Result<T> {
        value.ok_or_else(|| self.corrupt(attribute, "is missing"))
    }

    fn string(&self, attribute: &str) -> Result<&str> {
        self.required(attribute, self.opt_string(attribute)?)
    }

    fn opt_string(&self, attribute: &str) -> Result<Option<&str>> {
        match self.present(attribute) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(self.corrupt(attribute, "is not a string")),
        }
    }

    fn number<T: FromStr>(&self, attribute: &str) -> Result<T>
    where
        T::Err: Display,
    {
        self.required(attribute, self.opt_number(attribute)?)
    }

    fn opt_number<T: FromStr>(&self, attribute: &str) -> Result<Option<T>>
    where
        T::Err: Display,
    {
        match self.present(attribute) {
            None => Ok(None),
            Some(AttributeValue::N(value)) => {
                value.parse().map(Some).map_err(|e| self.corrupt(attribute, format!("is not a valid number: {e}")))
            }
            Some(_) => Err(self.corrupt(attribute, "is not a number")),
        }
    }

    /// A time stored as epoch seconds.
    fn opt_epoch(&self, attribute: &str) -> Result<Option<OffsetDateTime>> {
        let Some(seconds) = self.opt_number::<i64>(attribute)? else {
            return Ok(None);
        };
        OffsetDateTime::from_unix_timestamp(seconds)
            .map(Some)
            .map_err(|e| self.corrupt(attribute, format!("is not a valid epoch time: {e}")))
    }

    fn epoch(&self, attribute: &str) -> Result<OffsetDateTime> {
        self.required(attribute, self.opt_epoch(attribute)?)
    }

    /// A time stored as RFC 3339 text.
    fn time(&self, attribute: &str) -> Result<OffsetDateTime> {
        self.required(attribute, self.opt_time(attribute)?)
    }

    fn opt_time(&self, attribute: &str) -> Result<Option<OffsetDateTime>> {
        let Some(text) = self.opt_string(attribute)? else {
            return Ok(None);
        };
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Some)
            .map_err(|e| self.corrupt(attribute, format!("is not an RFC 3339 time ({text:?}): {e}")))
    }

    /// A list of strings (as written here) or a string set (as a person might write by hand).
    fn opt_strings(&self, attribute: &str) -> Result<Option<Vec<String>>> {
        match self.present(attribute) {
            None => Ok(None),
            Some(AttributeValue::Ss(values)) => Ok(Some(values.clone())),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(value) => Ok(value.clone()),
                    _ => Err(self.corrupt(attribute, "has an element that is not a string")),
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(_) => Err(self.corrupt(attribute, "is not a list of strings")),
        }
    }

    fn json<T: DeserializeOwned>(&self, attribute: &str) -> Result<T> {
        serde_json::from_str(self.string(attribute)?)
            .map_err(|e| self.corrupt(attribute, format!("is not the expected JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sortable_times_sort_lexically_in_time_order_and_parse_as_rfc3339() {
        let times = [
            datetime!(2030-01-01 00:00:00 UTC),
            datetime!(2030-01-01 00:00:00.5 UTC),
            // Earlier than the next one once converted to UTC.
            datetime!(2030-01-01 02:00:01 +02:00),
            datetime!(2030-01-01 00:00:02 UTC),
        ];
        let texts: Vec<String> = times.iter().map(|t| sortable_time(*t).unwrap()).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
        assert_eq!(texts[0], "2030-01-01T00:00:00.000000000Z");
        for (text, time) in texts.iter().zip(times) {
            assert_eq!(OffsetDateTime::parse(text, &Rfc3339).unwrap(), time);
        }
    }

    #[test]
    fn a_lease_end_is_rounded_up_to_a_whole_second() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let whole = now.unix_timestamp();
        assert_eq!(lease_end_epoch(now, Duration::from_secs(60)).unwrap(), whole + 60);
        assert_eq!(lease_end_epoch(now, Duration::from_millis(60_001)).unwrap(), whole + 61);
        assert_eq!(lease_end_epoch(now + time::Duration::milliseconds(999), Duration::ZERO).unwrap(), whole + 1);
        assert!(matches!(lease_end_epoch(now, Duration::MAX), Err(SoarError::InvalidInput(_))));
    }
}
