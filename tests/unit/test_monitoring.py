"""deploy/monitoring/: the alerting rules checked and unit-tested with the pinned
promtool, and the Grafana dashboard's shape. (Metric names against real /metrics:
tests/integration/platform/test_monitoring_metrics.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.repo import REPO_ROOT

ROOT = REPO_ROOT
MONITORING = ROOT / "deploy" / "monitoring"
RULE = MONITORING / "prometheusrule.yaml"
DASHBOARD = MONITORING / "handtracker-dashboard.json"
ALERTS = {
    "HandTrackerHighErrorRatio", "HandTrackerHighLatency", "HandTrackerOverloaded",
    "HandTrackerReplicasNotReady", "HandTrackerOperatorReconcileErrors",
    "HandTrackerOperatorNoActiveReplica",
}


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """The PrometheusRule's spec as a plain rule file, with the promtool tests beside it."""
    spec = yaml.safe_load(RULE.read_text())["spec"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    shutil.copy(MONITORING / "prometheusrule.test.yaml", tmp_path / "rules.test.yaml")
    return tmp_path


def _promtool(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_promtool_check_rules(promtool: Path, rules_dir: Path) -> None:
    result = _promtool(promtool, "check", "rules", "rules.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout + result.stderr


def test_promtool_unit_tests_of_every_alert(promtool: Path, rules_dir: Path) -> None:
    result = _promtool(promtool, "test", "rules", "rules.test.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {t["alertname"] for case in yaml.safe_load(
        (rules_dir / "rules.test.yaml").read_text())["tests"]
        for t in case.get("alert_rule_test", ())}
    assert tested == ALERTS


def test_promtool_test_catches_a_wrong_expectation(promtool: Path, rules_dir: Path) -> None:
    # A guard against a test file that passes whatever the rules say.
    text = (rules_dir / "rules.test.yaml").read_text().replace("2.485s", "9s")
    (rules_dir / "rules.test.yaml").write_text(text)
    assert _promtool(promtool, "test", "rules", "rules.test.yaml", cwd=rules_dir).returncode


def test_alerts_are_the_ones_shipped() -> None:
    spec = yaml.safe_load(RULE.read_text())["spec"]
    alerts = {r["alert"] for group in spec["groups"] for r in group["rules"]}
    assert alerts == ALERTS
    for group in spec["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert {"summary", "description"} <= set(rule["annotations"])


def _panels() -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in json.loads(DASHBOARD.read_text())["panels"]}


def test_dashboard_has_the_panels_operators_look_at() -> None:
    assert set(_panels()) >= {
        "Request rate", "Request latency", "In-flight and queued requests", "Inference time",
        "Hands per image", "Pod readiness", "Operator reconciles",
    }
    for panel in _panels().values():
        assert panel["targets"], panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
