"""The real node `real-0`: containerd, kubelet, kube-proxy and metrics-server on this machine.

It joins the local control plane (hack/controlplane/) beside the kwok nodes, as a
`Member` given to `up`; its containerd pulls the project's images afterwards, from the
registry whose hosts.toml a layer above writes into `registry_hosts(cluster)`. Its pods
are real containers in network namespaces on a bridge that exists only on this machine.
It is tainted, so only pods that tolerate the taint and select the node run there;
everything else stays on kwok. One real node per machine: the bridge, the node address
and the iptables chains are machine-wide.

HANDTRACKER_REAL_NODE chooses: `auto` (default) adds the node where the machine
can run it and otherwise says what is missing and carries on with kwok only
(under CI=true a missing prerequisite is an error); `1` requires it; `0` never
adds it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from hack.controlplane import api
from hack.controlplane.cluster import Cluster, ClusterError, Handle
from hack.controlplane.components import Layout
from hack.controlplane.network import HOST, NODE_NAME, free_ports
from hack.controlplane.processes import ProcessRecord, is_running, stop

from . import configs, host, objects, prereqs
from .configs import NODE_LABEL, NODE_TAINT, NodePorts, sandbox_image

__all__ = [
    "NAME", "NODE_LABEL", "NODE_NAME", "NODE_TAINT", "PROCESS_NAMES", "NodeError", "RealNode",
    "mode", "placement", "registry_hosts", "runs_in", "sandbox_image",
]

log = logging.getLogger(__name__)

# In the order they start; tear-down goes the other way, with the pods removed
# between stopping the kubelet and stopping containerd.
PROCESS_NAMES = ("containerd", "apiserver-relay", "kube-proxy", "kubelet", "metrics-server")
OWNER_FILE = Path("/run/handtracker/real-node-owner")
# Its part of the cluster's state file.
NAME = "node"


class NodeError(ClusterError):
    """The real node could not be started, or is in use by another cluster."""


def mode() -> str:
    """`auto`, `on` or `off`, from HANDTRACKER_REAL_NODE."""
    value = os.environ.get("HANDTRACKER_REAL_NODE", "auto").strip().lower()
    if value in ("0", "off", "false", "no"):
        return "off"
    if value in ("1", "on", "true", "yes"):
        return "on"
    return "auto"


def wanted() -> tuple[bool, str]:
    """(start the node?, why not). Raises NodeError where its absence is an error."""
    chosen = mode()
    if chosen == "off":
        return False, "HANDTRACKER_REAL_NODE=0"
    problems = prereqs.missing()
    if not problems:
        return True, ""
    text = "the real node cannot run here; missing: " + "; ".join(problems)
    if chosen == "on" or os.environ.get("CI", "").lower() == "true":
        raise NodeError(text)
    return False, text


def placement() -> dict:
    """Pod spec fields (also HandTracker spec fields) that put pods on the real node."""
    key, value = NODE_LABEL
    return {"nodeSelector": {key: value}, "tolerations": [{**NODE_TAINT, "operator": "Equal"}]}


def registry_hosts(cluster: Cluster) -> Path:
    """The folder of registry hosts (hosts.toml) the node's containerd pulls with."""
    return configs.registry_hosts_dir(Layout(cluster.state_dir))


def runs_in(cluster: Cluster) -> bool:
    """Whether the real node joined this cluster."""
    return NAME in cluster.joined


@dataclass(frozen=True)
class RealNode:
    """The real node as a member of the control plane (`controlplane.up(members=...)`)."""

    name: str = NAME
    process_names: tuple[str, ...] = PROCESS_NAMES

    def join(self, handle: Handle) -> None:
        start_node, why_not = wanted()
        if start_node:
            _start(handle)
        else:
            log.warning("kwok nodes only: %s", why_not)

    def leave(self, layout: Layout, state: dict | None, records: list[ProcessRecord],
              bin_dir: Path | None) -> list[str]:
        return teardown(layout, state, records, bin_dir)


def _start(handle: Handle) -> None:
    """Starts the node; its state goes into the cluster's state file before the first
    change to the machine, so `down` can undo a half-started node."""
    layout = handle.layout
    _claim(layout)
    layout.node.mkdir(parents=True, exist_ok=True)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    ports = NodePorts(*free_ports(3))
    handle.record(**{NAME: {
        "sysctls": host.read_sysctls(),
        "folders": host.existing_folders(),
        "netns": host.pod_netns(),
        "ports": ports.to_json(),
    }})

    host.set_sysctls(host.SYSCTLS)
    host.create_bridge()
    _write_configs(handle, ports)

    handle.launch("containerd", configs.containerd_argv(layout))
    handle.wait_for("containerd", lambda: _containerd_answers(layout))

    handle.kubectl("apply", "--server-side", "-f", "-", input=_list(
        [objects.apiserver_endpoints(), *objects.metrics_server(handle.creds.ca_cert)]
    ))
    bin_dir = handle.bins.bin_dir
    handle.launch("apiserver-relay", configs.relay_argv(handle.ports.apiserver))
    handle.launch("kube-proxy", configs.kube_proxy_argv(bin_dir, layout))
    handle.launch("kubelet", configs.kubelet_argv(bin_dir, layout))
    handle.launch("metrics-server", configs.metrics_server_argv(bin_dir, layout, handle.creds))

    insecure = api.insecure_context()
    handle.wait_for(
        "kube-proxy /healthz",
        lambda: api.get(f"http://{HOST}:{ports.proxy_healthz}/healthz", insecure)[0] == 200,
    )
    handle.wait_for(f"Node {NODE_NAME} to be Ready", lambda: _node_ready(handle))


def teardown(
    layout: Layout, state: dict | None, records: list[ProcessRecord], bin_dir: Path | None
) -> list[str]:
    """Stops the node's processes and restores the machine. Returns what was running."""
    by_name = {r.name: r for r in records}
    stopped = stop([by_name[n] for n in ("metrics-server", "kubelet") if n in by_name])
    containerd = by_name.get("containerd")
    if containerd and is_running(containerd) and bin_dir:
        _remove_pods(layout, bin_dir)
    stopped += stop([by_name[n] for n in ("kube-proxy", "apiserver-relay", "containerd")
                     if n in by_name])
    shims = host.kill_shims(layout.containerd_socket)
    if shims:
        log.info("stopped %d container shim(s) left running", len(shims))
    host.unmount_below(layout.kubelet_root, layout.run_dir)
    host.remove_pod_netns((state or {}).get("netns", []))
    host.remove_chains()
    host.remove_bridge()
    host.remove_kubepods_cgroups()
    if state and state.get("sysctls"):
        host.set_sysctls(state["sysctls"])
    if state and "folders" in state:
        host.remove_new_folders(state["folders"])
    _release(layout)
    host.remove_folder(layout.run_dir)
    host.remove_empty_folders(Path("/run/containerd"))
    return stopped


# ---------------------------------------------------------------- helpers


def _claim(layout: Layout) -> None:
    """One real node per machine: refuses if another live cluster runs it."""
    OWNER_FILE.parent.mkdir(parents=True, exist_ok=True)
    if OWNER_FILE.exists():
        owner = Path(OWNER_FILE.read_text().strip())
        if owner != layout.state_dir and _owner_alive(owner):
            raise NodeError(
                f"the real node is in use by the cluster in {owner}; take that one down or "
                "set HANDTRACKER_REAL_NODE=0 for a cluster with kwok nodes only"
            )
    OWNER_FILE.write_text(str(layout.state_dir))


def _owner_alive(owner_state_dir: Path) -> bool:
    try:
        state = json.loads(Layout(owner_state_dir).state_file.read_text())
    except (OSError, ValueError):
        return False
    return any(
        p["name"] == "containerd" and is_running(ProcessRecord.from_json(p))
        for p in state.get("processes", [])
    )


def _release(layout: Layout) -> None:
    try:
        if Path(OWNER_FILE.read_text().strip()) == layout.state_dir:
            OWNER_FILE.unlink()
    except OSError:
        pass


def _write_configs(handle: Handle, ports: NodePorts) -> None:
    layout = handle.layout
    containerd = configs.containerd_config(layout, sandbox_image())
    (layout.node / "containerd.toml").write_text(containerd)
    cni = layout.node / "cni"
    cni.mkdir(exist_ok=True)
    configs.registry_hosts_dir(layout).mkdir(exist_ok=True)
    (cni / "10-handtracker.conflist").write_text(configs.cni_conflist(layout))
    (layout.node / "kubelet.yaml").write_text(
        yaml.safe_dump(configs.kubelet_config(layout, handle.creds, ports))
    )
    (layout.node / "kube-proxy.yaml").write_text(
        yaml.safe_dump(configs.kube_proxy_config(layout, ports))
    )


def _containerd_answers(layout: Layout) -> bool:
    if not layout.containerd_socket.exists():
        return False
    result = subprocess.run(["ctr", "-a", str(layout.containerd_socket), "version"],
                            capture_output=True, timeout=30)
    return result.returncode == 0


def _node_ready(handle: Handle) -> bool:
    creds = handle.creds
    admin = api.client_context(creds.ca_cert, creds.clients["admin"].cert,
                               creds.clients["admin"].key)
    node = api.get_json(f"{handle.server}/api/v1/nodes/{NODE_NAME}", admin)
    conditions = ((node or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _remove_pods(layout: Layout, bin_dir: Path) -> None:
    """Stops and removes every pod sandbox through the CRI, so the runtime also runs
    each pod's network tear-down (veth, IP address, netns)."""
    result = subprocess.run(
        [str(bin_dir / "crictl"), f"--runtime-endpoint=unix://{layout.containerd_socket}",
         "--timeout=30s", "rmp", "--all", "--force"],
        capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        log.warning("crictl rmp failed: %s", result.stderr.strip())


def _list(items: list[dict]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
