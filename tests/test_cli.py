"""The ``symconv prove`` command: flags, outputs, exit codes, one-line errors, atomic files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import symconv
import symconv.proof
from symconv.cli import main
from symconv.commands._spec_args import _padding
from symconv.latex import build

SYMCONV = Path(sys.executable).with_name("symconv")
LAYER = ["--in-channels", "2", "--out-channels", "4", "--groups", "2", "--kernel-size", "3,2",
         "--input-size", "5,4", "--stride", "2,1", "--padding", "1:2,0:1"]


def test_prove_prints_the_proof_and_exits_0(capsys):
    assert main(["prove", *LAYER]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PROVED: conv(x, w, b) = T·vec(x) + b⊗1 = K·P + b")
    spec = symconv.ConvSpec(2, 4, (3, 2), (5, 4), stride=(2, 1), padding=((1, 2), (0, 1)), groups=2)
    assert spec.describe() in out


def test_every_spec_field_is_a_flag(capsys):
    argv = ["prove", "--in-channels", "2", "--out-channels", "2", "--kernel-size", "2", "--input-size", "4,4",
            "--dilation", "1,2", "--padding", "1", "--padding-mode", "circular", "--convention", "convolution",
            "--layout", "NHWC", "--no-bias", "--order", "paper", "--backend", "sympy", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    expected = symconv.ConvSpec(2, 2, 2, (4, 4), dilation=(1, 2), padding=1, padding_mode="circular",
                                convention="convolution", layout="NHWC", bias=False)
    assert result["spec"] == expected.describe() and result["backend"] == "sympy"
    assert result["holds"] is True and result["counterexample"] is None
    assert result["terms"] == expected.n_terms and set(result["timings"]) >= {"toeplitz", "im2col"}


@pytest.mark.parametrize("text, value", [("1", 1), ("1,2", (1, 2)), ("1:2,0:1", ((1, 2), (0, 1))),
                                         ("1:2,3", ((1, 2), 3)), ("same", "same"), ("valid", "valid")])
def test_padding_flag_forms(text, value):
    assert _padding(text) == value


@pytest.mark.parametrize("argv, message", [
    (["--kernel-size", "3", "--input-size", "2"], "kernel_size=3: the dilated kernel must fit"),
    (["--kernel-size", "3", "--input-size", "5", "--padding", "1:x"], "--padding='1:x': must be"),
    (["--kernel-size", "a", "--input-size", "5"], "--kernel-size='a': must be an integer"),
    (["--kernel-size", "3", "--input-size", "5", "--in-channels", "2", "--groups", "3"], "groups=3: must divide"),
    (["--kernel-size", "3", "--input-size", "5", "--fragment"], "--fragment=True: only applies with --latex"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    assert main(["prove", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and captured.err.count("\n") == 1


def test_argparse_errors_also_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["prove", "--kernel-size", "3", "--input-size", "5", "--padding-mode", "mirror"])
    assert stop.value.code == 2 and "invalid choice: 'mirror'" in capsys.readouterr().err


def test_refuted_proof_exits_1_and_prints_the_counterexample(capsys, monkeypatch):
    real = symconv.proof.prove

    def wrong_matrix(spec, **options):
        _, w, _ = symconv.symbols(spec)
        T = symconv.toeplitz(spec, w).as_mutable()
        T[0, 0] = 0
        return real(spec, toeplitz=T, **options)

    monkeypatch.setattr(symconv.proof, "prove", wrong_matrix)
    assert main(["prove", "--kernel-size", "2", "--input-size", "3", "--json"]) == 1
    cx = json.loads(capsys.readouterr().out)["counterexample"]
    assert cx["form"] == "toeplitz" and cx["missing"] == ["w_{0,0,0}*x_{0,0}"] and cx["extra"] == []


def test_latex_pdf_and_figure_files(tex, tmp_path, capsys):
    tex_file, pdf, png = tmp_path / "p.tex", tmp_path / "p.pdf", tmp_path / "t.png"
    assert main(["prove", *LAYER, "--summary", "--latex", str(tex_file), "--pdf", str(pdf),
                 "--figure", str(png), "--max-size", "8"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
    assert tex_file.read_text().startswith(r"\documentclass") and pdf.read_bytes().startswith(b"%PDF")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main(["prove", *LAYER, "--latex", str(tex_file), "--fragment"]) == 0
    assert tex_file.read_text().startswith("% symconv LaTeX fragment")


def test_missing_tex_names_the_debian_packages_and_leaves_no_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(build, "tex_available", lambda engine="pdflatex": False)
    argv = ["prove", *LAYER, "--latex", str(tmp_path / "p.tex"), "--pdf", str(tmp_path / "p.pdf"),
            "--figure", str(tmp_path / "t.png"), "--engine", "xelatex"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "xelatex or latexmk was not found" in err and build.TEX_PACKAGES in err
    assert list(tmp_path.iterdir()) == []


def test_bad_figure_name_leaves_no_file(tmp_path, capsys):
    argv = ["prove", *LAYER, "--latex", str(tmp_path / "p.tex"), "--figure", str(tmp_path / "t.svg")]
    assert main(argv) == 2
    assert "must end in .pdf, .png or .tex" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_installed_command_exit_codes_and_help():
    ok = subprocess.run([SYMCONV, "prove", "--kernel-size", "3", "--input-size", "5,5", "--summary"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("PROVED:") and ok.stdout.count("\n") == 1
    bad = subprocess.run([SYMCONV, "prove", "--kernel-size", "3", "--input-size", "5", "--stride", "0"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1
    assert "stride=0: must be an integer ≥ 1" in bad.stderr
    usage = subprocess.run([SYMCONV, "prove", "--help"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 0 and "examples:" in usage.stdout and "exit codes:" in usage.stdout
