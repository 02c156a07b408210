"""DLPack inputs on the host and on CUDA devices.

The device tests need a CUDA device, gaussot built with its CUDA backend, and torch or cupy; they
skip, saying which is missing, otherwise. The location logic (which context runs, which errors)
is also checked without a device, with objects that only report a device.
"""

import importlib

import numpy as np
import pytest

import gaussot
import reference as ref

INFO = gaussot.info()
HAS_DEVICE = INFO["cuda_compiled"] and bool(INFO["cuda_devices"])


def optional(name):
    try:
        return importlib.import_module(name)
    except Exception:  # not installed, or broken without a driver
        return None


torch = optional("torch")
cupy = optional("cupy")
jax = optional("jax")

TORCH_CUDA = torch is not None and torch.cuda.is_available()
needs_torch_cuda = pytest.mark.skipif(
    not (TORCH_CUDA and HAS_DEVICE),
    reason="needs torch with CUDA, a CUDA device and gaussot built with CUDA "
           f"(torch: {torch is not None}, device: {TORCH_CUDA}, gaussot: {INFO['backends']})")
CUPY_CUDA = False
if cupy is not None:
    try:
        CUPY_CUDA = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        CUPY_CUDA = False
needs_cupy_cuda = pytest.mark.skipif(
    not (CUPY_CUDA and HAS_DEVICE),
    reason="needs cupy, a CUDA device and gaussot built with CUDA")


class DLPackOnly:
    """A producer with nothing but the DLPack protocol (no buffer protocol, no __array__)."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


class FakeDevice:
    """Claims to live on a device; never exports (gaussot must decide before importing)."""

    def __init__(self, device_type=2, device_id=0):
        self.device = (device_type, device_id)

    def __dlpack_device__(self):
        return self.device

    def __dlpack__(self, **kwargs):
        raise BufferError("FakeDevice cannot export")


# ---- host ---------------------------------------------------------------------------------------


def test_dlpack_only_host_producer(rng, dtype):
    s1, s2 = ref.random_spd(rng, 4, 3), ref.random_spd(rng, 4, 3)
    got = gaussot.w2_squared(DLPackOnly(s1.astype(dtype)), DLPackOnly(s2.astype(dtype)))
    assert isinstance(got, np.ndarray) and got.dtype == dtype
    np.testing.assert_allclose(got, [ref.w2_squared(s1[i], s2[i]) for i in range(3)],
                               rtol=ref.rtol(dtype))
    # A non-contiguous DLPack-only producer is copied through NumPy first.
    x = rng.standard_normal((30, 4))
    got = gaussot.linear_cka(DLPackOnly(np.asfortranarray(x)), x)
    np.testing.assert_allclose(got, 1.0, rtol=1e-12)


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_torch_cpu_tensors(rng):
    s1, s2 = ref.random_spd(rng, 3, 2), ref.random_spd(rng, 3, 2)
    s2 = s2.astype(np.float32).astype(np.float64)  # what the tensor below holds
    got = gaussot.w2_squared(torch.from_numpy(s1), torch.from_numpy(s2).float().double())
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, [ref.w2_squared(s1[i], s2[i]) for i in range(2)], rtol=1e-9)
    x = torch.from_numpy(rng.standard_normal((20, 3)))
    np.testing.assert_allclose(gaussot.linear_cka(x.T.contiguous().T, x), 1.0, rtol=1e-12)


@pytest.mark.skipif(jax is None, reason="jax is not installed")
def test_jax_cpu_arrays(rng):
    import jax.numpy as jnp

    s = ref.random_spd(rng, 3)
    got = gaussot.sqrtm(jnp.asarray(s, dtype=jnp.float32))
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref.sqrtm(s), atol=1e-5)


# ---- location logic without a device ------------------------------------------------------------


def test_device_arrays_need_the_cuda_backend():
    a = FakeDevice()
    if not INFO["cuda_compiled"]:
        with pytest.raises(gaussot.NotCompiled):
            gaussot.sqrtm(a)
    elif not INFO["cuda_devices"]:
        with pytest.raises(gaussot.InvalidArgument, match="device"):
            gaussot.sqrtm(a)


def test_device_location_errors():
    with pytest.raises(gaussot.InvalidArgument, match="backend='cpu' but a is on CUDA device 0"):
        gaussot.sqrtm(FakeDevice(), backend="cpu")
    with pytest.raises(gaussot.InvalidArgument, match="b_cov is on CUDA device 1 but a_cov is on "
                                                      "CUDA device 0"):
        gaussot.w2_squared(FakeDevice(2, 0), FakeDevice(2, 1))
    with pytest.raises(gaussot.InvalidArgument, match="DLPack device type 4"):
        gaussot.sqrtm(FakeDevice(4, 0))  # OpenCL
    with pytest.raises(gaussot.InvalidArgument, match="backend='cuda:1' but a is on CUDA device 0"):
        gaussot.sqrtm(FakeDevice(2, 0), backend="cuda:1")


# ---- CUDA devices -------------------------------------------------------------------------------


@needs_torch_cuda
@pytest.mark.parametrize("torch_dtype", ["float32", "float64"])
def test_torch_cuda_tensors_stay_on_the_device(rng, torch_dtype):
    tdtype = getattr(torch, torch_dtype)
    k, d = 6, 5
    s1, s2 = ref.random_spd(rng, d, k), ref.random_spd(rng, d, k)
    m1 = rng.standard_normal((k, d))
    a = torch.tensor(s1, dtype=tdtype, device="cuda")
    b = torch.tensor(s2, dtype=tdtype, device="cuda")
    got = gaussot.w2_squared(a, b, a_mean=torch.tensor(m1, dtype=tdtype, device="cuda"))
    assert isinstance(got, torch.Tensor) and got.is_cuda and got.dtype == tdtype
    assert got.shape == (k,)
    tol = ref.rtol(np.float64 if torch_dtype == "float64" else np.float32)
    np.testing.assert_allclose(got.cpu().numpy(), [ref.w2_squared(s1[i], s2[i], m1[i], None)
                                                   for i in range(k)], rtol=tol)
    # Matrix results keep gaussot's column-major items as strides, which torch reads as is.
    w, v = gaussot.eigh(a)
    assert w.is_cuda and v.is_cuda and v.shape == (k, d, d)
    np.testing.assert_allclose((v @ torch.diag_embed(w) @ v.transpose(-1, -2)).cpu().numpy(), s1,
                               atol=50 * tol)
    # A single pair gives a 0-d device tensor.
    one = gaussot.w2_squared(a[0], b[0])
    assert one.is_cuda and one.dim() == 0


@needs_torch_cuda
def test_torch_cuda_work_on_another_stream_is_ordered_before_gaussot(rng):
    # The covariances are produced by a kernel still queued on a side stream: gaussot imports
    # with __dlpack__(stream=...) so the producer orders that work before gaussot's stream.
    x = torch.tensor(rng.standard_normal((64, 4096, 8)), device="cuda")
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        covs = x.transpose(1, 2) @ x / 4095.0
        got = gaussot.eigvalsh(covs)
    side.synchronize()
    expected = torch.linalg.eigvalsh(covs).flip(-1)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


@needs_torch_cuda
def test_torch_cuda_mixed_with_host_and_backend_rules(rng):
    s = ref.random_spd(rng, 3, 4)
    a = torch.tensor(s, device="cuda")
    got = gaussot.w2_squared(a, s)  # host arrays join the device call
    assert got.is_cuda
    with pytest.raises(gaussot.InvalidArgument, match="backend='cpu'"):
        gaussot.w2_squared(a, s, backend="cpu")
    # backend='cuda' on host arrays: computed on the device, returned as NumPy.
    host = gaussot.w2_squared(s, s[::-1].copy(), backend="cuda")
    assert isinstance(host, np.ndarray)
    np.testing.assert_allclose(host, gaussot.w2_squared(s, s[::-1].copy()), rtol=1e-9)
    # Device arrays without unit stride in the last axis are refused (no device copies).
    samples = torch.tensor(rng.standard_normal((3, 20)), device="cuda").T  # (20, 3), strided
    with pytest.raises(gaussot.InvalidArgument, match="contiguous"):
        gaussot.sample_moments(samples)


@needs_torch_cuda
def test_torch_cuda_compare_and_igw(rng):
    x = torch.tensor(rng.standard_normal((50, 6)), device="cuda")
    y = torch.tanh(x @ torch.tensor(rng.standard_normal((6, 4)), device="cuda"))
    out = gaussot.compare_representations([x, y], centered=True)
    host = gaussot.compare_representations([x.cpu().numpy(), y.cpu().numpy()], centered=True)
    for key in ("igw", "cka"):
        np.testing.assert_allclose(out[key], host[key], rtol=1e-8, atol=1e-10)
    igw = gaussot.igw_squared(torch.cov(x.T), torch.cov(y.T))
    assert igw.is_cuda
    np.testing.assert_allclose(igw.item(), host["igw"][0, 1] ** 2, rtol=1e-8)


@needs_cupy_cuda
def test_cupy_arrays(rng):
    s = ref.random_spd(rng, 4, 3)
    a = cupy.asarray(s, dtype=cupy.float32)
    root = gaussot.sqrtm(a)
    assert isinstance(root, cupy.ndarray) and root.dtype == cupy.float32
    np.testing.assert_allclose(cupy.asnumpy(root), ref.sqrtm(s), atol=1e-4)
    cka = gaussot.linear_cka(cupy.asarray(rng.standard_normal((30, 4))),
                             cupy.asarray(rng.standard_normal((30, 2))))
    assert isinstance(cka, cupy.ndarray)
