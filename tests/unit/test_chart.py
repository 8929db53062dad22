"""The Helm chart: lint, its links to deploy/, agreement with deploy/ object by object,
namespaced RBAC, and values refused by values.schema.json with the field named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from handtracker_operator import kinds, spec

from hack import chart, version
from tests.fixtures.chart import CHART, HelmError, by_key, documents, helm_run, render
from tests.support.rbac import grants


@pytest.fixture(scope="module")
def kustomize() -> Any:
    from hack.controlplane import ensure_built

    kubectl = ensure_built().path("kubectl")

    def run(folder: str) -> list[dict[str, Any]]:
        import subprocess

        out = subprocess.run([str(kubectl), "kustomize", str(chart.ROOT / folder)],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        return documents(out)

    return run


def test_chart_links_point_at_their_sources() -> None:
    assert chart.wrong() == [], "run `make chart` to relink"
    for link, source in chart.LINKS.items():
        assert (CHART / link).read_bytes() == (chart.ROOT / source).read_bytes()


def test_chart_versions_are_the_projects() -> None:
    assert chart.stale_versions() == [], "run `make chart` to write them"
    assert chart.versions() == {"version": version.read(), "appVersion": version.read()}


def test_write_versions_rewrites_only_the_stale_fields(tmp_path: Path, monkeypatch) -> None:
    original = (CHART / "Chart.yaml").read_text()
    old = original.replace(f"version: {version.read()}", "version: 0.0.9", 1)
    old = old.replace(f'appVersion: "{version.read()}"', 'appVersion: "0.0.9"', 1)
    assert old != original
    monkeypatch.setattr(chart, "CHART_YAML", tmp_path / "Chart.yaml")
    chart.CHART_YAML.write_text(old)
    assert chart.write_versions() == ["version", "appVersion"]
    assert chart.CHART_YAML.read_text() == original
    assert chart.write_versions() == []


def test_images_default_to_the_app_version(helm: Path) -> None:
    deployment = next(d for d in documents(render(helm)) if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"ghcr.io/handtracking-dev/handtracker-operator:{version.read()}"
    assert {"name": "HANDTRACKER_DEFAULT_IMAGE", "value": spec.DEFAULT_IMAGE} in container["env"]


def test_helm_lint_strict_passes(helm: Path) -> None:
    out = helm_run(helm, "lint", "--strict", str(CHART))
    assert "1 chart(s) linted, 0 chart(s) failed" in out


def _compare(chart_docs: list[dict[str, Any]], deploy_docs: list[dict[str, Any]]) -> None:
    rendered, expected = by_key(chart_docs), by_key(deploy_docs)
    assert sorted(rendered) == sorted(expected)
    for k, obj in expected.items():
        assert rendered[k] == obj, f"{k} differs between the chart and deploy/"


def test_default_values_render_what_deploy_installs(helm: Path, kustomize: Any) -> None:
    # deploy/ creates its namespace; a chart leaves that to --create-namespace unless
    # namespace.create is set, the one value that differs from the defaults here.
    _compare(documents(render(helm, "namespace.create=true", crds=True)), kustomize("deploy"))


def test_monitoring_values_render_what_deploy_monitoring_installs(
    helm: Path, kustomize: Any
) -> None:
    on = ("serviceMonitor.enabled=true", "prometheusRule.enabled=true", "dashboard.enabled=true")
    off = {doc["metadata"]["name"] + doc["kind"] for doc in documents(render(helm))}
    added = [doc for doc in documents(render(helm, *on))
             if doc["metadata"]["name"] + doc["kind"] not in off]
    _compare(added, kustomize("deploy/monitoring"))


def test_default_render_has_no_monitoring_objects(helm: Path) -> None:
    kinds = {doc["kind"] for doc in documents(render(helm))}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}


def test_watch_namespaces_get_roles_and_a_cluster_role_for_discovery_only(helm: Path) -> None:
    docs = documents(render(helm, "watchNamespaces={team-a,team-b}"))
    roles = {d["metadata"]["namespace"]: d for d in docs if d["kind"] == "Role"}
    bindings = {d["metadata"]["namespace"] for d in docs if d["kind"] == "RoleBinding"}
    assert set(roles) == bindings == {"team-a", "team-b"}
    role_resources = {r for rule in roles["team-a"]["rules"] for r in rule["resources"]}
    assert {"handtrackers", "deployments", "kopfpeerings", "pods"} <= role_resources
    assert not role_resources & {"customresourcedefinitions", "namespaces",
                                 "clusterkopfpeerings"}
    cluster_role = next(d for d in docs if d["kind"] == "ClusterRole")
    assert {r for rule in cluster_role["rules"] for r in rule["resources"]} == {
        "customresourcedefinitions", "customresourcedefinitions/status", "namespaces"}
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespace=team-a" in args and "--namespace=team-b" in args


def test_watch_namespaces_grant_what_the_kinds_registry_needs_there(helm: Path) -> None:
    """A namespaced operator keeps its peering in a KopfPeering per namespace, so the
    cluster-scoped ClusterKopfPeering is the one rule it goes without."""
    docs = documents(render(helm, "watchNamespaces={team-a}"))
    rules = [rule for d in docs if d["kind"] in ("Role", "ClusterRole") for rule in d["rules"]]
    needed = grants(kinds.rbac_rules())
    cluster_peering = {g for g in needed if g[1] == "clusterkopfpeerings"}
    assert cluster_peering
    assert grants(rules) == needed - cluster_peering


def test_values_reach_the_deployment(helm: Path) -> None:
    docs = documents(render(
        helm, "replicaCount=1", "image.repository=registry.local/op", "image.tag=1.2.3",
        "image.pullPolicy=Always", "peering.enabled=false", "metrics.port=9100",
        "operator.resyncSeconds=60", "operator.concurrency=8", "resources.limits.cpu=2",
        "nodeSelector.role=ops", "operator.defaultImage=registry.local/work:1",
    ))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 1
    assert container["image"] == "registry.local/op:1.2.3"
    assert container["imagePullPolicy"] == "Always"
    assert not any(a.startswith("--peering") for a in container["args"])
    assert {"--metrics-port=9100", "--resync-seconds=60", "--concurrency=8"} <= set(
        container["args"])
    assert container["resources"]["limits"]["cpu"] == 2
    assert pod["nodeSelector"] == {"role": "ops"}
    assert {"name": "HANDTRACKER_DEFAULT_IMAGE", "value": "registry.local/work:1"} in (
        container["env"])
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["ports"][0]["port"] == 9100


def test_a_digest_names_the_image_by_digest_and_the_tag_is_ignored(helm: Path) -> None:
    digest = "sha256:" + "ab" * 32
    docs = documents(render(helm, "image.repository=registry.local/op", "image.tag=1.2.3",
                            f"image.digest={digest}"))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"registry.local/op@{digest}"


def test_a_service_monitor_without_metrics_is_refused(helm: Path) -> None:
    with pytest.raises(HelmError, match="serviceMonitor.enabled needs metrics.enabled"):
        render(helm, "serviceMonitor.enabled=true", "metrics.enabled=false")


BAD_VALUES = [
    ("replicaCount=two", "/replicaCount"),
    ("replicaCount=0", "/replicaCount"),
    ("replicas=2", "'replicas' not allowed"),
    ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
    ("image.repository=", "/image/repository"),
    ("image.tag=bad tag", "/image/tag"),
    ("image.digest=sha256:abc", "/image/digest"),
    ("image.digest=1.2.3", "/image/digest"),
    ("image.registry=x", "'registry' not allowed"),
    ("imagePullSecrets[0].nam=x", "/imagePullSecrets/0"),
    ("watchNamespaces[0]=Team_A", "/watchNamespaces/0"),
    ("operator.defaultImage=Work Load:1", "/operator/defaultImage"),
    ("operator.resyncSeconds=0", "/operator/resyncSeconds"),
    ("operator.concurrency=0", "/operator/concurrency"),
    ("operator.apiQps=-1", "/operator/apiQps"),
    ("operator.apiBurst=0", "/operator/apiBurst"),
    ("operator.verbose=loud", "/operator/verbose"),
    ("operator.healthPort=70000", "/operator/healthPort"),
    ("peering.enabled=maybe", "/peering/enabled"),
    ("peering.name=Not Valid", "/peering/name"),
    ("peering.lifetime=1", "/peering/lifetime"),
    ("metrics.enabled=yes please", "/metrics/enabled"),
    ("metrics.port=0", "/metrics/port"),
    ("serviceMonitor.enabld=true", "'enabld' not allowed"),
    ("serviceMonitor.interval=30", "/serviceMonitor/interval"),
    ("serviceMonitor.scrapeTimeout=soon", "/serviceMonitor/scrapeTimeout"),
    ("serviceMonitor.labels.release=1", "/serviceMonitor/labels/release"),
    ("prometheusRule.enabled=1", "/prometheusRule/enabled"),
    ("prometheusRule.labels.team=1", "/prometheusRule/labels/team"),
    ("dashboard.enabled=1", "/dashboard/enabled"),
    ("dashboard.labels.grafana_dashboard=1", "/dashboard/labels/grafana_dashboard"),
    ("namespace.create=1", "/namespace/create"),
    ("serviceAccount.create=1", "/serviceAccount/create"),
    ("serviceAccount.name=Op", "/serviceAccount/name"),
    ("serviceAccount.annotations.a=1", "/serviceAccount/annotations/a"),
    ("resources.limits.cpu=lots", "/resources/limits/cpu"),
    ("resources.requests.memory=much", "/resources/requests/memory"),
    ("resources.limit.cpu=1", "'limit' not allowed"),
    ("podAnnotations.a=1", "/podAnnotations/a"),
    ("podLabels.a=1", "/podLabels/a"),
    ("nodeSelector.a=1", "/nodeSelector/a"),
    ("tolerations=x", "/tolerations"),
    ("affinity=x", "/affinity"),
    ("priorityClassName=1", "/priorityClassName"),
]


@pytest.mark.parametrize(("value", "field"), BAD_VALUES, ids=[v for v, _ in BAD_VALUES])
def test_bad_values_are_refused_naming_the_field(helm: Path, value: str, field: str) -> None:
    with pytest.raises(HelmError) as err:
        render(helm, value)
    assert "values don't meet the specifications of the schema" in err.value.stderr
    assert field in err.value.stderr


def _schemas(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema below `properties`, with its path."""
    found = [(path, schema)]
    for name, sub in (schema.get("properties") or {}).items():
        found += _schemas(sub, f"{path}/{name}")
    return found


def test_every_values_field_has_a_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(node: dict[str, Any], sub: dict[str, Any], path: str) -> None:
        for name, value in node.items():
            assert name in sub.get("properties", {}), f"{path}/{name} has no schema"
            child = sub["properties"][name]
            if isinstance(value, dict) and child.get("properties"):
                walk(value, child, f"{path}/{name}")

    walk(values, schema, "")
    for path, sub in _schemas(schema):
        assert "type" in sub, f"{path or '/'} has no type in values.schema.json"
        if sub["type"] == "object" and path not in ("/affinity", "/global"):
            assert "additionalProperties" in sub, f"{path or '/'} must say which keys it allows"


def test_helm_package_stores_the_linked_files(helm: Path, tmp_path: Path) -> None:
    import tarfile

    helm_run(helm, "package", str(CHART), "--destination", str(tmp_path))
    (archive,) = tmp_path.glob("handtracker-operator-*.tgz")
    with tarfile.open(archive) as tar:
        for link, source in chart.LINKS.items():
            member = tar.getmember(f"handtracker-operator/{link}")
            assert member.isfile(), f"{link} was packaged as a link"
            data = tar.extractfile(member)
            assert data is not None and data.read() == (chart.ROOT / source).read_bytes()


def test_a_budget_keeps_one_replica_through_drains_but_never_blocks_a_single_one(
        helm: Path) -> None:
    (budget,) = [d for d in documents(render(helm)) if d["kind"] == "PodDisruptionBudget"]
    assert budget["spec"]["minAvailable"] == 1
    (operator,) = [d for d in documents(render(helm)) if d["kind"] == "Deployment"]
    assert budget["spec"]["selector"]["matchLabels"] == operator["spec"]["selector"][
        "matchLabels"]
    assert not [d for d in documents(render(helm, "replicaCount=1"))
                if d["kind"] == "PodDisruptionBudget"]
