"""The test bed's layers point one way, and the control plane refuses to take down what it
cannot undo.

hack/README.md draws the layers; this test reads every module's imports and holds the
code to that drawing.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from hack import controlplane
from tests.support.repo import REPO_ROOT

HACK = REPO_ROOT / "hack"
# Bottom first. A module may import its own package and the layers below it, never a
# layer above it or a sibling of its own layer.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"hack", "hack.gobuild", "hack.children", "hack.version"}),
    frozenset({"hack.controlplane"}),
    frozenset({"hack.node", "hack.tools"}),
    frozenset({"hack.supply"}),
    frozenset({"hack.images"}),
    frozenset({"hack.bed"}),
    frozenset({"hack.demo", "hack.hostcheck", "hack.chart", "hack.wheelhouse", "hack.lock"}),
)


def unit_of(module: str) -> str:
    """The layer member a module belongs to: `hack.node.host` -> `hack.node`."""
    return ".".join(module.split(".")[:2])


def layer_of(module: str) -> int:
    unit = unit_of(module)
    for index, members in enumerate(LAYERS):
        if unit in members:
            return index
    raise AssertionError(f"{unit} is in no layer of this test (and of hack/README.md)")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def hack_imports(source: str, module: str, is_package: bool) -> list[tuple[str, int, bool]]:
    """(imported hack module, line, at module level?) for each import of a hack module."""
    tree = ast.parse(source)
    top = set(map(id, tree.body))
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base] if base != "hack" else [f"hack.{a.name}" for a in node.names]
        else:
            continue
        found += [(n, node.lineno, id(node) in top) for n in names if n.startswith("hack.")]
    return found


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    problems = []
    for imported, line, at_top in hack_imports(source, module, is_package):
        where = f"{module}:{line} imports {imported}"
        if not at_top:
            problems.append(f"{where} inside a function or block")
        elif unit_of(imported) != unit_of(module) and layer_of(imported) >= layer_of(module):
            problems.append(f"{where}, a layer above or beside it")
    return problems


MODULES = sorted(HACK.rglob("*.py"))


def test_every_bed_module_is_in_a_layer() -> None:
    assert len(MODULES) > 30
    for path in MODULES:
        layer_of(module_name(path))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_bed_modules_import_only_their_own_package_and_lower_layers(path: Path) -> None:
    assert violations(path.read_text(), module_name(path), path.name == "__init__.py") == []


@pytest.mark.parametrize(("source", "problem"), [
    ("from hack import bed\n", "hack.bed, a layer above"),
    ("from hack.images import load\n", "hack.images, a layer above"),
    ("from hack.tools import crds\n", "hack.tools, a layer above or beside"),
    ("def f():\n    from hack import gobuild\n", "inside a function"),
    ("from ..node import host\n", "hack.node, a layer above"),
])
def test_the_layer_check_sees_imports_that_cross(source: str, problem: str) -> None:
    found = violations(source, "hack.controlplane.cluster")
    assert len(found) == 1 and problem in found[0], found


def test_the_layer_check_allows_own_package_and_lower_layers() -> None:
    source = "from hack import gobuild\nfrom . import api\nfrom .network import HOST\n"
    assert violations(source, "hack.controlplane.cluster") == []
    assert violations("from hack.controlplane import api\n", "hack.node.configs") == []


def test_down_refuses_a_cluster_whose_member_it_does_not_know(tmp_path: Path) -> None:
    """Stopping the real node's processes as plain ones would leave the machine changed
    (bridge, iptables, sysctls): `controlplane.down` without the node must refuse."""
    state_dir = tmp_path / "cluster"
    state_dir.mkdir()
    state = {"members": ["node"], "node": {"sysctls": {}}, "processes": []}
    (state_dir / "state.json").write_text(json.dumps(state))
    with pytest.raises(controlplane.ClusterError, match="hack.bed down"):
        controlplane.down(state_dir)
    assert json.loads((state_dir / "state.json").read_text()) == state
