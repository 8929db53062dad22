"""plan(desired, observed): the writes that bring the children to the desired state.

Only fields we set are compared, so API-server defaults and the HPA's replica count never
count as drift. Each applied child carries a hash of its desired manifest: a changed hash
means the spec changed (server-side apply then also removes fields we stopped setting);
an unchanged hash with different owned fields means someone edited the child by hand.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import identity, quantity

HASH_ANNOTATION = "handtracking.dev/desired-hash"
# Which operator instance applied a child last. Written beside the hash but part of
# neither the hash nor the comparison: a takeover by another replica rewrites nothing.
WRITER_ANNOTATION = "handtracking.dev/written-by"


@dataclass(frozen=True)
class Action:
    verb: str  # "create" | "update" | "delete"
    slot: str  # which child (kinds.Child.slot)
    kind: str
    name: str
    manifest: Mapping[str, Any] | None
    drift: bool = False  # the write undoes a change made outside the operator

    def describe(self) -> str:
        past = {"create": "Created", "update": "Updated", "delete": "Deleted"}[self.verb]
        return f"{past} {self.kind} {self.name}"


def plan(
    desired: Mapping[str, Mapping[str, Any] | None],
    observed: Mapping[str, Mapping[str, Any] | None],
    kind_of: Mapping[str, str],
    settled: bool = False,
    writer: str = "",
) -> list[Action]:
    """Actions in `desired` order, for children keyed by slot (`kind_of` names each
    slot's kind); `settled` says the last reconcile saw this very spec, so a child missing
    now was deleted behind the operator's back; `writer` is this operator instance's
    stamp on what it writes."""
    actions = []
    for slot, want in desired.items():
        live = observed.get(slot)
        kind = kind_of[slot]
        if want is None:
            if live is not None:
                actions.append(Action("delete", slot, kind, live["metadata"]["name"], None))
            continue
        stamped = stamp(want, writer)
        name = want["metadata"]["name"]
        if live is None:
            actions.append(Action("create", slot, kind, name, stamped, drift=settled))
            continue
        same = _owned_as_live(want, live)
        if _hash_of(live) != _hash_of(stamp(same)):
            actions.append(Action("update", slot, kind, name, stamped))
        elif not matches(_content(same), live):
            actions.append(Action("update", slot, kind, name, stamped, drift=True))
    return actions


def stamp(manifest: Mapping[str, Any], writer: str = "") -> dict[str, Any]:
    """A copy of the manifest annotated with the hash of its content (and the writer's
    stamp, when given)."""
    stamped = copy.deepcopy(dict(manifest))
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    meta = stamped["metadata"]
    meta["annotations"] = {**meta.get("annotations", {}), HASH_ANNOTATION: digest,
                           **({WRITER_ANNOTATION: writer} if writer else {})}
    return stamped


def matches(want: Any, live: Any) -> bool:
    """True when every field of `want` has the same value in `live` (extra fields allowed)."""
    if isinstance(want, Mapping):
        return isinstance(live, Mapping) and all(
            k in live and matches(v, live[k]) for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(live, list)
            and len(want) == len(live)
            and all(matches(w, v) for w, v in zip(want, live, strict=True))
        )
    if want == live:
        return True
    # "1000m" and "1" are the same CPU; the API server may rewrite one into the other.
    scalars = isinstance(want, str | int) and isinstance(live, str | int)
    return scalars and quantity.equal(want, live)


def owns_replicas(live: Mapping[str, Any] | None, manager: str) -> bool:
    """True when `manager` applied spec.replicas of this live Deployment."""
    for entry in (live or {}).get("metadata", {}).get("managedFields") or ():
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            return "f:replicas" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    return False


def _owned_as_live(want: Mapping[str, Any], live: Mapping[str, Any]) -> Mapping[str, Any]:
    """`want` with its owner named at the API version the live child's ownerReference
    uses, when that is an older version the CRD still serves: the reference means the
    same owner (by uid), so a child written before the version changed is not rewritten
    for that alone; the next write for another reason names the current version."""
    old = {f"{identity.GROUP}/{v}" for v in identity.OLDER_VERSIONS}
    live_refs = {r.get("uid"): r.get("apiVersion")
                 for r in (live.get("metadata") or {}).get("ownerReferences") or ()}
    refs = want["metadata"].get("ownerReferences") or ()
    if not any(live_refs.get(r["uid"]) in old for r in refs):
        return want
    same = copy.deepcopy(dict(want))
    for ref in same["metadata"]["ownerReferences"]:
        if live_refs.get(ref["uid"]) in old:
            ref["apiVersion"] = live_refs[ref["uid"]]
    return same


def _content(manifest: Mapping[str, Any]) -> dict[str, Any]:
    # Items of a list response carry no apiVersion/kind; the list call fixed both anyway.
    return {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}


def _hash_of(manifest: Mapping[str, Any]) -> str | None:
    return (manifest.get("metadata", {}).get("annotations") or {}).get(HASH_ANNOTATION)
