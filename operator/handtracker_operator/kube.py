"""The only module that talks to the Kubernetes API.

Children are written with server-side apply under one field manager, so fields we stop
setting are removed and fields others own (HPA replicas, server defaults) are left alone.
"""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import kubernetes

from . import identity
from .errors import ApiError, ApplyFailed, Conflict, NotFound, PeeringUnavailable
from .events import Event
from .identity import Identity
from .kinds import BY_NAME
from .ratelimit import TokenBucket

# Seconds; a hung request must not block a worker forever (the queue retries it).
REQUEST_TIMEOUT = 30
# Objects per page of a list (the store's fill at start-up and at each resync).
LIST_PAGE = 250


def load_client() -> kubernetes.client.ApiClient:
    """In-cluster credentials when running in a pod, else KUBECONFIG / ~/.kube/config."""
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()
    return kubernetes.client.ApiClient()


class Kube:
    """Writes, the lists that fill the store, and the few reads of peering and of the
    storage migration; every request passes the rate limit and is counted by verb and
    status code."""

    def __init__(self, client: kubernetes.client.ApiClient, limiter: TokenBucket,
                 count: Callable[[str, str], None] = lambda verb, code: None) -> None:
        self._client = client
        self._limiter = limiter
        self._count = count
        self._instance = socket.gethostname()

    # -- reads: lists to fill the store (store.py); peering; the storage migration -------
    def list_kind(self, kind: str, namespaces: Iterable[str] | None,
                  selector: str = "") -> tuple[list[dict[str, Any]], int | None]:
        """Every object of `kind` in the namespaces (None: the whole cluster), in pages
        (one response never holds thousands of objects), and the resourceVersion the
        list shows the cluster at (the oldest, over several namespaces)."""
        found = BY_NAME[kind]
        paths = [f"{found.api_prefix}/{found.plural}"] if namespaces is None else [
            _path(kind, ns) for ns in namespaces]
        items: list[dict[str, Any]] = []
        versions: list[int] = []
        for path in paths:
            token = ""
            while True:
                query = [("limit", str(LIST_PAGE))]
                query += [("labelSelector", selector)] if selector else []
                query += [("continue", token)] if token else []
                page = self._call("GET", path, query=query)
                items += page["items"]
                meta = page.get("metadata") or {}
                if not token and str(meta.get("resourceVersion", "")).isdigit():
                    versions.append(int(meta["resourceVersion"]))  # a paged list's snapshot
                token = meta.get("continue") or ""
                if not token:
                    break
        return items, (min(versions) if len(versions) == len(paths) else None)

    def peering(self, name: str, namespace: str | None) -> dict[str, Any] | None:
        """kopf's peering object (None if it does not exist yet), read afresh: kopf's
        keep-alives in it are its whole point."""
        try:
            return self._call("GET", _peering_path(namespace, name))
        except NotFound:
            return None

    def crd(self, name: str) -> dict[str, Any]:
        """A CustomResourceDefinition as it is now (the storage migration's, not kopf's)."""
        return self._call("GET", _cluster_path("CustomResourceDefinition", name))

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """One object afresh: the storage migration re-reads one whose write conflicted."""
        return self._call("GET", _path(kind, namespace, name))

    # -- writes ------------------------------------------------------------------------
    def replace(self, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT of the object as read, with its resourceVersion (Conflict if it changed
        since): the API server writes it again, at the CRD's storage version."""
        meta = obj["metadata"]
        return self._call("PUT", _path(kind, meta["namespace"], meta["name"]), body=obj,
                          query=[("fieldManager", identity.MANAGER)])

    def set_stored_versions(self, name: str, versions: list[str],
                            resource_version: str) -> None:
        """Sets a CRD's status.storedVersions, only if the CRD is still at
        `resource_version` (Conflict otherwise)."""
        body = {"metadata": {"resourceVersion": resource_version},
                "status": {"storedVersions": versions}}
        self._call("PATCH", _cluster_path("CustomResourceDefinition", name) + "/status",
                   body=body, content_type="application/merge-patch+json")

    def create_peering(self, name: str, namespace: str | None) -> None:
        """Creates kopf's peering object if it is missing (kopf only patches it)."""
        kind = "KopfPeering" if namespace else "ClusterKopfPeering"
        body = {"apiVersion": "kopf.dev/v1", "kind": kind,
                "metadata": {"name": name, **({"namespace": namespace} if namespace else {}),
                             "labels": {identity.MANAGED_BY_LABEL: identity.MANAGER}}}
        try:
            self._call("POST", _peering_path(namespace), body=body)
        except NotFound as exc:
            raise PeeringUnavailable(
                f"the {kind} CRD (kopf.dev/v1) is not installed; apply "
                "deploy/peering/ or run without --peering") from exc
        except Conflict:
            pass  # another replica created it first

    def apply(self, kind: str, manifest: Mapping[str, Any],
              manager: str = identity.MANAGER) -> dict[str, Any]:
        meta = manifest["metadata"]
        try:
            return self._call(
                "PATCH",
                _path(kind, meta["namespace"], meta["name"]),
                body=manifest,
                query=[("fieldManager", manager), ("force", "true")],
                content_type="application/apply-patch+yaml",
            )
        except ApiError as exc:
            raise ApplyFailed(kind, meta["name"], exc.message) from exc

    def delete(self, kind: str, namespace: str, name: str) -> None:
        try:
            self._call("DELETE", _path(kind, namespace, name),
                       body={"propagationPolicy": "Background"})
        except NotFound:
            pass
        except ApiError as exc:
            raise ApplyFailed(kind, name, exc.message) from exc

    def patch_status(self, namespace: str, name: str,
                     status: Mapping[str, Any]) -> dict[str, Any]:
        return self._call(
            "PATCH",
            _path(identity.KIND, namespace, name) + "/status",
            body={"status": status},
            content_type="application/merge-patch+json",
        )

    def post_event(self, ident: Identity, event: Event) -> None:
        now = datetime.datetime.now(datetime.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{ident.name}.", "namespace": ident.namespace},
            "involvedObject": {
                "apiVersion": identity.API_VERSION,
                "kind": identity.KIND,
                "name": ident.name,
                "namespace": ident.namespace,
                "uid": ident.uid,
            },
            "type": event.type,
            "reason": event.reason,
            "message": event.message[:1024],
            "source": {"component": identity.MANAGER},
            "reportingComponent": identity.MANAGER,
            "reportingInstance": self._instance[:128],
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        self._call("POST", _path("Event", ident.namespace), body=body)

    # -- plumbing ----------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        self._limiter.acquire()
        method_, url, headers, body_, _ = self._client.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._client.call_api(
                method_, url, header_params=headers, body=body_, _request_timeout=REQUEST_TIMEOUT
            )
        except Exception:
            self._count(method, "error")  # no answer: connection refused, timeout
            raise
        self._count(method, str(response.status))
        data = response.read()
        if not 200 <= response.status < 300:
            raise _error(response.status, str(response.reason), data)
        return json.loads(data) if data else None


def _path(kind: str, namespace: str, name: str | None = None) -> str:
    found = BY_NAME[kind]
    path = f"{found.api_prefix}/namespaces/{namespace}/{found.plural}"
    return f"{path}/{name}" if name else path


def _cluster_path(kind: str, name: str) -> str:
    found = BY_NAME[kind]
    return f"{found.api_prefix}/{found.plural}/{name}"


def _peering_path(namespace: str | None, name: str | None = None) -> str:
    if namespace:
        return _path("KopfPeering", namespace, name)
    found = BY_NAME["ClusterKopfPeering"]
    return f"{found.api_prefix}/{found.plural}" + (f"/{name}" if name else "")


def _error(status: int, reason: str, body: bytes) -> ApiError:
    """The typed error for an answer, with the API server's own message (a Status)."""
    try:
        message = str(json.loads(body).get("message") or "")
    except (TypeError, ValueError, AttributeError):
        message = ""
    kind = {404: NotFound, 409: Conflict}.get(status, ApiError)
    return kind(status, reason, message)
