"""Releases: the record of earlier ones, and a pod template that changes only where the
changelog says this version rolls pods.

The pod templates of the previous release's examples are rendered by that release's own
builders (its tree unpacked from git) and by the checkout's. Every field that differs
rolls the pods of a HandTracker like it on upgrade, so CHANGELOG.md must name it under
"Rolls existing pods"; and a field named there must really change.
"""

from __future__ import annotations

import subprocess

import pytest
from packaging.version import Version

from hack import version
from hack.images import release
from tests.support import changelog, podtemplates
from tests.support.repo import REPO_ROOT


def test_every_release_is_a_commit_of_this_history_older_than_the_current_version() -> None:
    recorded = release.releases()
    assert recorded, "hack/releases.toml records no release"
    for entry in recorded:
        assert Version(entry.version) < Version(version.read())
        found = subprocess.run(["git", "-C", str(REPO_ROOT), "cat-file", "-e",
                                f"{entry.commit}^{{commit}}"], check=False)
        assert found.returncode == 0, f"{entry.version}'s commit {entry.commit} is not here"
        assert changelog.section(entry.version) is not None


def test_the_current_version_has_a_changelog_section() -> None:
    assert changelog.section(version.read()).strip()


@pytest.fixture(scope="module")
def templates() -> tuple[dict, dict]:
    tree = release.checkout(release.previous())
    examples = sorted((tree / "examples").glob("*.yaml"))
    assert examples, f"{tree} has no examples"
    return podtemplates.render(tree, examples), podtemplates.render(REPO_ROOT, examples)


def test_pod_templates_change_only_where_the_changelog_says_pods_roll(
        templates: tuple[dict, dict]) -> None:
    before, after = templates
    assert before.keys() == after.keys()
    changed = {field for name in before
               for field in podtemplates.changed_fields(before[name], after[name])}
    named = changelog.rolled_fields(version.read())
    assert not changed - named, (
        f"upgrading from {release.previous().version} changes these pod template fields, "
        f"which roll pods: name them under '{changelog.ROLLS_HEADING}' in CHANGELOG.md's "
        f"{version.read()} section: {sorted(changed - named)}")
    assert not named - changed, (
        f"CHANGELOG.md says {version.read()} rolls pods through fields no example's "
        f"template changes in: {sorted(named - changed)}")


def test_changed_fields_names_labels_containers_volumes_and_other_fields() -> None:
    before = {"metadata": {"labels": {"a": "1"}, "annotations": {"h": "x"}},
              "spec": {"containers": [{"name": "c", "image": "i:1", "args": ["x"]}],
                       "volumes": [{"name": "tmp", "emptyDir": {}}],
                       "terminationGracePeriodSeconds": 30}}
    after = {"metadata": {"labels": {"a": "1", "b": "2"}, "annotations": {"h": "y"}},
             "spec": {"containers": [{"name": "c", "image": "i:2", "args": ["x"]}],
                      "initContainers": [{"name": "model", "image": "m"}],
                      "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                      "terminationGracePeriodSeconds": 60}}
    assert podtemplates.changed_fields(before, after) == {f"spec.template.{path}" for path in (
        "metadata.labels[b]", "metadata.annotations[h]", "spec.containers[c].image",
        "spec.initContainers[model]", "spec.volumes[tmp]", "spec.terminationGracePeriodSeconds")}
    assert podtemplates.changed_fields(before, before) == set()
