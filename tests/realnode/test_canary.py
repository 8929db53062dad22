"""Canaries on the real node, through the bed's real Gateway (Traefik): the split of the
traffic, the ready gate, promotion and rollback without a failed request, and the abort
on the canary's own metrics. Every request goes to Traefik's address, as a client's
would; which version answered is read from the answer's model block."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from hack import images
from hack.bed import gateway
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, condition, example, get, wait_condition
from tests.realnode.helpers import SMALL, Client, Prober, gone, on_real_node, tracker
from tests.support.waiting import eventually

SPLIT_REQUESTS = 400
SPLIT_TOLERANCE = 7  # percentage points


def _canary(kubectl: Kubectl, ns: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ht = get(kubectl, ns, "ht", name) or {}
    return (ht.get("status") or {}).get("canary") or {}, condition(ht, "CanaryReady")


def _wait_canary(kubectl: Kubectl, ns: str, name: str, reason: str,
                 timeout: float = 180) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status, cond = _canary(kubectl, ns, name)
        return status if cond.get("reason") == reason else None

    return eventually(reached, timeout=timeout, interval=0.5,
                      message=f"CanaryReady reason {reason}")


def _routed(kubectl: Kubectl, ns: str, name: str, client: Client) -> None:
    """Waits for the route's URL in status and for Traefik to carry requests to the pods."""
    def url() -> str | None:
        ht = get(kubectl, ns, "ht", name) or {}
        found = (ht.get("status") or {}).get("url", "")
        return found if found == f"http://{client.host}:{gateway.PORT}" else None

    eventually(url, timeout=60, interval=0.5, message="the route's URL in status")

    def answers() -> bool:
        try:
            return client.get(timeout=5).status_code == 200
        except requests.RequestException:
            return False

    eventually(answers, timeout=30, interval=0.5, message="Traefik routes to the pods")


def _first_answer_from_the_canary(client: Client) -> None:
    """Traefik follows the route's new weights a moment after the operator writes them."""
    eventually(lambda: client.complexity() == "lite", timeout=60, interval=0.1,
               message="the canary answers")


def _under_traffic(client: Client, change: Callable[[], None]) -> tuple[float, Prober]:
    """Runs `change` while a request every 100 ms (bounded: 3000) goes to the route, from
    2 s before to 2 s after; returns how long it took and the client's record."""
    with Prober(client.get, interval=0.1, max_requests=3000) as prober:
        time.sleep(2)
        started = time.monotonic()
        change()
        seconds = time.monotonic() - started
        time.sleep(2)
    return seconds, prober


def _patch(kubectl: Kubectl, ns: str, name: str, *ops: dict[str, Any]) -> None:
    kubectl("patch", "ht", name, "-n", ns, "--type=json", "-p", json.dumps(list(ops)))


def _canary_gone(kubectl: Kubectl, ns: str, name: str) -> bool:
    return all(gone(kubectl, kind, f"{name}{suffix}", "-n", ns) for kind, suffix in (
        ("deployment", "-canary"), ("service", "-canary"), ("configmap", "-canary-config")))


def test_a_canary_gets_its_share_only_once_ready_and_is_split_by_weight(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    # Its image is not on the node and is never pulled: it cannot become ready.
    absent = {"weight": 25, "image": "localhost/handtracker-workload:absent"}
    client = Client(ns, "split")
    apply(kubectl, ns, tracker("split", imagePullPolicy="Never", httpRoute=client.route(),
                               canary=absent))
    wait_condition(kubectl, ns, "split", timeout=240)
    _routed(kubectl, ns, "split", client)
    status = _wait_canary(kubectl, ns, "split", "ErrImageNeverPull", timeout=90)
    assert (status["weight"], status["effectiveWeight"]) == (25, 0)
    with Prober(client.get, max_requests=60) as prober:
        time.sleep(5)
    assert len(prober.outcomes) >= 30 and prober.failures == []
    route = kubectl.json("get", "httproute", "split", "-n", ns)
    assert [ref["name"] for ref in route["spec"]["rules"][0]["backendRefs"]] == ["split"]

    # The same canary with an image that runs, and the lite model: the stable one is full.
    _patch(kubectl, ns, "split", {"op": "replace", "path": "/spec/canary",
                                  "value": {"weight": 25, "model": {"complexity": "lite"}}})
    started = time.monotonic()
    status = _wait_canary(kubectl, ns, "split", "Serving")
    assert status["effectiveWeight"] == 25

    _first_answer_from_the_canary(client)
    print(f"canary Serving → first request served by it: {time.monotonic() - started:.1f} s")
    shares = client.shares(SPLIT_REQUESTS)
    lite = 100 * shares["lite"] / SPLIT_REQUESTS
    print(f"split: {shares['lite']} of {SPLIT_REQUESTS} requests to the canary "
          f"({lite:.1f} %, weight 25)")
    assert set(shares) == {"full", "lite"}
    assert abs(lite - 25) <= SPLIT_TOLERANCE

    # A filter someone adds to the operator's rule survives its next write, and works.
    header = {"type": "ResponseHeaderModifier",
              "responseHeaderModifier": {"set": [{"name": "X-Team", "value": "vision"}]}}
    kubectl("patch", "httproute", "split", "-n", ns, "--type=json", "-p", json.dumps(
        [{"op": "add", "path": "/spec/rules/0/filters", "value": [header]}]))
    _patch(kubectl, ns, "split", {"op": "replace", "path": "/spec/canary/weight", "value": 40})

    def rewritten() -> dict[str, Any] | None:
        rule = kubectl.json("get", "httproute", "split", "-n", ns)["spec"]["rules"][0]
        weights = {ref["name"]: ref.get("weight") for ref in rule["backendRefs"]}
        return rule if weights == {"split": 60, "split-canary": 40} else None

    rule = eventually(rewritten, timeout=30, interval=0.5, message="the new weights")
    assert rule["filters"] == [header]
    eventually(lambda: client.get().headers.get("X-Team") == "vision", timeout=30,
               interval=0.2, message="Traefik applies the filter")


def test_promotion_and_rollback_lose_no_request(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    lite = {"weight": 50, "model": {"complexity": "lite"}}
    client = Client(ns, "ship")
    apply(kubectl, ns, tracker("ship", httpRoute=client.route(), canary=lite))
    wait_condition(kubectl, ns, "ship", timeout=240)
    _routed(kubectl, ns, "ship", client)
    _wait_canary(kubectl, ns, "ship", "Serving")
    _first_answer_from_the_canary(client)

    # Roll back: the canary loses its share first, then goes.
    def roll_back() -> None:
        _patch(kubectl, ns, "ship", {"op": "remove", "path": "/spec/canary"})
        eventually(lambda: _canary_gone(kubectl, ns, "ship"), timeout=90, interval=0.5,
                   message="the canary's objects deleted")

    seconds, prober = _under_traffic(client, roll_back)
    print(f"rollback: canary deleted {seconds:.1f} s after spec.canary was; "
          f"{len(prober.outcomes)} requests, {len(prober.failures)} failed")
    assert len(prober.outcomes) >= 50 and prober.failures == [], prober.refusals[:3]
    assert client.shares(40) == {"full": 40}
    _, cond = _canary(kubectl, ns, "ship")
    assert cond == {}  # no canary, no CanaryReady

    # Promote: the canary's model becomes the main one while spec.canary goes.
    _patch(kubectl, ns, "ship", {"op": "add", "path": "/spec/canary", "value": lite})
    _wait_canary(kubectl, ns, "ship", "Serving")
    _first_answer_from_the_canary(client)

    def promote() -> None:
        _patch(kubectl, ns, "ship",
               {"op": "replace", "path": "/spec/model/complexity", "value": "lite"},
               {"op": "remove", "path": "/spec/canary"})
        _wait_canary(kubectl, ns, "ship", "Promoting", timeout=30)
        eventually(lambda: _canary_gone(kubectl, ns, "ship"), timeout=240, interval=0.5,
                   message="the promoted canary deleted")

    seconds, prober = _under_traffic(client, promote)
    print(f"promote: all traffic on the new version after {seconds:.1f} s; "
          f"{len(prober.outcomes)} requests, {len(prober.failures)} failed")
    assert len(prober.outcomes) >= 100 and prober.failures == [], prober.refusals[:3]
    assert client.shares(40) == {"lite": 40}


def test_a_canary_that_breaks_its_error_budget_is_aborted(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any, hands_dir: Path
) -> None:
    # One request at a time and no queue: under concurrent load it sheds with 503.
    starved = {"weight": 50, "resources": SMALL, "model": {"complexity": "lite"},
               "admission": {"maxInflight": 1, "maxQueue": 0},
               "analysis": {"maxErrorRatio": 0.05, "minRequests": 20, "intervalSeconds": 2}}
    client = Client(ns, "starved")
    apply(kubectl, ns, tracker("starved", httpRoute=client.route(), canary=starved))
    wait_condition(kubectl, ns, "starved", timeout=240)
    _routed(kubectl, ns, "starved", client)
    _wait_canary(kubectl, ns, "starved", "Serving")
    _first_answer_from_the_canary(client)
    photo = (hands_dir / "mpsamples_hand_thumb_up.jpg").read_bytes()
    stop = threading.Event()
    codes: Counter[int | str] = Counter()

    def load() -> None:  # bounded: stops at the abort or after 90 s
        deadline = time.monotonic() + 90
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                answer = client.post("/v1/landmarks", photo)
                codes[answer.status_code] += 1
            except requests.RequestException as err:
                codes[type(err).__name__] += 1

    threads = [threading.Thread(target=load, daemon=True) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        status = _wait_canary(kubectl, ns, "starved", "CanaryAborted", timeout=90)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=40)
    print(f"abort: load answered {dict(codes)}; {status['message']}")
    assert codes[503] > 0 and status["effectiveWeight"] == 0
    _, cond = _canary(kubectl, ns, "starved")
    assert cond["status"] == "False" and "error ratio" in cond["message"]
    warnings = [e for e in kubectl.json("get", "events", "-n", ns)["items"]
                if e["reason"] == "CanaryAborted"]
    assert warnings and warnings[0]["type"] == "Warning"
    route = kubectl.json("get", "httproute", "starved", "-n", ns)
    assert [ref["name"] for ref in route["spec"]["rules"][0]["backendRefs"]] == ["starved"]
    # The stable pods take it all, once Traefik follows the route's new rule.
    eventually(lambda: client.shares(20) == {"full": 20}, timeout=30, interval=0.5,
               message="every request to the stable pods")


def test_the_canary_example_runs_through_the_beds_gateway(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    """examples/canary.yaml with the bed's Gateway and the model images built here: the
    digests in it are those of the bundles the wheel gives."""
    manifest = on_real_node(example("canary"))
    spec = manifest["spec"]
    client = Client(ns, manifest["metadata"]["name"])
    spec["httpRoute"] = {**spec["httpRoute"], **client.route()}
    for model, complexity in ((spec["model"], "full"), (spec["canary"]["model"], "lite")):
        model["source"]["image"]["reference"] = images.pinned(images.MODEL_IMAGES[complexity])
        assert model["sha256"] == images.model_sha256(images.MODEL_IMAGES[complexity])
    spec["canary"]["weight"] = 50  # to see both answer in a few requests
    apply(kubectl, ns, manifest)
    name = manifest["metadata"]["name"]
    wait_condition(kubectl, ns, name, timeout=240)
    _routed(kubectl, ns, name, client)
    _wait_canary(kubectl, ns, name, "Serving")
    _first_answer_from_the_canary(client)
    digests = {client.get().json()["parameters"]["sha256"] for _ in range(20)}
    assert digests == {spec["model"]["sha256"], spec["canary"]["model"]["sha256"]}
