"""The CRD: every field described, and its defaults are the ones spec.parse assumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from handtracker_operator import identity, spec

CRD = Path(__file__).resolve().parents[3] / "crds" / "handtrackers.yaml"


def versions() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in yaml.safe_load(CRD.read_text())["spec"]["versions"]}


def schema() -> dict[str, Any]:
    return versions()[identity.VERSION]["schema"]["openAPIV3Schema"]


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
    columns = versions()[identity.VERSION]["additionalPrinterColumns"]
    assert [c["name"] for c in columns if not c.get("priority")] == [
        "Ready", "Reason", "Replicas", "URL", "Model", "Canary", "Age"]
    assert [c["name"] for c in columns if c.get("priority")] == [
        "Image", "Revision", "Min", "Max"]


def test_the_operator_s_version_is_stored_and_the_older_ones_are_served_deprecated() -> None:
    found = versions()
    assert list(found) == [identity.VERSION, *identity.OLDER_VERSIONS]
    assert [v["name"] for v in found.values() if v["storage"]] == [identity.VERSION]
    assert all(v["served"] for v in found.values())
    assert not found[identity.VERSION].get("deprecated")
    for old in identity.OLDER_VERSIONS:
        assert found[old]["deprecated"] is True
        assert f"{identity.GROUP}/{identity.VERSION}" in found[old]["deprecationWarning"]


def test_every_version_has_the_same_schema_columns_and_subresources() -> None:
    # Conversion strategy None changes only apiVersion: anything else must not differ.
    crd = yaml.safe_load(CRD.read_text())
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    current, *older = versions().values()
    for version in older:
        for part in ("schema", "additionalPrinterColumns", "subresources"):
            assert version[part] == current[part], part
