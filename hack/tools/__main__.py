"""Command line: python -m hack.tools build|path <tool> | crds install|remove|list <set>."""

from __future__ import annotations

import argparse
import sys

from hack.controlplane import BuildError, current

from . import crds
from .build import TOOLS, ensure_tool, tool_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hack.tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("build", "path"):
        p = sub.add_parser(command, help=f"{command} a pinned tool")
        p.add_argument("tool", choices=sorted(TOOLS))
    p = sub.add_parser("crds", help="CRDs from pinned modules, in the running local cluster")
    p.add_argument("action", choices=("install", "remove", "list"))
    p.add_argument("set", choices=sorted(crds.CRD_SETS))
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(ensure_tool(args.tool))
        elif args.command == "path":
            print(tool_path(args.tool))
        elif args.action == "list":
            print("\n".join(crds.names(args.set)))
        else:
            cluster = current()
            if cluster is None:
                print("the control plane is not running: python -m hack.bed up",
                      file=sys.stderr)
                return 1
            done = getattr(crds, args.action)(cluster, args.set)
            print("\n".join(done or ()))
    except (BuildError, RuntimeError) as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
