"""Whether this machine can run the real node, and if not, which prerequisite is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hack.controlplane.network import BRIDGE

from .configs import CNI_BIN_DIR

# Debian packages providing each program (hack/system-deps.sh installs them).
PROGRAMS = {
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "runc": "runc",
    "ip": "iproute2",
    "iptables": "iptables",
    "iptables-save": "iptables",
    "iptables-restore": "iptables",
    "conntrack": "conntrack",
    "socat": "socat",
    "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "loopback")


def missing() -> list[str]:
    """Every unmet prerequisite, in words a person can act on; empty when all is there."""
    problems: list[str] = []
    if os.geteuid() != 0:
        return ["root: the kubelet and containerd need it (run as root)"]
    for program, package in PROGRAMS.items():
        if shutil.which(program) is None:
            problems.append(f"program {program} (Debian package {package})")
    for plugin in CNI_PLUGINS:
        if not (CNI_BIN_DIR / plugin).is_file():
            problems.append(f"CNI plugin {CNI_BIN_DIR / plugin} "
                            "(Debian package containernetworking-plugins)")
    if "overlay" not in Path("/proc/filesystems").read_text():
        problems.append("overlayfs in the kernel (the container runtime's snapshotter)")
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        problems.append("br_netfilter in the kernel (Service traffic between pods)")
    if problems:
        return problems
    problems += _try_links()
    if shutil.which("iptables") and subprocess.run(
        ["iptables", "-w", "5", "-t", "nat", "-S"], capture_output=True, timeout=30
    ).returncode != 0:
        problems.append("netfilter NAT tables (iptables -t nat -S failed)")
    return problems


def _try_links() -> list[str]:
    """Creates and deletes a throwaway bridge and veth pair."""
    problems = []
    probe = f"{BRIDGE}probe"
    for kind, extra in (("bridge", []), ("veth", ["peer", "name", f"{probe}p"])):
        made = subprocess.run(["ip", "link", "add", probe, "type", kind, *extra],
                              capture_output=True, text=True, timeout=30)
        if made.returncode != 0:
            problems.append(f"{kind} network links in the kernel: {made.stderr.strip()}")
        subprocess.run(["ip", "link", "delete", probe], capture_output=True, timeout=30)
    return problems
