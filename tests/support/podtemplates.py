"""The pod template a version of the operator builds for a HandTracker, and which of its
fields differ between two versions: a changed pod template rolls the HandTracker's pods.

A version is a tree of the project (the checkout, or an earlier release unpacked by
hack/images/release.py). Its builders run in a child process whose working folder is the
tree's operator/ folder, so `import handtracker_operator` finds that version first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PREFIX = "spec.template."  # where the pod template sits in a Deployment

# Both versions' builders are driven through the calls they share: spec.parse,
# identity.of and kinds.desired, whose "Deployment" slot holds the stable Deployment.
_RENDER = """
import json, sys, yaml
from handtracker_operator import identity, kinds, spec
out = {}
for path in sys.argv[1:]:
    for body in yaml.safe_load_all(open(path)):
        if not body or body.get("kind") != "HandTracker":
            continue
        meta = body["metadata"]
        meta.setdefault("namespace", "default")
        meta.setdefault("uid", "00000000-0000-0000-0000-000000000000")
        parsed = spec.parse(body.get("spec"))
        built = kinds.desired(parsed, identity.of(body, parsed.image))
        out[path.rsplit("/", 1)[-1] + ":" + meta["name"]] = (
            built["Deployment"]["spec"]["template"])
json.dump(out, sys.stdout)
"""


def render(tree: Path, manifests: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """{"<file name>:<HandTracker name>": the pod template the tree's operator builds}."""
    done = subprocess.run([sys.executable, "-c", _RENDER, *map(str, manifests)],
                          cwd=tree / "operator", capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"rendering with {tree} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)


def _named(items: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(item.get("name")): item for item in items}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """The template's fields that differ, as paths in the Deployment such as
    `spec.template.metadata.annotations[handtracking.dev/config-hash]`,
    `spec.template.spec.containers[handtracker].image` or `spec.template.spec.volumes[model]`:
    a label or annotation by key, a container by name and field, a volume by name, any other
    pod spec field by its name."""
    changed: set[str] = set()
    for part in ("labels", "annotations"):
        old, new = (before.get("metadata") or {}).get(part) or {}, \
            (after.get("metadata") or {}).get(part) or {}
        changed |= {f"{PREFIX}metadata.{part}[{k}]" for k in old.keys() | new.keys()
                    if old.get(k) != new.get(k)}
    old_spec, new_spec = before.get("spec") or {}, after.get("spec") or {}
    for key in old_spec.keys() | new_spec.keys():
        old, new = old_spec.get(key), new_spec.get(key)
        if old == new:
            continue
        if key in ("containers", "initContainers"):
            old_items, new_items = _named(old or []), _named(new or [])
            for name in old_items.keys() | new_items.keys():
                a, b = old_items.get(name) or {}, new_items.get(name) or {}
                if not a or not b:
                    changed.add(f"{PREFIX}spec.{key}[{name}]")
                    continue
                changed |= {f"{PREFIX}spec.{key}[{name}].{field}" for field in a.keys() | b.keys()
                            if a.get(field) != b.get(field)}
        elif key == "volumes":
            old_items, new_items = _named(old or []), _named(new or [])
            changed |= {f"{PREFIX}spec.volumes[{name}]"
                        for name in old_items.keys() | new_items.keys()
                        if old_items.get(name) != new_items.get(name)}
        else:
            changed.add(f"{PREFIX}spec.{key}")
    return changed
