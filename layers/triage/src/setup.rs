//! Building triage from configuration: the language model (or none: the offline analyst), the
//! analysis bounds, and the step with its ticket index. The only place adapters are chosen.

use std::sync::Arc;

use secops_core::{Config, StepError, TriageProvider};
use secops_soar::Soar;

use crate::analysis::AnalysisSettings;
use crate::llm::bedrock::BedrockModel;
use crate::llm::openai::OpenAiModel;
use crate::llm::LanguageModel;
use crate::selection::OpenTickets;
use crate::step::TriageStep;

/// The configured model; None for the offline analyst.
pub async fn model(
    config: &Config,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<Option<Box<dyn LanguageModel>>, StepError> {
    let t = &config.triage;
    match t.provider {
        TriageProvider::Offline => Ok(None),
        TriageProvider::Bedrock => {
            let model_id = t.bedrock_model_id.clone().ok_or_else(|| {
                StepError::invalid_input("the Bedrock analyst needs SECOPS_BEDROCK_MODEL_ID".to_owned())
            })?;
            let sdk = aws.ok_or_else(|| {
                StepError::invalid_input("the Bedrock analyst needs AWS configuration, and none was loaded".to_owned())
            })?;
            Ok(Some(Box::new(BedrockModel::new(sdk, model_id))))
        }
        TriageProvider::OpenAi => {
            let key = match &t.openai_api_key {
                None => None,
                Some(source) => Some(
                    secops_aws::ssm::resolve_secret(source, aws, "SECOPS_OPENAI_API_KEY")
                        .await
                        .map_err(|e| StepError::new(e.class, e.to_string()))?,
                ),
            };
            let model = OpenAiModel::new(&t.openai_base_url, t.openai_model.clone(), key)
                .map_err(|e| StepError::invalid_input(format!("the OpenAI-compatible analyst: {e}")))?;
            Ok(Some(Box::new(model)))
        }
    }
}

pub fn analysis_settings(config: &Config) -> AnalysisSettings {
    AnalysisSettings { max_tool_calls: config.triage.max_tool_calls, ..AnalysisSettings::default() }
}

/// The triage step over the database, with the ticket store and ticketing from decide's wiring.
pub fn step(config: &Config, pool: deadpool_postgres::Pool, soar: Option<Soar>) -> Result<TriageStep, StepError> {
    let tickets: Arc<dyn crate::selection::TicketIndex> = match &soar {
        Some(soar) => Arc::new(OpenTickets::new(soar.store.clone())),
        None => Arc::new(crate::selection::PgTicketIndex::new(pool.clone())),
    };
    TriageStep::new(pool, tickets, soar, config.triage.clone())
}
