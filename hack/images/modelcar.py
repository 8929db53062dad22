"""Model images ("model cars"): one HandLandmarker bundle at /models/hand_landmarker.task
on the base image, which has `cp`, so that an init container can copy it into a pod's
volume. One image per model complexity.

The bundle is the workload's own builtin one, made by its bundle module in a subprocess
(hack/ does not import the workload). That build is reproducible, so a car's file has
the same sha256 as the bundle the workload builds from the same wheel; the digest is in
the SHA256_LABEL label for tests to pin.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from . import buildah
from .buildah import INPUTS_LABEL, BuiltImage
from .commands import ImageBuildError, Timer, log, run
from .paths import work_root

REPOSITORY = "localhost/handtracker-model"
COMPLEXITIES = ("full", "lite")
MODEL_IMAGES = {complexity: f"{REPOSITORY}:{complexity}" for complexity in COMPLEXITIES}
MODEL_FILE = "/models/hand_landmarker.task"
SHA256_LABEL = "dev.handtracking.model.sha256"
COMPLEXITY_LABEL = "dev.handtracking.model.complexity"
# The distroless "nonroot" user: the file is world-readable, nothing needs root.
USER = "65532:65532"
# Running the image prints the digest of what it carries.
CMD = ["sha256sum", MODEL_FILE]
# Bump when the steps below change in a way the inputs do not show.
RECIPE_VERSION = "1"


def build_bundles(directory: Path) -> dict[str, Path]:
    """{complexity: bundle} written into directory by the workload's bundle module, run
    by this interpreter (the project's virtualenv, which has it and mediapipe)."""
    printed = run([sys.executable, "-m", "handtracker_workload.bundle", directory])
    # It prints one path per complexity, named hand_landmarker_<complexity>.task.
    bundles = {Path(line).stem.removeprefix("hand_landmarker_"): Path(line)
               for line in printed.split()}  # fmt: skip
    if sorted(bundles) != sorted(COMPLEXITIES):
        raise ImageBuildError(f"the workload's bundle module wrote {printed!r}, not one "
                              f"bundle for each of {', '.join(COMPLEXITIES)}")  # fmt: skip
    return bundles


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs_hash(base_image_id: str, bundle_sha256: str) -> str:
    """What a car is made of: the recipe, the base image and the bundle's bytes."""
    text = "\n".join([
        f"recipe={RECIPE_VERSION}", f"base={base_image_id}", f"user={USER}",
        f"file={MODEL_FILE}", f"cmd={json.dumps(CMD)}", f"bundle={bundle_sha256}",
    ])  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def expected_inputs(base_image_id: str) -> dict[str, str]:
    """{ref: inputs hash} of each car on that base, building only the bundles."""
    with tempfile.TemporaryDirectory(dir=work_root()) as tmp:
        bundles = build_bundles(Path(tmp))
        return {MODEL_IMAGES[c]: inputs_hash(base_image_id, sha256_file(p))
                for c, p in bundles.items()}  # fmt: skip


def model_sha256(ref: str) -> str | None:
    """The sha256 of the bundle a built car carries (its label), None when not built."""
    stored = buildah.inspect(ref)
    return None if stored is None else stored.labels.get(SHA256_LABEL)


def _build(ref: str, complexity: str, bundle: Path, base: BuiltImage, inputs: str) -> str:
    digest = sha256_file(bundle)
    container = run(["buildah", "from", base.ref]).strip()
    try:
        run(["buildah", "copy", "--quiet", "--chmod", "0644", container, bundle, MODEL_FILE])
        run([
            "buildah", "config", "--user", USER, "--workingdir", "/", "--cmd", json.dumps(CMD),
            "--label", f"{INPUTS_LABEL}={inputs}", "--label", f"{SHA256_LABEL}={digest}",
            "--label", f"{COMPLEXITY_LABEL}={complexity}", container,
        ])  # fmt: skip
    except BaseException:
        buildah.remove_container(container)
        raise
    return buildah.commit(container, ref).image_id


def ensure(base: BuiltImage) -> list[BuiltImage]:
    """Both cars on base, each built only when its inputs changed."""
    built = []
    with tempfile.TemporaryDirectory(dir=work_root()) as tmp:
        bundles = build_bundles(Path(tmp))
        for complexity in COMPLEXITIES:
            timer = Timer()
            ref, bundle = MODEL_IMAGES[complexity], bundles[complexity]
            inputs = inputs_hash(base.image_id, sha256_file(bundle))
            stored = buildah.inspect(ref)
            name = f"model-{complexity}"
            if stored is not None and stored.inputs == inputs:
                built.append(BuiltImage(name, ref, stored.image_id, inputs, False, timer.seconds))
                continue
            image_id = _build(ref, complexity, bundle, base, inputs)
            log(f"built {ref} in {timer.seconds:.1f} s ({buildah.size(ref)})")
            built.append(BuiltImage(name, ref, image_id, inputs, True, timer.seconds))
    return built
