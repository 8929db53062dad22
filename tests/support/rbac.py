"""RBAC rules as the set of what they allow, to compare rule lists however grouped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def grants(rules: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """(API group, resource, verb) for every combination the rules allow."""
    return {(group, resource, verb) for rule in rules for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}
