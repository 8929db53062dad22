"""What the real node changes on this machine, and how each change is undone.

Set-up records the sysctls it changes in the cluster's state file before changing
them; tear-down puts them back and removes what the node's processes left behind:
iptables chains (kube-proxy's and the kubelet's KUBE-*, the CNI plugin's CNI-*), the
bridge, pod network namespaces, mounts under the node's folders, the kubepods
cgroup folders, and runtime shims still running. Each undo step works on its own,
so a half-started node or one whose processes crashed is cleaned up too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from hack.controlplane.network import BRIDGE, NODE_IP, POD_SUBNET

log = logging.getLogger(__name__)

# Routing between pods and Service addresses needs forwarding, and Service traffic
# between two pods on the same bridge must pass through iptables.
SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/bridge/bridge-nf-call-iptables": "1",
}
# Folders the kubelet and the CNI library create at fixed places, whatever they are
# configured with; tear-down removes those that did not exist before.
HOST_FOLDERS = (
    Path("/var/lib/cni"),  # libcni's cache of attachments
    Path("/var/lib/kubelet"),  # device-plugins/
    Path("/var/log/containers"),  # links to pod logs
    Path("/var/log/pods"),
)
# The prefixes of the chains the node's processes create.
OUR_CHAINS = re.compile(r"^(KUBE-|CNI-)")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _run(*argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


# ---------------------------------------------------------------- sysctls


def read_sysctls() -> dict[str, str]:
    return {key: Path("/proc/sys", key).read_text().strip() for key in SYSCTLS}


def set_sysctls(values: dict[str, str]) -> None:
    for key, value in values.items():
        Path("/proc/sys", key).write_text(value)


# ---------------------------------------------------------------- folders


def existing_folders() -> list[str]:
    return [str(f) for f in HOST_FOLDERS if f.exists()]


def remove_new_folders(existed: list[str]) -> None:
    for folder in HOST_FOLDERS:
        if str(folder) not in existed:
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the bridge


def create_bridge() -> None:
    """The pods' bridge, made before the kubelet starts: its address is the node's,
    which the kubelet, metrics-server and the apiserver relay listen on."""
    remove_bridge()
    _run("ip", "link", "add", BRIDGE, "type", "bridge", check=True)
    prefix = POD_SUBNET.split("/")[1]
    _run("ip", "addr", "add", f"{NODE_IP}/{prefix}", "dev", BRIDGE, check=True)
    _run("ip", "link", "set", BRIDGE, "up", check=True)


def remove_bridge() -> None:
    _run("ip", "link", "delete", BRIDGE)


# ---------------------------------------------------------------- iptables


def remove_chains() -> list[str]:
    """Removes every KUBE-* and CNI-* chain and the rules that jump to them.

    Each table is rewritten from its current content minus our chains, so rules
    that others added meanwhile stay. Returns the chains removed.
    """
    removed: list[str] = []
    for save, restore in (("iptables-save", "iptables-restore"),
                          ("ip6tables-save", "ip6tables-restore")):
        for table in ("filter", "nat", "mangle"):
            dump = _run(save, "-t", table)
            if dump.returncode != 0:
                continue
            kept, ours = _without_our_chains(dump.stdout)
            if not ours:
                continue
            result = subprocess.run([restore, "-w", "5"], input=kept, capture_output=True,
                                    text=True, timeout=60)
            if result.returncode != 0:
                log.warning("%s of table %s failed: %s", restore, table, result.stderr.strip())
                continue
            removed += ours
    return removed


def _without_our_chains(dump: str) -> tuple[str, list[str]]:
    """An iptables-save dump without our chains, their rules and jumps to them."""
    kept, ours = [], []
    for line in dump.splitlines():
        if line.startswith(":") and OUR_CHAINS.match(line[1:]):
            ours.append(line[1:].split()[0])
            continue
        if line.startswith("-A "):
            words = line.split()
            chain = words[1]
            target = words[words.index("-j") + 1] if "-j" in words else ""
            if OUR_CHAINS.match(chain) or OUR_CHAINS.match(target):
                continue
        kept.append(line)
    return "\n".join(kept) + "\n", ours


# ---------------------------------------------------------------- processes


def kill_shims(socket: Path) -> list[int]:
    """containerd shims outlive containerd by design; ours name its socket."""
    killed = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"containerd-shim-runc-v2") and \
                str(socket).encode() in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
    return killed


# ---------------------------------------------------------------- mounts and folders


def unmount_below(*folders: Path) -> list[str]:
    """Unmounts everything mounted below the folders, deepest first."""
    prefixes = tuple(str(f.resolve()) + "/" for f in folders)
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefixes) or point + "/" in prefixes:
            mounts.append(point)
    for point in sorted(set(mounts), key=len, reverse=True):
        result = _run("umount", point)
        if result.returncode != 0:
            _run("umount", "-l", point)
    return mounts


NETNS_DIR = Path("/run/netns")


def pod_netns() -> list[str]:
    """Network namespaces of pods (the runtime names them cni-*)."""
    return sorted(p.name for p in NETNS_DIR.glob("cni-*")) if NETNS_DIR.is_dir() else []


def remove_pod_netns(existed: list[str]) -> list[str]:
    """Pod network namespaces made since `existed` that the runtime did not remove."""
    removed = []
    for name in pod_netns():
        if name not in existed:
            entry = NETNS_DIR / name
            _run("umount", str(entry))
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry.name)
    return removed


def remove_folder(folder: Path) -> None:
    """Removes the folder, and its parent too once that is empty."""
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()


def remove_empty_folders(top: Path) -> None:
    """Empty folders below `top` and `top` itself, bottom-up; anything holding a file
    stays. containerd 1.6 keeps shim sockets and runc state in /run/containerd
    whatever its configured state folder is."""
    if not top.is_dir():
        return
    for folder in sorted((p for p in top.rglob("*") if p.is_dir()),
                         key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()
    with contextlib.suppress(OSError):
        top.rmdir()


def remove_kubepods_cgroups() -> list[str]:
    """The kubelet's /kubepods folders in every cgroup v1 hierarchy (and v2, if any)."""
    removed = []
    for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else ():
        top = hierarchy / "kubepods"
        if not top.is_dir():
            continue
        # rmdir bottom-up; a cgroup folder goes once its processes are gone.
        for _ in range(50):
            leftovers = sorted(
                (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                reverse=True,
            )
            for folder in [*leftovers, top]:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            if not top.exists():
                removed.append(str(top))
                break
            time.sleep(0.1)
        else:
            log.warning("could not remove %s", top)
    return removed
