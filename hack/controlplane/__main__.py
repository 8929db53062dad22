"""Command line: python -m hack.controlplane build (the cluster itself: python -m hack.bed)."""

from __future__ import annotations

import argparse
import sys

from hack.gobuild import BuildError

from .build import ensure_built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hack.controlplane", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build or reuse the pinned binaries; print their folder")
    parser.parse_args(argv)
    try:
        print(ensure_built().bin_dir)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
