"""CHANGELOG.md read the way the release tests need it: the pod template fields a version
says it changes, listed in its "Rolls existing pods" section in backquotes."""

from __future__ import annotations

import re

from tests.support.repo import REPO_ROOT

CHANGELOG = REPO_ROOT / "CHANGELOG.md"
ROLLS_HEADING = "### Rolls existing pods"
# A pod template field as podtemplates.changed_fields names it.
_FIELD = re.compile(r"`(spec\.template\.[^`\s]+)`")


def section(version: str) -> str:
    """The text under `## [version]` up to the next version's heading."""
    text = CHANGELOG.read_text()
    found = re.search(rf"^## \[{re.escape(version)}\][^\n]*\n(.*?)(?=^## \[|\Z)", text,
                      re.S | re.M)
    assert found, f"CHANGELOG.md has no section for {version}"
    return found.group(1)


def rolled_fields(version: str) -> set[str]:
    """The pod template fields that the version's "Rolls existing pods" section names."""
    body = section(version)
    start = body.find(ROLLS_HEADING)
    if start < 0:
        return set()
    rolls = body[start + len(ROLLS_HEADING):]
    rolls = rolls.split("\n### ", 1)[0]
    return set(_FIELD.findall(rolls))
