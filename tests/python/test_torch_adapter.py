"""gaussot.torch's differentiable functions: torch.autograd.gradcheck (finite differences,
float64) on each, values and gradients equal to the NumPy-level functions, batches (a shared side
gets the sum of the per-item gradients), float32, and training (a loss through each function
decreases). Skips, saying so, when torch is not importable (scripts/test_python.sh installs its
wheel from PyPI)."""

import numpy as np
import pytest

import gaussot

torch = pytest.importorskip("torch", reason="PyTorch is not importable (scripts/test_python.sh "
                            "installs it from PyPI when it can)")
from torch.autograd import gradcheck  # noqa: E402

import gaussot.torch as gt  # noqa: E402


def spd(rng, d, k=None, condition=10.0):
    shape = (d, d) if k is None else (k, d, d)
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) / d + np.eye(d) / condition


def leaf(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def test_w2_values_gradients_and_batches(rng):
    d = 4
    a, b = spd(rng, d), spd(rng, d)
    ma, mb = rng.standard_normal(d), rng.standard_normal(d)
    args = [leaf(x) for x in (a, b, ma, mb)]
    value = gt.w2_squared(*args)
    assert value.grad_fn is not None
    np.testing.assert_allclose(value.item(), gaussot.w2_squared(a, b, a_mean=ma, b_mean=mb),
                               rtol=1e-13)
    assert gradcheck(gt.w2_squared, args, eps=1e-6, atol=1e-6, rtol=1e-6)
    value.backward()
    want_ma, want_a, want_mb, want_b = gaussot.w2_squared_gradient(a, b, a_mean=ma, b_mean=mb)
    for got, want in zip((args[0].grad, args[1].grad, args[2].grad, args[3].grad),
                         (want_a, want_b, want_ma, want_mb)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)
    # A batch against one shared covariance (unbatched, and a batch of 1): the shared side's
    # gradient is the sum of the per-item gradients, and upstream weights scale each item.
    covs, weights = spd(rng, d, k=5), torch.arange(1.0, 6.0, dtype=torch.float64)
    for shared in (a, a[None]):
        x = leaf(shared)
        (weights * gt.w2_squared(x, torch.tensor(covs))).sum().backward()
        per_item = sum(w * gaussot.w2_squared_gradient(shared.reshape(d, d), c)[1]
                       for w, c in zip(weights.numpy(), covs))
        assert x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad.numpy().reshape(d, d), per_item, rtol=1e-12)


@pytest.mark.parametrize("n_a, n_b, method", [(20, 15, "auto"), (4, 6, "auto"),
                                              (20, 15, "samples")])
def test_fid_gradients_both_paths(rng, n_a, n_b, method):
    d = 5  # n < d in the second case: the samples path
    x, y = leaf(rng.standard_normal((n_a, d))), leaf(0.5 + 1.5 * rng.standard_normal((n_b, d)))
    f = lambda p, q: gt.frechet_distance(p, q, method=method)  # noqa: E731
    np.testing.assert_allclose(f(x, y).item(), gaussot.frechet_distance(
        x.detach().numpy(), y.detach().numpy(), method=method), rtol=1e-12)
    assert gradcheck(f, (x, y), eps=1e-6, atol=1e-6, rtol=1e-6)
    f(x, y).backward()
    want_x, want_y = gaussot.frechet_distance_gradient(x.detach().numpy(), y.detach().numpy(),
                                                       method=method)
    np.testing.assert_allclose(x.grad.numpy(), want_x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y.grad.numpy(), want_y, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_gradients_and_a_student_layer_of_another_width(rng, debiased):
    x = rng.standard_normal((30, 6))
    y = np.tanh(x @ rng.standard_normal((6, 3)) + 0.3 * rng.standard_normal((30, 3)))
    f = lambda p, q: gt.linear_cka(p, q, debiased=debiased)  # noqa: E731
    value = gaussot.linear_cka(x, y, debiased=debiased)
    np.testing.assert_allclose(f(leaf(x), leaf(y)).item(), value[1] if debiased else value,
                               rtol=1e-12)
    assert gradcheck(f, (leaf(x), leaf(y)), eps=1e-6, atol=1e-6, rtol=1e-6)
    # Distillation: a student layer (width 2) trained to a teacher layer (width 3) by CKA.
    inputs = torch.tensor(rng.standard_normal((40, 5)))
    teacher = torch.tanh(inputs @ torch.tensor(rng.standard_normal((5, 3))))
    student = torch.nn.Linear(5, 2, bias=False, dtype=torch.float64)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.5)
    first = f(student(inputs), teacher).item()
    for _ in range(100):
        optimizer.zero_grad()
        (-f(student(inputs), teacher)).backward()
        optimizer.step()
    assert f(student(inputs), teacher).item() > first + 0.1 * (1 - first)


def test_centered_igw_gradients_and_a_student_layer(rng):
    a, b = spd(rng, 4), spd(rng, 2)  # different dimensions
    np.testing.assert_allclose(gt.igw_squared(leaf(a), leaf(b)).item(), gaussot.igw_squared(a, b),
                               rtol=1e-12)
    assert gradcheck(gt.igw_squared, (leaf(a), leaf(b)), eps=1e-6, atol=1e-6, rtol=1e-6)
    inputs = torch.tensor(rng.standard_normal((60, 5)))
    teacher = torch.tanh(inputs @ torch.tensor(rng.standard_normal((5, 3))))
    teacher_cov = torch.cov(teacher.T)
    student = torch.tensor(0.1 * rng.standard_normal((5, 2)), requires_grad=True)

    def loss():
        return gt.igw_squared(torch.cov((inputs @ student).T), teacher_cov)

    optimizer = torch.optim.SGD([student], lr=0.05)
    first = loss().item()
    for _ in range(200):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    assert loss().item() < 0.1 * first


def test_entropic_gradients_including_singular_covariances(rng):
    d = 3
    a, b = spd(rng, d), spd(rng, d)
    ma, mb = rng.standard_normal(d), rng.standard_normal(d)
    f = lambda *args: gt.entropic_ot(*args, sigma=0.7)  # noqa: E731
    np.testing.assert_allclose(
        f(*(leaf(v) for v in (a, b, ma, mb))).item(),
        gaussot.entropic_ot(a, b, a_mean=ma, b_mean=mb, sigma=0.7)["value"], rtol=1e-13)
    assert gradcheck(f, tuple(leaf(v) for v in (a, b, ma, mb)), eps=1e-6, atol=1e-6, rtol=1e-6)
    u = rng.standard_normal((d, 1))
    singular = leaf(u @ u.T)
    f(singular, leaf(b), leaf(ma), leaf(mb)).backward()
    assert torch.isfinite(singular.grad).all()
    want = gaussot.entropic_ot_gradient(u @ u.T, b, a_mean=ma, b_mean=mb, sigma=0.7)[1]
    np.testing.assert_allclose(singular.grad.numpy(), want, rtol=1e-12, atol=1e-14)


def test_unbalanced_entropic_and_divergence_gradients(rng):
    d = 3
    args = tuple(leaf(x) for x in (spd(rng, d), spd(rng, d), rng.standard_normal(d),
                                   rng.standard_normal(d)))
    f = lambda *xs: gt.entropic_ot(*xs, sigma=0.7, gamma=2.0, mass_b=0.6)  # noqa: E731
    assert gradcheck(f, args, eps=1e-6, atol=1e-6, rtol=1e-6)
    s = lambda *xs: gt.sinkhorn_divergence(*xs, sigma=0.7)  # noqa: E731
    assert gradcheck(s, args, eps=1e-6, atol=1e-6, rtol=1e-6)
    # A Gaussian fitted to another by gradient descent on the divergence (zero at the target).
    target = spd(rng, d)
    low = torch.eye(d, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([low], lr=0.1)
    first = s(low @ low.T, torch.tensor(target)).item()
    for _ in range(200):
        optimizer.zero_grad()
        s(low @ low.T, torch.tensor(target)).backward()
        optimizer.step()
    assert s(low @ low.T, torch.tensor(target)).item() < 1e-3 * first


def test_igw_of_sample_sets(rng):
    x, y = leaf(rng.standard_normal((20, 4))), leaf(rng.standard_normal((15, 2)))
    covariances = [gaussot.sample_moments(s.detach().numpy())[1] for s in (x, y)]
    np.testing.assert_allclose(gt.igw_squared_samples(x, y).item(),
                               gaussot.igw_squared(*covariances), rtol=1e-12)
    assert gradcheck(gt.igw_squared_samples, (x, y), eps=1e-6, atol=1e-6, rtol=1e-6)


def test_training_a_gaussian_and_a_generator_float32(rng):
    # A Gaussian (mean m, covariance L Lᵀ + 0.05 I) fitted to a target by gradient descent on W2²,
    # in float32 (gaussot computes in the tensors' dtype).
    d = 3
    target_cov = torch.tensor(spd(rng, d), dtype=torch.float32)
    target_mean = torch.tensor(rng.standard_normal(d), dtype=torch.float32)
    m = torch.zeros(d, requires_grad=True)
    low = torch.eye(d, requires_grad=True)
    optimizer = torch.optim.SGD([m, low], lr=0.1)

    def loss():
        return gt.w2_squared(low @ low.T + 0.05 * torch.eye(d), target_cov, m, target_mean)

    first = loss().item()
    assert loss().dtype == torch.float32
    for _ in range(200):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    assert loss().item() < 1e-3 * first
    # Generated samples (a linear map of noise) trained towards real ones by the FID, n < d.
    real = torch.tensor(2.0 + rng.standard_normal((200, 8)) @ rng.standard_normal((8, 8)) / 3)
    noise = torch.tensor(rng.standard_normal((6, 8)))
    generator = torch.nn.Linear(8, 8, dtype=torch.float64)
    optimizer = torch.optim.SGD(generator.parameters(), lr=0.02)
    first = gt.frechet_distance(generator(noise), real).item()
    for _ in range(100):
        optimizer.zero_grad()
        gt.frechet_distance(generator(noise), real).backward()
        optimizer.step()
    assert gt.frechet_distance(generator(noise), real).item() < 0.2 * first


def test_refusals_name_the_argument(rng):
    a = leaf(spd(rng, 3))
    with pytest.raises(gaussot.InvalidArgument, match="a_mean"):
        gt.w2_squared(a, a, torch.zeros(4, dtype=torch.float64))
    with pytest.raises(gaussot.InvalidArgument, match="method"):
        gt.frechet_distance(a, a, method="fast")
    singular = leaf(np.diag([1.0, 1.0, 0.0]))
    with pytest.raises(gaussot.InvalidArgument):
        gt.w2_squared(singular, a).backward()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device for torch: the "
                    "device-tensor path (DLPack in and out, gradients on the device) not run")
def test_cuda_tensors_stay_on_their_device(rng):
    if "cuda" not in gaussot.info()["backends"]:
        pytest.skip("this gaussot module was built without CUDA")
    a = torch.tensor(spd(rng, 4), device="cuda", requires_grad=True)
    b = torch.tensor(spd(rng, 4), device="cuda")
    value = gt.w2_squared(a, b)
    value.backward()
    assert value.device.type == "cuda" and a.grad.device.type == "cuda"
    want = gaussot.w2_squared_gradient(a.detach().cpu().numpy(), b.cpu().numpy())[1]
    np.testing.assert_allclose(a.grad.cpu().numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("metric", ["nbs", "procrustes"])
def test_shape_metric_gradients(rng, metric):
    x = rng.standard_normal((30, 6))
    y = np.tanh(x @ rng.standard_normal((6, 3)) + 0.3 * rng.standard_normal((30, 3)))
    f = lambda p, q: gt.shape_metric(p, q, metric=metric)  # noqa: E731
    np.testing.assert_allclose(f(leaf(x), leaf(y)).item(),
                               gaussot.shape_metric(x, y, metric=metric), rtol=1e-12)
    assert gradcheck(f, (leaf(x), leaf(y)), eps=1e-6, atol=1e-6, rtol=1e-6)


def test_w2_fit_to_a_singular_target_needs_only_the_model_side(rng):
    # The target's covariance has rank 1: W2² has no derivative in it, but the model's side
    # (positive definite) has one, and only that side is asked for.
    d = 3
    u = rng.standard_normal((d, 1))
    target_cov, target_mean = torch.tensor(u @ u.T), torch.tensor(rng.standard_normal(d))
    low = torch.eye(d, dtype=torch.float64, requires_grad=True)
    m = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([low, m], lr=0.05)

    def loss():
        return gt.w2_squared(low @ low.T + 1e-3 * torch.eye(d), target_cov, m, target_mean)

    first = loss().item()
    for _ in range(300):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    assert loss().item() < 0.05 * first
    # Asking for the target's side too is refused, naming it.
    target = target_cov.clone().requires_grad_(True)
    with pytest.raises(gaussot.InvalidArgument, match="b"):
        gt.w2_squared(low @ low.T + 1e-3 * torch.eye(d), target).backward()
