"""Checks the deploy files the way the tools that apply them would trip over them, without a
cluster, a Docker engine or systemd running, and the way an ops review would reject them.

  k8s_check.py MANIFEST.yaml          a Kubernetes manifest
  k8s_check.py --compose COMPOSE.yaml a compose file (and the gateway.json it mounts)
  k8s_check.py --systemd UNIT CONFIG  a systemd unit and the gateway.json it is shipped with

Kubernetes: every document parses as YAML (PyYAML), and every name a workload refers to exists
(ConfigMap, volume or claim template, container port named by a probe, Service or
NetworkPolicy); a Secret is never applied from the file (no placeholder token to overwrite the
real one) and a secretRef counts as existing only when the file says how to create it
(`kubectl create secret generic NAME`). The ConfigMap's gateway.json keeps the admin listener on
loopback with a token, declares no container port for it, serves metrics on `metrics_listen`,
which the pod's prometheus.io annotations and a NetworkPolicy (metrics only from the
`monitoring` namespace) agree with, and the grace period covers drain_delay + drain_timeout_ms
plus a margin. Images carry a version tag, never :latest.

Prints one summary line per workload (`Kind name replicas=N readiness=PATH liveness=PATH
mounts=a:/p,... image=I grace=S drain=S metrics=PORT admin=ADDR`), one per NetworkPolicy rule,
and exits 1 with the problems on stderr."""
import json
import re
import sys

import yaml

MARGIN = 5   # seconds a grace period must leave beyond drain_delay + drain_timeout_ms
SECRET_WORDS = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE", re.I)
problems = []


def problem(msg):
    problems.append(msg)


def duration_seconds(text, where):
    """Rampart's spelling: a positive integer and ms, s, m, h or d."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(text))
    if not m:
        problem(f"{where}: {text!r} is not a duration")
        return 0.0
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def go_duration_seconds(text, where):
    """Docker's spelling (`30s`, `1m30s`) or systemd's (`30`, `30s`, `1min 30s`)."""
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        return float(text)
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+)\s*(ms|sec|min|s|m|h)", text)
    if not parts or re.sub(r"[\d\s]*(ms|sec|min|s|m|h)", "", text):
        problem(f"{where}: {text!r} is not a duration")
        return 0.0
    return sum(int(n) * units[u] for n, u in parts)


def host_port(addr):
    host, _, port = str(addr).rpartition(":")
    return host.strip("[]"), int(port)


def is_loopback(host):
    return host in ("localhost", "::1") or host.startswith("127.")


def check_gateway(cfg, where, admin_may_listen_wide=False):
    """The deploy rules for a shipped gateway.json. Returns (drain seconds, metrics port,
    admin listen address, admin port, main port)."""
    server = cfg.get("server", {})
    admin = cfg.get("admin") or {}
    drain = duration_seconds(server.get("drain_delay", "5s"), f"{where} server.drain_delay") \
        + int(server.get("drain_timeout_ms", 15000)) / 1000
    if "drain_delay" not in server:
        problem(f"{where}: server.drain_delay is not set; state it, the grace period is derived from it")
    listen = admin.get("listen", "127.0.0.1:9901")
    admin_host, admin_port = host_port(listen) if listen else (None, None)
    if admin.get("insecure_no_auth"):
        problem(f"{where}: admin.insecure_no_auth is set in a shipped config")
    if listen and not (admin.get("token_env") or admin.get("token_file")):
        problem(f"{where}: the admin API has no token_env or token_file")
    if listen and not is_loopback(admin_host) and not admin_may_listen_wide:
        problem(f"{where}: admin.listen {listen} is not loopback")
    metrics = admin.get("metrics_listen")
    metrics_port = None
    if not metrics:
        problem(f"{where}: admin.metrics_listen is not set, so Prometheus would need the admin token")
    else:
        metrics_port = host_port(metrics)[1]
        if metrics_port == admin_port:
            problem(f"{where}: metrics_listen shares the admin port")
    for secret_key in ("token", "password", "secret"):
        for section in (admin, cfg.get("store", {})):
            if secret_key in section:
                problem(f"{where}: a literal {secret_key} in the config; name an env var or a file")
    main_port = host_port(server.get("listen", "0.0.0.0:8080"))[1]
    return drain, metrics_port, listen, admin_port, main_port


def check_image(image, where):
    tag = image.split("/")[-1].partition(":")[2]
    if not tag or tag == "latest":
        problem(f"{where}: image {image} has no version tag (or :latest)")


def check_kubernetes(path):
    text = open(path).read()
    docs = [d for d in yaml.safe_load_all(text) if d]
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    created_out_of_band = set(re.findall(r"kubectl create secret generic ([a-z0-9.-]+)", text))
    print("kinds", sorted(d["kind"] for d in docs))
    configs = {}
    for d in docs:
        if d["kind"] == "Secret":
            if d.get("data") or d.get("stringData"):
                problem(f"Secret {d['metadata']['name']}: applied with literal data; create it out of band")
        if d["kind"] == "ConfigMap" and "gateway.json" in d.get("data", {}):
            try:
                configs[d["metadata"]["name"]] = json.loads(d["data"]["gateway.json"])
            except ValueError as e:
                problem(f"ConfigMap {d['metadata']['name']}: gateway.json is not JSON: {e}")
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    for d in workloads:
        name = d["metadata"]["name"]
        spec = d["spec"]
        template = spec["template"]
        pod = template["spec"]
        if not spec["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items():
            problem(f"{name}: selector does not match the pod labels")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        gateway = None
        for v in volumes.values():
            if "configMap" in v:
                if ("ConfigMap", v["configMap"]["name"]) not in names:
                    problem(f"volume {v['name']}: no ConfigMap {v['configMap']['name']}")
                gateway = configs.get(v["configMap"]["name"], gateway)
        for c in pod["containers"]:
            check_image(c["image"], f"{name}/{c['name']}")
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            for ref in c.get("envFrom", []):
                if "secretRef" in ref:
                    sname = ref["secretRef"]["name"]
                    if ("Secret", sname) not in names and sname not in created_out_of_band:
                        problem(f"{c['name']}: no Secret {sname}, and the file does not say how to create it")
                if "configMapRef" in ref and ("ConfigMap", ref["configMapRef"]["name"]) not in names:
                    problem(f"{c['name']}: no ConfigMap {ref['configMapRef']['name']}")
            for e in c.get("env", []):
                if "value" in e and SECRET_WORDS.search(e["name"]):
                    problem(f"{c['name']}: env {e['name']} holds a literal secret")
            mounts = []
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes and m["name"] not in claims:
                    problem(f"{c['name']}: mount {m['name']} has no volume")
                mounts.append(f"{m['name']}:{m['mountPath']}")
            probes = {}
            for kind in ("readinessProbe", "livenessProbe"):
                p = c.get(kind)
                if p is None:
                    continue
                port = p["httpGet"]["port"]
                if isinstance(port, str) and port not in ports:
                    problem(f"{c['name']}: {kind} names port {port}, not declared")
                probes[kind] = p["httpGet"]["path"]
            summary = [d["kind"], name, f"replicas={spec.get('replicas', 1)}",
                       f"readiness={probes.get('readinessProbe')}", f"liveness={probes.get('livenessProbe')}",
                       "mounts=" + ",".join(mounts), f"image={c['image']}"]
            if c["name"] == "rampart":
                if gateway is None:
                    problem(f"{name}: mounts no ConfigMap with a gateway.json")
                else:
                    drain, metrics_port, admin_listen, admin_port, main_port = check_gateway(gateway, f"{name} gateway.json")
                    grace = pod.get("terminationGracePeriodSeconds", 30)
                    if grace < drain + MARGIN:
                        problem(f"{name}: terminationGracePeriodSeconds {grace} < drain_delay + drain_timeout_ms "
                                f"({drain:g} s) + {MARGIN} s")
                    if admin_port in ports.values() or "admin" in ports:
                        problem(f"{name}: declares a container port for the admin listener")
                    if ports.get("http") != main_port:
                        problem(f"{name}: port http {ports.get('http')} is not server.listen's {main_port}")
                    if ports.get("metrics") != metrics_port:
                        problem(f"{name}: port metrics {ports.get('metrics')} is not metrics_listen's {metrics_port}")
                    ann = template["metadata"].get("annotations", {})
                    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics" \
                            or ann.get("prometheus.io/port") != str(metrics_port):
                        problem(f"{name}: prometheus.io annotations {ann} do not point at /metrics on {metrics_port}")
                    summary += [f"grace={grace}", f"drain={drain:g}", f"metrics={metrics_port}", f"admin={admin_listen}"]
            print(*summary)
    for d in docs:
        if d["kind"] == "Service":
            sel = d["spec"]["selector"]
            selected = [w for w in workloads if sel.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
            if not selected:
                problem(f"Service {d['metadata']['name']}: selects no workload")
            for p in d["spec"]["ports"]:
                target = p.get("targetPort", p["port"])
                declared = {q.get("name"): q["containerPort"] for w in selected
                            for c in w["spec"]["template"]["spec"]["containers"] for q in c.get("ports", [])}
                if isinstance(target, str) and target not in declared:
                    problem(f"Service {d['metadata']['name']}: targetPort {target} is not a container port")
                if target in ("admin", "metrics") or target == 9901:
                    problem(f"Service {d['metadata']['name']}: exposes {target} cluster-wide")
    for w in workloads:
        if not any(c["name"] == "rampart" for c in w["spec"]["template"]["spec"]["containers"]):
            continue
        check_network_policy(docs, w)


def check_network_policy(docs, w):
    """A NetworkPolicy selects the Rampart pods: http from anywhere, metrics only from the
    monitoring namespace, nothing else."""
    labels = w["spec"]["template"]["metadata"]["labels"]
    ports = {p.get("name"): p["containerPort"] for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"
                and d["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()]
    name = w["metadata"]["name"]
    if not policies:
        problem(f"{name}: no NetworkPolicy selects its pods")
        return
    admitted = {}
    for pol in policies:
        if "Ingress" not in pol["spec"].get("policyTypes", ["Ingress"]):
            problem(f"NetworkPolicy {pol['metadata']['name']}: does not govern ingress")
        for rule in pol["spec"].get("ingress", []):
            if not rule.get("ports"):
                problem(f"NetworkPolicy {pol['metadata']['name']}: a rule admits every port")
                continue
            sources = rule.get("from")
            if sources is None:
                who = "anywhere"
            else:
                who = ",".join("namespace " + s["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name", "?")
                               if list(s) == ["namespaceSelector"] else "other" for s in sources)
            for p in rule["ports"]:
                port = p["port"]
                if isinstance(port, str) and port not in ports:
                    problem(f"NetworkPolicy {pol['metadata']['name']}: port {port} is no container port of {name}")
                key = port if isinstance(port, str) else next((n for n, v in ports.items() if v == port), str(port))
                admitted[key] = who
                print(f"NetworkPolicy {pol['metadata']['name']} {key} from {who}")
    if admitted.get("http") != "anywhere":
        problem(f"{name}: the NetworkPolicy does not admit http from anywhere")
    if admitted.get("metrics") != "namespace monitoring":
        problem(f"{name}: metrics is admitted from {admitted.get('metrics')}, not only the monitoring namespace")
    extra = set(admitted) - {"http", "metrics"}
    if extra:
        problem(f"{name}: the NetworkPolicy admits more ports: {sorted(extra)}")


def parse_compose_port(spec):
    """"[host_ip:]host_port:container_port" → (host_ip or None, host_port, container_port)."""
    parts = str(spec).split("/")[0].split(":")
    if len(parts) == 3:
        return parts[0], int(parts[1]), int(parts[2])
    if len(parts) == 2:
        return None, int(parts[0]), int(parts[1])
    return None, None, int(parts[0])


def check_compose(path):
    import os
    compose = yaml.safe_load(open(path))
    services = compose["services"]
    print("services", sorted(services))
    for sname, s in services.items():
        deps = s.get("depends_on", [])
        for dep in (deps if isinstance(deps, list) else deps.keys()):
            if dep not in services:
                problem(f"service {sname}: depends on {dep}, not a service")
        if "image" in s and "build" not in s:
            check_image(s["image"], f"service {sname}")
        env = s.get("environment", {})
        items = env.items() if isinstance(env, dict) else [tuple((e.split("=", 1) + [""])[:2]) for e in env]
        for k, v in items:
            if SECRET_WORDS.search(k) and not re.fullmatch(r"\$\{" + re.escape(k) + r":\?[^}]+\}", str(v or "")):
                problem(f"service {sname}: {k} is {v!r}; make it a required variable ${{{k}:?...}}")
        for vol in s.get("volumes", []):
            src = str(vol).split(":")[0]
            if src.startswith(".") and not os.path.exists(os.path.join(os.path.dirname(path), src)):
                problem(f"service {sname}: mounts {src}, which does not exist")
    r = services.get("rampart")
    if r is None:
        problem("no rampart service")
    else:
        mount = next((str(v).split(":")[0] for v in r.get("volumes", []) if ":/etc/rampart/gateway.json" in str(v)), None)
        if mount is None:
            problem("rampart: no gateway.json mounted at /etc/rampart/gateway.json")
        else:
            cfg = json.load(open(os.path.join(os.path.dirname(path), mount)))
            drain, metrics_port, admin_listen, admin_port, main_port = check_gateway(cfg, mount, admin_may_listen_wide=True)
            published = {}
            for spec in r.get("ports", []):
                host_ip, _, container_port = parse_compose_port(spec)
                published[container_port] = host_ip
                if container_port in (admin_port, metrics_port) and not (host_ip and is_loopback(host_ip)):
                    problem(f"rampart: port {container_port} is published beyond the host's loopback ({spec})")
            if admin_listen and not is_loopback(host_port(admin_listen)[0]) and admin_port not in published:
                problem(f"rampart: admin listens on {admin_listen} but is not published on loopback")
            if main_port not in published:
                problem(f"rampart: server port {main_port} is not published")
            grace = go_duration_seconds(r.get("stop_grace_period", "10s"), "rampart stop_grace_period")
            if grace < drain + MARGIN:
                problem(f"rampart: stop_grace_period {grace:g} s < drain_delay + drain_timeout_ms ({drain:g} s) + {MARGIN} s")
            for name, u in cfg.get("upstreams", {}).items():
                host = re.sub(r"^https?://", "", u["url"]).split("/")[0].rsplit(":", 1)[0]
                if host not in services:
                    problem(f"upstream {name}: {host} is not a compose service")
            store_host = re.sub(r"^rediss?://", "", cfg.get("store", {}).get("url", "redis://redis:6379")).split("/")[0].rsplit(":", 1)[0]
            if cfg.get("store", {}).get("kind") == "redis" and store_host not in services:
                problem(f"store.url: {store_host} is not a compose service")
            print("rampart", "ports=" + ",".join(f"{published[p] or '*'}:{p}" for p in sorted(published)),
                  f"grace={grace:g}", f"drain={drain:g}", f"metrics={metrics_port}", f"admin={admin_listen}",
                  "upstreams=" + ",".join(u["url"] for u in cfg.get("upstreams", {}).values()))


def check_systemd(unit_path, config_path):
    unit_name = unit_path.rsplit("/", 1)[-1]
    keys = {}
    section = None
    for raw in open(unit_path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        keys.setdefault((section, k.strip()), []).append(v.strip())
    service = lambda k: keys.get(("Service", k), [])
    cfg = json.load(open(config_path))
    drain, metrics_port, admin_listen, admin_port, main_port = check_gateway(cfg, config_path)
    grace = go_duration_seconds((service("TimeoutStopSec") or ["90"])[-1], "TimeoutStopSec")
    if grace < drain + MARGIN:
        problem(f"TimeoutStopSec {grace:g} < drain_delay + drain_timeout_ms ({drain:g} s) + {MARGIN} s")
    if service("DynamicUser") != ["yes"]:
        problem("the unit does not run as a DynamicUser")
    credentials = dict(v.split(":", 1) for v in service("LoadCredential"))
    token_file = cfg.get("admin", {}).get("token_file")
    expected = {f"/run/credentials/{unit_name}/{cid}" for cid in credentials}
    if not credentials:
        problem("no LoadCredential=: the dynamic user cannot read a root-owned token file")
    if token_file not in expected:
        problem(f"admin.token_file {token_file} is none of the unit's credentials {sorted(expected)}")
    if cfg.get("admin", {}).get("token_env"):
        problem("admin.token_env in the systemd config: pass the token as a credential")
    if not any(" check --config " in v for v in service("ExecStartPre")):
        problem("no ExecStartPre=rampart check")
    for k in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "StateDirectory"):
        if not service(k):
            problem(f"the unit lost {k}=")
    print(unit_name, f"credentials={','.join(sorted(credentials))}", f"token_file={token_file}",
          f"grace={grace:g}", f"drain={drain:g}", f"metrics={metrics_port}", f"admin={admin_listen}")


if __name__ == "__main__":
    if sys.argv[1] == "--compose":
        check_compose(sys.argv[2])
    elif sys.argv[1] == "--systemd":
        check_systemd(sys.argv[2], sys.argv[3])
    else:
        check_kubernetes(sys.argv[1])
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
