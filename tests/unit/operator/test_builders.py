"""Each builder as a table: spec in, manifest (or None) out."""

from __future__ import annotations

import ast

import pytest
from handtracker_operator import identity, kinds, rollout, spec
from handtracker_operator.builders import configmap, deployment, hpa, ingress, pdb, service

from tests.support.repo import REPO_ROOT

IDENT = identity.Identity("demo", "vision", "u-1", 1, "0.1.0")


def build(**raw: object) -> dict:
    return kinds.desired(spec.parse(raw), IDENT)


def test_configmap_is_exactly_the_workload_environment() -> None:
    raw = {"model": {"complexity": "lite", "maxHands": 1, "minDetectionConfidence": 0.75},
           "ui": {"title": "Hands"}, "logLevel": "warning"}
    cm = build(**raw)["ConfigMap"]
    assert cm["metadata"]["name"] == "demo-config"
    assert cm["data"] == {
        "HANDTRACKER_MODEL_REVISION": spec.parse(raw).revision,
        "HANDTRACKER_UI_TITLE": "Hands",
        "HANDTRACKER_LOG_LEVEL": "warning",
        "HANDTRACKER_MODEL_COMPLEXITY": "lite",
        "HANDTRACKER_MAX_HANDS": "1",
        "HANDTRACKER_DETECTION_MODE": "standard",
        "HANDTRACKER_MIN_DETECTION_CONFIDENCE": "0.75",
        "HANDTRACKER_MIN_TRACKING_CONFIDENCE": "0.5",
        "HANDTRACKER_WORKERS": "1",
        "HANDTRACKER_MAX_INFLIGHT": "4",
        "HANDTRACKER_MAX_QUEUE": "16",
        "HANDTRACKER_QUEUE_TIMEOUT": "1",
    }


def test_every_child_is_owned_and_labelled() -> None:
    parsed = spec.parse({"ingress": {"enabled": True, "host": "h.example"},
                         "autoscaling": {"enabled": True, "minReplicas": 2},
                         "networkPolicy": {"enabled": True},
                         "monitoring": {"serviceMonitor": {"enabled": True}},
                         "httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}]},
                         "canary": {"weight": 10, "image": "img:2"}})
    assert parsed.canary is not None
    course = rollout.Rollout(rollout.SERVING, parsed.canary.spec, 10, 10)
    children = kinds.desired(parsed, IDENT, course)
    assert list(children) == list(kinds.SLOTS)  # in apply order
    for slot, child in children.items():
        assert child is not None, slot
        meta = child["metadata"]
        # The name the store looks a child up by is the name its builder gives it.
        assert meta["name"] == kinds.CHILDREN[kinds.SLOTS.index(slot)].object_name(IDENT)
        assert child["kind"] == kinds.KIND_OF[slot]
        assert meta["namespace"] == "vision"
        assert meta["ownerReferences"] == [IDENT.owner_reference()]
        canary = slot in kinds.CANARY_SLOTS
        assert meta["labels"]["app.kubernetes.io/instance"] == (
            "demo-canary" if canary else "demo")
        assert identity.owner_of(meta["labels"]) == "demo"
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "handtracker-operator"


def test_deployment_pod_is_restricted_and_probed() -> None:
    dep = build()["Deployment"]
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"][0]["emptyDir"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert container["envFrom"] == [{"configMapRef": {"name": "demo-config"}}]
    assert container["ports"][0]["containerPort"] == 8080
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
        "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"}}
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert dep["spec"]["selector"]["matchLabels"] == IDENT.selector


def _gunicorn_graceful_timeout() -> int:
    """graceful_timeout as gunicorn_conf.py sets it (read, not imported: it reads the env)."""
    tree = ast.parse((REPO_ROOT / "workload/handtracker_workload/gunicorn_conf.py").read_text())
    (value,) = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["graceful_timeout"]
    ]
    return value


def test_pod_leaves_the_endpoints_before_sigterm_and_gets_time_to_drain() -> None:
    pod = build()["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    # The grace period counts from the start of preStop: it must cover the
    # sleep plus gunicorn's graceful timeout, with room to spare.
    graceful = _gunicorn_graceful_timeout()
    assert graceful == deployment.WORKLOAD_GRACEFUL_SECONDS
    assert pod["terminationGracePeriodSeconds"] > 5 + graceful
    assert pod["terminationGracePeriodSeconds"] <= 60


def test_a_failed_exit_reports_the_log_tail() -> None:
    # The workload writes no termination message; the kubelet then puts the end of its
    # log (a refused setting, say) into lastState.terminated.message for status.py.
    (container,) = build()["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_config_change_changes_the_pod_template() -> None:
    full = build()["Deployment"]["spec"]["template"]
    lite = build(model={"complexity": "lite"})["Deployment"]["spec"]["template"]
    same = build()["Deployment"]["spec"]["template"]
    key = deployment.CONFIG_HASH_ANNOTATION
    assert full["metadata"]["annotations"][key] != lite["metadata"]["annotations"][key]
    assert full == same


@pytest.mark.parametrize(
    ("raw", "replicas"),
    [({}, 2), ({"replicas": 0}, 0), ({"suspended": True}, 0),
     ({"autoscaling": {"enabled": True}}, None),
     ({"autoscaling": {"enabled": True}, "suspended": True}, 0)],
)
def test_deployment_replicas_left_to_hpa(raw: dict, replicas: int | None) -> None:
    dep = build(**raw)["Deployment"]
    assert dep["spec"].get("replicas") == replicas


def test_pod_placement_passthrough_and_labels() -> None:
    dep = build(nodeSelector={"pool": "cpu"}, tolerations=[{"key": "k", "operator": "Exists"}],
                affinity={"podAntiAffinity": {}}, priorityClassName="high",
                podAnnotations={"scrape": "yes"}, podLabels={"team": "vision"},
                imagePullSecrets=[{"name": "regcred"}])["Deployment"]
    tpl = dep["spec"]["template"]
    assert tpl["spec"]["nodeSelector"] == {"pool": "cpu"}
    assert tpl["spec"]["tolerations"] == [{"key": "k", "operator": "Exists"}]
    assert tpl["spec"]["affinity"] == {"podAntiAffinity": {}}
    assert tpl["spec"]["priorityClassName"] == "high"
    assert tpl["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert tpl["metadata"]["annotations"]["scrape"] == "yes"
    assert tpl["metadata"]["labels"]["team"] == "vision"
    assert tpl["metadata"]["labels"]["app.kubernetes.io/instance"] == "demo"


def test_the_service_takes_its_type_and_port_and_selects_the_pods() -> None:
    svc = service.build(spec.parse({"service": {"type": "NodePort", "port": 8000}}), IDENT)
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http",
                                     "protocol": "TCP"}]
    assert svc["spec"]["selector"] == IDENT.selector


@pytest.mark.parametrize(
    ("raw", "tls", "cls"),
    [
        ({"enabled": True, "host": "h.example"}, None, None),
        ({"enabled": True, "host": "h.example", "tls": {"secretName": "cert"},
          "className": "nginx"}, [{"hosts": ["h.example"], "secretName": "cert"}], "nginx"),
    ],
)
def test_the_ingress_routes_its_host_to_the_service_with_optional_tls_and_class(
    raw: dict, tls: list | None, cls: str | None,
) -> None:
    ing = ingress.build(spec.parse({"ingress": raw}), IDENT)
    assert ing is not None
    rule = ing["spec"]["rules"][0]
    assert rule["host"] == "h.example"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "demo"
    assert ing["spec"].get("tls") == tls
    assert ing["spec"].get("ingressClassName") == cls


def test_optional_children_absent_by_default() -> None:
    parsed = spec.parse({"replicas": 1})
    assert ingress.build(parsed, IDENT) is None
    assert hpa.build(parsed, IDENT) is None
    assert pdb.build(parsed, IDENT) is None


@pytest.mark.parametrize(
    ("raw", "has_pdb"),
    [({"replicas": 1}, False), ({"replicas": 2}, True), ({"suspended": True}, False),
     ({"autoscaling": {"enabled": True, "minReplicas": 1}}, False),
     ({"autoscaling": {"enabled": True, "minReplicas": 3}}, True)],
)
def test_pdb_only_for_two_or_more(raw: dict, has_pdb: bool) -> None:
    assert (pdb.build(spec.parse(raw), IDENT) is not None) == has_pdb


def test_the_hpa_scales_the_deployment_between_its_bounds_on_cpu() -> None:
    h = hpa.build(spec.parse({"autoscaling": {"enabled": True, "minReplicas": 2,
                                              "maxReplicas": 7,
                                              "targetCPUUtilizationPercentage": 60}}), IDENT)
    assert h is not None and h["apiVersion"] == "autoscaling/v2"
    assert h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                           "name": "demo"}
    assert (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) == (2, 7)
    assert h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60


def test_configmap_hash_is_stable() -> None:
    cm = configmap.build(spec.parse({}), IDENT)
    assert configmap.data_hash(cm) == configmap.data_hash(configmap.build(spec.parse({}), IDENT))


def test_replicas_handoff_sets_only_replicas() -> None:
    handoff = deployment.replicas_handoff(IDENT, 4)
    assert handoff["spec"] == {"replicas": 4}
    assert handoff["metadata"] == {"name": "demo", "namespace": "vision"}


def test_network_policy_admits_only_the_http_port_from_the_named_peers() -> None:
    assert build()["NetworkPolicy"] is None
    default = build(networkPolicy={"enabled": True})["NetworkPolicy"]["spec"]
    # The canary's pods too, which have their own instance label.
    assert default["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "handtracker"},
        "matchExpressions": [{"key": "app.kubernetes.io/instance", "operator": "In",
                              "values": ["demo", "demo-canary"]}]}
    assert default["policyTypes"] == ["Ingress"]
    assert default["ingress"] == [{"from": [{"podSelector": {}}],
                                   "ports": [{"protocol": "TCP", "port": 8080}]}]
    peer = {"namespaceSelector": {"matchLabels": {"team": "web"}}}
    monitored = build(networkPolicy={"enabled": True, "from": [peer]},
                      monitoring={"serviceMonitor": {"enabled": True}})["NetworkPolicy"]["spec"]
    assert [rule["from"] for rule in monitored["ingress"]] == [
        [peer], [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "monitoring"}}}]]


def test_service_monitor_scrapes_metrics_with_the_users_labels() -> None:
    assert build()["ServiceMonitor"] is None
    monitor = build(monitoring={"serviceMonitor": {
        "enabled": True, "interval": "15s", "labels": {"release": "prom"}}})["ServiceMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"] == {
        "selector": {"matchLabels": IDENT.selector},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}]}


def test_http_route_points_at_the_service() -> None:
    assert build()["HTTPRoute"] is None
    route = build(service={"port": 8000}, httpRoute={
        "enabled": True, "hostnames": ["hands.example"], "path": "/hands",
        "annotations": {"a": "b"},
        "parentRefs": [{"name": "gw", "namespace": "infra", "sectionName": "web"}]})["HTTPRoute"]
    assert route["metadata"]["annotations"] == {"a": "b"}
    assert route["spec"] == {
        "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw",
                        "namespace": "infra", "sectionName": "web"}],
        "hostnames": ["hands.example"],
        "rules": [{"name": "handtracker",
                   "matches": [{"path": {"type": "PathPrefix", "value": "/hands"}}],
                   "backendRefs": [{"name": "demo", "port": 8000}]}]}


def test_only_cpu_autoscaling_makes_an_hpa_and_the_others_keep_replicas() -> None:
    assert build(autoscaling={"mode": "cpu"})["HorizontalPodAutoscaler"] is not None
    for mode in ("external", "none"):
        children = build(replicas=3, autoscaling={"mode": mode})
        assert children["HorizontalPodAutoscaler"] is None
        assert children["Deployment"]["spec"]["replicas"] == 3
    # mode decides over the legacy switch's default
    assert build(autoscaling={"enabled": False, "mode": "cpu"})["HorizontalPodAutoscaler"]


def test_a_model_image_is_copied_by_an_init_container_into_a_read_only_volume() -> None:
    children = build(model={"source": {"type": "image", "image": {
        "reference": "car@sha256:" + "c" * 64, "path": "/bundles/v2.task"}},
        "sha256": "d" * 64})
    pod = children["Deployment"]["spec"]["template"]["spec"]
    (copy,) = pod["initContainers"]
    assert copy["image"] == "car@sha256:" + "c" * 64
    assert copy["command"] == ["cp", "/bundles/v2.task",
                               "/var/run/handtracker/model/hand_landmarker.task"]
    assert copy["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "model", "emptyDir": {"sizeLimit": "512Mi"}} in pod["volumes"]
    mount = {"name": "model", "mountPath": "/var/run/handtracker/model", "readOnly": True}
    assert mount in pod["containers"][0]["volumeMounts"]
    data = children["ConfigMap"]["data"]
    assert data["HANDTRACKER_MODEL_PATH"] == "/var/run/handtracker/model/hand_landmarker.task"
    assert data["HANDTRACKER_MODEL_SHA256"] == "d" * 64


def test_a_model_claim_is_mounted_read_only_and_builtin_needs_neither() -> None:
    children = build(model={"source": {"type": "pvc", "pvc": {"claimName": "models",
                                                              "path": "hands/v3.task"}}})
    pod = children["Deployment"]["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    assert {"name": "model", "persistentVolumeClaim": {"claimName": "models",
                                                       "readOnly": True}} in pod["volumes"]
    data = children["ConfigMap"]["data"]
    assert data["HANDTRACKER_MODEL_PATH"] == "/var/run/handtracker/model/hands/v3.task"
    builtin = build()
    assert "HANDTRACKER_MODEL_PATH" not in builtin["ConfigMap"]["data"]
    assert [v["name"] for v in builtin["Deployment"]["spec"]["template"]["spec"]["volumes"]] == [
        "tmp"]
