"""The code rules of docs/architecture.md ("Code rules") hold on this checkout: no import cycle
(imports inside functions counted), no module over 500 lines and no function over 60. CI also
runs them, with ruff and mypy, as ``make lint``; here they run with every ``make test``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tools" / name), *args], capture_output=True, text=True,
                          timeout=120)


def test_no_import_cycle():
    run = _tool("import_cycles.py")
    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines()[-1].startswith("0 import cycle(s) among ")


def test_no_module_over_500_lines_and_no_function_over_60():
    run = _tool("code_size.py")
    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines() == ["0 size breach(es)"]


def test_the_tools_catch_what_they_check(tmp_path):
    """Negative controls: a tighter limit finds functions over it, and the cycle finder sees a cycle
    closed by an import made inside a function."""
    run = _tool("code_size.py", "--function-lines", "20")
    assert run.returncode == 1 and re.search(r"has \d+ lines \(limit 20\)", run.stdout)
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import import_cycles
    finally:
        sys.path.pop(0)
    package = tmp_path / "symconv"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")
    (package / "b.py").write_text("from .a import f\n")
    modules = {"symconv", "symconv.a", "symconv.b"}
    original = import_cycles.ROOT
    import_cycles.ROOT = tmp_path
    try:
        graph = {m: import_cycles.imports_of(package / f"{m.rpartition('.')[2]}.py", modules)
                 for m in ("symconv.a", "symconv.b")}
    finally:
        import_cycles.ROOT = original
    assert graph == {"symconv.a": {"symconv.b"}, "symconv.b": {"symconv.a"}}
    assert import_cycles.strongly_connected(graph) == [["symconv.a", "symconv.b"]]
