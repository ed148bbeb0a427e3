"""Every third-party package that jurybox's code imports is declared in pyproject.toml.

Read from the code's own imports (AST, so a new ``import x`` anywhere in src/ is seen): a module-level
import must be a runtime dependency (``[project] dependencies``); an import inside a function (lazy)
may instead come from an optional extra other than ``dev``, which a plain install never has.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "jurybox"

# import name -> distribution, for packages that may be absent from the test environment
KNOWN = {"sklearn": "scikit-learn", "yaml": "pyyaml", "llama_cpp": "llama-cpp-python", "ray": "ray",
         "ir_measures": "ir-measures", "torch": "torch", "cleanlab": "cleanlab"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(reqs: list[str]) -> set[str]:
        return {_norm(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in reqs}

    extras = {k: names(v) for k, v in project.get("optional-dependencies", {}).items()}
    return names(project["dependencies"]), extras


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> list[tuple[str, int, bool]]:
    """(top-level module, line, lazy) for every absolute import outside ``if TYPE_CHECKING``."""
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                out.extend((a.name.split(".")[0], child.lineno, lazy) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                out.append((child.module.split(".")[0], child.lineno, lazy))
            visit(child, lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return out


def _distribution(module: str, mapping: dict[str, list[str]]) -> str:
    if module in mapping:
        return _norm(mapping[module][0])
    return _norm(KNOWN.get(module, module))


def test_every_third_party_import_in_src_is_declared() -> None:
    runtime, extras = _declared()
    optional = set().union(*(v for k, v in extras.items() if k != "dev"))
    mapping = md.packages_distributions()
    problems: list[str] = []
    seen: set[str] = set()
    for path in sorted(SRC.rglob("*.py")):
        for module, line, lazy in _imports(ast.parse(path.read_text(), str(path))):
            if module in sys.stdlib_module_names or module in ("jurybox", "__future__"):
                continue
            dist = _distribution(module, mapping)
            seen.add(dist)
            where = f"{path.relative_to(ROOT)}:{line}"
            if dist in runtime:
                continue
            if not lazy:
                problems.append(f"{where}: module-level import of {module} ({dist}) is not in [project] dependencies")
            elif dist not in optional:
                problems.append(f"{where}: {module} ({dist}) is declared in no install extra")
    assert not problems, "\n".join(problems)
    assert {"numpy", "pandas", "llama-cpp-python"} <= seen  # the scan really read the code


def test_the_scan_catches_an_undeclared_import(tmp_path: Path) -> None:
    tree = ast.parse("import os\nimport numpy\n\ndef f():\n    import ray\n    from notapackage.sub import x\n"
                     "if TYPE_CHECKING:\n    import torch\n")
    assert _imports(tree) == [("os", 1, False), ("numpy", 2, False), ("ray", 5, True), ("notapackage", 6, True)]
    runtime, extras = _declared()
    assert "notapackage" not in runtime and all("notapackage" not in v for v in extras.values())
