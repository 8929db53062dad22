"""Command lines of the control-plane components, all bound to 127.0.0.1.

Kept apart from the orchestration so each flag can carry the reason it is there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .build import Binaries
from .certs import FRONT_PROXY_CLIENT, Credentials
from .network import HOST, KWOK_POD_CIDR, SERVICE_CIDR

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"

# kwok only acts on Nodes carrying this annotation; up() creates them with it.
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")

CONTROLLERS = (
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "endpointslice-controller",
    "horizontal-pod-autoscaler-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    # Publishes kube-root-ca.crt into every namespace (projected token volumes need it).
    "root-ca-certificate-publisher-controller",
    # Fills the aggregated admin/edit/view ClusterRoles that RBAC tests bind to.
    "clusterrole-aggregation-controller",
    # PodDisruptionBudget status.
    "disruption-controller",
)


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> Ports:
        return cls(**{k: int(v) for k, v in data.items()})


@dataclass(frozen=True)
class Layout:
    """Files of one cluster inside its state folder."""

    state_dir: Path

    @property
    def etcd_data(self) -> Path:
        return self.state_dir / "etcd"

    @property
    def pki(self) -> Path:
        return self.state_dir / "pki"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def component_kubeconfig(self, name: str) -> Path:
        return self.pki / f"{name}.kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    # ------------------------------------------------------------ the real node

    @property
    def node(self) -> Path:
        """Configuration and kubelet state of the real node."""
        return self.state_dir / "node"

    @property
    def kubelet_root(self) -> Path:
        return self.node / "kubelet"

    @property
    def run_dir(self) -> Path:
        """containerd's sockets and runtime state: under /run, because a unix socket
        path must stay short wherever the checkout is."""
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:10]
        return Path("/run/handtracker") / digest

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd.sock"


def etcd(bins: Binaries, layout: Layout, ports: Ports) -> list[str]:
    client = f"http://{HOST}:{ports.etcd_client}"
    peer = f"http://{HOST}:{ports.etcd_peer}"
    return [
        str(bins.path("etcd")),
        "--name=default",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        # The data is thrown away with the cluster; fsync would only slow tests down.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver(bins: Binaries, layout: Layout, ports: Ports, creds: Credentials) -> list[str]:
    return [
        str(bins.path("kube-apiserver")),
        f"--etcd-servers=http://{HOST}:{ports.etcd_client}",
        f"--bind-address={HOST}",
        f"--advertise-address={HOST}",
        f"--secure-port={ports.apiserver}",
        f"--tls-cert-file={creds.serving_cert}",
        f"--tls-private-key-file={creds.serving_key}",
        f"--client-ca-file={creds.ca_cert}",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={creds.sa_pub}",
        f"--service-account-signing-key-file={creds.sa_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        # PodSecurity is on by default; named here because the tests rely on it.
        "--enable-admission-plugins=NodeRestriction,PodSecurity",
        # This plugin taints every new Node "not-ready" and relies on the node-lifecycle
        # controller to lift the taint. kwok's Nodes are Ready from the start and that
        # controller (which would also evict pods of nodes without kubelet heartbeats)
        # is not run, so the taint would keep every pod Pending.
        "--disable-admission-plugins=TaintNodesByCondition",
        # Privileged pods are allowed in general so that only Pod Security admission,
        # driven by namespace labels, decides (as on a real cluster).
        "--allow-privileged=true",
        # The loopback address cannot be published as the kubernetes Service's endpoint.
        "--endpoint-reconciler-type=none",
        f"--cert-dir={layout.pki}",
        # The aggregation layer's front proxy. Without it every component logs errors
        # about a missing requestheader CA bundle, burying real problems in the logs.
        f"--requestheader-client-ca-file={creds.front_proxy_ca}",
        f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={creds.front_proxy_client.cert}",
        f"--proxy-client-key-file={creds.front_proxy_client.key}",
        # The real node's kubelet: reached at its InternalIP (there is no DNS for
        # "real-0"), with a client certificate, verifying the kubelet's serving one.
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        f"--kubelet-client-certificate={creds.clients['apiserver-kubelet-client'].cert}",
        f"--kubelet-client-key={creds.clients['apiserver-kubelet-client'].key}",
        f"--kubelet-certificate-authority={creds.ca_cert}",
        # Aggregated APIs (metrics.k8s.io) are called at their endpoint's address, not
        # through a Service IP that only kube-proxy's rules would resolve.
        "--enable-aggregator-routing=true",
    ]


def controller_manager(
    bins: Binaries, layout: Layout, ports: Ports, creds: Credentials
) -> list[str]:
    kubeconfig = layout.component_kubeconfig("controller-manager")
    return [
        str(bins.path("kube-controller-manager")),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={HOST}",
        f"--secure-port={ports.controller_manager}",
        f"--cert-dir={layout.pki / 'controller-manager'}",
        "--leader-elect=false",
        f"--controllers={','.join(CONTROLLERS)}",
        # Each controller acts with its own service account and bootstrap RBAC role.
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={creds.sa_key}",
        f"--root-ca-file={creds.ca_cert}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        # The HPA acts on fresh metrics sooner than the 15 s default: tests wait less.
        "--horizontal-pod-autoscaler-sync-period=5s",
        # At the default 20 requests/s the controllers, not the operator, would set the
        # pace when hundreds of HandTrackers start at once (benchmarks/bench_operator.py).
        "--kube-api-qps=200",
        "--kube-api-burst=400",
    ]


def scheduler(bins: Binaries, layout: Layout, ports: Ports) -> list[str]:
    kubeconfig = layout.component_kubeconfig("scheduler")
    return [
        str(bins.path("kube-scheduler")),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={HOST}",
        f"--secure-port={ports.scheduler}",
        f"--cert-dir={layout.pki / 'scheduler'}",
        "--leader-elect=false",
        # Like the controller-manager's: the bed must not set the pace of a benchmark.
        "--kube-api-qps=200",
        "--kube-api-burst=400",
    ]


def kwok(bins: Binaries, layout: Layout) -> list[str]:
    key, value = KWOK_NODE_ANNOTATION
    return [
        str(bins.path("kwok")),
        f"--kubeconfig={layout.component_kubeconfig('admin')}",
        f"--config={bins.kwok_stages}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={key}={value}",
        f"--cidr={KWOK_POD_CIDR}",
        f"--node-ip={HOST}",
    ]
