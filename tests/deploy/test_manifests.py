"""Structural checks of the deployment files: Dockerfile, deploy/ (compose, nginx, Prometheus,
Grafana, Kubernetes), Procfile.dist and bin/run-distributed.

Plain functions: no database, no Django settings. What these tests cannot do (build or run an
image, start the compose stack or a cluster) is listed in docs/operations.md, section "What was
validated here and what was not".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
DASHBOARD = DEPLOY / "grafana" / "im-dashboard.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"

# Kubernetes version the manifests are validated against (schemas bundled by kubernetes-validate).
K8S_VERSION = "1.30.0"

# The metrics the application exports (docs/api.md section 7, issue 7). Histograms are queried through their
# _bucket/_sum/_count series; django-prometheus counters are exposed with a _total suffix.
IM_METRICS = {
    "im_connections_open",
    "im_frames_in_total",
    "im_frames_out_total",
    "im_errors_total",
    "im_messages_stored_total",
    "im_push_retries_total",
    "im_delivery_seconds",
    "im_ack_seconds",
    "im_pending_acks",
    "im_celery_queue_length",
}
DJANGO_METRICS = {
    "django_http_requests_total_by_view_transport_method",
    "django_http_responses_total_by_status",
    "django_http_requests_latency_seconds_by_view_method",
}
METRIC_RE = re.compile(r"(?<![A-Za-z0-9_:])((?:im|django)_[A-Za-z0-9_]+)")


# --- helpers -----------------------------------------------------------------------------------------


def load_yaml_docs(path: Path) -> list:
    with path.open() as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def k8s_objects() -> list[dict]:
    objs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_yaml_docs(path):
            doc["__file__"] = path.name
            objs.append(doc)
    return objs


def by_kind(kind: str) -> list[dict]:
    return [o for o in k8s_objects() if o["kind"] == kind]


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def containers(obj: dict) -> list[dict]:
    return pod_spec(obj)["containers"]


def is_daphne(container: dict) -> bool:
    return "daphne" in (container.get("command") or []) + (container.get("args") or [])


def compose() -> dict:
    return load_yaml_docs(COMPOSE_FILE)[0]


_INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose-style ${VAR:-default} with the defaults (the environment is ignored on purpose)."""
    prev = None
    while prev != value:
        prev, value = value, _INTERP.sub(lambda m: m.group(2) or "", value)
    return value


def compose_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolate(str(v)) for k, v in env.items()}


def metric_names(expr: str) -> set[str]:
    return set(METRIC_RE.findall(expr))


def known_metric(name: str) -> bool:
    candidates = {name}
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            candidates.add(name[: -len(suffix)])
    for cand in list(candidates):
        if cand.endswith("_total"):
            candidates.add(cand[: -len("_total")])
    if any(c in IM_METRICS or c in DJANGO_METRICS for c in candidates):
        return True
    return name.startswith("django_db_")


def nginx_blocks(conf: str, keyword: str) -> dict[str, str]:
    """Body of every `keyword <name> { ... }` block (no nested braces inside these blocks)."""
    return {m.group(1).strip(): m.group(2) for m in re.finditer(keyword + r"\s+([^{]+?)\s*\{([^{}]*)\}", conf)}


def procfile() -> dict[str, str]:
    procs = {}
    for line in (ROOT / "Procfile.dist").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if m:
            procs[m.group(1)] = m.group(2)
    return procs


# --- every YAML file ----------------------------------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_every_yaml_file_in_deploy_parses():
    files = yaml_files()
    assert len(files) >= 15, files
    for path in files:
        docs = load_yaml_docs(path)
        assert docs, f"{path} is empty"
        assert all(isinstance(d, dict) for d in docs), path


# --- Kubernetes ---------------------------------------------------------------------------------------


def test_kustomization_lists_exactly_the_manifests():
    kust = load_yaml_docs(K8S / "kustomization.yaml")[0]
    listed = set(kust["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert kust["namespace"] == "im"
    assert [img["name"] for img in kust["images"]] == ["im"]


def test_k8s_objects_live_in_the_declared_namespace():
    namespaces = {o["metadata"]["name"] for o in by_kind("Namespace")}
    assert namespaces == {"im"}
    for obj in k8s_objects():
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "im", obj["metadata"]["name"]


def test_expected_k8s_objects_exist():
    kinds = {(o["kind"], o["metadata"]["name"]) for o in k8s_objects()}
    for expected in [
        ("Deployment", "im-daphne"),
        ("Deployment", "im-worker"),
        ("Deployment", "im-beat"),
        ("Job", "im-migrate"),
        ("Service", "im-daphne"),
        ("Ingress", "im-ws"),
        ("HorizontalPodAutoscaler", "im-daphne"),
        ("PodDisruptionBudget", "im-daphne"),
        ("ConfigMap", "im-config"),
        ("Secret", "im-secrets"),
    ]:
        assert expected in kinds, expected


def test_daphne_deployments_have_readiness_liveness_and_drain():
    daphne_containers = 0
    for dep in by_kind("Deployment"):
        for c in containers(dep):
            if not is_daphne(c):
                continue
            daphne_containers += 1
            port_names = {p.get("name") for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
            ready, live = c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]
            assert ready["path"] == "/readyz", dep["metadata"]["name"]
            assert live["path"] == "/healthz", dep["metadata"]["name"]
            assert ready["port"] in port_names and live["port"] in port_names
            # The port daphne listens on is the port the probes hit.
            cmd = c["command"]
            assert str(cmd[cmd.index("-p") + 1]) in {str(p["containerPort"]) for p in c["ports"]}
            assert "imsite.asgi:application" in cmd
            sleep = c["lifecycle"]["preStop"]["exec"]["command"]
            assert sleep[0] == "sleep" and int(sleep[1]) > 0
            assert pod_spec(dep)["terminationGracePeriodSeconds"] > int(sleep[1])
    assert daphne_containers >= 1


def test_daphne_node_name_from_downward_api_and_public_ws_url():
    dep = next(d for d in by_kind("Deployment") if d["metadata"]["name"] == "im-daphne")
    (c,) = containers(dep)
    env = {e["name"]: e for e in c["env"]}
    assert env["IM_NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "IM_PUBLIC_WS_URL" in env
    cm = by_kind("ConfigMap")[0]["data"]
    assert re.match(r"^wss?://[^/]+/ws$", cm["IM_PUBLIC_WS_URL"])


def test_every_pod_runs_as_non_root_with_the_one_image():
    kust = load_yaml_docs(K8S / "kustomization.yaml")[0]
    image = kust["images"][0]["name"]
    for obj in by_kind("Deployment") + by_kind("Job"):
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        assert spec["securityContext"]["runAsUser"] != 0
        for c in spec["containers"]:
            assert c["image"] == image, obj["metadata"]["name"]
            assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_role_commands_follow_the_api_reference():
    cmds = {}
    for obj in by_kind("Deployment") + by_kind("Job"):
        cmds[obj["metadata"]["name"]] = " ".join(containers(obj)[0]["command"])
    assert cmds["im-daphne"].startswith("daphne -b 0.0.0.0 -p 8000")
    assert cmds["im-worker"].startswith("celery -A imsite worker")
    assert cmds["im-beat"].startswith("celery -A imsite beat")
    assert "manage.py migrate" in cmds["im-migrate"] and "manage.py migrate_shards" in cmds["im-migrate"]


def test_beat_is_a_single_recreated_replica():
    beat = next(d for d in by_kind("Deployment") if d["metadata"]["name"] == "im-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert "im-beat" not in {h["spec"]["scaleTargetRef"]["name"] for h in by_kind("HorizontalPodAutoscaler")}


def test_hpa_targets_the_daphne_deployment_by_its_real_name():
    deployments = {d["metadata"]["name"]: d for d in by_kind("Deployment")}
    (hpa,) = by_kind("HorizontalPodAutoscaler")
    ref = hpa["spec"]["scaleTargetRef"]
    assert ref["kind"] == "Deployment" and ref["apiVersion"] == "apps/v1"
    assert ref["name"] in deployments
    assert any(is_daphne(c) for c in containers(deployments[ref["name"]]))
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert hpa["spec"]["minReplicas"] >= 2
    # Every daphne container asks for CPU, or a CPU utilisation target means nothing.
    for c in containers(deployments[ref["name"]]):
        assert c["resources"]["requests"]["cpu"]


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_selectors_service_pdb_and_ingress_are_wired():
    daphne = next(d for d in by_kind("Deployment") if d["metadata"]["name"] == "im-daphne")
    labels = daphne["spec"]["template"]["metadata"]["labels"]
    assert _selects(daphne["spec"]["selector"]["matchLabels"], labels)
    (svc,) = by_kind("Service")
    assert _selects(svc["spec"]["selector"], labels)
    port_names = {p["name"] for p in containers(daphne)[0]["ports"]}
    assert all(p["targetPort"] in port_names for p in svc["spec"]["ports"])
    (pdb,) = by_kind("PodDisruptionBudget")
    assert _selects(pdb["spec"]["selector"]["matchLabels"], labels)
    svc_ports = {p["name"] for p in svc["spec"]["ports"]} | {p["port"] for p in svc["spec"]["ports"]}
    for ing in by_kind("Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == svc["metadata"]["name"]
                assert backend["port"].get("name", backend["port"].get("number")) in svc_ports


def test_ws_ingress_is_sticky_with_long_timeouts():
    ws = [
        i for i in by_kind("Ingress") if any(p["path"] == "/ws" for r in i["spec"]["rules"] for p in r["http"]["paths"])
    ]
    assert len(ws) == 1
    ann = ws[0]["metadata"]["annotations"]
    key = ann["nginx.ingress.kubernetes.io/upstream-hash-by"]
    assert "$arg_access_token" in key and "$cookie_sessionid" in key
    assert int(ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(ann["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    # The hash applies to its whole Ingress: ordinary HTTP must be in another one.
    for other in by_kind("Ingress"):
        if other["metadata"]["name"] != ws[0]["metadata"]["name"]:
            assert "nginx.ingress.kubernetes.io/upstream-hash-by" not in (other["metadata"].get("annotations") or {})


def test_env_references_resolve_to_configmap_and_secret_keys():
    cms = {c["metadata"]["name"]: set((c.get("data") or {}).keys()) for c in by_kind("ConfigMap")}
    secrets = {
        s["metadata"]["name"]: set((s.get("stringData") or {}).keys()) | set((s.get("data") or {}).keys())
        for s in by_kind("Secret")
    }
    checked = 0
    for obj in by_kind("Deployment") + by_kind("Job"):
        for c in containers(obj):
            defined: set[str] = set()
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    assert src["configMapRef"]["name"] in cms
                    defined |= cms[src["configMapRef"]["name"]]
                if "secretRef" in src:
                    assert src["secretRef"]["name"] in secrets
                    defined |= secrets[src["secretRef"]["name"]]
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                if "configMapKeyRef" in vf:
                    ref = vf["configMapKeyRef"]
                    assert ref["key"] in cms[ref["name"]], (obj["metadata"]["name"], ref)
                    checked += 1
                if "secretKeyRef" in vf:
                    ref = vf["secretKeyRef"]
                    assert ref["key"] in secrets[ref["name"]], (obj["metadata"]["name"], ref)
                    checked += 1
                # $(VAR) expands only variables defined before it.
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value", "")):
                    assert var in defined, (obj["metadata"]["name"], e["name"], var)
                defined.add(e["name"])
            # What the application needs to reach its databases and Redis.
            for needed in ("DATABASE_URL", "IM_MESSAGE_SHARDS", "REDIS_URL", "DJANGO_SECRET_KEY"):
                assert needed in defined, (obj["metadata"]["name"], needed)
    assert checked >= 3


def test_secret_holds_only_marked_placeholders():
    (secret,) = by_kind("Secret")
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, key


def test_pvc_is_shared_by_daphne_and_workers():
    (pvc,) = by_kind("PersistentVolumeClaim")
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]
    for name in ("im-daphne", "im-worker"):
        dep = next(d for d in by_kind("Deployment") if d["metadata"]["name"] == name)
        claims = {v["persistentVolumeClaim"]["claimName"] for v in pod_spec(dep)["volumes"]}
        assert pvc["metadata"]["name"] in claims


def test_k8s_manifests_match_the_kubernetes_json_schemas():
    kv = pytest.importorskip(
        "kubernetes_validate",
        reason="kubernetes-validate (offline Kubernetes JSON schemas) is not installed; see requirements-dev.txt",
    )
    objs = k8s_objects()
    assert objs
    for obj in objs:
        name = f"{obj.pop('__file__')}: {obj['kind']}/{obj['metadata']['name']}"
        try:
            kv.validate(obj, K8S_VERSION, strict=True)
        except kv.ValidationError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{name}: {exc.message}")


# --- compose ------------------------------------------------------------------------------------------

APP_SERVICES = ("migrate", "daphne1", "daphne2", "worker", "beat")


def test_compose_has_every_service():
    services = compose()["services"]
    for name in ("postgres", "redis", "proxy", "prometheus", "grafana") + APP_SERVICES:
        assert name in services, name


def test_compose_app_services_share_one_image_built_from_the_dockerfile():
    services = compose()["services"]
    images = {interpolate(services[s]["image"]) for s in APP_SERVICES}
    assert len(images) == 1, images
    for s in APP_SERVICES:
        build = services[s]["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT
        assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_compose_commands_and_node_settings():
    services = compose()["services"]
    names, urls = set(), set()
    for node in ("daphne1", "daphne2"):
        svc = services[node]
        cmd = svc["command"]
        assert cmd[0] == "daphne" and cmd[-1] == "imsite.asgi:application"
        env = compose_env(svc)
        names.add(env["IM_NODE_NAME"])
        urls.add(env["IM_PUBLIC_WS_URL"])
        assert node in env["DJANGO_ALLOWED_HOSTS"].split(","), "Prometheus scrapes the node by this name"
    assert len(names) == 2 and len(urls) == 2
    assert services["worker"]["command"][:4] == ["celery", "-A", "imsite", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "imsite", "beat"]
    migrate = " ".join(services["migrate"]["command"])
    assert "manage.py migrate " in migrate and "manage.py migrate_shards" in migrate
    for s in ("daphne1", "daphne2", "worker", "beat"):
        assert services[s]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "beat" not in [s for s, v in services.items() if (v.get("deploy") or {}).get("replicas", 1) > 1]


def test_compose_databases_match_the_postgres_init():
    services = compose()["services"]
    env = compose_env(services["daphne1"])
    main_db = env["DATABASE_URL"].rsplit("/", 1)[1]
    shard_dbs = {u.rsplit("/", 1)[1] for u in env["IM_MESSAGE_SHARDS"].split(",")}
    assert len(shard_dbs) == 2
    assert compose_env(services["postgres"])["POSTGRES_DB"] == main_db
    init_sql = ""
    for vol in services["postgres"]["volumes"]:
        src = vol.split(":")[0]
        if src.startswith("."):
            assert (DEPLOY / src).exists(), src
            if "docker-entrypoint-initdb.d" in vol:
                init_sql += (DEPLOY / src).read_text()
    created = set(re.findall(r"CREATE DATABASE\s+(\w+)", init_sql, re.I))
    assert created == shard_dbs
    for s in APP_SERVICES:
        assert compose_env(services[s])["IM_MESSAGE_SHARDS"] == env["IM_MESSAGE_SHARDS"]
        assert compose_env(services[s])["REDIS_URL"] == "redis://redis:6379/0"


def test_compose_bind_mounts_exist():
    for name, svc in compose()["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                assert (DEPLOY / src).exists(), (name, src)


def test_prometheus_scrapes_every_daphne_node_and_loads_the_alerts():
    services = compose()["services"]
    prom = load_yaml_docs(PROMETHEUS)[0]
    targets = {
        t
        for job in prom["scrape_configs"]
        if job["job_name"] == "im-daphne"
        for sc in job["static_configs"]
        for t in sc["targets"]
    }
    assert targets == {"daphne1:8000", "daphne2:8000"}
    assert all(t.split(":")[0] in services for t in targets)
    mounts = dict(v.split(":")[:2][::-1] for v in services["prometheus"]["volumes"] if v.startswith("."))
    for rule_file in prom["rule_files"]:
        assert mounts[rule_file] == "./prometheus/alerts.yml"


def test_grafana_provisioning_points_at_the_dashboard():
    services = compose()["services"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"] if v.startswith(".")}
    provider = load_yaml_docs(DEPLOY / "grafana/provisioning/dashboards/im.yaml")[0]["providers"][0]
    dash_dir = provider["options"]["path"]
    assert any(
        target.startswith(dash_dir + "/") and src == "./grafana/im-dashboard.json" for target, src in mounts.items()
    )
    assert mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"
    ds = load_yaml_docs(DEPLOY / "grafana/provisioning/datasources/prometheus.yaml")[0]["datasources"][0]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"


# --- nginx --------------------------------------------------------------------------------------------


def _location(conf: str, path: str) -> str:
    m = re.search(r"location\s+=?\s*" + re.escape(path) + r"\s*\{([^{}]*)\}", conf)
    assert m, f"no location for {path}"
    return m.group(1)


def test_nginx_ws_location_upgrades_and_is_sticky():
    conf = NGINX_CONF.read_text()
    ws = _location(conf, "/ws")
    assert re.search(r"proxy_http_version\s+1\.1;", ws)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", ws)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade;", ws)
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade\s*\{", conf)
    assert int(re.search(r"proxy_read_timeout\s+(\d+)s?;", ws).group(1)) >= 3600
    upstream_name = re.search(r"proxy_pass\s+http://([\w.-]+)", ws).group(1)
    upstream = nginx_blocks(conf, "upstream")[upstream_name]
    key = re.search(r"^\s*hash\s+(\$\w+)", upstream, re.M).group(1)
    # Follow the maps from the hash key back to its sources.
    sources, todo = set(), [key]
    maps = {
        m.group(2): m.group(1) + " " + m.group(3) for m in re.finditer(r"map\s+(\$\w+)\s+(\$\w+)\s*\{([^{}]*)\}", conf)
    }
    while todo:
        var = todo.pop()
        if var in maps:
            todo += re.findall(r"\$\w+", maps[var])
        else:
            sources.add(var)
    assert {"$arg_access_token", "$cookie_sessionid", "$remote_addr"} <= sources


def test_nginx_routes_to_every_daphne_node_and_each_public_ws_url():
    conf = NGINX_CONF.read_text()
    services = compose()["services"]
    upstreams = nginx_blocks(conf, "upstream")
    for name in ("im_ws", "im_http"):
        servers = set(re.findall(r"^\s*server\s+([\w.-]+):8000", upstreams[name], re.M))
        assert servers == {"daphne1", "daphne2"}, name
    assert re.search(r"location\s+/\s*\{[^{}]*proxy_pass\s+http://im_http;", conf)
    for node in ("daphne1", "daphne2"):
        path = re.sub(r"^wss?://[^/]+", "", compose_env(services[node])["IM_PUBLIC_WS_URL"])
        loc = _location(conf, path)
        assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", loc)
        target = re.search(r"proxy_pass\s+http://([\w.-]+)", loc).group(1)
        assert re.search(r"server\s+" + node + r":8000", upstreams[target])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_nginx_conf(tmp_path: Path, b1: int, b2: int, listen: int) -> Path:
    conf = NGINX_CONF.read_text()
    conf = conf.replace("daphne1:8000", f"127.0.0.1:{b1}").replace("daphne2:8000", f"127.0.0.1:{b2}")
    conf = re.sub(r"listen\s+80;", f"listen 127.0.0.1:{listen};", conf)
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    conf = conf.replace("access_log /dev/stdout;", "access_log off;")
    mime = Path("/etc/nginx/mime.types")
    conf = conf.replace("include /etc/nginx/mime.types;", f"include {mime};" if mime.exists() else "")
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        conf = conf.replace("http {", f"http {{\n    {d}_temp_path {tmp_path}/{d};", 1)
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    return path


def test_nginx_conf_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not nginx:
        pytest.skip("nginx binary not installed (apt-get install nginx-light): config syntax not checked")
    conf = _local_nginx_conf(tmp_path, 1, 2, _free_port())
    out = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "/dev/stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr


BACKEND = textwrap.dedent("""
    import http.server, json, sys
    NAME = sys.argv[1]
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"node": NAME, "path": self.path,
                               "upgrade": self.headers.get("Upgrade"),
                               "connection": self.headers.get("Connection")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
""")


def test_nginx_sticky_routing_live(tmp_path):
    """Runs the real nginx.conf (hosts swapped for loopback ports) in front of two tiny backends:
    one user's /ws requests always land on one node, users spread over both, upgrade headers pass,
    and /node/<name>/ws reaches that node."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not nginx:
        pytest.skip("nginx binary not installed (apt-get install nginx-light): live routing not checked")
    b1, b2, listen = _free_port(), _free_port(), _free_port()
    while len({b1, b2, listen}) < 3:
        b1, b2, listen = _free_port(), _free_port(), _free_port()
    script = tmp_path / "backend.py"
    script.write_text(BACKEND)
    procs = [
        subprocess.Popen([sys.executable, str(script), name, str(port)])
        for name, port in (("daphne1", b1), ("daphne2", b2))
    ]
    # Both backends listen before nginx starts: a refused connection would (rightly) make nginx
    # fail over to the other node and blur the stickiness being tested.
    deadline = time.monotonic() + 15
    for port in (b1, b2):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"stub backend on {port} did not start"
                time.sleep(0.05)
    conf = _local_nginx_conf(tmp_path, b1, b2, listen)
    master = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", "/dev/stderr", "-g", "daemon off; master_process on;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    procs.append(master)
    try:

        def get(path, headers=None):
            req = urllib.request.Request(f"http://127.0.0.1:{listen}{path}", headers=headers or {})
            with urllib.request.urlopen(req, timeout=5) as resp:
                return json.loads(resp.read())

        deadline = time.monotonic() + 15
        while True:
            try:
                get("/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or master.poll() is not None:
                    raise
                time.sleep(0.1)

        seen = set()
        for user in range(24):
            nodes = {get(f"/ws?access_token=token-{user}")["node"] for _ in range(4)}
            assert len(nodes) == 1, f"token-{user} went to {nodes}"
            seen |= nodes
        assert seen == {"daphne1", "daphne2"}
        cookie_nodes = {get("/ws", {"Cookie": "sessionid=abc123"})["node"] for _ in range(4)}
        assert len(cookie_nodes) == 1
        echoed = get("/ws?access_token=x", {"Upgrade": "websocket", "Connection": "Upgrade"})
        assert echoed["upgrade"] == "websocket" and echoed["connection"].lower() == "upgrade"
        for node in ("daphne1", "daphne2"):
            got = get(f"/node/{node}/ws?access_token=t")
            assert got["node"] == node and got["path"] == "/ws?access_token=t"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


# --- Prometheus alerts and the Grafana dashboard ---------------------------------------------------------


def test_alert_rules_are_complete_and_use_known_metrics():
    rules = [r for g in load_yaml_docs(ALERTS)[0]["groups"] for r in g["rules"]]
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)) and len(names) >= 6
    docs = (ROOT / "docs" / "operations.md").read_text()
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        found = metric_names(rule["expr"])
        assert found or "up{" in rule["expr"], rule["alert"]
        assert all(known_metric(m) for m in found), (rule["alert"], found)
        assert rule["alert"] in docs, f"{rule['alert']} is not explained in docs/operations.md"


def test_dashboard_parses_and_every_expr_uses_known_metrics():
    dash = json.loads(DASHBOARD.read_text())
    panels = dash["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    all_exprs = []
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            found = metric_names(target["expr"])
            assert found, (panel["title"], target["expr"])
            assert all(known_metric(m) for m in found), (panel["title"], found)
            all_exprs.append(target["expr"])
    joined = "\n".join(all_exprs)
    for metric in IM_METRICS:
        assert metric in joined, f"no panel shows {metric}"
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}, sum by (le) (rate(im_delivery_seconds_bucket" in joined
    assert 'status=~"5.."' in joined
    assert "django_db_" in joined
    assert "sum by (node) (im_connections_open)" in joined


def test_dashboard_uses_the_provisioned_datasource():
    dash = json.loads(DASHBOARD.read_text())
    ds = load_yaml_docs(DEPLOY / "grafana/provisioning/datasources/prometheus.yaml")[0]["datasources"][0]
    var = next(v for v in dash["templating"]["list"] if v["type"] == "datasource")
    assert var["query"] == ds["type"] and var["current"]["value"] == ds["uid"]
    for panel in dash["panels"]:
        assert panel["datasource"]["uid"] == "${" + var["name"] + "}"


# --- Dockerfile ---------------------------------------------------------------------------------------


def test_dockerfile_is_small_pinned_non_root_and_collects_static():
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms)
    assert "pip install --no-compile -r /tmp/requirements.txt" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    last_user = text.rindex("\nUSER ")
    assert text.index("collectstatic --noinput") > last_user
    assert text.index("\nCMD ") > last_user
    cmd = json.loads(re.search(r"^CMD\s+(\[.*\])$", text, re.M).group(1))
    assert cmd[0] == "daphne" and cmd[-1] == "imsite.asgi:application"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "data", "**/__pycache__"):
        assert entry in ignored


# --- the distributed mode on one machine ---------------------------------------------------------


def test_procfile_dist_has_the_four_processes():
    procs = procfile()
    assert set(procs) == {"web1", "web2", "worker", "beat"}
    assert "IM_NODE_NAME=${IM_WEB1_NAME:-node1}" in procs["web1"]
    assert "IM_NODE_NAME=${IM_WEB2_NAME:-node2}" in procs["web2"]
    for name, port in (("web1", "8001"), ("web2", "8002")):
        assert re.search(r"daphne -b \$\{IM_BIND:-127\.0\.0\.1\} -p \$\{IM_WEB\d_PORT:-" + port + r"\}", procs[name])
        assert procs[name].endswith("imsite.asgi:application")
        assert "IM_PUBLIC_WS_URL=" in procs[name]
    assert "celery -A imsite worker --concurrency ${IM_WORKER_CONCURRENCY:-2} -l info" in procs["worker"]
    assert "celery -A imsite beat -l info" in procs["beat"]


def test_procfile_dist_expands_in_sh_to_the_documented_commands():
    """What honcho runs (`sh -c LINE`), with echo in place of exec, under the default env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IM_")}
    out = {}
    for name, line in procfile().items():
        res = subprocess.run(
            ["sh", "-c", line.replace("exec ", "echo ", 1) + ' ; echo "$IM_NODE_NAME"'],
            capture_output=True,
            text=True,
            env=env,
            timeout=10,
        )
        assert res.returncode == 0, res.stderr
        out[name] = res.stdout.split("\n")
    assert out["web1"][0] == "daphne -b 127.0.0.1 -p 8001 imsite.asgi:application"
    assert out["web2"][0] == "daphne -b 127.0.0.1 -p 8002 imsite.asgi:application"
    assert out["worker"][0] == "celery -A imsite worker --concurrency 2 -l info"
    assert out["beat"][0].startswith("celery -A imsite beat -l info")


def test_honcho_parses_procfile_dist():
    environ = pytest.importorskip("honcho.environ", reason="honcho (requirements.txt) is not installed")
    parsed = environ.parse_procfile((ROOT / "Procfile.dist").read_text())
    assert set(parsed.processes) == {"web1", "web2", "worker", "beat"}


def test_run_distributed_script_is_executable_bash():
    script = ROOT / "bin" / "run-distributed"
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    text = script.read_text()
    assert 'exec honcho -f "$PROCFILE" start' in text and 'PROCFILE="${IM_DIST_PROCFILE:-Procfile.dist}"' in text
    assert (
        "Open http://${IM_BIND}:${IM_WEB1_PORT}/ in your browser (second node: http://${IM_BIND}:${IM_WEB2_PORT}/)"
        in text
    )
    for cmd in ("manage.py migrate --noinput", "manage.py migrate_shards", "manage.py collectstatic --noinput"):
        assert cmd in text
