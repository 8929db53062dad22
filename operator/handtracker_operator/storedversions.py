"""What to do about the versions the HandTracker CRD says objects are stored at.

The API server writes every object at the CRD's storage version, but an object written
before the storage version changed stays encoded at the old one until it is written
again; `status.storedVersions` lists every version that may still be in storage. A
version may only leave that list once every object has been rewritten (the documented
Kubernetes procedure), and must never leave it otherwise: a later release that stops
serving it would make those objects unreadable. decide() is pure; migration.py acts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import identity

# Outcomes: nothing to do; rewrite every object and drop the older versions; or not
# migrating, each for its reason (reported, and looked at again when the CRD changes).
CURRENT = "current"
MIGRATE = "migrate"
PARTIAL_SCOPE = "partial_scope"  # the operator cannot list every namespace
UNKNOWN_VERSION = "unknown_version"  # stored at a version this release does not know
OUTDATED_CRD = "outdated_crd"  # the CRD's storage version is not this release's


@dataclass(frozen=True)
class Decision:
    action: str
    message: str
    stored: tuple[str, ...] = ()  # storedVersions as read

    @property
    def refused(self) -> bool:
        """A problem someone must fix (an error, not a pending step)."""
        return self.action in (UNKNOWN_VERSION, OUTDATED_CRD)


def decide(crd: Mapping[str, Any], namespaces: Sequence[str] = ()) -> Decision:
    """The decision for the CRD as read, for an operator watching `namespaces` (empty:
    the whole cluster)."""
    name = (crd.get("metadata") or {}).get("name", identity.PLURAL + "." + identity.GROUP)
    stored = tuple((crd.get("status") or {}).get("storedVersions") or ())
    storage = [v.get("name") for v in (crd.get("spec") or {}).get("versions") or ()
               if v.get("storage")]
    known = (identity.VERSION, *identity.OLDER_VERSIONS)
    unknown = [v for v in stored if v not in known]
    if unknown:
        return Decision(UNKNOWN_VERSION, (
            f"CustomResourceDefinition {name} lists storedVersions {', '.join(unknown)}, "
            f"which this operator does not know (it knows {', '.join(known)}): objects may be "
            "stored by a newer release. Not migrating; storedVersions left as they are. "
            "Run the release that stored them, or rewrite those objects at "
            f"{identity.VERSION} and remove the version from storedVersions by hand"), stored)
    if storage != [identity.VERSION]:
        return Decision(OUTDATED_CRD, (
            f"CustomResourceDefinition {name} stores HandTrackers at {', '.join(storage)}, "
            f"not at {identity.VERSION}: apply this release's crds/handtrackers.yaml. "
            "Not migrating"), stored)
    if set(stored) <= {identity.VERSION}:
        return Decision(CURRENT, f"every HandTracker is stored at {identity.VERSION}", stored)
    older = ", ".join(v for v in stored if v != identity.VERSION)
    if namespaces:
        return Decision(PARTIAL_SCOPE, (
            f"CustomResourceDefinition {name} may still hold HandTrackers stored at {older}, "
            f"but this operator watches only namespace(s) {', '.join(namespaces)} and cannot "
            "rewrite the others: storedVersions left as they are. Run an operator over the "
            "whole cluster once, or migrate by hand (README: API versions and storage "
            "migration)"), stored)
    return Decision(MIGRATE, f"rewriting every HandTracker stored at {older} at "
                             f"{identity.VERSION}", stored)
