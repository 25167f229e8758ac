#!/usr/bin/env python3
"""Check `-o ecs` against the official ECS field definitions, the shipped index templates
and the log-store recipes, over every bundled sample. No network needed.

For every capture of samples/, samples/edge, samples/trust, samples/keylog (with its key
log when there is one) and samples/audit, `BIN -r CAP -o ecs --audit`:
  - every field written (every leaf, inside arrays and nested objects too) is either an
    ECS 8.11.0 field (tests/data/ecs/ecs-8.11.0-fields.json, from elastic/ecs's
    ecs_flat.yml) whose type accepts the value, written as an array where ECS expects
    one, or lives under smtpscope.*;
  - event.kind, event.category, event.type and event.outcome take ECS's allowed values,
    and each event.type is one ECS expects beside every event.category of the document;
  - each field is mapped in report/ecs-template.elasticsearch.json and
    report/ecs-template.opensearch.json, with ECS's type for ECS fields (OpenSearch: text
    for match_only_text), and for smtpscope.* a type that takes the value (a timestamp
    must be a date, an object list must be nested or an object); smtpscope.commands and
    smtpscope.messages are nested;
  - network.community_id is the flow's Community ID v1, computed here from the spec and
    checked first on the spec's own vectors (tests/data/community-id);
  - every event.id is unique, and the same capture read again from another folder gives
    the same ids (idempotent ingestion); source/destination bytes and packets add up to
    network.*; related.ip holds both ends; a host document's host.ip is its record's ip.
Then the recipes in recipes/: each parses (YAML, TOML), names a sink (Elasticsearch or
OpenSearch), the template file it ships, an index or data stream the template's pattern
covers, event.id as the document id, and only fields smtpscope writes.
Finally the checker itself is shown broken documents, which it must refuse.

Usage: python3 tests/ecs_check.py [--bin PATH]
"""

import argparse
import base64
import glob
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_samples import SANITIZER_RE, TIMEOUT, first_lines  # noqa: E402

ECS_FILE = os.path.join(REPO, "tests", "data", "ecs", "ecs-8.11.0-fields.json")
CID_DIR = os.path.join(REPO, "tests", "data", "community-id")
TEMPLATES = {"elasticsearch": os.path.join(REPO, "report", "ecs-template.elasticsearch.json"),
             "opensearch": os.path.join(REPO, "report", "ecs-template.opensearch.json")}
RECIPES = os.path.join(REPO, "recipes")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
NESTED = ("smtpscope.commands", "smtpscope.messages")
# OpenSearch's name for an ECS type it has under another name
OPENSEARCH_TYPE = {"match_only_text": "text"}


# ----------------------------------------------------------------------------
# Community ID v1, from the spec (github.com/corelight/community-id-spec)
# ----------------------------------------------------------------------------

def community_id(saddr, daddr, proto, sport, dport, seed=0):
    s, d = ipaddress.ip_address(saddr).packed, ipaddress.ip_address(daddr).packed
    if not (s < d or (s == d and sport < dport)):
        s, d, sport, dport = d, s, dport, sport
    data = seed.to_bytes(2, "big") + s + d + bytes([proto, 0]) + \
        sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def community_id_self_check():
    """Problems of community_id() on the spec's vectors (TCP, UDP, SCTP rows)."""
    errs, n = [], 0
    for name, seed in (("baseline_deflt.json", 0), ("baseline_seed1.json", 1)):
        with open(os.path.join(CID_DIR, name), encoding="utf-8") as f:
            for v in json.load(f):
                if v["proto"] not in (6, 17, 132):
                    continue
                n += 1
                got = community_id(v["saddr"], v["daddr"], v["proto"], v["sport"], v["dport"],
                                   seed)
                if got != v["communityid"]:
                    errs.append("%s: %s, the spec says %s" % (name, got, v["communityid"]))
    return errs, n


# ----------------------------------------------------------------------------
# fields, types, templates
# ----------------------------------------------------------------------------

def leaves(obj, path=""):
    """(dotted path, value, in_list) for every scalar; object lists give their members' paths."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, path + "." + k if path else k)
    elif isinstance(obj, list):
        for v in obj:
            for p, x, _ in leaves(v, path):
                yield p, x, True
    else:
        yield path, obj, False


def lists_of_objects(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from lists_of_objects(v, path + "." + k if path else k)
    elif isinstance(obj, list):
        if any(isinstance(v, dict) for v in obj):
            yield path
        for v in obj:
            yield from lists_of_objects(v, path)


def is_ip(v):
    try:
        ipaddress.ip_address(v)
        return True
    except (ValueError, TypeError):
        return False


def takes(es_type, v):
    """Does a field of this Elasticsearch type index the value?"""
    if es_type in ("keyword", "text", "match_only_text", "wildcard", "constant_keyword"):
        return isinstance(v, str)
    if es_type == "ip":
        return is_ip(v)
    if es_type == "date":
        return isinstance(v, str) and bool(ISO_TIME.match(v))
    if es_type in ("long", "integer", "short", "byte", "unsigned_long"):
        return isinstance(v, int) and not isinstance(v, bool)
    if es_type in ("float", "double", "scaled_float", "half_float"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if es_type == "boolean":
        return isinstance(v, bool)
    return False


def mapping_at(template, dotted):
    """The mapping of a dotted field in a template, or None."""
    props = template["template"]["mappings"]["properties"]
    node = None
    for part in dotted.split("."):
        if props is None or part not in props:
            return None
        node = props[part]
        props = node.get("properties")
    return node


class Checker:
    def __init__(self, ecs, templates):
        self.ecs = ecs
        self.templates = templates
        self.fields = {}  # dotted -> set of value kinds seen
        self.docs = 0

    def field_errors(self, doc):
        errs = []
        for path, v, in_list in leaves(doc):
            if v is None:
                # the -o json host and summary records are wrapped unchanged, nulls and all
                if not path.startswith(("smtpscope.host.", "smtpscope.summary.")):
                    errs.append("%s: null (absent values are left out)" % path)
                continue
            self.fields.setdefault(path, set()).add(type(v).__name__)
            errs += self.ecs_errors(path, v, in_list)
            for flavour, t in self.templates.items():
                errs += ["%s: %s" % (flavour, e) for e in self.template_errors(t, path, v)]
        for path in lists_of_objects(doc):
            for flavour, t in self.templates.items():
                m = mapping_at(t, path)
                if path in NESTED and (not m or m.get("type") != "nested"):
                    errs.append("%s: %s is not nested" % (flavour, path))
        return errs

    def ecs_errors(self, path, v, in_list):
        if path == "smtpscope" or path.startswith("smtpscope."):
            return []
        f = self.ecs["fields"].get(path)
        if not f:
            return ["%s is not an ECS field (nor under smtpscope.*)" % path]
        ecs_type, array = f
        errs = []
        if not takes(ecs_type, v):
            errs.append("%s: %s is not a valid %s (ECS type)" % (path, json.dumps(v), ecs_type))
        if array and not in_list:
            errs.append("%s: ECS expects an array" % path)
        return errs

    def template_errors(self, t, path, v):
        m = mapping_at(t, path)
        if not m or "type" not in m:
            return ["%s is not mapped in the template" % path]
        got = m["type"]
        if path in self.ecs["fields"] and not path.startswith("smtpscope."):
            want = self.ecs["fields"][path][0]
            if got != want and OPENSEARCH_TYPE.get(want) != got:
                return ["%s mapped as %s, ECS says %s" % (path, got, want)]
        if not takes(got, v):
            return ["%s mapped as %s, which does not take %s" % (path, got, json.dumps(v)[:60])]
        if isinstance(v, str) and ISO_TIME.match(v) and got != "date":
            return ["%s holds a timestamp but is mapped as %s" % (path, got)]
        return []

    def category_errors(self, doc):
        allowed = self.ecs["allowed_values"]
        ev = doc.get("event", {})
        errs = []
        if ev.get("kind") not in allowed["event.kind"]:
            errs.append("event.kind %r not allowed" % ev.get("kind"))
        if "outcome" in ev and ev["outcome"] not in allowed["event.outcome"]:
            errs.append("event.outcome %r not allowed" % ev["outcome"])
        for c in ev.get("category", []):
            if c not in allowed["event.category"]:
                errs.append("event.category %r not allowed" % c)
                continue
            for t in ev.get("type", []):
                if t not in allowed["event.type"]:
                    errs.append("event.type %r not allowed" % t)
                elif t not in allowed["event.category"][c]:
                    errs.append("event.type %r is not one ECS expects with category %r" % (t, c))
        if ev.get("kind") == "event" and not (ev.get("category") and ev.get("type")):
            errs.append("an event without event.category and event.type")
        return errs

    def doc_errors(self, doc):
        self.docs += 1
        errs = self.field_errors(doc) + self.category_errors(doc)
        if doc.get("event", {}).get("kind") == "event":
            errs += flow_errors(doc)
        host = doc.get("smtpscope", {}).get("host")
        if host:
            if doc.get("host", {}).get("ip") != [host["ip"]] or \
                    doc.get("related", {}).get("ip") != [host["ip"]]:
                errs.append("host document without host.ip/related.ip [%s]" % host["ip"])
        return errs


def flow_errors(doc):
    errs = []
    src, dst, net = doc["source"], doc["destination"], doc["network"]
    try:
        want = community_id(src["ip"], dst["ip"], 6, src["port"], dst["port"])
    except (TypeError, ValueError, AttributeError) as e:
        return ["no community id for this flow: %s" % e]
    if net.get("community_id") != want:
        errs.append("network.community_id %s, the spec gives %s" % (net.get("community_id"), want))
    for k in ("bytes", "packets"):
        if src[k] + dst[k] != net[k]:
            errs.append("source.%s + destination.%s != network.%s" % (k, k, k))
    if doc["client"] != src or doc["server"] != dst:
        errs.append("client/server differ from source/destination")
    if set(doc["related"]["ip"]) != {src["ip"], dst["ip"]}:
        errs.append("related.ip %s lacks an end" % doc["related"]["ip"])
    return errs


# ----------------------------------------------------------------------------
# running the binary
# ----------------------------------------------------------------------------

def run(binary, pcap):
    """(documents, error)."""
    cmd = [binary, "-r", pcap, "-o", "ecs", "--audit"]
    keylog = pcap.rsplit(".", 1)[0] + ".keylog"
    if os.path.exists(keylog):
        cmd += ["--tls-keylog", keylog]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "cannot run %s: %s" % (" ".join(cmd), e)
    err = proc.stderr.decode("utf-8", "replace")
    m = SANITIZER_RE.search(err)
    if m:
        return None, "sanitizer/crash report: %s" % first_lines(err[m.start():])
    if proc.returncode not in (0, 1):
        return None, "exit status %d: %s" % (proc.returncode, first_lines(err))
    try:
        return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()], None
    except ValueError as e:
        return None, "not JSON Lines: %s" % e


def samples():
    found = []
    for d in ("", "edge", "trust", "keylog", "audit"):
        for path in sorted(glob.glob(os.path.join(REPO, "samples", d, "*.pcap")) +
                           glob.glob(os.path.join(REPO, "samples", d, "*.pcapng"))):
            found.append(os.path.relpath(path, os.path.join(REPO, "samples")))
    return found


def ids_of(docs):
    return [d["event"]["id"] for d in docs]


def idempotence_errors(binary, pcap, docs):
    """The same capture, copied to another folder, read again: the same ids."""
    with tempfile.TemporaryDirectory(prefix="smtpscope-ecs-") as tmp:
        copy = os.path.join(tmp, os.path.basename(pcap))
        shutil.copy(pcap, copy)
        again, err = run(binary, copy)
    if err:
        return [err]
    if ids_of(again) != ids_of(docs):
        return ["read again from another folder, the ids differ"]
    return []


# ----------------------------------------------------------------------------
# recipes
# ----------------------------------------------------------------------------

def _walk_strings(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk_strings(v)
    elif isinstance(obj, str):
        yield obj


def covered(pattern, name):
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), name) is not None


def recipe_errors(path, written, templates):
    """Problems of one recipe, given the set of fields smtpscope writes."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        conf = tomllib.loads(raw.decode()) if path.endswith(".toml") else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as e:
        return ["does not parse: %s" % e]
    errs = []
    strings = list(_walk_strings(conf))
    pattern = templates["elasticsearch"]["index_patterns"][0]
    if "filebeat" in os.path.basename(path):
        out = conf.get("output.elasticsearch") or conf.get("output", {}).get("elasticsearch")
        if not out or not out.get("hosts"):
            errs.append("no output.elasticsearch with hosts")
        index = (out or {}).get("index")
        tpl = conf.get("setup.template.json.path")
        name = conf.get("setup.template.json.name")
        ids = [p.get("ndjson", {}).get("document_id") for i in conf.get("filebeat.inputs", [])
               for p in i.get("parsers", [])]
        if "event.id" not in ids:
            errs.append("the ndjson parser does not take event.id as the document id")
        flavour = "elasticsearch"
    else:
        sinks = [s for s in conf.get("sinks", {}).values()
                 if s.get("type") in ("elasticsearch",)]
        if len(sinks) != 1:
            return errs + ["%d elasticsearch sinks, expected 1" % len(sinks)]
        sink = sinks[0]
        flavour = "opensearch" if sink.get("api_version") == "v7" or \
            "opensearch" in os.path.basename(path) else "elasticsearch"
        if not sink.get("endpoints"):
            errs.append("the sink has no endpoints")
        if sink.get("id_key") != "event.id":
            errs.append("the sink's id_key is not event.id")
        for inp in sink.get("inputs", []):
            if inp not in conf.get("transforms", {}) and inp not in conf.get("sources", {}):
                errs.append("the sink's input %r is not defined" % inp)
        ds = sink.get("data_stream") or {}
        if sink.get("mode") == "data_stream":
            index = "%s-%s-%s" % (ds.get("type"), ds.get("dataset"), ds.get("namespace"))
        else:
            index = (sink.get("bulk") or {}).get("index")
        # Vector loads no template: the recipe says how, with the file's path (in a comment)
        found = re.findall(r"@(\S*ecs-template\.\w+\.json)", raw.decode())
        tpl, name = (found[0] if found else None), None
        if tpl and tpl.rsplit("/", 1)[-1] != os.path.basename(TEMPLATES[flavour]):
            errs.append("names %s, not the %s template" % (tpl, flavour))
    if not index or not covered(pattern, index):
        errs.append("writes to %r, which the template's pattern %s does not cover" % (index,
                                                                                      pattern))
    if not tpl or os.path.basename(tpl) != os.path.basename(TEMPLATES[flavour]):
        errs.append("does not name the %s index template (%s)" % (
            flavour, os.path.basename(TEMPLATES[flavour])))
    if name is not None and not name:
        errs.append("the template has no name")
    for s in strings:  # every field a recipe names (.event.id, event.id) must exist
        for f in re.findall(r"(?<![\w/])\.?((?:event|source|destination|smtpscope|email)"
                            r"(?:\.[a-z_]+)+)", s):
            if f not in written and not any(w.startswith(f + ".") for w in written):
                errs.append("names %s, which smtpscope does not write" % f)
    return errs


# ----------------------------------------------------------------------------
# the checker, broken on purpose
# ----------------------------------------------------------------------------

def self_test(checker, doc):
    """The checker must refuse broken copies of a real session document."""
    broken = [
        ("not an ECS field", lambda d: d.__setitem__("smtp", {"code": 1})),
        ("not a valid long", lambda d: d["source"].__setitem__("port", "25")),
        ("ECS expects an array", lambda d: d["related"].__setitem__("ip", d["source"]["ip"])),
        ("not mapped in the template",
         lambda d: d["smtpscope"].__setitem__("invented", "x")),
        ("holds a timestamp", lambda d: d["smtpscope"].__setitem__("helo",
                                                                   "2024-01-01T00:00:00.000000Z")),
        ("not one ECS expects", lambda d: d["event"].__setitem__("type", ["connection"])),
        ("community_id", lambda d: d["network"].__setitem__("community_id", "1:x")),
        ("null", lambda d: d["event"].__setitem__("reason", None)),
    ]
    errs = []
    for what, change in broken:
        d = json.loads(json.dumps(doc))
        change(d)
        if not any(what in e for e in checker.doc_errors(d)):
            errs.append("a document with %s passes" % what)
    # and a template that lacks the nested type
    t = json.loads(json.dumps(checker.templates["opensearch"]))
    t["template"]["mappings"]["properties"]["smtpscope"]["properties"]["commands"].pop("type")
    saved, checker.templates = checker.templates, {"opensearch": t}
    if not any("not nested" in e for e in checker.doc_errors(doc)):
        errs.append("a template without nested commands passes")
    checker.templates = saved
    return errs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        print("ecs: ERROR: binary %s not found or not executable (build it first)" % args.bin)
        return 2
    with open(ECS_FILE, encoding="utf-8") as f:
        ecs = json.load(f)
    templates = {}
    for flavour, path in TEMPLATES.items():
        with open(path, encoding="utf-8") as f:
            templates[flavour] = json.load(f)
    failed = 0
    errs, n = community_id_self_check()
    if errs or not n:
        print("FAIL community id: %s" % "; ".join(errs[:3] or ["no vectors"]))
        failed += 1
    else:
        print("PASS community id: %d vectors of the spec" % n)

    checker = Checker(ecs, templates)
    all_ids, sample_doc, names = [], None, samples()
    for name in names:
        pcap = os.path.join(REPO, "samples", name)
        docs, err = run(args.bin, pcap)
        problems = [err] if err else []
        for n, doc in enumerate(docs or [], 1):
            e = checker.doc_errors(doc)
            if e:
                problems.append("document %d (%s): %s" % (n, doc.get("event", {}).get(
                    "dataset"), "; ".join(e[:3])))
                break
            if doc["event"].get("dataset") == "smtpscope.session" and sample_doc is None:
                sample_doc = doc
        if docs:
            ids = ids_of(docs)
            if len(set(ids)) != len(ids):
                problems.append("event.id not unique within the run")
            all_ids += [i for d, i in zip(docs, ids) if d["event"]["kind"] == "event"]
            if name in ("multi-message.pcap", "audit/password-guessing.pcap"):
                problems += idempotence_errors(args.bin, pcap, docs)
        if problems:
            failed += 1
            print("FAIL %s: %s" % (name, " | ".join(problems[:2])))
        else:
            print("PASS %s (%d documents)" % (name, len(docs)))
    if len(set(all_ids)) != len(all_ids):
        failed += 1
        print("FAIL ids: an event.id is shared by two captures' events")

    written = set(checker.fields)
    ecs_written = sorted(f for f in written if not f.startswith("smtpscope."))
    recipes = sorted(glob.glob(os.path.join(RECIPES, "*.yml")) +
                     glob.glob(os.path.join(RECIPES, "*.toml")))
    if len(recipes) < 3:
        failed += 1
        print("FAIL recipes: %d found in recipes/, expected Filebeat and two Vector" %
              len(recipes))
    for path in recipes:
        errs = recipe_errors(path, written, templates)
        print("%s recipe %s%s" % ("FAIL" if errs else "PASS", os.path.basename(path),
                                  ": " + "; ".join(errs[:3]) if errs else ""))
        failed += bool(errs)

    errs = self_test(checker, sample_doc) if sample_doc else ["no session document"]
    print("%s checker refuses broken documents%s" % ("FAIL" if errs else "PASS",
                                                    ": " + "; ".join(errs) if errs else ""))
    failed += bool(errs)
    print("ecs: %d samples, %d documents, %d distinct fields (%d ECS, %d smtpscope.*), "
          "2 templates, %d recipes; %d failed" % (
              len(names), checker.docs, len(written), len(ecs_written),
              len(written) - len(ecs_written), len(recipes), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
