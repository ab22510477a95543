//! The template is the single source of truth: read each state machine's `DefinitionUri` and
//! `DefinitionSubstitutions` from `template.yaml`, so that the embedded executor runs the very
//! files, with the very placeholders, that AWS runs.
//!
//! [`load`] reads the template (CloudFormation short tags such as `!GetAtt X.Arn`, `!Ref X` and
//! `!Join` arrive as YAML tags; the long forms `Fn::GetAtt`, `Ref`, `Fn::Join` work the same) and
//! says, for every placeholder of every machine, what it points to ([`Target`]).
//! [`MachineWiring::local_values`] turns those targets into values for a local run (functions and
//! machines get the ARNs of [`local_function_arn`] and [`local_state_machine_arn`]; everything else
//! gets a value that is clearly local), and [`substitute`] puts them into the definition text the
//! way CloudFormation does: plain text replacement of `${Name}`.
//!
//! Only what a substitution can sensibly mean locally is accepted: `!Ref`, `!GetAtt`,
//! `!Join [sep, !Ref ListParameter]`, `!Sub` without variables, and literals. Anything else (for
//! example `!If`) is refused with the file, the resource and the key in the message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

/// Everything the embedded executor needs to know about the template's state machines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiring {
    /// By definition file stem (`statemachines/findings.asl.json` → `findings`).
    pub machines: BTreeMap<String, MachineWiring>,
    /// The template's parameters by name.
    pub parameters: BTreeMap<String, ParameterInfo>,
    /// The type of every resource, by logical id (`DecideFunction` → `AWS::Serverless::Function`).
    pub resources: BTreeMap<String, String>,
}

/// One template parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInfo {
    /// `String`, `Number`, `CommaDelimitedList`, ...
    pub kind: String,
    /// The default as text (a list default is comma-separated, as CloudFormation writes it).
    pub default: Option<String>,
}

/// One `AWS::Serverless::StateMachine`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineWiring {
    pub logical_id: String,
    /// The name the machine runs under locally: its `Name` property when that is a plain string,
    /// otherwise the definition file stem.
    pub name: String,
    /// `DefinitionUri` resolved against the template's folder.
    pub definition_path: PathBuf,
    /// `DefinitionSubstitutions`: placeholder name → what it points to.
    pub substitutions: BTreeMap<String, Target>,
}

/// What a `DefinitionSubstitutions` value points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A function (`!GetAtt XFunction.Arn` or `!Ref XFunction`); `step` is the binary it runs.
    Function { logical_id: String, step: String },
    /// Another state machine of the template (`!Ref X` or `!GetAtt X.Arn`); `machine` is its
    /// definition file stem, i.e. its key in [`Wiring::machines`].
    StateMachine { logical_id: String, machine: String },
    /// Any other resource: `!Ref X` (`attribute` None) or `!GetAtt X.Attr`.
    Resource { logical_id: String, attribute: Option<String> },
    /// A template parameter or a pseudo parameter (`AWS::Region`, ...). A list parameter used as
    /// `!Join [",", !Ref List]` is this too: its value is the comma-separated text.
    Parameter(String),
    /// A literal value.
    Literal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid YAML: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Template { path: PathBuf, message: String },
    #[error("{}: resource {resource}: {message}", path.display())]
    Resource { path: PathBuf, resource: String, message: String },
    #[error(
        "the definition uses the placeholder ${{{name}}} (line {line}, column {column}), which has no value; \
         known placeholders: {known}"
    )]
    UnknownPlaceholder { name: String, line: usize, column: usize, known: String },
    #[error("the definition has a '${{' without a closing '}}' (line {line}, column {column})")]
    UnterminatedPlaceholder { line: usize, column: usize },
}

const SERVERLESS_STATE_MACHINE: &str = "AWS::Serverless::StateMachine";
const STATE_MACHINE_TYPES: [&str; 2] = [SERVERLESS_STATE_MACHINE, "AWS::StepFunctions::StateMachine"];
const FUNCTION_TYPES: [&str; 2] = ["AWS::Serverless::Function", "AWS::Lambda::Function"];
/// The stack name local values use where the template says `${AWS::StackName}`.
pub const LOCAL_STACK_NAME: &str = "secops-local";

/// `arn:aws:lambda:{region}:{account}:function:{step}`: the ARN a step's function has locally.
pub fn local_function_arn(step: &str, region: &str, account: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{step}")
}

/// `arn:aws:states:{region}:{account}:stateMachine:{name}`: the ARN a machine has locally.
pub fn local_state_machine_arn(name: &str, region: &str, account: &str) -> String {
    format!("arn:aws:states:{region}:{account}:stateMachine:{name}")
}

/// Read the template and wire every `AWS::Serverless::StateMachine` in it. Fails when a
/// definition file is missing, two machines share one, or a substitution cannot be resolved.
pub fn load(template: &Path) -> Result<Wiring, WiringError> {
    let text =
        std::fs::read_to_string(template).map_err(|source| WiringError::Read { path: template.to_owned(), source })?;
    let wiring = parse(&text, template)?;
    for machine in wiring.machines.values() {
        if !machine.definition_path.is_file() {
            return Err(WiringError::Resource {
                path: template.to_owned(),
                resource: machine.logical_id.clone(),
                message: format!("DefinitionUri points to {}, which does not exist", machine.definition_path.display()),
            });
        }
    }
    Ok(wiring)
}

/// [`load`] for template text already read; `template` is where it came from (for messages and
/// to resolve `DefinitionUri`). Does not check that the definition files exist.
pub fn parse(text: &str, template: &Path) -> Result<Wiring, WiringError> {
    let doc: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| WiringError::Yaml { path: template.to_owned(), message: e.to_string() })?;
    let template_error = |message: &str| WiringError::Template { path: template.to_owned(), message: message.into() };
    let resources =
        doc.get("Resources").and_then(Value::as_mapping).ok_or_else(|| template_error("no Resources section"))?;

    let mut parameters = BTreeMap::new();
    if let Some(params) = doc.get("Parameters").and_then(Value::as_mapping) {
        for (name, spec) in params {
            let Some(name) = name.as_str() else { continue };
            let kind = spec.get("Type").and_then(Value::as_str).unwrap_or("String").to_owned();
            let default = spec.get("Default").and_then(scalar_text);
            parameters.insert(name.to_owned(), ParameterInfo { kind, default });
        }
    }

    let mut types = BTreeMap::new();
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
        types.insert(id.to_owned(), kind.to_owned());
    }

    // First pass: where every state machine's definition lives (substitutions may name any of them).
    let base = template.parent().unwrap_or_else(|| Path::new("."));
    let mut stems: BTreeMap<String, (String, PathBuf)> = BTreeMap::new(); // logical id -> (stem, path)
    let mut by_stem: BTreeMap<String, String> = BTreeMap::new(); // stem -> logical id
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        if !STATE_MACHINE_TYPES.contains(&types[id].as_str()) {
            continue;
        }
        let resource_error =
            |message: String| WiringError::Resource { path: template.to_owned(), resource: id.to_owned(), message };
        let props = resource.get("Properties");
        let uri = match props.and_then(|p| p.get("DefinitionUri")) {
            Some(Value::String(uri)) => uri,
            Some(_) => {
                return Err(resource_error(
                    "DefinitionUri is not a local file path; keep definitions in statemachines/*.asl.json".into(),
                ))
            }
            None => {
                return Err(resource_error(
                    "has no DefinitionUri (an inline definition or an S3 location); the embedded executor runs \
                     statemachines/*.asl.json files only"
                        .into(),
                ))
            }
        };
        let path = base.join(uri);
        let stem = definition_stem(&path)
            .ok_or_else(|| resource_error(format!("DefinitionUri {uri} does not name a file")))?;
        if let Some(other) = by_stem.insert(stem.clone(), id.to_owned()) {
            return Err(resource_error(format!(
                "its definition {uri} has the same name '{stem}' as {other}'s; each machine needs its own file"
            )));
        }
        stems.insert(id.to_owned(), (stem, path));
    }

    let ctx = Context { parameters: &parameters, types: &types, resources, stems: &stems };
    let mut machines = BTreeMap::new();
    for (id, (stem, path)) in &stems {
        let resource_error =
            |message: String| WiringError::Resource { path: template.to_owned(), resource: id.clone(), message };
        let props = resources.get(id.as_str()).and_then(|r| r.get("Properties"));
        let name = match props.and_then(|p| p.get("Name")) {
            Some(Value::String(name)) => name.clone(),
            _ => stem.clone(),
        };
        let mut substitutions = BTreeMap::new();
        match props.and_then(|p| p.get("DefinitionSubstitutions")) {
            None => {}
            Some(Value::Mapping(map)) => {
                for (key, value) in map {
                    let Some(key) = key.as_str() else {
                        return Err(resource_error("a DefinitionSubstitutions key is not a string".into()));
                    };
                    let target = ctx
                        .target(value)
                        .map_err(|why| resource_error(format!("DefinitionSubstitutions.{key}: {why}")))?;
                    substitutions.insert(key.to_owned(), target);
                }
            }
            Some(_) => return Err(resource_error("DefinitionSubstitutions is not a mapping".into())),
        }
        machines.insert(
            stem.clone(),
            MachineWiring { logical_id: id.clone(), name, definition_path: path.clone(), substitutions },
        );
    }
    Ok(Wiring { machines, parameters, resources: types })
}

/// `statemachines/findings.asl.json` → `findings` (also `x.json` → `x`).
fn definition_stem(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let stem = file.strip_suffix(".asl.json").or_else(|| file.strip_suffix(".json")).unwrap_or(file);
    (!stem.is_empty()).then(|| stem.to_owned())
}

/// A YAML scalar as CloudFormation would see it (a list default as comma-separated text).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Sequence(items) => Some(items.iter().filter_map(scalar_text).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

/// `!Tag arg` or `{Fn::Tag: arg}` / `{Ref: arg}` → (`Tag`, arg).
fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let name = name.strip_prefix("Fn::").unwrap_or(name);
            KNOWN_INTRINSICS.iter().find(|k| **k == name).map(|k| (*k, &tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, arg) = map.iter().next()?;
            let key = key.as_str()?;
            let name = if key == "Ref" || key == "Condition" { key } else { key.strip_prefix("Fn::")? };
            Some((name, arg))
        }
        _ => None,
    }
}

const KNOWN_INTRINSICS: [&str; 18] = [
    "Ref",
    "GetAtt",
    "Join",
    "Sub",
    "If",
    "Select",
    "Split",
    "FindInMap",
    "ImportValue",
    "GetAZs",
    "Base64",
    "Cidr",
    "Equals",
    "And",
    "Or",
    "Not",
    "Condition",
    "ToJsonString",
];

struct Context<'a> {
    parameters: &'a BTreeMap<String, ParameterInfo>,
    types: &'a BTreeMap<String, String>,
    resources: &'a serde_yaml_ng::Mapping,
    stems: &'a BTreeMap<String, (String, PathBuf)>,
}

impl Context<'_> {
    fn target(&self, value: &Value) -> Result<Target, String> {
        let Some((name, arg)) = intrinsic(value) else {
            return match value {
                Value::Tagged(tagged) => Err(format!("{} is not a CloudFormation function this reads", tagged.tag)),
                other => scalar_text(other)
                    .filter(|_| !other.is_sequence())
                    .map(Target::Literal)
                    .ok_or_else(|| "is neither a literal nor !Ref / !GetAtt / !Join / !Sub".to_owned()),
            };
        };
        match name {
            "Ref" => {
                let referenced = arg.as_str().ok_or("!Ref needs a name")?;
                self.reference(referenced, None)
            }
            "GetAtt" => {
                let (resource, attribute) = match arg {
                    Value::String(s) => s.split_once('.').ok_or_else(|| format!("!GetAtt {s} has no attribute"))?,
                    Value::Sequence(parts) if parts.len() == 2 => (
                        parts[0].as_str().ok_or("!GetAtt needs a resource name")?,
                        parts[1].as_str().ok_or("!GetAtt needs an attribute name")?,
                    ),
                    _ => return Err("!GetAtt needs 'Resource.Attribute' or [Resource, Attribute]".into()),
                };
                if !self.types.contains_key(resource) {
                    return Err(format!("!GetAtt {resource}.{attribute}: the template has no resource {resource}"));
                }
                self.reference(resource, Some(attribute))
            }
            "Join" => {
                let parts = arg.as_sequence().filter(|p| p.len() == 2).ok_or("!Join needs [separator, list]")?;
                let list = &parts[1];
                match intrinsic(list) {
                    Some(("Ref", Value::String(p))) if self.is_list_parameter(p) => Ok(Target::Parameter(p.clone())),
                    _ => {
                        Err("!Join is read only as [separator, !Ref ListParameter] (a list parameter as text)"
                            .to_owned())
                    }
                }
            }
            "Sub" => match arg {
                Value::String(s) if !s.contains("${") => Ok(Target::Literal(s.clone())),
                _ => Err("!Sub with variables cannot be resolved locally; use !Ref or !GetAtt".to_owned()),
            },
            other => Err(format!(
                "!{other} is not supported in DefinitionSubstitutions (its value could not be known locally); \
                 use !Ref, !GetAtt, !Join [\",\", !Ref ListParameter] or a literal"
            )),
        }
    }

    fn is_list_parameter(&self, name: &str) -> bool {
        self.parameters.get(name).is_some_and(|p| p.kind == "CommaDelimitedList" || p.kind.starts_with("List<"))
    }

    fn reference(&self, name: &str, attribute: Option<&str>) -> Result<Target, String> {
        if attribute.is_none() && (name.starts_with("AWS::") || self.parameters.contains_key(name)) {
            return Ok(Target::Parameter(name.to_owned()));
        }
        let Some(kind) = self.types.get(name) else {
            return Err(format!("refers to {name}, which is neither a parameter nor a resource of the template"));
        };
        let logical_id = name.to_owned();
        if FUNCTION_TYPES.contains(&kind.as_str()) && matches!(attribute, None | Some("Arn")) {
            let step = self.function_step(name)?;
            return Ok(Target::Function { logical_id, step });
        }
        if STATE_MACHINE_TYPES.contains(&kind.as_str()) && matches!(attribute, None | Some("Arn")) {
            let (machine, _) = self
                .stems
                .get(name)
                .ok_or_else(|| format!("refers to state machine {name}, which has no local definition file"))?;
            return Ok(Target::StateMachine { logical_id, machine: machine.clone() });
        }
        Ok(Target::Resource { logical_id, attribute: attribute.map(str::to_owned) })
    }

    /// The step a function runs: from `CodeUri: functions/<step>`, else from
    /// `Metadata.BuildProperties.Binary` (cargo-lambda's binary name).
    fn function_step(&self, logical_id: &str) -> Result<String, String> {
        let resource = self.resources.get(logical_id);
        let code_uri =
            resource.and_then(|r| r.get("Properties")).and_then(|p| p.get("CodeUri")).and_then(Value::as_str);
        if let Some(step) = code_uri.and_then(step_from_code_uri) {
            return Ok(step);
        }
        let binary = resource
            .and_then(|r| r.get("Metadata"))
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(Value::as_str);
        binary.map(str::to_owned).ok_or_else(|| {
            format!(
                "cannot tell which step function {logical_id} runs: give it CodeUri functions/<step> or \
                 Metadata.BuildProperties.Binary"
            )
        })
    }
}

/// `functions/decide`, `./functions/decide/` → `decide`.
fn step_from_code_uri(uri: &str) -> Option<String> {
    let parts: Vec<&str> = uri.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    match parts.as_slice() {
        ["functions", step] => Some((*step).to_owned()),
        _ => None,
    }
}

impl Wiring {
    /// The local value of one target (see [`MachineWiring::local_values`]).
    pub fn local_value(&self, target: &Target, region: &str, account: &str) -> String {
        match target {
            Target::Function { step, .. } => local_function_arn(step, region, account),
            Target::StateMachine { machine, .. } => {
                let name = self.machines.get(machine).map_or(machine.as_str(), |m| m.name.as_str());
                local_state_machine_arn(name, region, account)
            }
            Target::Resource { logical_id, attribute } => {
                self.local_resource_value(logical_id, attribute.as_deref(), region, account)
            }
            Target::Parameter(name) => match name.as_str() {
                "AWS::Region" => region.to_owned(),
                "AWS::AccountId" => account.to_owned(),
                "AWS::Partition" => "aws".to_owned(),
                "AWS::URLSuffix" => "amazonaws.com".to_owned(),
                "AWS::StackName" => LOCAL_STACK_NAME.to_owned(),
                "AWS::StackId" => {
                    format!("arn:aws:cloudformation:{region}:{account}:stack/{LOCAL_STACK_NAME}/local")
                }
                "AWS::NoValue" | "AWS::NotificationARNs" => String::new(),
                _ => match self.parameters.get(name).and_then(|p| p.default.as_deref()) {
                    Some(default) if !default.is_empty() => default.to_owned(),
                    _ => format!("local-{name}"),
                },
            },
            Target::Literal(value) => value.clone(),
        }
    }

    fn local_resource_value(&self, id: &str, attribute: Option<&str>, region: &str, account: &str) -> String {
        let kind = self.resources.get(id).map_or("", String::as_str);
        match (kind, attribute) {
            (k, Some("Name")) if STATE_MACHINE_TYPES.contains(&k) => {
                self.machines.values().find(|m| m.logical_id == id).map_or_else(|| id.to_owned(), |m| m.name.clone())
            }
            ("AWS::ECS::Cluster", Some("Arn")) => format!("arn:aws:ecs:{region}:{account}:cluster/{id}"),
            ("AWS::ECS::TaskDefinition", None | Some("TaskDefinitionArn")) => {
                format!("arn:aws:ecs:{region}:{account}:task-definition/{id}:1")
            }
            ("AWS::IAM::Role", Some("Arn")) => format!("arn:aws:iam::{account}:role/{id}"),
            ("AWS::SQS::Queue", Some("Arn")) => format!("arn:aws:sqs:{region}:{account}:{id}"),
            ("AWS::SQS::Queue", None) => format!("https://sqs.{region}.amazonaws.com/{account}/{id}"),
            ("AWS::SNS::Topic", None | Some("TopicArn")) => format!("arn:aws:sns:{region}:{account}:{id}"),
            ("AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable", Some("Arn")) => {
                format!("arn:aws:dynamodb:{region}:{account}:table/{id}")
            }
            ("AWS::Logs::LogGroup", Some("Arn")) => format!("arn:aws:logs:{region}:{account}:log-group:{id}:*"),
            ("AWS::Events::EventBus", Some("Arn")) => format!("arn:aws:events:{region}:{account}:event-bus/{id}"),
            (_, Some(attr)) if attr.ends_with("Arn") => format!("arn:aws:local:{region}:{account}:{id}/{attr}"),
            (_, Some(attr)) => format!("local-{id}-{attr}"),
            // Ref of most resources is a name.
            (_, None) => id.to_owned(),
        }
    }
}

impl MachineWiring {
    /// Every placeholder of this machine → its value for a local run: functions and machines get
    /// [`local_function_arn`] / [`local_state_machine_arn`], other resources clearly local ARNs or
    /// names, parameters their default (or `local-<Name>` when it is empty), pseudo parameters the
    /// given region and account. A list parameter (`!Join [",", !Ref List]`) is comma-separated
    /// text, which is how the definitions use lists (inside a string, split by `States.StringSplit`).
    pub fn local_values(&self, wiring: &Wiring, region: &str, account: &str) -> BTreeMap<String, String> {
        self.substitutions
            .iter()
            .map(|(key, target)| (key.clone(), wiring.local_value(target, region, account)))
            .collect()
    }
}

/// Every `${Name}` in a definition text, in order, with its 1-based line and column.
pub fn placeholders(definition_text: &str) -> Result<Vec<(String, usize, usize)>, WiringError> {
    let mut out = Vec::new();
    scan(definition_text, |name, line, column| {
        out.push((name.to_owned(), line, column));
        Ok(String::new())
    })?;
    Ok(out)
}

/// Replace every `${Name}` with its value, as CloudFormation does with DefinitionSubstitutions
/// (plain text, no escaping). A placeholder without a value is an error that names it.
pub fn substitute(definition_text: &str, values: &BTreeMap<String, String>) -> Result<String, WiringError> {
    scan(definition_text, |name, line, column| {
        values.get(name).cloned().ok_or_else(|| WiringError::UnknownPlaceholder {
            name: name.to_owned(),
            line,
            column,
            known: if values.is_empty() {
                "none".to_owned()
            } else {
                values.keys().cloned().collect::<Vec<_>>().join(", ")
            },
        })
    })
}

fn scan(
    text: &str,
    mut replace: impl FnMut(&str, usize, usize) -> Result<String, WiringError>,
) -> Result<String, WiringError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0; // bytes of `text` before `rest`
    while let Some(start) = rest.find("${") {
        let (line, column) = line_column(text, consumed + start);
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(WiringError::UnterminatedPlaceholder { line, column })?;
        out.push_str(&replace(&after[..end], line, column)?);
        let used = start + 2 + end + 1;
        consumed += used;
        rest = &rest[used..];
    }
    out.push_str(rest);
    Ok(out)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Placeholder names used by a definition text (a convenience for checks).
pub fn placeholder_names(definition_text: &str) -> Result<BTreeSet<String>, WiringError> {
    Ok(placeholders(definition_text)?.into_iter().map(|(name, _, _)| name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Subnets:
    Type: CommaDelimitedList
    Default: ""
  Stage:
    Type: String
    Default: prod
  Limit:
    Type: Number
    Default: 7
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  DecideFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties: {Binary: decide}
    Properties:
      CodeUri: .
  AuditFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/audit/
      Environment:
        Variables:
          X: !If [IsProd, a, b]
  Cluster:
    Type: AWS::ECS::Cluster
  TaskDef:
    Type: AWS::ECS::TaskDefinition
  Child:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachines/child.asl.json
  Parent:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: parent-machine
      DefinitionUri: statemachines/parent.asl.json
      DefinitionSubstitutions:
        DecideFunctionArn: !GetAtt DecideFunction.Arn
        AuditFunctionArn:
          Fn::GetAtt: [AuditFunction, Arn]
        ChildArn: !Ref Child
        ChildArnLong:
          Ref: Child
        ClusterArn: !GetAtt Cluster.Arn
        TaskDefinitionArn: !Ref TaskDef
        SubnetIds: !Join [",", !Ref Subnets]
        Region: !Ref AWS::Region
        Stage: !Ref Stage
        Limit: !Ref Limit
        Greeting: hello
        Answer: 42
        Plain: !Sub plain-text
"#;

    fn parsed() -> Wiring {
        parse(TEMPLATE, Path::new("/repo/template.yaml")).unwrap()
    }

    #[test]
    fn short_and_long_forms_resolve_to_targets() {
        let w = parsed();
        assert_eq!(w.machines.keys().collect::<Vec<_>>(), ["child", "parent"]);
        let parent = &w.machines["parent"];
        assert_eq!(parent.logical_id, "Parent");
        assert_eq!(parent.name, "parent-machine");
        assert_eq!(parent.definition_path, Path::new("/repo/statemachines/parent.asl.json"));
        assert_eq!(w.machines["child"].name, "child");
        let s = &parent.substitutions;
        let function = |id: &str, step: &str| Target::Function { logical_id: id.into(), step: step.into() };
        assert_eq!(s["DecideFunctionArn"], function("DecideFunction", "decide"));
        assert_eq!(s["AuditFunctionArn"], function("AuditFunction", "audit"));
        let child = Target::StateMachine { logical_id: "Child".into(), machine: "child".into() };
        assert_eq!(s["ChildArn"], child);
        assert_eq!(s["ChildArnLong"], child);
        assert_eq!(s["ClusterArn"], Target::Resource { logical_id: "Cluster".into(), attribute: Some("Arn".into()) });
        assert_eq!(s["TaskDefinitionArn"], Target::Resource { logical_id: "TaskDef".into(), attribute: None });
        assert_eq!(s["SubnetIds"], Target::Parameter("Subnets".into()));
        assert_eq!(s["Region"], Target::Parameter("AWS::Region".into()));
        assert_eq!(s["Stage"], Target::Parameter("Stage".into()));
        assert_eq!(s["Greeting"], Target::Literal("hello".into()));
        assert_eq!(s["Answer"], Target::Literal("42".into()));
        assert_eq!(s["Plain"], Target::Literal("plain-text".into()));
    }

    #[test]
    fn local_values_are_local_arns_and_defaults() {
        let w = parsed();
        let v = w.machines["parent"].local_values(&w, "eu-west-1", "000000000000");
        assert_eq!(v["DecideFunctionArn"], "arn:aws:lambda:eu-west-1:000000000000:function:decide");
        assert_eq!(v["AuditFunctionArn"], local_function_arn("audit", "eu-west-1", "000000000000"));
        assert_eq!(v["ChildArn"], "arn:aws:states:eu-west-1:000000000000:stateMachine:child");
        assert_eq!(v["ClusterArn"], "arn:aws:ecs:eu-west-1:000000000000:cluster/Cluster");
        assert_eq!(v["TaskDefinitionArn"], "arn:aws:ecs:eu-west-1:000000000000:task-definition/TaskDef:1");
        assert_eq!(v["SubnetIds"], "local-Subnets");
        assert_eq!(v["Region"], "eu-west-1");
        assert_eq!(v["Stage"], "prod");
        assert_eq!(v["Limit"], "7");
        assert_eq!(v["Greeting"], "hello");
        assert_eq!(v.len(), w.machines["parent"].substitutions.len());
    }

    #[test]
    fn unreadable_substitutions_name_file_resource_and_key() {
        let cases = [
            ("!Ref Nowhere", "neither a parameter nor a resource"),
            ("!GetAtt Nowhere.Arn", "no resource Nowhere"),
            ("!If [IsProd, a, b]", "!If is not supported"),
            ("!Sub arn:${AWS::Partition}:x", "!Sub with variables"),
            ("!Join [\",\", [a, b]]", "!Join is read only as"),
            ("[a, b]", "neither a literal"),
        ];
        for (value, expected) in cases {
            let text = TEMPLATE.replace("Greeting: hello", &format!("Greeting: {value}"));
            let err = parse(&text, Path::new("/repo/template.yaml")).unwrap_err().to_string();
            assert!(
                err.starts_with("/repo/template.yaml: resource Parent: DefinitionSubstitutions.Greeting: "),
                "{err}"
            );
            assert!(err.contains(expected), "{value}: {err}");
        }
    }

    #[test]
    fn template_level_problems_are_reported() {
        let err = parse("Parameters: {}\n", Path::new("t.yaml")).unwrap_err().to_string();
        assert_eq!(err, "t.yaml: no Resources section");
        let err = parse("Resources: [", Path::new("t.yaml")).unwrap_err().to_string();
        assert!(err.starts_with("t.yaml: not valid YAML"), "{err}");
        let inline =
            "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Definition: {}\n";
        let err = parse(inline, Path::new("t.yaml")).unwrap_err().to_string();
        assert!(err.starts_with("t.yaml: resource M: has no DefinitionUri"), "{err}");
        let twice = TEMPLATE.replace("statemachines/child.asl.json", "other/parent.asl.json");
        let err = parse(&twice, Path::new("t.yaml")).unwrap_err().to_string();
        assert!(err.contains("same name 'parent'"), "{err}");
        let no_step = TEMPLATE.replace("BuildProperties: {Binary: decide}", "BuildProperties: {}");
        let err = parse(&no_step, Path::new("t.yaml")).unwrap_err().to_string();
        assert!(err.contains("cannot tell which step function DecideFunction runs"), "{err}");
    }

    #[test]
    fn load_checks_that_definitions_exist() {
        let dir = std::env::temp_dir().join(format!("secops-wiring-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("statemachines")).unwrap();
        let template = dir.join("template.yaml");
        std::fs::write(&template, TEMPLATE).unwrap();
        std::fs::write(dir.join("statemachines/child.asl.json"), "{}").unwrap();
        let err = load(&template).unwrap_err().to_string();
        assert!(err.contains("resource Parent: DefinitionUri points to") && err.contains("does not exist"), "{err}");
        std::fs::write(dir.join("statemachines/parent.asl.json"), "{}").unwrap();
        assert_eq!(load(&template).unwrap().machines.len(), 2);
        let missing = load(&dir.join("nope.yaml")).unwrap_err().to_string();
        assert!(missing.starts_with("cannot read ") && missing.contains("nope.yaml"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn substitute_replaces_text_and_names_unknown_placeholders() {
        let values = BTreeMap::from([("A".to_owned(), "x".to_owned()), ("B".to_owned(), "y,z".to_owned())]);
        let text =
            "{\"r\": \"${A}\",\n \"s\": \"States.StringSplit('${B}', ',')\", \"p\": \"$.a\", \"q\": \"$$.Task\"}";
        assert_eq!(
            substitute(text, &values).unwrap(),
            "{\"r\": \"x\",\n \"s\": \"States.StringSplit('y,z', ',')\", \"p\": \"$.a\", \"q\": \"$$.Task\"}"
        );
        let err = substitute("{\n  \"r\": \"${Missing}\"}", &values).unwrap_err().to_string();
        assert_eq!(
            err,
            "the definition uses the placeholder ${Missing} (line 2, column 9), which has no value; known \
             placeholders: A, B"
        );
        let err = substitute("\"${A\"", &values).unwrap_err().to_string();
        assert_eq!(err, "the definition has a '${' without a closing '}' (line 1, column 2)");
        assert_eq!(placeholder_names("${A} ${B} ${A}").unwrap(), BTreeSet::from(["A".to_owned(), "B".to_owned()]));
    }

    /// The real template wires every definition in statemachines/, and every placeholder of every
    /// definition resolves to a local value that leaves valid JSON.
    #[test]
    fn the_real_template_wires_every_state_machine() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let wiring = load(&root.join("template.yaml")).unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("statemachines"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
            .map(|p| p.canonicalize().unwrap())
            .collect();
        files.sort();
        let mut wired: Vec<PathBuf> =
            wiring.machines.values().map(|m| m.definition_path.canonicalize().unwrap()).collect();
        wired.sort();
        assert_eq!(files, wired, "every statemachines/*.asl.json must be a DefinitionUri, and only those");
        assert!(!files.is_empty());

        let steps = ["collect", "reconcile", "decide", "remediate", "triage", "notify", "audit"];
        for (stem, machine) in &wiring.machines {
            let text = std::fs::read_to_string(&machine.definition_path).unwrap();
            let used = placeholder_names(&text).unwrap();
            let keys: BTreeSet<String> = machine.substitutions.keys().cloned().collect();
            assert_eq!(used, keys, "{stem}: placeholders and DefinitionSubstitutions keys must match");
            for (key, target) in &machine.substitutions {
                match target {
                    Target::Function { step, .. } => assert!(steps.contains(&step.as_str()), "{stem}.{key}: {step}"),
                    Target::StateMachine { machine: child, .. } => {
                        assert!(wiring.machines.contains_key(child) && child != stem, "{stem}.{key}: {child}")
                    }
                    _ => {}
                }
            }
            let values = machine.local_values(&wiring, "us-east-1", "123456789012");
            let substituted = substitute(&text, &values).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&substituted)
                .unwrap_or_else(|e| panic!("{stem}: not JSON after local substitution: {e}"));
            assert!(parsed.get("StartAt").is_some(), "{stem}");
            assert!(!substituted.contains("${"), "{stem}");
        }
        let findings = &wiring.machines["findings"];
        assert_eq!(
            findings.substitutions["RemediationStateMachineArn"],
            Target::StateMachine { logical_id: "RemediationStateMachine".into(), machine: "remediation".into() }
        );
        let triage = wiring.machines["triage"].local_values(&wiring, "us-east-1", "123456789012");
        assert_eq!(triage["TriageFunctionArn"], "arn:aws:lambda:us-east-1:123456789012:function:triage");
        assert_eq!(triage["AnalystSubnetIds"], "local-SubnetIds");
    }
}
