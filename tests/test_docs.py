"""The API reference (docs/, Sphinx): it builds with warnings as errors, its examples run, and it
stays tied to the lecture notes and to the package. CI (SYMCONV_REQUIRE_TEX=1) never skips."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

needs_sphinx = pytest.mark.skipif(
    importlib.util.find_spec("sphinx") is None and not os.environ.get("SYMCONV_REQUIRE_TEX"),
    reason="Sphinx is not installed: pip install -e '.[docs]'")


def _sphinx(builder: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", builder, "-W", "--keep-going", "-q",
                           "-d", str(out / "doctrees"), str(DOCS), str(out / builder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@needs_sphinx
def test_the_reference_builds_without_a_warning(tmp_path):
    run = _sphinx("html", tmp_path)
    assert (run.returncode, run.stderr) == (0, "")
    html = tmp_path / "html"
    api = (html / "api.html").read_text(encoding="utf-8")
    for name in ("symconv.prove", "symconv.ConvSpec", "symconv.toeplitz", "symconv.general.prove_general",
                 "symconv.testing.assert_conv_equivalent", "symconv.pattern.AxisPattern"):
        assert f'id="{name}"' in api
    # formulas typeset offline, with the MathJax 3 copy the lecture notes use
    assert (html / "_static" / "mathjax" / "tex-svg-full.js").is_file()
    assert '_static/mathjax/tex-svg-full.js' in (html / "index.html").read_text(encoding="utf-8")


@needs_sphinx
def test_every_example_in_the_reference_runs(tmp_path):
    run = _sphinx("doctest", tmp_path)
    assert (run.returncode, run.stderr) == (0, "")
    report = (tmp_path / "doctest" / "output.txt").read_text(encoding="utf-8")
    ran = int(re.search(r"^\s*(\d+) tests$", report, flags=re.M).group(1))
    assert ran >= 50  # the pages' examples and those of every docstring they show
    assert "0 failures in tests" in report and "0 failures in setup code" in report


def _conf():
    spec = importlib.util.spec_from_file_location("symconv_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_docstrings_are_shown_as_the_plain_text_they_are():
    conf = _conf()
    assert doctest.testmod(conf).failed == 0
    shown = conf.plain_text_docstring([
        "Shapes (C_out, C_in/groups, *k); |x| is a norm:", "", "    y = Σ_k w[k] * x[s·o + k]",
        "    u = s*o", "", "After.", "", "* one", "* two"])
    assert shown == ["Shapes (C_out, C_in/groups, \\*k); \\|x\\| is a norm:", "", "::", "",
                     "    y = Σ_k w[k] * x[s·o + k]", "    u = s*o", "", "After.", "", "* one", "* two"]


def test_a_docstring_with_examples_runs_them_with_its_module_globals():
    shown = _conf().plain_text_docstring(["Text.", "", ">>> axis.size", "4"], group="m.f", module="m.n")
    assert shown == ["Text.", "", ".. doctest:: m.f", "", "   >>> axis.size", "   4", "",
                     ".. testsetup:: m.f", "",
                     "   globals().update(vars(__import__('importlib').import_module('m.n')))"]


def test_the_reference_links_every_chapter_of_the_lecture_notes():
    page = (DOCS / "notes.rst").read_text(encoding="utf-8")
    chapters = sorted(p.stem for p in (ROOT / "derivations").glob("*.ipynb"))
    assert len(chapters) == 9
    for name in chapters:
        assert f"<../html/{name}.html>`__" in page and f"``derivations/{name}.ipynb``" in page


def test_the_architecture_page_covers_what_a_contributor_needs():
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.+)$", page, flags=re.M)
    assert headings == ["Architecture", "The one idea: an index pattern and a channel map",
                        "The package", "Proof rules", "Soundness traps", "Code rules", "Extending symconv",
                        "A form", "A theorem", "A framework"]
    for term in ("Schwartz–Zippel", "#17919", "parse_expr", "tools/import_cycles.py", "connections table"):
        assert term in page


def test_the_package_points_to_no_file_outside_itself():
    sources = [*(ROOT / "symconv").rglob("*.py"), ROOT / "pyproject.toml", *DOCS.glob("*.rst"), *DOCS.glob("*.md")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert "shared/" not in text and "../shared" not in text, path
    for path in (ROOT / "symconv").rglob("*.py"):
        assert "../" not in path.read_text(encoding="utf-8"), path
