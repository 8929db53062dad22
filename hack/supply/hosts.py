"""What a containerd needs to pull from the registry: a hosts.toml in the folder its CRI
plugin reads registry hosts from (`config_path`), which says the registry speaks plain
HTTP and serves pulls only."""

from __future__ import annotations

from pathlib import Path

from .settings import Registry


def hosts_toml(registry: Registry) -> str:
    """The registry's hosts.toml (containerd >= 1.5)."""
    return f"""# The bed's registry on loopback: plain HTTP, pulls only.
server = "{registry.url}"

[host."{registry.url}"]
  capabilities = ["pull", "resolve"]
"""


def hosts_path(config_path: Path, registry: Registry) -> Path:
    """Where containerd looks for the registry's hosts.toml: one folder per host:port."""
    return config_path / registry.address / "hosts.toml"


def write_hosts(config_path: Path, registry: Registry) -> Path:
    path = hosts_path(config_path, registry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(hosts_toml(registry))
    return path


def containerd_registry_section(config_path: Path) -> str:
    """The lines a version-2 containerd config adds so its CRI plugin reads hosts.toml
    files from config_path."""
    return f"""
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{config_path}"
"""
