"""Conventions users expect from a Python tool: the layer flags in every common spelling, a
``--version`` that agrees with the package, and a pytest plugin that costs nothing where unused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import symconv
from symconv.cli import main

ROOT = Path(__file__).resolve().parents[1]
# Subprocesses import this checkout's symconv, not whichever copy the environment installed.
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _spec_of(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    assert main(["prove", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["spec"]


@pytest.mark.parametrize("argv, spec", [
    (["--kernel-size", "3", "--input-size", "5", "5"], symconv.ConvSpec(1, 1, 3, (5, 5))),
    (["--kernel-size", "3", "--input-size", "5,5"], symconv.ConvSpec(1, 1, 3, (5, 5))),
    (["--kernel-size", "3", "--input-size", "5x5"], symconv.ConvSpec(1, 1, 3, (5, 5))),
    (["--kernel-size", "3", "--input-size", "5X6"], symconv.ConvSpec(1, 1, 3, (5, 6))),
    (["--kernel-size", "3", "--input-size", "5×6"], symconv.ConvSpec(1, 1, 3, (5, 6))),
    (["--kernel-size", "2", "3", "--input-size", "5", "6"], symconv.ConvSpec(1, 1, (2, 3), (5, 6))),
    (["--kernel-size", "2x2x2", "--input-size", "3", "3", "3"], symconv.ConvSpec(1, 1, 2, (3, 3, 3))),
    (["--kernel-size", "3x2", "--input-size", "6x5", "--stride", "2", "1", "--dilation", "1x2"],
     symconv.ConvSpec(1, 1, (3, 2), (6, 5), stride=(2, 1), dilation=(1, 2))),
    (["--kernel-size", "3", "--input-size", "5x5", "--padding", "1", "0"],
     symconv.ConvSpec(1, 1, 3, (5, 5), padding=(1, 0))),
    (["--kernel-size", "3", "--input-size", "5x5", "--padding", "1x0"],
     symconv.ConvSpec(1, 1, 3, (5, 5), padding=(1, 0))),
    (["--kernel-size", "3", "--input-size", "5x5", "--padding", "1:2", "0:1"],
     symconv.ConvSpec(1, 1, 3, (5, 5), padding=((1, 2), (0, 1)))),
])
def test_every_size_flag_takes_commas_xs_and_spaces(argv, spec, capsys):
    assert _spec_of(argv, capsys) == spec.describe()


def test_pytorch_keyword_spellings_are_flags_too(capsys):
    argv = ["--in_channels", "2", "--out_channels", "4", "--kernel_size", "3", "--input_size", "5", "5",
            "--padding", "1", "--padding_mode", "circular", "--no_bias"]
    expected = symconv.ConvSpec(2, 4, 3, (5, 5), padding=1, padding_mode="circular", bias=False)
    assert _spec_of(argv, capsys) == expected.describe()


def test_dash_and_underscore_spellings_give_the_same_layer(capsys):
    dashes = _spec_of(["--in-channels", "2", "--kernel-size", "3", "--input-size", "5,5"], capsys)
    underscores = _spec_of(["--in_channels", "2", "--kernel_size", "3", "--input_size", "5,5"], capsys)
    assert dashes == underscores == symconv.ConvSpec(2, 1, 3, (5, 5)).describe()


def test_help_lists_the_dash_form_and_says_underscores_work(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["prove", "--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0
    assert "--in-channels C" in text and "--kernel-size K [K ...]" in text
    assert "--in_channels C" not in text and "--kernel_size K" not in text
    assert "PyTorch's spellings work too (--in_channels 2); sizes take 5, 5,5, 5x5 or 5 5" in text


@pytest.mark.parametrize("argv, line", [
    (["--kernel-size", "3", "--input-size", "5", "a"],
     "symconv prove: error: --input-size='5 a': must be an integer or one integer per axis, "
     "e.g. 3 or 3,3 (also 3x3 or 3 3)\n"),
    (["--kernel-size", "3x", "--input-size", "5"],
     "symconv prove: error: --kernel-size='3x': must be an integer or one integer per axis, "
     "e.g. 3 or 3,3 (also 3x3 or 3 3)\n"),
    (["--kernel-size", "", "--input-size", "5"],
     "symconv prove: error: --kernel-size='': must be an integer or one integer per axis, "
     "e.g. 3 or 3,3 (also 3x3 or 3 3)\n"),
    (["--kernel-size", "3", "--input-size", "5x5", "--padding", "1:2:3", "0"],
     "symconv prove: error: --padding='1:2:3 0': must be an integer, one integer per axis "
     "(1,2 or 1x2 or 1 2), before:after pairs per axis like 1:2,0:1, 'valid' or 'same'\n"),
])
def test_bad_sizes_give_one_line_naming_the_flag(argv, line, capsys):
    assert main(["prove", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == line


def test_a_channel_count_takes_one_value(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["prove", "--kernel-size", "3", "--input-size", "5", "--in-channels", "2", "2"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == "symconv: error: unrecognized arguments: 2\n"


def test_a_target_after_the_sizes_is_named_not_swallowed(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["check", "--kernel-size", "3", "--input-size", "6", "6", "mine:correlate"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        "symconv: error: argument --input-size: 'mine:correlate' is not a size; give positional "
        "arguments (MODULE:FUNCTION) before the layer flags\n")


def test_version_flag_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"symconv {symconv.__version__}\n"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert symconv.__version__ == pyproject["project"]["version"]


def _imported_by(statement: str) -> set[str]:
    """The modules ``python -X importtime -c statement`` reports importing, and those in
    sys.modules afterwards (importtime does not see ``importlib.import_module``)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", f"{statement}; import sys; print(*sys.modules)"],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120, check=True)
    timed = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return timed | set(run.stdout.split())


@pytest.mark.parametrize("statement, module", [("import symconv.pytest_plugin", "symconv.pytest_plugin"),
                                               ("import symconv", "symconv"),
                                               ("import symconv.cli", "symconv.cli")])
def test_importing_the_plugin_imports_neither_sympy_nor_numpy(statement, module):
    imported = _imported_by(statement)
    assert module in imported  # the measurement saw the import it is about
    assert {"sympy", "numpy"} & imported == set()


def test_the_public_names_load_on_first_use():
    imported = _imported_by("import symconv; symconv.ConvSpec")
    assert {"symconv.spec", "numpy"} <= imported and "sympy" not in imported
    assert {"symconv.proof", "sympy"} <= _imported_by("import symconv; symconv.prove")


def test_symbols_stays_the_function_after_its_module_loads():
    import symconv.symbols as loaded  # binds the name symconv.symbols (Python's import rule)
    assert loaded is symconv.symbols and callable(symconv.symbols)
    x, w, b = symconv.symbols(symconv.ConvSpec(1, 1, 2, 3))
    assert x.shape == (1, 3) and w.shape == (1, 1, 2) and b.shape == (1,)


LIGHT_SESSION = """
import sys

def test_light(request):
    assert request.config.pluginmanager.hasplugin("symconv")
    assert sorted(m for m in ("sympy", "numpy") if m in sys.modules) == []
"""


def test_a_pytest_session_that_does_not_use_symconv_stays_light(tmp_path):
    """The plugin as installed (entry point pytest11), or named with -p in a source checkout."""
    (tmp_path / "test_light.py").write_text(LIGHT_SESSION)
    installed = any(e.value == "symconv.pytest_plugin" for e in entry_points(group="pytest11"))
    load = [] if installed else ["-p", "symconv.pytest_plugin"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:hypothesispytest", *load, "test_light.py"],  # only ours
                         cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_the_package_builds_without_a_warning_and_ships_only_itself(tmp_path):
    """The wheel pip builds: no deprecation notice from the project's metadata (setuptools
    printed an 11-line box three times for a TOML-table licence), and no file outside symconv/.
    Built from a copy of what the package needs, so the build leaves nothing in the checkout."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "symconv", source / "symconv", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    # no build isolation: the test extra installs setuptools, and the suite needs no network
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                          "-w", str(tmp_path), str(source)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    log = run.stdout + run.stderr
    assert "Deprecat" not in log and "deprecat" not in log
    (wheel,) = tmp_path.glob("symconv-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {name.split("/")[0] for name in names} == {"symconv", wheel.name.split("-py3")[0] + ".dist-info"}
    assert f"Version: {symconv.__version__}" in metadata and "License-Expression: MIT" in metadata
    assert "Provides-Extra: docs" in metadata


def test_a_command_alone_prints_its_usage(capsys):
    from symconv.cli import main
    with pytest.raises(SystemExit) as stop:
        main(["prove"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.startswith("usage: symconv prove [-h]")
    assert "--kernel-size K [K ...] --input-size N [N ...]" in " ".join(err.split())
    assert err.endswith("\nsymconv: error: the following arguments are required: "
                        "--kernel-size, --input-size\n")


def test_notes_look_for_notebooks_in_the_working_directory_only(tmp_path, monkeypatch):
    """The package points at nothing outside itself: outside a checkout, `symconv notes` without
    notebooks is a clear error, not a look beside the installed package."""
    from symconv import SpecError
    from symconv.notes import discover
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match=r"derivations'?: must be an existing \.ipynb file or a directory"):
        discover()
