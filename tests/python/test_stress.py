"""Numerical stress of the closed forms against high-precision references (mpmath, 50 digits).

Covered: the W2/Bures family (w2_squared, w2_squared_all_pairs), the Brenier map, sqrtm, the
balanced entropic OT value and the IGW value, on condition numbers up to 1e12, exactly singular
and rank-one covariances, d = 1, d = 4096 (one call), scales 2^±498 ≈ 1e±150 up to 1e±300, and
float32 inputs.

The references are computed from the float64 (or float32) numbers the library receives, in
mpmath at mp.dps = 50 (symmetric eigendecompositions with mpmath.eigsy; square roots of PSD
matrices as Q diag(√max(w, 0)) Qᵀ), so they are exact for those inputs to far below the
tolerances. Every tolerance is derived in the helper that computes it (see _w2_bound and the
others): the library is backward stable — it computes the exact function of inputs perturbed
by δA with ‖δA‖₂ <= c·d·ε·‖A‖₂ — and the tolerance is the forward error that such a perturbation
can cause, which for W2 of nearly singular matrices is the √ε loss of the matrix square root.
"""

import numpy as np
import pytest

import gaussot

mpmath = pytest.importorskip(
    "mpmath", reason="the high-precision references need mpmath (pip install mpmath; "
                     "scripts/test_python.sh installs it)")
mp = mpmath.mp
DPS = 50

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
# c of the backward-error model ‖δA‖₂ <= C·d·ε·‖A‖₂: Cholesky (d+1)ε, the two products of
# S_a^½ S_b S_a^½ 2dε, the symmetric eigensolver about √d·ε (LAPACK's bound is p(d)·ε with p
# modest), and the clamping rule, which zeroes eigenvalues below √d·ε·max|w|. C = 8 covers their
# sum with a margin; every test below also checks that its error is not far below the bound by
# accident of the bound being vacuous (the bound stays well under the value).
C = 8.0


# ---- mpmath references --------------------------------------------------------------------------

def mp_matrix(a):
    a = np.asarray(a, dtype=np.float64)  # float32 inputs are widened exactly
    return mp.matrix([[mp.mpf(float(x)) for x in row] for row in a])


def mp_eigsy(a):
    """Eigenvalues (ascending, as mpf) and eigenvectors of a symmetric mpmath matrix."""
    sym = (a + a.T) / 2
    w, q = mp.eigsy(sym)
    return [w[i] for i in range(w.rows)], q


def mp_psd_function(a, f):
    """Q diag(f(max(w, 0))) Qᵀ of a symmetric PSD mpmath matrix."""
    w, q = mp_eigsy(a)
    d = a.rows
    diag = mp.matrix(d, d)
    for i in range(d):
        diag[i, i] = f(max(w[i], mp.mpf(0)))
    return q * diag * q.T


def mp_trace(a):
    return mp.fsum(a[i, i] for i in range(a.rows))


def mp_cross_spectrum(a, b):
    """Eigenvalues λ of A^½ B A^½ (ascending, clamped at 0), as mpf."""
    root = mp_psd_function(a, mp.sqrt)
    w, _ = mp_eigsy(root * b * root)
    return [max(x, mp.mpf(0)) for x in w]


def mp_mean_gap(m1, m2, d):
    if m1 is None and m2 is None:
        return mp.mpf(0)
    m1 = np.zeros(d) if m1 is None else np.asarray(m1, np.float64)
    m2 = np.zeros(d) if m2 is None else np.asarray(m2, np.float64)
    return mp.fsum((mp.mpf(float(x)) - mp.mpf(float(y))) ** 2 for x, y in zip(m1, m2))


def mp_w2_squared(A, B, m1=None, m2=None):
    """W2² = ‖m1 − m2‖² + tr A + tr B − 2 tr (A^½ B A^½)^½, and the λ of A^½ B A^½."""
    with mp.workdps(DPS):
        a, b = mp_matrix(A), mp_matrix(B)
        lam = mp_cross_spectrum(a, b)
        value = (mp_mean_gap(m1, m2, a.rows) + mp_trace(a) + mp_trace(b)
                 - 2 * mp.fsum(mp.sqrt(x) for x in lam))
        return float(value), [float(x) for x in lam]


def mp_sqrtm(A):
    with mp.workdps(DPS):
        r = mp_psd_function(mp_matrix(A), mp.sqrt)
        return np.array(r.tolist(), dtype=float)


def mp_brenier(A, B):
    """A^-½ (A^½ B A^½)^½ A^-½."""
    with mp.workdps(DPS):
        a, b = mp_matrix(A), mp_matrix(B)
        root = mp_psd_function(a, mp.sqrt)
        inverse_root = mp_psd_function(a, lambda w: 1 / mp.sqrt(w))
        middle = mp_psd_function(root * b * root, mp.sqrt)
        return np.array((inverse_root * middle * inverse_root).tolist(), dtype=float)


def mp_entropic_value(A, B, sigma, m1=None, m2=None):
    """OT_σ in the form of Janati et al.'s Theorem 1 (formulas-entropic.md §1.1):
    ‖a − b‖² + tr A + tr B − tr D + dσ²(1 − log 2σ²) + σ² log det(D + σ² I),
    D = (4 A^½ B A^½ + σ⁴ I)^½ — not the library's spectral form; at 50 digits its
    cancellation for large σ is harmless."""
    with mp.workdps(DPS):
        a, b = mp_matrix(A), mp_matrix(B)
        d = a.rows
        s2 = mp.mpf(float(sigma)) ** 2
        lam = mp_cross_spectrum(a, b)
        trace_d = mp.fsum(mp.sqrt(4 * x + s2 ** 2) for x in lam)
        log_det = mp.fsum(mp.log(mp.sqrt(4 * x + s2 ** 2) + s2) for x in lam)
        value = (mp_mean_gap(m1, m2, d) + mp_trace(a) + mp_trace(b) - trace_d
                 + d * s2 * (1 - mp.log(2 * s2)) + s2 * log_det)
        return float(value), [float(x) for x in lam]


def mp_igw_squared(A, B, m1=None):
    """IGW² of N(m1, A) and N(0, B) (formulas §2.2, §3.3): Σ (α_i − β_i)² over the decreasing,
    zero-padded spectra, + 2 m1ᵀ A m1 + ‖m1‖⁴."""
    with mp.workdps(DPS):
        a, b = mp_matrix(A), mp_matrix(B)
        alpha = sorted(mp_eigsy(a)[0], reverse=True)
        beta = sorted(mp_eigsy(b)[0], reverse=True)
        n = max(len(alpha), len(beta))
        alpha += [mp.mpf(0)] * (n - len(alpha))
        beta += [mp.mpf(0)] * (n - len(beta))
        value = mp.fsum((x - y) ** 2 for x, y in zip(alpha, beta))
        if m1 is not None:
            m = mp.matrix([mp.mpf(float(x)) for x in m1])
            norm2 = mp.fsum(x ** 2 for x in m)
            value += 2 * (m.T * a * m)[0, 0] + norm2 ** 2
        return float(value)


# ---- inputs -------------------------------------------------------------------------------------

def orthogonal(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def with_spectrum(rng, w):
    """Q diag(w) Qᵀ, exactly symmetric, for a random orthogonal Q."""
    q = orthogonal(rng, len(w))
    a = (q * np.asarray(w, dtype=np.float64)) @ q.T
    return (a + a.T) / 2


def conditioned(rng, d, cond):
    """A covariance of norm about 1 and condition number about cond (geometric spectrum)."""
    return with_spectrum(rng, np.logspace(0, -np.log10(cond), d))


# An exactly orthogonal matrix with exactly representable entries (a Hadamard matrix / 2): with
# small integer eigenvalues, H diag(w) H is exact in floating point, so singular means singular.
H4 = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=float) / 2


def exactly_singular(w):
    return H4 @ np.diag(np.asarray(w, dtype=float)) @ H4


def norm2(a):
    return float(np.linalg.norm(np.asarray(a, np.float64), 2))


# ---- tolerances ---------------------------------------------------------------------------------

def _w2_bound(A, B, lam, eps, mean_gap2=0.0):
    """Forward error bound of W2² under backward errors ‖δA‖ <= C·d·ε·‖A‖, ‖δB‖ <= C·d·ε·‖B‖.

    W2² = ‖Δm‖² + tr A + tr B − 2 Σ √λ_i with λ_i the eigenvalues of A^½ B A^½, which are those
    of B^½ A B^½; by Weyl's inequality the perturbations move each λ_i by at most
    δ = ‖A‖‖δB‖ + ‖δA‖‖B‖ + ‖δA‖‖δB‖ <= 2.1·C·d·ε·‖A‖‖B‖. Then
        |√(λ + δ') − √λ| <= min(√δ, δ/√λ)   for |δ'| <= δ
    (the first, √δ, is the square root's own loss at 0: the √ε accuracy of W2 between nearly
    singular matrices, whatever their condition number; the second is the derivative bound for
    λ well above δ). The traces and ‖Δm‖² add C·d·ε times their size, and the final sum rounds
    at ε of its terms. Hence
        |ΔW2²| <= 2 Σ_i min(√δ, δ/√λ_i) + C·d·ε·(tr A + tr B + ‖Δm‖²).
    """
    d = np.asarray(A).shape[-1]
    delta = 2.1 * C * d * eps * norm2(A) * norm2(B)
    lam = np.maximum(np.asarray(lam, dtype=float), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_value = np.minimum(np.sqrt(delta), np.where(lam > 0, delta / np.sqrt(lam), np.inf))
    traces = float(np.trace(np.asarray(A, np.float64)) + np.trace(np.asarray(B, np.float64)))
    return 2 * per_value.sum() + C * d * eps * (traces + mean_gap2)


def _sqrtm_bound(A, eps):
    """‖δ(A^½)‖₂ under ‖δA‖₂ <= δ = C·d·ε·‖A‖₂: the square root is operator monotone and
    ‖(A + E)^½ − A^½‖ <= ‖E‖^½ (the √ε loss at singular A), and its Fréchet derivative at A has
    norm 1/(2√λ_min), so the error is at most min(√δ, δ/(2√λ_min)); forming V diag(√w) Vᵀ adds
    C·d·ε·‖A‖^½. In the Frobenius norm, times √d."""
    d = np.asarray(A).shape[-1]
    delta = C * d * eps * norm2(A)
    lam_min = max(float(np.linalg.eigvalsh(np.asarray(A, np.float64))[0]), 0.0)
    derivative = delta / (2 * np.sqrt(lam_min)) if lam_min > 0 else np.inf
    return np.sqrt(d) * (min(np.sqrt(delta), derivative) + C * d * eps * np.sqrt(norm2(A)))


def _entropic_bound(A, B, lam, sigma, eps, mean_gap2=0.0):
    """OT_σ = ‖Δm‖² + tr A + tr B − Σ h(λ_i), h(λ) = δ(λ) − σ² log1p(δ(λ)/2σ²),
    δ(λ) = √(4λ + σ⁴) − σ². h' = δ'(λ)(σ² + δ)/(2σ² + δ) <= δ'(λ) = 2/√(4λ + σ⁴)
    <= min(2/σ², 1/√λ), and h rises by at most 2√δ over [0, δ]. With the eigenvalue
    perturbation δ of _w2_bound:
        |ΔOT_σ| <= Σ_i min(2√δ, 2δ/σ², 2δ/√λ_i) + C·d·ε·(tr A + tr B + ‖Δm‖² + dσ²).
    The entropic value is thus better conditioned than W2 near singular matrices when σ² is not
    small (the regularisation smooths the square root at 0)."""
    d = np.asarray(A).shape[-1]
    s2 = sigma * sigma
    delta = 2.1 * C * d * eps * norm2(A) * norm2(B)
    lam = np.maximum(np.asarray(lam, dtype=float), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_value = np.minimum.reduce([np.full_like(lam, 2 * np.sqrt(delta)),
                                       np.full_like(lam, 2 * delta / s2),
                                       np.where(lam > 0, 2 * delta / np.sqrt(lam), np.inf)])
    traces = float(np.trace(np.asarray(A, np.float64)) + np.trace(np.asarray(B, np.float64)))
    return per_value.sum() + C * d * eps * (traces + mean_gap2 + d * s2)


def _igw_bound(A, B, reference, eps, m1=None):
    """Eigenvalues are perfectly conditioned (Weyl): each moves by at most δ_S = C·d·ε·‖S‖ under
    the backward error. IGW² = Σ (α_i − β_i)² = ‖α − β‖², so |Δ‖α − β‖| <= √n (δ_A + δ_B) and
        |ΔIGW²| <= 2 √IGW² √n (δ_A + δ_B) + n (δ_A + δ_B)²
    plus the rounding of the sums, C·d·ε·(‖A‖_F² + ‖B‖_F² + m1 terms) — no condition number
    appears: IGW is as accurate for cond 1e12 as for cond 1."""
    a, b = np.asarray(A, np.float64), np.asarray(B, np.float64)
    n = max(a.shape[-1], b.shape[-1])
    shift = C * n * eps * (norm2(a) + norm2(b))
    sums = np.sum(a * a) + np.sum(b * b)
    if m1 is not None:
        m = np.asarray(m1, np.float64)
        sums += 2 * abs(m @ a @ m) + (m @ m) ** 2
    return 2 * np.sqrt(max(reference, 0.0)) * np.sqrt(n) * shift + n * shift ** 2 + \
        C * n * eps * sums


# ---- W2 -----------------------------------------------------------------------------------------

CONDITIONS = [1.0, 1e3, 1e6, 1e9, 1e12]


@pytest.mark.parametrize("d", [1, 2, 3, 6])
@pytest.mark.parametrize("cond_a, cond_b", [(c, 10.0) for c in CONDITIONS] + [(1e12, 1e12)])
def test_w2_against_mpmath_up_to_condition_1e12(d, cond_a, cond_b):
    rng = np.random.default_rng(int(d * 1000 + np.log10(cond_a) * 10 + np.log10(cond_b)))
    if d == 1:
        A, B = np.array([[1.0 / cond_a]]), np.array([[0.7]])
    else:
        A, B = conditioned(rng, d, cond_a), conditioned(rng, d, cond_b)
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    reference, lam = mp_w2_squared(A, B, m1, m2)
    got = gaussot.w2_squared(A, B, a_mean=m1, b_mean=m2)
    bound = _w2_bound(A, B, lam, EPS64, float(np.sum((m1 - m2) ** 2)))
    assert np.isfinite(got)
    assert abs(got - reference) <= bound, (got, reference, bound)
    # The symmetric call (roles swapped) and the all-pairs call agree within the same bound.
    assert abs(gaussot.w2_squared(B, A, a_mean=m2, b_mean=m1) - reference) <= bound
    all_pairs = gaussot.w2_squared_all_pairs(A[None], B[None], a_mean=m1[None], b_mean=m2[None])
    assert abs(all_pairs[0, 0] - reference) <= bound


def test_w2_bound_is_the_sqrt_eps_loss_and_is_not_vacuous():
    # W2² between a matrix of condition 1e12 and itself is 0; the bound is then the √ε loss of
    # the square root, ~1e-7 relative to tr A, far below tr A (not vacuous), and the library
    # stays within it. For well-conditioned pairs the bound is ~1e-14 relative.
    rng = np.random.default_rng(5)
    A = conditioned(rng, 6, 1e12)
    reference, lam = mp_w2_squared(A, A)
    bound = _w2_bound(A, A, lam, EPS64)
    assert abs(reference) < 1e-30 and bound < 1e-5 * np.trace(A)
    assert abs(gaussot.w2_squared(A, A) - reference) <= bound
    B = conditioned(rng, 6, 10.0)
    reference, lam = mp_w2_squared(B, 2 * B)
    assert _w2_bound(B, 2 * B, lam, EPS64) < 1e-12 * np.trace(B)


@pytest.mark.parametrize("case", ["rank_one_both", "rank_one_vs_full", "singular_both",
                                  "zero_vs_full", "singular_disjoint"])
def test_w2_exactly_singular_and_rank_one(case):
    v, w = np.array([1.0, -2.0, 0.5, 3.0]), np.array([2.0, 1.0, -1.0, 0.25])
    full = exactly_singular([4.0, 3.0, 2.0, 1.0])
    A, B = {
        "rank_one_both": (np.outer(v, v), np.outer(w, w)),
        "rank_one_vs_full": (np.outer(v, v), full),
        "singular_both": (exactly_singular([3.0, 1.0, 0.0, 0.0]),
                          exactly_singular([0.0, 2.0, 5.0, 0.0])),
        "zero_vs_full": (np.zeros((4, 4)), full),
        "singular_disjoint": (exactly_singular([3.0, 0.0, 0.0, 0.0]),
                              exactly_singular([0.0, 2.0, 0.0, 0.0])),
    }[case]
    reference, lam = mp_w2_squared(A, B)
    # Independent closed forms: rank one against rank one, |v|² + |w|² − 2|vᵀw|; rank one
    # against anything, tr(vvᵀ) + tr B − 2 √(vᵀBv); orthogonal supports, tr A + tr B.
    closed = {"rank_one_both": v @ v + w @ w - 2 * abs(v @ w),
              "rank_one_vs_full": v @ v + np.trace(B) - 2 * np.sqrt(v @ B @ v),
              "zero_vs_full": np.trace(B),
              "singular_disjoint": np.trace(A) + np.trace(B)}.get(case)
    if closed is not None:
        assert abs(closed - reference) <= 1e-13 * (np.trace(A) + np.trace(B))
    got = gaussot.w2_squared(A, B)
    assert np.isfinite(got) and got >= 0
    assert abs(got - reference) <= _w2_bound(A, B, lam, EPS64), (got, reference)
    assert abs(gaussot.w2_squared(B, A) - reference) <= _w2_bound(A, B, lam, EPS64)


@pytest.mark.parametrize("a, b, m1, m2", [
    (1.0, 1.0, 0.0, 0.0), (2.0, 8.0, -1.0, 3.0), (1e-12, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, -1.0),
    (0.0, 5.0, 0.0, 0.0), (1e-300, 1e-300, 0.0, 0.0), (3e300, 1e300, 0.0, 0.0),
    (1e-310, 4e-310, 0.0, 0.0), (1e-300, 1e300, 0.0, 0.0),
])
def test_w2_in_one_dimension(a, b, m1, m2):
    # W2² = (m1 − m2)² + (√a − √b)² (mpmath); the library rounds a handful of operations on
    # numbers of the size of a + b: C·ε·(a + b + (m1 − m2)²), plus, for subnormal inputs, a few
    # units of the smallest subnormal.
    with mp.workdps(DPS):
        expected = float((mp.mpf(m1) - mp.mpf(m2)) ** 2 + (mp.sqrt(mp.mpf(a)) - mp.sqrt(mp.mpf(b)))
                         ** 2)
    got = gaussot.w2_squared(np.array([[a]]), np.array([[b]]), a_mean=[m1], b_mean=[m2])
    tolerance = C * EPS64 * (a + b + (m1 - m2) ** 2) + 64 * 5e-324
    assert np.isfinite(got) and abs(got - expected) <= tolerance, (got, expected)


def test_w2_in_dimension_4096_diagonal_plus_low_rank():
    # A = D_a + u uᵀ and B = D_b + w wᵀ with u, w supported on the first 8 coordinates: both are
    # block diagonal, so W2² = W2²(8 x 8 blocks, mpmath) + Σ_{i >= 8} (√a_i − √b_i)² (the
    # diagonal closed form). One call on two dense 4096 x 4096 matrices (a Cholesky, two GEMMs
    # and an eigvalsh of order 4096: 8-20 s on two free cores, the only slow test of the file;
    # sqrtm at that size would cost as much again and test nothing more).
    d, block = 4096, 8
    rng = np.random.default_rng(4096)
    a, b = rng.uniform(1.0, 2.0, d), rng.uniform(1.0, 2.0, d)
    u, w = np.zeros(d), np.zeros(d)
    u[:block], w[:block] = rng.standard_normal(block), rng.standard_normal(block)
    A, B = np.diag(a) + np.outer(u, u), np.diag(b) + np.outer(w, w)
    head, lam = mp_w2_squared(A[:block, :block], B[:block, :block])
    tail = np.sqrt(a[block:]) - np.sqrt(b[block:])
    tail_value = float(np.sum(tail * tail))
    expected = head + tail_value
    got = gaussot.w2_squared(A, B)
    # _w2_bound with every λ of the diagonal part in [1, 4]: per eigenvalue δ/√λ <= δ, and
    # d of them. (The norms of block-diagonal matrices: the largest of their blocks'.)
    norm_a = max(norm2(A[:block, :block]), a[block:].max())
    norm_b = max(norm2(B[:block, :block]), b[block:].max())
    delta = 2.1 * C * d * EPS64 * norm_a * norm_b
    bound = 2 * d * delta + C * d * EPS64 * (np.trace(A) + np.trace(B))
    assert np.isfinite(got)
    assert abs(got - expected) <= bound, (got, expected, bound)
    assert bound < 1e-6 * expected  # and the bound is a tight one: ~1e-8 relative


# ---- scales -------------------------------------------------------------------------------------

@pytest.mark.parametrize("exponent", [-996, -664, -498, -200, 200, 498, 664, 996])
def test_w2_scales_exactly_with_powers_of_two(exponent):
    # W2²(cA, cB, √c m_a, √c m_b) = c·W2²(A, B, m_a, m_b). With c = 2^e (e even) the scaled
    # inputs are exact; c = 2^±498 ≈ 1e±150, 2^±996 ≈ 1e±300. The library computes both within
    # the bound of the reference, so their ratio agrees to 2 × bound / W2².
    rng = np.random.default_rng(abs(exponent))
    A, B = conditioned(rng, 4, 100.0), conditioned(rng, 4, 10.0)
    m1, m2 = rng.standard_normal(4), rng.standard_normal(4)
    reference, lam = mp_w2_squared(A, B, m1, m2)
    bound = _w2_bound(A, B, lam, EPS64, float(np.sum((m1 - m2) ** 2)))
    c, root = 2.0 ** exponent, 2.0 ** (exponent // 2)
    got = gaussot.w2_squared(A * c, B * c, a_mean=m1 * root, b_mean=m2 * root)
    assert np.isfinite(got) and got > 0
    assert abs(got / c - reference) <= bound, (got / c, reference, bound)
    # Brenier's matrix does not change with the scale.
    matrix, _ = gaussot.brenier_map(A * c, B * c)
    expected_matrix, _ = gaussot.brenier_map(A, B)
    np.testing.assert_allclose(matrix, expected_matrix, rtol=0,
                               atol=1e3 * EPS64 * np.abs(expected_matrix).max())


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_w2_scales_with_decimal_factors(scale):
    # c = 1e±150 is not a power of two: the scaled inputs are rounded (relative ε), a backward
    # error the bound already allows for; the ratio W2²(cA, cB)/c then agrees with the
    # reference within the bound.
    rng = np.random.default_rng(150)
    A, B = conditioned(rng, 5, 1e4), conditioned(rng, 5, 10.0)
    reference, lam = mp_w2_squared(A, B)
    got = gaussot.w2_squared(A * scale, B * scale)
    assert abs(got / scale - reference) <= 2 * _w2_bound(A, B, lam, EPS64)
    pairs = gaussot.w2_squared_all_pairs(np.stack([A, B]) * scale, np.stack([B, A]) * scale)
    assert abs(pairs[0, 0] / scale - reference) <= 2 * _w2_bound(A, B, lam, EPS64)
    assert abs(pairs[1, 1] / scale - reference) <= 2 * _w2_bound(A, B, lam, EPS64)


def test_w2_batches_mixing_scales():
    # One call with pairs at 1e-300, 1 and 1e300: each pair is rescaled on its own.
    rng = np.random.default_rng(300)
    A, B = conditioned(rng, 3, 50.0), conditioned(rng, 3, 5.0)
    reference, lam = mp_w2_squared(A, B)
    scales = np.array([2.0 ** -996, 1.0, 2.0 ** 996])
    got = gaussot.w2_squared(A * scales[:, None, None], B * scales[:, None, None])
    np.testing.assert_allclose(got / scales, reference, rtol=0,
                               atol=_w2_bound(A, B, lam, EPS64))


def test_w2_beyond_the_range_is_refused():
    # Finite covariances whose traces overflow float64: W2² (or its terms) cannot be
    # represented; the library refuses it by name instead of returning inf or NaN.
    A = np.diag([1e308, 1e308, 1e308])
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float64"):
        gaussot.w2_squared(A, 0.5 * A)
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float32"):
        gaussot.w2_squared(np.diag([3e38, 3e38]).astype(np.float32),
                           np.diag([1e38, 1e38]).astype(np.float32))


# ---- float32 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cond", [1.0, 1e2, 1e4, 1e7])
@pytest.mark.parametrize("d", [1, 3, 6])
def test_w2_float32_against_mpmath(d, cond):
    # The reference is computed from the float32 numbers themselves; the bound is _w2_bound with
    # ε = 2^-23 (cond 1e7 is at the end of float32: its smallest eigenvalue is 1e-7 ≈ ε).
    rng = np.random.default_rng(int(32 + d + np.log10(cond)))
    A = conditioned(rng, d, cond).astype(np.float32)
    B = conditioned(rng, d, 3.0).astype(np.float32)
    m1 = rng.standard_normal(d).astype(np.float32)
    reference, lam = mp_w2_squared(A, B, m1, None)
    got = gaussot.w2_squared(A, B, a_mean=m1)
    assert got.dtype == np.float32 and np.isfinite(got)
    assert abs(float(got) - reference) <= _w2_bound(A, B, lam, EPS32, float(m1 @ m1))


@pytest.mark.parametrize("exponent", [-100, -50, 50, 100])
def test_w2_float32_scales(exponent):
    # float32 spans 1e±38: products of covariances at 2^±50 ≈ 1e±15 and beyond leave it. The
    # library rescales pairs (exact powers of two), so W2² still scales with c.
    rng = np.random.default_rng(abs(exponent) + 1)
    A = conditioned(rng, 3, 10.0).astype(np.float32)
    B = conditioned(rng, 3, 4.0).astype(np.float32)
    reference, lam = mp_w2_squared(A, B)
    c = np.float32(2.0 ** exponent)
    got = gaussot.w2_squared(A * c, B * c)
    assert got.dtype == np.float32 and np.isfinite(got)
    assert abs(float(got) / float(c) - reference) <= _w2_bound(A, B, lam, EPS32)


# ---- sqrtm --------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 3, 6])
@pytest.mark.parametrize("cond", CONDITIONS)
def test_sqrtm_against_mpmath(d, cond):
    rng = np.random.default_rng(int(d * 100 + np.log10(cond)))
    A = conditioned(rng, d, cond) if d > 1 else np.array([[1.0 / cond]])
    expected = mp_sqrtm(A)
    got = gaussot.sqrtm(A)
    assert np.all(np.isfinite(got))
    assert np.linalg.norm(got - expected) <= _sqrtm_bound(A, EPS64)


@pytest.mark.parametrize("w", [[3.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0] * 4])
def test_sqrtm_of_exactly_singular_matrices(w):
    A = exactly_singular(w)
    expected = exactly_singular(np.sqrt(w))  # H diag(√w) H, exact
    np.testing.assert_allclose(expected, mp_sqrtm(A), atol=1e-15)
    got = gaussot.sqrtm(A)
    assert np.linalg.norm(got - expected) <= _sqrtm_bound(A, EPS64)
    # rank one: (v vᵀ)^½ = v vᵀ / ‖v‖
    v = np.array([1.0, 2.0, -2.0])
    assert np.linalg.norm(gaussot.sqrtm(np.outer(v, v)) - np.outer(v, v) / 3.0) <= \
        _sqrtm_bound(np.outer(v, v), EPS64)


@pytest.mark.parametrize("exponent", [-996, -498, 498, 996])
def test_sqrtm_scales(exponent):
    rng = np.random.default_rng(7)
    A = conditioned(rng, 4, 1e3)
    c = 2.0 ** exponent
    got = gaussot.sqrtm(A * c) / 2.0 ** (exponent // 2)
    assert np.linalg.norm(got - mp_sqrtm(A)) <= _sqrtm_bound(A, EPS64)


# ---- Brenier map --------------------------------------------------------------------------------

@pytest.mark.parametrize("cond", [1.0, 1e2, 1e4, 1e6, 1e8])
@pytest.mark.parametrize("d", [1, 3, 5])
def test_brenier_map_against_mpmath(d, cond):
    # T = A^-½ (A^½ B A^½)^½ A^-½. A backward error η = C·d·ε of the inputs moves T by about
    # κ(A)·η·‖T‖ to first order: the inverse square roots on both sides amplify a relative
    # perturbation of A by κ(A)^½ each. The tolerance is that, in the Frobenius norm.
    rng = np.random.default_rng(int(d * 10 + np.log10(cond)))
    A = conditioned(rng, d, cond) if d > 1 else np.array([[1.0 / cond]])
    B = conditioned(rng, d, 5.0) if d > 1 else np.array([[2.0]])
    expected = mp_brenier(A, B)
    matrix, bias = gaussot.brenier_map(A, B)
    assert np.all(np.isfinite(matrix)) and np.all(np.isfinite(bias))
    kappa = float(np.linalg.cond(A))
    tolerance = C * d * EPS64 * kappa * np.linalg.norm(expected)
    assert np.linalg.norm(matrix - expected) <= tolerance, (np.linalg.norm(matrix - expected),
                                                             tolerance)


def test_brenier_map_of_rank_one_target_and_refusal_of_singular_source():
    # A positive definite, B = w wᵀ: T = A^-½ (A^½ w wᵀ A^½)^½ A^-½ = w wᵀ / √(wᵀ A w).
    A = exactly_singular([4.0, 3.0, 2.0, 1.0])
    w = np.array([1.0, -1.0, 2.0, 0.5])
    expected = np.outer(w, w) / np.sqrt(w @ A @ w)
    matrix, _ = gaussot.brenier_map(A, np.outer(w, w))
    assert np.linalg.norm(matrix - expected) <= C * 4 * EPS64 * np.linalg.cond(A) * \
        np.linalg.norm(expected) + _sqrtm_bound(np.outer(w, w), EPS64)
    with pytest.raises(gaussot.InvalidArgument, match="positive definite"):
        gaussot.brenier_map(exactly_singular([3.0, 1.0, 0.0, 0.0]), A)


# ---- entropic OT --------------------------------------------------------------------------------

@pytest.mark.parametrize("sigma", [1e-3, 0.1, 1.0, 10.0, 1e3])
@pytest.mark.parametrize("cond", [1.0, 1e6, 1e12])
def test_entropic_value_against_mpmath(cond, sigma):
    rng = np.random.default_rng(int(np.log10(cond) * 10 + np.log10(sigma) + 50))
    A, B = conditioned(rng, 4, cond), conditioned(rng, 4, 10.0)
    m1 = rng.standard_normal(4)
    reference, lam = mp_entropic_value(A, B, sigma, m1, None)
    got = gaussot.entropic_ot(A, B, sigma=sigma, a_mean=m1)["value"]
    assert np.isfinite(got)
    bound = _entropic_bound(A, B, lam, sigma, EPS64, float(m1 @ m1))
    assert abs(got - reference) <= bound, (got, reference, bound)


@pytest.mark.parametrize("sigma", [1e-4, 1.0])
def test_entropic_value_of_singular_and_rank_one_covariances(sigma):
    v = np.array([1.0, -2.0, 0.5, 3.0])
    cases = [(exactly_singular([3.0, 1.0, 0.0, 0.0]), exactly_singular([0.0, 2.0, 5.0, 0.0])),
             (np.outer(v, v), exactly_singular([4.0, 3.0, 2.0, 1.0])),
             (np.zeros((4, 4)), np.outer(v, v))]
    for A, B in cases:
        reference, lam = mp_entropic_value(A, B, sigma)
        got = gaussot.entropic_ot(A, B, sigma=sigma)["value"]
        assert abs(got - reference) <= _entropic_bound(A, B, lam, sigma, EPS64), (got, reference)
    # As σ → 0 the value tends to W2² (plus the entropic correction, of order σ² log σ).
    A, B = cases[1]
    w2 = gaussot.w2_squared(A, B)
    assert abs(gaussot.entropic_ot(A, B, sigma=1e-6)["value"] - w2) < 1e-9


def test_entropic_plan_map_and_potentials_of_orthogonal_singular_covariances():
    # Singular A and B with orthogonal ranges: A^½ B A^½ is 0 in exact arithmetic and rounding
    # noise of either sign in floating point; it must be read as 0 (the plan is then the
    # independent coupling), not refused as "not positive semidefinite".
    A = exactly_singular([3.0, 0.0, 0.0, 0.0])
    B = exactly_singular([0.0, 2.0, 0.0, 0.0])
    sigma = 0.5
    reference, _ = mp_entropic_value(A, B, sigma)
    result = gaussot.entropic_ot(A, B, sigma=sigma)
    assert abs(result["value"] - reference) <= 1e-13 * (np.trace(A) + np.trace(B))
    assert abs(result["value"] - (np.trace(A) + np.trace(B))) <= 1e-13  # no transport gain
    np.testing.assert_allclose(result["plan_cov"][:4, 4:], 0, atol=1e-15)
    # The map's matrix K(B, A) = B^½ g(B^½ A B^½) B^½ with g(0) = 1/σ²: B/σ² here.
    matrix, _, _ = gaussot.entropic_map(A, B, sigma=sigma)
    np.testing.assert_allclose(matrix, B / sigma**2, rtol=0, atol=1e-14)
    (qf, _, _), (qg, _, _) = gaussot.entropic_potentials(A, B, sigma=sigma)
    np.testing.assert_allclose(qf, np.eye(4) - B / sigma**2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(qg, np.eye(4) - A / sigma**2, rtol=0, atol=1e-14)
    unbalanced = gaussot.entropic_ot(A, B, sigma=sigma, gamma=1.0)
    assert np.isfinite(unbalanced["value"]) and np.all(np.isfinite(unbalanced["plan_cov"]))
    # and an indefinite argument is still refused by name
    with pytest.raises(gaussot.InvalidArgument, match="a.covariances"):
        gaussot.entropic_map(np.diag([1.0, -1.0, 1.0, 1.0]), B, sigma=sigma)


@pytest.mark.parametrize("exponent", [-996, -498, 498, 996])
def test_entropic_value_scales(exponent):
    # OT_σ(cA, cB; √c σ, √c m) = c OT_σ(A, B; σ, m): the library solves the problem at its own
    # scale (one power of four for the whole call), so the scaled value stays within the bound.
    rng = np.random.default_rng(abs(exponent) + 3)
    A, B = conditioned(rng, 3, 100.0), conditioned(rng, 3, 3.0)
    m1 = rng.standard_normal(3)
    sigma = 0.6
    reference, lam = mp_entropic_value(A, B, sigma, m1, None)
    c, root = 2.0 ** exponent, 2.0 ** (exponent // 2)
    result = gaussot.entropic_ot(A * c, B * c, sigma=sigma * root, a_mean=m1 * root)
    assert abs(result["value"] / c - reference) <= _entropic_bound(A, B, lam, sigma, EPS64,
                                                                   float(m1 @ m1))
    assert np.all(np.isfinite(result["plan_cov"]))
    divergence = gaussot.sinkhorn_divergence(A * c, B * c, sigma=sigma * root) / c
    np.testing.assert_allclose(divergence, gaussot.sinkhorn_divergence(A, B, sigma=sigma),
                               rtol=1e-10)


def test_entropic_float32():
    rng = np.random.default_rng(32)
    A = conditioned(rng, 3, 1e3).astype(np.float32)
    B = conditioned(rng, 3, 5.0).astype(np.float32)
    reference, lam = mp_entropic_value(A, B, 0.5)
    got = gaussot.entropic_ot(A, B, sigma=0.5)["value"]
    assert got.dtype == np.float32
    assert abs(float(got) - reference) <= _entropic_bound(A, B, lam, 0.5, EPS32)


# ---- IGW ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("d_a, d_b", [(1, 1), (3, 2), (6, 4), (2, 5)])
@pytest.mark.parametrize("cond", [1.0, 1e6, 1e12])
@pytest.mark.parametrize("one_centered", [False, True], ids=["centered", "one-centered"])
def test_igw_against_mpmath(d_a, d_b, cond, one_centered):
    rng = np.random.default_rng(int(d_a * 100 + d_b * 10 + np.log10(cond) + one_centered))
    A = conditioned(rng, d_a, cond) if d_a > 1 else np.array([[1.0 / cond]])
    B = conditioned(rng, d_b, 7.0) if d_b > 1 else np.array([[0.3]])
    m1 = rng.standard_normal(d_a) if one_centered else None
    reference = mp_igw_squared(A, B, m1)
    got = gaussot.igw_squared(A, B, a_mean=m1)
    assert np.isfinite(got)
    assert abs(got - reference) <= _igw_bound(A, B, reference, EPS64, m1), (got, reference)


def test_igw_singular_rank_one_and_scales():
    v = np.array([1.0, -2.0, 0.5, 3.0])
    A, B = np.outer(v, v), exactly_singular([0.0, 2.0, 5.0, 0.0])[:3, :3]
    reference = mp_igw_squared(A, B)
    assert abs(gaussot.igw_squared(A, B) - reference) <= _igw_bound(A, B, reference, EPS64)
    # IGW² grows as c²: at c = 2^±498 (≈1e±150) IGW² ≈ 1e±300 is still representable...
    rng = np.random.default_rng(9)
    A, B = conditioned(rng, 3, 1e3), conditioned(rng, 2, 5.0)
    reference = mp_igw_squared(A, B)
    for exponent in (-498, 498):
        c = 2.0 ** exponent
        got = gaussot.igw_squared(A * c, B * c)
        assert abs(got / c / c - reference) <= _igw_bound(A, B, reference, EPS64)
    # Uncentered pairs: the analytic bounds scale as c² too (the lower bound was 0 at 1e150:
    # ‖v1‖²‖v2‖² overflowed before its square root was taken).
    m1, m2 = rng.standard_normal(3), rng.standard_normal(2)
    _, base = gaussot.igw_squared(A, B, a_mean=m1, b_mean=m2, report=True)
    c = 2.0 ** 498
    _, scaled = gaussot.igw_squared(A * c, B * c, a_mean=m1 * 2.0 ** 249, b_mean=m2 * 2.0 ** 249,
                                    report=True)
    for key in ("lower", "upper"):
        np.testing.assert_allclose(scaled[key] / c / c, base[key], rtol=1e-12)
    # ... at 1e±200 it is not: below, it rounds to 0 (the correctly rounded result of a value
    # under the smallest subnormal); above, the library refuses it instead of returning inf.
    assert gaussot.igw_squared(A * 1e-200, B * 1e-200) == 0.0
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float64"):
        gaussot.igw_squared(A * 1e200, B * 1e200)
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float64"):
        gaussot.igw_squared(A * 1e160, B * 1e160, a_mean=np.ones(3) * 1e80,
                            b_mean=np.ones(2) * 1e80)


def test_igw_float32():
    rng = np.random.default_rng(33)
    A = conditioned(rng, 4, 1e4).astype(np.float32)
    B = conditioned(rng, 3, 2.0).astype(np.float32)
    reference = mp_igw_squared(A, B)
    got = gaussot.igw_squared(A, B)
    assert got.dtype == np.float32
    assert abs(float(got) - reference) <= _igw_bound(A, B, reference, EPS32)
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float32"):
        gaussot.igw_squared(A * np.float32(1e25), B * np.float32(1e25))


# ---- overflow elsewhere is refused, not returned ------------------------------------------------

def test_overflowing_results_are_refused_by_name():
    A = np.diag([2.0, 3.0, 5.0])
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float64"):
        gaussot.powm(A * 1e200, 2.0)
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float64"):
        gaussot.powm(A * 1e-200, -2.0)
    x = np.random.default_rng(1).standard_normal((10, 3))
    with pytest.raises(gaussot.InvalidArgument, match="samples"):
        gaussot.sample_moments(x * 1e160)
    with pytest.raises(gaussot.InvalidArgument, match="samples_a"):
        gaussot.frechet_distance(x * 1e160, x)
    with pytest.raises(gaussot.InvalidArgument, match="rescale the points"):
        gaussot.sinkhorn(x * 1e160, x)
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range"):
        gaussot.igw_barycenter([A * 1e200, A])
    # In range, the Fréchet distance of large samples is that of their covariances.
    y = np.random.default_rng(2).standard_normal((10, 3))
    for method in ("covariances", "samples"):
        got = gaussot.frechet_distance(x * 1e100, y * 1e100, method=method)
        expected = gaussot.frechet_distance(x, y, method=method) * 1e200
        np.testing.assert_allclose(got, expected, rtol=1e-9)
