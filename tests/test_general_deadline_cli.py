"""``symconv general --deadline SECONDS``: passed to prove_general and check_claim, validated by
errors.seconds (a bad value exits 2 with one line naming --deadline)."""

from __future__ import annotations

import pytest

from symconv.cli import main

POSITIVE = "must be a number of seconds > 0 (finite)"


@pytest.mark.parametrize("value, message", [("0", f"--deadline=0.0: {POSITIVE}"),
                                            ("-3", f"--deadline=-3.0: {POSITIVE}"),
                                            ("inf", f"--deadline=inf: {POSITIVE}"),
                                            ("nan", f"--deadline=nan: {POSITIVE}"),
                                            ("1e12", "--deadline=1000000000000.0: must be at most")])
def test_a_bad_deadline_exits_2_naming_the_flag(value, message, capsys):
    assert main(["general", "toeplitz", "--deadline", value]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


TRUE = "Piecewise((w[i - s*j + p], (i - s*j + p >= 0) & (i - s*j + p < k)), (0, True))"


@pytest.mark.parametrize("extra", [[], ["--claim", TRUE, "--assume", "d=1"]])
def test_the_deadline_reaches_the_derivation(extra, capsys):
    """A tiny deadline makes the derivation NOT PROVED (exit 2) with the deadline's reason; a
    generous one proves it (exit 0)."""
    assert main(["general", "toeplitz", *extra, "--deadline", "1e-9"]) == 2
    assert "deadline of 1e-09 s exceeded" in capsys.readouterr().out
    assert main(["general", "toeplitz", *extra, "--deadline", "300"]) == 0
    assert "PROVED" in capsys.readouterr().out
