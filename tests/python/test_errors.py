"""Bad arguments raise Python exceptions carrying the C++ library's message, never a crash."""

import numpy as np
import pytest

import gaussot

E = np.eye(3)


def test_exception_hierarchy():
    assert issubclass(gaussot.InvalidArgument, ValueError)
    assert issubclass(gaussot.NotCompiled, NotImplementedError)
    assert issubclass(gaussot.OutOfMemory, MemoryError)
    for t in (gaussot.InvalidArgument, gaussot.NotCompiled, gaussot.ConvergenceError,
              gaussot.CudaError, gaussot.OutOfMemory):
        assert issubclass(t, gaussot.Error)
    assert issubclass(gaussot.Error, RuntimeError)


def test_nan_input_names_argument_and_item():
    covs = np.stack([E, E, E])
    covs[2, 1, 1] = np.nan
    with pytest.raises(gaussot.InvalidArgument) as info:
        gaussot.w2_squared(E, covs)
    message = str(info.value)
    assert message.startswith("w2_squared: argument 'b.covariances'")
    assert "NaN or infinite" in message and "batch item 2" in message
    assert info.value.argument == "b.covariances" and info.value.batch_index == 2
    with pytest.raises(ValueError, match="a.means"):
        gaussot.igw_squared(E, E, a_mean=[0.0, np.inf, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        gaussot.eigh(np.full((2, 2), np.nan))
    samples = np.ones((5, 2))
    samples[0, 0] = np.nan
    with pytest.raises(ValueError, match="samples"):
        gaussot.linear_cka(samples, np.random.default_rng(0).random((5, 2)))


def test_not_positive_semidefinite(dtype):
    bad = np.diag([1.0, -0.5, 2.0]).astype(dtype)
    with pytest.raises(gaussot.InvalidArgument, match="not positive semidefinite"):
        gaussot.w2_squared(E.astype(dtype), bad)
    with pytest.raises(gaussot.InvalidArgument, match="not positive semidefinite"):
        gaussot.sqrtm(np.stack([E, bad]).astype(dtype))
    with pytest.raises(gaussot.InvalidArgument, match="positive definite"):
        gaussot.brenier_map(np.diag([1.0, 0.0, 1.0]).astype(dtype), E.astype(dtype))
    with pytest.raises(gaussot.InvalidArgument, match="not symmetric"):
        gaussot.igw_squared(np.array([[1.0, 0.5], [0.0, 1.0]], dtype=dtype), E.astype(dtype))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gaussot.w2_squared(E, np.ones(3)), r"b_cov: expected shape \(d, d\) or \(k, d, d\)"),
        (lambda: gaussot.w2_squared(np.zeros((2, 2, 3, 3)), E), "a_cov: expected shape"),
        (lambda: gaussot.w2_squared(np.zeros((3, 4)), E), "a_cov: expected square matrices"),
        (lambda: gaussot.w2_squared(E, np.eye(2)), "both sides need one dimension"),
        (lambda: gaussot.w2_squared(E, E, a_mean=np.zeros(2)), "a_mean has length 2"),
        (lambda: gaussot.w2_squared(np.stack([E] * 3), np.stack([E] * 4)),
         "batch sizes do not match: a_cov has 3 items but b_cov has 4"),
        (lambda: gaussot.frechet_distance(np.ones((4, 3)), np.ones((4, 2))), "features"),
        (lambda: gaussot.linear_cka(np.ones((4, 3)), np.ones((5, 3))), "samples"),
        (lambda: gaussot.w2_barycenter(np.stack([E, E]), weights=[[1.0, 1.0]]),
         r"weights: expected shape \(k,\)"),
        (lambda: gaussot.w2_barycenter(np.stack([E, E]), weights=[1.0, -1.0]), "weights"),
        (lambda: gaussot.mccann_interpolant(E, E, 1.5), "'t' must be in"),
        (lambda: gaussot.frechet_distance(np.ones((4, 3)), np.ones((4, 3)), method="x"), "method"),
        (lambda: gaussot.w2_squared(E, E, backend="gpu"), "backend"),
        (lambda: gaussot.igw_squared(E, E, a_mean=[1.0, 0, 0], b_mean=[0, 1.0, 0],
                                     max_iterations=-1), "max_iterations"),
        (lambda: gaussot.sample_moments(np.ones((1, 3))), "at least 2 samples"),
        (lambda: gaussot.igw_barycenter([]), "at least one"),
    ],
)
def test_wrong_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dtypes():
    with pytest.raises(gaussot.InvalidArgument, match="mixed dtypes: a_cov is float32 but b_cov "
                                                      "is float64"):
        gaussot.w2_squared(E.astype(np.float32), E)
    with pytest.raises(ValueError, match="mixed dtypes"):
        gaussot.igw_squared(E, E, a_mean=np.zeros(3, dtype=np.float32))
    for bad in (np.int64, np.complex128, np.float16, bool):
        with pytest.raises(ValueError, match="expected float32 or float64 values"):
            gaussot.sqrtm(E.astype(bad))
    with pytest.raises(ValueError, match="expected an array"):
        gaussot.sqrtm("not an array")
    with pytest.raises(TypeError):
        gaussot.sqrtm(None)
    # Nested lists of numbers are float64 arrays.
    assert gaussot.sqrtm([[4, 0], [0, 9]]).dtype == np.float64


def test_convergence_error_is_raised_and_typed():
    covs = np.stack([np.diag([1.0, 100.0]), np.diag([100.0, 1.0]), np.array([[50.0, 49], [49, 50]])])
    with pytest.raises(gaussot.ConvergenceError, match="did not converge") as info:
        gaussot.w2_barycenter(covs, max_iterations=1, tolerance=0.0)
    assert info.value.batch_index == -1


def test_too_large_results_are_refused():
    big = np.broadcast_to(E, (1 << 40, 3, 3))
    with pytest.raises(MemoryError):
        gaussot.w2_squared_all_pairs(big, big)


def test_cuda_backend_on_host_arrays():
    info = gaussot.info()
    a, b = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    if not info["cuda_compiled"]:
        with pytest.raises(gaussot.NotCompiled, match="without the CUDA backend"):
            gaussot.w2_squared(a, b, backend="cuda")
    elif not info["cuda_devices"]:
        with pytest.raises(gaussot.InvalidArgument, match="device"):
            gaussot.w2_squared(a, b, backend="cuda")
    else:
        got = gaussot.w2_squared(a, b, backend="cuda")
        assert isinstance(got, np.float64)
        np.testing.assert_allclose(got, 2.0, rtol=1e-12)
