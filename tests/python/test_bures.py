"""Bures–Wasserstein bindings against NumPy computations of the formulas."""

import numpy as np
import pytest

import gaussot
import reference as ref


def test_w2_squared_diagonal_closed_form(dtype):
    # Commuting (diagonal) covariances: W2² = ‖m1 − m2‖² + Σ (√a_i − √b_i)².
    a, b = np.array([1.0, 2.0, 3.0, 0.5]), np.array([4.0, 1.0, 9.0, 0.5])
    m1, m2 = np.array([1.0, 0.0, -2.0, 0.5]), np.array([0.0, 3.0, 1.0, 0.5])
    expected = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = gaussot.w2_squared(np.diag(a).astype(dtype), np.diag(b).astype(dtype),
                             a_mean=m1.astype(dtype), b_mean=m2.astype(dtype))
    assert np.ndim(got) == 0 and got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=ref.rtol(dtype))
    # Without means: the covariance part only.
    got = gaussot.w2_squared(np.diag(a).astype(dtype), np.diag(b).astype(dtype))
    np.testing.assert_allclose(got, np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rtol=ref.rtol(dtype))


def test_w2_squared_reference_vector():
    # formulas §9: the planar pair, W2² = 408.520242.
    s1 = np.array([[7.75, -3.897114], [-3.897114, 3.25]])
    s2 = np.array([[5.5, 4.5], [4.5, 5.5]])
    got = gaussot.w2_squared(s1, s2, a_mean=[10.0, 10.0], b_mean=[-10.0, 10.0])
    np.testing.assert_allclose(got, 408.520242, rtol=1e-8)


def test_w2_squared_batches_and_broadcasting(rng, dtype):
    k, d = 5, 6
    s1, s2 = ref.random_spd(rng, d, k), ref.random_spd(rng, d, k)
    m1, m2 = rng.standard_normal((k, d)), rng.standard_normal((k, d))
    expected = [ref.w2_squared(s1[i], s2[i], m1[i], m2[i]) for i in range(k)]
    got = gaussot.w2_squared(s1.astype(dtype), s2.astype(dtype), a_mean=m1.astype(dtype),
                             b_mean=m2.astype(dtype))
    assert got.shape == (k,) and got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=ref.rtol(dtype))

    # One-versus-many: one Gaussian against the batch, on either side.
    one = [ref.w2_squared(s1[0], s2[i], m1[0], m2[i]) for i in range(k)]
    got = gaussot.w2_squared(s1[0].astype(dtype), s2.astype(dtype), a_mean=m1[0].astype(dtype),
                             b_mean=m2.astype(dtype))
    np.testing.assert_allclose(got, one, rtol=ref.rtol(dtype))
    got = gaussot.w2_squared(s2.astype(dtype), s1[:1].astype(dtype), a_mean=m2.astype(dtype),
                             b_mean=m1[:1].astype(dtype))  # a batch of one broadcasts too
    np.testing.assert_allclose(got, one, rtol=ref.rtol(dtype))

    # Means batched, covariance shared: k Gaussians N(m_i, S).
    got = gaussot.w2_squared(s1[0].astype(dtype), s1[0].astype(dtype), a_mean=m1.astype(dtype))
    np.testing.assert_allclose(got, np.sum(m1 ** 2, axis=1), rtol=ref.rtol(dtype))


def test_w2_squared_all_pairs(rng, dtype):
    d = 4
    a, b = ref.random_spd(rng, d, 3), ref.random_spd(rng, d, 5)
    ma = rng.standard_normal((3, d))
    expected = np.array([[ref.w2_squared(a[i], b[j], ma[i], None) for j in range(5)]
                         for i in range(3)])
    got = gaussot.w2_squared_all_pairs(a.astype(dtype), b.astype(dtype), a_mean=ma.astype(dtype))
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, expected, rtol=ref.rtol(dtype))
    # An unbatched side drops its axis.
    got = gaussot.w2_squared_all_pairs(a[1].astype(dtype), b.astype(dtype),
                                       a_mean=ma[1].astype(dtype))
    assert got.shape == (5,)
    np.testing.assert_allclose(got, expected[1], rtol=ref.rtol(dtype))


def test_brenier_map(rng, dtype):
    k, d = 3, 5
    s1, s2 = ref.random_spd(rng, d, k), ref.random_spd(rng, d, k)
    m1, m2 = rng.standard_normal((k, d)), rng.standard_normal((k, d))
    matrix, bias = gaussot.brenier_map(s1.astype(dtype), s2.astype(dtype), a_mean=m1.astype(dtype),
                                       b_mean=m2.astype(dtype))
    assert matrix.shape == (k, d, d) and bias.shape == (k, d) and matrix.dtype == dtype
    for i in range(k):
        a = ref.brenier_matrix(s1[i], s2[i])
        np.testing.assert_allclose(matrix[i], a, rtol=10 * ref.rtol(dtype),
                                   atol=10 * ref.rtol(dtype))
        # The map pushes N(m1, S1) onto N(m2, S2).
        np.testing.assert_allclose(matrix[i] @ s1[i] @ matrix[i].T, s2[i],
                                   atol=20 * ref.rtol(dtype) * np.abs(s2[i]).max())
        np.testing.assert_allclose(matrix[i] @ m1[i] + bias[i], m2[i],
                                   atol=20 * ref.rtol(dtype) * 10)


def test_brenier_map_reference_vector():
    s1 = np.array([[7.75, -3.897114], [-3.897114, 3.25]])
    s2 = np.array([[5.5, 4.5], [4.5, 5.5]])
    matrix, bias = gaussot.brenier_map(s1, s2)
    np.testing.assert_allclose(matrix, [[1.298243, 1.245885], [1.245885, 1.965911]], atol=2e-6)
    np.testing.assert_array_equal(bias, np.zeros(2))


def test_mccann_interpolant(rng, dtype):
    d = 4
    s1, s2 = ref.random_spd(rng, d), ref.random_spd(rng, d)
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    a = ref.brenier_matrix(s1, s2)
    for t in (0.0, 0.3, 1.0):
        mean, cov = gaussot.mccann_interpolant(s1.astype(dtype), s2.astype(dtype), t,
                                               a_mean=m1.astype(dtype), b_mean=m2.astype(dtype))
        bt = (1 - t) * np.eye(d) + t * a
        np.testing.assert_allclose(mean, (1 - t) * m1 + t * m2, atol=10 * ref.rtol(dtype))
        np.testing.assert_allclose(cov, bt @ s1 @ bt, atol=20 * ref.rtol(dtype) * 3)
        # A geodesic: W2(a, x_t) = t W2(a, b).
        w = ref.w2_squared(s1, s2, m1, m2)
        np.testing.assert_allclose(ref.w2_squared(s1, cov, m1, mean), t * t * w,
                                   rtol=100 * ref.rtol(dtype), atol=100 * ref.rtol(dtype))


def test_w2_squared_gradient_diagonal(dtype):
    # Diagonal covariances: A = diag(√(b/a)), ∇_S1 = I − A, ∇_S2 = I − diag(√(a/b)).
    a, b = np.array([1.0, 4.0, 2.0]), np.array([9.0, 1.0, 2.0])
    m1, m2 = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 3.0])
    ga_m, ga_s, gb_m, gb_s = gaussot.w2_squared_gradient(
        np.diag(a).astype(dtype), np.diag(b).astype(dtype), a_mean=m1.astype(dtype),
        b_mean=m2.astype(dtype))
    tol = 10 * ref.rtol(dtype)
    np.testing.assert_allclose(ga_m, 2 * (m1 - m2), rtol=tol)
    np.testing.assert_allclose(gb_m, -2 * (m1 - m2), rtol=tol)
    np.testing.assert_allclose(ga_s, np.diag(1 - np.sqrt(b / a)), atol=tol)
    np.testing.assert_allclose(gb_s, np.diag(1 - np.sqrt(a / b)), atol=tol)


def test_w2_squared_gradient_finite_differences(rng):
    d = 4
    s1, s2 = ref.random_spd(rng, d), ref.random_spd(rng, d)
    _, g, _, _ = gaussot.w2_squared_gradient(s1, s2)
    e = rng.standard_normal((d, d))
    e = (e + e.T) / 2
    h = 1e-6
    fd = (ref.w2_squared(s1 + h * e, s2) - ref.w2_squared(s1 - h * e, s2)) / (2 * h)
    np.testing.assert_allclose(np.sum(g * e), fd, rtol=1e-6)


def test_w2_squared_gradient_one_side_with_the_other_singular(rng):
    # sides='a': b_cov may be singular (rank 2 of 4); the gradient in S_a against central
    # differences of NumPy's W2² (ref), and the mean gradient 2 (m_a − m_b).
    d = 4
    s1 = ref.random_spd(rng, d)
    u = rng.standard_normal((d, 2))
    s2 = u @ u.T
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    ga_m, ga_s, gb_m, gb_s = gaussot.w2_squared_gradient(s1, s2, a_mean=m1, b_mean=m2, sides="a")
    assert gb_m is None and gb_s is None
    np.testing.assert_allclose(ga_m, 2 * (m1 - m2), rtol=1e-14)
    # W2² without the square root of a singular matrix: for S_2 = U Uᵀ the nonzero eigenvalues of
    # S_1^½ S_2 S_1^½ are those of the 2 x 2 matrix Uᵀ S_1 U.
    def w2(s):
        return np.trace(s) + np.trace(s2) - 2 * np.sqrt(np.linalg.eigvalsh(u.T @ s @ u)).sum()

    e = rng.standard_normal((d, d))
    e = (e + e.T) / 2
    h = 1e-6
    fd = (w2(s1 + h * e) - w2(s1 - h * e)) / (2 * h)
    np.testing.assert_allclose(np.sum(ga_s * e), fd, rtol=1e-7)
    # Side b alone, on positive definite covariances, equals that side of both.
    s3 = ref.random_spd(rng, d)
    _, _, want_m, want_s = gaussot.w2_squared_gradient(s1, s3, a_mean=m1, b_mean=m2)
    none_m, none_s, gb_m, gb_s = gaussot.w2_squared_gradient(s1, s3, a_mean=m1, b_mean=m2,
                                                             sides="b")
    assert none_m is None and none_s is None
    np.testing.assert_array_equal(gb_m, want_m)
    np.testing.assert_array_equal(gb_s, want_s)
    # Both sides (the default) need b_cov positive definite; a bad `sides` is named.
    with pytest.raises(gaussot.InvalidArgument, match="b_cov|b.covariances"):
        gaussot.w2_squared_gradient(s1, s2)
    with pytest.raises(gaussot.InvalidArgument, match="sides"):
        gaussot.w2_squared_gradient(s1, s3, sides="left")


def test_w2_barycenter_commuting(dtype):
    # Diagonal covariances commute: the barycenter is (Σ ρ_i S_i^½)², the mean Σ ρ_i m_i.
    diagonals = np.array([[1.0, 4.0, 2.0], [9.0, 1.0, 2.0], [4.0, 4.0, 0.5]])
    covs = np.stack([np.diag(v) for v in diagonals])
    means = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    w = np.array([0.5, 0.25, 0.25])
    mean, cov, report = gaussot.w2_barycenter(covs.astype(dtype), means=means.astype(dtype),
                                              weights=(2 * w).astype(dtype), report=True)
    assert mean.shape == (3,) and cov.shape == (3, 3) and cov.dtype == dtype
    np.testing.assert_allclose(mean, w @ means, rtol=ref.rtol(dtype))
    np.testing.assert_allclose(cov, np.diag((w @ np.sqrt(diagonals)) ** 2),
                               atol=10 * ref.rtol(dtype) * 4)
    assert report["iterations"] >= 1 and report["residual"] <= (1e-12 if dtype == np.float64
                                                                 else 1e-5)


def test_w2_barycenter_fixed_point(rng):
    covs = ref.random_spd(rng, 4, 5)
    mean, cov = gaussot.w2_barycenter(covs)
    np.testing.assert_array_equal(mean, np.zeros(4))
    r = ref.sqrtm(cov)
    fixed = np.mean([ref.sqrtm(r @ s @ r) for s in covs], axis=0)
    np.testing.assert_allclose(fixed, cov, rtol=1e-9, atol=1e-10)


def test_frechet_distance(rng, dtype):
    k, n, d = 2, 40, 5
    x = rng.standard_normal((k, n, d)) @ rng.standard_normal((d, d))
    y = rng.standard_normal((k, 30, d)) + 0.5
    expected = [ref.w2_squared(np.cov(x[i].T), np.cov(y[i].T), x[i].mean(0), y[i].mean(0))
                for i in range(k)]
    for method in ("auto", "covariances", "samples"):
        got = gaussot.frechet_distance(x.astype(dtype), y.astype(dtype), method=method)
        assert got.shape == (k,)
        np.testing.assert_allclose(got, expected, rtol=10 * ref.rtol(dtype))
    # Single sets give a scalar.
    got = gaussot.frechet_distance(x[0].astype(dtype), y[0].astype(dtype))
    np.testing.assert_allclose(got, expected[0], rtol=10 * ref.rtol(dtype))


def test_sample_moments(rng, dtype):
    x = rng.standard_normal((3, 50, 4)) * [1.0, 2.0, 0.5, 3.0] + [1.0, -1.0, 0.0, 2.0]
    mean, cov = gaussot.sample_moments(x.astype(dtype), chunk_columns=7)
    assert mean.shape == (3, 4) and cov.shape == (3, 4, 4) and mean.dtype == dtype
    for i in range(3):
        np.testing.assert_allclose(mean[i], x[i].mean(axis=0), rtol=ref.rtol(dtype), atol=1e-6)
        np.testing.assert_allclose(cov[i], np.cov(x[i].T), rtol=ref.rtol(dtype), atol=1e-5)


@pytest.mark.parametrize("layout", ["fortran", "padded", "negative", "broadcast"])
def test_input_layouts(rng, layout):
    """Arrays that are not C-contiguous give the answers of their C-contiguous copies (they are
    read in place, or copied first when no view describes them)."""
    k, n, d = 3, 20, 4
    s1, s2 = ref.random_spd(rng, d, k), ref.random_spd(rng, d, k)
    samples = rng.standard_normal((k, n, d)) @ rng.standard_normal((d, d))
    if layout == "fortran":
        a, x = np.asfortranarray(s1), np.asfortranarray(samples)
    elif layout == "padded":  # leading dimension larger than d, batch stride larger than an item
        big = np.zeros((k, d + 3, d + 2))
        big[:, :d, :d] = s1
        a = big[:, :d, :d]
        bigx = np.zeros((k, n + 5, d + 2))
        bigx[:, :n, :d] = samples
        x = bigx[:, :n, :d]
    elif layout == "negative":
        a = np.ascontiguousarray(s1[::-1, ::-1, ::-1])[::-1, ::-1, ::-1]
        x = np.ascontiguousarray(samples[:, ::-1, ::-1])[:, ::-1, ::-1]
    else:  # the batch axis broadcast with stride 0
        s1 = np.broadcast_to(s1[0], (k, d, d))
        samples = np.broadcast_to(samples[0], (k, n, d))
        a, x = s1, samples
    assert np.array_equal(a, s1) and np.array_equal(x, samples)
    assert not a.flags.c_contiguous and not x.flags.c_contiguous
    expected = [ref.w2_squared(s1[i], s2[i]) for i in range(k)]
    np.testing.assert_allclose(gaussot.w2_squared(a, s2), expected, rtol=1e-9)
    mean, cov = gaussot.sample_moments(x)
    np.testing.assert_allclose(mean, samples.mean(axis=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cov, [np.cov(samples[i].T) for i in range(k)], rtol=1e-12,
                               atol=1e-12)
    fid = [ref.w2_squared(np.cov(samples[i].T), s2[i], samples[i].mean(0), None) for i in range(k)]
    np.testing.assert_allclose(gaussot.w2_squared(cov, s2, a_mean=mean), fid, rtol=1e-9)
    # Both layouts at once, on both sides of a sample-based function.
    expected_fid = [ref.w2_squared(np.cov(samples[i].T), np.cov(samples[i].T) * 4,
                                   samples[i].mean(0), 2 * samples[i].mean(0)) for i in range(k)]
    np.testing.assert_allclose(gaussot.frechet_distance(x, 2 * samples), expected_fid, rtol=1e-9)


def test_concurrent_calls_from_threads(rng):
    """The GIL is released while gaussot computes; calls from several threads (each on its own
    context) give the sequential answers."""
    from concurrent.futures import ThreadPoolExecutor

    s1, s2 = ref.random_spd(rng, 12, 40), ref.random_spd(rng, 12, 40)
    expected = gaussot.w2_squared(s1, s2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: gaussot.w2_squared(s1, s2), range(16)))
    for got in results:
        np.testing.assert_array_equal(got, expected)
