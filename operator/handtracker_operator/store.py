"""In-memory copies of the HandTrackers, their children and their pods, fed by the
watches kopf runs, so that a reconcile reads nothing from the API.

- Only the fields the operator uses are kept (slim()): of managedFields only who wrote
  when and who applied a Deployment's replicas, no pod specs, no last-applied annotations.
- An event older than the copy held (by resourceVersion) is ignored, so events and
  lists arriving out of order never move an object back in time.
- `replace()` takes a fresh list of one kind: the operator lists every kind before its
  workers start (so no reconcile sees a half-filled store) and again at each resync,
  which also drops objects whose deletion a watch restart (410 Gone) hid.
- Each copy is held as compact JSON, a fraction of the memory of the dicts it comes
  from, and decoded on every read: readers get a copy of their own to change, and
  decoding costs less than the deep copy it replaces.
- Every method is thread-safe: kopf's event loop writes, the worker threads read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import identity

Obj = dict[str, Any]
ObjKey = tuple[str, str, str]  # (kind, namespace, name)

# Big annotations nothing here reads.
_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
_METADATA = ("name", "namespace", "uid", "resourceVersion", "generation", "labels",
             "ownerReferences", "deletionTimestamp", "creationTimestamp")


def slim(kind: str, body: Mapping[str, Any]) -> Obj:
    """The fields of `body` that the reconcile, the diff and status derivation read
    (sharing their values with `body`: the store serialises them at once)."""
    meta = body.get("metadata") or {}
    kept: Obj = {"metadata": {k: meta[k] for k in _METADATA if k in meta}}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k not in _DROPPED_ANNOTATIONS}
    if annotations:
        kept["metadata"]["annotations"] = annotations
    if kind != "Pod":
        managers = _managers(meta.get("managedFields") or ())
        if managers:
            kept["metadata"]["managedFields"] = managers
    if kind != "Pod":  # a pod's spec is never read, only its status
        for field in ("spec", "data"):
            if field in body:
                kept[field] = body[field]
    if "status" in body:
        kept["status"] = body["status"]
    return kept


def _managers(entries: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """managedFields reduced to who wrote when (conflicts.writer_of) and, of the fields,
    only whether the entry owns spec.replicas (diff.owns_replicas)."""
    kept = []
    for entry in entries:
        slim_entry = {k: entry[k] for k in ("manager", "operation", "subresource", "time")
                      if entry.get(k)}
        if "f:replicas" in (((entry.get("fieldsV1") or {}).get("f:spec")) or {}):
            slim_entry["fieldsV1"] = {"f:spec": {"f:replicas": {}}}
        kept.append(slim_entry)
    return kept


def _version(obj: Mapping[str, Any]) -> int | None:
    try:
        return int(obj["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return None  # opaque: then the newest arrival wins


@dataclass(frozen=True, slots=True)
class _Entry:
    version: int | None
    instance: str  # the instance label: whose pods (a HandTracker's, or its canary's)
    owner: str  # which HandTracker the object belongs to
    blob: str  # the slim object as compact JSON

    @classmethod
    def of(cls, obj: Obj) -> _Entry:
        labels = obj["metadata"].get("labels") or {}
        return cls(_version(obj), labels.get(identity.INSTANCE_LABEL, ""),
                   identity.owner_of(labels), json.dumps(obj, separators=(",", ":")))

    def decode(self) -> Obj:
        return json.loads(self.blob)


def _newer(new: int | None, old: _Entry | None) -> bool:
    if old is None:
        return True
    return new is None or old.version is None or new >= old.version


class Store:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[ObjKey, _Entry] = {}
        # (namespace, instance label) -> keys of the pods of one HandTracker
        self._pods: dict[tuple[str, str], set[ObjKey]] = {}
        # The resourceVersion of the last deletion seen per key: a list older than it
        # must not bring the object back.
        self._deleted: dict[ObjKey, int | None] = {}
        # Kinds whose CRD the cluster lacks (optional integrations); all others are served.
        self._unserved: set[str] = set()

    # -- writes ------------------------------------------------------------------------
    def upsert(self, kind: str, body: Mapping[str, Any]) -> None:
        obj = slim(kind, body)
        key = _key(kind, obj)
        entry = _Entry.of(obj)
        with self._lock:
            if _newer(entry.version, self._objects.get(key)):
                self._deleted.pop(key, None)
                self._put(key, entry)

    def remove(self, kind: str, namespace: str, name: str, version: int | None = None) -> None:
        """Forgets an object; `version` is its resourceVersion at deletion, if known."""
        with self._lock:
            key = (kind, namespace, name)
            old = self._objects.get(key)
            self._deleted[key] = version if version is not None else (
                old.version if old else None)
            self._drop(key)

    def event(self, kind: str, type_: str | None, body: Mapping[str, Any]) -> None:
        """A watch event as kopf delivers it (type None: seen in a listing)."""
        if type_ == "DELETED":
            meta = body["metadata"]
            self.remove(kind, meta["namespace"], meta["name"], _version(body))
        else:
            self.upsert(kind, body)

    def replace(self, kind: str, items: Iterable[Mapping[str, Any]],
                listed_at: int | None = None,
                namespaces: Iterable[str] | None = None) -> set[tuple[str, str]]:
        """Makes the copies of `kind` (in `namespaces`, or everywhere) those of a fresh
        list taken at resourceVersion `listed_at`. A copy newer than the listed one, or
        newer than the list itself (an event that came meanwhile), stays.
        Returns the HandTrackers (namespace, name) whose objects the list changed: what
        the watch had missed."""
        listed = {}
        for item in items:
            obj = slim(kind, item)
            listed[_key(kind, obj)] = _Entry.of(obj)
        scope = set(namespaces) if namespaces is not None else None
        touched: set[tuple[str, str]] = set()
        with self._lock:
            for key in [k for k in self._objects if k[0] == kind]:
                if key in listed or (scope is not None and key[1] not in scope):
                    continue
                old = self._objects[key]
                if listed_at is not None and (old.version or 0) > listed_at:
                    continue  # created after the list was taken
                touched.add(_owner(key, old))
                self._drop(key)
            for key, entry in listed.items():
                if self._deleted_after(key, entry):
                    continue  # the list was taken before a deletion already seen
                old = self._objects.get(key)
                if old is None or (_newer(entry.version, old) and entry.version != old.version):
                    touched.add(_owner(key, entry))
                    self._put(key, entry)
            self._deleted = {k: v for k, v in self._deleted.items() if k[0] != kind}
        return touched

    # -- reads (copies: callers may change what they get) ---------------------------------
    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        with self._lock:
            entry = self._objects.get((kind, namespace, name))
        return entry.decode() if entry is not None else None

    def observe(self, ident: identity.Identity,
                children: Iterable[tuple[str, str, str]]) -> dict[str, Obj | None]:
        """slot -> the child of that slot controlled by this HandTracker, if any; each
        child given as (slot, kind, name)."""
        observed: dict[str, Obj | None] = {}
        for slot, kind, name in children:
            obj = self.get(kind, ident.namespace, name)
            observed[slot] = obj if obj is not None and _controlled_by(obj, ident.uid) else None
        return observed

    def pods(self, ident: identity.Identity) -> list[Obj]:
        with self._lock:
            keys = sorted(self._pods.get((ident.namespace, ident.instance), ()))
            entries = [self._objects[k] for k in keys]
        return [entry.decode() for entry in entries]

    def set_served(self, kind: str, served: bool) -> bool:
        """Records whether the API serves `kind`; True if that changed."""
        with self._lock:
            changed = (kind not in self._unserved) != served
            if served:
                self._unserved.discard(kind)
            else:
                self._unserved.add(kind)
                for key in [k for k in self._objects if k[0] == kind]:
                    self._drop(key)  # a CRD's removal deletes its objects
            return changed

    def served(self, kind: str) -> bool:
        with self._lock:
            return kind not in self._unserved

    def objects(self, kind: str) -> list[Obj]:
        """A copy of every object of `kind`."""
        with self._lock:
            entries = [e for k, e in self._objects.items() if k[0] == kind]
        return [entry.decode() for entry in entries]

    def keys(self, kind: str) -> list[tuple[str, str]]:
        """(namespace, name) of every object of `kind`."""
        with self._lock:
            return [(ns, name) for k, ns, name in self._objects if k == kind]

    def counts(self) -> dict[str, int]:
        with self._lock:
            found: dict[str, int] = {}
            for kind, _, _ in self._objects:
                found[kind] = found.get(kind, 0) + 1
            return found

    # -- internals (lock held) -------------------------------------------------------------
    def _deleted_after(self, key: ObjKey, entry: _Entry) -> bool:
        if key not in self._deleted:
            return False
        gone, listed = self._deleted[key], entry.version
        return gone is None or listed is None or listed <= gone

    def _put(self, key: ObjKey, entry: _Entry) -> None:
        self._drop(key)
        self._objects[key] = entry
        if key[0] == "Pod" and entry.instance:
            self._pods.setdefault((key[1], entry.instance), set()).add(key)

    def _drop(self, key: ObjKey) -> None:
        old = self._objects.pop(key, None)
        if old is not None and key[0] == "Pod":
            members = self._pods.get((key[1], old.instance))
            if members is not None:
                members.discard(key)
                if not members:
                    del self._pods[(key[1], old.instance)]


def _key(kind: str, obj: Mapping[str, Any]) -> ObjKey:
    meta = obj["metadata"]
    return kind, meta["namespace"], meta["name"]


def _owner(key: ObjKey, entry: _Entry) -> tuple[str, str]:
    """The HandTracker an object belongs to: itself, or the one its labels name."""
    if key[0] == identity.KIND:
        return key[1], key[2]
    return key[1], entry.owner


def _controlled_by(obj: Mapping[str, Any], uid: str) -> bool:
    refs = obj["metadata"].get("ownerReferences") or ()
    return any(r.get("uid") == uid and r.get("controller") for r in refs)

