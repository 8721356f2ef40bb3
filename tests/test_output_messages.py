"""Text a user sees or writes is what the code prints (issue 15, point 6): the README's outputs
verbatim, counterexamples that say which side is the claim, layer summaries without Python
tuples, and the files the CLI writes, each reported, into directories that must exist."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import sympy as sp

import symconv
import symconv.general as G
from symconv.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
LAYER = ["--kernel-size", "2", "--input-size", "3"]
TIME = re.compile(r"\d+\.\d+ s\b")


def _segments(block: str) -> list[tuple[str, list[str] | None]]:
    """A README block cut after every ``print(...)`` line that is directly followed by comment
    lines: [(code, the comment lines = the output it shows)], the rest as (code, None)."""
    lines, segments, code, at = block.splitlines(), [], [], 0
    while at < len(lines):
        code.append(lines[at])
        at += 1
        if code[-1].startswith("print(") and at < len(lines) and lines[at].startswith("# "):
            shown = []
            while at < len(lines) and lines[at].startswith("#"):
                shown.append(lines[at][1:])
                at += 1
            segments.append(("\n".join(code), shown))
            code = []
    if code:
        segments.append(("\n".join(code), None))
    return segments


def _words(text: str) -> str:
    """The text with its line breaks and runs of spaces as single spaces (the README wraps the
    output at 100 columns) and every duration as '<t> s' (the only part that varies)."""
    return TIME.sub("<t> s", " ".join(text.split()))


def test_readme_outputs_are_what_the_code_prints(tmp_path, monkeypatch):
    """Every output the README shows under a print is exactly what that print prints, word for
    word (durations aside); at least the four the issue names are checked."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    compared = []
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S):
        for code, shown in _segments(block):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, str(README), "exec"), namespace)
            if shown is not None:
                assert _words(printed.getvalue()) == _words("\n".join(shown)), code.splitlines()[-1]
                compared.append(code.splitlines()[-1])
    assert compared == ["print(proof.summary())", "print(bad.counterexample)",
                        'print(symconv.prove_general("dft", symbol=no_shift).summary())',
                        'print(G.check_claim("toeplitz", true).summary())',
                        'print(G.check_claim("toeplitz", wrong).summary())']


def test_a_refuted_claim_names_the_claim_and_the_definition():
    S = G.symbols_for("toeplitz", dims=1)
    wrong = sp.Sum(S.w[S.t] * sp.KroneckerDelta(S.i, S.s * (S.j + S.t) - S.p), (S.t, 0, S.k - 1))
    derivation = G.check_claim("toeplitz", wrong)
    example = derivation.failure.counterexample
    assert example.sides == ("symconv's T (the proved entry formula)", "the claim")
    text = str(example)
    assert re.fullmatch(r"at .*: symconv's T \(the proved entry formula\) gives -?\d+, the claim gives -?\d+ "
                        r"\(symbolically .* and .*\)", text), text
    assert "lhs" not in derivation.summary() and "rhs" not in derivation.summary()
    assert derivation.to_json()["failure"]["counterexample"]["sides"] == list(example.sides)


@pytest.mark.parametrize("options, shown", [
    (dict(stride=2), "stride=2"),
    (dict(stride=(2, 1)), "stride=2×1"),
    (dict(padding=1, padding_mode="circular"), "padding=1 (circular)"),
    (dict(padding=(1, 0)), "padding=1×0 (zeros)"),
    (dict(padding=((0, 1), (0, 1))), "padding=(0, 1) (zeros)"),
    (dict(padding=((0, 1), (1, 1))), "padding=(0, 1)×1 (zeros)"),
    (dict(dilation=(1, 2)), "dilation=1×2"),
])
def test_layer_summaries_show_values_not_python_tuples(options, shown):
    spec = symconv.ConvSpec(1, 1, 2, (5, 5), bias=False, **options)
    described = spec.describe()
    assert f", {shown}, " in described and "((" not in described and ",)" not in described
    assert f"[{described};" in symconv.prove(spec).summary()


def test_a_proof_summary_of_a_strided_circular_layer():
    spec = symconv.ConvSpec(1, 1, 3, 6, stride=2, padding=1, padding_mode="circular", bias=False)
    assert spec.describe() == "1-D, C_in=1, C_out=1, input=6, kernel=3, stride=2, padding=1 (circular), no bias"


# ---- files the CLI writes -------------------------------------------------------------------------
def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def test_every_file_written_is_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["prove", *LAYER, "--latex", "p.tex", "--figure", "f.tex"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PROVED: ")  # the verdict first, then the files
    assert sorted(out[1:]) == ["wrote f.tex", "wrote p.tex"]
    assert _files(tmp_path) == ["f.tex", "p.tex"]


def test_with_summary_or_json_the_reports_go_to_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["prove", *LAYER, "--summary", "--latex", "p.tex"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and captured.out.startswith("PROVED: ")
    assert captured.err == "wrote p.tex\n"
    assert main(["general", "toeplitz", "--json", "--latex", "g.tex"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("{") and captured.err == "wrote g.tex\n"


@pytest.mark.parametrize("argv, flag, path", [
    (["prove", *LAYER, "--latex", "nodir/p.tex"], "--latex", "nodir/p.tex"),
    (["prove", *LAYER, "--figure", "nodir/sub/f.png"], "--figure", "nodir/sub/f.png"),
    (["prove", *LAYER, "--latex", "p.tex", "--pdf", "nodir/p.pdf"], "--pdf", "nodir/p.pdf"),
    (["general", "toeplitz", "--latex", "nodir/g.tex"], "--latex", "nodir/g.tex"),
])
def test_a_missing_output_directory_is_exit_2_one_line_and_no_file(tmp_path, monkeypatch, capsys, argv, flag,
                                                                     path):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    directory = str(Path(path).parent)
    assert captured.err == (f"symconv {argv[0]}: error: {flag}={path!r}: the directory {directory} does not "
                            "exist (create it first)\n")
    assert captured.out == ""
    assert _files(tmp_path) == []
