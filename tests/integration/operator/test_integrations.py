"""Gateway API, Prometheus Operator, NetworkPolicy and external autoscalers on the real
control plane.

The CRD-dependent case runs on the second control plane, which starts without those
CRDs: the operator must report them missing, then use them once installed, and report
them missing again after they are removed. No gateway controller runs here, so the test
writes the route's status the way one would.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
import yaml
from handtracker_operator import identity

from hack.tools import crds
from tests.fixtures.cluster import Kubectl, KubectlError
from tests.fixtures.operator import EXAMPLES, apply, condition, get, wait_condition
from tests.support.manifests import handtracker
from tests.support.waiting import eventually

MONITOR_CRD = ("servicemonitors.monitoring.coreos.com",)
SMALL = {"replicas": 1, "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}


def tracker(name: str, **spec: Any) -> dict[str, Any]:
    return handtracker(name, **{**SMALL, **spec})


def wait_reason(kubectl: Kubectl, ns: str, type_: str, reason: str | None,
                timeout: float = 60) -> dict[str, Any]:
    """Waits until condition `type_` has `reason` (None: until it is gone)."""
    def check() -> dict[str, Any] | None:
        ht = get(kubectl, ns, "ht", "hands")
        current = ht and ht.get("status", {}).get("observedGeneration") == (
            ht["metadata"]["generation"])
        found = condition(ht, type_)
        ok = (found.get("reason") == reason) if reason else not found
        return ht if current and ok else None

    return eventually(check, timeout=timeout, interval=0.5,
                      message=f"{type_} {'reason ' + reason if reason else 'gone'}")


def route_status(kubectl: Kubectl, ns: str, accepted: bool) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = {"parents": [{
        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"},
        "controllerName": "example.com/gateway-controller",
        "conditions": [{
            "type": "Accepted", "status": "True" if accepted else "False",
            "reason": "Accepted" if accepted else "NotAllowedByListeners",
            "message": "ok" if accepted else "no listener allows routes from this namespace",
            "lastTransitionTime": now, "observedGeneration": 1}]}]}
    kubectl("patch", "httproute", "hands", "-n", ns, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": status}))


@pytest.mark.timeout(600)
def test_route_and_monitor_follow_their_crds(second_cluster: Any, start_operator: Any) -> None:
    kubectl = Kubectl(second_cluster)
    ns = "integrations"
    kubectl("create", "namespace", ns)
    eventually(lambda: kubectl("get", "serviceaccount", "default", "-n", ns), timeout=30)
    operator = start_operator(second_cluster, "--namespace", ns)
    apply(kubectl, ns, tracker(
        "hands",
        httpRoute={"enabled": True, "parentRefs": [{"name": "gw"}]},
        monitoring={"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}))

    # No CRDs: reported, the service itself still Ready, the operator up.
    ht = wait_reason(kubectl, ns, "HTTPRouteAccepted", "GatewayAPIMissing")
    assert condition(ht, "ServiceMonitorReady")["reason"] == "PrometheusOperatorMissing"
    wait_condition(kubectl, ns, "hands")
    assert operator.healthy()

    # Installed: the children appear, and the route waits for its Gateway's answer.
    crds.install(second_cluster, "gateway-api")
    # Of prometheus-operator's CRDs, the one the operator uses: the others are among the
    # largest CRDs there are, and deleting them all again only loads the API server.
    crds.install(second_cluster, "monitoring", only=MONITOR_CRD)
    wait_reason(kubectl, ns, "HTTPRouteAccepted", "Pending", timeout=90)
    wait_reason(kubectl, ns, "ServiceMonitorReady", "Created")
    monitor = kubectl.json("get", "servicemonitor", "hands", "-n", ns)
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics",
                                             "interval": "30s"}]
    route = kubectl.json("get", "httproute", "hands", "-n", ns)
    assert route["spec"]["parentRefs"][0]["name"] == "gw"
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == "hands"

    # A Gateway with an address; its controller refuses the route, then accepts it.
    kubectl.apply({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                   "metadata": {"name": "gw"},
                   "spec": {"gatewayClassName": "example",
                            "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
                  ns)
    kubectl("patch", "gateway", "gw", "-n", ns, "--subresource=status", "--type=merge", "-p",
            json.dumps({"status": {"addresses": [{"type": "IPAddress", "value": "192.0.2.10"}]}}))
    route_status(kubectl, ns, accepted=False)
    refused = condition(wait_reason(kubectl, ns, "HTTPRouteAccepted", "NotAccepted"),
                        "HTTPRouteAccepted")
    assert refused["status"] == "False"
    assert f"Gateway {ns}/gw: NotAllowedByListeners" in refused["message"]
    route_status(kubectl, ns, accepted=True)
    ht = wait_reason(kubectl, ns, "HTTPRouteAccepted", "Accepted")
    assert ht["status"]["url"] == "http://192.0.2.10"

    # Disabled: the route goes, and so do its condition and its URL.
    kubectl("patch", "ht", "hands", "-n", ns, "--type=merge",
            "-p", '{"spec": {"httpRoute": {"enabled": false}}}')
    ht = wait_reason(kubectl, ns, "HTTPRouteAccepted", None)
    assert ht["status"]["url"] == f"http://hands.{ns}.svc.cluster.local"
    eventually(lambda: not kubectl.json("get", "httproutes", "-n", ns)["items"], timeout=30)

    # The monitoring CRDs removed again: reported, no crash loop.
    crds.remove(second_cluster, "monitoring", only=MONITOR_CRD)
    wait_reason(kubectl, ns, "ServiceMonitorReady", "PrometheusOperatorMissing", timeout=90)
    assert operator.healthy()
    kubectl("delete", "namespace", ns, "--wait=false")


def test_network_policy_is_made_and_removed(kubectl: Kubectl, namespace: str,
                                            operator: Any) -> None:
    peer = {"namespaceSelector": {"matchLabels": {"team": "web"}},
            "podSelector": {"matchLabels": {"role": "client"}}}
    apply(kubectl, namespace, tracker("hands", networkPolicy={"enabled": True, "from": [peer]}))
    policy = eventually(lambda: kubectl.json("get", "networkpolicy", "hands", "-n", namespace),
                        timeout=30)
    assert policy["spec"]["podSelector"] == {  # the canary's pods too
        "matchLabels": {"app.kubernetes.io/name": "handtracker"},
        "matchExpressions": [{"key": "app.kubernetes.io/instance", "operator": "In",
                              "values": ["hands", "hands-canary"]}]}
    assert policy["spec"]["ingress"] == [{"from": [peer],
                                          "ports": [{"protocol": "TCP", "port": 8080}]}]
    kubectl("patch", "ht", "hands", "-n", namespace, "--type=merge",
            "-p", '{"spec": {"networkPolicy": {"enabled": false}}}')
    eventually(lambda: not kubectl.json("get", "networkpolicies", "-n", namespace)["items"],
               timeout=30, message="the NetworkPolicy is removed")


def test_an_hpa_scales_the_handtracker_itself(kubectl: Kubectl, namespace: str,
                                              operator: Any) -> None:
    """External mode: an HPA of the user's targets the HandTracker's scale subresource;
    the operator makes none of its own and passes the count on to the Deployment."""
    apply(kubectl, namespace, tracker("hands", autoscaling={"mode": "external"}))
    wait_condition(kubectl, namespace, "hands")
    kubectl.apply({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "hands-by-user"},
        "spec": {"scaleTargetRef": {"apiVersion": identity.API_VERSION,
                                    "kind": identity.KIND, "name": "hands"},
                 # Below minReplicas the HPA scales up before it needs any metric.
                 "minReplicas": 3, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization",
                                               "averageUtilization": 80}}}]}}, namespace)

    def scaled() -> bool:
        ht = get(kubectl, namespace, "ht", "hands")
        deployment = kubectl.json("get", "deployment", "hands", "-n", namespace)
        return (ht["spec"]["replicas"] == 3 and deployment["spec"]["replicas"] == 3
                and ht["status"].get("readyReplicas") == 3)

    eventually(scaled, timeout=90, interval=1, message="the HPA scaled the HandTracker to 3")
    hpas = kubectl.json("get", "hpa", "-n", namespace)["items"]
    assert [h["metadata"]["name"] for h in hpas] == ["hands-by-user"]
    scale = json.loads(kubectl("get", "--raw", f"/apis/{identity.API_VERSION}/namespaces/"
                               f"{namespace}/{identity.PLURAL}/hands/scale"))
    assert scale["status"]["replicas"] == 3
    assert scale["status"]["selector"] == (
        "app.kubernetes.io/name=handtracker,app.kubernetes.io/instance=hands")


ROUTED = {"enabled": True, "parentRefs": [{"name": "gw"}]}


@pytest.mark.parametrize(("spec", "field"), [
    ({"httpRoute": {"enabled": True}}, "spec.httpRoute.parentRefs"),
    ({"autoscaling": {"enabled": True, "mode": "external"}}, "spec.autoscaling.mode"),
    ({"monitoring": {"serviceMonitor": {"interval": "soon"}}},
     "spec.monitoring.serviceMonitor.interval"),
    ({"networkPolicy": {"from": [{}]}}, "spec.networkPolicy.from[0]"),
    ({"httpRoute": {"hostnames": ["Not A Host"]}}, "spec.httpRoute.hostnames[0]"),
    # Canaries and model sources.
    ({"canary": {"weight": 10}}, "spec.canary"),
    ({"httpRoute": ROUTED, "canary": {"weight": 101}}, "spec.canary.weight"),
    ({"httpRoute": ROUTED, "canary": {"weight": -1}}, "spec.canary.weight"),
    ({"model": {"source": {"type": "image"}}}, "spec.model.source.image"),
    ({"model": {"source": {"type": "pvc"}}}, "spec.model.source.pvc"),
    ({"model": {"source": {"type": "pvc", "pvc": {"claimName": "m", "path": "../x"}}}},
     "spec.model.source.pvc.path"),
    ({"model": {"sha256": "sha256:abc"}}, "spec.model.sha256"),
    ({"httpRoute": ROUTED, "canary": {"weight": 5, "model": {"sha256": "F" * 64}}},
     "spec.canary.model.sha256"),
    ({"httpRoute": ROUTED, "canary": {"weight": 5, "analysis": {"maxErrorRatio": 2}}},
     "spec.canary.analysis.maxErrorRatio"),
])
def test_bad_integration_fields_are_refused_naming_the_field(
    kubectl: Kubectl, namespace: str, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(KubectlError) as refused:
        apply(kubectl, namespace, tracker("bad", **spec))
    assert field in str(refused.value)


def test_the_keda_example_is_valid_and_scales_the_handtracker(
    cluster: Any, kubectl: Kubectl, namespace: str, operator: Any
) -> None:
    """examples/keda.yaml against KEDA's own CRDs (from its pinned module), and its
    query against the metrics the workload really exports."""
    from handtracker_workload import metrics as workload_metrics
    from prometheus_client.metrics import MetricWrapperBase

    crds.install(cluster, "keda")
    docs = [d for d in yaml.safe_load_all(EXAMPLES.joinpath("keda.yaml").read_text()) if d]
    kubectl("apply", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    target = scaled["spec"]["scaleTargetRef"]
    tracker_doc = next(d for d in docs if d["kind"] == "HandTracker")
    assert (target["kind"], target["name"]) == ("HandTracker", tracker_doc["metadata"]["name"])
    exported = {m._name for m in vars(workload_metrics).values()
                if isinstance(m, MetricWrapperBase)}
    for trigger in scaled["spec"]["triggers"]:
        used = set(re.findall(r"\bhandtracker_[a-z_]+", trigger["metadata"]["query"]))
        assert used and used <= exported, used - exported

    # The HandTracker half, for real: external mode, no autoscaler of the operator's.
    apply(kubectl, namespace, {**tracker_doc, "spec": {**tracker_doc["spec"], **SMALL,
                                                       "monitoring": {}}})
    wait_condition(kubectl, namespace, "hands")
    assert kubectl.json("get", "hpa", "-n", namespace)["items"] == []
