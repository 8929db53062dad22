"""RBAC rules as the set of what they allow, to compare rule lists however grouped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def grants(rules: Iterable[Mapping[str, Any]]) -> set[tuple[str, str, str, str]]:
    """(API group, resource, verb, object name) for every combination the rules allow;
    the name is "*" where a rule names no object."""
    return {(group, resource, verb, name) for rule in rules for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]
            for name in rule.get("resourceNames") or ("*",)}
