"""Fixtures for tests on the real node `real-0`: real containers from the project's images.

`real_node` (tests/fixtures/cluster.py) skips them, with the reason, on a machine
that cannot run the node; under CI=true that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.cluster import Kubectl


@pytest.fixture
def ns(real_node: Any, namespace: str, kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace that enforces the restricted Pod Security Standard."""
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    yield namespace
