"""status.derive on observed Deployments and pods, including failure reasons."""

from __future__ import annotations

import pytest
from handtracker_operator import identity, spec, status

IDENT = identity.Identity("demo", "vision", "u-1", 4, "0.1.0")


def deployment(replicas: int = 2, ready: int = 2, updated: int | None = None,
               total: int | None = None, generation: int = 1, observed: int = 1,
               progressing: str = "NewReplicaSetAvailable") -> dict:
    return {
        "metadata": {"name": "demo", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas if total is None else total,
            "updatedReplicas": replicas if updated is None else updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [{"type": "Progressing", "status": "True", "reason": progressing}],
        },
    }


def pod(waiting: str = "", last: str = "", unschedulable: bool = False) -> dict:
    cs = {"name": "handtracker", "ready": False, "state": {}, "lastState": {}}
    if waiting:
        cs["state"] = {"waiting": {"reason": waiting, "message": f"{waiting} details"}}
    if last:
        cs["lastState"] = {"terminated": {"reason": last}}
    st: dict = {"containerStatuses": [cs]}
    if unschedulable:
        st = {"conditions": [{"type": "PodScheduled", "status": "False",
                              "reason": "Unschedulable", "message": "0/3 nodes"}]}
    return {"metadata": {"name": "demo-abc"}, "status": st}


def conds(derived: status.Derived) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in derived.conditions}


def test_an_available_deployment_makes_a_ready_handtracker() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment()}, [])
    assert conds(d) == {
        "Ready": ("True", "Available"),
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
        "Degraded": ("False", "AsExpected"),
    }
    assert d.fields["replicaSummary"] == "2/2"
    assert d.fields["observedGeneration"] == 4
    assert d.fields["selector"] == IDENT.selector_string
    assert d.fields["url"] == "http://demo.vision.svc.cluster.local"
    assert d.fields["internalURL"] == "http://demo.vision.svc.cluster.local"


def test_rolling_out_is_still_ready() -> None:
    d = status.derive(spec.parse({}), IDENT,
                      {"Deployment": deployment(updated=1, total=3, ready=2)}, [])
    assert conds(d)["Progressing"] == ("True", "RollingOut")
    assert conds(d)["Ready"] == ("True", "RollingOut")


def test_new_generation_not_observed_is_rolling_out() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(generation=2)}, [])
    assert conds(d)["Progressing"] == ("True", "RollingOut")


@pytest.mark.parametrize(
    ("pods", "reason"),
    [
        ([pod(waiting="CrashLoopBackOff")], "CrashLoopBackOff"),
        ([pod(waiting="ErrImagePull")], "ImagePullBackOff"),
        ([pod(waiting="ImagePullBackOff"), pod(waiting="CrashLoopBackOff")], "ImagePullBackOff"),
        ([pod(waiting="CrashLoopBackOff", last="OOMKilled")], "OOMKilled"),
        ([pod(unschedulable=True)], "Unschedulable"),
    ],
)
def test_failing_pods_give_the_reason(pods: list, reason: str) -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(ready=0)}, pods)
    c = conds(d)
    assert c["Ready"] == ("False", reason)
    assert c["Available"] == ("False", reason)
    assert c["Degraded"] == ("True", reason)
    assert d.fields["replicaSummary"] == "0/2"


def test_some_pods_failing_while_serving_is_degraded() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(ready=1)},
                      [pod(waiting="CrashLoopBackOff")])
    assert conds(d)["Ready"] == ("True", "CrashLoopBackOff")
    assert conds(d)["Degraded"] == ("True", "CrashLoopBackOff")


def test_progress_deadline_exceeded() -> None:
    dep = deployment(ready=0, updated=0)
    dep["status"]["conditions"] = [{"type": "Progressing", "status": "False",
                                    "reason": "ProgressDeadlineExceeded", "message": "slow"}]
    c = conds(status.derive(spec.parse({}), IDENT, {"Deployment": dep}, []))
    assert c["Progressing"] == ("False", "ProgressDeadlineExceeded")
    assert c["Ready"] == ("False", "ProgressDeadlineExceeded")
    assert c["Degraded"] == ("True", "ProgressDeadlineExceeded")


def test_a_suspended_handtracker_is_not_ready_and_wants_no_replicas() -> None:
    d = status.derive(spec.parse({"suspended": True}), IDENT,
                      {"Deployment": deployment(replicas=0, ready=0)}, [])
    assert conds(d)["Ready"] == ("False", "Suspended")
    assert conds(d)["Available"] == ("False", "Suspended")
    assert d.fields["replicaSummary"] == "0/0"


def test_reconcile_error_wins() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment()}, [], error="boom")
    assert conds(d)["Ready"] == ("False", "ReconcileError")


def test_hpa_owned_replica_count_is_reported() -> None:
    d = status.derive(spec.parse({"autoscaling": {"enabled": True}}), IDENT,
                      {"Deployment": deployment(replicas=4, ready=4)}, [])
    assert d.fields["desiredReplicas"] == 4 and d.fields["replicaSummary"] == "4/4"


@pytest.mark.parametrize(
    ("ingress", "url"),
    [
        ({"spec": {"rules": [{"host": "h.example", "http": {"paths": [{"path": "/"}]}}]}},
         "http://h.example"),
        ({"spec": {"tls": [{"hosts": ["h.example"]}],
                   "rules": [{"host": "h.example", "http": {"paths": [{"path": "/x"}]}}]}},
         "https://h.example/x"),
    ],
)
def test_url_from_the_observed_ingress(ingress: dict, url: str) -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(), "Ingress": ingress}, [])
    assert d.fields["url"] == url
    assert d.fields["internalURL"] == "http://demo.vision.svc.cluster.local"


def test_internal_url_with_port() -> None:
    parsed = spec.parse({"service": {"port": 8000}})
    assert status.internal_url(parsed, IDENT) == "http://demo.vision.svc.cluster.local:8000"


# Pod statuses as the kubelet writes them (containerd runtime), for the failures a real
# node shows.
POD = "demo-7d9c5b7f6-x2k4q"
IMAGE = "handtracker-workload:dev"
CONFIG_ERROR = ("handtracker-workload: HANDTRACKER_MAX_HANDS='abc' is invalid: "
                "invalid literal for int() with base 10: 'abc'")
BACK_OFF = ("back-off 40s restarting failed container=handtracker "
            f"pod={POD}_vision(0f6e2b1c-5d1a-4c36-9a8e-2f0d3c4b5a69)")


def kubelet_pod(state: dict, last: dict | None = None, phase: str = "Running",
                restarts: int = 3, **metadata: object) -> dict:
    return {
        "metadata": {"name": POD, "namespace": "vision", **metadata},
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [handtracker]"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [handtracker]"},
            ],
            "containerStatuses": [{
                "name": "handtracker", "image": IMAGE, "imageID": "", "ready": False,
                "started": False, "restartCount": restarts, "state": state,
                "lastState": {"terminated": last} if last else {},
            }],
        },
    }


def exited(code: int, reason: str, message: str = "") -> dict:
    term = {"exitCode": code, "reason": reason, "containerID": "containerd://4f1c",
            "startedAt": "2025-01-01T10:00:00Z", "finishedAt": "2025-01-01T10:00:01Z"}
    return {**term, "message": message} if message else term


def waiting(reason: str, message: str) -> dict:
    return {"waiting": {"reason": reason, "message": message}}


GUNICORN_TAIL = "\n".join([
    '{"time": "2025-01-01T10:00:01.201Z", "level": "error", "logger": "gunicorn.error", '
    '"pid": 7, "message": "Exception in worker process", "exception": "Traceback (most '
    'recent call last):\\n  File \\"x.py\\", line 1\\nRuntimeError: model bundle is corrupt"}',
    '{"time": "2025-01-01T10:00:01.305Z", "level": "error", "logger": "gunicorn.error", '
    '"pid": 1, "message": "Reason: Worker failed to boot."}',
    "",
])


@pytest.mark.parametrize(
    ("pods", "reason", "says"),
    [
        # The image is absent and imagePullPolicy is Never: not a back-off, its own reason.
        ([kubelet_pod(waiting("ErrImageNeverPull", f'Container image "{IMAGE}" is not present '
                                                   "with pull policy of Never"),
                      phase="Pending", restarts=0)],
         "ErrImageNeverPull", f'{POD}: Container image "{IMAGE}" is not present with pull '
                              "policy of Never"),
        # A reference the runtime cannot parse is never pulled, so never retried.
        ([kubelet_pod(waiting("InvalidImageName", 'Failed to apply default image tag '
                                                  '"Local/Bad:": invalid reference format'),
                      phase="Pending", restarts=0)],
         "InvalidImageName", "invalid reference format"),
        ([kubelet_pod(waiting("RegistryUnavailable", f"image pull failed for {IMAGE} because "
                                                     "the registry is unavailable"),
                      phase="Pending", restarts=0)],
         "ImagePullBackOff", "the registry is unavailable"),
        ([kubelet_pod(waiting("ImageInspectError", 'Failed to inspect image "": rpc error'),
                      phase="Pending", restarts=0)],
         "ImageInspectError", "Failed to inspect image"),
        ([kubelet_pod(waiting("CreateContainerError", "failed to reserve container name"),
                      phase="Pending", restarts=0)],
         "CreateContainerError", "failed to reserve container name"),
        # A bad setting: the workload names it on stderr and exits 2; with
        # FallbackToLogsOnError that is the log tail in lastState.
        ([kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF),
                      exited(2, "Error", f"{CONFIG_ERROR}\n"))],
         "CrashLoopBackOff", f"{POD}: container handtracker exited with code 2 (Error): "
                             f"{CONFIG_ERROR}"),
        # Between the crash and the back-off the kubelet shows the container stopped.
        ([kubelet_pod({"terminated": exited(2, "Error", f"{CONFIG_ERROR}\n")},
                      exited(2, "Error", f"{CONFIG_ERROR}\n"))],
         "CrashLoopBackOff", CONFIG_ERROR),
        # The workload's JSON log records: their message, and the exception's last line.
        ([kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF), exited(3, "Error", GUNICORN_TAIL))],
         "CrashLoopBackOff", "exited with code 3 (Error): Reason: Worker failed to boot."),
        ([kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF),
                      exited(3, "Error", GUNICORN_TAIL.split("\n")[0]))],
         "CrashLoopBackOff", "Exception in worker process: RuntimeError: model bundle is corrupt"),
        # No log tail (no FallbackToLogsOnError, or nothing written): the exit alone.
        ([kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF), exited(1, "Error"))],
         "CrashLoopBackOff", f"{POD}: container handtracker exited with code 1 (Error)"),
        # The runtime could not start the process; the kubelet alternates this with the
        # crash loop, whose lastState carries the runtime's error.
        ([kubelet_pod(waiting("RunContainerError", "exec: \"handtracker\": executable file "
                                                   "not found in $PATH: unknown"),
                      exited(128, "StartError", "failed to create containerd task: exec: "
                                                "\"handtracker\": executable file not found"))],
         "CrashLoopBackOff", "exited with code 128 (StartError): failed to create containerd"),
        # An OOM kill says more than the crash loop it causes, current or last.
        ([kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF),
                      exited(137, "OOMKilled", '{"level": "info", "message": "ready"}\n'))],
         "OOMKilled", f"{POD}: container handtracker ran out of memory"),
        ([kubelet_pod({"terminated": exited(137, "OOMKilled")})],
         "OOMKilled", "ran out of memory"),
        # The most recent exit counts: a crash after an earlier OOM kill is a crash.
        ([kubelet_pod({"terminated": exited(2, "Error", CONFIG_ERROR)}, exited(137, "OOMKilled"))],
         "CrashLoopBackOff", CONFIG_ERROR),
    ],
)
def test_kubelet_failures_give_the_reason_and_its_message(pods: list, reason: str,
                                                          says: str) -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(ready=0)}, pods)
    by_type = {c.type: c for c in d.conditions}
    assert (by_type["Degraded"].status, by_type["Degraded"].reason) == ("True", reason)
    assert (by_type["Ready"].status, by_type["Ready"].reason) == ("False", reason)
    assert by_type["Degraded"].message.startswith(f"1 pod(s) {reason}; {POD}: ")
    assert says in by_type["Degraded"].message
    assert says in by_type["Ready"].message


def test_the_back_off_text_is_replaced_by_how_the_container_exited() -> None:
    crash = kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF), exited(2, "Error", CONFIG_ERROR))
    problem = status.pod_problem([crash])
    assert problem is not None and "back-off" not in problem.message
    # The message stays the same from one restart to the next.
    later = kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF.replace("40s", "1m20s")),
                        exited(2, "Error", CONFIG_ERROR), restarts=4)
    assert status.pod_problem([later]) == problem


def test_a_long_last_line_is_cut() -> None:
    noise = "x" * 5000
    crash = kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF),
                        exited(1, "Error", f"earlier line\n{noise}\n\n"))
    problem = status.pod_problem([crash])
    assert problem is not None
    line = problem.message.split("exited with code 1 (Error): ", 1)[1]
    assert len(line) == 300 and line.endswith("...") and "earlier" not in line


@pytest.mark.parametrize(
    "gone",
    [
        kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF), exited(2, "Error", CONFIG_ERROR),
                    deletionTimestamp="2025-01-01T10:05:00Z"),
        kubelet_pod({"terminated": exited(137, "OOMKilled")}, phase="Failed"),
    ],
)
def test_pods_on_their_way_out_are_not_reported(gone: dict) -> None:
    assert status.pod_problem([gone]) is None


def test_a_ready_container_after_an_oom_kill_is_fine() -> None:
    recovered = kubelet_pod({"running": {"startedAt": "2025-01-01T10:01:00Z"}},
                            exited(137, "OOMKilled"))
    recovered["status"]["containerStatuses"][0]["ready"] = True
    assert status.pod_problem([recovered]) is None


MISMATCH = ("ModelDigestMismatch: /var/run/handtracker/model/hand_landmarker.task has "
            f"sha256 {'b' * 64}, expected {'a' * 64}")


def test_a_refused_model_bundle_gives_its_own_reason() -> None:
    pod = kubelet_pod(waiting("CrashLoopBackOff", BACK_OFF), exited(3, "Error", MISMATCH))
    problem = status.pod_problem([pod])
    assert problem is not None and problem.reason == "ModelDigestMismatch"
    assert f"expected {'a' * 64}" in problem.message


def test_a_model_image_whose_copy_fails_is_an_invalid_model() -> None:
    pod = kubelet_pod({"waiting": {"reason": "PodInitializing"}})
    pod["status"]["initContainerStatuses"] = [{
        "name": "model", "ready": False, "restartCount": 2,
        "state": waiting("CrashLoopBackOff", BACK_OFF),
        "lastState": {"terminated": exited(
            1, "Error", "cp: cannot stat '/models/x.task': No such file or directory")}}]
    problem = status.pod_problem([pod])
    assert problem is not None and problem.reason == "ModelInvalid"
    assert "No such file or directory" in problem.message
    pod["status"]["initContainerStatuses"][0]["state"] = {
        "terminated": exited(0, "Completed")}
    assert status.pod_problem([pod]) is None  # a copy that did its job
