//! Test helpers for the ECS task runner, shared by this crate's tests and the analyst's: the
//! invocation and RunTask parameters the triage definition produces, and a scratch directory.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::tasks::TaskInvocation;

/// The call the executor makes for the triage machine's "Run analyst" state.
pub fn ecs_invocation(input: Value, token: Option<&str>) -> TaskInvocation {
    TaskInvocation {
        state_name: "Analyse finding".into(),
        resource: crate::ecs_task::RESOURCE.into(),
        input,
        execution_arn: "arn:aws:states:us-east-1:000000000000:execution:triage:run-1".into(),
        execution_name: "run-1".into(),
        state_machine_arn: "arn:aws:states:us-east-1:000000000000:stateMachine:triage".into(),
        task_token: token.map(Into::into),
        timeout: None,
        heartbeat: None,
        retry_count: 0,
    }
}

/// ECS RunTask parameters the way the triage definition passes them: the analyst container's
/// environment and, optionally, its command.
pub fn run_task_parameters(env: &[(&str, &str)], command: Option<&[&str]>) -> Value {
    let environment: Vec<Value> = env.iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect();
    let mut container = json!({"Name": "analyst", "Environment": environment});
    if let Some(command) = command {
        container["Command"] = json!(command);
    }
    json!({
        "Cluster": "arn:aws:ecs:us-east-1:000000000000:cluster/secops",
        "TaskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/analyst:1",
        "LaunchType": "FARGATE",
        "Overrides": {"ContainerOverrides": [container]},
    })
}

/// A directory for one test under the system temp dir, emptied first and removed at the end.
#[derive(Debug)]
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("secops-task-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a scratch directory");
        TestDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        std::fs::read_dir(&self.0).map(|mut d| d.next().is_none()).unwrap_or(false)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
