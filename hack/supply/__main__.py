"""Command line: python -m hack.supply serve | publish REF... | verify REF... | pins

serve     the registry on 127.0.0.1:5033 until Ctrl-C (or SIGTERM), unless one runs
publish   push, pin, sign and attest the SBOM of each local image (localhost/...)
verify    check each local image's pin, signature and SBOM; exit 1 at the first refusal
pins      print the pins file
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from . import chain, pins, registry, sbom
from .buildah import BuildahError
from .pins import PinError
from .registry import RegistryError
from .sbom import SbomError
from .settings import default_supply
from .signing import SignatureError


def _serve() -> int:
    supply = default_supply()
    proc = registry.ensure_running(supply.registry)
    if proc is None:
        print(f"a registry answers on {supply.registry.address} already", file=sys.stderr)
        return 0
    print(f"serving {supply.registry.root} on {supply.registry.address}", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        proc.wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        registry.stop(proc)
    return 0


def _publish(refs: list[str]) -> int:
    with registry.running():
        for ref in refs:
            done = chain.publish(ref, default_supply())
            took = ", ".join(f"{k} {v:.1f} s" for k, v in done.seconds.items())
            print(f"{done.pinned}  {'pushed' if done.uploaded else 'held'}  {took}")
    return 0


def _verify(refs: list[str]) -> int:
    with registry.running():
        for ref in refs:
            found = chain.trusted(ref, default_supply())
            counts = {kind: len(sbom.versions(found.sbom, kind))
                      for kind in ("pypi", "deb", "golang")}
            print(f"{found.pinned}  signature verified, SBOM: {counts['pypi']} Python, "
                  f"{counts['deb']} Debian and {counts['golang']} Go packages")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hack.supply")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the registry in the foreground")
    sub.add_parser("pins", help="print the pins file")
    for command in ("publish", "verify"):
        sub.add_parser(command, help=f"{command} local images").add_argument("refs", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve()
        if args.command == "pins":
            print(json.dumps(pins.load(), indent=2))
            return 0
        return (_publish if args.command == "publish" else _verify)(args.refs)
    except (PinError, SignatureError, RegistryError, BuildahError, SbomError) as err:
        print(err, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
