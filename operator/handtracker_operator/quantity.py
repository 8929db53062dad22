"""Kubernetes resource quantities ("500m", "1Gi", 2) as exact decimals."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_PATTERN = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$"
)
_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{f"{p}i": Decimal(1024) ** (i + 1) for i, p in enumerate("KMGTPE")},
}


def parse(value: str | int | float) -> Decimal:
    """The quantity's value in base units; ValueError when it is not a quantity."""
    match = _PATTERN.match(str(value).strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIXES[suffix]
    except (InvalidOperation, KeyError) as exc:
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from exc


def equal(a: object, b: object) -> bool:
    """True when both are quantities of the same value ("1" == "1000m")."""
    try:
        return parse(a) == parse(b)  # type: ignore[arg-type]
    except ValueError:
        return False
