"""Addresses of the local cluster, declared once.

Every listener is on 127.0.0.1, except those of the real node, which sit on the
node's own address: a bridge that exists only on this machine and carries only
the node's pods.
"""

from __future__ import annotations

import ipaddress
import socket

HOST = "127.0.0.1"

# Distinct ranges: kwok's default pod range (10.0.0.0/24) would overlap a 10.0.0.0/24
# service range, so kwok's fake pods get 10.244.0.0/16 and Services 10.96.0.0/16.
SERVICE_CIDR = "10.96.0.0/16"
KWOK_POD_CIDR = "10.244.0.1/16"
# The apiserver gives the `kubernetes` Service the first address of the range.
KUBERNETES_SERVICE_IP = str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))

# The real node: its pods live in a range apart from kwok's fake one, on a bridge
# whose own address is the node's InternalIP (the kubelet, metrics-server and the
# apiserver relay listen there, and pods use it as their gateway).
NODE_NAME = "real-0"
BRIDGE = "htbr0"
POD_SUBNET = "10.245.0.0/24"
NODE_IP = "10.245.0.1"
KUBELET_PORT = 10250
METRICS_SERVER_PORT = 4443
# Where pods reach kube-apiserver: a relay on the node address forwards to the
# loopback listener, and the `kubernetes` Service's EndpointSlice points here.
APISERVER_RELAY_PORT = 6443


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for 127.0.0.1, all held open at once so they differ."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
