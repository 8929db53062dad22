"""Configuration files and command lines of the real node's processes (pure functions).

Kept apart from starting them, so each setting can carry the reason it is there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hack.controlplane.certs import Credentials
from hack.controlplane.components import Layout
from hack.controlplane.network import (
    APISERVER_RELAY_PORT,
    BRIDGE,
    HOST,
    KUBELET_PORT,
    METRICS_SERVER_PORT,
    NODE_IP,
    NODE_NAME,
    POD_SUBNET,
)
from hack.controlplane.pins import kubernetes_version
from hack.gobuild import cache_dir

CNI_BIN_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
# The kubelet registers the node with this taint and label: only pods that ask for
# the real node (tolerate it and select it) run there; everything else stays on kwok.
NODE_TAINT = {"key": "handtracking.dev/real-node", "value": "true", "effect": "NoSchedule"}
NODE_LABEL = ("handtracking.dev/node", "real")


@dataclass(frozen=True)
class NodePorts:
    """Loopback ports of the node's health and metrics endpoints."""

    kubelet_healthz: int
    proxy_healthz: int
    proxy_metrics: int

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> NodePorts:
        return cls(**{k: int(v) for k, v in data.items()})


def containerd_root() -> Path:
    """Images and snapshots outlive a cluster: a warm `up` then imports nothing."""
    return cache_dir("containerd")


def sandbox_image() -> str:
    """The kubelet's sandbox ("pause") image, from the pinned Kubernetes release
    (hack/images builds it under this name), e.g. localhost/pause:v1.36.3."""
    return f"localhost/pause:{kubernetes_version()}"


def registry_hosts_dir(layout: Layout) -> Path:
    """Where containerd reads registry hosts from (`config_path`): one folder per
    host:port with a hosts.toml, written by whoever runs a registry for the node (the
    bed). Empty, containerd pulls from nowhere it was not told of."""
    return layout.node / "certs.d"


def containerd_config(layout: Layout, sandbox_image: str) -> str:
    return f"""version = 2
root = "{containerd_root()}"
state = "{layout.run_dir / 'state'}"

[grpc]
  address = "{layout.containerd_socket}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # This machine's root lacks CAP_SYS_RESOURCE: without the clamp, runc fails to set
  # the sandbox's oom_score_adj of -998 and no pod starts.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # The kubelet uses the cgroupfs driver: no systemd runs here.
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{layout.node / 'cni'}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{registry_hosts_dir(layout)}"
"""


def cni_conflist(layout: Layout) -> str:
    return json.dumps(
        {
            "cniVersion": "0.4.0",
            "name": "handtracker",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    # Pods reach each other through their own Service (hairpin).
                    "hairpinMode": True,
                    # Traffic from pods to the outside is not NATed: nothing leaves the machine.
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_SUBNET, "gateway": NODE_IP}]],
                        # Address leases live with the cluster, not in /var/lib/cni.
                        "dataDir": str(layout.node / "ipam"),
                        "routes": [{"dst": "0.0.0.0/0"}],
                    },
                },
            ],
        },
        indent=2,
    )


def kubelet_config(layout: Layout, creds: Credentials, ports: NodePorts) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": HOST,
        "healthzPort": ports.kubelet_healthz,
        # Only the apiserver (client certificate) and RBAC-authorised users get in.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(creds.ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(creds.node_serving.cert),
        "tlsPrivateKeyFile": str(creds.node_serving.key),
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        # This machine has cgroup v1 (hybrid) and no systemd; kubelet 1.35+ refuses
        # cgroup v1 unless told otherwise.
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "podLogsDir": str(layout.node / "pod-logs"),
        "registerWithTaints": [NODE_TAINT],
        "maxPods": 30,
        "serializeImagePulls": False,
        "resolvConf": "/etc/resolv.conf",
        # Disk and memory are shared with the whole machine: evict only near the end.
        "evictionHard": {
            "memory.available": "200Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
        },
        # Images are pulled once, verified, by the bed, never by the kubelet: never
        # garbage-collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # Quicker reaction to container state changes than the 1 m default.
        "syncFrequency": "10s",
        "shutdownGracePeriod": "0s",
    }


def kube_proxy_config(layout: Layout, ports: NodePorts) -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.component_kubeconfig("kube-proxy"))},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": POD_SUBNET,
        "healthzBindAddress": f"{HOST}:{ports.proxy_healthz}",
        "metricsBindAddress": f"{HOST}:{ports.proxy_metrics}",
        # NodePorts answer on the node's own address only, never on the machine's others.
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "iptables": {"localhostNodePorts": False},
        # Leave the machine's conntrack sysctls alone (0 = do not set).
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def containerd_argv(layout: Layout) -> list[str]:
    return ["containerd", f"--config={layout.node / 'containerd.toml'}"]


def kubelet_argv(bin_dir: Path, layout: Layout) -> list[str]:
    return [
        str(bin_dir / "kubelet"),
        f"--config={layout.node / 'kubelet.yaml'}",
        f"--kubeconfig={layout.component_kubeconfig('kubelet')}",
        f"--root-dir={layout.kubelet_root}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={NODE_IP}",
        f"--node-labels={NODE_LABEL[0]}={NODE_LABEL[1]}",
        "--v=1",
    ]


def kube_proxy_argv(bin_dir: Path, layout: Layout) -> list[str]:
    return [str(bin_dir / "kube-proxy"), f"--config={layout.node / 'kube-proxy.yaml'}"]


def metrics_server_argv(bin_dir: Path, layout: Layout, creds: Credentials) -> list[str]:
    kubeconfig = layout.component_kubeconfig("metrics-server")
    return [
        str(bin_dir / "metrics-server"),
        f"--bind-address={NODE_IP}",
        f"--secure-port={METRICS_SERVER_PORT}",
        f"--tls-cert-file={creds.node_serving.cert}",
        f"--tls-private-key-file={creds.node_serving.key}",
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-certificate-authority={creds.ca_cert}",
        # kwok's Nodes have no kubelet to scrape.
        f"--node-selector={NODE_LABEL[0]}={NODE_LABEL[1]}",
        # A short resolution (it must exceed the kubelet request timeout): HPA tests
        # react sooner than with the 15 s default.
        "--metric-resolution=10s",
        "--kubelet-request-timeout=5s",
    ]


def relay_argv(apiserver_port: int) -> list[str]:
    """socat forwarding the node address to kube-apiserver's loopback listener.

    TLS passes through untouched: pods verify the apiserver's own certificate.
    """
    return [
        "socat",
        f"TCP-LISTEN:{APISERVER_RELAY_PORT},bind={NODE_IP},fork,reuseaddr",
        f"TCP:{HOST}:{apiserver_port}",
    ]
