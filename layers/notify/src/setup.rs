//! From configuration to a [`Notifier`]: which ticketing and chat adapters, which breaker store,
//! which redactors. The `notify` and `decide` functions and the CLI all start here.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use secops_audit::redact::Destination as RedactDestination;
use secops_core::clock::SystemClock;
use secops_core::{ChatTarget, Config, HotStateStore, SecretSource};
use secops_store::Pool;
use secrecy::SecretString;

use crate::breaker::dynamodb::DynamoBreakerStore;
use crate::breaker::postgres::PgBreakerStore;
use crate::breaker::{Breaker, BreakerSettings, BreakerStore};
use crate::jira::{JiraConfig, JiraTickets};
use crate::local_chat::JsonlChat;
use crate::local_tickets::LocalTickets;
use crate::notifier::{DeliverySettings, Notifier, Sinks};
use crate::outbox::PgOutbox;
use crate::redact::Redaction;
use crate::sink::{ChatSink, TicketSink};
use crate::slack::{SlackChat, SlackConfig, SlackTarget};
use crate::{NotifyError, Result};

/// Whether the configuration reaches AWS: secrets in SSM, breakers in DynamoDB, or audit keys
/// (the redactors' correlation key is derived from the audit key).
pub fn needs_aws(config: &Config) -> bool {
    let n = &config.notify;
    let ssm = |s: &SecretSource| matches!(s, SecretSource::SsmParameter(_));
    n.jira.as_ref().is_some_and(|j| ssm(&j.api_token))
        || match &n.chat {
            ChatTarget::File(_) => false,
            ChatTarget::SlackWebApi { bot_token, .. } => ssm(bot_token),
            ChatTarget::SlackWebhook { url } => ssm(url),
        }
        || matches!(config.decide.state_store, HotStateStore::DynamoDb { .. })
        || secops_audit::setup::needs_aws(&config.audit)
}

async fn secret(source: &SecretSource, aws: Option<&SdkConfig>, what: &str) -> Result<SecretString> {
    secops_aws::ssm::resolve_secret(source, aws, what).await.map_err(|e| match e.class {
        secops_core::ErrorClass::InvalidInput => NotifyError::InvalidInput(e.message),
        _ => e.into(),
    })
}

/// The notifier the configuration describes. The outbox is always PostgreSQL (`pool`); `aws`
/// is needed when [`needs_aws`].
pub async fn notifier(config: &Config, pool: Pool, aws: Option<&SdkConfig>) -> Result<Notifier> {
    let n = &config.notify;
    let tickets: Arc<dyn TicketSink> = match &n.jira {
        None => Arc::new(LocalTickets::new(&n.tickets_dir)),
        Some(j) => {
            let token = secret(&j.api_token, aws, "the Jira API token").await?;
            let mut jira = JiraConfig::new(&j.url, &j.email, token, &j.project);
            jira.issue_type = j.issue_type.clone();
            jira.components = j.components.clone();
            jira.custom_fields = j.custom_fields.clone();
            Arc::new(JiraTickets::new(jira)?)
        }
    };
    let slack = |target: SlackTarget| -> Result<Arc<dyn ChatSink>> {
        let mut slack = SlackConfig::new(target);
        slack.per_minute = n.slack_per_minute;
        Ok(Arc::new(SlackChat::new(slack)?))
    };
    let chat: Arc<dyn ChatSink> = match &n.chat {
        ChatTarget::File(path) => Arc::new(JsonlChat::new(path)),
        ChatTarget::SlackWebApi { api_url, bot_token, channel } => slack(SlackTarget::WebApi {
            api_base: api_url.clone(),
            bot_token: secret(bot_token, aws, "the Slack bot token").await?,
            channel: channel.clone(),
        })?,
        ChatTarget::SlackWebhook { url } => {
            slack(SlackTarget::Webhook { url: secret(url, aws, "the Slack webhook URL").await? })?
        }
    };
    let breakers: Arc<dyn BreakerStore> = match &config.decide.state_store {
        HotStateStore::Postgres => Arc::new(PgBreakerStore::new(pool.clone())),
        HotStateStore::DynamoDb { state_table, .. } => Arc::new(DynamoBreakerStore::new(
            aws.ok_or_else(|| NotifyError::InvalidInput("the DynamoDB state table needs AWS credentials".into()))?,
            state_table,
        )),
    };
    let signer = secops_audit::setup::signer(&config.audit, aws)
        .await
        .map_err(|e| NotifyError::InvalidInput(format!("the redaction key comes from the audit key: {e}")))?;
    let mut redactors = Vec::with_capacity(2);
    for destination in [RedactDestination::Jira, RedactDestination::Slack] {
        let redactor = secops_audit::setup::redactor(&config.audit, &signer, destination)
            .await
            .map_err(|e| NotifyError::InvalidInput(format!("redaction for {destination}: {e}")))?;
        redactors.push(Arc::new(redactor));
    }
    let (strict, lenient) = (redactors.pop(), redactors.pop());
    let (Some(lenient), Some(strict)) = (lenient, strict) else {
        return Err(NotifyError::InvalidInput("the redactors could not be built".into()));
    };
    let redaction = Redaction { tickets: lenient, chat: strict };
    let settings = BreakerSettings {
        failure_threshold: n.breaker_failures,
        open_for: Duration::from_secs(n.breaker_open_seconds),
        ..BreakerSettings::default()
    };
    let clock = Arc::new(SystemClock);
    Ok(Notifier::new(
        PgOutbox::new(pool),
        Breaker::new(breakers, settings, clock.clone()),
        Sinks { tickets, chat, email: None },
        redaction,
        clock,
        DeliverySettings::default(),
    ))
}
