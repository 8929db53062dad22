"""Builds the pinned control-plane binaries with Go into a cache folder outside git.

Layout of one cache entry (`<cache>/<pins-hash>/`):
  bin/                finished binaries; present only once every binary was built
  bin.partial/        binaries of an interrupted build, reused on the next run
  kwok-stages.yaml    kwok's own "fast" node and pod stages, from the pinned module
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hack.gobuild import BuildError, Toolchain, find_go, locked, source_dir

from .paths import GO_MODULES_DIR, cache_root
from .pins import BINARIES, BINARY_NAMES, GoBinary, kubernetes_version, pins_hash

# kwok exits with "no stages found" without these; node-initialize marks our fake
# Nodes Ready once, and the pod stages take pods through Running/Ready and deletion.
KWOK_STAGE_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


@dataclass(frozen=True)
class Binaries:
    """A finished cache entry."""

    root: Path

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def kwok_stages(self) -> Path:
        return self.root / "kwok-stages.yaml"

    def path(self, name: str) -> Path:
        return self.bin_dir / name

    def complete(self) -> bool:
        return self.kwok_stages.is_file() and all(
            os.access(self.path(n), os.X_OK) for n in BINARY_NAMES
        )


def ldflags(binary: GoBinary) -> str:
    flags = ["-s", "-w"]
    if binary.kube_version_stamp:
        version = kubernetes_version()
        major, minor = version.lstrip("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X {pkg}.gitVersion={version}",
                f"-X {pkg}.gitMajor={major}",
                f"-X {pkg}.gitMinor={minor}",
                f"-X {pkg}.gitTreeState=clean",
            ]
    return " ".join(flags)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _build_group(group: list[GoBinary], out_dir: Path, toolchain: Toolchain) -> None:
    """Builds binaries of one module in one `go build`: on few cores, their link
    steps then overlap with compiling instead of running one after another."""
    names = ", ".join(b.name for b in group)
    started = time.monotonic()
    _log(f"building {names} ...")
    # One -o per invocation: a file for a single binary, the folder for several.
    target = str(out_dir / group[0].name) if len(group) == 1 else f"{out_dir}/"
    cmd = [
        str(toolchain.go), "build", "-trimpath", f"-ldflags={ldflags(group[0])}",
        "-o", target, *(b.package for b in group),
    ]
    result = subprocess.run(cmd, cwd=GO_MODULES_DIR / group[0].module, env=toolchain.env())
    if result.returncode != 0:
        for binary in group:
            (out_dir / binary.name).unlink(missing_ok=True)
        raise BuildError(f"building {names} failed (exit {result.returncode})")
    _log(f"built {names} in {time.monotonic() - started:.0f} s")


def _missing_by_module(out_dir: Path) -> list[list[GoBinary]]:
    """Binaries not built yet, grouped by module (same module means same ldflags)."""
    groups: dict[str, list[GoBinary]] = {}
    for binary in BINARIES:
        if not os.access(out_dir / binary.name, os.X_OK):
            groups.setdefault(binary.module, []).append(binary)
    return list(groups.values())


def _write_kwok_stages(target: Path, toolchain: Toolchain) -> None:
    module_dir = source_dir(GO_MODULES_DIR / "kwok", "sigs.k8s.io/kwok", toolchain)
    docs = [(module_dir / rel).read_text().strip() for rel in KWOK_STAGE_FILES]
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n---\n".join(docs) + "\n")
    tmp.replace(target)


def ensure_built() -> Binaries:
    """Returns the cache entry for the current pins, building what is missing."""
    toolchain = find_go()
    root = cache_root() / pins_hash(toolchain.version)
    binaries = Binaries(root)
    if binaries.complete():
        return binaries
    with locked(root / "lock"):
        if binaries.complete():
            return binaries
        started = time.monotonic()
        partial = root / "bin.partial"
        partial.mkdir(exist_ok=True)
        for group in _missing_by_module(partial):
            _build_group(group, partial, toolchain)
        _write_kwok_stages(binaries.kwok_stages, toolchain)
        if binaries.bin_dir.exists():
            shutil.rmtree(binaries.bin_dir)
        partial.rename(binaries.bin_dir)
        _log(f"control-plane binaries ready in {time.monotonic() - started:.0f} s")
    return binaries


def cached() -> Binaries | None:
    """The cache entry for the current pins if it is complete, without building."""
    binaries = Binaries(cache_root() / pins_hash(find_go().version))
    return binaries if binaries.complete() else None
