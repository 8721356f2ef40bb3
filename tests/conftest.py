"""Shared test helpers. TeX-dependent tests skip without TeX, but fail under
SYMCONV_REQUIRE_TEX=1 (set by CI) so that a missing TeX install cannot hide a broken document."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tex(engine: str = "pdflatex") -> None:
    """Skip (or, with SYMCONV_REQUIRE_TEX=1, fail) when ``engine`` or latexmk is missing."""
    missing = [tool for tool in (engine, "latexmk") if shutil.which(tool) is None]
    if not missing:
        return
    message = f"TeX tools not found: {', '.join(missing)}"
    if os.environ.get("SYMCONV_REQUIRE_TEX") == "1":
        pytest.fail(f"{message} (SYMCONV_REQUIRE_TEX=1)")
    pytest.skip(message)


@pytest.fixture
def tex():
    """Use in a test that compiles with pdflatex: ``def test_x(tex): ...``."""
    require_tex("pdflatex")


@pytest.fixture
def xetex():
    require_tex("xelatex")
