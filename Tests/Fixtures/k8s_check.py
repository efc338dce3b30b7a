"""Checks a Kubernetes manifest the way `kubectl apply` would trip over it, without a cluster:
every document parses as YAML, and every name a workload refers to exists (Secret, ConfigMap,
volume or claim template, container port named by a probe). Prints a one-line summary per workload
`Kind name replicas=N readiness=PATH liveness=PATH mounts=a:/p,...` and exits 1 on a dangling name."""
import sys
import yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
names = {(d["kind"], d["metadata"]["name"]) for d in docs}
problems = []
print("kinds", sorted(d["kind"] for d in docs))
for d in docs:
    if d["kind"] not in ("Deployment", "StatefulSet"):
        continue
    spec = d["spec"]
    pod = spec["template"]["spec"]
    if not spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items():
        problems.append(f"{d['metadata']['name']}: selector does not match the pod labels")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    for v in volumes.values():
        if "configMap" in v and ("ConfigMap", v["configMap"]["name"]) not in names:
            problems.append(f"volume {v['name']}: no ConfigMap {v['configMap']['name']}")
    for c in pod["containers"]:
        ports = {p.get("name") for p in c.get("ports", [])}
        for ref in c.get("envFrom", []):
            if "secretRef" in ref and ("Secret", ref["secretRef"]["name"]) not in names:
                problems.append(f"{c['name']}: no Secret {ref['secretRef']['name']}")
        mounts = []
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes and m["name"] not in claims:
                problems.append(f"{c['name']}: mount {m['name']} has no volume")
            mounts.append(f"{m['name']}:{m['mountPath']}")
        probes = {}
        for kind in ("readinessProbe", "livenessProbe"):
            p = c.get(kind)
            if p is None:
                continue
            port = p["httpGet"]["port"]
            if isinstance(port, str) and port not in ports:
                problems.append(f"{c['name']}: {kind} names port {port}, not declared")
            probes[kind] = p["httpGet"]["path"]
        print(d["kind"], d["metadata"]["name"], f"replicas={spec.get('replicas', 1)}",
              f"readiness={probes.get('readinessProbe')}", f"liveness={probes.get('livenessProbe')}",
              "mounts=" + ",".join(mounts))
for d in docs:
    if d["kind"] == "Service":
        sel = d["spec"]["selector"]
        if not any(w["kind"] in ("Deployment", "StatefulSet") and sel.items() <= w["spec"]["template"]["metadata"]["labels"].items() for w in docs):
            problems.append(f"Service {d['metadata']['name']}: selects no workload")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
