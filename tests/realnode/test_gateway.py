"""The bed's real Gateway: Traefik on real-0 programs its Gateway, accepts a HandTracker's
HTTPRoute, and carries a photo to the real pods at the URL the HandTracker reports. No
status here is written by the test: Traefik writes it, as a user's controller would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from hack import node
from hack.bed import gateway
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, condition, get, wait_condition
from tests.realnode.helpers import tracker
from tests.support.waiting import eventually


def test_traefik_accepts_its_gateway_class_and_programs_the_beds_gateway(
    real_node: Any, kubectl: Kubectl
) -> None:
    klass = kubectl.json("get", "gatewayclass", gateway.GATEWAY_CLASS)
    assert condition(klass, "Accepted")["status"] == "True"
    gw = kubectl.json("get", "gateway", gateway.GATEWAY, "-n", gateway.NAMESPACE)
    assert condition(gw, "Programmed")["status"] == "True"
    service = kubectl.json("get", "service", gateway.NAME, "-n", gateway.NAMESPACE)
    # Traefik copies its Service's address into the Gateway's status.
    assert [a["value"] for a in gw["status"]["addresses"]] == [service["spec"]["clusterIP"]]
    (traefik,) = kubectl.json("get", "pods", "-n", gateway.NAMESPACE,
                              "-l", f"app.kubernetes.io/name={gateway.NAME}")["items"]
    assert traefik["spec"]["nodeName"] == node.NODE_NAME


def test_a_handtracker_route_is_accepted_by_traefik_and_serves_a_photo_at_its_url(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any, hands_dir: Path
) -> None:
    apply(kubectl, ns, tracker("routed", httpRoute={"enabled": True,
                                                    "parentRefs": [gateway.parent_ref()]}))
    wait_condition(kubectl, ns, "routed", timeout=180)

    def accepted() -> dict[str, Any] | None:
        ht = get(kubectl, ns, "ht", "routed")
        return ht if condition(ht, "HTTPRouteAccepted").get("status") == "True" else None

    ht = eventually(accepted, timeout=60, interval=0.5, message="Traefik accepts the route")
    route = kubectl.json("get", "httproute", "routed", "-n", ns)
    (parent,) = route["status"]["parents"]
    assert parent["controllerName"] == gateway.CONTROLLER_NAME
    resolved = next(c for c in parent["conditions"] if c["type"] == "ResolvedRefs")
    assert resolved["status"] == "True"
    address = kubectl.json("get", "service", gateway.NAME, "-n", gateway.NAMESPACE)
    assert ht["status"]["url"] == f"http://{address['spec']['clusterIP']}:{gateway.PORT}"

    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()

    def answered() -> requests.Response | None:
        try:
            answer = requests.post(f"{ht['status']['url']}/v1/landmarks", data=photo,
                                   headers={"Content-Type": "image/jpeg"}, timeout=30)
        except requests.RequestException:
            return None
        return answer if answer.status_code == 200 else None

    # Traefik picks up the route's endpoints a moment after accepting it.
    answer = eventually(answered, timeout=30, interval=0.5, message="a photo through Traefik")
    assert len(answer.json()["hands"]) == 1
