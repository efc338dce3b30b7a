"""Parses a Prometheus text exposition from stdin with prometheus_client's own parser and checks
the naming rules Rampart promises: `rampart_` prefix (or the standard `process_` family every
Prometheus client exports), `_total` counters, `_seconds` histograms,
HELP on every family, and no label that could carry a user id. Prints one JSON object:
{"types": {family: type}, "samples": [[name, {labels}, value], ...]}; exits 1 on any violation."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

FORBIDDEN_LABELS = {"user", "user_id", "identity", "key", "ip", "client"}
MAX_SERIES_PER_FAMILY = 200

text = sys.stdin.read()
problems = []
types, samples = {}, []
try:
    families = list(text_string_to_metric_families(text))
except Exception as e:  # the parser's own message names the bad line
    print(f"not valid Prometheus text format: {e}", file=sys.stderr)
    sys.exit(1)

for fam in families:
    types[fam.name] = fam.type
    if not fam.name.startswith(("rampart_", "process_")):
        problems.append(f"{fam.name}: missing the rampart_ prefix")
    if not fam.documentation:
        problems.append(f"{fam.name}: no HELP text")
    if fam.type == "histogram" and not fam.name.endswith("_seconds"):
        problems.append(f"{fam.name}: histograms measure seconds and end in _seconds")
    if len(fam.samples) > MAX_SERIES_PER_FAMILY:
        problems.append(f"{fam.name}: {len(fam.samples)} series, the label set is not bounded")
    for s in fam.samples:
        if fam.type == "counter" and not s.name.endswith("_total"):
            problems.append(f"{s.name}: a counter sample must end in _total")
        bad = FORBIDDEN_LABELS.intersection(s.labels)
        if bad:
            problems.append(f"{s.name}: label {sorted(bad)} could carry a user id")
        samples.append([s.name, s.labels, s.value])

# The exposition must declare counters with TYPE counter under their _total-less family name.
for line in text.splitlines():
    if line.startswith("# TYPE ") and line.split()[3] == "counter" and not line.split()[2].endswith("_total"):
        problems.append(f"{line}: counter names end in _total")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(json.dumps({"types": types, "samples": samples}))
