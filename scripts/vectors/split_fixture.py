#!/usr/bin/env python3
"""Files vector cases by provider: reads a list of cases, or {"how": ..., "cases": [...]},
on stdin and merges each case into tests/fixtures/providers/<scheme>.json (the registry's
name), replacing a case with the same id. Each file's `how` lists every script that wrote
to it. The fixture scripts pipe into it, e.g.:

    python3 scripts/vectors/computed_mailgun.py | python3 scripts/vectors/split_fixture.py
"""
import json
import os
import sys

DIR = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "providers")

data = json.load(sys.stdin)
cases = data["cases"] if isinstance(data, dict) else data
how = data.get("how") if isinstance(data, dict) else None
how = sys.argv[1] if len(sys.argv) > 1 else how
if not how:
    sys.exit("split_fixture.py: say how the cases were made (a `how` field or the first argument)")

by_scheme = {}
for case in cases:
    by_scheme.setdefault(case["scheme"], []).append(case)
for scheme, new in by_scheme.items():
    path = os.path.join(DIR, f"{scheme}.json")
    old = {"how": "", "cases": []}
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
    ids = {c["id"] for c in new}
    kept = [c for c in old["cases"] if c["id"] not in ids]
    hows = [h for h in old["how"].split("\n") if h] if old["how"] else []
    if how not in hows:
        hows.append(how)
    with open(path, "w") as f:
        json.dump({"how": "\n".join(hows), "cases": kept + new}, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{path}: {len(kept) + len(new)} cases", file=sys.stderr)
