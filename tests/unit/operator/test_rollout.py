"""The canary's course (rollout.py) and its analysis (analysis.py), as pure functions."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
from handtracker_operator import analysis, kinds, rollout, spec
from handtracker_operator.identity import Identity
from handtracker_operator.spec import CanaryAnalysis

IDENT = Identity("hands", "ns", "uid-1", 3, "1")
ROUTE = {"enabled": True, "parentRefs": [{"name": "gw"}]}
NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.UTC)


def parsed(canary: dict[str, Any] | None = None, **raw: Any) -> spec.HandTrackerSpec:
    body: dict[str, Any] = {"image": "img:1", "httpRoute": ROUTE, **raw}
    if canary is not None:
        body["canary"] = canary
    return spec.parse(body)


def deployment(available: int, replicas: int = 1, template: Any = None,
               generation: int = 1, updated: int | None = None) -> dict[str, Any]:
    return {"metadata": {"generation": generation},
            "spec": {"replicas": replicas, "template": template or {}},
            "status": {"observedGeneration": generation, "replicas": replicas,
                       "updatedReplicas": replicas if updated is None else updated,
                       "availableReplicas": available, "readyReplicas": available}}


def route(canary_weight: int) -> dict[str, Any]:
    refs = [{"name": "hands", "port": 80, "weight": 100 - canary_weight},
            {"name": "hands-canary", "port": 80, "weight": canary_weight}]
    return {"spec": {"rules": [{"name": "handtracker", "backendRefs": refs}]}}


def decide(ht: spec.HandTrackerSpec, observed: dict[str, Any], previous: Any = None,
           now: datetime.datetime = NOW, verdict: analysis.Verdict | None = None
           ) -> rollout.Rollout:
    stable = kinds.desired(ht, IDENT)["Deployment"]
    exists = any(observed.get(slot) for slot in kinds.CANARY_SLOTS)
    return rollout.decide(ht, stable, observed, exists, "hands-canary", previous or {}, now,
                          verdict)


def test_no_canary_no_course() -> None:
    assert decide(parsed(), {}) == rollout.Rollout()


def test_a_canary_gets_its_weight_only_with_an_available_replica() -> None:
    ht = parsed({"weight": 25, "model": {"complexity": "lite"}})
    waiting = decide(ht, {"CanaryDeployment": deployment(available=0)})
    assert (waiting.phase, waiting.weight, waiting.effective) == (rollout.WAITING, 25, 0)
    assert waiting.spec is not None and waiting.spec.model.complexity == "lite"
    serving = decide(ht, {"CanaryDeployment": deployment(available=1)})
    assert (serving.phase, serving.effective) == (rollout.SERVING, 25)
    assert serving.requeue_after is None  # nothing to look at again without analysis


def test_an_analysed_canary_is_looked_at_again_and_a_breach_sticks_to_its_attempt() -> None:
    ht = parsed({"weight": 25, "analysis": {"intervalSeconds": 7}})
    observed = {"CanaryDeployment": deployment(available=1)}
    assert decide(ht, observed).requeue_after == 7
    breach = analysis.Verdict(True, "error ratio 0.400")
    aborted = decide(ht, observed, verdict=breach)
    assert (aborted.phase, aborted.effective, aborted.message) == (
        rollout.ABORTED, 0, "error ratio 0.400")
    previous = {"phase": rollout.ABORTED, "attempt": aborted.attempt,
                "message": aborted.message}
    assert decide(ht, observed, previous).phase == rollout.ABORTED  # no verdict needed
    changed = parsed({"weight": 10, "analysis": {"intervalSeconds": 7}})
    assert decide(changed, observed, previous).phase == rollout.SERVING


def test_rollback_drains_then_deletes() -> None:
    ht = parsed()  # spec.canary removed, the stable spec unchanged
    stable = kinds.desired(ht, IDENT)["Deployment"]
    observed = {"Deployment": deployment(2, 2, stable["spec"]["template"]),
                "CanaryDeployment": deployment(1), "HTTPRoute": route(25)}
    draining = decide(ht, observed)
    assert (draining.phase, draining.effective) == (rollout.DRAINING, 0)
    assert draining.leaves_objects and draining.spec is None
    assert draining.requeue_after == rollout.DRAIN_SECONDS
    previous = {"phase": rollout.DRAINING, "drainingSince": draining.draining_since}
    later = decide(ht, observed, previous, NOW + datetime.timedelta(seconds=4))
    assert later.phase == rollout.DRAINING and later.requeue_after == pytest.approx(6)
    done = decide(ht, observed, previous, NOW + datetime.timedelta(seconds=11))
    assert done == rollout.Rollout()  # the canary's objects are deleted


def test_promotion_keeps_the_canary_share_until_every_stable_pod_is_new() -> None:
    ht = parsed(image="img:2")  # the canary's image copied into the main spec
    new_template = kinds.desired(ht, IDENT)["Deployment"]["spec"]["template"]
    old_template = kinds.desired(parsed(), IDENT)["Deployment"]["spec"]["template"]
    base = {"CanaryDeployment": deployment(1), "HTTPRoute": route(25)}
    for live in (deployment(2, 2, old_template),  # not applied yet
                 deployment(2, 2, new_template, updated=1),  # rolling
                 deployment(1, 2, new_template)):  # new pods, not all available
        course = decide(ht, {**base, "Deployment": live})
        assert (course.phase, course.effective) == (rollout.PROMOTING, 25), live
        assert course.leaves_objects
    done = decide(ht, {**base, "Deployment": deployment(2, 2, new_template)})
    assert (done.phase, done.effective) == (rollout.DRAINING, 0)


def test_a_canary_without_share_is_not_kept_for_the_promotion() -> None:
    ht = parsed(image="img:2")
    old_template = kinds.desired(parsed(), IDENT)["Deployment"]["spec"]["template"]
    course = decide(ht, {"CanaryDeployment": deployment(0), "HTTPRoute": route(0),
                         "Deployment": deployment(2, 2, old_template)})
    assert course.phase == rollout.DRAINING


def test_canary_spec_is_the_main_spec_with_its_overrides() -> None:
    ht = parsed({"weight": 5, "image": "img:2", "replicas": 2,
                 "model": {"source": {"type": "image", "image": {"reference": "car:2"}}},
                 "resources": {"limits": {"cpu": "2"}}},
                model={"complexity": "lite", "maxHands": 3, "sha256": "a" * 64},
                service={"type": "LoadBalancer", "port": 8000}, replicas=4)
    assert ht.canary is not None
    canary = ht.canary.spec
    assert (canary.image, canary.replicas, canary.resources.limits_cpu) == ("img:2", 2, "2")
    assert (canary.model.complexity, canary.model.max_hands) == ("lite", 3)
    assert canary.model.source == spec.ModelSource("image", image="car:2",
                                                   path=spec.DEFAULT_IMAGE_MODEL_PATH)
    assert canary.model.sha256 == ""  # another source: the main digest does not apply
    assert (canary.service.type, canary.service.port) == ("ClusterIP", 8000)
    assert canary.revision != ht.revision
    assert ht.canary.analysis is None


def test_a_canary_needs_the_route_and_a_source_needs_its_location() -> None:
    with pytest.raises(spec.InvalidSpec, match="spec.canary"):
        spec.parse({"canary": {"weight": 5}})
    with pytest.raises(spec.InvalidSpec, match=r"spec\.model\.source\.image"):
        spec.parse({"model": {"source": {"type": "image"}}})
    with pytest.raises(spec.InvalidSpec, match=r"spec\.canary\.model\.source\.pvc"):
        parsed({"weight": 5, "model": {"source": {"type": "pvc"}}})


PAGE = """\
# TYPE handtracker_http_requests_total counter
handtracker_http_requests_total{route="/v1/landmarks",method="POST",code="200"} 90
handtracker_http_requests_total{route="/v1/landmarks",method="POST",code="503"} 10
handtracker_http_requests_total{route="/readyz",method="GET",code="503"} 50
# TYPE handtracker_http_request_duration_seconds histogram
handtracker_http_request_duration_seconds_bucket{route="/v1/landmarks",le="0.1"} 50
handtracker_http_request_duration_seconds_bucket{route="/v1/landmarks",le="0.5"} 99
handtracker_http_request_duration_seconds_bucket{route="/v1/landmarks",le="1.0"} 100
handtracker_http_request_duration_seconds_bucket{route="/v1/landmarks",le="+Inf"} 100
handtracker_http_request_duration_seconds_bucket{route="/readyz",le="+Inf"} 50
"""


def test_a_page_counts_clients_requests_only() -> None:
    sample = analysis.parse(PAGE)
    assert (sample.requests, sample.errors) == (100, 10)  # the probe's 503s left out
    assert sample.buckets[math.inf] == 100
    assert sample.p99() == 0.5


def test_judged_over_all_pods_and_never_before_min_requests() -> None:
    pods = [analysis.parse(PAGE), analysis.parse(PAGE)]
    assert not analysis.judge(pods, CanaryAnalysis(min_requests=201)).breached
    strict = analysis.judge(pods, CanaryAnalysis(max_error_ratio=0.05, min_requests=200))
    assert strict.breached and "error ratio 0.100" in strict.message
    assert "over 200 requests" in strict.message
    lenient = CanaryAnalysis(max_error_ratio=0.2, min_requests=10)
    assert not analysis.judge(pods, lenient).breached
    slow = CanaryAnalysis(max_error_ratio=0.2, max_p99_latency_seconds=0.25, min_requests=10)
    verdict = analysis.judge(pods, slow)
    assert verdict.breached and "p99 latency ≤ 0.5 s" in verdict.message


def test_a_suspended_handtracker_suspends_its_canary_too() -> None:
    ht = parsed({"weight": 5}, suspended=True)
    assert ht.canary is not None and ht.canary.spec.desired_replicas == 0
