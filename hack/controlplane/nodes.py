"""The fake Nodes kwok manages: 3 nodes of 4 CPU / 8 GiB / 100 GiB of local disk each."""

from __future__ import annotations

from .components import KWOK_NODE_ANNOTATION

NODE_COUNT = 3
# A kubelet reports its local disk as ephemeral-storage; pods that request some (the
# workload's do) fit only on nodes that report it.
NODE_CAPACITY = {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "100Gi", "pods": "110"}


def node_names() -> list[str]:
    return [f"kwok-node-{i}" for i in range(NODE_COUNT)]


def manifest(names: list[str] | None = None) -> dict:
    """A v1 List of the Node objects (ours, or `names`), with capacity set at creation
    (kwok keeps it)."""
    key, value = KWOK_NODE_ANNOTATION
    items = []
    for name in names or node_names():
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {key: value},
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "type": "kwok",
                    },
                },
                "status": {
                    "capacity": dict(NODE_CAPACITY),
                    "allocatable": dict(NODE_CAPACITY),
                },
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items}


def all_ready(node_list: dict | None) -> bool:
    """True when every one of our Nodes reports Ready=True."""
    if not node_list:
        return False
    ready = {
        item["metadata"]["name"]
        for item in node_list.get("items", [])
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in item.get("status", {}).get("conditions", [])
        )
    }
    return set(node_names()) <= ready
