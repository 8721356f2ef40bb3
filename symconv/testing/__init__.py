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

``mode="probe"`` is for float-only code (torch, scipy, …). Such code evaluates, if it is a layer
at all, a map of the form  y = c + L_x(x) + L_w(w) + L_b(b) + B(w, x);  probing it with zero and
one-hot float64 inputs reads off every coefficient exactly (a product of 0/1 values is exact, and
sums of a few small integers are exact in float32 and float64). The recovered coefficients are
written back as a polynomial in the same symbols and compared exactly with the definition. That
the code *is* of this form is then tested on random small-integer inputs, which cannot prove it:
the result says "verified by exact probing, assuming bilinearity", never "proved".
Probing refuses what it cannot check exactly, with a NotCheckable naming it: outputs that are
complex (it never drops an imaginary part), NaN, infinite, not real numbers (bool, str, object),
None, or not an exact integer on 0/1 inputs; an fn that raises or exits (the error chained).
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
bits: code that rounds (float32/16/bfloat16, FFT), quantises, clips or rounds its inputs, keeps
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

The package, one job per module:

    assertions   assert_conv_equivalent: arguments, size and time bounds, the two modes
    results      CheckResult, NotCheckable
    calls        calling fn on copies, within the deadline, its errors caught
    symbolic     symbolic mode: fn on SymPy symbols (batched, or twice with fresh symbols)
    probe        probe mode: zero and one-hot inputs, the bilinearity test
    trials       the random exact trials
    reports      failure messages
    diagnosis    alternative layers that reproduce fn's output exactly
"""

from __future__ import annotations

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
           "SHOWN_OUTPUTS", "SHOWN_TERMS"]
