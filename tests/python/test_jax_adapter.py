"""gaussot.jax: custom_vjp functions whose gradients are gaussot's closed forms, checked by
jax.test_util.check_grads (finite differences, float64), inside jax.jit and jax.vmap, against
the NumPy-level functions, and by training (a loss through each function decreases). Skips, saying
so, when JAX is not installed (scripts/test_python.sh installs it)."""

import numpy as np
import pytest

import gaussot

jax = pytest.importorskip("jax", reason="JAX is not installed (scripts/test_python.sh installs "
                          "its CPU wheel from PyPI)")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import gaussot.jax as gj  # noqa: E402


def spd(rng, d, k=None, condition=10.0):
    shape = (d, d) if k is None else (k, d, d)
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) / d + np.eye(d) / condition


def test_w2_values_gradients_jit_and_vmap(rng):
    d = 4
    a, b = spd(rng, d), spd(rng, d)
    ma, mb = rng.standard_normal(d), rng.standard_normal(d)
    value = gj.w2_squared(a, b, ma, mb)
    np.testing.assert_allclose(value, gaussot.w2_squared(a, b, a_mean=ma, b_mean=mb), rtol=1e-13)
    check_grads(gj.w2_squared, (a, b, ma, mb), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    check_grads(lambda x, y: gj.w2_squared(x, y), (a, b), order=1, modes=["rev"], atol=1e-6,
                rtol=1e-6)
    # The gradient is gaussot's closed form, symmetric.
    ga, gb = jax.grad(gj.w2_squared, argnums=(0, 1))(a, b, ma, mb)
    _, want_a, _, want_b = gaussot.w2_squared_gradient(a, b, a_mean=ma, b_mean=mb)
    np.testing.assert_allclose(ga, want_a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb, want_b, rtol=1e-12, atol=1e-14)
    # jit, vmap over a batch, and a broadcast side: per-item gradients summed onto the shared one.
    covs = spd(rng, d, k=5)
    batched = jax.jit(jax.vmap(gj.w2_squared, in_axes=(None, 0, None, None)))(a, covs, ma, mb)
    np.testing.assert_allclose(batched, gaussot.w2_squared(a, covs, a_mean=ma, b_mean=mb),
                               rtol=1e-12)
    total = jax.grad(lambda x: gj.w2_squared(x, covs).sum())(a)
    per_item = sum(jax.grad(lambda x, c=c: gj.w2_squared(x, c))(a) for c in covs)
    np.testing.assert_allclose(total, per_item, rtol=1e-12)


@pytest.mark.parametrize("n_a, n_b, method", [(20, 15, "auto"), (4, 6, "auto"),
                                              (20, 15, "samples")])
def test_fid_gradients_both_paths(rng, n_a, n_b, method):
    d = 5  # n < d in the second case: the samples path
    x = rng.standard_normal((n_a, d))
    y = 0.5 + 1.5 * rng.standard_normal((n_b, d))
    f = lambda p, q: gj.frechet_distance(p, q, method=method)  # noqa: E731
    np.testing.assert_allclose(f(x, y), gaussot.frechet_distance(x, y, method=method),
                               rtol=1e-12)
    check_grads(f, (x, y), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    gx, gy = jax.jit(jax.grad(f, argnums=(0, 1)))(x, y)
    want_x, want_y = gaussot.frechet_distance_gradient(x, y, method=method)
    np.testing.assert_allclose(gx, want_x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gy, want_y, rtol=1e-12, atol=1e-14)


def test_losses_train(rng):
    # A Gaussian (mean m, covariance L Lᵀ + 0.05 I) fitted to a target by gradient descent on W2².
    d = 3
    target_cov, target_mean = spd(rng, d), rng.standard_normal(d)
    params = {"m": jnp.zeros(d), "l": jnp.eye(d)}

    def loss(p):
        return gj.w2_squared(p["l"] @ p["l"].T + 0.05 * jnp.eye(d), target_cov, p["m"], target_mean)

    step = jax.jit(lambda p: jax.tree_util.tree_map(lambda v, g: v - 0.1 * g, p,
                                                    jax.grad(loss)(p)))
    first = float(loss(params))
    for _ in range(200):
        params = step(params)
    assert float(loss(params)) < 1e-3 * first
    # Generated samples (a linear map of noise) trained towards real ones by the FID, n < d.
    real = 2.0 + rng.standard_normal((200, 8)) @ rng.standard_normal((8, 8)) / 3
    noise = rng.standard_normal((6, 8))
    weights = {"w": jnp.eye(8), "b": jnp.zeros(8)}
    fid = lambda p: gj.frechet_distance(noise @ p["w"] + p["b"], real)  # noqa: E731
    step = jax.jit(lambda p: jax.tree_util.tree_map(lambda v, g: v - 0.02 * g, p,
                                                    jax.grad(fid)(p)))
    first = float(fid(weights))
    for _ in range(100):
        weights = step(weights)
    assert float(fid(weights)) < 0.2 * first


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_gradients_and_a_student_layer_of_another_width(rng, debiased):
    x = rng.standard_normal((30, 6))
    y = np.tanh(x @ rng.standard_normal((6, 3)) + 0.3 * rng.standard_normal((30, 3)))
    f = lambda p, q: gj.linear_cka(p, q, debiased=debiased)  # noqa: E731
    value = gaussot.linear_cka(x, y, debiased=debiased)
    np.testing.assert_allclose(f(x, y), value[1] if debiased else value, rtol=1e-12)
    check_grads(f, (x, y), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    gx, gy = jax.jit(jax.grad(f, argnums=(0, 1)))(x, y)
    want_x, want_y = gaussot.linear_cka_gradient(x, y, debiased=debiased)
    np.testing.assert_allclose(gx, want_x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gy, want_y, rtol=1e-12, atol=1e-14)
    # A batch through vmap equals the pairs one by one.
    xs = rng.standard_normal((3, 30, 6))
    np.testing.assert_allclose(jax.vmap(f, in_axes=(0, None))(xs, y),
                               [f(xi, y) for xi in xs], rtol=1e-12)
    # Distillation: a student layer (width 2, a linear map of the inputs) trained to the teacher
    # layer (width 3) by maximising CKA.
    inputs = rng.standard_normal((40, 5))
    teacher = np.tanh(inputs @ rng.standard_normal((5, 3)))
    student = jnp.asarray(0.1 * rng.standard_normal((5, 2)))
    loss = lambda w: -gj.linear_cka(inputs @ w, teacher, debiased=debiased)  # noqa: E731
    step = jax.jit(lambda w: w - 0.5 * jax.grad(loss)(w))
    first = -float(loss(student))
    for _ in range(100):
        student = step(student)
    assert -float(loss(student)) > first + 0.1 * (1 - first)


def test_centered_igw_gradients_and_a_student_layer(rng):
    a, b = spd(rng, 4), spd(rng, 2)  # different dimensions
    np.testing.assert_allclose(gj.igw_squared(a, b), gaussot.igw_squared(a, b), rtol=1e-12)
    check_grads(gj.igw_squared, (a, b), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    ga, gb = jax.grad(gj.igw_squared, argnums=(0, 1))(a, b)
    want_a, want_b = gaussot.igw_squared_gradient(a, b)
    np.testing.assert_allclose(ga, want_a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb, want_b, rtol=1e-12, atol=1e-14)
    # A student layer of width 2 trained to a teacher layer of width 3 by the centered IGW² of
    # their covariances (computed in jnp from the activations).
    inputs = rng.standard_normal((60, 5))
    teacher = np.tanh(inputs @ rng.standard_normal((5, 3)))
    teacher_cov = np.cov(teacher, rowvar=False)

    def loss(w):
        h = inputs @ w
        h = h - h.mean(0)
        return gj.igw_squared(h.T @ h / (h.shape[0] - 1), teacher_cov)

    w = jnp.asarray(0.1 * rng.standard_normal((5, 2)))
    step = jax.jit(lambda w: w - 0.05 * jax.grad(loss)(w))
    first = float(loss(w))
    for _ in range(200):
        w = step(w)
    assert float(loss(w)) < 0.1 * first


def test_entropic_gradients_including_singular_covariances(rng):
    d = 3
    a, b = spd(rng, d), spd(rng, d)
    ma, mb = rng.standard_normal(d), rng.standard_normal(d)
    f = lambda *args: gj.entropic_ot(*args, sigma=0.7)  # noqa: E731
    np.testing.assert_allclose(f(a, b, ma, mb),
                               gaussot.entropic_ot(a, b, a_mean=ma, b_mean=mb, sigma=0.7)["value"],
                               rtol=1e-13)
    check_grads(f, (a, b, ma, mb), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    # A singular covariance: the gradient stays finite (the W2² one does not exist there).
    u = rng.standard_normal((d, 1))
    singular = u @ u.T
    grads = jax.grad(f, argnums=(0, 1))(singular, b, ma, mb)
    assert all(np.isfinite(np.asarray(g)).all() for g in grads)
    want = gaussot.entropic_ot_gradient(singular, b, a_mean=ma, b_mean=mb, sigma=0.7)
    np.testing.assert_allclose(grads[0], want[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("metric", ["nbs", "procrustes"])
def test_shape_metric_gradients_and_a_student_layer(rng, metric):
    x = rng.standard_normal((30, 6))
    y = np.tanh(x @ rng.standard_normal((6, 3)) + 0.3 * rng.standard_normal((30, 3)))
    f = lambda p, q: gj.shape_metric(p, q, metric=metric)  # noqa: E731
    np.testing.assert_allclose(f(x, y), gaussot.shape_metric(x, y, metric=metric), rtol=1e-12)
    check_grads(f, (x, y), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    # A student layer of width 2 trained towards a teacher layer of width 3 by the shape metric.
    inputs = rng.standard_normal((40, 5))
    teacher = np.tanh(inputs @ rng.standard_normal((5, 3)))
    sign = -1.0 if metric == "nbs" else 1.0  # maximise NBS, minimise the angle
    loss = lambda w: sign * gj.shape_metric(inputs @ w, teacher, metric=metric)  # noqa: E731
    student = jnp.asarray(0.1 * rng.standard_normal((5, 2)))
    step = jax.jit(lambda w: w - 0.2 * jax.grad(loss)(w))
    first = float(loss(student))
    for _ in range(100):
        student = step(student)
    assert float(loss(student)) < first - 0.05


def test_unbalanced_entropic_and_divergence_gradients(rng):
    d = 3
    a, b = spd(rng, d), spd(rng, d)
    ma, mb = rng.standard_normal(d), rng.standard_normal(d)
    f = lambda *args: gj.entropic_ot(*args, sigma=0.7, gamma=2.0, mass_a=1.3)  # noqa: E731
    np.testing.assert_allclose(
        f(a, b, ma, mb), gaussot.entropic_ot(a, b, a_mean=ma, b_mean=mb, sigma=0.7, gamma=2.0,
                                             mass_a=1.3)["value"], rtol=1e-13)
    check_grads(f, (a, b, ma, mb), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    s = lambda *args: gj.sinkhorn_divergence(*args, sigma=0.7)  # noqa: E731
    np.testing.assert_allclose(s(a, b, ma, mb),
                               gaussot.sinkhorn_divergence(a, b, a_mean=ma, b_mean=mb, sigma=0.7),
                               rtol=1e-13)
    check_grads(s, (a, b, ma, mb), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


def test_igw_of_sample_sets_and_a_student_layer(rng):
    x, y = rng.standard_normal((20, 4)), rng.standard_normal((15, 2)) @ np.diag([3.0, 0.5])
    f = gj.igw_squared_samples
    covariances = [gaussot.sample_moments(s)[1] for s in (x, y)]
    np.testing.assert_allclose(f(x, y), gaussot.igw_squared(*covariances), rtol=1e-12)
    check_grads(f, (x, y), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)
    # The same student as with covariances formed in jnp, now straight from the activations.
    inputs = rng.standard_normal((60, 5))
    teacher = np.tanh(inputs @ rng.standard_normal((5, 3)))
    w = jnp.asarray(0.1 * rng.standard_normal((5, 2)))
    loss = lambda w: f(inputs @ w, teacher)  # noqa: E731
    step = jax.jit(lambda w: w - 0.05 * jax.grad(loss)(w))
    first = float(loss(w))
    for _ in range(200):
        w = step(w)
    assert float(loss(w)) < 0.1 * first
