# SPDX-License-Identifier: Apache-2.0
"""gaussot.sinkhorn, both algorithms (algorithm='scaling', 'log_domain', 'automatic'): the value
as the primal objective of the plan its potentials give (NumPy), POT's solvers when POT is
installed (ot.solve, ot.sinkhorn2, ot.unbalanced.sinkhorn_unbalanced2), small ε where POT's
exp-domain ot.sinkhorn breaks down, batches and broadcasting, float32, bad input, and the
Gaussian closed forms of formulas-entropic.md approached by Sinkhorn on samples as n grows
(balanced and unbalanced)."""
import math

import numpy as np
import pytest

import gaussot
import reference as ref


def squared_distances(x, y):
    return np.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)


def primal(x, y, a, b, eps, gamma, f, g):
    """<pi, C> + eps KL(pi | a x b) [+ gamma KL(pi 1 | a) + gamma KL(pi^T 1 | b)] of the plan
    pi_ij = a_i b_j exp((f_i + g_j - C_ij)/eps), generalised KL, entry by entry in float64."""
    c = squared_distances(np.asarray(x, np.float64), np.asarray(y, np.float64))
    log_ratio = (np.asarray(f, np.float64)[:, None] + np.asarray(g, np.float64)[None, :] - c) / eps
    ab = np.outer(a, b)
    pi = ab * np.exp(log_ratio)
    value = np.sum(pi * c) + eps * np.sum(pi * log_ratio - pi + ab)
    rows, cols = pi.sum(1), pi.sum(0)
    if gamma is not None:
        value += gamma * np.sum(rows * np.log(rows / a) - rows + a)
        value += gamma * np.sum(cols * np.log(cols / b) - cols + b)
    return value, np.sum(pi * c), pi


def problem(rng, n=30, m=25, d=3, total_b=1.0):
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((m, d)) + 0.5
    a = rng.uniform(0.5, 1.5, n)
    b = rng.uniform(0.5, 1.5, m)
    return x, y, a / a.sum(), total_b * b / b.sum()


ALGORITHMS = ["scaling", "log_domain"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("gamma", [None, 0.8])
def test_value_is_the_primal_objective_of_the_returned_plan(rng, gamma, algorithm):
    x, y, a, b = problem(rng, total_b=1.0 if gamma is None else 1.7)
    for iterations in (2, 10000):
        r = gaussot.sinkhorn(x, y, weights_x=a, weights_y=b, sigma=0.6, gamma=gamma,
                             tolerance=1e-12, max_iterations=iterations, check_every=1,
                             algorithm=algorithm)
        assert r["converged"] == (iterations > 2)
        assert r["epsilon"] == pytest.approx(0.72)
        value, transport, pi = primal(x, y, a, b, 0.72, gamma, r["f"], r["g"])
        assert r["value"] == pytest.approx(value, rel=1e-10)
        assert r["transport_cost"] == pytest.approx(transport, rel=1e-10)
        assert r["plan_mass"] == pytest.approx(pi.sum(), rel=1e-12)
        if gamma is None:
            error = np.abs(pi.sum(1) - a).sum() / a.sum()
            assert r["marginal_error"] == pytest.approx(error, rel=1e-6, abs=1e-15)
            np.testing.assert_allclose(pi.sum(0), b, rtol=1e-12)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_agrees_with_pot(rng, algorithm):
    ot = pytest.importorskip("ot")
    x, y, a, b = problem(rng, 40, 35, 2)
    m = ot.dist(x, y)  # squared Euclidean, not halved
    np.testing.assert_allclose(m, squared_distances(x, y), rtol=1e-12)
    sigma = 0.5
    eps = 2 * sigma**2
    r = gaussot.sinkhorn(x, y, weights_x=a, weights_y=b, sigma=sigma, tolerance=1e-12,
                         algorithm=algorithm)
    assert r["converged"]
    pot = ot.solve(m, a, b, reg=eps, reg_type="KL", max_iter=100000, tol=1e-13)
    assert r["value"] == pytest.approx(float(pot.value), rel=1e-8)
    assert r["transport_cost"] == pytest.approx(float(pot.value_linear), rel=1e-8)
    linear = ot.sinkhorn2(a, b, m, eps, method="sinkhorn_log", numItermax=100000, stopThr=1e-13)
    assert r["transport_cost"] == pytest.approx(float(linear), rel=1e-8)
    # Unbalanced, with unequal masses. POT's "total" uses KL without its mass terms (kl_div with
    # mass=False, POT 0.9.7): add ε(Σa Σb − Σπ) + γ(Σa + Σb − 2Σπ) computed from POT's own plan.
    gamma, b2 = 1.3, 1.6 * b
    u = gaussot.sinkhorn(x, y, weights_x=a, weights_y=b2, sigma=sigma, gamma=gamma,
                         tolerance=1e-13, algorithm=algorithm)
    assert u["converged"]
    plan, log = ot.unbalanced.sinkhorn_unbalanced(
        a, b2, m, eps, gamma, method="sinkhorn", reg_type="kl", numItermax=200000, stopThr=1e-15,
        log=True)
    total = ot.unbalanced.sinkhorn_unbalanced2(
        a, b2, m, eps, gamma, method="sinkhorn", reg_type="kl", numItermax=200000, stopThr=1e-15,
        returnCost="total")
    mass = plan.sum()
    corrected = float(total) + eps * (a.sum() * b2.sum() - mass) + gamma * (
        a.sum() + b2.sum() - 2 * mass)
    assert u["value"] == pytest.approx(corrected, rel=1e-7)
    assert u["plan_mass"] == pytest.approx(mass, rel=1e-7)
    assert u["transport_cost"] == pytest.approx(float(log["cost"]), rel=1e-7)


def test_small_epsilon_where_the_exp_domain_breaks_down(rng):
    """Clouds 3 apart at ε = 0.005: exp(−M/ε) underflows to 0 on whole rows, so POT's exp-domain
    ot.sinkhorn returns NaN (or warns and stops); both gaussot algorithms converge to the plan of
    POT's log-domain solver, the scaling algorithm through absorptions."""
    ot = pytest.importorskip("ot")
    x, y, a, b = problem(rng, 60, 50, 2)
    y = y + 2.5
    sigma = 0.05
    eps = 2 * sigma**2
    m = ot.dist(x, y)
    assert np.exp(-m / eps).sum(1).min() == 0  # whole rows of POT's kernel underflow
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = ot.sinkhorn(a, b, m, eps, method="sinkhorn", numItermax=2000, stopThr=1e-10)
    assert not np.isfinite(plan).all() or abs(plan.sum() - 1) > 1e-3
    results = {algorithm: gaussot.sinkhorn(x, y, weights_x=a, weights_y=b, sigma=sigma,
                                           tolerance=1e-9, max_iterations=200000,
                                           algorithm=algorithm)
               for algorithm in ALGORITHMS}
    log_plan = ot.sinkhorn(a, b, m, eps, method="sinkhorn_log", numItermax=200000,
                           stopThr=1e-12)
    for algorithm, r in results.items():
        assert r["converged"], algorithm
        assert np.isfinite(r["value"]) and np.isfinite(r["f"]).all(), algorithm
        value, transport, pi = primal(x, y, a, b, eps, None, r["f"], r["g"])
        assert r["value"] == pytest.approx(value, rel=1e-9), algorithm
        assert transport == pytest.approx(float(np.sum(log_plan * m)), rel=1e-6), algorithm
    assert results["scaling"]["absorptions"] > 0
    assert results["log_domain"]["absorptions"] == 0
    assert results["scaling"]["value"] == pytest.approx(results["log_domain"]["value"], rel=1e-9)
    assert abs(results["scaling"]["iterations"] - results["log_domain"]["iterations"]) <= 10


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_batches_broadcast_and_single_precision(rng, algorithm):
    xs = rng.standard_normal((3, 20, 2))
    y = rng.standard_normal((15, 2)) + 1
    r = gaussot.sinkhorn(xs, y, sigma=0.7, tolerance=1e-11, algorithm=algorithm)
    assert r["value"].shape == (3,) and r["f"].shape == (3, 20) and r["g"].shape == (3, 15)
    assert r["converged"].dtype == np.bool_ and r["converged"].all()
    assert r["iterations"].shape == (3,)
    for i in range(3):
        single = gaussot.sinkhorn(xs[i], y, sigma=0.7, tolerance=1e-11, algorithm=algorithm)
        assert np.ndim(single["value"]) == 0
        assert single["value"] == pytest.approx(r["value"][i], rel=1e-13)
        assert single["iterations"] == r["iterations"][i]
    weights = rng.uniform(0.5, 1.5, (3, 20))
    weights /= weights.sum(1, keepdims=True)
    w = gaussot.sinkhorn(xs, y, weights_x=weights, sigma=0.7, tolerance=1e-11,
                         algorithm=algorithm)
    value, _, _ = primal(xs[1], y, weights[1], np.full(15, 1 / 15), 0.98, None, w["f"][1],
                         w["g"][1])
    assert w["value"][1] == pytest.approx(value, rel=1e-9)
    f32 = gaussot.sinkhorn(xs.astype(np.float32), y.astype(np.float32), sigma=0.7, tolerance=1e-5,
                           algorithm=algorithm)
    assert f32["value"].dtype == np.float32 and f32["f"].dtype == np.float32
    np.testing.assert_allclose(f32["value"], r["value"], rtol=2e-4)


def test_bad_input_raises_with_the_argument():
    x, y = np.zeros((4, 2)), np.ones((3, 2))
    with pytest.raises(gaussot.InvalidArgument, match="options.sigma") as e:
        gaussot.sinkhorn(x, y, sigma=0.0)
    assert e.value.argument == "options.sigma"
    with pytest.raises(gaussot.InvalidArgument, match="options.gamma"):
        gaussot.sinkhorn(x, y, gamma=-1.0)
    with pytest.raises(gaussot.InvalidArgument, match="weights_y") as e:
        gaussot.sinkhorn(x, y, weights_y=np.array([0.5, 0.5, 0.5]))
    assert e.value.argument == "weights_y"
    with pytest.raises(gaussot.InvalidArgument, match="weights_x"):
        gaussot.sinkhorn(x, y, weights_x=np.array([0.5, 0.5, -0.25, 0.25]))
    with pytest.raises(ValueError, match="dimension"):
        gaussot.sinkhorn(x, np.ones((3, 3)))
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(gaussot.InvalidArgument, match="'x' has a NaN"):
        gaussot.sinkhorn(bad, y)
    with pytest.raises(gaussot.InvalidArgument, match="max_iterations"):
        gaussot.sinkhorn(x, y, max_iterations=0)
    with pytest.raises(gaussot.InvalidArgument, match="algorithm") as e:
        gaussot.sinkhorn(x, y, algorithm="exp")
    assert e.value.argument == "algorithm"


# ---- the Gaussian closed forms, approached on samples --------------------------------------------
# The oracle is the NumPy transcription of formulas-entropic.md (Appendix) in reference.py.


MEAN_A, COV_A = np.array([0.0, 0.0]), np.array([[1.0, 0.3], [0.3, 0.5]])
MEAN_B, COV_B = np.array([1.0, -0.5]), np.array([[0.8, -0.2], [-0.2, 1.2]])


@pytest.mark.parametrize("gamma, masses", [(None, (1.0, 1.0)), (1.0, (1.5, 0.8))],
                         ids=["balanced", "unbalanced"])
def test_sinkhorn_on_samples_approaches_the_gaussian_closed_form(gamma, masses):
    sigma = 1.0
    ma, mb = masses
    if gamma is None:
        exact, exact_mass = ref.ot_sigma(MEAN_A, COV_A, MEAN_B, COV_B, sigma), 1.0
    else:
        exact, exact_mass = ref.uot(MEAN_A, COV_A, MEAN_B, COV_B, sigma, gamma, ma, mb)
    sizes, seeds, errors = (250, 1000, 4000), (0, 1, 2), []
    for n in sizes:
        error = []
        for seed in seeds:
            rng = np.random.default_rng(1000 * seed + n)
            x = rng.multivariate_normal(MEAN_A, COV_A, size=n)
            y = rng.multivariate_normal(MEAN_B, COV_B, size=n)
            r = gaussot.sinkhorn(x, y, weights_x=np.full(n, ma / n), weights_y=np.full(n, mb / n),
                                 sigma=sigma, gamma=gamma, tolerance=1e-8)
            assert r["converged"]
            error.append(r["value"] - exact)
            assert r["plan_mass"] == pytest.approx(exact_mass, rel=0.05)
        errors.append(np.mean(np.abs(error)))
    rate = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    print("\n%s: closed form %.6f; mean |Sinkhorn - closed form| over %d seeds: %s; observed "
          "rate n^%.2f" % ("balanced" if gamma is None else "unbalanced", exact, len(seeds),
                           ", ".join("n=%d: %.2e" % p for p in zip(sizes, errors)), rate))
    assert errors[0] > errors[1] > errors[2]
    # Entropic OT between empirical measures converges at about n^-1/2 (Genevay et al. 2019;
    # Mena & Niles-Weed 2019); at n = 4000 the error is a few percent of the value at most.
    assert errors[-1] < 0.03 * abs(exact)
    assert rate < -0.3
    assert math.isfinite(rate)
