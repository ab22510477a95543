//! The template, made runnable in-process: every state machine of `template.yaml` with its
//! `DefinitionSubstitutions` filled with local values, validated, and registered with an executor
//! so nested `startExecution.sync` calls find their children. Function placeholders become
//! [`local_function_arn`]s, which is what step handlers are registered under.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::definition::StateMachine;
use crate::executor::Executor;
use crate::validate::ValidateOptions;
use crate::wiring::{self, Wiring};

pub use crate::wiring::local_function_arn;

/// The template's machines, by file stem (`findings`, `remediation`, ...).
#[derive(Debug, Clone)]
pub struct LocalMachines {
    pub wiring: Wiring,
    pub machines: BTreeMap<String, LocalMachine>,
}

#[derive(Debug, Clone)]
pub struct LocalMachine {
    /// The machine's name (its ARN's last part).
    pub name: String,
    pub arn: String,
    pub machine: Arc<StateMachine>,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Wiring(#[from] wiring::WiringError),
    #[error("{path}: {message}")]
    Definition { path: String, message: String },
}

impl LocalMachines {
    /// Load, substitute, validate, and register every machine with `executor`.
    pub fn load(template: &Path, executor: &Executor) -> Result<Self, LocalError> {
        let wiring = wiring::load(template)?;
        let (region, account) = (executor.region().to_string(), executor.account().to_string());
        let mut machines = BTreeMap::new();
        for (stem, wired) in &wiring.machines {
            let path = wired.definition_path.display().to_string();
            let text = std::fs::read_to_string(&wired.definition_path)
                .map_err(|e| LocalError::Definition { path: path.clone(), message: e.to_string() })?;
            let values = wired.local_values(&wiring, &region, &account);
            let text = wiring::substitute(&text, &values)?;
            let machine = StateMachine::from_text(&text, &ValidateOptions::default())
                .map_err(|e| LocalError::Definition { path: path.clone(), message: e.to_string() })?;
            let arn = wiring::local_state_machine_arn(&wired.name, &region, &account);
            executor.register_machine(&arn, &wired.name, machine.clone());
            machines.insert(stem.clone(), LocalMachine { name: wired.name.clone(), arn, machine });
        }
        Ok(Self { wiring, machines })
    }

    pub fn get(&self, stem: &str) -> Option<&LocalMachine> {
        self.machines.get(stem)
    }

    /// The steps (function code directories) the machines call.
    pub fn steps(&self) -> Vec<String> {
        let mut steps: Vec<String> = self
            .wiring
            .machines
            .values()
            .flat_map(|m| m.substitutions.values())
            .filter_map(|t| match t {
                wiring::Target::Function { step, .. } => Some(step.clone()),
                _ => None,
            })
            .collect();
        steps.sort();
        steps.dedup();
        steps
    }
}
