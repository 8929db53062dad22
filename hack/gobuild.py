"""Building from pinned Go modules: the toolchain, its environment, the versions a go.mod
pins, the module cache, the hash that names a cache entry, and the lock that keeps two
builds out of one entry.

The bottom layer of the bed: the control plane, the tools and the pause image build on it,
and it imports none of them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Toolchain:
    go: Path
    version: str  # e.g. "go1.26.8"

    @property
    def minor(self) -> int:
        match = re.match(r"go1\.(\d+)", self.version)
        return int(match.group(1)) if match else 0

    def env(self) -> dict[str, str]:
        """The environment every build runs with."""
        env = dict(os.environ)
        env["PATH"] = f"{self.go.parent}{os.pathsep}{env.get('PATH', '')}"
        # Build with the installed Go; never download another toolchain behind our back.
        env["GOTOOLCHAIN"] = "local"
        # go.sum is committed: a build must not silently change it.
        env["GOFLAGS"] = "-mod=readonly"
        env["CGO_ENABLED"] = "0"
        if self.minor >= 27:
            # Go 1.27's JSON rewrite breaks the apiserver's OpenAPI document
            # (kubectl apply then fails with "failed to download openapi").
            env["GOEXPERIMENT"] = ",".join(
                x for x in (env.get("GOEXPERIMENT"), "nojsonv2") if x
            )
        return env


def find_go() -> Toolchain:
    candidates = [os.environ.get("GO"), "/usr/local/go/bin/go", shutil.which("go")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            out = subprocess.run(
                [candidate, "env", "GOVERSION"], capture_output=True, text=True, check=True
            )
            return Toolchain(Path(candidate), out.stdout.strip())
    raise BuildError("Go not found: install Go >= 1.26 or set GO=/path/to/go")


def required_version(module_dir: Path, dependency: str) -> str:
    """The version of `dependency` that module_dir/go.mod requires, e.g. "v1.36.3"."""
    text = (module_dir / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(dependency)}\s+(v\S+)", text, re.M)
    if not match:
        raise BuildError(f"{dependency} is not required in {module_dir}/go.mod")
    return match.group(1)


def source_dir(module_dir: Path, dependency: str, toolchain: Toolchain | None = None) -> Path:
    """The pinned dependency's source in the Go module cache, downloaded (and checked
    against the committed go.sum) if it is not there yet."""
    toolchain = toolchain or find_go()
    out = subprocess.run(
        [str(toolchain.go), "mod", "download", "-json", dependency],
        cwd=module_dir, env=toolchain.env(), capture_output=True, text=True, timeout=600,
    )
    if out.returncode != 0:
        raise BuildError(f"go mod download {dependency} failed: {out.stderr.strip()}")
    return Path(json.loads(out.stdout)["Dir"])


def pins_hash(header: str, parts: Iterable[bytes], length: int) -> str:
    """The name of a cache entry: a short hash of the recipe (header) and every input
    that decides what gets built, so a changed pin never reuses a stale entry."""
    digest = hashlib.sha256(header.encode())
    for part in parts:
        digest.update(part)
    return digest.hexdigest()[:length]


def cache_home() -> Path:
    """~/.cache/handtracker (XDG_CACHE_HOME moves ~/.cache)."""
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "handtracker"


def cache_dir(name: str, override_variable: str | None = None) -> Path:
    """One cache of the bed, `cache_home()/name` unless the variable names another."""
    override = os.environ.get(override_variable) if override_variable else None
    return Path(override).expanduser().resolve() if override else cache_home() / name


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on `path` (created if missing): two builds or two
    `up`s at once must not work in one folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
