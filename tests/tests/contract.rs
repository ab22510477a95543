//! Contracts between the pieces that no compiler checks: the SAM template, the Lambda binaries,
//! the thin mains, and the error names the state machines match.

use regex::Regex;
use secops_asl::wiring::{self, Target};
use secops_core::ErrorClass;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const STEPS: [&str; 7] = ["collect", "reconcile", "decide", "remediate", "triage", "notify", "audit"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[test]
fn every_step_is_a_thin_lambda_main_with_a_unique_binary() {
    for step in STEPS {
        let dir = root().join("functions").join(step);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains(&format!("name = \"{step}\"")), "functions/{step} must build the binary '{step}'");
        assert!(manifest.contains("lambda_runtime"), "functions/{step} must be a Lambda");
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        let lines = main.lines().count();
        assert!(lines <= 40, "functions/{step}/src/main.rs has {lines} lines; logic belongs in layers/");
    }
}

#[test]
fn the_analyst_main_only_wires_dependencies_too() {
    let main = std::fs::read_to_string(root().join("functions/analyst/src/main.rs")).unwrap();
    let lines = main.lines().count();
    assert!(lines <= 40, "functions/analyst/src/main.rs has {lines} lines; logic belongs in layers/");
}

#[test]
fn template_builds_each_step_binary_once() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let binaries: Vec<String> =
        Regex::new(r"(?m)^\s*Binary:\s*(\S+)\s*$").unwrap().captures_iter(&template).map(|c| c[1].to_owned()).collect();
    let unique: BTreeSet<&String> = binaries.iter().collect();
    assert_eq!(unique.len(), binaries.len(), "a Binary is built twice: {binaries:?}");
    let expected: BTreeSet<String> = STEPS.iter().map(|s| s.to_string()).collect();
    assert_eq!(binaries.iter().cloned().collect::<BTreeSet<_>>(), expected);
    for step in STEPS {
        let logical_id = format!("{}Function:", capitalized(step));
        assert!(template.contains(&logical_id), "template.yaml lacks {logical_id}");
    }
    assert!(!template.contains("BuildMethod: rust-cargo-lambda"), "the builder is rust-cargolambda");
    assert_eq!(template.matches("BuildMethod: rust-cargolambda").count(), STEPS.len());
}

// ------------------------------------------------------------------------------------------------
// State machines ↔ template ↔ step handlers.
//
// The template is read through secops_asl::wiring, the same reader the embedded executor uses.
// ------------------------------------------------------------------------------------------------

/// What each step's handler must accept as `Payload.action` (the contract with the in-process
/// handlers and the Lambda functions).
const ACTIONS: [(&str, &[&str]); 7] = [
    ("collect", &["collect"]),
    ("reconcile", &["reconcile"]),
    ("decide", &["decide", "suppress_finding", "resolve_finding", "classify_incident", "sync_enabled_controls"]),
    ("remediate", &["remediate", "request_approval", "apply_approved", "approval_ended"]),
    ("triage", &["select_findings", "record_analysis", "record_failure", "finish_batch"]),
    (
        "notify",
        &[
            "open_ticket",
            "close_ticket",
            "notify_incident",
            "send_reminders",
            "replay_outbox",
            "announce_batch",
            "summarize_triage",
        ],
    ),
    ("audit", &["record", "record_failure", "checkpoint"]),
];

/// The predefined error names Step Functions can raise and a Catch can match. (`States.Runtime`
/// is left out on purpose: no Retry or Catch ever matches it.)
const STATES_ERRORS: [&str; 14] = [
    "States.ALL",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
];

/// The Lambda service errors of `arn:aws:states:::lambda:invoke`.
const LAMBDA_ERRORS: [&str; 6] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
];

/// DESIGN §5: retry only these (never InvalidInput, Conflict, Permanent, States.ALL or
/// States.TaskFailed, which would retry every error).
const RETRYABLE: [&str; 8] = [
    "Transient",
    "Throttled",
    "States.Timeout",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "StepFunctions.ExecutionLimitExceeded",
];

/// The container environment the analyst binary reads (functions/analyst).
const ANALYST_ENV: [&str; 5] = [
    "SECOPS_TASK_TOKEN",
    "SECOPS_FINDING_ID",
    "SECOPS_FINDING_PRODUCT_ARN",
    "SECOPS_FINDING_SOURCE",
    "SECOPS_EXECUTION_ID",
];

/// Every `statemachines/*.asl.json`, parsed.
fn definitions() -> BTreeMap<String, (String, Value)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("statemachines")).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if !file.ends_with(".asl.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let definition: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("statemachines/{file} is not JSON as written: {e}"));
        out.insert(file, (text, definition));
    }
    assert!(!out.is_empty(), "no statemachines/*.asl.json");
    out
}

/// Every state of a definition, nested ones (Parallel branches, Map processors) included.
fn all_states(definition: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    fn walk<'a>(scope: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        let Some(states) = scope.get("States").and_then(Value::as_object) else { return };
        for (name, state) in states {
            out.push((name.clone(), state));
            for branch in state.get("Branches").and_then(Value::as_array).into_iter().flatten() {
                walk(branch, out);
            }
            for key in ["ItemProcessor", "Iterator"] {
                if let Some(processor) = state.get(key) {
                    walk(processor, out);
                }
            }
        }
    }
    walk(definition, &mut out);
    out
}

#[test]
fn every_state_machine_file_is_wired_in_the_template_and_every_placeholder_resolves() {
    // The same reading of the template the local executor uses; it fails when a DefinitionUri
    // does not exist or a substitution is neither !Ref, !GetAtt, !Join nor a literal.
    let template = wiring::load(&root().join("template.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let definitions = definitions();
    let mut referenced = BTreeSet::new();
    for machine in template.machines.values() {
        let id = &machine.logical_id;
        let uri = machine.definition_path.strip_prefix(root()).unwrap_or(&machine.definition_path);
        let file = uri
            .strip_prefix("statemachines")
            .unwrap_or_else(|_| panic!("{id}: {} is not in statemachines/", uri.display()))
            .to_string_lossy()
            .into_owned();
        let (text, _) = definitions.get(&file).unwrap_or_else(|| panic!("{id}: DefinitionUri {file} does not exist"));
        assert!(referenced.insert(file.clone()), "{file} is the definition of two state machines");
        assert!(id.ends_with("StateMachine"), "{id}: state machine logical ids are <Name>StateMachine");

        let used = wiring::placeholder_names(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let keys: BTreeSet<String> = machine.substitutions.keys().cloned().collect();
        let missing: Vec<_> = used.difference(&keys).collect();
        let unused: Vec<_> = keys.difference(&used).collect();
        assert!(
            missing.is_empty(),
            "{file}: placeholders without a DefinitionSubstitutions entry in {id}: {missing:?}"
        );
        assert!(unused.is_empty(), "{id}: DefinitionSubstitutions keys {file} does not use: {unused:?}");

        // Every substitution names something that exists in the template.
        for (key, target) in &machine.substitutions {
            let name = match target {
                Target::Function { logical_id, .. }
                | Target::StateMachine { logical_id, .. }
                | Target::Resource { logical_id, .. } => logical_id,
                Target::Parameter(name) => name,
                Target::Literal(value) => {
                    panic!("{id}: DefinitionSubstitutions.{key} = {value} names no resource or parameter")
                }
            };
            assert!(
                template.resources.contains_key(name)
                    || template.parameters.contains_key(name)
                    || name.starts_with("AWS::"),
                "{id}: DefinitionSubstitutions.{key} refers to {name}, which the template does not define"
            );
            // The naming convention the executor and the other machines rely on.
            if let Some(step) = key.strip_suffix("FunctionArn") {
                assert!(
                    matches!(target, Target::Function { logical_id, .. } if *logical_id == format!("{step}Function")),
                    "{id}: {key} must be !GetAtt {step}Function.Arn, is {target:?}"
                );
            }
            if let Some(name) = key.strip_suffix("StateMachineArn") {
                assert!(
                    matches!(target, Target::StateMachine { logical_id, .. } if *logical_id == format!("{name}StateMachine")),
                    "{id}: {key} must be !Ref {name}StateMachine, is {target:?}"
                );
            }
        }
    }
    let files: BTreeSet<String> = definitions.keys().cloned().collect();
    let unwired: Vec<_> = files.difference(&referenced).collect();
    assert!(unwired.is_empty(), "statemachines/ files no AWS::Serverless::StateMachine uses: {unwired:?}");
}

/// Error names our own tasks raise are exactly the StepError classes (plus `Rejected`, how
/// `secops reject` ends an approval wait); anything else in an `ErrorEquals` must be a predefined `States.*` name, a Lambda service error or a
/// `StepFunctions.*` (nested execution) name. A typo here would silently never match.
#[test]
fn state_machines_match_only_error_names_that_exist() {
    let ours: BTreeSet<&str> = ErrorClass::ALL.iter().map(|c| c.name()).collect();
    let mut checked = 0;
    for (file, (_, definition)) in definitions() {
        let mut names = Vec::new();
        collect_error_equals(&definition, &mut names);
        for name in names {
            let known = ours.contains(name.as_str())
                || name == secops_remediation::step::REJECTED
                || STATES_ERRORS.contains(&name.as_str())
                || LAMBDA_ERRORS.contains(&name.as_str())
                || name.strip_prefix("StepFunctions.").is_some_and(|rest| !rest.is_empty());
            assert!(known, "statemachines/{file}: unknown error name {name}");
        }
        checked += 1;
    }
    println!("checked {checked} state machines");
}

fn collect_error_equals(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(names)) = map.get("ErrorEquals") {
                out.extend(names.iter().filter_map(|n| n.as_str().map(str::to_owned)));
            }
            map.values().for_each(|x| collect_error_equals(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_error_equals(x, out)),
        _ => {}
    }
}

/// DESIGN §5: typed, capped, jittered retries on every Task; never the classes that cannot succeed.
#[test]
fn every_task_retries_only_retryable_errors_with_capped_jittered_backoff() {
    for (file, (_, definition)) in definitions() {
        for (name, state) in all_states(&definition) {
            if state["Type"] != "Task" {
                assert!(state.get("Retry").is_none() || state["Type"] == "Parallel" || state["Type"] == "Map");
                continue;
            }
            let retriers = state.get("Retry").and_then(Value::as_array);
            let retriers = retriers.unwrap_or_else(|| panic!("{file}: Task '{name}' has no Retry"));
            assert!(!retriers.is_empty(), "{file}: Task '{name}' has an empty Retry");
            for r in retriers {
                let at = format!("{file}: Task '{name}' Retry {r}");
                for error in r["ErrorEquals"].as_array().unwrap() {
                    let error = error.as_str().unwrap();
                    assert!(
                        !["InvalidInput", "Permanent", "Conflict", "States.ALL", "States.TaskFailed"].contains(&error),
                        "{at}: {error} must never be retried"
                    );
                    assert!(RETRYABLE.contains(&error), "{at}: {error} is not a retryable error (DESIGN §5)");
                }
                assert!(r["IntervalSeconds"].as_u64().is_some_and(|s| s >= 1), "{at}: IntervalSeconds");
                assert!(r["MaxAttempts"].as_u64().is_some_and(|n| (3..=6).contains(&n)), "{at}: MaxAttempts 3-6");
                assert!(
                    r["BackoffRate"].is_f64() && r["BackoffRate"].as_f64() >= Some(1.0),
                    "{at}: BackoffRate as 2.0"
                );
                assert!(r["MaxDelaySeconds"].as_u64().is_some_and(|s| s >= 1), "{at}: MaxDelaySeconds caps the delay");
                assert_eq!(r["JitterStrategy"], "FULL", "{at}: JitterStrategy");
            }
        }
    }
}

/// Every function call goes through `lambda:invoke` to a `${<Step>FunctionArn}` with a Payload
/// whose `action` that step knows.
#[test]
fn every_function_call_names_its_step_and_an_action_the_step_knows() {
    let actions: BTreeMap<&str, &[&str]> = ACTIONS.into_iter().collect();
    let mut used = BTreeSet::new();
    for (file, (_, definition)) in definitions() {
        for (name, state) in all_states(&definition) {
            let resource = state.get("Resource").and_then(Value::as_str).unwrap_or_default();
            if !resource.contains("lambda") {
                continue;
            }
            assert!(
                ["arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken"].contains(&resource),
                "{file}: '{name}' must use the lambda:invoke integration (or its .waitForTaskToken form), not {resource}"
            );
            let function = state["Parameters"]["FunctionName"].as_str().unwrap_or_default();
            let step = function
                .strip_prefix("${")
                .and_then(|f| f.strip_suffix("FunctionArn}"))
                .map(str::to_lowercase)
                .unwrap_or_else(|| panic!("{file}: '{name}': FunctionName {function} is not ${{<Step>FunctionArn}}"));
            let known = actions.get(step.as_str()).unwrap_or_else(|| panic!("{file}: '{name}': no step '{step}'"));
            let action = state["Parameters"]["Payload"]["action"].as_str();
            let action = action.unwrap_or_else(|| panic!("{file}: '{name}': Payload has no constant \"action\""));
            assert!(
                known.contains(&action),
                "{file}: '{name}': step {step} has no action '{action}' (known: {known:?})"
            );
            used.insert(format!("{step}:{action}"));
        }
    }
    for (step, known) in ACTIONS {
        for action in known {
            assert!(
                used.contains(&format!("{step}:{action}")),
                "action {step}:{action} is listed but no machine uses it"
            );
        }
    }
    // Steps that are built answer every action the machines send them.
    for action in actions["audit"] {
        assert!(secops_audit::step::ACTIONS.contains(action), "the audit function does not handle '{action}'");
    }
    for action in actions["remediate"] {
        assert!(
            secops_remediation::step::ACTIONS.contains(action),
            "the remediate function does not handle '{action}'"
        );
    }
    for action in actions["triage"] {
        assert!(secops_triage::step::TRIAGE_ACTIONS.contains(action), "the triage function does not handle '{action}'");
    }
    for action in actions["decide"] {
        assert!(secops_soar::step::DECIDE_ACTIONS.contains(action), "the decide function does not handle '{action}'");
    }
    // The notify function answers the ticket actions (decide's lifecycle) and its own.
    for action in actions["notify"] {
        assert!(
            secops_soar::step::TICKET_ACTIONS.contains(action) || secops_notify::step::NOTIFY_ACTIONS.contains(action),
            "the notify function does not handle '{action}'"
        );
    }
}

/// DESIGN §5, "nothing fails silently": every machine sets a Comment and a TimeoutSeconds, and
/// every top-level state that can fail catches States.ALL into a path that writes a failure
/// record to the audit log and ends in a Fail state.
#[test]
fn every_machine_has_a_top_level_catch_that_audits_and_fails() {
    for (file, (_, definition)) in definitions() {
        assert!(definition["Comment"].as_str().is_some_and(|c| !c.is_empty()), "{file}: Comment");
        assert!(definition["TimeoutSeconds"].as_u64().is_some_and(|s| s > 0), "{file}: TimeoutSeconds");
        let states = definition["States"].as_object().unwrap();
        let mut guarded = 0;
        for (name, state) in states {
            if !["Task", "Parallel", "Map"].contains(&state["Type"].as_str().unwrap_or_default()) {
                continue;
            }
            let catch_all = state
                .get("Catch")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c["ErrorEquals"].as_array().is_some_and(|e| e.iter().any(|n| n == "States.ALL")));
            let catch_all =
                catch_all.unwrap_or_else(|| panic!("{file}: top-level '{name}' has no Catch on States.ALL"));
            if state["Resource"].as_str().is_some_and(|_| is_record_failure(state)) {
                // The failure recorder itself: its catch must go straight to a Fail state.
                let next = catch_all["Next"].as_str().unwrap();
                assert_eq!(states[next]["Type"], "Fail", "{file}: '{name}' catch must end in a Fail state");
                continue;
            }
            let reachable = reachable_from(states, catch_all["Next"].as_str().unwrap());
            assert!(
                reachable.iter().any(|s| is_record_failure(&states[s.as_str()])),
                "{file}: the catch-all of '{name}' never writes an audit record_failure"
            );
            let fails: Vec<&String> = reachable.iter().filter(|s| states[s.as_str()]["Type"] == "Fail").collect();
            assert!(!fails.is_empty(), "{file}: the catch-all of '{name}' never reaches a Fail state");
            for fail in fails {
                let f = &states[fail.as_str()];
                assert!(f["Error"].as_str().is_some_and(|e| !e.is_empty()), "{file}: Fail '{fail}' needs an Error");
                assert!(f["Cause"].as_str().is_some_and(|c| c.len() > 20), "{file}: Fail '{fail}' needs a clear Cause");
            }
            guarded += 1;
        }
        assert!(guarded > 0, "{file}: no top-level state catches failures");
    }
}

fn is_record_failure(state: &Value) -> bool {
    state["Type"] == "Task" && state["Parameters"]["Payload"]["action"] == "record_failure"
}

/// States reachable from `start` in one scope (Next, Default, Choices, Catch).
fn reachable_from(states: &serde_json::Map<String, Value>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_owned()];
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let state = states.get(&name).unwrap_or_else(|| panic!("transition to a missing state '{name}'"));
        let mut next: Vec<&Value> = vec![&state["Next"], &state["Default"]];
        for key in ["Choices", "Catch"] {
            next.extend(state[key].as_array().into_iter().flatten().map(|c| &c["Next"]));
        }
        todo.extend(next.into_iter().filter_map(|n| n.as_str().map(str::to_owned)));
    }
    seen
}

/// The analyst's Fargate task: isolated networking, bounded time, and exactly the environment the
/// analyst binary reads.
#[test]
fn analyst_tasks_get_the_environment_the_analyst_reads() {
    let mut found = 0;
    for (file, (_, definition)) in definitions() {
        for (name, state) in all_states(&definition) {
            let resource = state.get("Resource").and_then(Value::as_str).unwrap_or_default();
            if !resource.starts_with("arn:aws:states:::ecs:runTask") {
                continue;
            }
            found += 1;
            let at = format!("{file}: '{name}'");
            assert_eq!(resource, "arn:aws:states:::ecs:runTask.waitForTaskToken", "{at}");
            let p = &state["Parameters"];
            assert_eq!(p["LaunchType"], "FARGATE", "{at}");
            assert_eq!(p["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"], "DISABLED", "{at}");
            let timeout = state["TimeoutSeconds"].as_u64().unwrap_or_else(|| panic!("{at}: TimeoutSeconds"));
            let heartbeat = state["HeartbeatSeconds"].as_u64().unwrap_or_else(|| panic!("{at}: HeartbeatSeconds"));
            assert!(heartbeat < timeout, "{at}: HeartbeatSeconds must be below TimeoutSeconds");
            let overrides = p["Overrides"]["ContainerOverrides"].as_array().unwrap();
            let analyst =
                overrides.iter().find(|o| o["Name"] == "analyst").unwrap_or_else(|| panic!("{at}: no analyst"));
            let env: BTreeSet<&str> =
                analyst["Environment"].as_array().unwrap().iter().filter_map(|e| e["Name"].as_str()).collect();
            assert_eq!(env, ANALYST_ENV.into_iter().collect(), "{at}: container environment");
            let token = analyst["Environment"].as_array().unwrap().iter().find(|e| e["Name"] == "SECOPS_TASK_TOKEN");
            assert_eq!(token.unwrap()["Value.$"], "$$.Task.Token", "{at}");
        }
    }
    assert!(found > 0, "no machine runs the analyst");
}

/// The approval gate's wait in the machine is the one the step announces to people (and stores
/// as the request's expiry), and a rejection is caught by name before the catch-all.
#[test]
fn the_approval_wait_matches_the_step_and_rejection_is_caught() {
    let all = definitions();
    let (_, definition) = &all["remediation.asl.json"];
    let states = all_states(definition);
    let (_, ask) = states.iter().find(|(name, _)| name == "Ask for approval").expect("an 'Ask for approval' state");
    assert_eq!(ask["Resource"], "arn:aws:states:::lambda:invoke.waitForTaskToken");
    assert_eq!(ask["TimeoutSeconds"].as_i64(), Some(secops_remediation::step::APPROVAL_WAIT_SECONDS));
    assert_eq!(ask["Parameters"]["Payload"]["token.$"], "$$.Task.Token");
    let catches: Vec<&str> =
        ask["Catch"].as_array().unwrap().iter().map(|c| c["ErrorEquals"][0].as_str().unwrap()).collect();
    assert_eq!(catches, ["States.Timeout", secops_remediation::step::REJECTED, "States.ALL"]);
    assert!(definition["TimeoutSeconds"].as_i64().unwrap() > secops_remediation::step::APPROVAL_WAIT_SECONDS);
    // The parent waits for the child (startExecution.sync): it must outlive the approval wait.
    let (_, findings) = &all["findings.asl.json"];
    assert!(findings["TimeoutSeconds"].as_i64().unwrap() > definition["TimeoutSeconds"].as_i64().unwrap());
}
