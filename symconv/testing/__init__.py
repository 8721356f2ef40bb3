"""Check other people's convolution code against the definition, in one line of a test.

    symconv.testing.assert_conv_equivalent(fn, spec)        # fn(x, w, b) -> y

``mode="symbolic"`` (default) calls ``fn`` on NumPy object arrays of SymPy symbols and *proves*
that every output is the polynomial of the definition

    y[o, out] = b[o] + Σ_{c,k} w[o, c, k] · x[g(o)·C_in/groups + c, src(s·out + d·k − p)],

by comparing canonical expanded forms (``symconv.prove(spec, output=y)``). It first runs fn on
native exact polynomials of degree ≤ 2 (``fastpoly``: the same arithmetic, ~50× faster than
SymPy), whose outputs go straight into the exact backend's integer keys (``fastpath``); where
fn needs SymPy objects (``sp.expand``, SymPy functions), uses an inexact or refused operation,
or is refuted, SymPy symbols decide as before and the report is SymPy's. ``CheckResult.path``
says which ran.

``mode="probe"`` is for float-only code (torch, scipy, …). It verifies by **randomized
polynomial identity testing** (``pit``): assuming fn computes a polynomial of degree ≤ 2 in its
operands (a layer is bilinear in (x, w) plus linear in b), fn − layer is one too, and a point of
Sᴺ, S the integers in [−2^a, 2^a), exposes a nonzero one except with probability ≤ 2^-a
(Schwartz–Zippel); ⌈64/a⌉ independent points bound a false pass by 2^-64 (``false_pass_bound``
in the result). a is as large as fn's output dtype keeps every product and partial sum exact
(float64 wide, float32 narrow, float16 narrower or refused), and the layer's output there is
computed exactly from the pattern core (``targets``). The assumption is tested with values far
beyond ±3 (third differences along random lines, one through 0): the result says "verified by
randomized identity testing (false-pass probability ≤ 2^-64), assuming fn is bilinear", never
"proved". ``exhaustive=True`` instead reads every coefficient off with zero and one-hot float64
inputs (``probe``; O(|w|·|x|) work; "verified by exact probing, assuming bilinearity"), and
``rtol``/``atol`` check code that rounds within ``torch.testing.assert_close``'s tolerance at
random points (``tolerance``). Any point where fn differs from the layer is a counterexample
whatever fn is. Probing refuses what it cannot check exactly, with a NotCheckable naming it: outputs that are
complex (it never drops an imaginary part), NaN, infinite, not real numbers (bool, str, object),
None, or not an exact integer on integer inputs; an fn that raises or exits (the error chained).
A torch tensor is detached. In symbolic mode every output must be a SymPy expression (or an
integer, e.g. an untouched 0); a batched fn gets a batch of two samples with distinct symbols,
each proved, and an unbatched fn is called a second time on fresh symbols, which must give the
same polynomials (an fn that ignores its inputs or caches is refuted).

Both modes then run **random exact trials** (``_exact_trials``, ``_exact_plan``), from a fresh
random seed per check (named in a failure; ``seed=`` repeats it): balanced dyadic fractions (odd
numerators, never integers); full-precision x (about 40 significant bits, up to ±2^20) with a
narrow w, and the reverse; integers up to ±2^20; values exact in float32 sent as float32 arrays;
value patterns that reach value-dependent branches (small integers in [−3, 3]: values in
{−1, 0, 1}; windows that sum to exactly 0 through ± cancellations; a whole zero region beside
non-zero values; all x < 0; x ≤ 0 in one region and ≥ 0 in the other with w ≤ 0); int64 arrays,
a uint8 image with dyadic float64 w, int32 arrays; and non-contiguous views of x and w (Fortran
order read backwards); magnitude families in every check ("tiny magnitudes": x = s·2^-e, half the
entries ordinary, the others down to 2^-(49 − bitlength(terms + 1)) in float64, 2^-(20 − …) in
float32;
"large magnitudes": integers filling the float64 budget, outputs beyond 2^40); batched, batches of 1
to EXACT_BATCH = 17 samples. Each output is compared exactly with the definition evaluated on
Python integers. Numerator bits obey ax + aw +
bitlength(terms + 1) ≤ 53 (31 for int32, 24 for float32), so every product and partial sum of the
layer is exact in the trial's dtype in any order, while a float64 product needs more than 24
bits: code that rounds (float32/16/bfloat16, FFT), quantises, clips or rounds its inputs (to
fewer than about 40 significant bits: no trial value has more, so code that rounds to 41–52 bits,
e.g. a 3×TF32-style split that drops lo·lo, is out of reach), keeps
an accumulator in the input's dtype (uint8 images), assumes C-contiguous strides, takes a dtype-
or value-dependent path (``win.sum() == 0``, ``win.max() == 0``), or misbehaves for large values
or batches above 8 fails them. An fn that *raises* on integer arrays or views (torch refuses a
uint8 x with float w, and negative strides) skips that trial in probe mode: refusing is no wrong
answer. fn always gets copies; one that writes into its arguments is refused (NotCheckable).

The limit, plainly: symbolic mode proves the computation fn performs *on symbols*. A branch on a
value (``if win.sum() == 0``) is decided by SymPy structurally on symbols (``==`` compares
expressions, so it is False), and probing sees only 0/1 and small-integer inputs; such code is
covered only by the random trials, which make the branches above likely but cannot prove that
no other value takes another path. What they cannot catch: an fn that changes its behaviour after
a number of calls, or only for inputs unlike all of these. ``deadline`` bounds the whole check
(SIGALRM in the main thread, so a sleeping fn is interrupted; between calls otherwise); past it
a NotCheckable, never "verified". Layers too large to check are refused up front.

On failure an ``AssertionError`` lists the first differing outputs with the terms they lack and
have instead, and — when an alternative layer reproduces the code's output *exactly* (kernel
flipped, kernel axes transposed, padding on the wrong side or of another amount or mode, another
stride or dilation, weight channel axes swapped, bias missing) — names it.

Transposed convolutions and backward passes are checked the same way, with the same modes,
deadline, seed and failure messages:

    symconv.testing.assert_conv_transpose_equivalent(fn, spec, output_padding)   # fn(g, w, b) -> y
    symconv.testing.assert_conv_gradients_equivalent(backward_fn, spec)          # -> (grad_x, grad_w, grad_b)

``spec`` is the forward layer; fn computes its transposed convolution (PyTorch's
``conv_transpose{1,2,3}d`` with the forward weight, b of length C_in), backward_fn the gradients
of L = Σ_n ⟨g_n, conv(x_n, w, b)⟩. Probe mode there is the same randomized identity testing
(``pit``, over ``transpose_target`` / ``gradients_target``): fn − map is a polynomial of degree
≤ 2, so random integer points, exact in fn's dtype, expose a wrong fn except with probability
≤ 2⁻⁶⁴ ("verified by randomized identity testing … assuming fn is bilinear"); a failure reads
fn's polynomial off by encoded probes and names the differing entries of y, grad_x, grad_w,
grad_b and the fault (kernel flipped, weight channel axes transposed, output_padding off, bias
missing, parameter gradients not summed over the batch, the groups' weight gradients swapped).

The package, one job per module:

    assertions   assert_conv_equivalent: arguments, size and time bounds, the two modes
    results      CheckResult, NotCheckable
    calls        calling fn on copies, within the deadline, its errors caught
    symbolic     symbolic mode: fn on SymPy symbols (batched, or twice with fresh symbols)
    targets      Target: what fn must compute (operands, outputs, exact and symbolic references)
    pit          randomized identity testing against a Target
    pitcheck     probe mode's forward check by pit, a failure explained cheaply
    probe        exhaustive probing (exhaustive=True): zero and one-hot inputs, the bilinearity test
    tolerance    probe mode within rtol/atol
    trials       the random exact trials
    reports      failure messages
    diagnosis    alternative layers that reproduce fn's output exactly
    adjoints          assert_conv_transpose_equivalent, assert_conv_gradients_equivalent; symbolic mode
    adjoint_maps      the transposed convolution and backward pass: operands, symbols, reference, faults
    adjoint_targets   the same maps as Targets of the identity test, with exact integer references
    adjoint_calls     calling them, what they return checked
    adjoint_probe     their probe mode (the identity test) and AdjointCheckResult
    adjoint_trials    symbolic mode's numeric cross-check at random integer points
    adjoint_recovery  on a failure, fn's polynomial read off by encoded probes
    adjoint_reports   their failure messages and diagnosis
"""

from __future__ import annotations

from .adjoint_probe import AdjointCheckResult
from .adjoint_targets import gradients_target, transpose_target
from .adjoints import assert_conv_gradients_equivalent, assert_conv_transpose_equivalent
from .assertions import MAX_TERMS, PROBE_DEADLINE, PROBE_MEMORY, assert_conv_equivalent
from .probe import PROBE_RANGE, PROBE_TRIALS
from .reports import SHOWN_OUTPUTS, SHOWN_TERMS
from .results import ESTABLISHED, MODES, CheckResult, NotCheckable
from .trials import (
                     EXACT_BATCH,
                     EXACT_BITS,
                     EXACT_MAGNITUDE_BITS,
                     EXACT_NARROW_BITS,
                     EXACT_REFERENCE_TERMS,
                     PATTERN_RANGE,
                     PATTERNS,
)

__all__ = ["assert_conv_equivalent", "CheckResult", "NotCheckable", "MODES", "ESTABLISHED", "PROBE_DEADLINE",
           "MAX_TERMS", "PROBE_MEMORY", "PROBE_TRIALS", "PROBE_RANGE", "EXACT_BITS", "EXACT_NARROW_BITS",
           "EXACT_MAGNITUDE_BITS", "EXACT_BATCH", "EXACT_REFERENCE_TERMS", "PATTERN_RANGE", "PATTERNS",
           "SHOWN_OUTPUTS", "SHOWN_TERMS", "assert_conv_transpose_equivalent", "assert_conv_gradients_equivalent",
           "AdjointCheckResult", "transpose_target", "gradients_target"]
