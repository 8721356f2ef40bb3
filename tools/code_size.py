"""Check the size limits of symconv's code: no module over 500 lines, no function over 60.

A function's length runs from its ``def`` line to its last line, docstring and nested functions
included. Usage: ``python tools/code_size.py [--module-lines N] [--function-lines N]`` prints one
line per breach and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def breaches(package: Path, module_lines: int, function_lines: int) -> list[str]:
    """One line per module longer than ``module_lines`` and function longer than ``function_lines``."""
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text()
        where = path.relative_to(ROOT)
        if (n := len(source.splitlines())) > module_lines:
            found.append(f"{where}: module of {n} lines (limit {module_lines})")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > function_lines:
                    found.append(f"{where}:{node.lineno}: {node.name} has {length} lines "
                                 f"(limit {function_lines})")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module-lines", type=int, default=500)
    parser.add_argument("--function-lines", type=int, default=60)
    args = parser.parse_args()
    found = breaches(ROOT / "symconv", args.module_lines, args.function_lines)
    for line in found:
        print(line)
    print(f"{len(found)} size breach(es)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
