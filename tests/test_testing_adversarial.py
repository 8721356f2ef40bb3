"""Regression tests for the adversarial review of symconv.testing (issue 11, "PROVED must mean
proved"): code that is the layer only on the inputs the check used to send, fn exiting or
hanging, and layers too large to check."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import time

import numpy as np
import pytest
import torch

import symconv
from symconv.errors import SpecError
from symconv.testing import ESTABLISHED, NotCheckable, assert_conv_equivalent

SPEC = symconv.ConvSpec(1, 1, kernel_size=2, input_size=4)      # with bias
DIFFERS = "fn differs from the layer at a random exact input"


def correct(x, w, b):
    return np.array([[b[0] + w[0, 0, 0] * x[0, i] + w[0, 0, 1] * x[0, i + 1] for i in range(3)]])


WRONG_ON_SOME_NUMBERS = {
    "wrong when |x| > 3": lambda x, w, b: correct(x, w, b) + (np.abs(x).max() > 3),
    "wrong on non-integers": lambda x, w, b: correct(x, w, b) + np.any(x != np.round(x)),
    "rounds its input": lambda x, w, b: correct(np.round(x), w, b),
    "clips its weights to [-3, 3]": lambda x, w, b: correct(x, np.clip(w, -3, 3), b),
    "float16 arithmetic": lambda x, w, b: correct(*(a.astype(np.float16) for a in (x, w, b))),
    "float32 arithmetic": lambda x, w, b: correct(*(a.astype(np.float32) for a in (x, w, b))),
    "bfloat16 torch": lambda x, w, b: torch.nn.functional.conv1d(
        torch.as_tensor(x[None]).bfloat16(), torch.as_tensor(w).bfloat16(), torch.as_tensor(b).bfloat16())[0],
    "float32 torch": lambda x, w, b: torch.nn.functional.conv1d(
        torch.as_tensor(x[None]).float(), torch.as_tensor(w).float(), torch.as_tensor(b).float())[0],
}


@pytest.mark.parametrize("name", WRONG_ON_SOME_NUMBERS)
def test_probing_refuses_code_that_is_the_layer_only_on_small_integers(name):
    with pytest.raises(AssertionError, match=re.escape(DIFFERS)) as error:
        assert_conv_equivalent(WRONG_ON_SOME_NUMBERS[name], SPEC, mode="probe", exhaustive=True)
    assert str(error.value).startswith("fn does not compute the convolution [1-D, C_in=1, C_out=1, "
                                       "input=4, kernel=2, bias, NCHW] (found by exact probing)")
    assert str(error.value).endswith("(rounding or non-bilinear code)")


def test_probing_refuses_a_batched_fn_that_is_wrong_for_large_batches():
    def big_batches_wrong(x, w, b):
        return np.stack([correct(s, w, b) for s in x]) + (len(x) >= 8)

    # the identity test's batch of 17 (round 16) finds it before the exact trials' batch of 17
    with pytest.raises(AssertionError, match=r"found by randomized identity testing.*a batch of 17 samples"):
        assert_conv_equivalent(big_batches_wrong, SPEC, mode="probe", batched=True)


def test_float64_torch_is_still_verified_batched_and_not():
    spec = symconv.ConvSpec(2, 3, kernel_size=(2, 3), input_size=(4, 5), padding=1, stride=(1, 2))

    def torch_conv(x, w, b):
        batch = torch.as_tensor(x if x.ndim == 4 else x[None])
        y = torch.nn.functional.conv2d(batch, torch.as_tensor(w), torch.as_tensor(b), stride=(1, 2), padding=1)
        return y if x.ndim == 4 else y[0]

    for batched in (False, True):
        result = assert_conv_equivalent(torch_conv, spec, mode="probe", batched=batched)
        assert result.established == ESTABLISHED["probe"]
        # 28 exact trials (11 of them power-of-two scalings), one call each, batched or not; torch
        # refuses two, which are skipped:
        # the uint8 image with float64 w (dtype mismatch) and the negative-stride views; and the
        # 3 full-significand trials of round 7 (x and w of 53 significant bits, one product per output),
        # and those two patterns again at the 7 float64 scalings (round 16)
        assert result.cross_checks == 43
        assert "43 cross-check call(s) passed" in str(result)


def test_symbolic_mode_refuses_a_float_fast_path_and_an_fn_ignoring_its_inputs():
    spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=4, bias=False)

    def float_fast_path(x, w, b):
        if x.dtype.kind == "f":    # buggy (kernel flipped) on floats; symbols take the other path
            return np.correlate(x[0], w[0, 0, ::-1])[None]
        return np.array([[w[0, 0, 0] * x[0, i] + w[0, 0, 1] * x[0, i + 1] for i in range(3)]])

    with pytest.raises(AssertionError, match=re.escape(DIFFERS)):
        assert_conv_equivalent(float_fast_path, spec)
    with pytest.raises(AssertionError, match=r"3 of 3 outputs differ \(on fresh symbols, renamed back\)"):
        assert_conv_equivalent(lambda x, w, b: symconv.conv(spec, *symconv.symbols(spec)), spec)


def test_symbolic_mode_calls_fn_again_on_fresh_symbols():
    spec = symconv.ConvSpec(1, 1, kernel_size=2, input_size=4, bias=False)
    cache = {}

    def cached(x, w, b):   # right the first time, then replays the first result
        return cache.setdefault("y", symconv.conv(spec, x, w, b))

    with pytest.raises(AssertionError, match=r"3 of 3 outputs differ \(on fresh symbols, renamed back\)\.\n"
                                             r"  y\[0,0\] lacks w_\{0,0,0\}·x_\{0,0\}, w_\{0,0,1\}·x_\{0,1\}; has "
                                             r"stale w_\{0,0,0\}·stale x_\{0,0\}"):
        assert_conv_equivalent(cached, spec)
    result = assert_conv_equivalent(lambda x, w, b: symconv.conv(spec, x, w, b), spec)
    # the cross-checks: the fresh symbols, 28 exact trials and 38 full-significand trials (round 7:
    # a tiny layer draws them again until 64 values of 53 significant bits were tried), and the two
    # full-significand patterns at the 7 float64 scalings (round 16)
    assert (result.established, result.calls, result.cross_checks) == ("proved", 1, 81)


def test_symbolic_batched_mode_sends_two_samples_with_their_own_symbols():
    spec = symconv.ConvSpec(2, 1, kernel_size=2, input_size=4, bias=False)

    def mixes_samples(x, w, b):
        s = x.sum(axis=0)
        y = np.array([[sum(w[0, c, k] * s[c, i + k] for c in range(2) for k in range(2)) for i in range(3)]])
        return np.stack([y] * x.shape[0])

    with pytest.raises(AssertionError, match=re.escape("3 of 3 outputs differ.\n  y[0,0] has the extra "
                                                       "terms w_{0,0,0}·x_{1,0,0}")):
        assert_conv_equivalent(mixes_samples, spec, batched=True)
    result = assert_conv_equivalent(lambda x, w, b: symconv.conv(spec, x, w, b), spec, batched=True)
    # the 28 exact trials and 19 full-significand trials (round 7), 14 of them scaled (round 16)
    assert (result.established, result.cross_checks) == ("proved", 61)


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
@pytest.mark.parametrize("code", [0, 1])
def test_an_fn_that_exits_is_not_checkable(mode, code):
    def exits(x, w, b):
        sys.exit(code)

    with pytest.raises(NotCheckable, match=f"fn raised (SystemExit: {code}|SystemExit\\({code}\\))"):
        assert_conv_equivalent(exits, SPEC, mode=mode)


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_a_sleeping_fn_is_interrupted_at_the_deadline(mode):
    def sleeps(x, w, b):
        time.sleep(30)

    previous = signal.getsignal(signal.SIGALRM)
    start = time.perf_counter()
    with pytest.raises(NotCheckable, match=r"did not finish within deadline=0\.3 s.*so nothing was verified"):
        assert_conv_equivalent(sleeps, SPEC, mode=mode, deadline=0.3)
    assert time.perf_counter() - start < 5
    assert signal.getsignal(signal.SIGALRM) is previous
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_fn_swallowing_the_alarm_is_interrupted_again():
    def swallows(x, w, b):
        for _ in range(10):
            with contextlib.suppress(BaseException):
                time.sleep(30)

    start = time.perf_counter()
    with pytest.raises(NotCheckable, match=r"did not finish within deadline=0\.2 s"):
        assert_conv_equivalent(swallows, SPEC, deadline=0.2)
    assert time.perf_counter() - start < 10


def test_too_large_layers_are_refused_before_anything_is_built():
    start = time.perf_counter()
    with pytest.raises(SpecError, match=r"^spec=.*: symbolic mode would build 8988004 outputs · 1·9 = "
                                        r"80892036 products w·x, more than MAX_TERMS=5000000"):
        assert_conv_equivalent(correct, symconv.ConvSpec(1, 1, 3, (3000, 3000)))
    with pytest.raises(SpecError, match=r"^spec=.*: probing needs 8·\(1 \+ 8100\)·\(8100 \+ 2·7744\) = "
                                        r"1\.42 GiB .* more than PROBE_MEMORY=1 GiB"):
        assert_conv_equivalent(correct, symconv.ConvSpec(1, 1, 3, (90, 90)), mode="probe", exhaustive=True)
    assert time.perf_counter() - start < 2


def test_a_meta_tensor_output_is_not_checkable():
    with pytest.raises(NotCheckable, match="fn returned Tensor on the probe input .* which is not an array"):
        assert_conv_equivalent(lambda x, w, b: torch.empty((1, 3), device="meta"), SPEC, mode="probe")


# ---- the check command -----------------------------------------------------------------------
from symconv.cli import main  # noqa: E402

GOOD = ("import numpy as np\n\ndef conv(x, w, b):\n    print('PARTIAL OUTPUT')\n"
        "    return np.array([[b[0] + w[0, 0, 0] * x[0, i] + w[0, 0, 1] * x[0, i + 1] for i in range(3)]])\n\n"
        "def exits(x, w, b):\n    import sys\n    sys.exit(0)\n")
LAYER = ["--kernel-size", "2", "--input-size", "4"]


@pytest.fixture
def target(tmp_path, monkeypatch):
    (tmp_path / "adv_target.py").write_text(GOOD)
    (tmp_path / "adv_exits_on_import.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "adv_target"


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_check_exits_2_with_one_line_when_fn_calls_sys_exit(target, capsys, mode):
    assert main(["check", f"{target}:exits", *LAYER, "--mode", mode]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("symconv check: error: fn raised SystemExit")
    assert captured.err.count("\n") == 1


def test_check_exits_2_when_the_target_exits_on_import(target, capsys):
    assert main(["check", "adv_exits_on_import:conv", *LAYER]) == 2
    assert capsys.readouterr().err == ("symconv check: error: target='adv_exits_on_import:conv': cannot "
                                       "import adv_exits_on_import: SystemExit: 0\n")


def test_a_system_exit_escaping_a_command_is_exit_2(monkeypatch, capsys):
    import symconv.commands.check as check

    def exits(args):
        raise SystemExit(0)

    monkeypatch.setattr(check, "run", exits)
    assert main(["check", "x:y", *LAYER]) == 2
    assert capsys.readouterr().err == ("symconv check: error: the command was ended by SystemExit(0) "
                                       "from code it ran, so nothing was established\n")


def test_check_json_keeps_stdout_clean_and_reports_exit_2_as_json(target, capsys):
    import json
    assert main(["check", f"{target}:conv", *LAYER, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["established"] == "proved"
    assert "PARTIAL OUTPUT" in captured.err
    assert main(["check", f"{target}:exits", *LAYER, "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert (report["verified"], report["established"]) == (False, None)
    assert report["error"].startswith("fn raised SystemExit: 0 when called on NumPy object arrays")


def test_check_applies_a_tiny_deadline_in_symbolic_mode(target, capsys):
    assert main(["check", f"{target}:conv", *LAYER, "--deadline", "1e-300"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith("symconv check: error: the check did not finish within deadline=1e-300 s, "
                                 "so nothing was verified (fn hangs or is slow?); pass a larger deadline= "
                                 "(seconds), use batched=True, or check a smaller layer\n")


# ---- round 2: exact trials with integer, float32, full-precision and large-batch inputs --------
SPEC2 = symconv.ConvSpec(2, 3, kernel_size=3, input_size=(5, 5))


def correct2(x, w, b):
    """The layer SPEC2 on object, float64 or float32 arrays, in their own dtype."""
    y = np.empty((3, 3, 3), dtype=np.result_type(x, w))   # not x.dtype: a uint8 image, float w
    for o, i, j in np.ndindex(y.shape):
        y[o, i, j] = (w[o] * x[:, i:i + 3, j:j + 3]).sum() + b[o]
    return y


def numeric(change):
    """correct2, with ``change`` applied to (x, w, b) whenever fn runs on numbers, not symbols."""
    return lambda x, w, b: correct2(*(change(x, w, b) if x.dtype != object else (x, w, b)))


ROUND2_WRONG = {   # fn, the trial that refutes it in both modes
    "rounds its inputs to float32": (numeric(lambda x, w, b: (x.astype(np.float32).astype(float),
                                                               w.astype(np.float32).astype(float), b)),
                                     "full-precision x, narrow w: x odd m/2^20, |m| < 2^40"),
    "Q16 fixed point": (numeric(lambda x, w, b: (np.round(x * 2**16) / 2**16, np.round(w * 2**16) / 2**16, b)),
                        "full-precision x, narrow w: x odd m/2^20, |m| < 2^40"),
    "clips to [-64, 64]": (numeric(lambda x, w, b: (np.clip(x, -64, 64), np.clip(w, -64, 64), b)),
                           "full-precision x, narrow w: x odd m/2^20, |m| < 2^40"),
    "wrong in float32": (lambda x, w, b: correct2(x, w, b) + 1 if x.dtype == np.float32 else correct2(x, w, b),
                         "values exact in float32: x odd m/2^6, |m| < 2^9, w odd m/2^6, |m| < 2^9, float32"),
}


@pytest.mark.parametrize("mode", ["symbolic", "probe"])
@pytest.mark.parametrize("name", ROUND2_WRONG)
def test_exact_trials_refute_rounding_quantising_clipping_and_float32_paths(name, mode):
    fn, trial = ROUND2_WRONG[name]
    with pytest.raises(AssertionError, match=re.escape(f"{DIFFERS} ({trial}")):
        assert_conv_equivalent(fn, SPEC2, mode=mode, **({"exhaustive": True} if mode == "probe" else {}))


def test_exact_trials_refute_an_integer_image_fast_path_in_symbolic_mode():
    def integer_path(x, w, b):   # flipped kernel when every input is an integer
        integral = x.dtype != object and np.all(x == np.round(x))
        return correct2(x, w[..., ::-1, ::-1] if integral else w, b)

    with pytest.raises(AssertionError, match=re.escape(f"{DIFFERS} (integer values: x integers below 2^20, "
                                                       f"w integers below 2^20, float64, seed 7, 1 sample(s); "
                                                       f"sample 0; seed= repeats it)")):
        assert_conv_equivalent(integer_path, SPEC2, seed=7)


def test_exact_trials_send_a_batch_above_eight_and_check_every_sample():
    def chunked(x, w, b):   # a chunked path that loses samples from index 8 on
        y = np.stack([correct2(s, w, b) for s in x])
        y[8:] = 0
        return y

    with pytest.raises(AssertionError, match=re.escape("a batch of 17 sample(s); sample 8; seed= repeats it)")):
        assert_conv_equivalent(chunked, SPEC2, batched=True)   # probing refutes it already


def test_exact_trials_draw_a_fresh_seed_per_check_and_seed_repeats_one():
    def seeds():
        with pytest.raises(AssertionError) as caught:
            assert_conv_equivalent(ROUND2_WRONG["Q16 fixed point"][0], SPEC2)
        return int(re.search(r"seed (\d+)", str(caught.value)).group(1))

    first, second = seeds(), seeds()
    assert first != second
    with pytest.raises(AssertionError) as caught:
        assert_conv_equivalent(ROUND2_WRONG["Q16 fixed point"][0], SPEC2, seed=first)
    assert f"seed {first}," in str(caught.value)
    with pytest.raises(SpecError, match=re.escape("seed=-1: must be an integer ≥ 0, or None for a "
                                                  "fresh one")):
        assert_conv_equivalent(correct2, SPEC2, seed=-1)


def test_exact_trials_keep_within_the_exactness_budget():
    from symconv.testing.full_significand import FULL_SIGNIFICAND, full_significand_patterns
    from symconv.testing.trials import _exact_plan
    for spec in (SPEC2, symconv.ConvSpec(64, 1, kernel_size=(5, 5, 5), input_size=(5, 5, 5)),
                 symconv.ConvSpec(512, 1, kernel_size=9, input_size=9)):
        terms_bits = (spec.in_per_group * int(np.prod(spec.kernel_size)) + 1).bit_length()
        for trial in _exact_plan(spec):
            bits = {np.float32: 24, np.int32: 31}.get(trial.dtype, 53)
            if trial.pattern in FULL_SIGNIFICAND:   # one product per output by construction: 53 + 1 bits
                assert sorted((trial.ax, trial.aw)) == [1, 53]
                continue
            assert trial.ax + trial.aw + terms_bits <= bits
    result = assert_conv_equivalent(correct2, SPEC2, mode="probe", batched=False)
    patterns = full_significand_patterns(SPEC2)
    full = sum(repeats for _, repeats in patterns) + 7 * len(patterns)   # rounds 7 and 16: one call each
    assert (result.established, result.cross_checks) == (ESTABLISHED["probe"], 28 + full)


# ---- round 2: the deadline verified after each call, an outer timer honoured, the check CLI ------
DISARMED = "fn disarmed the deadline: "
LEFT_ALONE = (" (it must leave SIGALRM and the real-time timer alone while it is checked), so nothing was "
              "verified")


def disarming(how):
    def fn(x, w, b):
        how()
        return correct(x, w, b)
    return fn


@pytest.mark.parametrize("how, what", [
    (lambda: signal.alarm(0), "the real-time timer (ITIMER_REAL) was stopped"),
    (lambda: signal.setitimer(signal.ITIMER_REAL, 0), "the real-time timer (ITIMER_REAL) was stopped"),
    (lambda: signal.signal(signal.SIGALRM, signal.SIG_IGN), "the SIGALRM handler was replaced by "
                                                             "<Handlers.SIG_IGN: 1>"),
    (lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM}), "SIGALRM was blocked (pthread_sigmask)"),
])
@pytest.mark.parametrize("mode", ["symbolic", "probe"])
def test_an_fn_that_disarms_the_deadline_is_not_checkable(how, what, mode):
    try:
        with pytest.raises(NotCheckable, match=re.escape(DISARMED + what + LEFT_ALONE)):
            assert_conv_equivalent(disarming(how), SPEC, mode=mode)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL and signal.getitimer(signal.ITIMER_REAL) == (0, 0)


class OuterTimeout(BaseException):
    pass


def outer(signum, frame):
    raise OuterTimeout()


def test_an_outer_timer_due_first_fires_on_time_and_a_later_one_keeps_its_time():
    def sleeps(x, w, b):
        time.sleep(5)
        return correct(x, w, b)

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)   # like pytest-timeout's signal method
        start = time.perf_counter()
        with pytest.raises(OuterTimeout):
            assert_conv_equivalent(sleeps, SPEC, deadline=3)
        assert 0.15 < time.perf_counter() - start < 1.5
        assert signal.getsignal(signal.SIGALRM) is outer
        signal.setitimer(signal.ITIMER_REAL, 100)
        assert assert_conv_equivalent(correct, SPEC, deadline=3)
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 95 < left <= 100 and signal.getsignal(signal.SIGALRM) is outer
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_check_cli_keeps_stdout_for_the_verdict_and_bounds_the_import(tmp_path, monkeypatch, capfd):
    import json

    from symconv.cli import main
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loud.py").write_text("import os, numpy as np\nos.write(1, b'{\"verified\": true}\\n')\n"
                                      "def conv(x, w, b):\n    os.write(1, b'noise\\n')\n"
                                      "    return np.correlate(x[0], w[0, 0])[None]\n")
    (tmp_path / "hangs.py").write_text("import time\nwhile True:\n    time.sleep(1)\n")
    layer = ["--kernel-size", "3", "--input-size", "6", "--no-bias"]
    assert main(["check", "./loud.py:conv", *layer, "--json"]) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["established"] == "proved"
    assert err.startswith('{"verified": true}\nnoise\n')
    start = time.perf_counter()
    assert main(["check", "./hangs.py:conv", *layer, "--deadline", "0.3"]) == 2
    assert capfd.readouterr().err == ("symconv check: error: target='./hangs.py:conv': importing it did not "
                                      "finish within 1 s (--deadline, at least 1 s for the import; it hangs "
                                      "or is slow at import?)\n")
    assert time.perf_counter() - start < 3
