"""The Gateway controller's image: the pinned Traefik (hack/tools/go/traefik/), a static
Go binary, alone on scratch and run as a non-root user."""

from __future__ import annotations

from pathlib import Path

from hack.gobuild import BuildError
from hack.tools.build import TOOLS, ensure_tool, pinned_version, tool_path

from . import buildah
from .buildah import BuiltImage
from .commands import ImageBuildError, Timer, log

REPOSITORY = "localhost/traefik"
USER = "65532:65532"
RECIPE_VERSION = "1"


def image_ref() -> str:
    return f"{REPOSITORY}:v{pinned_version(TOOLS['traefik'])}"


def expected_inputs() -> str:
    """What the image is built from, found without building anything."""
    return _inputs(tool_path("traefik"))


def _inputs(binary: Path) -> str:
    """The recipe and the binary's cache folder, which is named by the hash of
    Traefik's pins and the Go version."""
    return f"{RECIPE_VERSION}/{USER}/{binary.parent.name}"


def ensure() -> BuiltImage:
    timer = Timer()
    ref = image_ref()
    try:
        binary = ensure_tool("traefik")
    except BuildError as err:
        raise ImageBuildError(str(err)) from err
    inputs = _inputs(binary)  # the folder ensure_tool found: no second look for Go
    stored = buildah.inspect(ref)
    if stored is not None and stored.inputs == inputs:
        return BuiltImage("traefik", ref, stored.image_id, inputs, False, timer.seconds)
    stored = buildah.scratch_image(ref, binary, "/traefik", USER, inputs)
    log(f"built {ref} in {timer.seconds:.1f} s ({buildah.size(ref)})")
    return BuiltImage("traefik", ref, stored.image_id, inputs, True, timer.seconds)
