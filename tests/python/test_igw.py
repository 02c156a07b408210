"""IGW bindings against NumPy computations of the closed forms and bounds."""

import numpy as np
import pytest

import gaussot
import reference as ref


def test_igw_centered_closed_form_across_dimensions(rng, dtype):
    k = 4
    s1, s2 = ref.random_spd(rng, 6, k), ref.random_spd(rng, 3, k)
    expected = [ref.igw_centered(s1[i], s2[i]) for i in range(k)]
    got, report = gaussot.igw_squared(s1.astype(dtype), s2.astype(dtype), report=True)
    assert got.shape == (k,) and got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=10 * ref.rtol(dtype))
    assert report["exact"].dtype == bool and report["exact"].all()
    np.testing.assert_allclose(report["lower"], got, rtol=10 * ref.rtol(dtype))
    np.testing.assert_allclose(report["upper"], got, rtol=10 * ref.rtol(dtype))
    # Symmetric in its arguments, and invariant to rotations of either space.
    np.testing.assert_allclose(gaussot.igw_squared(s2.astype(dtype), s1.astype(dtype)), got,
                               rtol=10 * ref.rtol(dtype))
    q = ref.random_orthogonal(rng, 6)
    np.testing.assert_allclose(gaussot.igw_squared((q @ s1 @ q.T).astype(dtype), s2.astype(dtype)),
                               got, rtol=20 * ref.rtol(dtype))


def test_igw_reference_vectors():
    # formulas §3.3 / §9: one centered side, IGW² = 2 + 256 = 258, exact.
    value, report = gaussot.igw_squared(np.diag([3.0, 1.0, 0.0]), np.diag([2.0, 0.0, 0.0]),
                                        a_mean=[0.0, 0.0, 4.0], report=True)
    np.testing.assert_allclose(value, 258.0, rtol=1e-12)
    assert report["exact"]
    # §9 planar uncentered pairs: bounds (as distances) 5.321024 / 16.383333 and 1.936127 /
    # 5.607060; the global optimum is 9.184321 and 2.203950: the ascent finds it with restarts.
    s1 = np.array([[7.75, -3.897114], [-3.897114, 3.25]])
    s2 = np.array([[5.5, 4.5], [4.5, 5.5]])
    for m1, m2, lower, best, upper in [
        ([10.0, 10.0], [-10.0, 10.0], 5.321024, 9.184321, 16.383333),
        ([10.0, -10.0], [-10.0, -10.0], 1.936127, 2.203950, 5.607060),
    ]:
        value, report = gaussot.igw_squared(s1, s2, a_mean=m1, b_mean=m2, report=True,
                                            restarts=20, seed=1)
        np.testing.assert_allclose(np.sqrt(report["lower"]), lower, rtol=1e-6)
        np.testing.assert_allclose(np.sqrt(report["upper"]), upper, rtol=1e-6)
        np.testing.assert_allclose(np.sqrt(value), best, rtol=1e-5)
        assert not report["exact"] and report["iterations"] > 0


def test_igw_one_centered_closed_form(rng, dtype):
    s1, s2 = ref.random_spd(rng, 4), ref.random_spd(rng, 5)
    m1 = rng.standard_normal(4)
    expected = ref.igw_centered(s1, s2) + 2 * m1 @ s1 @ m1 + (m1 @ m1) ** 2
    got = gaussot.igw_squared(s1.astype(dtype), s2.astype(dtype), a_mean=m1.astype(dtype))
    np.testing.assert_allclose(got, expected, rtol=10 * ref.rtol(dtype))


def test_igw_uncentered_bounds_and_plan(rng):
    k = 3
    s1, s2 = ref.random_spd(rng, 5, k), ref.random_spd(rng, 3, k)
    m1, m2 = rng.standard_normal((k, 5)), rng.standard_normal((k, 3))
    value, report = gaussot.igw_squared(s1, s2, a_mean=m1, b_mean=m2, report=True)
    plan = gaussot.igw_plan(s1, s2, a_mean=m1, b_mean=m2)
    assert plan.shape == (k, 5, 3)
    for i in range(k):
        lower, upper = ref.igw_bounds(s1[i], s2[i], m1[i], m2[i])
        np.testing.assert_allclose(report["lower"][i], lower, rtol=1e-9)
        np.testing.assert_allclose(report["upper"][i], upper, rtol=1e-9)
        assert lower - 1e-9 * abs(lower) <= value[i] <= upper + 1e-9 * abs(upper)
        # The plan is a coupling ([[S1, K], [Kᵀ, S2]] PSD) whose cost is the reported value.
        joint = np.block([[s1[i], plan[i]], [plan[i].T, s2[i]]])
        assert np.linalg.eigvalsh(joint).min() > -1e-9
        np.testing.assert_allclose(ref.igw_of_plan(s1[i], s2[i], plan[i], m1[i], m2[i]), value[i],
                                   rtol=1e-9)


def test_igw_ascent_off_reports_the_upper_bound(rng):
    s1, s2 = ref.random_spd(rng, 3), ref.random_spd(rng, 3)
    m1, m2 = rng.standard_normal(3), rng.standard_normal(3)
    value, report = gaussot.igw_squared(s1, s2, a_mean=m1, b_mean=m2, ascent=False, report=True)
    np.testing.assert_allclose(value, ref.igw_bounds(s1, s2, m1, m2)[1], rtol=1e-9)
    assert report["iterations"] == 0


def test_igw_all_pairs_matches_paired(rng, dtype):
    a, b = ref.random_spd(rng, 4, 3), ref.random_spd(rng, 2, 5)
    ma = rng.standard_normal((3, 4))
    got, report = gaussot.igw_squared_all_pairs(a.astype(dtype), b.astype(dtype),
                                                a_mean=ma.astype(dtype), report=True)
    assert got.shape == (3, 5) and report["exact"].shape == (3, 5)
    expected = np.array([[ref.igw_centered(a[i], b[j]) + 2 * ma[i] @ a[i] @ ma[i]
                          + (ma[i] @ ma[i]) ** 2 for j in range(5)] for i in range(3)])
    np.testing.assert_allclose(got, expected, rtol=10 * ref.rtol(dtype))
    assert report["exact"].all()
    row = gaussot.igw_squared_all_pairs(a[2].astype(dtype), b.astype(dtype),
                                        a_mean=ma[2].astype(dtype))
    assert row.shape == (5,)
    np.testing.assert_allclose(row, expected[2], rtol=10 * ref.rtol(dtype))


def test_igw_plan_and_map_centered(rng, dtype):
    s1, s2 = ref.random_spd(rng, 5, 2), ref.random_spd(rng, 3, 2)
    m2 = rng.standard_normal((2, 3))
    plan, report = gaussot.igw_plan(s1.astype(dtype), s2.astype(dtype), report=True)
    matrix, bias = gaussot.igw_map(s1.astype(dtype), s2.astype(dtype), b_mean=m2.astype(dtype))
    assert plan.shape == (2, 5, 3) and matrix.shape == (2, 3, 5) and bias.shape == (2, 3)
    assert report["exact"].all()
    tol = 50 * ref.rtol(dtype)
    for i in range(2):
        # Centered: IGW² = ‖S1‖² + ‖S2‖² − 2‖K‖², the closed form.
        np.testing.assert_allclose(ref.igw_of_plan(s1[i], s2[i], plan[i]),
                                   ref.igw_centered(s1[i], s2[i]), rtol=tol, atol=tol)
        # The map pushes N(0, S1) onto N(m2, S2) and induces the plan: A S1 Aᵀ = S2, S1 Aᵀ = K.
        np.testing.assert_allclose(matrix[i] @ s1[i] @ matrix[i].T, s2[i], atol=tol * 3)
        np.testing.assert_allclose(s1[i] @ matrix[i].T, plan[i], atol=tol * 3)
        np.testing.assert_allclose(bias[i], m2[i], atol=tol)


def test_igw_signs_select_among_optimal_plans(rng):
    s1, s2 = ref.random_spd(rng, 3), ref.random_spd(rng, 2)
    plus = gaussot.igw_plan(s1, s2, signs=[1, 1])
    minus = gaussot.igw_plan(s1, s2, signs=[1, -1])
    assert not np.allclose(plus, minus)
    np.testing.assert_allclose(ref.igw_of_plan(s1, s2, minus), ref.igw_centered(s1, s2),
                               rtol=1e-9)
    with pytest.raises(ValueError, match="signs"):
        gaussot.igw_plan(s1, s2, signs=[1, 0])


def test_igw_map_needs_the_larger_source():
    with pytest.raises(ValueError, match="d_a >= d_b"):
        gaussot.igw_map(np.eye(2), np.eye(3))


def test_igw_barycenter(rng, dtype):
    covs = [ref.random_spd(rng, 4, 2), ref.random_spd(rng, 2), ref.random_spd(rng, 3, 1)]
    spectra = [ref.eigvals_desc(c) for c in [covs[0][0], covs[0][1], covs[1], covs[2][0]]]
    padded = np.array([np.pad(s, (0, 4 - s.size)) for s in spectra])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    mean_spectrum = (w / w.sum()) @ padded
    values, cov, value = gaussot.igw_barycenter([c.astype(dtype) for c in covs],
                                                w.astype(dtype))
    assert values.shape == (4,) and cov.shape == (4, 4) and values.dtype == dtype
    np.testing.assert_allclose(values, mean_spectrum, rtol=10 * ref.rtol(dtype))
    np.testing.assert_allclose(cov, np.diag(mean_spectrum), rtol=10 * ref.rtol(dtype), atol=1e-7)
    expected = (w / w.sum()) @ np.sum((padded - mean_spectrum) ** 2, axis=1)
    np.testing.assert_allclose(value, expected, rtol=20 * ref.rtol(dtype))
    # One array of one dimension, uniform weights.
    values, _, _ = gaussot.igw_barycenter(covs[0].astype(dtype))
    np.testing.assert_allclose(values, padded[:2].mean(axis=0), rtol=10 * ref.rtol(dtype))


@pytest.mark.parametrize("a, b, u, v, expected",
                         [(2, 3, -1, 4, 450), (0, 2, 3, 0, 97), (1, 1, 0.5, -0.5, 0)])
def test_igw_univariate(a, b, u, v, expected):
    assert gaussot.igw_squared_univariate(u, a, v, b) == pytest.approx(expected, abs=1e-12)
    # The batched function agrees in d = 1.
    got = gaussot.igw_squared([[a * a]], [[b * b]], a_mean=[u], b_mean=[v])  # lists: float64
    assert got == pytest.approx(expected, abs=1e-9)


def test_igw_squared_samples_gradient_against_central_differences(rng):
    # Sets of different widths and sizes; the value is igw_squared of sample_moments' covariances.
    x, y = rng.standard_normal((12, 4)), 2 + rng.standard_normal((9, 3)) @ np.diag([2.0, 1.0, 0.3])

    def value(p, q):
        return gaussot.igw_squared(gaussot.sample_moments(p)[1], gaussot.sample_moments(q)[1])

    grad_x, grad_y = gaussot.igw_squared_samples_gradient(x, y)
    assert grad_x.shape == x.shape and grad_y.shape == y.shape
    h = 1e-6
    for grad, base, side in ((grad_x, x, 0), (grad_y, y, 1)):
        for index in [(0, 0), (5, 2), (8, 1)]:
            plus, minus = base.copy(), base.copy()
            plus[index] += h
            minus[index] -= h
            numeric = ((value(plus, y) - value(minus, y)) if side == 0
                       else (value(x, plus) - value(x, minus))) / (2 * h)
            np.testing.assert_allclose(grad[index], numeric, rtol=1e-6, atol=1e-8)


def test_uncentered_igw_gradient_is_the_envelope_gradient(rng):
    # Means on both sides, dimensions 3 and 2: the gradient of igw_squared's value (ascent run to
    # convergence) against its central differences along random directions.
    options = dict(max_iterations=20000, tolerance=1e-13)
    a, b = ref.random_spd(rng, 3), ref.random_spd(rng, 2)
    ma, mb = rng.standard_normal(3), 0.7 * rng.standard_normal(2)
    grads = gaussot.igw_squared_gradient(a, b, a_mean=ma, b_mean=mb, **options)
    assert [g.shape for g in grads] == [(3,), (3, 3), (2,), (2, 2)]

    def value(a_cov=a, b_cov=b, a_mean=ma, b_mean=mb):
        return gaussot.igw_squared(a_cov, b_cov, a_mean=a_mean, b_mean=b_mean, **options)

    h = 1e-5
    for grad, base, key in ((grads[1], a, "a_cov"), (grads[3], b, "b_cov"),
                            (grads[0], ma, "a_mean"), (grads[2], mb, "b_mean")):
        direction = rng.standard_normal(base.shape)
        if base.ndim == 2:
            direction = direction + direction.T
        numeric = (value(**{key: base + h * direction}) - value(**{key: base - h * direction}))
        np.testing.assert_allclose(np.sum(grad * direction), numeric / (2 * h), rtol=1e-6)
    # Without means: the centered gradient, two results.
    assert len(gaussot.igw_squared_gradient(a, b)) == 2
    with pytest.raises(gaussot.InvalidArgument, match="b_cov|b.covariances"):
        gaussot.igw_squared_gradient(a, np.diag([1.0, 0.0]), a_mean=ma, b_mean=mb)
