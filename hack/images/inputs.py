"""The hash of everything a Dockerfile build reads: the Dockerfile, the files its COPY and
ADD steps take from the context, the base image and the build arguments. Equal hashes
mean an equal image, so the build can be skipped without even asking buildah."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

# Bump when the way the images are built changes (buildah flags, label layout).
RECIPE_VERSION = "1"

# The .dockerignore keeps these out of the context; they must not count as inputs either
# (running the tests writes them).
_IGNORED_DIRS = {"__pycache__"}
_IGNORED_SUFFIXES = {".pyc", ".pyo"}


def _instructions(text: str) -> Iterable[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined."""
    logical = ""
    for raw in text.splitlines():
        if not logical and raw.lstrip().startswith("#"):
            continue
        line = raw.rstrip()
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        if logical.strip():
            word, _, rest = logical.strip().partition(" ")
            yield word.upper(), rest.strip()
        logical = ""


def copy_sources(dockerfile_text: str) -> list[str]:
    """Context paths the COPY/ADD steps read (not those copying from another stage)."""
    sources: list[str] = []
    for word, rest in _instructions(dockerfile_text):
        if word not in ("COPY", "ADD"):
            continue
        args = rest.split()
        flags = [a for a in args if a.startswith("--")]
        if any(f.startswith("--from=") for f in flags):
            continue
        rest = " ".join(a for a in args if not a.startswith("--"))
        paths = json.loads(rest) if rest.startswith("[") else rest.split()
        sources.extend(paths[:-1])  # the last one is the destination
    return sources


def _ignored(path: Path) -> bool:
    return path.suffix in _IGNORED_SUFFIXES or bool(_IGNORED_DIRS & set(path.parts))


def context_files(context: Path, sources: Iterable[str]) -> list[Path]:
    """Every file under the given sources, relative to context, sorted."""
    found: set[Path] = set()
    for source in sources:
        matches = sorted(context.glob(source.rstrip("/"))) if re.search(r"[*?\[]", source) \
            else [context / source]
        for match in matches:
            if not match.exists():
                raise FileNotFoundError(f"COPY source {source} is not in {context}")
            files = [p for p in match.rglob("*") if p.is_file()] if match.is_dir() else [match]
            found.update(p.relative_to(context) for p in files)
    return sorted(p for p in found if not _ignored(p))


def inputs_hash(
    dockerfile: Path,
    context: Path,
    base_image_id: str,
    build_args: Mapping[str, str] | None = None,
) -> str:
    """sha256 over the recipe, Dockerfile, .dockerignore, base image and copied files."""
    digest = hashlib.sha256()

    def add(name: str, data: bytes) -> None:
        digest.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)

    add("recipe", RECIPE_VERSION.encode())
    add("base", base_image_id.encode())
    for key, value in sorted((build_args or {}).items()):
        add(f"arg:{key}", value.encode())
    text = dockerfile.read_text()
    add("dockerfile", text.encode())
    ignore = context / ".dockerignore"
    add(".dockerignore", ignore.read_bytes() if ignore.is_file() else b"")
    for rel in context_files(context, copy_sources(text)):
        path = context / rel
        # COPY keeps the mode: an executable bit is part of the image too.
        executable = b"x" if path.stat().st_mode & 0o111 else b"-"
        add(f"file:{rel.as_posix()}", executable + path.read_bytes())
    return digest.hexdigest()
