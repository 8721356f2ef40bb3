"""The command line under failure: exit codes 0 proved, 1 refuted, 2 anything else, 130 on
Ctrl-C; exactly one line on stderr (``--debug`` adds the traceback); no file of a failed run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from symconv.cli import main
from symconv.commands import general, prove
from symconv.commands._spec_args import matrix_text
from symconv.latex import build

LAYER = ["--kernel-size", "2", "--input-size", "3"]


def _error_line(capsys) -> str:
    """The single line on stderr (asserting it is one line and no traceback)."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, err
    return err.strip()


def _files(directory) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# ---- exit codes -----------------------------------------------------------------------------------
def test_proved_refuted_and_bad_input_are_0_1_2(tmp_path, capsys):
    assert main(["prove", *LAYER]) == 0
    (tmp_path / "T.txt").write_text("w_{0,0,1}, w_{0,0,0}, 0\n0, w_{0,0,1}, w_{0,0,0}\n")  # flipped
    assert main(["prove", *LAYER, "--no-bias", "--toeplitz", str(tmp_path / "T.txt")]) == 1
    assert main(["general", "toeplitz", "--claim", "Sum(w[t]*KroneckerDelta(i, s*j + d*t - p), (t, 0, k - 1))"]) == 0
    wrong = "Sum(w[t]*KroneckerDelta(i, s*j + d*t - p + 1), (t, 0, k - 1))"
    assert main(["general", "toeplitz", "--claim", wrong]) == 1
    capsys.readouterr()
    assert main(["prove", "--kernel-size", "5", "--input-size", "3"]) == 2
    assert _error_line(capsys).startswith("symconv prove: error: kernel_size=5")


@pytest.mark.parametrize("argv, message", [
    (["general", "toeplitz", "--claim", "__import__('os').system('touch X')"],
     "symconv general: error: --claim=\"__import__('os').system\": is not a function that may be called"),
    (["general", "toeplitz", "--claim", "w[0]*2**(10**10)"],
     "symconv general: error: --claim='2**(10**10)': a power of numbers may have at most 4096 bits"),
    (["general", "toeplitz", "--claim", "w[t] +"], "--claim='w[t] +': is not a valid expression"),
    (["general", "toeplitz", "--claim", "w[t]", "--assume", "w=1"], "--assume='w=1': must be NAME=INTEGER"),
    (["check", "no_such_module_xyz:conv", *LAYER], "symconv check: error: target='no_such_module_xyz:conv'"),
    (["notes", "--timeout", "0"], "symconv notes: error: timeout=0"),
])
def test_every_command_fails_with_exit_2_and_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in _error_line(capsys)
    assert _files(tmp_path) == []  # the claim did not touch X


def test_a_matrix_entry_that_would_hang_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "T.txt").write_text("w_{0,0,0}, 9^9^9^9, 0\n0, w_{0,0,0}, w_{0,0,1}\n")
    assert main(["prove", *LAYER, "--no-bias", "--toeplitz", str(tmp_path / "T.txt")]) == 2
    assert _error_line(capsys) == (
        f"symconv prove: error: --toeplitz=\"{tmp_path}/T.txt:1: '9^9^9^9'\": entry 2: a power of numbers "
        "may have at most 4096 bits, this one has about 1549681956 (column 3)")


def test_an_internal_error_is_exit_2_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("a bug\nwith a second line")
    monkeypatch.setattr(prove, "run", broken)
    assert main(["prove", *LAYER]) == 2
    assert _error_line(capsys) == ("symconv prove: error: RuntimeError: a bug […] (internal error; run "
                                   "with --debug for the traceback)")
    for argv in (["--debug", "prove", *LAYER], ["prove", *LAYER, "--debug"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):") and "RuntimeError: a bug" in err
        assert err.splitlines()[-1].startswith("symconv prove: error: RuntimeError: a bug")


def test_a_command_returning_no_verdict_is_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(prove, "run", lambda args: None)
    assert main(["prove", *LAYER]) == 2
    assert _error_line(capsys) == "symconv prove: error: internal: the command returned None"


@pytest.mark.parametrize("command, module", [("prove", prove), ("general", general)])
def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys, command, module):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(module, "run", interrupted)
    argv = [command, *LAYER] if command == "prove" else [command, "toeplitz"]
    assert main(argv) == 130
    assert _error_line(capsys) == f"symconv {command}: interrupted"


def test_subprocess_exit_code_one_line_and_no_code_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "symconv.cli", "general", "toeplitz", "--claim",
                             "__import__('os').system('touch X')"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("symconv general: error: --claim=")
    assert not (tmp_path / "X").exists()


# ---- no file of a failed run ----------------------------------------------------------------------
@pytest.mark.parametrize("outputs, message", [
    (["--latex", "ok.tex", "--figure", "afile/fig.png"],
     "--figure='afile/fig.png': afile is a file, not a directory"),
    (["--latex", "ok.tex", "--figure", "fig.jpg"], "figure='fig.jpg': the file name must end in .pdf"),
    (["--figure", "ok.png", "--latex", "adir"], "--latex='adir': is a directory; give a file name"),
    (["--latex", "ok.tex", "--figure", "ok.tex"], "--figure='ok.tex': is also the file of --latex"),
    (["--latex", "ok.tex", "--figure", "/proc/symconv-no-such-dir/fig.png"],
     "--figure='/proc/symconv-no-such-dir/fig.png': the directory /proc/symconv-no-such-dir does not exist"),
])
def test_prove_leaves_no_file_when_one_output_fails(tmp_path, monkeypatch, capsys, outputs, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir").mkdir()
    assert main(["prove", *LAYER, *outputs]) == 2
    assert message in _error_line(capsys)
    assert _files(tmp_path) == ["adir", "afile"]


def test_a_failure_while_writing_the_second_file_removes_the_first(tmp_path, monkeypatch, capsys):
    staged = []
    real_stage = build._stage

    def stage(path, content):
        if staged:
            raise OSError(28, "No space left on device")
        staged.append(path)
        return real_stage(path, content)
    monkeypatch.setattr(build, "_stage", stage)
    monkeypatch.chdir(tmp_path)
    assert main(["prove", *LAYER, "--figure", "fig.tex", "--latex", "ok.tex"]) == 2
    assert _error_line(capsys) == ("symconv prove: error: --latex='ok.tex': cannot be written "
                                   "(No space left on device)")
    assert len(staged) == 1 and _files(tmp_path) == []  # no temporary left


def test_a_failed_pdf_leaves_neither_latex_nor_figure(tmp_path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise build.LatexBuildError("pdflatex failed on the document:\n! Undefined control sequence.")
    monkeypatch.setattr(build, "compile_latex", broken)
    monkeypatch.chdir(tmp_path)
    argv = [*LAYER, "--latex", "p.tex", "--figure", "f.tex", "--pdf", "p.pdf"]
    assert main(["prove", *argv]) == 2
    assert _error_line(capsys) == "symconv prove: error: --pdf='p.pdf': pdflatex failed on the document:"
    assert main(["general", "toeplitz", "--latex", "g.tex", "--pdf", "g.pdf"]) == 2
    assert _error_line(capsys).startswith("symconv general: error: --pdf='g.pdf': pdflatex failed")
    assert _files(tmp_path) == []


def test_all_outputs_are_written_when_all_succeed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    assert main(["prove", *LAYER, "--latex", "out/p.tex", "--figure", "out/f.tex", "--summary"]) == 0
    assert _files(tmp_path) == ["out", "out/f.tex", "out/p.tex"]
    assert (tmp_path / "out/p.tex").read_text().startswith("\\documentclass")
    (tmp_path / "T.txt").write_text(matrix_text([["w_{0,0,1}", "w_{0,0,0}", 0], [0, "w_{0,0,1}", "w_{0,0,0}"]]))
    assert main(["prove", *LAYER, "--no-bias", "--toeplitz", "T.txt", "--latex", "refuted.tex"]) == 1
    assert "Statement (refuted)" in (tmp_path / "refuted.tex").read_text()  # a refutation is a result


def test_general_latex_on_a_directory_or_under_a_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    assert main(["general", "toeplitz", "--latex", str(tmp_path)]) == 2
    assert _error_line(capsys).endswith("is a directory; give a file name")
    assert main(["general", "toeplitz", "--latex", "afile/g.tex"]) == 2
    assert _error_line(capsys).endswith("afile is a file, not a directory")
    assert _files(tmp_path) == ["afile"]


@pytest.mark.parametrize("out, message", [
    ("afile", "--out='afile': exists and is not a directory"),
    ("afile/notes", "--out='afile/notes': afile is a file, not a directory"),
])
def test_notes_out_that_cannot_be_made_is_exit_2_one_line(tmp_path, monkeypatch, capsys, out, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    assert main(["notes", "--out", out, "--format", "html"]) == 2
    assert _error_line(capsys) == f"symconv notes: error: {message}"
    assert _files(tmp_path) == ["afile"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_directory_is_exit_2_one_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["prove", *LAYER, "--latex", str(locked / "p.tex")]) == 2
    assert _error_line(capsys).endswith(f"cannot write in {locked} (permission denied)")
    assert main(["notes", "--out", str(locked / "notes")]) == 2
    assert _error_line(capsys).endswith(f"cannot write in {locked} (permission denied)")


# ---- adversarial review, issue 11: matrix files and sizes ------------------------------------
BIG_SUM = "+".join(["w_{0,0,0}", "w_{0,0,1}", "w_{0,0,2}", "w_{0,1,0}", "w_{0,1,1}", "w_{0,1,2}",
                    "x_{0,0}", "x_{0,1}", "x_{0,2}", "x_{1,0}"])
OUT_LAYER = ["--in-channels", "2", "--kernel-size", "3", "--input-size", "5", "--no-bias"]


def test_a_negative_power_that_would_hang_is_refused_at_once(tmp_path, capsys):
    (tmp_path / "o.txt").write_text(f"1/({BIG_SUM})^64, 0, 0\n")
    assert main(["prove", *OUT_LAYER, "--output", str(tmp_path / "o.txt")]) == 2
    assert _error_line(capsys).endswith("entry 1: would expand to about 97082021465 terms; at most 100000 are allowed")


def test_a_non_polynomial_output_shows_the_definitions_entry_as_expected(tmp_path, capsys):
    (tmp_path / "o.txt").write_text("1/x_{0,0}, 0, 0\n")
    assert main(["prove", *OUT_LAYER, "--output", str(tmp_path / "o.txt")]) == 1
    out = capsys.readouterr().out
    assert "depends on" not in out and "is not a polynomial in x, w and b (it divides by x_{0,0})" in out
    assert ("expected (conv(x, w)): w_{0,0,0}*x_{0,0} + w_{0,0,1}*x_{0,1} + w_{0,0,2}*x_{0,2} + "
            "w_{0,1,0}*x_{1,0} + w_{0,1,1}*x_{1,1} + w_{0,1,2}*x_{1,2}") in out


def test_a_symbol_followed_by_a_digit_multiplies_after_many_symbols(tmp_path, capsys):
    # 1 000 occurrences of b_{0} once fused a placeholder S1000 with the digit 7 after it
    cancelling = " + b_{0} - b_{0}" * 500
    (tmp_path / "o.txt").write_text(f"w_{{0,0,0}} x_{{0,0}} + w_{{0,0,1}} x_{{0,1}} + b_{{0}}{cancelling}"
                                    " + b_{0}7 - 7 b_{0}, w_{0,0,0} x_{0,1} + w_{0,0,1} x_{0,2} + b_{0}\n")
    assert main(["prove", *LAYER, "--output", str(tmp_path / "o.txt"), "--summary"]) == 0
    assert capsys.readouterr().out.startswith("PROVED: conv(x, w, b) = the given output")


def test_an_unknown_name_message_is_short(tmp_path, capsys):
    (tmp_path / "o.txt").write_text("w_{0,0,0} x_{0,0} + w_{0,0,1} x_{0,1} + b_{0}, y, 0\n")
    assert main(["prove", *LAYER, "--output", str(tmp_path / "o.txt")]) == 2
    assert len(_error_line(capsys)) < 400


def test_a_matrix_file_with_a_byte_order_mark_is_read(tmp_path, capsys):
    (tmp_path / "T.txt").write_text("\ufeffw_{0,0,0}, w_{0,0,1}, 0\n0, w_{0,0,0}, w_{0,0,1}\n", encoding="utf-8")
    assert main(["prove", *LAYER, "--no-bias", "--toeplitz", str(tmp_path / "T.txt"), "--summary"]) == 0


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_matrix_flag_refuses_what_is_not_a_regular_file(tmp_path, capsys, kind):
    path = {"device": "/dev/zero", "directory": str(tmp_path)}.get(kind, str(tmp_path / "fifo"))
    if kind == "fifo":
        os.mkfifo(path)
    assert main(["prove", *LAYER, "--toeplitz", path]) == 2
    assert _error_line(capsys) == (f"symconv prove: error: --toeplitz={path!r}: must be a regular file "
                                   "(not a pipe, device or directory)")


def test_a_matrix_file_above_the_size_limit_is_refused(tmp_path, monkeypatch, capsys):
    from symconv.commands import _spec_args
    monkeypatch.setattr(_spec_args, "MAX_MATRIX_BYTES", 10)
    (tmp_path / "T.txt").write_text("w_{0,0,0}, w_{0,0,1}, 0\n0, w_{0,0,0}, w_{0,0,1}\n")
    assert main(["prove", *LAYER, "--toeplitz", str(tmp_path / "T.txt")]) == 2
    assert _error_line(capsys).endswith("has 48 bytes; a matrix file may have at most 10 "
                                        "(symconv.commands._spec_args.MAX_MATRIX_BYTES)")


def test_a_figure_too_large_is_refused_before_the_proof(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(prove, "_prove", lambda *args: pytest.fail("the proof ran"))
    argv = ["prove", "--kernel-size", "3", "--input-size", "128,128", "--figure", str(tmp_path / "T.png")]
    assert main(argv) == 2
    assert _error_line(capsys) == ("symconv prove: error: figure='toeplitz': T is 15876 × 16384 = 260112384 cells, "
                                   "more than the 16777216 a figure may draw (symconv.latex.figures.MAX_FIGURE_CELLS)")
    assert _files(tmp_path) == []


@pytest.mark.parametrize("argv, message", [
    (["--input-size", "1000000000000000000000000000000", "--stride", "1000000000000000000000000000000"],
     "input_size=1000000000000000000000000000000: must be at most "
                                                     "2147483647 (symconv.spec.MAX_EXTENT)"),
    (["--in-channels", "4611686018427387904", "--input-size", "3"], "in_channels=4611686018427387904: must be at most "
                                                                     "2147483647 (symconv.spec.MAX_EXTENT)"),
    (["--input-size", "100000,100000"], "a exact proof needs an estimated 10.1 TiB, more than the"),
])
def test_huge_sizes_fail_at_once_naming_the_parameter(capsys, argv, message):
    assert main(["prove", "--kernel-size", "1", *argv]) == 2
    assert message in _error_line(capsys)


# ---- adversarial review round 2, issue 11 -----------------------------------------------------
@pytest.mark.parametrize("entry, column", [("1 000 w_{0,0,0}", 3), ("2 3 w_{0,0,1} - 5 w_{0,0,1}", 3)])
def test_two_numbers_side_by_side_are_refused_not_multiplied(tmp_path, capsys, entry, column):
    (tmp_path / "T.txt").write_text(f"{entry}, w_{{0,0,1}}, 0\n0, w_{{0,0,0}}, w_{{0,0,1}}\n")
    assert main(["prove", *LAYER, "--no-bias", "--toeplitz", str(tmp_path / "T.txt")]) == 2
    assert _error_line(capsys).endswith(f"entry 1: two numbers side by side are not multiplied (is '1 000' a "
                                        f"thousand?): write one number, or a '*' between them (column {column})")


@pytest.mark.parametrize("separator", ["\x0c", "\x1c", "\x85", "\u2028"])
def test_only_a_line_feed_ends_a_row(tmp_path, capsys, separator):
    (tmp_path / "T.txt").write_text(f"w_{{0,0,0}}, w_{{0,0,1}}, 0{separator}0, w_{{0,0,0}}, w_{{0,0,1}}\n",
                                    newline="")
    assert main(["prove", *LAYER, "--no-bias", "--toeplitz", str(tmp_path / "T.txt")]) == 2
    assert _error_line(capsys).endswith(f"T.txt:1: U+{ord(separator):04X}': only spaces and tabs may separate the "
                                        "parts of a row; a row ends at a line feed ('\\n' or '\\r\\n')")


def test_crlf_rows_still_prove(tmp_path, capsys):
    (tmp_path / "T.txt").write_text("w_{0,0,0}, w_{0,0,1}, 0\r\n0, w_{0,0,0}, w_{0,0,1}\r\n", newline="")
    assert main(["prove", *LAYER, "--no-bias", "--toeplitz", str(tmp_path / "T.txt")]) == 0


def test_a_matrix_file_too_large_to_expand_in_all_is_refused_while_read(tmp_path, capsys):
    weights = [f"w_{{0,0,{k}}}" for k in range(3)] + [f"w_{{0,1,{k}}}" for k in range(3)]
    s = "(" + "+".join(weights) + ")"
    zero = f"{s}^5 - " + " - ".join(f"{s}^4 {v}" for v in weights)  # 1008 terms, within 5000
    (tmp_path / "o.txt").write_text("".join(", ".join([zero] * 3) + "\n" for _ in range(1000)))
    assert main(["prove", *OUT_LAYER, "--output", str(tmp_path / "o.txt")]) == 2
    assert _error_line(capsys).endswith(f"--output='20 entries with products or powers of sums, up to "
                                        f"{tmp_path / 'o.txt'}:7 entry 2': would expand to about 20160 terms "
                                        "(1008 each); at most 20000 are allowed over a matrix")


def test_latex_dash_is_not_a_file_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["prove", *LAYER, "--latex", "-"]) == 2
    assert _error_line(capsys).endswith("--latex='-': standard output is not supported; give a file name "
                                        "(./- for a file named '-')")
    assert _files(tmp_path) == []
