"""The CRD: every field described, and its defaults are the ones spec.parse assumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from handtracker_operator import spec

CRD = Path(__file__).resolve().parents[3] / "crds" / "handtrackers.yaml"


def schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def apply_defaults(node: dict[str, Any], value: Any) -> Any:
    """Structural defaulting as the API server does it: fill absent fields, recurse."""
    if node.get("type") != "object" or not isinstance(value, dict):
        return value
    out = dict(value)
    for key, sub in (node.get("properties") or {}).items():
        if key not in out and "default" in sub:
            out[key] = sub["default"]
        if key in out:
            out[key] = apply_defaults(sub, out[key])
    return out


def walk(node: dict[str, Any], path: str = "") -> list[str]:
    missing = [] if node.get("description") or path.endswith(".metadata") else [path or "."]
    for key, sub in (node.get("properties") or {}).items():
        missing += walk(sub, f"{path}.{key}")
    if "items" in node:
        missing += walk(node["items"], f"{path}[]")
    return missing


def test_every_field_has_a_description() -> None:
    assert walk(schema()) == []


def test_schema_defaults_equal_parse_defaults() -> None:
    spec_schema = schema()["properties"]["spec"]
    defaulted = apply_defaults(spec_schema, {})
    assert defaulted["replicas"] == 2 and defaulted["model"]["complexity"] == "full"
    assert defaulted["model"]["detectionMode"] == "standard"
    assert spec.parse(defaulted) == spec.parse({}) == spec.HandTrackerSpec()


def test_partial_objects_are_defaulted_field_by_field() -> None:
    spec_schema = schema()["properties"]["spec"]
    raw = {"model": {"maxHands": 1}, "resources": {"limits": {"cpu": "2"}}}
    parsed = spec.parse(apply_defaults(spec_schema, raw))
    assert parsed.model == spec.Model(max_hands=1)
    assert parsed.resources == spec.Resources(limits_cpu="2")


def test_kubectl_get_shows_the_columns_in_order_and_wide_adds_four() -> None:
    crd = yaml.safe_load(CRD.read_text())
    columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in columns if not c.get("priority")] == [
        "Ready", "Reason", "Replicas", "URL", "Model", "Canary", "Age"]
    assert [c["name"] for c in columns if c.get("priority")] == [
        "Image", "Revision", "Min", "Max"]
