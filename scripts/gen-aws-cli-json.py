#!/usr/bin/env python3
"""Generate layers/inventory/src/sources/aws/cli_json/<service>.rs: `ToCliJson` for every SDK
struct, enum and union reachable from the outputs of the operations the AWS collectors call, so a
response page becomes the JSON the AWS CLI prints (botocore member names, unset members omitted).

Member names come from the botocore service models; Rust type and field names are looked up in
the SDK crates' own sources (not re-derived from smithy-rs's naming rules), so a renamed field
fails here instead of silently dropping a member.

Run with the tool venv's python (it has botocore):
    ~/.cache/secops-autopilot/tools/venv/bin/python scripts/gen-aws-cli-json.py
"""

import glob
import gzip
import json
import os
import re
import subprocess
import sys

import botocore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "layers/inventory/src/sources/aws/cli_json")

# botocore service -> (SDK crate, the operations whose outputs the collectors convert).
SERVICES = {
    "ec2": ("ec2", [
        "DescribeInstances", "DescribeNetworkInterfaces", "DescribeVpcs", "DescribeSubnets",
        "DescribeInternetGateways", "DescribeNatGateways", "DescribeSecurityGroups",
        "DescribeSecurityGroupRules", "DescribeNetworkAcls", "DescribeRouteTables",
        "DescribeManagedPrefixLists", "GetManagedPrefixListEntries",
        "DescribeVpcPeeringConnections", "DescribeAddresses",
    ]),
    "s3": ("s3", [
        "ListBuckets", "GetBucketLocation", "GetPublicAccessBlock", "GetBucketPolicyStatus", "GetBucketAcl",
        "GetBucketEncryption", "GetBucketVersioning", "GetBucketLogging",
    ]),
    "s3control": ("s3control", ["GetPublicAccessBlock"]),
    "rds": ("rds", ["DescribeDBInstances", "DescribeDBSnapshots", "DescribeDBSnapshotAttributes"]),
    "elbv2": ("elasticloadbalancingv2", ["DescribeLoadBalancers", "DescribeListeners", "DescribeTargetGroups", "DescribeTargetHealth"]),
    "cloudfront": ("cloudfront", ["ListDistributions"]),
    "route53": ("route53", ["ListHostedZones", "ListResourceRecordSets"]),
    "securityhub": ("securityhub", ["GetFindings"]),
    "guardduty": ("guardduty", ["ListDetectors", "ListFindings", "GetFindings"]),
    "inspector2": ("inspector2", ["ListFindings"]),
    "ecr": ("ecr", ["DescribeRepositories"]),
}

SCALARS = {"string", "boolean", "integer", "long", "float", "double", "timestamp", "blob", "bigdecimal"}


def fail(message):
    sys.exit(f"gen-aws-cli-json: {message}")


def norm(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def load_model(service):
    base = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    version = sorted(os.listdir(base))[-1]
    for name in ("service-2.json", "service-2.json.gz"):
        path = os.path.join(base, version, name)
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as f:
                return json.load(f)
    fail(f"no service model for {service} under {base}/{version}")


def sdk_version(crate):
    """The version Cargo.lock pins, so the sources read are the ones compiled."""
    with open(os.path.join(ROOT, "Cargo.lock")) as f:
        lock = f.read()
    m = re.search(r'name = "aws-sdk-%s"\nversion = "([^"]+)"' % re.escape(crate), lock)
    if not m:
        fail(f"aws-sdk-{crate} is not in Cargo.lock")
    return m.group(1)


def sdk_source(crate):
    version = sdk_version(crate)
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    hits = glob.glob(os.path.join(home, "registry/src/*", f"aws-sdk-{crate}-{version}", "src"))
    if not hits:
        fail(f"aws-sdk-{crate}-{version} sources not found under {home}/registry/src (run cargo fetch)")
    return hits[0]


ITEM = re.compile(r"^pub (struct|enum) (\w+)\b", re.M)
FIELD = re.compile(r"^    pub (r#)?(\w+):\s", re.M)
VARIANT = re.compile(r"^    (\w+)\(", re.M)


def rust_items(src):
    """Every public struct/enum of `types/` and every operation output: lowercase name -> info."""
    items = {}
    for path in glob.glob(os.path.join(src, "types", "_*.rs")):
        with open(path) as f:
            text = f.read()
        for kind, name in ITEM.findall(text):
            if name.endswith("Builder"):
                continue
            items.setdefault(name.lower(), (kind, name, f"crate_::types::{name}", text))
    outputs = {}
    for path in glob.glob(os.path.join(src, "operation", "*", "_*_output.rs")):
        module = os.path.basename(os.path.dirname(path))
        with open(path) as f:
            text = f.read()
        for kind, name in ITEM.findall(text):
            if name.endswith("Output"):
                outputs[name.lower()] = (kind, name, f"crate_::operation::{module}::{name}", text)
    return items, outputs


def body_of(text, kind, name):
    if re.search(r"^pub %s %s \{\}" % (kind, name), text, re.M):
        return ""
    m = re.search(r"^pub %s %s \{\n(.*?)^\}" % (kind, name), text, re.M | re.S)
    if not m:
        fail(f"cannot find the body of {kind} {name}")
    return m.group(1)


def reachable(model, operations):
    shapes = model["shapes"]
    seen, order, stack = set(), [], []
    for op in operations:
        output = model["operations"][op].get("output")
        if output:
            stack.append(output["shape"])
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        order.append(name)
        shape = shapes[name]
        t = shape["type"]
        if t == "structure":
            stack.extend(m["shape"] for m in shape["members"].values())
        elif t == "list":
            stack.append(shape["member"]["shape"])
        elif t == "map":
            stack.extend([shape["key"]["shape"], shape["value"]["shape"]])
    return order


def generate(service, crate, operations):
    model = load_model(service)
    shapes = model["shapes"]
    src = sdk_source(crate)
    items, outputs = rust_items(src)
    output_shapes = {model["operations"][op]["output"]["shape"]: op for op in operations if "output" in model["operations"][op]}
    lines, warnings = [], []
    lines.append(f"//! `ToCliJson` for the aws-sdk-{crate} outputs of: {', '.join(operations)}.")
    lines.append("//! Generated by scripts/gen-aws-cli-json.py from the botocore model; do not edit.")
    lines.append("")
    lines.append("// Deprecated members are still returned by the services, and `raw` keeps every member.")
    lines.append("#![allow(deprecated)]")
    lines.append("")
    lines.append("use super::{put, ToCliJson};")
    lines.append(f"use aws_sdk_{crate} as crate_;")
    lines.append("use serde_json::{Map, Value};")
    count = 0
    for name in sorted(reachable(model, operations)):
        shape = shapes[name]
        t = shape["type"]
        if name in output_shapes:
            key = (output_shapes[name] + "Output").lower()
            if key not in outputs:
                fail(f"{service}: no SDK output struct for {output_shapes[name]}")
            kind, rust, path, text = outputs[key]
        elif shape.get("document"):
            # An open JSON document: the SDK holds it as aws_smithy_types::Document (see mod.rs).
            continue
        elif t == "structure" or (t == "string" and "enum" in shape):
            if name.lower() not in items:
                # Only shapes newer than the SDK: their members are missing too (warned below), and
                # a field of a type not generated here would not compile.
                warnings.append(f"{service}: shape {name} has no SDK type (SDK older than the model)")
                continue
            kind, rust, path, text = items[name.lower()]
        else:
            if t not in SCALARS | {"list", "map"}:
                fail(f"{service}: shape {name} has unhandled type {t}")
            continue
        path = path.replace("crate_::", "crate_::")
        body = body_of(text, kind, rust)
        count += 1
        lines.append("")
        if t == "string":
            lines.append(f"impl ToCliJson for {path} {{")
            lines.append("    fn to_cli_json(&self) -> Value {")
            lines.append("        Value::String(self.as_str().to_owned())")
            lines.append("    }")
            lines.append("}")
        elif shape.get("union"):
            variants = {norm(v): v for v in VARIANT.findall(body)}
            lines.append(f"impl ToCliJson for {path} {{")
            lines.append("    fn to_cli_json(&self) -> Value {")
            lines.append("        let mut map = Map::new();")
            lines.append("        match self {")
            for member in shape["members"]:
                variant = variants.get(norm(member))
                if not variant:
                    fail(f"{service}: union {name} member {member} has no variant in {rust}")
                lines.append(f'            Self::{variant}(v) => put(&mut map, "{member}", v),')
            # A member newer than this SDK: the CLI would print it, the SDK cannot read it.
            lines.append("            _ => {}")
            lines.append("        }")
            lines.append("        Value::Object(map)")
            lines.append("    }")
            lines.append("}")
        else:
            fields = {}
            for raw, field in FIELD.findall(body):
                fields.setdefault(norm(field), []).append(raw + field)
            lines.append(f"impl ToCliJson for {path} {{")
            lines.append("    fn to_cli_json(&self) -> Value {")
            members = shape["members"]
            lines.append(f"        let mut map = Map::with_capacity({len(members)});" if members else "        let map = Map::new();")
            for member in members:
                candidates = fields.get(norm(member), [])
                if len(candidates) > 1:
                    fail(f"{service}: {name}.{member} matches several fields of {rust}: {candidates}")
                if not candidates:
                    warnings.append(f"{service}: {name}.{member} has no field in {rust} (SDK older than the model)")
                    continue
                lines.append(f'        put(&mut map, "{member}", &self.{candidates[0]});')
            lines.append("        Value::Object(map)")
            lines.append("    }")
            lines.append("}")
    return "\n".join(lines) + "\n", count, warnings


def main():
    os.makedirs(OUT, exist_ok=True)
    all_warnings = []
    for service, (crate, operations) in SERVICES.items():
        code, count, warnings = generate(service, crate, operations)
        path = os.path.join(OUT, f"{crate}.rs")
        with open(path, "w") as f:
            f.write(code)
        subprocess.run(["rustfmt", "--edition", "2021", "--config-path", os.path.join(ROOT, "rustfmt.toml"), path], check=True)
        print(f"{path}: {count} types")
        all_warnings += warnings
    for w in all_warnings:
        print("warning:", w, file=sys.stderr)


if __name__ == "__main__":
    main()
