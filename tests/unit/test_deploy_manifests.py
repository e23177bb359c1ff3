"""deploy/: the container recipe and the Kubernetes manifests agree with each other and with the app.

No container daemon or cluster exists where the tests run, so this checks structure only (PyYAML): the kinds, the
probes (the path Streamlit answers and scripts/serve.sh's HAProxy checks, the port the image's command listens on),
cookie affinity on the Ingress, and the shared models volume where BERTEXPLORE_MODELS_DIR points.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HEALTH = "/_stcore/health"


def _docs() -> list[dict]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _one(kind: str) -> dict:
    found = [d for d in _docs() if d["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def _image_port() -> int:
    """The port the image's command starts Streamlit on, which must also be the one it EXPOSEs."""
    text = (DEPLOY / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd, "the Dockerfile has an exec-form CMD"
    args = yaml.safe_load(cmd.group(1))
    assert "ui.serve" in args and args[args.index("--server.address") + 1] == "0.0.0.0"
    port = int(args[args.index("--server.port") + 1])
    assert re.search(rf"^EXPOSE {port}$", text, re.M)
    assert HEALTH in text  # the image's own HEALTHCHECK asks the same path
    return port


def test_every_manifest_is_a_known_kind_with_the_apps_labels():
    kinds = sorted(d["kind"] for d in _docs())
    assert kinds == sorted(["Deployment", "Service", "Ingress", "PersistentVolumeClaim", "Secret", "Job",
                            "Kustomization"])
    for doc in _docs():
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "bertexplore", doc["kind"]
    listed = set(_one("Kustomization")["resources"])
    assert listed == {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml", "pack-job.yaml"}


def test_deployment_probes_the_apps_health_path_on_its_port():
    port = _image_port()
    deployment = _one("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    (container,) = spec["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == HEALTH and get["port"] in ("http", port), probe
    env = {e["name"]: e for e in container["env"]}
    assert env["STREAMLIT_SERVER_COOKIE_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == _one("Secret")["metadata"]["name"]
    assert "cookie-secret" in _one("Secret")["stringData"]


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_models_volume_is_shared_and_mounted_where_the_app_looks(kind):
    claim = _one("PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # saves on one replica, listed on the others
    pod = _one(kind)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (container,) = pod["containers"]
    (mount,) = container["volumeMounts"]
    assert volumes[mount["name"]]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    models_dir = re.search(r"BERTEXPLORE_MODELS_DIR=(\S+)", dockerfile).group(1)
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert mount["mountPath"] == env.get("BERTEXPLORE_MODELS_DIR", models_dir) == models_dir
    if kind == "Job":
        assert container["command"][-2:] == ["--to", models_dir]


def test_service_and_ingress_route_to_the_pods_with_cookie_affinity():
    service, ingress = _one("Service"), _one("Ingress")
    assert service["spec"]["selector"] == _one("Deployment")["spec"]["selector"]["matchLabels"]
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/session-cookie-name"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600  # a websocket lasts a lesson
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"] and backend["port"]["name"] == port["name"]


def test_serve_sh_checks_the_same_health_path():
    script = (ROOT / "scripts" / "serve.sh").read_text()
    assert f"option httpchk GET {HEALTH}" in script
    assert "cookie BXREPLICA insert" in script
    assert "-m ui.serve" in script
