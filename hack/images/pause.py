"""The kubelet's sandbox ("pause") image, built from the pinned Kubernetes release's own
build/pause/linux/pause.c: no registry is needed for registry.k8s.io/pause either."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from hack.controlplane.pins import kubernetes_version
from hack.gobuild import BuildError, source_dir
from hack.node import sandbox_image

from . import buildah
from .buildah import BuiltImage
from .commands import ImageBuildError, Timer, log, run
from .paths import KUBERNETES_GO_MODULE, work_root

MODULE = "k8s.io/kubernetes"
SOURCE = "build/pause/linux/pause.c"
# As upstream's build/pause/Makefile (CFLAGS), which also runs it as nobody.
CFLAGS = ("-Os", "-Wall", "-Werror", "-static")
USER = "65535:65535"
RECIPE_VERSION = "1"


def image_ref() -> str:
    """The name the real node's containerd knows the sandbox image by."""
    return sandbox_image()


def module_dir() -> Path:
    """The pinned module's source in the Go module cache, downloaded if it is not there
    (the control-plane build normally has fetched it already)."""
    try:
        return source_dir(KUBERNETES_GO_MODULE, MODULE)
    except BuildError as err:
        raise ImageBuildError(str(err)) from err


def _pause_tag(module: Path) -> str:
    """The pause release upstream stamps into `pause -v`, from its Makefile (TAG ?= 3.x)."""
    makefile = (module / "build" / "pause" / "Makefile").read_text()
    match = re.search(r"^TAG\s*\?=\s*(\S+)", makefile, re.M)
    return match.group(1) if match else "unknown"


def _cflags(module: Path) -> list[str]:
    return [*CFLAGS, f"-DVERSION=v{_pause_tag(module)}-{kubernetes_version()}"]


def inputs_hash(module: Path) -> str:
    gcc = run(["gcc", "--version"]).splitlines()[0]
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, gcc, " ".join(_cflags(module)), USER):
        digest.update(part.encode() + b"\0")
    digest.update((module / SOURCE).read_bytes())
    return digest.hexdigest()


def ensure() -> BuiltImage:
    timer = Timer()
    ref = image_ref()
    module = module_dir()
    inputs = inputs_hash(module)
    stored = buildah.inspect(ref)
    if stored is not None and stored.inputs == inputs:
        return BuiltImage("pause", ref, stored.image_id, inputs, False, timer.seconds)
    log(f"building {ref} from {MODULE} {SOURCE} ...")
    with tempfile.TemporaryDirectory(dir=work_root()) as tmp:
        binary = Path(tmp) / "pause"
        run(["gcc", *_cflags(module), "-o", binary, module / SOURCE], log_name="pause-gcc")
        stored = buildah.scratch_image(ref, binary, "/pause", USER, inputs)
    log(f"built {ref} in {timer.seconds:.1f} s ({buildah.size(ref)})")
    return BuiltImage("pause", ref, stored.image_id, inputs, True, timer.seconds)
