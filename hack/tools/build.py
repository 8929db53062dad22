"""Builds one pinned Go tool into `<cache>/tools/<tool>-<hash>/<tool>`.

The hash covers the tool's go.mod/go.sum, the Go version and the recipe, so a pin
change builds a new entry and leaves the control plane's cache (and its hash) alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hack.gobuild import BuildError, cache_dir, find_go, locked, pins_hash, required_version

GO_DIR = Path(__file__).resolve().parent / "go"
RECIPE_VERSION = "2"


@dataclass(frozen=True)
class GoTool:
    name: str
    package: str  # the main package, named by a `tool` line in go/<name>/go.mod
    module: str  # whose pinned version `--version` reports
    version_var: str  # the string variable that holds it (set with -X)
    version_prefix: str = "v"


TOOLS: dict[str, GoTool] = {
    tool.name: tool
    for tool in (
        GoTool("helm", "helm.sh/helm/v4/cmd/helm", "helm.sh/helm/v4",
               "helm.sh/helm/v4/internal/version.version"),
        # Prometheus 3.x is published as module versions v0.3xx.y; promtool shows that.
        GoTool("promtool", "github.com/prometheus/prometheus/cmd/promtool",
               "github.com/prometheus/prometheus", "github.com/prometheus/common/version.Version",
               version_prefix=""),
        # The Gateway API implementation the bed runs on the real node (hack/bed/gateway.py).
        GoTool("traefik", "github.com/traefik/traefik/v3/cmd/traefik",
               "github.com/traefik/traefik/v3", "github.com/traefik/traefik/v3/pkg/version.Version",
               version_prefix=""),
        # The bed's image registry on loopback (hack/supply/registry.py).
        GoTool("registry", "github.com/distribution/distribution/v3/cmd/registry",
               "github.com/distribution/distribution/v3",
               "github.com/distribution/distribution/v3/version.version"),
        # Signs the images and attests their SBOMs with a local key (hack/supply/).
        GoTool("cosign", "github.com/sigstore/cosign/v3/cmd/cosign",
               "github.com/sigstore/cosign/v3", "sigs.k8s.io/release-utils/version.gitVersion"),
        # Writes each image's SBOM (hack/supply/sbom.py).
        GoTool("syft", "github.com/anchore/syft/cmd/syft", "github.com/anchore/syft",
               "main.version"),
    )
}


def _tool(name: str) -> GoTool:
    if name not in TOOLS:
        raise BuildError(f"unknown tool {name!r}; known: {', '.join(TOOLS)}")
    return TOOLS[name]


def pinned_version(tool: GoTool) -> str:
    return tool.version_prefix + required_version(GO_DIR / tool.name, tool.module)[1:]


def ldflags(tool: GoTool) -> str:
    # -s -w: no symbol tables; -X: `<tool> version` names the pinned release.
    return f"-s -w -X {tool.version_var}={pinned_version(tool)}"


def tools_cache() -> Path:
    # Beside, not inside, the control plane's per-hash folders.
    return cache_dir("tools")


def tool_hash(name: str, go_version: str) -> str:
    parts = ((GO_DIR / name / file).read_bytes() for file in ("go.mod", "go.sum"))
    return pins_hash(f"{RECIPE_VERSION}\n{go_version}\n", parts, 12)


def tool_path(name: str) -> Path:
    """Where the tool's binary is (or will be) for the current pins and Go."""
    _tool(name)
    return tools_cache() / f"{name}-{tool_hash(name, find_go().version)}" / name


def ensure_tool(name: str) -> Path:
    """The tool's binary, built first if this pin has none yet."""
    tool = _tool(name)
    toolchain = find_go()
    target = tools_cache() / f"{name}-{tool_hash(name, toolchain.version)}" / name
    if os.access(target, os.X_OK):
        return target
    with locked(target.parent / "lock"):
        if os.access(target, os.X_OK):
            return target
        started = time.monotonic()
        print(f"building {name} ...", file=sys.stderr, flush=True)
        partial = target.with_suffix(".partial")
        result = subprocess.run(
            [str(toolchain.go), "build", "-trimpath", f"-ldflags={ldflags(tool)}",
             "-o", str(partial), tool.package],
            cwd=GO_DIR / name, env=toolchain.env(),
        )
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BuildError(f"building {name} failed (exit {result.returncode})")
        partial.replace(target)
        print(f"built {name} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return target
