"""Eigendecomposition and spectral-function bindings against NumPy."""

import numpy as np
import pytest

import gaussot
import reference as ref


def test_eigh(rng, dtype):
    a = ref.random_spd(rng, 6, 4) - 1.0 * np.eye(6)  # symmetric, indefinite
    w, v = gaussot.eigh(a.astype(dtype))
    assert w.shape == (4, 6) and v.shape == (4, 6, 6) and w.dtype == dtype and v.dtype == dtype
    scale = np.abs(a).max()
    np.testing.assert_allclose(w, ref.eigvals_desc(a), atol=10 * ref.rtol(dtype) * scale)
    assert np.all(np.diff(w, axis=-1) <= 0), "eigenvalues are in decreasing order"
    for i in range(4):
        # Columns are the eigenvectors: V diag(w) Vᵀ = a and VᵀV = I.
        np.testing.assert_allclose(v[i] @ np.diag(w[i]) @ v[i].T, a[i],
                                   atol=10 * ref.rtol(dtype) * scale)
        np.testing.assert_allclose(v[i].T @ v[i], np.eye(6), atol=10 * ref.rtol(dtype))
        np.testing.assert_allclose(a[i] @ v[i][:, 0], w[i, 0] * v[i][:, 0],
                                   atol=10 * ref.rtol(dtype) * scale)


def test_eigvalsh_single_and_repeated(dtype):
    a = np.diag([2.0, 5.0, 2.0, -1.0]).astype(dtype)
    np.testing.assert_allclose(gaussot.eigvalsh(a), [5.0, 2.0, 2.0, -1.0],
                               atol=10 * ref.rtol(dtype))
    w, v = gaussot.eigh(a)
    np.testing.assert_allclose(v @ np.diag(w) @ v.T, a, atol=10 * ref.rtol(dtype))


@pytest.mark.parametrize(
    "name, f",
    [("sqrtm", np.sqrt), ("inv_sqrtm", lambda w: 1 / np.sqrt(w)), ("logm", np.log)],
)
def test_matrix_functions(rng, dtype, name, f):
    a = ref.random_spd(rng, 5, 3)
    got = getattr(gaussot, name)(a.astype(dtype))
    assert got.shape == a.shape and got.dtype == dtype
    np.testing.assert_allclose(got, ref.spectral(a, f), atol=20 * ref.rtol(dtype) * 4)


def test_sqrtm_squares_back_and_pairs(rng, dtype):
    a = ref.random_spd(rng, 7, 2)
    root, inverse = gaussot.sqrtm_and_inv_sqrtm(a.astype(dtype))
    for i in range(2):
        np.testing.assert_allclose(root[i] @ root[i], a[i], atol=20 * ref.rtol(dtype) * 4)
        np.testing.assert_allclose(root[i] @ inverse[i], np.eye(7), atol=20 * ref.rtol(dtype) * 4)
    np.testing.assert_allclose(gaussot.sqrtm(a.astype(dtype)), root, atol=10 * ref.rtol(dtype))


@pytest.mark.parametrize("p", [2.0, 0.25, -1.0])
def test_powm(rng, dtype, p):
    a = ref.random_spd(rng, 4)
    got = gaussot.powm(a.astype(dtype), p)
    np.testing.assert_allclose(got, ref.spectral(a, lambda w: w ** p),
                               atol=20 * ref.rtol(dtype) * 10)
    if p == -1.0:
        np.testing.assert_allclose(got, np.linalg.inv(a), atol=20 * ref.rtol(dtype) * 10)


def test_sqrtm_of_singular_psd_matrix():
    # A rank-one PSD matrix: its root is vvᵀ/‖v‖ (eigenvalue ‖v‖² -> ‖v‖); the inverse root is
    # refused, naming the item.
    v = np.array([1.0, 2.0, 2.0])
    a = np.stack([np.eye(3), np.outer(v, v)])
    np.testing.assert_allclose(gaussot.sqrtm(a)[1], np.outer(v, v) / 3.0, atol=1e-12)
    with pytest.raises(gaussot.InvalidArgument) as info:
        gaussot.inv_sqrtm(a)
    assert info.value.batch_index == 1
    assert "positive definite" in str(info.value)


def test_psd_tolerance_keyword():
    a = np.diag([1.0, -1e-8])  # negative beyond the default τ = 1e-10
    with pytest.raises(ValueError, match="not positive semidefinite"):
        gaussot.sqrtm(a)
    np.testing.assert_allclose(gaussot.sqrtm(a, psd_tolerance=1e-6), np.diag([1.0, 0.0]))


def test_fortran_order_symmetric_input_is_read_in_place(rng):
    a = ref.random_spd(rng, 5, 3)
    f = np.asfortranarray(a)
    np.testing.assert_allclose(gaussot.sqrtm(f), ref.sqrtm(a), atol=1e-12)
    # Transposed views (strides (8, 40, 200)) of symmetric matrices are the same matrices.
    t = np.transpose(np.ascontiguousarray(np.transpose(a, (2, 1, 0))), (2, 1, 0))
    np.testing.assert_allclose(gaussot.eigvalsh(t), ref.eigvals_desc(a), atol=1e-12)


def test_empty_batch_and_order_one(dtype):
    w = gaussot.eigvalsh(np.zeros((0, 3, 3), dtype=dtype))
    assert w.shape == (0, 3) and w.dtype == dtype
    root = gaussot.sqrtm(np.array([[4.0]], dtype=dtype))
    assert root.shape == (1, 1)
    np.testing.assert_allclose(root, [[2.0]])
