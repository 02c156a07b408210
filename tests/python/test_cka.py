"""linear_cka and compare_representations against the n × n Gram-matrix definitions in NumPy."""

import numpy as np
import pytest

import gaussot
import reference as ref


def representations(rng, n=60):
    x = rng.standard_normal((n, 5))
    y = np.tanh(x @ rng.standard_normal((5, 8))) + 0.3 * rng.standard_normal((n, 8))
    z = rng.standard_normal((n, 3))
    return x, y, z


def test_linear_cka_gram_definition(rng, dtype):
    x, y, z = representations(rng)
    cka, debiased = gaussot.linear_cka(x.astype(dtype), y.astype(dtype), debiased=True)
    assert np.ndim(cka) == 0 and cka.dtype == dtype
    np.testing.assert_allclose(cka, ref.cka_gram(x, y), rtol=10 * ref.rtol(dtype))
    np.testing.assert_allclose(debiased, ref.cka_debiased_gram(x, y), rtol=50 * ref.rtol(dtype))
    # Batched, different widths on the two sides, one set against many.
    batch = np.stack([y, y[:, ::-1] * 2.0 + 1.0, np.cos(y)])
    got = gaussot.linear_cka(x.astype(dtype), batch.astype(dtype))
    assert got.shape == (3,)
    np.testing.assert_allclose(got, [ref.cka_gram(x, b) for b in batch], rtol=10 * ref.rtol(dtype))


def test_linear_cka_invariances(rng):
    x, y, _ = representations(rng)
    q = ref.random_orthogonal(rng, 8)
    base = gaussot.linear_cka(x, y)
    # Orthogonal transforms, isotropic scaling and translation of either side change nothing.
    np.testing.assert_allclose(gaussot.linear_cka(x, 3.0 * y @ q + 5.0), base, rtol=1e-10)
    np.testing.assert_allclose(gaussot.linear_cka(x, x), 1.0, rtol=1e-12)
    # Fortran-ordered samples (a transposed array) are copied, with the same answer.
    np.testing.assert_allclose(gaussot.linear_cka(np.asfortranarray(x), y), base, rtol=1e-12)


def test_compare_representations(rng, dtype):
    x, y, z = representations(rng)
    w = x @ ref.random_orthogonal(rng, 5)  # the same Gaussian up to rotation: IGW 0 with x
    sets = [x, y, z, w]
    out = gaussot.compare_representations([s.astype(dtype) for s in sets],
                                          ["x", "y", "z", "w"], centered=True, cka_debiased=True)
    assert out["names"] == ["x", "y", "z", "w"]
    assert out["dimensions"] == [5, 8, 3, 5] and out["samples"] == 60
    tol = 50 * ref.rtol(dtype)
    covs = [np.cov(s.T) for s in sets]
    for i in range(4):
        for j in range(4):
            np.testing.assert_allclose(out["cka"][i, j], ref.cka_gram(sets[i], sets[j]), rtol=tol)
            np.testing.assert_allclose(out["cka_debiased"][i, j],
                                       ref.cka_debiased_gram(sets[i], sets[j]), rtol=tol,
                                       atol=tol)
            igw2 = ref.igw_centered(covs[i], covs[j])
            np.testing.assert_allclose(out["igw"][i, j] ** 2, igw2, rtol=tol,
                                       atol=tol * np.sum(covs[i] ** 2))
            if sets[i].shape[1] == sets[j].shape[1]:
                np.testing.assert_allclose(out["bw"][i, j] ** 2, ref.w2_squared(covs[i], covs[j]),
                                           rtol=tol, atol=tol)
            else:
                assert np.isnan(out["bw"][i, j])
    assert out["igw_exact"].all()
    np.testing.assert_allclose(out["igw"], out["igw"].T, rtol=tol)
    assert out["igw"][0, 3] <= 1e-3 * out["igw"][0, 1]


def shape_metrics_numpy(x, y):
    """NBS and the angular Procrustes distance by np.linalg.svd of the centred cross product."""
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    nuclear = np.linalg.svd(xc.T @ yc, compute_uv=False).sum()
    nbs = nuclear / (np.linalg.norm(xc) * np.linalg.norm(yc))
    return nbs, np.arccos(min(1.0, nbs))


def procrustes_by_optimisation(x, y):
    """max over orthogonal Q of ⟨X̃, ỸQ⟩ / (‖X̃‖ ‖Ỹ‖), both zero-padded to one width, with Q from
    the SVD of the padded cross product (orthogonal Procrustes): the definition of NBS as the
    cosine of the shape angle."""
    width = max(x.shape[1], y.shape[1])
    pad = lambda a: np.pad(a - a.mean(axis=0), ((0, 0), (0, width - a.shape[1])))
    xc, yc = pad(x), pad(y)
    u, _, vt = np.linalg.svd(yc.T @ xc)
    q = u @ vt
    return np.sum(xc * (yc @ q)) / (np.linalg.norm(xc) * np.linalg.norm(yc)), q, xc, yc


def test_compare_representations_shape_metrics(rng, dtype):
    x, y, z = representations(rng)
    w = 2.0 * x @ ref.random_orthogonal(rng, 5) + 3.0  # the same shape as x: NBS 1, angle 0
    sets = [x, y, z, w]
    out = gaussot.compare_representations([s.astype(dtype) for s in sets], igw=False, bw=False,
                                          cka=False, nbs=True, procrustes=True)
    assert "cka" not in out and "igw" not in out
    tol = 50 * ref.rtol(dtype)
    for i in range(4):
        for j in range(4):
            nbs, angle = shape_metrics_numpy(sets[i], sets[j])
            np.testing.assert_allclose(out["nbs"][i, j], nbs, rtol=tol)
            best, q, xc, yc = procrustes_by_optimisation(sets[i], sets[j])
            np.testing.assert_allclose(out["nbs"][i, j], best, rtol=tol)
            # No other orthogonal map aligns them better.
            scale = np.linalg.norm(xc) * np.linalg.norm(yc)
            for _ in range(5):
                other = ref.random_orthogonal(rng, q.shape[0])
                assert np.sum(xc * (yc @ other)) <= best * scale * (1 + 1e-12)
            np.testing.assert_allclose(np.cos(out["procrustes"][i, j]), out["nbs"][i, j],
                                       rtol=tol, atol=tol)
            if i != j and {i, j} != {0, 3}:
                np.testing.assert_allclose(out["procrustes"][i, j], angle, rtol=tol)
    assert np.all(np.diag(out["nbs"]) == 1.0) and np.all(np.diag(out["procrustes"]) == 0.0)
    # x and its rotated, scaled, shifted copy have the same shape.
    np.testing.assert_allclose(out["nbs"][0, 3], 1.0, rtol=tol)
    assert out["procrustes"][0, 3] <= np.sqrt(2 * tol)


def test_compare_representations_options_and_progress(rng):
    x, y, z = representations(rng)
    calls = []
    out = gaussot.compare_representations([x, y, z], bw=False, igw=False,
                                          progress=lambda *a: calls.append(a))
    assert out["names"] == ["0", "1", "2"]
    assert "bw" not in out and "igw" not in out and "cka_debiased" not in out
    np.testing.assert_allclose(out["cka"][0, 1], ref.cka_gram(x, y), rtol=1e-9)
    assert calls and all(isinstance(stage, str) and 0 <= done <= total
                         for stage, done, total in calls)
    # Uncentered IGW: bounds around the value, exact only on the diagonal of equal sets.
    out = gaussot.compare_representations([x, y + 1.0], bw=False, cka=False)
    assert np.all(out["igw_lower"] <= out["igw"] + 1e-9)
    assert np.all(out["igw"] <= out["igw_upper"] + 1e-9)


def test_compare_representations_errors(rng):
    x, y, _ = representations(rng)
    with pytest.raises(ValueError):
        gaussot.compare_representations([x, y[:50]])  # different n
    with pytest.raises(ValueError, match="names"):
        gaussot.compare_representations([x, y], names=["only one"])
    with pytest.raises(ValueError, match="list"):
        gaussot.compare_representations(x)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError):
        gaussot.compare_representations([x, bad])
    with pytest.raises(ZeroDivisionError):  # an exception from the progress callback propagates
        gaussot.compare_representations([x, y], progress=lambda *a: 1 / 0)


@pytest.mark.parametrize("metric", ["nbs", "procrustes"])
def test_shape_metric_pairs_and_gradients(rng, dtype, metric):
    x, y, z = representations(rng)
    batch = np.stack([y, z @ rng.standard_normal((3, 8)) + 0.1 * y])
    value = gaussot.shape_metric(x.astype(dtype), y.astype(dtype), metric=metric)
    want = shape_metrics_numpy(x, y)[metric == "procrustes"]
    np.testing.assert_allclose(value, want, rtol=50 * ref.rtol(dtype))
    # One set against a batch (broadcast) equals the pairs one by one.
    many = gaussot.shape_metric(x, batch, metric=metric)
    np.testing.assert_allclose(many, [shape_metrics_numpy(x, b)[metric == "procrustes"]
                                      for b in batch], rtol=1e-12)
    # The gradient against central differences of the value (float64).
    xs, zs = x[:12], z[:12]
    grad_x, grad_z = gaussot.shape_metric_gradient(xs, zs, metric=metric)
    assert grad_x.shape == xs.shape and grad_z.shape == zs.shape
    h = 1e-6
    for grad, base, side in ((grad_x, xs, 0), (grad_z, zs, 1)):
        for index in [(0, 0), (3, 2), (11, 1)]:
            plus, minus = base.copy(), base.copy()
            plus[index] += h
            minus[index] -= h
            args_plus = (plus, zs) if side == 0 else (xs, plus)
            args_minus = (minus, zs) if side == 0 else (xs, minus)
            numeric = (gaussot.shape_metric(*args_plus, metric=metric)
                       - gaussot.shape_metric(*args_minus, metric=metric)) / (2 * h)
            np.testing.assert_allclose(grad[index], numeric, rtol=1e-6, atol=1e-9)
    with pytest.raises(gaussot.InvalidArgument, match="metric"):
        gaussot.shape_metric(x, y, metric="cka")
