"""The pinned OCI registry (distribution) on loopback: its configuration, and a child
process that serves it for as long as its starter needs it.

`make images` pushes to it and the real node pulls from it; each starts it only when
nothing answers on its address yet, and stops only what it started. The storage is a
cache folder, so pushed blobs outlive the process and a second push of an unchanged
image uploads nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hack import children
from hack.gobuild import locked
from hack.tools import ensure_tool

from .settings import Registry, default_registry

# Seconds a starting registry gets to answer on its address.
START_TIMEOUT = 30.0
# What every distribution registry answers on /v2/; anything else on the port is not one.
API_HEADER = "Docker-Distribution-Api-Version"
ENV = "/usr/bin/env"
TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"


class RegistryError(RuntimeError):
    pass


def config(registry: Registry) -> dict:
    """The registry's configuration (YAML, written as JSON, which YAML reads)."""
    return {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(registry.root)},
            "delete": {"enabled": True},
        },
        # No debug server: it would take a second port.
        "http": {"addr": registry.address},
    }


def config_path(registry: Registry) -> Path:
    return registry.root / "config.json"


def write_config(registry: Registry) -> Path:
    path = config_path(registry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config(registry), indent=2) + "\n")
    return path


def argv(registry: Registry, binary: Path) -> list[str]:
    """The command line that serves `registry` (after write_config), for a process
    started by whoever owns it: a child here, or a cluster's recorded process. env
    execs the registry in its own place, so the PID is the registry's."""
    # distribution v3 exports OpenTelemetry traces to a collector on localhost by
    # default; there is none, and every request would try to reach it.
    return [ENV, f"{TRACES_EXPORTER}=none", str(binary), "serve", str(config_path(registry))]


def answers(registry: Registry, timeout: float = 1.0) -> bool:
    """Whether a registry serves the API on registry's address. Raises RegistryError
    when something else holds the port."""
    try:
        with urllib.request.urlopen(f"{registry.url}/v2/", timeout=timeout) as response:
            served = response.headers.get(API_HEADER)
    except urllib.error.HTTPError as err:
        served = err.headers.get(API_HEADER)
    except (urllib.error.URLError, OSError):
        return False
    if served is None:
        raise RegistryError(f"{registry.address} answers, but is no registry")
    return True


def start(registry: Registry) -> subprocess.Popen:
    """Serves `registry` as a child of this process, returned once it answers."""
    binary = ensure_tool("registry")
    write_config(registry)
    log_path = registry.root / "registry.log"
    with open(log_path, "ab") as log:
        proc = children.start(argv(registry, binary), stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(registry):
        if proc.poll() is not None or time.monotonic() > deadline:
            children.stop([proc])
            tail = log_path.read_text(errors="replace").splitlines()[-10:]
            raise RegistryError(f"the registry on {registry.address} did not start "
                                f"(log {log_path}):\n" + "\n".join(tail))
        time.sleep(0.05)
    return proc


def ensure_running(registry: Registry | None = None) -> subprocess.Popen | None:
    """The registry answering on its address: None when one already does (another
    process owns it), else the child started here, for `stop`."""
    registry = registry or default_registry()
    if answers(registry):
        return None
    # Two starters at once (make images beside a test run): one starts, one finds it.
    with locked(registry.root / "start.lock"):
        return None if answers(registry) else start(registry)


def stop(proc: subprocess.Popen | None) -> None:
    """Stops what ensure_running started; a registry it found running stays."""
    if proc is not None:
        children.stop([proc])


@contextmanager
def running(registry: Registry | None = None) -> Iterator[Registry]:
    """The registry, answering for the duration of the block."""
    registry = registry or default_registry()
    proc = ensure_running(registry)
    try:
        yield registry
    finally:
        stop(proc)
