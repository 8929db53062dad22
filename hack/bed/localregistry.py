"""The bed's registry (hack/supply/) as a member of the cluster: launched and recorded
by the cluster like its other processes, so `down` stops it and leaves nothing behind.

A registry that answers on its address already (one a build or another cluster started)
is used as it is and left alone; this member then joins with nothing to stop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from hack import node
from hack.controlplane import ClusterError, Handle
from hack.controlplane.components import Layout
from hack.controlplane.processes import ProcessRecord, stop
from hack.gobuild import locked
from hack.supply import registry
from hack.supply.registry import RegistryError
from hack.supply.settings import default_registry
from hack.tools import ensure_tool

# Its part of the cluster's state file, and its process's name.
NAME = "registry"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalRegistry:
    name: str = NAME
    process_names: tuple[str, ...] = (NAME,)

    def join(self, handle: Handle) -> None:
        # Only the real node pulls; kwok's nodes run no image.
        if not node.wanted()[0]:
            return
        served = default_registry()
        try:
            # The lock supply's own starters take: one registry, whoever starts it.
            with locked(served.root / "start.lock"):
                if registry.answers(served):
                    log.info("the registry on %s answers already: using it", served.address)
                    return
                handle.record(**{NAME: {"address": served.address}})
                registry.write_config(served)
                handle.launch(NAME, registry.argv(served, ensure_tool("registry")))
                handle.wait_for(f"the registry on {served.address}",
                                lambda: registry.answers(served))
        except RegistryError as err:
            raise ClusterError(str(err)) from err

    def leave(self, layout: Layout, state: dict | None, records: list[ProcessRecord],
              bin_dir: Path | None) -> list[str]:
        return stop(records)
