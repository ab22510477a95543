#!/usr/bin/env python3
"""Static checks that tie statemachines/*.asl.json to template.yaml (called by scripts/validate-static).

Neither cfn-lint nor `sam validate --lint` looks inside the ASL of an AWS::Serverless::StateMachine,
checks that its DefinitionUri exists, or that its ${Name} placeholders match DefinitionSubstitutions.
This script does, and writes a copy of each definition with the placeholders replaced by dummy
values, ready for asl-validator and statelint.

  check_statemachines.py uris    --template T --statemachines DIR
      every AWS::Serverless::StateMachine has a local DefinitionUri that exists and is one of DIR/*.asl.json
  check_statemachines.py prepare --template T --asl FILE --out DIR
      FILE is valid JSON as written and referenced by a DefinitionUri; its ${Name} set equals that machine's
      DefinitionSubstitutions keys; writes DIR/<LogicalId>.asl.json (substituted, valid JSON) and prints its
      path. A list-valued substitution (!Join [",", !Ref SomeList]) becomes comma-separated dummy text.

Exit status: 0 when clean, 1 with one line per problem on stderr, 2 on usage errors.
Runs with the tools venv's python (needs samtranslator, which aws-sam-cli installs).
"""

import argparse
import json
import os
import re
import sys

from samtranslator.yaml_helper import yaml_parse  # understands !Ref, !GetAtt, !Sub, ...

STATE_MACHINE = "AWS::Serverless::StateMachine"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
DUMMY_ACCOUNT, DUMMY_REGION = "123456789012", "us-east-1"
PSEUDO = {
    "AWS::AccountId": DUMMY_ACCOUNT,
    "AWS::Region": DUMMY_REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "secops-autopilot",
    "AWS::StackId": f"arn:aws:cloudformation:{DUMMY_REGION}:{DUMMY_ACCOUNT}:stack/secops-autopilot/dummy",
}
# Dummy values of !GetAtt X.Arn / !Ref X by resource type; {n} is the logical id.
ARN_BY_TYPE = {
    "AWS::Serverless::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::Lambda::Function": "arn:aws:lambda:{r}:{a}:function:{n}",
    "AWS::Serverless::StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{r}:{a}:stateMachine:{n}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::Serverless::SimpleTable": "arn:aws:dynamodb:{r}:{a}:table/{n}",
    "AWS::SQS::Queue": "arn:aws:sqs:{r}:{a}:{n}",
    "AWS::SNS::Topic": "arn:aws:sns:{r}:{a}:{n}",
    "AWS::ECS::Cluster": "arn:aws:ecs:{r}:{a}:cluster/{n}",
    "AWS::ECS::TaskDefinition": "arn:aws:ecs:{r}:{a}:task-definition/{n}:1",
    "AWS::IAM::Role": "arn:aws:iam::{a}:role/{n}",
    "AWS::Events::EventBus": "arn:aws:events:{r}:{a}:event-bus/{n}",
}
# !Ref returns the ARN (not a name) for these types.
REF_IS_ARN = {"AWS::SNS::Topic", "AWS::ECS::TaskDefinition", "AWS::Serverless::StateMachine",
              "AWS::StepFunctions::StateMachine"}

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def load_template(path):
    try:
        with open(path, encoding="utf-8") as f:
            template = yaml_parse(f.read())
    except Exception as e:  # noqa: BLE001 - OSError or any YAML error: say which file and why
        sys.exit(f"check_statemachines: cannot read {path}: {e}")
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        sys.exit(f"check_statemachines: {path} has no Resources section")
    return template


def state_machines(template):
    for logical_id, resource in template["Resources"].items():
        if isinstance(resource, dict) and resource.get("Type") == STATE_MACHINE:
            yield logical_id, resource.get("Properties") or {}


def local_definition(template_path, logical_id, props):
    """The resolved path of a state machine's DefinitionUri, or None after recording why not."""
    where = f"{template_path}: {logical_id}"
    uri = props.get("DefinitionUri")
    if uri is None:
        what = "an inline Definition" if "Definition" in props else "no DefinitionUri"
        problem(where, f"has {what}; keep every definition in statemachines/*.asl.json (DESIGN.md §3)")
        return None
    if not isinstance(uri, str):
        problem(where, f"DefinitionUri {json.dumps(uri)} is not a local file path")
        return None
    return os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(template_path)), uri))


def cmd_uris(args):
    template = load_template(args.template)
    asl_dir = os.path.realpath(args.statemachines)
    count = 0
    for logical_id, props in state_machines(template):
        count += 1
        path = local_definition(args.template, logical_id, props)
        if path is None:
            continue
        where = f"{args.template}: {logical_id}: DefinitionUri {props['DefinitionUri']}"
        if not os.path.isfile(path):
            problem(where, f"no such file ({path})")
        elif os.path.dirname(path) != asl_dir or not path.endswith(".asl.json"):
            problem(where, f"is not a *.asl.json file directly in {args.statemachines}, so nothing validates it")
    print(f"{count} state machine resource(s) in {args.template}")


def scan_placeholders(text):
    """Yield (match, inside_json_string) for every ${Name} in text."""
    i, in_string = 0, False
    while i < len(text):
        m = PLACEHOLDER.match(text, i) if text.startswith("${", i) else None
        if m:
            yield m, in_string
            i = m.end()
            continue
        c = text[i]
        if in_string and c == "\\":
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        i += 1


def dummy_value(template, name, value, depth=0):
    """A plausible stand-in for a DefinitionSubstitutions value (str, or int/bool for literals)."""
    resources = template.get("Resources", {})
    parameters = template.get("Parameters") or {}
    fmt = {"r": DUMMY_REGION, "a": DUMMY_ACCOUNT}
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1 and depth < 5:
        (fn, arg), = value.items()
        if fn == "Ref" and isinstance(arg, str):
            if arg in PSEUDO:
                return PSEUDO[arg]
            if arg in parameters:
                p = parameters[arg] or {}
                if "Default" in p and p["Default"] != "":
                    return int(p["Default"]) if p.get("Type") == "Number" else str(p["Default"])
                return 1 if p.get("Type") == "Number" else f"dummy-{arg}"
            rtype = (resources.get(arg) or {}).get("Type")
            if rtype in REF_IS_ARN:
                return ARN_BY_TYPE[rtype].format(n=arg, **fmt)
            if rtype == "AWS::SQS::Queue":
                return f"https://sqs.{DUMMY_REGION}.amazonaws.com/{DUMMY_ACCOUNT}/{arg}"
            return arg  # a name
        if fn == "Fn::GetAtt":
            res, attr = (arg.split(".", 1) if isinstance(arg, str) else (list(arg) + [""])[:2])
            rtype = (resources.get(res) or {}).get("Type")
            if attr == "Arn" and rtype in ARN_BY_TYPE:
                return ARN_BY_TYPE[rtype].format(n=res, **fmt)
            if attr in ("Arn", "StateMachineArn") or attr.endswith("Arn"):
                return f"arn:aws:states:{DUMMY_REGION}:{DUMMY_ACCOUNT}:dummy:{res}"
            return f"dummy-{res}-{attr}"
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            sep, parts = arg
            if isinstance(parts, list):
                return sep.join(str(dummy_value(template, name, p, depth + 1)) for p in parts)
            # A list-valued reference (!Ref of a CommaDelimitedList parameter): its dummy stands
            # for the joined members, e.g. text the definition splits with States.StringSplit.
            return str(dummy_value(template, name, parts, depth + 1))
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] if len(arg) > 1 else {})

            def sub(m):
                key = m.group(1)
                if key.startswith("!"):
                    return "${" + key[1:] + "}"
                if key in extra:
                    return str(dummy_value(template, name, extra[key], depth + 1))
                if key in PSEUDO:
                    return PSEUDO[key]
                if "." in key:
                    return str(dummy_value(template, name, {"Fn::GetAtt": key}, depth + 1))
                return str(dummy_value(template, name, {"Ref": key}, depth + 1))

            return PLACEHOLDER.sub(sub, text)
    return f"arn:aws:states:{DUMMY_REGION}:{DUMMY_ACCOUNT}:dummy:{name}"


def cmd_prepare(args):
    template = load_template(args.template)
    asl_path = os.path.realpath(args.asl)
    try:
        with open(asl_path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        problem(args.asl, f"cannot read: {e}")
        return

    users = [(lid, props) for lid, props in state_machines(template)
             if isinstance(props.get("DefinitionUri"), str)
             and local_definition(args.template, lid, props) == asl_path]
    if not users:
        problem(args.asl, f"not referenced by any {STATE_MACHINE} DefinitionUri in {args.template}")
        return

    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        problem(args.asl, f"not valid JSON as written ({e.msg} at line {e.lineno} column {e.colno}); keep every "
                "${Name} inside a JSON string, so that the embedded executor and the contract test can read the file")
    occurrences = list(scan_placeholders(text))
    used = {m.group(1) for m, _ in occurrences}
    os.makedirs(args.out, exist_ok=True)
    for logical_id, props in users:
        where = f"{args.asl} ({logical_id})"
        subs = props.get("DefinitionSubstitutions") or {}
        if not isinstance(subs, dict):
            problem(where, "DefinitionSubstitutions is not a map")
            continue
        missing, unused = sorted(used - set(subs)), sorted(set(subs) - used)
        if missing:
            problem(where, "placeholders missing from DefinitionSubstitutions: "
                    + ", ".join("${%s}" % k for k in missing))
        if unused:
            problem(where, "DefinitionSubstitutions keys not used in the definition: " + ", ".join(unused))

        # Substitute as CloudFormation does (plain text), with dummies that fit where each one stands.
        out, last = [], 0
        for m, in_string in occurrences:
            key = m.group(1)
            value = dummy_value(template, key, subs.get(key, {"Fn::Missing": key}))
            if in_string:
                piece = json.dumps(str(value).lower() if isinstance(value, bool) else str(value))[1:-1]
            elif isinstance(value, bool):
                piece = "true" if value else "false"
            elif isinstance(value, (int, float)):
                piece = json.dumps(value)
            else:
                piece = str(value) if re.fullmatch(r"-?\d+(\.\d+)?|true|false", str(value)) else "1"
            out.append(text[last:m.start()])
            out.append(piece)
            last = m.end()
        out.append(text[last:])
        substituted = "".join(out)
        try:
            json.loads(substituted)
        except json.JSONDecodeError as e:
            problem(where, f"not valid JSON after substitution: {e.msg} at line {e.lineno} column {e.colno}")
            continue
        copy = os.path.join(args.out, f"{logical_id}.asl.json")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(substituted)
        print(copy)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("uris")
    p.add_argument("--template", required=True)
    p.add_argument("--statemachines", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--template", required=True)
    p.add_argument("--asl", required=True)
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    {"uris": cmd_uris, "prepare": cmd_prepare}[args.command](args)
    for line in problems:
        print(line, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
