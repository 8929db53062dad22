"""`handtracker-operator` (or `python -m handtracker_operator`): run the operator (kopf)
with our handlers.

Examples:
    handtracker-operator                         # the whole cluster
    handtracker-operator -n team-a -n team-b     # only these namespaces
    handtracker-operator --peering handtracker   # HA: one active replica
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping

import kopf

from . import handlers  # noqa: F401  (registers the handlers)
from .settings import OPTIONS, OperatorConfig


def parse_args(argv: list[str] | None = None,
               env: Mapping[str, str] | None = None) -> argparse.Namespace:
    """The options of settings.OPTIONS, each defaulting to its environment variable and
    then to OperatorConfig's default."""
    defaults = OperatorConfig.from_env(env)
    parser = argparse.ArgumentParser(prog="handtracker-operator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for option in OPTIONS:
        flags = [option.short, option.flag] if option.short else [option.flag]
        metavar = option.flag.removeprefix("--").upper().replace("-", "_")
        default = getattr(defaults, option.field)
        if option.kind is tuple:
            parser.add_argument(*flags, dest=option.field, action="append", default=None,
                                metavar=metavar, help=f"{option.help} (env {option.env})")
        else:
            parser.add_argument(*flags, dest=option.field, type=option.kind, default=default,
                                metavar=metavar, help=f"{option.help} (env {option.env}; default: "
                                     "%(default)s)")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    for option in OPTIONS:  # an appended list replaces the environment's, not adds to it
        if option.kind is tuple and getattr(args, option.field) is None:
            setattr(args, option.field, list(getattr(defaults, option.field)))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # kopf logs every handler call ("Handler ... succeeded"): one line per watch event.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        # kopf repeats "Unresolved resources cannot be served" at every CRD change for the
        # optional integrations' kinds; handlers.py reports a missing CRD once instead.
        logging.getLogger("kopf._core.reactor.observation").setLevel(logging.ERROR)
    config = OperatorConfig.from_args(args)
    kopf.run(
        clusterwide=not config.namespaces,
        namespaces=list(config.namespaces),
        liveness_endpoint=config.liveness or None,
        standalone=not config.peering,
        peering_name=config.peering or None,
        identity=config.identity,
        priority=config.priority,
        memo=kopf.Memo(config=config),
    )


if __name__ == "__main__":
    main()
