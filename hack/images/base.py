"""The base image: a stand-in for python:3.11-slim, for machines that reach a Debian
mirror and PyPI but no container registry.

Debian bookworm's own Python 3.11 (debootstrap minbase), a virtualenv at /opt/venv first
on PATH, so `python` and `pip install` behave as in the official image (bookworm's pip
refuses to install into the system Python, PEP 668). useradd, which the Dockerfiles run,
is in minbase already (passwd is Priority: required).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from . import buildah
from .buildah import INPUTS_LABEL, BuiltImage
from .commands import Timer, log, run
from .mirror import find_mirror

REPOSITORY = "localhost/handtracker-base"
SUITE = "bookworm"
VARIANT = "minbase"
PACKAGES = ("python3.11", "python3-venv", "python3-pip", "ca-certificates")
VENV = "/opt/venv"
ENV = {
    "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
}
# Bump when the steps below change in a way the package list does not show.
RECIPE_VERSION = "1"

# Left out of the image, as Debian's slim images do: documentation (not the copyright
# files), manuals, translations, apt's downloads and indexes. Plus what debootstrap
# copied from this machine: its resolver, host name and apt sources (the mirror), and
# the device nodes, which every container runtime provides itself.
_EMPTIED = (
    "dev", "var/cache/apt/archives", "var/lib/apt/lists", "usr/share/man",
    "usr/share/info", "usr/share/locale", "usr/share/lintian", "etc/apt/sources.list.d",
)
_REMOVED = (
    "etc/resolv.conf", "etc/hostname", "etc/apt/sources.list", "var/log/bootstrap.log",
    "var/cache/apt/pkgcache.bin", "var/cache/apt/srcpkgcache.bin",
)


def debootstrap_version() -> str:
    return run(["dpkg-query", "-W", "-f", "${Version}", "debootstrap"]).strip()


def recipe_hash() -> str:
    """Hash of what decides the image's content, short: it is part of the tag."""
    text = "\n".join([
        f"recipe={RECIPE_VERSION}", f"suite={SUITE}", f"variant={VARIANT}",
        f"packages={','.join(PACKAGES)}", f"venv={VENV}",
        f"env={sorted(ENV.items())}", f"debootstrap={debootstrap_version()}",
    ])  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ref_for(inputs: str) -> str:
    return f"{REPOSITORY}:{inputs}"


def _unmount_below(root: Path) -> None:
    """debootstrap mounts /proc and /sys in the target; an interrupted run leaves them."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _slim(rootfs: Path) -> None:
    for rel in _EMPTIED:
        folder = rootfs / rel
        for child in folder.iterdir() if folder.is_dir() else ():
            _remove(child)
    for rel in _REMOVED:
        _remove(rootfs / rel)
    for doc in list((rootfs / "usr/share/doc").glob("*/*")):
        if doc.name != "copyright":
            _remove(doc)


def _populate(rootfs: Path, mirror: str) -> None:
    run(
        ["debootstrap", f"--variant={VARIANT}", f"--include={','.join(PACKAGES)}",
         SUITE, rootfs, mirror],
        log_name="base-debootstrap",
    )  # fmt: skip
    run(["chroot", rootfs, "python3.11", "-m", "venv", VENV], log_name="base-venv")
    _slim(rootfs)


def ensure() -> BuiltImage:
    """The base image for the current recipe, bootstrapped when it is not stored yet."""
    timer = Timer()
    inputs = recipe_hash()
    ref = ref_for(inputs)
    stored = buildah.inspect(ref)
    if stored is not None:
        return BuiltImage("base", ref, stored.image_id, inputs, False, timer.seconds)
    mirror = find_mirror(SUITE)
    log(f"bootstrapping {ref} (Debian {SUITE}, {', '.join(PACKAGES)}) ...")
    # debootstrap writes straight into the new image's mounted root: no copy of ~200 MB.
    container = run(["buildah", "from", "scratch"]).strip()
    try:
        rootfs = Path(run(["buildah", "mount", container]).strip())
        try:
            _populate(rootfs, mirror)
        finally:
            _unmount_below(rootfs)
            run(["buildah", "umount", container])
        config = ["buildah", "config", "--cmd", "python3", "--label", f"{INPUTS_LABEL}={inputs}"]
        for key, value in ENV.items():
            config += ["--env", f"{key}={value}"]
        run([*config, container])
    except BaseException:
        buildah.remove_container(container)
        raise
    stored = buildah.commit(container, ref)
    log(f"built {ref} in {timer.seconds:.0f} s ({buildah.size(ref)})")
    return BuiltImage("base", ref, stored.image_id, inputs, True, timer.seconds)
