"""The workload and operator images, built by buildah from the Dockerfiles users build
with docker; only the base image differs (--build-arg BASE_IMAGE)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hack import version

from . import buildah
from .buildah import INPUTS_LABEL, BuiltImage
from .commands import ImageBuildError, Timer, log, run
from .inputs import inputs_hash
from .paths import CONTEXT_DIR

# Where Debian's pip (the base image's) looks for CA certificates: its vendored certifi is
# patched to read this file. The machine's bundle is bind-mounted there for RUN steps only,
# so pip trusts whatever this machine trusts (a TLS-inspecting proxy included) without the
# bundle ending up in a layer.
IMAGE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class DockerfileImage:
    name: str
    repository: str
    dockerfile: str  # relative to the context
    # The checkout, or another tree of the project (an earlier release's), and its version.
    context: Path = CONTEXT_DIR
    release: str = ""  # "": the checkout's

    @property
    def version(self) -> str:
        return self.release or version.read()

    @property
    def ref(self) -> str:
        """Tagged with the version it is built from."""
        return f"{self.repository}:{self.version}"


def build_args(image: DockerfileImage, base: BuiltImage) -> dict[str, str]:
    """The base to build on, and the version for the image's label."""
    return {"BASE_IMAGE": base.ref, "VERSION": image.version}


def host_ca_bundle() -> Path | None:
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def expected_inputs(image: DockerfileImage, base: BuiltImage) -> str:
    return inputs_hash(image.context / image.dockerfile, image.context, base.image_id,
                       build_args(image, base))


def ensure(image: DockerfileImage, base: BuiltImage) -> BuiltImage:
    """Builds image on base unless its tag already carries the same inputs hash. A build
    reuses every cached layer before the first changed step (--layers): a change to the
    packages reruns only the wheel's stage and the steps from `COPY --from=wheel` on."""
    timer = Timer()
    inputs = expected_inputs(image, base)
    ref = image.ref
    stored = buildah.inspect(ref)
    if stored is not None and stored.inputs == inputs:
        return BuiltImage(image.name, ref, stored.image_id, inputs, False, timer.seconds)
    log(f"building {ref} from {image.dockerfile} on {base.ref} ...")
    cmd = [
        "buildah", "bud", "--layers",
        # buildah's default OCI format drops HEALTHCHECK.
        "--format", "docker",
        # RUN steps use the machine's network as it is (pip reaches PyPI): no bridge, no NAT.
        "--network", "host",
        *(arg for key, value in build_args(image, base).items()
          for arg in ("--build-arg", f"{key}={value}")),
        "--label", f"{INPUTS_LABEL}={inputs}",
        "-f", image.context / image.dockerfile, "-t", ref,
    ]  # fmt: skip
    bundle = host_ca_bundle()
    if bundle is not None:
        cmd += ["--volume", f"{bundle}:{IMAGE_CA_BUNDLE}:ro"]
    run([*cmd, image.context], log_name=f"{image.name}-build")
    stored = buildah.inspect(ref)
    if stored is None or stored.inputs != inputs:
        raise ImageBuildError(f"buildah built {ref} but it does not carry its inputs hash")
    log(f"built {ref} in {timer.seconds:.1f} s ({buildah.size(ref)})")
    return BuiltImage(image.name, ref, stored.image_id, inputs, True, timer.seconds)
