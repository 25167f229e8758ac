#!/usr/bin/env python3
"""Write report/ecs-template.elasticsearch.json and report/ecs-template.opensearch.json,
the composable index templates for `smtpscope -o ecs` (report/ECS.md).

The ECS fields smtpscope writes (ECS_FIELDS below) take their type from the official
definitions (tests/data/ecs/ecs-8.11.0-fields.json); the session, message and AUTH
fields under smtpscope.* are listed here (SMTPSCOPE); the summary and host records under
smtpscope.summary and smtpscope.host are typed from `smtpscope --json-schema`, which
documents every counter. smtpscope.commands and smtpscope.messages are `nested`, so a
query matches a command's name and its reply code within one command.

OpenSearch has no match_only_text, constant_keyword or flattened: text and keyword stand
in for the first two (the third is not written). tests/ecs_check.py checks every field of every sample's output
against both files and against ECS; run this again after adding a field:

    python3 tests/make_ecs_templates.py [--bin build/smtpscope]
"""

import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ECS_FILE = os.path.join(REPO, "tests", "data", "ecs", "ecs-8.11.0-fields.json")
OUT = {"elasticsearch": os.path.join(REPO, "report", "ecs-template.elasticsearch.json"),
       "opensearch": os.path.join(REPO, "report", "ecs-template.opensearch.json")}
INDEX_PATTERN = "logs-smtpscope-*"

# every ECS field report/ecs.c writes
ECS_FIELDS = """
@timestamp ecs.version message
event.kind event.module event.dataset event.id event.category event.type event.action
event.outcome event.start event.end event.duration event.reason
observer.hostname observer.type observer.product observer.vendor observer.version
source.ip source.port source.bytes source.packets
destination.ip destination.port destination.bytes destination.packets
client.ip client.port client.bytes client.packets
server.ip server.port server.bytes server.packets
network.transport network.iana_number network.protocol network.type network.community_id
network.bytes network.packets
related.ip related.hosts related.user
tls.established tls.version_protocol tls.version tls.cipher tls.client.server_name
tls.server.subject tls.server.issuer tls.server.not_before tls.server.not_after
tls.server.x509.alternative_names tls.server.x509.public_key_algorithm
tls.server.x509.public_key_size
user.name host.ip error.code error.message
email.from.address email.to.address email.subject email.message_id email.local_id
email.delivery_timestamp
""".split()
# ECS fields the shippers add (Vector's data_stream mode, Filebeat's data streams)
SHIPPER_FIELDS = "data_stream.type data_stream.dataset data_stream.namespace".split()

K, L, B, D = "keyword", "long", "boolean", "date"
COMMAND = {"cmd": K, "arg": K, "ts": D, "code": L, "enhanced": K, "text": K, "result": K,
           "reason": K, "explanation": K}
MESSAGE = {"mail_from": K, "rcpt_to": K, "rcpt_rejected": K, "accepted": B, "size": L,
           "subject": K, "message_id": K, "queue_id": K, "outcome": K, "final_code": L}
AUTH = {"mechanism": K, "user": K, "success": B}
SMTPSCOPE = {
    "id": K, "number": L, "reply_code": L, "message_number": L, "auth_number": L,
    "state": K, "outcome": K, "midstream": B, "helo": K, "esmtp": B, "extensions": K,
    "auth": AUTH, "tls": {"handshake": K, "alert": K},
    "commands": ("nested", COMMAND), "messages": ("nested", MESSAGE), "message": MESSAGE,
    "gaps": {"client": L, "server": L}, "anomalies": K,
    "icmp_unreachable": {"type": L, "code": L, "from": "ip"},
}


# record fields that hold a timestamp the schema cannot call date-time (whole seconds)
SCHEMA_DATES = {"certificate_not_after"}


def from_schema(node, name=""):
    """A mapping from a JSON Schema node of --json-schema."""
    types = node.get("type", [])
    types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
    t = types[0] if types else "string"
    if t == "array":
        return from_schema(node.get("items", {}), name)
    if t == "object":
        return {"properties": {k: from_schema(v, k)
                               for k, v in sorted(node.get("properties", {}).items())}}
    if t == "integer":
        return {"type": "long"}
    if t == "number":
        return {"type": "double"}
    if t == "boolean":
        return {"type": "boolean"}
    if node.get("format") == "date-time" or name in SCHEMA_DATES:
        return {"type": "date"}
    if name == "ip":
        return {"type": "ip"}
    return {"type": "keyword", "ignore_above": 1024}


def ours(spec):
    if isinstance(spec, tuple):
        kind, props = spec
        return {"type": kind, "properties": {k: ours(v) for k, v in props.items()}}
    if isinstance(spec, dict):
        return {"properties": {k: ours(v) for k, v in spec.items()}}
    m = {"type": spec}
    if spec == "keyword":
        m["ignore_above"] = 1024
    return m


def put(props, dotted, mapping):
    parts = dotted.split(".")
    for p in parts[:-1]:
        props = props.setdefault(p, {"properties": {}})["properties"]
    props[parts[-1]] = mapping


def ecs_mapping(ecs_type, flavour):
    if flavour == "opensearch" and ecs_type == "match_only_text":
        ecs_type = "text"
    if flavour == "opensearch" and ecs_type == "constant_keyword":
        ecs_type = "keyword"
    m = {"type": ecs_type}
    if ecs_type == "keyword":
        m["ignore_above"] = 1024
    return m


def template(flavour, ecs, schema):
    props = {}
    for f in ECS_FIELDS + SHIPPER_FIELDS:
        put(props, f, ecs_mapping(ecs["fields"][f][0], flavour))
    sm = {k: ours(v) for k, v in SMTPSCOPE.items()}
    for b in schema["oneOf"]:
        kind = b["properties"]["type"]["const"]
        if kind in ("summary", "host", "probe"):
            sm[kind] = from_schema(b)
        if kind == "session":  # --probe's sessions: where they come from, what DNS found
            sm["source"] = ours("keyword")
            sm["dns"] = from_schema(b["properties"]["dns"], "dns")
    props["smtpscope"] = {"properties": sm}
    return {
        "index_patterns": [INDEX_PATTERN],
        "data_stream": {},
        "priority": 200,
        "template": {
            "settings": {"index.mapping.total_fields.limit": 2000},
            "mappings": {"properties": props},
        },
        "_meta": {
            "description": "smtpscope -o ecs (report/ECS.md): ECS %s fields and smtpscope.*; "
                           "written by tests/make_ecs_templates.py" % ecs["version"],
            "ecs_version": ecs["version"],
        },
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    args = ap.parse_args()
    with open(ECS_FILE, encoding="utf-8") as f:
        ecs = json.load(f)
    schema = json.loads(subprocess.run([args.bin, "--json-schema"], check=True,
                                       stdout=subprocess.PIPE).stdout)
    for flavour, path in OUT.items():
        with open(path, "w", encoding="utf-8") as f:
            json.dump(template(flavour, ecs, schema), f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote %s" % os.path.relpath(path, REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
