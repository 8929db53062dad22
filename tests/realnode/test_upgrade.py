"""Upgrading from the previous release on the real node: `helm install` the release that
hack/releases.toml records (its chart, CRD and operator image, built from its commit),
bring three HandTrackers to Ready under it, then `helm upgrade` to the checkout while a
client sends each of them a request every 100 ms.

Nothing may fail, every child keeps its UID, pods roll exactly where the pod template
changes and CHANGELOG.md names every changed field, the objects the old release stored at
v1alpha1 are migrated to v1beta1, and the two operators never act together: the new
replicas are younger, so they wait as standbys until the old ones are gone (leadership.py).
"""

from __future__ import annotations

import contextlib
import datetime
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from hack import images, node, version
from hack.images import release
from tests.fixtures.chart import CHART, HelmError, helm_run
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import CRD, apply, wait_condition
from tests.realnode.helpers import METADATA, Client, Prober, pods, service_url, tracker
from tests.support import changelog, podtemplates
from tests.support.repo import REPO_ROOT
from tests.support.waiting import eventually

CRD_NAME = "handtrackers.handtracking.dev"
OLD_API = "handtracking.dev/v1alpha1"
NEW_API_RESOURCE = "handtrackers.v1beta1.handtracking.dev"
CHILD_KINDS = "configmap,deployment,service,poddisruptionbudget,horizontalpodautoscaler,httproute"


def _image_values(image: str, name: str) -> dict[str, str]:
    """The pinned operator image: by digest in the checkout's chart; the previous
    release's chart takes no digest (and its schema no `@` in a tag), so by the
    registry's tag, which the bed found naming the pinned digest, pulled by the kubelet."""
    repository, _, digest = images.pinned(image).partition("@")
    if name == "old":
        return {"repository": repository, "tag": image.rsplit(":", 1)[1]}
    return {"repository": repository, "tag": "", "digest": digest}


def _values(folder: Path, image: str, name: str) -> Path:
    placement = node.placement()
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "image": {**_image_values(image, name), "pullPolicy": "IfNotPresent"},
        "operator": {"defaultImage": images.pinned(images.workload_image())},
        "nodeSelector": placement["nodeSelector"],
        "tolerations": placement["tolerations"],
    }))
    return path


def _trackers(ns: str, client: Client) -> list[dict[str, Any]]:
    """One minimal, one autoscaled with a PodDisruptionBudget, one behind an HTTPRoute,
    written as a user of the previous release wrote them (v1alpha1)."""
    made = [
        tracker("plain"),
        tracker("scaled", autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 3}),
        tracker("routed", httpRoute=client.route()),
    ]
    for manifest in made:
        manifest["apiVersion"] = OLD_API
        manifest["metadata"]["namespace"] = ns
    return made


def _contains(read: Any, given: Any) -> bool:
    """`read` holds everything `given` set (the API server adds its defaults)."""
    if isinstance(given, dict):
        return isinstance(read, dict) and all(_contains(read.get(k), v)
                                              for k, v in given.items())
    return read == given


def _children(kubectl: Kubectl, ns: str, name: str) -> dict[str, str]:
    found = kubectl.json("get", CHILD_KINDS, "-n", ns, "-l",
                         f"app.kubernetes.io/instance={name}")["items"]
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["uid"] for o in found}


def _pods(kubectl: Kubectl, ns: str, name: str) -> dict[str, tuple[str, int]]:
    """{pod UID: (pod-template-hash, restarts)} of the HandTracker's running pods."""
    return {p["metadata"]["uid"]: (p["metadata"]["labels"]["pod-template-hash"],
                                   sum(c["restartCount"] for c in
                                       p["status"].get("containerStatuses") or ()))
            for p in pods(kubectl, ns, name) if not p["metadata"].get("deletionTimestamp")}


def _upgraded(kubectl: Kubectl, ns: str, name: str) -> bool:
    """The new operator reconciled it (only it writes status.revision) and its Deployment
    runs the desired template on every replica, with no old pod left."""
    ht = kubectl.json("get", NEW_API_RESOURCE, name, "-n", ns)
    status = ht.get("status") or {}
    if not status.get("revision") or status.get("observedGeneration") != \
            ht["metadata"]["generation"]:
        return False
    deployment = kubectl.json("get", "deployment", name, "-n", ns)
    done = deployment.get("status") or {}
    want = deployment["spec"]["replicas"]
    return (done.get("observedGeneration") == deployment["metadata"]["generation"]
            and done.get("updatedReplicas") == want == done.get("readyReplicas")
            and done.get("replicas") == want
            and len(_pods(kubectl, ns, name)) == want)


def _operator_pods(kubectl: Kubectl, home: str) -> list[dict[str, Any]]:
    found = kubectl.json("get", "pods", "-n", home, "-l",
                         "app.kubernetes.io/name=handtracker-operator")["items"]
    return sorted(found, key=lambda p: p["metadata"]["creationTimestamp"])


def _killed(kubectl: Kubectl, home: str, names: set[str]) -> dict[str, datetime.datetime]:
    """{pod name: when the kubelet began stopping it} for those of `names` it stopped."""
    found = {}
    for event in kubectl.json("get", "events", "-n", home, "--field-selector",
                              "reason=Killing")["items"]:
        name = event["involvedObject"]["name"]
        stamp = event.get("lastTimestamp") or event.get("eventTime")
        if name in names and stamp:
            found[name] = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return found


def test_helm_upgrade_from_the_previous_release_fails_no_request_and_rolls_only_what_the_changelog_names(  # noqa: E501
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any, helm: Path, tmp_path: Path
) -> None:
    previous = release.previous()
    old_tree = release.checkout(previous)
    operator.stop()  # the session's operator must not do either release's work
    # The previous release's chart installs its own CRD, as on a cluster that never had one.
    # Deleting it deletes every HandTracker: the tests run one at a time, so only those
    # of finished tests (namespaces being deleted) go with it.
    kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true", timeout=180)
    upgrade = f"up-{uuid.uuid4().hex[:6]}"
    home = f"{ns}-op"
    env = {**real_node.env(), "HELM_CACHE_HOME": str(tmp_path / "cache"),
           "HELM_CONFIG_HOME": str(tmp_path / "config"), "HELM_DATA_HOME": str(tmp_path / "data")}
    deployment = f"deployment/{upgrade}-handtracker-operator"
    client = Client(ns, "routed")
    try:
        helm_run(helm, "install", upgrade, str(previous.chart), "--namespace", home,
                 "--create-namespace", "--values",
                 str(_values(tmp_path, previous.operator_image, "old")), env=env)
        kubectl("rollout", "status", "-n", home, deployment, "--timeout=180s", timeout=200)
        served = kubectl.json("get", "crd", CRD_NAME)
        assert [v["name"] for v in served["spec"]["versions"]] == ["v1alpha1"]

        manifests = _trackers(ns, client)
        for manifest in manifests:
            apply(kubectl, ns, manifest)
        for manifest in manifests:
            wait_condition(kubectl, ns, manifest["metadata"]["name"], timeout=300)
        names = [m["metadata"]["name"] for m in manifests]
        children = {n: _children(kubectl, ns, n) for n in names}
        assert {"PodDisruptionBudget/scaled", "HorizontalPodAutoscaler/scaled",
                "HTTPRoute/routed"} <= {k for c in children.values() for k in c}
        before = {n: _pods(kubectl, ns, n) for n in names}
        old_operators = {p["metadata"]["name"] for p in _operator_pods(kubectl, home)}

        # Which HandTrackers' pods this upgrade rolls, from the two releases' own builders.
        files = []
        for manifest in manifests:
            files.append(tmp_path / f"{manifest['metadata']['name']}.yaml")
            files[-1].write_text(yaml.safe_dump(manifest))
        old_templates = podtemplates.render(old_tree, files)
        new_templates = podtemplates.render(REPO_ROOT, files)
        changed = {n: podtemplates.changed_fields(old_templates[f"{n}.yaml:{n}"],
                                                  new_templates[f"{n}.yaml:{n}"])
                   for n in names}
        named = changelog.rolled_fields(version.read())
        for n in names:
            assert changed[n] <= named, f"{n}: the changelog does not name {changed[n] - named}"

        def via_service(name: str) -> Any:
            url = service_url(kubectl, ns, name) + METADATA
            return lambda: requests.get(url, timeout=10)

        eventually(lambda: client.get().status_code == 200, timeout=60, interval=0.5,
                   message="Traefik routes to the old release's pods")
        probers = [Prober(via_service("plain"), max_requests=3000),
                   Prober(via_service("scaled"), max_requests=3000),
                   Prober(client.get, max_requests=3000)]
        with contextlib.ExitStack() as running:
            for prober in probers:
                running.enter_context(prober)
            # What the README tells users: the CRD first (helm never upgrades crds/), then
            # the chart.
            started = time.monotonic()
            kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
            helm_run(helm, "upgrade", upgrade, str(CHART), "--namespace", home, "--values",
                     str(_values(tmp_path, images.operator_image(), "new")), env=env)
            kubectl("rollout", "status", "-n", home, deployment, "--timeout=240s",
                    timeout=260)
            for n in names:
                eventually(lambda n=n: _upgraded(kubectl, ns, n), timeout=300, interval=1,
                           message=f"{n} reconciled by the new operator and rolled out")
            upgraded = time.monotonic() - started
        print(f"upgrade from {previous.version}: {upgraded:.1f} s; requests "
              + ", ".join(f"{n} {len(p.failures)}/{len(p.outcomes)} failed"
                          for n, p in zip(names, probers, strict=True)))
        for prober in probers:
            assert len(prober.outcomes) > 100
            assert prober.failures == [], (prober.failures[:5], prober.refusals[:5])

        for n in names:
            assert _children(kubectl, ns, n) == children[n], f"{n}'s children were replaced"
            after = _pods(kubectl, ns, n)
            if changed[n]:
                assert not after.keys() & before[n].keys(), f"{n}'s pods did not roll"
                assert not {h for h, _ in after.values()} & {h for h, _ in before[n].values()}
            else:
                assert after == before[n], f"{n}'s pods rolled with an unchanged template"

        # The objects the old release stored at v1alpha1 are stored at v1beta1 now.
        crd = kubectl.json("get", "crd", CRD_NAME)
        eventually(lambda: kubectl.json("get", "crd", CRD_NAME)["status"]["storedVersions"]
                   == ["v1beta1"], timeout=60, message="storedVersions is [v1beta1]")
        assert next(v for v in crd["spec"]["versions"] if v["storage"])["name"] == "v1beta1"
        for manifest in manifests:
            read = kubectl.json("get", NEW_API_RESOURCE, manifest["metadata"]["name"],
                                "-n", ns)
            assert read["apiVersion"] == "handtracking.dev/v1beta1"
            assert _contains(read["spec"], manifest["spec"]), manifest["metadata"]["name"]

        # Side by side: the first new replica started while the old ones ran and waited as
        # their standby; it took over once the last of them was stopped, and promptly.
        first = _operator_pods(kubectl, home)[0]
        assert first["metadata"]["name"] not in old_operators
        log = kubectl("logs", "-n", home, first["metadata"]["name"])
        assert "Standby: standby for" in log, log[-3000:]
        active = re.search(r"^(\S+ \S+) INFO handtracker_operator.leadership: Active", log, re.M)
        assert active and log.index("Standby: standby for") < active.start(), log[-3000:]
        took_over = datetime.datetime.strptime(active.group(1), "%Y-%m-%d %H:%M:%S,%f") \
            .replace(tzinfo=datetime.UTC)
        stopped = _killed(kubectl, home, old_operators)
        assert len(stopped) == len(old_operators), stopped
        last_stopped = max(stopped.values())
        # Event times have whole seconds.
        assert last_stopped - datetime.timedelta(seconds=1) <= took_over, (stopped, took_over)
        assert took_over - last_stopped < datetime.timedelta(seconds=20), (stopped, took_over)

        # Going back with a newer chart's values is refused, naming the key.
        with pytest.raises(HelmError, match="podDisruptionBudget"):
            helm_run(helm, "upgrade", upgrade, str(previous.chart), "--namespace", home,
                     "--reuse-values", "--set", "podDisruptionBudget.enabled=true", env=env)
    finally:
        helm_run(helm, "uninstall", upgrade, "--namespace", home, "--ignore-not-found",
                 env=env)
        kubectl("delete", "namespace", home, "--ignore-not-found", "--wait=false")
        # Whatever happened, the session goes on with the checkout's CRD.
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
        kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
