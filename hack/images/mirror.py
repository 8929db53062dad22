"""The Debian mirror to bootstrap the base image from: the one this machine's apt already
uses, read at run time. It is never written into the repository (or into the image):
each machine has its own, and some are only reachable from inside one network."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

APT_DIR = Path("/etc/apt")
# Set to bootstrap from another mirror than apt's.
MIRROR_ENV = "HANDTRACKER_DEBIAN_MIRROR"
# Schemes debootstrap can fetch from (apt's cdrom: or mirror+file: are not among them).
_SCHEMES = ("http://", "https://", "ftp://", "file:/")


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """deb822 paragraphs (sources.list.d/*.sources) as {field: value}, lower-case keys."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()


def mirror_from_deb822(text: str, suite: str) -> str | None:
    """The first URI of an enabled `deb` stanza that serves `suite` with `main`."""
    for fields in _stanzas(text):
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        if suite not in fields.get("suites", "").split():
            continue
        if "main" not in fields.get("components", "main").split():
            continue
        for uri in fields.get("uris", "").split():
            if uri.startswith(_SCHEMES):
                return uri.rstrip("/")
    return None


def mirror_from_one_line(text: str, suite: str) -> str | None:
    """The URI of the first `deb [options] URI suite components...` line serving suite."""
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0])
        parts = line.split()
        if len(parts) < 3 or parts[0] != "deb":
            continue
        uri, line_suite, components = parts[1], parts[2], parts[3:]
        if line_suite == suite and "main" in components and uri.startswith(_SCHEMES):
            return uri.rstrip("/")
    return None


def find_mirror(suite: str, apt_dir: Path = APT_DIR) -> str:
    """The mirror for suite: $HANDTRACKER_DEBIAN_MIRROR, else the first one apt lists
    (deb822 files first, as bookworm writes them, then the one-line formats)."""
    override = os.environ.get(MIRROR_ENV)
    if override:
        return override.rstrip("/")
    sources_dir = apt_dir / "sources.list.d"
    candidates = [(p, mirror_from_deb822) for p in sorted(sources_dir.glob("*.sources"))]
    candidates.append((apt_dir / "sources.list", mirror_from_one_line))
    candidates += [(p, mirror_from_one_line) for p in sorted(sources_dir.glob("*.list"))]
    for path, parse in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        found = parse(text, suite)
        if found:
            return found
    raise LookupError(
        f"no Debian mirror for {suite} (main) in {apt_dir}/sources.list*: set {MIRROR_ENV}"
    )
