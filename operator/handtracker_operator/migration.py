"""The storage migration: every HandTracker written again at the storage version, then
the older versions dropped from the CRD's status.storedVersions (the procedure of the
Kubernetes docs, "Versions in CustomResourceDefinitions": upgrade existing objects to a
new stored version). What to do comes from storedversions.decide; the API calls from
kube.Kube.

Every step is idempotent: a write of an object already stored at the storage version
changes nothing (the API server skips it), and setting storedVersions to the storage
version alone is the same whoever does it last. So two replicas overlapping during a
takeover do no harm, and a migration cut off halfway is simply run again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from . import identity, kinds, storedversions
from .errors import Conflict, NotFound
from .storedversions import Decision

CRD_NAME = kinds.HANDTRACKER.crd_name
# Writes of one object that may conflict with other writers before the migration gives
# up on this attempt (it is retried as a whole).
ATTEMPTS = 5


class Client(Protocol):
    def crd(self, name: str) -> dict[str, Any]: ...
    def list_kind(self, kind: str, namespaces: Any,
                  selector: str = "") -> tuple[list[dict[str, Any]], int | None]: ...
    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]: ...
    def replace(self, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]: ...
    def set_stored_versions(self, name: str, versions: list[str],
                            resource_version: str) -> None: ...


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    rewritten: int = 0  # HandTrackers written again (MIGRATE only)


def migrate(client: Client, namespaces: Sequence[str] = ()) -> Outcome:
    """Reads the CRD and migrates when decide() says so. API errors are raised (the
    caller retries); a refusal is returned, with nothing written."""
    crd = client.crd(CRD_NAME)
    decision = storedversions.decide(crd, namespaces)
    if decision.action != storedversions.MIGRATE:
        return Outcome(decision)
    items, _ = client.list_kind(identity.KIND, None)
    for obj in items:
        _rewrite(client, obj)
    # Only if the CRD is unchanged since it was read: an older CRD applied meanwhile
    # (storing at v1alpha1 again) must not lose its entry. A conflict retries it all.
    client.set_stored_versions(CRD_NAME, [identity.VERSION],
                               crd["metadata"]["resourceVersion"])
    return Outcome(decision, len(items))


def _rewrite(client: Client, obj: Mapping[str, Any]) -> None:
    """Writes the object back as read; on a conflict with another writer, reads it again
    and retries (that write was most likely at the storage version already, but only a
    write of our own says so)."""
    meta = obj["metadata"]
    for _ in range(ATTEMPTS):
        try:
            # Items of a list may lack apiVersion and kind.
            client.replace(identity.KIND, {**obj, "apiVersion": identity.API_VERSION,
                                           "kind": identity.KIND})
            return
        except NotFound:
            return  # deleted meanwhile: nothing left to migrate
        except Conflict:
            try:
                obj = client.get(identity.KIND, meta["namespace"], meta["name"])
            except NotFound:
                return
    raise Conflict(409, "Conflict", f"HandTracker {meta['namespace']}/{meta['name']} kept "
                                    f"changing while it was rewritten ({ATTEMPTS} attempts)")
