"""``symconv general --deadline SECONDS``: passed to prove_general and check_claim, validated by
errors.seconds (a bad value exits 2 with one line naming --deadline)."""

from __future__ import annotations

import pytest

from symconv.cli import main


@pytest.mark.parametrize("value, rule", [("0", "must be a number of seconds > 0 (finite)"),
                                         ("-3", "must be a number of seconds > 0 (finite)"),
                                         ("inf", "must be a number of seconds > 0 (finite)"),
                                         ("nan", "must be a number of seconds > 0 (finite)"),
                                         ("1e12", "must be at most")])
def test_a_bad_deadline_exits_2_naming_the_flag(value, rule, capsys):
    assert main(["general", "toeplitz", "--deadline", value]) == 2
    captured = capsys.readouterr()
    assert f"--deadline={value}" in captured.err.replace("1000000000000.0", "1e12") and rule in captured.err
    assert "Traceback" not in captured.err


TRUE = "Piecewise((w[i - s*j + p], (i - s*j + p >= 0) & (i - s*j + p < k)), (0, True))"


@pytest.mark.parametrize("extra", [[], ["--claim", TRUE, "--assume", "d=1"]])
def test_the_deadline_reaches_the_derivation(extra, capsys):
    """A tiny deadline makes the derivation NOT PROVED (exit 2) with the deadline's reason; a
    generous one proves it (exit 0)."""
    assert main(["general", "toeplitz", *extra, "--deadline", "1e-9"]) == 2
    assert "deadline of 1e-09 s exceeded" in capsys.readouterr().out
    assert main(["general", "toeplitz", *extra, "--deadline", "300"]) == 0
    assert "PROVED" in capsys.readouterr().out
