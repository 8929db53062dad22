"""hack/tools: every pinned tool's module names it as a tool, and the CRD sets hold the
kinds the platform tests and the operator rely on (read from the pinned modules)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hack.tools import TOOLS, crds
from hack.tools.build import GO_DIR, tool_hash


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_each_tool_is_a_tool_of_its_own_module(name: str) -> None:
    go_mod = (GO_DIR / name / "go.mod").read_text()
    assert re.search(rf"^tool {re.escape(TOOLS[name].package)}$", go_mod, re.M)
    assert (GO_DIR / name / "go.sum").is_file()


def test_helm_and_promtool_are_pinned_to_their_releases() -> None:
    assert "helm.sh/helm/v4 v4.3.2" in (GO_DIR / "helm" / "go.mod").read_text()
    assert "github.com/prometheus/prometheus v0.316.0" in (
        GO_DIR / "promtool" / "go.mod").read_text()


def test_the_registry_cosign_and_syft_are_pinned_to_their_releases() -> None:
    assert "github.com/distribution/distribution/v3 v3.1.2" in (
        GO_DIR / "registry" / "go.mod").read_text()
    assert "github.com/sigstore/cosign/v3 v3.1.3" in (GO_DIR / "cosign" / "go.mod").read_text()
    assert "github.com/anchore/syft v1.57.2" in (GO_DIR / "syft" / "go.mod").read_text()


def test_the_cache_entry_follows_the_pins_and_go() -> None:
    assert tool_hash("helm", "go1.26.8") != tool_hash("helm", "go1.27.0")
    assert tool_hash("helm", "go1.26.8") != tool_hash("promtool", "go1.26.8")


def test_gateway_api_standard_channel() -> None:
    names = crds.names("gateway-api")
    for plural in ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants"):
        assert f"{plural}.gateway.networking.k8s.io" in names
    standard = {doc["metadata"]["annotations"]["gateway.networking.k8s.io/channel"]
                for doc in crds.manifests("gateway-api")}
    assert standard == {"standard"}


def test_the_monitoring_set_holds_the_prometheus_operator_crds() -> None:
    names = crds.names("monitoring")
    for plural in ("servicemonitors", "podmonitors", "prometheusrules", "prometheuses"):
        assert f"{plural}.monitoring.coreos.com" in names


def test_a_part_of_a_set_is_chosen_by_name() -> None:
    only = ("servicemonitors.monitoring.coreos.com",)
    assert [doc["spec"]["names"]["kind"] for doc in crds._chosen("monitoring", only)] == [
        "ServiceMonitor"]
    assert len(crds._chosen("monitoring", None)) == len(crds.names("monitoring"))
    with pytest.raises(KeyError, match="servicemonitors.example.com"):
        crds._chosen("monitoring", (*only, "servicemonitors.example.com"))


def test_the_built_tools_report_their_pins(helm: Path, promtool: Path) -> None:
    version = subprocess.run([str(helm), "version", "--short"], capture_output=True,
                             text=True, check=True).stdout
    assert version.strip() == "v4.3.2"
    version = subprocess.run([str(promtool), "--version"], capture_output=True,
                             text=True, check=True).stdout
    assert version.startswith("promtool, version 0.316.0 ")
