"""Command line: python -m hack.images build | list [--socket PATH]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hack import node
from hack.controlplane import containerd_socket
from hack.supply import pins

from . import (
    OPERATOR,
    WORKLOAD,
    BuiltImage,
    ImageBuildError,
    base,
    buildah,
    dockerfile,
    ensure_built,
    modelcar,
    node_images,
    pause,
    release,
    traefik,
)
from .containerd import held
from .publish import SUPPLY_ERRORS


def _cmd_build(args: argparse.Namespace) -> int:
    if args.if_node:
        wanted, why_not = node.wanted()
        if not wanted:
            print(f"not building the images: {why_not}", file=sys.stderr)
            return 0
    for image in ensure_built():
        state = f"built in {image.seconds:.1f} s" if image.built else "up to date"
        print(f"{image.ref:<52} {image.image_id[7:19]}  {buildah.size(image.ref):>8}  {state}")
    return 0


def _rows() -> list[tuple[str, bool | None]]:
    """(ref, up to date?) for each image, computed without building anything."""
    base_ref = base.ref_for(base.recipe_hash())
    stored_base = buildah.inspect(base_ref)
    rows: list[tuple[str, bool | None]] = [(base_ref, stored_base is not None)]
    pause_stored = buildah.inspect(pause.image_ref())
    pause_inputs = pause.inputs_hash(pause.module_dir())
    rows.append((pause.image_ref(), bool(pause_stored and pause_stored.inputs == pause_inputs)))
    previous = release.previous()
    release.checkout(previous)  # its inputs are files of its tree
    for image in (WORKLOAD, OPERATOR, release.operator_image(previous)):
        current = None
        if stored_base is not None:
            on = BuiltImage("base", base_ref, stored_base.image_id, "", False, 0.0)
            stored = buildah.inspect(image.ref)
            current = bool(stored and stored.inputs == dockerfile.expected_inputs(image, on))
        rows.append((image.ref, current))
    stored_traefik = buildah.inspect(traefik.image_ref())
    rows.append((traefik.image_ref(),
                 bool(stored_traefik and stored_traefik.inputs == traefik.expected_inputs())))
    cars = modelcar.expected_inputs(stored_base.image_id) if stored_base is not None else {}
    for ref in modelcar.MODEL_IMAGES.values():
        stored = buildah.inspect(ref)
        rows.append((ref, bool(stored and stored.inputs == cars[ref]) if cars else None))
    return rows


def _cmd_list(args: argparse.Namespace) -> int:
    rows = _rows()
    in_containerd = held(args.socket) if args.socket.exists() else None
    on_node = node_images()
    pinned = pins.load()  # read once, not once per row
    for ref, current in rows:
        stored = buildah.inspect(ref)
        if stored is None:
            print(f"{ref:<52} not built")
            continue
        state = {True: "up to date", False: "out of date", None: "base missing"}[current]
        line = f"{ref:<52} {stored.image_id[7:19]}  {buildah.size(ref):>8}  {state}"
        pin = pinned.get(ref)
        if ref in on_node:
            line += f"  pinned: {pin.partition('@')[2][7:19]}" if pin else "  not published"
        if in_containerd is not None and pin:
            line += "  containerd: " + ("holds it" if pin in in_containerd else "absent")
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hack.images", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the base, pause, workload, operator, Traefik, "
                                         "model and previous release's images as needed")
    build.add_argument(
        "--if-node", action="store_true",
        help="only where the real node can run (see HANDTRACKER_REAL_NODE); under CI=true "
             "a missing prerequisite is an error",
    )  # fmt: skip
    listing = sub.add_parser(
        "list", help="show each image, whether it is up to date, its pin, and whether the "
                     "node's containerd holds the pinned image")
    listing.add_argument(
        "--socket", type=Path, default=None,
        help="containerd's socket (default: the real node's, of the cluster in "
             "HANDTRACKER_CLUSTER_DIR or .cluster/)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if getattr(args, "socket", "") is None:
        args.socket = containerd_socket()
    handlers = {"build": _cmd_build, "list": _cmd_list}
    try:
        return handlers[args.command](args)
    except (ImageBuildError, node.NodeError, *SUPPLY_ERRORS) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
