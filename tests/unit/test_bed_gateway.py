"""The bed's Gateway manifests fit together: Traefik serves the listener's port, its
Service has the address Traefik reports, and nothing calls out of the machine."""

from __future__ import annotations

import ipaddress

from hack import node
from hack.bed import gateway
from hack.controlplane.network import SERVICE_CIDR

OBJECTS = {(o["kind"], o["metadata"]["name"]): o
           for o in gateway.manifests("localhost/traefik:test", node.placement())}


def test_the_listener_the_entry_point_and_the_service_share_one_port() -> None:
    (listener,) = OBJECTS[("Gateway", gateway.GATEWAY)]["spec"]["listeners"]
    assert f"--entrypoints.web.address=:{listener['port']}" in gateway.args()
    (port,) = OBJECTS[("Service", gateway.NAME)]["spec"]["ports"]
    assert port["port"] == listener["port"]
    assert listener["allowedRoutes"] == {"namespaces": {"from": "All"}}


def test_the_reported_address_is_the_services_fixed_cluster_ip_in_the_static_band() -> None:
    service = OBJECTS[("Service", gateway.NAME)]
    assert service["spec"]["clusterIP"] == gateway.address()
    assert f"--providers.kubernetesgateway.statusaddress.ip={gateway.address()}" in gateway.args()
    network = ipaddress.ip_network(SERVICE_CIDR)
    # The API server hands out the lowest min(max(16, size/16), 256) addresses last.
    assert int(ipaddress.ip_address(gateway.address())) - int(network.network_address) < 256


def test_traefik_runs_on_the_real_node_without_calling_out() -> None:
    pod = OBJECTS[("Deployment", gateway.NAME)]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == node.placement()["nodeSelector"]
    assert "--global.checknewversion=false" in gateway.args()
    assert "--global.sendanonymoususage=false" in gateway.args()
    assert pod["containers"][0]["imagePullPolicy"] == "Never"
    klass = OBJECTS[("GatewayClass", gateway.GATEWAY_CLASS)]
    assert klass["spec"]["controllerName"] == gateway.CONTROLLER_NAME
