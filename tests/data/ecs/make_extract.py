#!/usr/bin/env python3
"""Write ecs-8.11.0-fields.json, the extract of the official ECS field definitions
that tests/ecs_check.py reads (no network at test time).

Source: github.com/elastic/ecs, tag v8.11.0, generated/ecs/ecs_flat.yml
(Apache License 2.0, Copyright Elasticsearch B.V.). Kept per field: its type,
whether ECS expects an array (normalize: [array]), and for the four
categorization fields their allowed values (with, for event.category, the
event.type values ECS expects beside each category).

Usage: git -C ecs show v8.11.0:generated/ecs/ecs_flat.yml | python3 make_extract.py > ecs-8.11.0-fields.json
"""
import json
import sys

import yaml

flat = yaml.safe_load(sys.stdin)
out = {"source": "https://github.com/elastic/ecs/blob/v8.11.0/generated/ecs/ecs_flat.yml",
       "licence": "Apache License 2.0, Copyright Elasticsearch B.V.",
       "version": "8.11.0", "allowed_values": {}, "fields": {}}
for name in sorted(flat):
    f = flat[name]
    out["fields"][name] = [f["type"], "array" in (f.get("normalize") or [])]
    if f.get("allowed_values"):
        out["allowed_values"][name] = {v["name"]: v.get("expected_event_types")
                                       for v in f["allowed_values"]}
lines = ["{", '"source": %s,' % json.dumps(out["source"]),
         '"licence": %s,' % json.dumps(out["licence"]),
         '"version": %s,' % json.dumps(out["version"]),
         '"allowed_values": %s,' % json.dumps(out["allowed_values"], sort_keys=True),
         '"fields": {']
items = ["%s: %s" % (json.dumps(k), json.dumps(v)) for k, v in out["fields"].items()]
lines.append(",\n".join(items))
lines.append("}}")
print("\n".join(lines))
