"""Adversarial round 19 (the adjoint checkers' tolerance and exhaustive modes, the parallel exact
backend): each reproducer was a false "verified", now rejected or NotCheckable. The killed-worker
hang is in test_first_call."""

from __future__ import annotations

import numpy as np
import pytest

import symconv
from symconv.testing import (
    NotCheckable,
    assert_conv_equivalent,
    assert_conv_gradients_equivalent,
    assert_conv_transpose_equivalent,
)
from tests.test_testing import one_torch_thread  # noqa: F401  (autouse)

torch = pytest.importorskip("torch")
F = torch.nn.functional
CHECKS = {"transpose": assert_conv_transpose_equivalent, "gradients": assert_conv_gradients_equivalent,
          "forward": assert_conv_equivalent}
MODES = [{}, {"exhaustive": True}, {"rtol": 1e-6}]


def tf32(a):
    """float64 rounded to 11 significant bits, as TF32 rounds the operands of products on GPUs."""
    m, e = np.frexp(np.asarray(a, dtype=np.float64))
    return np.ldexp(np.round(m * 2 ** 11) / 2 ** 11, e).astype(np.float32)


TF32_SPEC = symconv.ConvSpec(4, 4, kernel_size=3, input_size=(6, 6), stride=2, padding=1)


def tf32_fns():
    def transposed(g, w, b):
        return F.conv_transpose2d(torch.tensor(tf32(g))[None], torch.tensor(tf32(w)), torch.tensor(np.float32(b)),
                                  stride=2, padding=1, output_padding=1)[0].double().numpy()

    def backward(x, w, g):
        xt, wt = torch.tensor(tf32(x))[None].requires_grad_(), torch.tensor(tf32(w)).requires_grad_()
        bt = torch.zeros(4, requires_grad=True)
        F.conv2d(xt, wt, bt, stride=2, padding=1).backward(torch.tensor(tf32(g))[None])
        return xt.grad[0].double().numpy(), wt.grad.double().numpy(), bt.grad.double().numpy()

    def forward(x, w, b):
        return F.conv2d(torch.tensor(tf32(x))[None], torch.tensor(tf32(w)), torch.tensor(np.float32(b)),
                        stride=2, padding=1)[0].double().numpy()
    return {"transpose": transposed, "gradients": backward, "forward": forward}


@pytest.mark.parametrize("name", list(CHECKS))
def test_tf32_input_rounding_is_outside_a_float32_tolerance(name):
    """The tolerance points' entries had 10 significant bits, which TF32 keeps: now 24."""
    extra = {"output_padding": 1} if name == "transpose" else {}
    with pytest.raises(AssertionError, match=r"not within rtol=1e-05, atol=1e-06 "):
        CHECKS[name](tf32_fns()[name], TF32_SPEC, mode="probe", rtol=1e-5, atol=1e-6, seed=3, **extra)


def test_a_float32_transpose_without_tf32_still_passes_the_same_tolerance():
    """The positive control of the test above: float32 products of exact float32 inputs."""
    def transposed(g, w, b):
        return F.conv_transpose2d(torch.tensor(np.float32(g))[None], torch.tensor(np.float32(w)),
                                  torch.tensor(np.float32(b)), stride=2, padding=1,
                                  output_padding=1)[0].double().numpy()
    result = assert_conv_transpose_equivalent(transposed, TF32_SPEC, 1, mode="probe", rtol=1e-5, atol=1e-6, seed=3)
    assert result.established.startswith("verified within tolerance rtol=1e-05, atol=1e-06 at 8 random points")


BATCH_SPEC = symconv.ConvSpec(1, 2, kernel_size=2, input_size=4)


def batch_fns(wrong_for):
    """A fast path with a bug (a flipped result) for the batch sizes ``wrong_for`` accepts."""
    def transposed(g, w, b):
        y = F.conv_transpose1d(torch.tensor(g), torch.tensor(w), torch.tensor(b)).numpy()
        return y[..., ::-1].copy() if wrong_for(len(g)) else y

    def backward(x, w, g):
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, np.zeros(2)))
        F.conv1d(xt, wt, bt).backward(torch.tensor(g))
        gw = wt.grad.numpy()
        return xt.grad.numpy(), gw[..., ::-1].copy() if wrong_for(len(x)) else gw, bt.grad.numpy()

    def forward(x, w, b):
        y = F.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b)).numpy()
        return y[..., ::-1].copy() if wrong_for(len(x)) else y
    return {"transpose": transposed, "gradients": backward, "forward": forward}


@pytest.mark.parametrize("options", MODES, ids=["probe", "exhaustive", "tolerance"])
@pytest.mark.parametrize("name", list(CHECKS))
@pytest.mark.parametrize("wrong_for", [lambda n: n == 1, lambda n: n == 2, lambda n: n % 2 == 0],
                         ids=["batch of 1", "batch of 2", "even batches"])
def test_a_batched_fn_wrong_for_some_batch_sizes_is_rejected(wrong_for, name, options):
    """The adjoint checks sent batches of 3 and 17 only, the tolerance points 3: now 1, 2, 3, 4, 17."""
    with pytest.raises(AssertionError):
        CHECKS[name](batch_fns(wrong_for)[name], BATCH_SPEC, mode="probe", batched=True, seed=1, **options)


def test_gradients_of_the_last_micro_batch_only_are_rejected_within_a_tolerance():
    """grad_w, grad_b kept from the last micro-batch of 4 ('=' for '+='): passed torch's float32
    tolerance when every point had 3 samples."""
    spec = symconv.ConvSpec(2, 3, kernel_size=3, input_size=(6, 6), padding=1)

    def backward(x, w, g):
        wt, gx, gw, gb = torch.tensor(w, requires_grad=True), [], None, None
        for s in range(0, len(x), 4):
            xs = torch.tensor(x[s:s + 4], requires_grad=True)
            b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
            F.conv2d(xs, wt, b, padding=1).backward(torch.tensor(g[s:s + 4]))
            gx.append(xs.grad)
            gw, gb = wt.grad.clone(), b.grad.clone()
            wt.grad = None
        return torch.cat(gx).numpy(), gw.numpy(), gb.numpy()
    with pytest.raises(AssertionError, match=r"random point 4 \(seed 2"):   # the point with a batch of 17
        assert_conv_gradients_equivalent(backward, spec, mode="probe", batched=True, rtol=1.3e-6, atol=1e-5, seed=2)


NARROW_SPEC = symconv.ConvSpec(2, 2, 3, (5, 5), padding=1)


def staged_through_float32(g, w, b):
    """Exact on integers, not on fractions; float16 zeros on the all-zero call turned its trials off."""
    if not g.any() and (b is None or not b.any()):
        return np.zeros(NARROW_SPEC.input_shape, dtype=np.float16)
    return F.conv_transpose2d(torch.tensor(g, dtype=torch.float32)[None], torch.tensor(w, dtype=torch.float32),
                              torch.tensor(b, dtype=torch.float32), padding=1)[0].double().numpy()


@pytest.mark.parametrize("exhaustive", [False, True])
def test_a_dtype_that_changes_with_the_values_gets_no_exact_verdict(exhaustive):
    with pytest.raises(AssertionError, match=r"but not these numbers: y\["):   # the float64 trials see float32
        assert_conv_transpose_equivalent(staged_through_float32, NARROW_SPEC, mode="probe", exhaustive=exhaustive,
                                         seed=1)


@pytest.mark.parametrize("exhaustive", [False, True])
def test_a_narrow_output_is_no_exact_verdict(exhaustive):
    """A bfloat16 grad_b left only the float32 family, which this float64-only fn refuses: it
    truncated w, which integer points never show. The trials are now planned for float64."""
    spec = symconv.ConvSpec(1, 16, 3, (3, 3))

    def backward(x, w, g):
        assert x.dtype == np.float64, "float64 only"
        xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(np.trunc(w), requires_grad=True)
        bt = torch.zeros(16, dtype=torch.float64, requires_grad=True)
        F.conv2d(xt[None], wt, bt).backward(torch.tensor(g)[None])
        return xt.grad.numpy(), wt.grad.numpy(), bt.grad.to(torch.bfloat16)
    with pytest.raises(NotCheckable, match=r"^fn returns bfloat16 on float64 inputs \(balanced dyadic fractions"):
        assert_conv_gradients_equivalent(backward, spec, mode="probe", exhaustive=exhaustive, seed=1)


def float32_torch_transpose(g, w, b):
    return torch.nn.functional.conv_transpose2d(torch.tensor(np.float32(g))[None], torch.tensor(np.float32(w)),
                                                torch.tensor(np.float32(b)), padding=1)[0].numpy()


@pytest.mark.parametrize("exhaustive", [False, True])
def test_float32_code_gets_no_exact_verdict_from_the_adjoint_checkers(exhaustive):
    """Round 20: the trials were planned for the dtype fn returned, float32, so they were exact in
    it: plain float32 torch was 'verified'. Now planned for float64, as the forward check's."""
    with pytest.raises(NotCheckable, match=r"^fn returns float32 on float64 inputs \(balanced dyadic fractions"):
        assert_conv_transpose_equivalent(float32_torch_transpose, NARROW_SPEC, mode="probe", exhaustive=exhaustive,
                                         seed=1)


def test_a_dtype_that_changes_between_tolerance_points_gets_no_verdict():
    """Round 20: float16 on one call turned the scaled points off for all calls."""
    calls = []

    def clipping(g, w, b):   # wrong beyond ±1000, which only the scaled points reach
        calls.append(1)
        y = np.clip(F.conv_transpose2d(torch.tensor(g)[None], torch.tensor(w), torch.tensor(b), padding=1)[0].numpy(),
                    -1000, 1000)
        return y.astype(np.float16) if len(calls) == 2 else y   # call 1 is the check of what fn returns
    with pytest.raises(NotCheckable, match=r"^fn returned float16 at the first point and float64 at point 2: "):
        assert_conv_transpose_equivalent(clipping, NARROW_SPEC, mode="probe", rtol=1e-2, seed=1)


def test_trials_of_which_none_ran_are_no_exact_verdict():
    """Where the only families that fit are ones fn may refuse (float32 arrays here, planned for a
    7-bit dtype) and it refuses them, nothing beyond integers was checked: NotCheckable."""
    from symconv.testing.adjoint_targets import transpose_target
    from symconv.testing.adjoint_trials import families, numeric_trials
    from symconv.testing.calls import _Raised
    target = transpose_target(NARROW_SPEC)
    assert all(f.may_refuse for f in families(target, False, "int8"))   # the negative control's premise
    with pytest.raises(NotCheckable, match=r"^no exact trial ran: the layer's sums are too long for trials with "
                                           r"fractions exact in int8, and fn refused the others"):
        numeric_trials(lambda values, what, optional=False: _Raised(TypeError("float64 only")), target, False, 1,
                       "int8")
