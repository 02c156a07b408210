"""NumPy reference computations that the tests check gaussot against.

They are written from the formulas (shared reference formulas-bures-igw-mmot.md, the CKA papers
cited in cka.hpp) with NumPy's own eigh, never with gaussot.
"""

import numpy as np


def rtol(dtype):
    """Relative tolerance of a result computed in `dtype` against a float64 reference."""
    return 1e-9 if dtype == np.float64 else 2e-4


def random_spd(rng, d, k=None, floor=0.5):
    """Symmetric positive definite matrices (d, d) or (k, d, d) with eigenvalues in [floor, ~3]."""
    shape = (d, d) if k is None else (k, d, d)
    g = rng.standard_normal(shape)
    a = g @ np.swapaxes(g, -1, -2) / d
    return a + floor * np.eye(d)


def random_orthogonal(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# ---- spectral functions -------------------------------------------------------------------------


def spectral(a, f):
    """f(a) = V f(w) Vᵀ for symmetric a (batched), in float64."""
    w, v = np.linalg.eigh(np.asarray(a, dtype=np.float64))
    return (v * f(w)[..., None, :]) @ np.swapaxes(v, -1, -2)


def sqrtm(a):
    return spectral(a, lambda w: np.sqrt(np.clip(w, 0, None)))


def inv_sqrtm(a):
    return spectral(a, lambda w: 1 / np.sqrt(w))


def eigvals_desc(a):
    return np.linalg.eigvalsh(np.asarray(a, dtype=np.float64))[..., ::-1]


# ---- Bures–Wasserstein -------------------------------------------------------------------------


def w2_squared(s1, s2, m1=None, m2=None):
    """W2² = ‖m1 − m2‖² + tr S1 + tr S2 − 2 tr (S1^½ S2 S1^½)^½ for one pair."""
    s1 = np.asarray(s1, np.float64)
    s2 = np.asarray(s2, np.float64)
    r = sqrtm(s1)
    middle = np.linalg.eigvalsh(r @ s2 @ r)
    value = np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(middle, 0, None)).sum()
    if m1 is not None or m2 is not None:
        d = s1.shape[-1]
        m1 = np.zeros(d) if m1 is None else np.asarray(m1, np.float64)
        m2 = np.zeros(d) if m2 is None else np.asarray(m2, np.float64)
        value += np.sum((m1 - m2) ** 2)
    return max(value, 0.0)


def brenier_matrix(s1, s2):
    """A = S1^-½ (S1^½ S2 S1^½)^½ S1^-½."""
    r = sqrtm(s1)
    ri = inv_sqrtm(s1)
    return ri @ sqrtm(r @ s2 @ r) @ ri


# ---- IGW -----------------------------------------------------------------------------------------


def padded_spectra(s1, s2):
    a, b = eigvals_desc(s1), eigvals_desc(s2)
    n = max(a.size, b.size)
    return np.pad(a, (0, n - a.size)), np.pad(b, (0, n - b.size))


def igw_centered(s1, s2):
    """Centered closed form ‖S1‖² + ‖S2‖² − 2 Σ α_i β_i (sorted decreasingly, zero-padded)."""
    a, b = padded_spectra(s1, s2)
    return np.sum(np.asarray(s1, np.float64) ** 2) + np.sum(np.asarray(s2, np.float64) ** 2) - 2 * a @ b


def igw_bounds(s1, s2, m1, m2):
    """Analytic lower and upper bounds on IGW² (§3.2), spectral coordinates from NumPy's eigh."""
    def coordinates(s, m):
        w, q = np.linalg.eigh(np.asarray(s, np.float64))
        w, q = np.clip(w[::-1], 0, None), q[:, ::-1]
        return w, np.sqrt(w) * (q.T @ m)

    a, v1 = coordinates(s1, m1)
    b, v2 = coordinates(s2, m2)
    n = max(a.size, b.size)
    pa, pb = np.pad(a, (0, n - a.size)), np.pad(b, (0, n - b.size))
    xi = (np.sum((pa - pb) ** 2) + 2 * m1 @ s1 @ m1 + 2 * m2 @ s2 @ m2
          + (m1 @ m1 - m2 @ m2) ** 2)
    r = min(a.size, b.size)
    lower = xi - 4 * np.linalg.norm(v1) * np.linalg.norm(v2)
    upper = xi - 4 * np.sum(np.abs(v1[:r] * v2[:r]))
    return lower, upper


def igw_of_plan(s1, s2, k, m1=None, m2=None):
    """E[(⟨X,X'⟩ − ⟨Y,Y'⟩)²] of the Gaussian coupling with cross-covariance k: I1 + I2 − 2 I3."""
    m1 = np.zeros(s1.shape[0]) if m1 is None else m1
    m2 = np.zeros(s2.shape[0]) if m2 is None else m2
    i1 = np.sum(s1 ** 2) + 2 * m1 @ s1 @ m1 + (m1 @ m1) ** 2
    i2 = np.sum(s2 ** 2) + 2 * m2 @ s2 @ m2 + (m2 @ m2) ** 2
    i3 = np.sum(k ** 2) + 2 * m1 @ k @ m2 + (m1 @ m1) * (m2 @ m2)
    return i1 + i2 - 2 * i3


# ---- CKA -----------------------------------------------------------------------------------------


def cka_gram(x, y):
    """Linear CKA from the n × n Gram matrices: HSIC(K, L) / √(HSIC(K, K) HSIC(L, L)),
    HSIC(K, L) = tr(K H L H)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = x.shape[0]
    h = np.eye(n) - 1.0 / n
    k, l = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    return np.sum(k * l) / np.sqrt(np.sum(k * k) * np.sum(l * l))


def cka_debiased_gram(x, y):
    """Debiased linear CKA with the unbiased HSIC_1 of Song et al. (2012) on Gram matrices with
    zeroed diagonals."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = x.shape[0]

    def hsic1(k, l):
        k = k - np.diag(np.diag(k))
        l = l - np.diag(np.diag(l))
        one = np.ones(n)
        return (np.sum(k * l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
                - 2.0 / (n - 2) * one @ k @ l @ one) / (n * (n - 3))

    k, l = x @ x.T, y @ y.T
    return hsic1(k, l) / np.sqrt(hsic1(k, k) * hsic1(l, l))


# ---- entropic OT between Gaussians ------------------------------------------------------------
# The NumPy transcription of formulas-entropic.md (Appendix): the balanced spectral form (§1.3),
# the inverse-free C_σ (§1.2) and the unbalanced stable log-mass (§2.1). Convention: unhalved cost
# ‖x − y‖², regulariser 2σ² KL (ε = 2σ²), unbalanced penalty γ KL.

def _sqrt_spd(m):
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def ot_sigma(a, A, b, B, s):
    """Balanced OT_σ(N(a, A), N(b, B))."""
    R = _sqrt_spd(A)
    lam = np.clip(np.linalg.eigvalsh(R @ B @ R), 0, None)
    s2 = s * s
    dl = 4 * lam / (np.sqrt(4 * lam + s2 * s2) + s2)
    return np.sum((a - b) ** 2) + np.trace(A) + np.trace(B) - np.sum(dl - s2 * np.log1p(dl / (2 * s2)))


def c_sigma(A, B, s):
    """The cross-covariance C_σ of the balanced plan."""
    R = _sqrt_spd(A)
    s2 = s * s
    D = _sqrt_spd(4 * R @ B @ R + s2 * s2 * np.eye(len(A)))
    return 2 * R @ np.linalg.solve(D + s2 * np.eye(len(A)), R @ B)


def uot(a, A, b, B, s, g, ma, mb):
    """Unbalanced (value, plan mass) between ma·N(a, A) and mb·N(b, B)."""
    d = len(A)
    I = np.eye(d)
    s2 = s * s
    lam = s2 + g / 2
    tau = g / (g + 2 * s2)
    At = 0.5 * g * A @ np.linalg.inv(A + lam * I)
    Bt = 0.5 * g * B @ np.linalg.inv(B + lam * I)
    R = _sqrt_spd((At + At.T) / 2)
    mu = np.clip(np.linalg.eigvalsh(R @ ((Bt + Bt.T) / 2) @ R), 0, None)
    c = np.sqrt(mu / tau + s2 * s2 / 4) - s2 / 2
    dm = a - b
    lm = (d * s2 / (2 * (s2 + g))) * np.log(s2)
    lm += (np.log(ma * mb) + d * np.log(g / 2) - 0.5 * np.linalg.slogdet(A + lam * I)[1]
           - 0.5 * np.linalg.slogdet(B + lam * I)[1]) / (tau + 1)
    lm -= (1 - tau) / (2 * (tau + 1)) * (d * np.log(tau) + np.sum(np.log(c + s2)))
    lm -= 0.5 * np.sum(np.log(g - 2 * c)) - 0.5 * d * np.log(g + 2 * s2)
    lm -= dm @ np.linalg.solve(A + B + lam * I, dm) / (2 * (tau + 1))
    m = np.exp(lm)
    return g * (ma + mb - 2 * m) + 2 * s2 * (ma * mb - m), m
