#!/usr/bin/env python3
"""Writes the emulator's trimmed discovery schemas (src/emulator/discovery/<api>.json).

The emulator checks request bodies against the discovery documents, the APIs' schema of
record. Whole documents are 7 MB (compute alone is 5 MB), so this keeps only the schemas the
emulated resources reach, and of each property only what a body check needs: its shape
($ref / items / additionalProperties / type) and whether it is output only.

Some discovery revisions are older than the official Rust SDK the emulator serves (sqladmin
20240618 knows no settings.connectionPoolConfig, secretmanager 20240527 no Secret.tags). The
SDK is generated from the current protos, so fields and messages it has and the document lacks
are added from its model (`model.rs` for types, `model/serialize.rs` for JSON names), marked
"sdk": true.

Usage: python3 src/emulator/discovery/trim.py [DISCOVERY_DIR] [CARGO_REGISTRY_SRC]
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DISCOVERY = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/reference/discovery"
REGISTRY = sys.argv[2] if len(sys.argv) > 2 else glob.glob(os.path.expanduser("~/.cargo/registry/src/*"))[0]

# api -> (discovery file, SDK crate prefix, root schemas the emulator serves)
APIS = {
    "secretmanager": ("secretmanager.v1.json", "google-cloud-secretmanager-v1-", ["Secret", "SecretVersion", "AddSecretVersionRequest"]),
    "vpcaccess": ("vpcaccess.v1.json", "google-cloud-vpcaccess-v1-", ["Connector"]),
    "logging": ("logging.v2.json", "google-cloud-logging-v2-", ["LogSink"]),
    "sqladmin": ("sqladmin.v1.json", "google-cloud-sql-v1-", ["DatabaseInstance", "Database", "User"]),
    "compute": (
        "compute.v1.json",
        "google-cloud-compute-v1-",
        ["HealthCheck", "BackendService", "UrlMap", "TargetHttpsProxy", "TargetHttpProxy", "SslCertificate", "Address",
         "NetworkEndpointGroup", "ForwardingRule", "TargetReference", "GlobalSetLabelsRequest", "Network", "Subnetwork"],
    ),
    # The discovery schema names carry a prefix the SDK's model lacks (GoogleCloudRunV2Service
    # vs Service), so nothing is completed from the SDK; the document is newer than it anyway.
    "run": (
        "run.v2.json",
        "google-cloud-run-v2-",
        ["GoogleCloudRunV2Service", "GoogleIamV1SetIamPolicyRequest", "GoogleIamV1TestIamPermissionsRequest"],
    ),
    "monitoring": (
        "monitoring.v3.json",
        "google-cloud-monitoring-v3-",
        ["AlertPolicy", "NotificationChannel", "UptimeCheckConfig", "SendNotificationChannelVerificationCodeRequest",
         "GetNotificationChannelVerificationCodeRequest",
         "VerifyNotificationChannelRequest"],
    ),
    # Datasets only: the emulator keeps no tables, jobs or routines.
    "bigquery": ("bigquery.v2.json", "google-cloud-bigquery-v2-", ["Dataset"]),
}

# Output-only fields whose descriptions do not say so in the words OUTPUT_ONLY matches
# ("A read-only record…", or nothing at all), from the API reference pages: schema -> fields.
EXTRA_OUTPUT_ONLY = {
    "monitoring": {
        "AlertPolicy": ["creationRecord", "mutationRecord", "validity"],
        "NotificationChannel": ["creationRecord", "mutationRecords", "verificationStatus"],
    },
}

OUTPUT_ONLY = re.compile(r"^\s*(\[Output Only\]|Output only|\[Output-only\]|Output-only)", re.I)


def shape(prop):
    out = {}
    for key in ("$ref", "type"):
        if key in prop:
            out[key] = prop[key]
    if "items" in prop:
        out["items"] = shape(prop["items"])
    if "additionalProperties" in prop:
        out["additionalProperties"] = shape(prop["additionalProperties"])
    if "properties" in prop:  # an inline object
        out["properties"] = {k: field(v) for k, v in sorted(prop["properties"].items())}
    return out


def field(prop):
    out = shape(prop)
    if prop.get("readOnly") or OUTPUT_ONLY.match(prop.get("description", "")):
        out["outputOnly"] = True
    return out


def refs(node, acc):
    if isinstance(node, dict):
        if "$ref" in node:
            acc.add(node["$ref"])
        for v in node.values():
            refs(v, acc)
    elif isinstance(node, list):
        for v in node:
            refs(v, acc)


# ---- the SDK's model, for fields newer than the discovery revision ----

def sdk_model(prefix):
    dirs = sorted(glob.glob(os.path.join(REGISTRY, prefix + "*")))
    if not dirs:
        return {}, set()
    src = os.path.join(dirs[-1], "src")
    model = open(os.path.join(src, "model.rs")).read()
    serialize = open(os.path.join(src, "model", "serialize.rs")).read()
    # Top-level structs only (nested modules hold enums and oneof wrappers).
    structs = {}
    for m in re.finditer(r"^pub struct (\w+) \{\n(.*?)^\}", model, re.M | re.S):
        fields = {}
        for f in re.finditer(r"^    pub (?:r#)?(\w+): (.+),$", m.group(2), re.M):
            fields[f.group(1)] = f.group(2)
        structs[m.group(1)] = fields
    names = {}
    for m in re.finditer(r"impl serde::ser::Serialize for super::(\w+) \{(.*?)\n\}\n", serialize, re.S):
        names[m.group(1)] = re.findall(r'serialize_entry\(\s*"(\w+)"', m.group(2))
    enums = set(re.findall(r"^pub enum (\w+)", model, re.M))
    return {k: (structs[k], names.get(k, [])) for k in structs}, enums


def camel(snake):
    head, *rest = snake.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def sdk_shape(rust_type, structs, enums):
    t = rust_type.strip()
    for wrapper in ("std::option::Option<", "std::boxed::Box<"):
        if t.startswith(wrapper):
            return sdk_shape(t[len(wrapper):-1], structs, enums)
    if t.startswith("std::vec::Vec<"):
        return {"type": "array", "items": sdk_shape(t[len("std::vec::Vec<"):-1], structs, enums)}
    if t.startswith("std::collections::HashMap<"):
        value = t[len("std::collections::HashMap<"):-1].split(",", 1)[1]
        return {"type": "object", "additionalProperties": sdk_shape(value, structs, enums)}
    m = re.fullmatch(r"crate::model::(\w+)", t)
    if m and m.group(1) in structs:
        return {"$ref": m.group(1)}
    if t in ("wkt::Struct", "wkt::Any", "wkt::Value"):
        return {"type": "any"}
    return {"type": "scalar"}  # numbers, strings, wrappers, enums: no fields beneath


def trim(api, fname, prefix, roots):
    doc = json.load(open(os.path.join(DISCOVERY, fname)))
    schemas = doc["schemas"]
    structs, enums = sdk_model(prefix)
    out = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name in schemas:
            props = {k: field(v) for k, v in sorted(schemas[name].get("properties", {}).items())}
            if schemas[name].get("additionalProperties"):
                props = None if not props else props
        elif name in structs:
            props = {}
        else:
            raise SystemExit(f"{api}: no schema {name}")
        if props is not None and name in structs:
            fields, json_names = structs[name]
            for snake, rust_type in fields.items():
                key = camel(snake)
                if key in props or key not in json_names and snake not in ("type",):
                    continue
                props[key] = dict(sdk_shape(rust_type, structs, enums), sdk=True)
            # Oneof members are entries with no field of their own: accept anything beneath.
            for key in json_names:
                if key not in props:
                    props[key] = {"type": "any", "sdk": True}
        for key in EXTRA_OUTPUT_ONLY.get(api, {}).get(name, []):
            props[key]["outputOnly"] = True
        out[name] = {"properties": props} if props is not None else {"type": "any"}
        acc = set()
        refs(out[name], acc)
        todo.extend(sorted(acc - set(out)))
    result = {"discovery": fname, "revision": doc.get("revision"), "schemas": dict(sorted(out.items()))}
    with open(os.path.join(HERE, api + ".json"), "w") as f:
        json.dump(result, f, indent=None, separators=(",", ":"), sort_keys=False)
        f.write("\n")


for api, (fname, prefix, roots) in APIS.items():
    trim(api, fname, prefix, roots)
