"""Is the machine as it was? A snapshot of what the local cluster may change on the host.

    python -m hack.hostcheck snapshot FILE   # before
    python -m hack.hostcheck compare FILE    # after: exit 1 and list each difference

It covers network links and namespaces, iptables chains and rules, the sysctls
the real node sets, mounts, kubepods cgroup folders, the container runtime's files
under /run, the kubelet's and CNI's fixed folders, and the cluster's processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hack.node.host import CGROUP_ROOT, HOST_FOLDERS, SYSCTLS

PROGRAMS = ("containerd", "containerd-shim-runc-v2", "kubelet", "kube-proxy", "metrics-server",
            "socat", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")

RUNTIME_FOLDERS = (Path("/run/handtracker"), Path("/run/containerd"))


def _lines(*argv: str) -> list[str]:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    except OSError:
        return []
    return out.splitlines()


def _iptables() -> list[str]:
    rules = []
    for save in ("iptables-save", "ip6tables-save"):
        for table in ("filter", "nat", "mangle"):
            rules += [f"{save} {table} {line}" for line in _lines(save, "-t", table)
                      if line.startswith((":", "-A"))]
    # Packet counters in chain lines change by themselves.
    return sorted(" ".join(r.split()[:4]) if " :" in r else r for r in rules)


def _processes() -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv0 = (proc / "cmdline").read_bytes().split(b"\0")[0].decode()
            except (OSError, UnicodeDecodeError):
                continue
            if Path(argv0).name in PROGRAMS:
                found.append(Path(argv0).name)
    return sorted(found)


def snapshot() -> dict[str, list[str]]:
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    netns = Path("/run/netns")
    return {
        "links": sorted(line.split(":")[1].strip().split("@")[0]
                        for line in _lines("ip", "-o", "link")),
        "netns": sorted(p.name for p in netns.iterdir()) if netns.is_dir() else [],
        "iptables": _iptables(),
        "sysctls": [f"{k}={Path('/proc/sys', k).read_text().strip()}" for k in SYSCTLS
                    if Path("/proc/sys", k).exists()],
        "mounts": sorted(mounts),
        "cgroups": sorted(str(p) for p in CGROUP_ROOT.glob("*/kubepods")),
        "processes": _processes(),
        "folders": sorted(str(f) for f in HOST_FOLDERS if f.exists()),
        "runtime files": sorted(str(p) for top in RUNTIME_FOLDERS for p in top.rglob("*")),
    }


def compare(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    differences = []
    for key in before:
        added = sorted(set(after.get(key, [])) - set(before[key]))
        removed = sorted(set(before[key]) - set(after.get(key, [])))
        differences += [f"{key}: left behind: {item}" for item in added]
        differences += [f"{key}: missing now: {item}" for item in removed]
    return differences


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("snapshot", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1])
    if argv[0] == "snapshot":
        path.write_text(json.dumps(snapshot(), indent=1))
        return 0
    differences = compare(json.loads(path.read_text()), snapshot())
    for line in differences:
        print(line, file=sys.stderr)
    print("the machine is as it was" if not differences else
          f"{len(differences)} difference(s) from the snapshot")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
