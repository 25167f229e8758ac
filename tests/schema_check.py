#!/usr/bin/env python3
"""Check smtpscope's machine outputs against their contracts, over every sample.

The schema: `BIN --json-schema` (or --schema FILE) must be valid JSON, use
only the keywords the small validator below implements (an unknown keyword
fails rather than being ignored), list in the session's anomalies enum
exactly the names of decode/smtp_anomalies.def, and reject a few deliberately
broken records (so a schema or validator that accepts anything fails too).

Then for every samples/*.pcap(ng), samples/edge/*.pcap(ng) and samples/trust/*.pcap(ng):

  -o json, and -o json --audit
      every line is valid against the schema (session, host, summary
      records); the summary comes last. The first violation is printed with
      its JSON path, e.g. $.commands[2].reply.code.
  -o ecs --audit
      every line is a JSON object in ECS's nested form (no dotted keys) with
      @timestamp (ISO 8601), ecs.version, event.kind and event.dataset; for
      each JSON session, in the same order, a session document with
      source/destination ip and port, network.*, event.outcome in
      success|failure|unknown as mapped from the session outcome (see
      report/ECS.md), tls.established only for a completed handshake, and
      the commands of the JSON record; then one message document per JSON
      message (email.from.address its mail_from, email.subject, event.outcome
      by its outcome) and one authentication document per AUTH command; the
      host documents, then the summary document, last, wrap the JSON records
      unchanged. (tests/ecs_check.py checks every field against ECS and the
      index templates.)
  -o csv
      stdout is valid UTF-8 and parses with Python's csv module; the header
      names the 19 columns; every row has 19 cells; one row per command of
      the JSON output (one for a session without commands), in order, with
      the session id, command name and reply_time (seconds, empty without a
      reply); the totals are on stderr, not in the table.
  -o csv --messages
      the header names the 22 columns; one row per message of the JSON
      output, in order, with the session id, mail_from, outcome and the
      times of the JSON message (empty for null).

Runs must exit 0 or 1 (a truncated capture), with no crash and no
sanitizer report. One line per sample: PASS, or FAIL and the first problem
of each output. Exit status 1 if any check fails, 2 if the binary or the
schema is missing.

Usage: python3 tests/schema_check.py [--bin PATH] [--schema FILE] [--samples DIR]...
"""

import argparse
import csv
import glob
import io
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_samples import SANITIZER_RE, TIMEOUT, first_lines  # noqa: E402

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
CSV_COLUMNS = ["session_id", "session_ts", "client_ip", "client_port", "server_ip",
               "server_port", "state", "command", "argument", "command_ts", "reply_code",
               "enhanced", "result", "matched_on", "reply_text", "explanation",
               "session_outcome", "reason", "reply_time"]
# -o csv --messages: a row per message
MESSAGE_COLUMNS = ["session_id", "session_ts", "client_ip", "client_port", "server_ip",
                   "server_port", "helo", "message", "mail_from", "rcpt_to", "rcpt_rejected",
                   "accepted", "outcome", "final_code", "size", "subject", "message_id",
                   "queue_id", "mail_ts", "data_end_ts", "final_reply_ts", "transaction_time"]
# report/ecs.c: event.outcome by session outcome, "unknown" for the rest
ECS_OUTCOME = {"delivered": "success", "rejected": "failure", "deferred": "failure",
               "aborted": "failure", "never_reached": "failure"}
FORMULA_START = "=+-@\t\r"


# ----------------------------------------------------------------------------
# a validator for the keywords our schema uses, and no more
# ----------------------------------------------------------------------------

ANNOTATIONS = {"$schema", "title", "description"}
KEYWORDS = {"type", "const", "enum", "minimum", "maximum", "format", "properties",
            "required", "additionalProperties", "items", "oneOf"}
TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or
                         (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}
FORMATS = {"date-time": ISO_TIME}


class SchemaError(Exception):
    """The schema itself uses something the validator does not implement."""


def schema_problems(schema, path="#"):
    """Keywords (or values) the validator cannot honour, as a list of strings."""
    if not isinstance(schema, dict):
        return ["%s: a schema must be an object" % path]
    errs = []
    for k, v in schema.items():
        where = "%s/%s" % (path, k)
        if k in ANNOTATIONS:
            continue
        if k not in KEYWORDS:
            errs.append("%s: unsupported keyword" % where)
        elif k == "type":
            names = v if isinstance(v, list) else [v]
            errs += ["%s: unknown type %r" % (where, t) for t in names if t not in TYPES]
        elif k == "format" and v not in FORMATS:
            errs.append("%s: unknown format %r" % (where, v))
        elif k == "additionalProperties" and v is not False:
            errs.append("%s: only false is supported" % where)
        elif k == "properties":
            for name, sub in v.items():
                errs += schema_problems(sub, "%s/%s" % (where, name))
        elif k == "items":
            errs += schema_problems(v, where)
        elif k == "oneOf":
            for i, sub in enumerate(v):
                errs += schema_problems(sub, "%s/%d" % (where, i))
    return errs


def _show(v):
    text = json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."


def violation(value, schema, path="$"):
    """The first violation as (path, message), or None when value is valid."""
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(TYPES[t](value) for t in names):
            return path, "%s is not of type %s" % (_show(value), "/".join(names))
    if "const" in schema and value != schema["const"]:
        return path, "%s is not %s" % (_show(value), _show(schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        return path, "%s is not one of %s" % (_show(value), _show(schema["enum"]))
    if TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            return path, "%s < minimum %s" % (value, schema["minimum"])
        if "maximum" in schema and value > schema["maximum"]:
            return path, "%s > maximum %s" % (value, schema["maximum"])
    if "format" in schema and isinstance(value, str) and \
            not FORMATS[schema["format"]].match(value):
        return path, "%s is not a %s" % (_show(value), schema["format"])
    if isinstance(value, dict):
        found = _object_violation(value, schema, path)
        if found:
            return found
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found = violation(item, schema["items"], "%s[%d]" % (path, i))
            if found:
                return found
    if "oneOf" in schema:
        return _one_of(value, schema["oneOf"], path)
    return None


def _object_violation(value, schema, path):
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            return path, "required field %r is missing" % name
    for name, sub in value.items():
        where = "%s.%s" % (path, name)
        if name in props:
            found = violation(sub, props[name], where)
            if found:
                return found
        elif schema.get("additionalProperties") is False:
            return where, "field not allowed by the schema"
    return None


def _one_of(value, branches, path):
    results = [violation(value, b, path) for b in branches]
    matches = results.count(None)
    if matches == 1:
        return None
    if matches > 1:
        return path, "matches %d branches of oneOf, not exactly one" % matches
    # none matched: the branch that got furthest explains best
    return max(results, key=lambda r: len(r[0]))


# ----------------------------------------------------------------------------
# the schema
# ----------------------------------------------------------------------------

def load_schema(binary, schema_file):
    """(schema, error)."""
    if schema_file:
        source = schema_file
        try:
            with open(schema_file, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            return None, "cannot read %s: %s" % (schema_file, e)
    else:
        source = "%s --json-schema" % binary
        try:
            proc = subprocess.run([binary, "--json-schema"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, "cannot run %s: %s" % (source, e)
        if proc.returncode != 0:
            return None, "%s: exit status %d: %s (give --schema FILE)" % (
                source, proc.returncode, first_lines(proc.stderr.decode("utf-8", "replace")))
        text = proc.stdout.decode("utf-8", "replace")
    try:
        return json.loads(text), None
    except ValueError as e:
        return None, "%s is not valid JSON: %s" % (source, e)


def branch(schema, record_type):
    for b in schema.get("oneOf", []):
        if b.get("properties", {}).get("type", {}).get("const") == record_type:
            return b
    return None


def def_anomalies():
    path = os.path.join(REPO, "decode", "smtp_anomalies.def")
    with open(path, encoding="utf-8") as f:
        return re.findall(r'^X\(\w+,\s*"([^"]+)"\)', f.read(), re.M)


def schema_self_check(schema, sample_session):
    """Problems with the schema itself."""
    errs = schema_problems(schema)
    if errs:
        return errs
    if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        errs.append("$schema is not draft 2020-12")
    sess = branch(schema, "session")
    if not sess or not branch(schema, "summary"):
        return errs + ["oneOf lacks the session or the summary record"]
    names = sess["properties"]["anomalies"]["items"].get("enum")
    if names != def_anomalies():
        errs.append("anomalies enum %s differs from decode/smtp_anomalies.def" % _show(names))
    if sample_session is None:
        return errs + ["no session record in any sample to try broken copies of"]
    # broken copies of a real record must fail, each at the right place
    broken = [
        ("$.bogus", lambda r: r.__setitem__("bogus", 1)),
        ("$", lambda r: r.pop("verdict")),
        ("$.state", lambda r: r.__setitem__("state", "exploded")),
        ("$.client.port", lambda r: r["client"].__setitem__("port", "25")),
        ("$.commands[0].extra", lambda r: r["commands"][0].__setitem__("extra", None)),
        ("$.anomalies[0]", lambda r: r.__setitem__("anomalies", ["no_such_anomaly"])),
        ("$.ts", lambda r: r.__setitem__("ts", "2024-01-01 00:00:00")),
    ]
    if violation(sample_session, schema):
        errs.append("the sample session is not valid: %s: %s" % violation(sample_session, schema))
    for where, change in broken:
        rec = json.loads(json.dumps(sample_session))
        change(rec)
        found = violation(rec, schema)
        if not found or found[0] != where:
            errs.append("a record broken at %s gives %s" % (where, found))
    return errs


# ----------------------------------------------------------------------------
# running the binary
# ----------------------------------------------------------------------------

def run(binary, pcap, args):
    """(stdout bytes, stderr text, error)."""
    cmd = [binary, "-r", pcap] + args
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, "", "timeout after %d s: %s" % (TIMEOUT, " ".join(cmd))
    except OSError as e:
        return None, "", "cannot run %s: %s" % (binary, e)
    err = proc.stderr.decode("utf-8", "replace")
    m = SANITIZER_RE.search(err)
    if m:
        return None, err, "sanitizer/crash report: %s" % first_lines(err[m.start():])
    if proc.returncode not in (0, 1):
        return None, err, "exit status %d: %s" % (proc.returncode, first_lines(err))
    return proc.stdout, err, None


def json_lines(out):
    """(records, error)."""
    records = []
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, "not UTF-8: %s" % e
    for n, line in enumerate(text.splitlines(), 1):
        try:
            records.append(json.loads(line))
        except ValueError as e:
            return None, "line %d is not JSON (%s): %.60s" % (n, e, line)
    return records, None


# ----------------------------------------------------------------------------
# the three outputs
# ----------------------------------------------------------------------------

def check_json(records, schema):
    for n, rec in enumerate(records, 1):
        found = violation(rec, schema)
        if found:
            return "line %d: %s: %s" % (n, found[0], found[1])
    if not records or records[-1].get("type") != "summary":
        return "the summary is not the last record"
    return None


def dotted_key(obj, path="$"):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if "." in k:
                return "%s: dotted key %r (ECS nested form expected)" % (path, k)
            found = dotted_key(v, "%s.%s" % (path, k))
            if found:
                return found
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found = dotted_key(v, "%s[%d]" % (path, i))
            if found:
                return found
    return None


def get(obj, dotted):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def ecs_session_errors(doc, sess):
    errs = []
    for field in ("source.ip", "source.port", "destination.ip", "destination.port",
                  "network.transport", "network.type", "event.duration", "event.reason"):
        if get(doc, field) is None:
            errs.append("%s missing" % field)
    tls = sess["tls"]
    pairs = [("source.ip", sess["client"]["ip"]), ("source.port", sess["client"]["port"]),
             ("destination.ip", sess["server"]["ip"]),
             ("destination.port", sess["server"]["port"]),
             ("event.kind", "event"), ("event.dataset", "smtpscope.session"),
             ("network.protocol", "smtp"), ("smtpscope.state", sess["state"]),
             ("smtpscope.outcome", sess["outcome"]),
             ("tls.established", (tls["handshake"] == "completed") if tls else None),
             ("event.outcome", ECS_OUTCOME.get(sess["outcome"], "unknown")),
             ("event.reason", sess["verdict"]), ("message", sess["verdict"])]
    if tls and tls["version"]:
        pairs += [("tls.version", tls["version"].replace("TLSv", "")),
                  ("tls.cipher", tls["cipher"])]
    auth = sess["auth"]
    pairs.append(("user.name", auth["user"] if auth and auth["success"] is True else None))
    for field, want in pairs:
        if get(doc, field) != want:
            errs.append("%s is %s, expected %s" % (field, _show(get(doc, field)), _show(want)))
    if get(doc, "event.outcome") not in ("success", "failure", "unknown"):
        errs.append("event.outcome %s not allowed" % _show(get(doc, "event.outcome")))
    cmds = [c.get("cmd") for c in get(doc, "smtpscope.commands") or []]
    if cmds != [c["cmd"] for c in sess["commands"]]:
        errs.append("smtpscope.commands differ from the JSON commands")
    if len(get(doc, "smtpscope.messages") or []) != len(sess["messages"]):
        errs.append("smtpscope.messages differ in number from the JSON messages")
    return errs


def ecs_message_errors(doc, sess, m, n):
    want = [("event.dataset", "smtpscope.message"), ("smtpscope.message_number", n),
            ("email.from.address", [m["mail_from"]] if m["mail_from"] is not None else None),
            ("email.subject", m["subject"]), ("email.message_id", m["message_id"]),
            ("email.local_id", m.get("queue_id")),
            ("event.outcome", ECS_OUTCOME.get(m["outcome"], "unknown")),
            ("smtpscope.number", sess["id"]), ("source.ip", sess["client"]["ip"])]
    accepted = [r["address"] for r in m["recipients"] if r["status"] == "accepted"]
    want.append(("email.to.address", accepted or None))
    return ["%s is %s, expected %s" % (f, _show(get(doc, f)), _show(v))
            for f, v in want if get(doc, f) != v]


def check_ecs(docs, records):
    for n, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            return "line %d is not an object" % n
        bad = dotted_key(doc)
        if bad:
            return "line %d: %s" % (n, bad)
        if not ISO_TIME.match(str(doc.get("@timestamp"))):
            return "line %d: @timestamp %s is not ISO 8601" % (n, _show(doc.get("@timestamp")))
        if not get(doc, "ecs.version"):
            return "line %d: no ecs.version" % n
    want = []  # (kind, JSON session, detail)
    for r in records:
        if r["type"] == "session":
            want.append(("session", r, None))
            want += [("message", r, (i, m)) for i, m in enumerate(r["messages"], 1)]
            want += [("auth", r, None) for c in r["commands"] if c["cmd"] == "AUTH"]
        else:
            want.append((r["type"], r, None))
    if len(docs) != len(want):
        return "%d documents for %d expected (JSON records, messages, AUTH commands)" % (
            len(docs), len(want))
    for n, (doc, (kind, rec, detail)) in enumerate(zip(docs, want), 1):
        if kind == "session":
            errs = ecs_session_errors(doc, rec)
        elif kind == "message":
            errs = ecs_message_errors(doc, rec, detail[1], detail[0])
        elif kind == "auth":
            errs = [] if get(doc, "event.dataset") == "smtpscope.auth" and \
                get(doc, "smtpscope.number") == rec["id"] else ["not its AUTH document"]
        else:
            errs = []
            if get(doc, "event.kind") != "metric" or \
                    get(doc, "event.dataset") != "smtpscope." + kind:
                errs.append("not a smtpscope.%s metric document" % kind)
            elif get(doc, "smtpscope." + kind) != rec:
                errs.append("smtpscope.%s differs from the JSON %s record" % (kind, kind))
        if errs:
            return "line %d (%s of session %s): %s" % (n, kind, rec.get("id"),
                                                      "; ".join(errs[:3]))
    return None


def _guarded(cell, text):
    """A CSV cell holds text, or text after the apostrophe that keeps a formula inert."""
    text = text or ""
    return cell == ("'" + text if text[:1] and text[0] in FORMULA_START else text)


def csv_rows(out):
    """(rows, error)."""
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, "not UTF-8: %s" % e
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True)), None
    except csv.Error as e:
        return None, "not CSV: %s" % e


def check_csv(rows, stderr, records):
    if not rows or rows[0] != CSV_COLUMNS:
        return "header is %s" % _show(rows[0] if rows else None)
    for n, row in enumerate(rows, 1):
        if len(row) != len(CSV_COLUMNS):
            return "row %d has %d cells, not %d" % (n, len(row), len(CSV_COLUMNS))
    want = []
    for s in (r for r in records if r["type"] == "session"):
        want += [(str(s["id"]), c["cmd"], _secs(c["reply_time"])) for c in s["commands"]] \
            or [(str(s["id"]), "", "")]
    got = rows[1:]
    if len(got) != len(want):
        return "%d rows for %d commands" % (len(got), len(want))
    took = CSV_COLUMNS.index("reply_time")
    for n, (row, (sid, cmd, secs)) in enumerate(zip(got, want), 2):
        if row[0] != sid or not _guarded(row[7], cmd):
            return "row %d is session %s %s, expected session %s %s" % (
                n, row[0], _show(row[7]), sid, _show(cmd))
        if row[took] != secs:
            return "row %d: reply_time %s, the JSON says %s" % (n, _show(row[took]),
                                                               _show(secs))
    if "Summary" not in stderr:
        return "no summary on stderr"
    return None


def _secs(v):
    """A JSON number of seconds as the CSV writes it ("0.000181"); null: empty."""
    return "" if v is None else "%.6f" % v


def check_csv_messages(rows, records):
    if not rows or rows[0] != MESSAGE_COLUMNS:
        return "header is %s" % _show(rows[0] if rows else None)
    want = [(s, m) for s in records if s["type"] == "session" for m in s["messages"]]
    got = rows[1:]
    if len(got) != len(want):
        return "%d rows for %d messages" % (len(got), len(want))
    col = {name: i for i, name in enumerate(MESSAGE_COLUMNS)}
    for n, (row, (s, m)) in enumerate(zip(got, want), 2):
        if len(row) != len(MESSAGE_COLUMNS):
            return "row %d has %d cells" % (n, len(row))
        expect = {"session_id": str(s["id"]), "outcome": m["outcome"],
                  "accepted": "true" if m["accepted"] else "false",
                  "mail_ts": m["mail_ts"] or "", "data_end_ts": m["data_end_ts"] or "",
                  "final_reply_ts": m["final_reply_ts"] or "",
                  "transaction_time": _secs(m["transaction_time"])}
        for k, v in expect.items():
            if row[col[k]] != v:
                return "row %d: %s is %s, the JSON says %s" % (n, k, _show(row[col[k]]),
                                                              _show(v))
        if not _guarded(row[col["mail_from"]], m["mail_from"]):
            return "row %d: mail_from %s, the JSON says %s" % (
                n, _show(row[col["mail_from"]]), _show(m["mail_from"]))
    return None


# ----------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------

def find_pcaps(dirs):
    found = []
    for d in dirs:
        label = os.path.relpath(d, os.path.join(REPO, "samples"))
        label = "" if label in (".",) or label.startswith("..") else label + "/"
        for path in sorted(glob.glob(os.path.join(d, "*.pcap")) +
                           glob.glob(os.path.join(d, "*.pcapng"))):
            found.append((label + os.path.basename(path).rsplit(".", 1)[0], path))
    return found


def judge(binary, pcap, schema):
    """(problems, counts, a session record or None)."""
    problems, counts = [], {}
    out, _, err = run(binary, pcap, ["-o", "json"])
    records, err = (None, err) if err else json_lines(out)
    if err:
        return ["json: " + err], counts, None
    err = check_json(records, schema)
    if err:
        problems.append("json: " + err)
    counts["json"] = len(records)
    sample = next((r for r in records if r.get("type") == "session" and r.get("commands")),
                  None)

    out, _, err = run(binary, pcap, ["-o", "json", "--audit"])
    audited, err = (None, err) if err else json_lines(out)
    err = err or check_json(audited, schema)
    if err:
        problems.append("json --audit: " + err)

    out, _, err = run(binary, pcap, ["-o", "ecs", "--audit"])
    docs, err = (None, err) if err else json_lines(out)
    err = err or (check_ecs(docs, audited) if audited else "no JSON to compare with")
    if err:
        problems.append("ecs: " + err)
    counts["ecs"] = len(docs or [])

    out, stderr, err = run(binary, pcap, ["-o", "csv"])
    rows, err = (None, err) if err else csv_rows(out)
    err = err or check_csv(rows, stderr, records)
    if err:
        problems.append("csv: " + err)
    counts["csv"] = len(rows or [None]) - 1

    out, _, err = run(binary, pcap, ["-o", "csv", "--messages"])
    rows, err = (None, err) if err else csv_rows(out)
    err = err or check_csv_messages(rows, records)
    if err:
        problems.append("csv --messages: " + err)
    return problems, counts, sample


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    ap.add_argument("--schema", metavar="FILE",
                    help="read the schema from FILE instead of BIN --json-schema")
    ap.add_argument("--samples", action="append", metavar="DIR",
                    help="a folder of captures; repeatable (default: samples, samples/edge, samples/trust)")
    args = ap.parse_args()

    if not os.access(args.bin, os.X_OK):
        print("schema: ERROR: binary %s not found or not executable (build it first)" % args.bin)
        return 2
    schema, err = load_schema(args.bin, args.schema)
    if err:
        print("schema: ERROR: %s" % err)
        return 2
    try:
        problems = schema_problems(schema)
    except (AttributeError, TypeError) as e:
        problems = ["malformed schema: %s" % e]
    if problems:
        print("FAIL schema: %s" % "; ".join(problems[:5]))
        return 1
    dirs = args.samples or [os.path.join(REPO, "samples", d) for d in ("", "edge", "trust")]
    pcaps = find_pcaps([d for d in dirs if os.path.isdir(d)])
    failed, sample = 0, None
    for name, path in pcaps:
        errs, counts, rec = judge(args.bin, path, schema)
        sample = sample or rec
        if errs:
            failed += 1
            print("FAIL %s: %s" % (name, " | ".join(errs)))
        else:
            print("PASS %s (%d json records, %d ecs documents, %d csv rows)" % (
                name, counts["json"], counts["ecs"], counts["csv"]))
    errs = schema_self_check(schema, sample)
    if errs:
        failed += 1
        print("FAIL schema: %s" % "; ".join(errs[:5]))
    else:
        print("PASS schema (%d bytes; broken records rejected)" % len(json.dumps(schema)))
    print("schema: %d passed, %d failed, %d samples + the schema" % (
        len(pcaps) + 1 - failed, failed, len(pcaps)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
