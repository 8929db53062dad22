"""Pinned Go tools for the packaging and monitoring tests (helm, promtool), the bed
(Traefik), the images' supply chain (the OCI registry, cosign, syft) and CRDs of
other projects (Gateway API, prometheus-operator), each from a Go module pinned under
`hack/tools/go/<name>/`, cached apart from the control plane's binaries.

Command line: `python -m hack.tools build|path <tool>`, `python -m hack.tools crds
install|remove <set>`. Python: `ensure_tool(name) -> Path`, `crds.install(cluster, name)`.
"""

from .build import TOOLS, ensure_tool

__all__ = ["TOOLS", "ensure_tool"]
