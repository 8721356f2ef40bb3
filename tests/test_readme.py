"""The README's Python examples run as written and say what the README claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _run(blocks: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    return namespace


def test_readme_opens_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    commands = [line.split("#")[0].strip() for line in lines[2:6] if line.startswith("make ")]
    assert commands == ["make notes", "make test"]


def test_one_layer_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in _python_blocks() if "symconv.ConvSpec" in b or "prove(spec, toeplitz" in b]
    ns = _run(blocks, tmp_path, monkeypatch)
    assert ns["y"].shape == (3, 5, 5)
    assert ns["T"].shape == (75, 50) and ns["P"].shape == (18, 25) and ns["K"].shape == (3, 18)
    assert ns["proof"].holds and ns["proof"].terms == 1089
    assert not ns["bad"].holds
    assert ns["bad"].counterexample.index == (0, 0, 0)


def test_all_sizes_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    blocks = [b for b in _python_blocks() if "prove_general" in b or "check_claim" in b]
    ns = _run(blocks, tmp_path, monkeypatch)
    assert ns["d"].holds
    assert (tmp_path / "toeplitz-2d.tex").read_text().startswith("\\documentclass")
    printed = capsys.readouterr().out
    assert "PROVED: claim" in printed and "REFUTED: claim" in printed


def test_dft_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    ns = _run([b for b in _python_blocks() if "dft_symbols" in b], tmp_path, monkeypatch)
    printed = capsys.readouterr().out
    assert printed.startswith("REFUTED") and "definition of the kernel's DFT" in printed
    assert ns["no_shift"] != ns["S"].default
