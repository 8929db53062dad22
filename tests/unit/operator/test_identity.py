from __future__ import annotations

import pytest
from handtracker_operator import identity

BODY = {
    "metadata": {
        "name": "demo", "namespace": "vision", "uid": "u-1", "generation": 3,
        "labels": {"argocd.argoproj.io/instance": "apps", "team": "x"},
        "annotations": {"note": "mine"},
    }
}


def test_children_get_our_labels_only() -> None:
    ident = identity.of(BODY, "ghcr.io/x/handtracker:0.3.1")
    meta = ident.metadata("demo", "server")
    assert meta["labels"] == {
        "app.kubernetes.io/name": "handtracker",
        "app.kubernetes.io/instance": "demo",
        "app.kubernetes.io/component": "server",
        "app.kubernetes.io/part-of": "handtracker",
        "app.kubernetes.io/managed-by": "handtracker-operator",
        "app.kubernetes.io/version": "0.3.1",
    }
    assert "annotations" not in meta
    assert meta["ownerReferences"] == [{
        "apiVersion": identity.API_VERSION, "kind": identity.KIND, "name": "demo",
        "uid": "u-1", "controller": True, "blockOwnerDeletion": True,
    }]
    assert ident.config_name == "demo-config"
    assert ident.selector_string == (
        "app.kubernetes.io/name=handtracker,app.kubernetes.io/instance=demo"
    )


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("ghcr.io/x/y:0.1.0", "0.1.0"),
        ("localhost:5000/y:v2", "v2"),
        ("localhost:5000/y", ""),
        ("y@sha256:abc", ""),
        ("y:1.0@sha256:abc", "1.0"),
        ("y:" + "a" * 80, "a" * 63),
        ("y:weird+tag", "weird-tag"),
    ],
)
def test_the_version_label_is_the_image_tag_made_a_label_value(image: str, version: str) -> None:
    assert identity.version_of(image) == version
