#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Value + gradient through gaussot.jax against autodiff through eigendecompositions and OTT-JAX.

Rows (float64, deterministic from --seed; each timing the minimum of --repeats runs of a jitted
function, after one warm-up call that compiles it; block_until_ready on every output):

  w2      W2² of --pairs paired Gaussians at d = --d (covariances A Aᵀ/d + 0.1 I, random means),
          the sum's value and gradient with respect to both covariances and means.
          gaussot: jax.value_and_grad of gaussot.jax.w2_squared (gaussot's closed-form gradient).
          POT: ot.gaussian.bures_wasserstein_distance(ms, mt, Cs, Ct, paired=True) on JAX arrays
          (POT's JAX backend: its sqrtm by eigh), squared, differentiated by jax.value_and_grad.
  fid     FID as a loss: --generated samples against --reference samples at d = --fid-dim, the
          value and the gradient with respect to the generated samples.
          gaussot: gaussot.jax.frechet_distance (n < d: the samples path's polar factor).
          autodiff: the same FID written in jnp (means, covariances, eigh of S_a, eigvalsh of
          S_a^½ S_b S_a^½), differentiated by JAX through the eigendecompositions.
  entropic the unbalanced entropic OT value of --entropic-pairs pairs at d = --entropic-dim
          (σ = 0.9, γ = 1.3, masses 0.8 and 1.4), the sum's value and gradient with respect to the
          means and covariances.
          gaussot: jax.value_and_grad of gaussot.jax.entropic_ot(..., gamma=) (closed form).
          OTT-JAX: ott.geometry.costs.UnbalancedBures(d, sigma, gamma) on the packed (mass, mean,
          covariance) vectors, vmapped, differentiated by jax.value_and_grad (its Newton–Schulz
          square root); gradients compared on their symmetric parts.
  nan     how often each side returns a non-finite gradient on rank-deficient inputs: W2 between
          --nan-trials pairs whose covariances have rank d − 2 (POT: NaN or Inf counts; gaussot
          refuses them by name, InvalidArgument: counted as refusals, never as NaN), and the FID
          of --nan-trials small batches (n < d: singular covariance) for the jnp autodiff.

Prints a table and one JSON line; --json FILE writes it too.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=1000)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--generated", type=int, default=128)
    p.add_argument("--reference", type=int, default=10000)
    p.add_argument("--fid-dim", type=int, default=2048)
    p.add_argument("--entropic-pairs", type=int, default=200)
    p.add_argument("--entropic-dim", type=int, default=8)
    p.add_argument("--nan-trials", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    return p.parse_args(argv)


def timed(fn, args, repeats, jax):
    out = fn(*args)
    jax.block_until_ready(out)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(*args)
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - t)
    return best, out


def relative(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def main(argv):
    args = parse_args(argv)
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import ot

    import gaussot
    import gaussot.jax as gj

    rng = np.random.default_rng(args.seed)
    import ott

    results = {"setup": vars(args) | {"json": None}, "jax": jax.__version__, "pot": ot.__version__,
               "ott": ott.__version__, "gaussot_blas": gaussot.info().get("blas")}

    # ---- W2² of paired Gaussians ----------------------------------------------------------------
    d, k = args.d, args.pairs

    def covariances(rank):
        a = rng.standard_normal((k, d, rank))
        return a @ np.swapaxes(a, 1, 2) / d + (0.1 * np.eye(d) if rank == d else 0)

    Cs, Ct = covariances(d), covariances(d)
    ms, mt = rng.standard_normal((k, d)), rng.standard_normal((k, d))

    def gaussot_loss(cs, ct, m1, m2):
        return gj.w2_squared(cs, ct, m1, m2).sum()

    def pot_loss(cs, ct, m1, m2):
        return (ot.gaussian.bures_wasserstein_distance(m1, m2, cs, ct, paired=True) ** 2).sum()

    g_fn = jax.jit(jax.value_and_grad(gaussot_loss, argnums=(0, 1, 2, 3)))
    p_fn = jax.jit(jax.value_and_grad(pot_loss, argnums=(0, 1, 2, 3)))
    inputs = tuple(jnp.asarray(x) for x in (Cs, Ct, ms, mt))
    g_time, (g_value, g_grads) = timed(g_fn, inputs, args.repeats, jax)
    p_time, (p_value, p_grads) = timed(p_fn, inputs, args.repeats, jax)
    results["w2"] = {"gaussot_s": g_time, "pot_s": p_time, "ratio": p_time / g_time,
                     "value_rel_diff": relative(g_value, p_value),
                     "grad_rel_diff": max(relative(a, b) for a, b in zip(g_grads, p_grads))}

    # ---- FID as a loss ---------------------------------------------------------------------------
    dim = args.fid_dim
    mix = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    real = jnp.asarray(rng.standard_normal((args.reference, dim)) @ mix)
    generated = jnp.asarray(0.3 + rng.standard_normal((args.generated, dim)) @ mix)

    def fid_autodiff(x, y):
        mx, my = x.mean(0), y.mean(0)
        sx = (x - mx).T @ (x - mx) / (x.shape[0] - 1)
        sy = (y - my).T @ (y - my) / (y.shape[0] - 1)
        w, v = jnp.linalg.eigh(sx)
        root = (v * jnp.sqrt(jnp.maximum(w, 0))) @ v.T
        middle = jnp.linalg.eigvalsh(root @ sy @ root)
        return (jnp.sum((mx - my) ** 2) + jnp.trace(sx) + jnp.trace(sy)
                - 2 * jnp.sum(jnp.sqrt(jnp.maximum(middle, 0))))

    g_fid = jax.jit(jax.value_and_grad(lambda x, y: gj.frechet_distance(x, y)))
    a_fid = jax.jit(jax.value_and_grad(fid_autodiff))
    g_time, (g_value, g_grad) = timed(g_fid, (generated, real), args.repeats, jax)
    a_time, (a_value, a_grad) = timed(a_fid, (generated, real), args.repeats, jax)
    results["fid"] = {"gaussot_s": g_time, "autodiff_s": a_time, "ratio": a_time / g_time,
                      "value_rel_diff": relative(g_value, a_value),
                      "gaussot_grad_finite": bool(np.isfinite(np.asarray(g_grad)).all()),
                      "autodiff_grad_finite": bool(np.isfinite(np.asarray(a_grad)).all())}

    # ---- unbalanced entropic OT against OTT-JAX's UnbalancedBures ---------------------------------
    from ott.geometry import costs

    de, ke = args.entropic_dim, args.entropic_pairs
    a = rng.standard_normal((ke, de, de))
    b = rng.standard_normal((ke, de, de))
    ea = jnp.asarray(a @ np.swapaxes(a, 1, 2) / de + 0.1 * np.eye(de))
    eb = jnp.asarray(b @ np.swapaxes(b, 1, 2) / de + 0.1 * np.eye(de))
    ema, emb = jnp.asarray(rng.standard_normal((ke, de))), jnp.asarray(rng.standard_normal((ke, de)))
    bures = costs.UnbalancedBures(de, sigma=0.9, gamma=1.3)

    def ott_loss(c1, c2, m1, m2):
        pack = lambda mass, m, c: jnp.concatenate(  # noqa: E731
            [jnp.full((ke, 1), mass), m, c.reshape(ke, -1)], axis=1)
        return jax.vmap(bures)(pack(0.8, m1, c1), pack(1.4, m2, c2)).sum()

    def gaussot_entropic(c1, c2, m1, m2):
        return gj.entropic_ot(c1, c2, m1, m2, sigma=0.9, gamma=1.3, mass_a=0.8, mass_b=1.4).sum()

    g_ent = jax.jit(jax.value_and_grad(gaussot_entropic, argnums=(0, 1, 2, 3)))
    o_ent = jax.jit(jax.value_and_grad(ott_loss, argnums=(0, 1, 2, 3)))
    inputs = (ea, eb, ema, emb)
    g_time, (g_value, g_grads) = timed(g_ent, inputs, args.repeats, jax)
    o_time, (o_value, o_grads) = timed(o_ent, inputs, args.repeats, jax)
    symmetric = lambda g: (g + np.swapaxes(g, -1, -2)) / 2  # noqa: E731
    grad_diffs = [relative(symmetric(np.asarray(x)), symmetric(np.asarray(y)))
                  for x, y in zip(g_grads[:2], o_grads[:2])]
    grad_diffs += [relative(x, y) for x, y in zip(g_grads[2:], o_grads[2:])]
    results["entropic"] = {"gaussot_s": g_time, "ott_s": o_time, "ratio": o_time / g_time,
                           "value_rel_diff": relative(g_value, o_value),
                           "grad_rel_diff": max(grad_diffs),
                           "ott_grad_finite": bool(all(np.isfinite(np.asarray(g)).all()
                                                       for g in o_grads))}

    # ---- rank-deficient inputs -------------------------------------------------------------------
    nan = {"pot_w2_nonfinite": 0, "gaussot_w2_refused": 0, "gaussot_w2_nonfinite": 0,
           "autodiff_fid_nonfinite": 0, "gaussot_fid_nonfinite": 0, "trials": args.nan_trials}
    small_d = 8
    for _ in range(args.nan_trials):
        a = rng.standard_normal((small_d, small_d - 2))
        b = rng.standard_normal((small_d, small_d - 2))
        cs, ct = a @ a.T, b @ b.T
        m1, m2 = rng.standard_normal(small_d), rng.standard_normal(small_d)
        grads = jax.grad(lambda c1, c2: ot.gaussian.bures_wasserstein_distance(
            jnp.asarray(m1), jnp.asarray(m2), c1, c2) ** 2, argnums=(0, 1))(jnp.asarray(cs),
                                                                           jnp.asarray(ct))
        nan["pot_w2_nonfinite"] += int(not all(np.isfinite(np.asarray(g)).all() for g in grads))
        try:
            grads = jax.grad(gj.w2_squared, argnums=(0, 1))(cs, ct, m1, m2)
            nan["gaussot_w2_nonfinite"] += int(not all(np.isfinite(np.asarray(g)).all()
                                                       for g in grads))
        except Exception as e:  # a refusal by name (InvalidArgument, through the callback)
            nan["gaussot_w2_refused"] += int("positive definite" in str(e) or "Invalid" in
                                             type(e).__name__ or "InvalidArgument" in str(e))
        x = jnp.asarray(rng.standard_normal((6, 16)))
        y = jnp.asarray(rng.standard_normal((40, 16)))
        nan["autodiff_fid_nonfinite"] += int(not np.isfinite(np.asarray(
            jax.grad(fid_autodiff)(x, y))).all())
        nan["gaussot_fid_nonfinite"] += int(not np.isfinite(np.asarray(
            jax.grad(lambda p, q: gj.frechet_distance(p, q))(x, y))).all())
    results["nan"] = nan

    w, f = results["w2"], results["fid"]
    print(f"# value + gradient, JAX {jax.__version__} on the CPU, float64, POT {ot.__version__}")
    print("| row | gaussot.jax | peer | peer / gaussot | agreement |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| W2², {k} pairs at d = {d} | {w['gaussot_s']:.3f} s | POT (JAX autodiff) "
          f"{w['pot_s']:.3f} s | {w['ratio']:.2f}x | value {w['value_rel_diff']:.1e}, gradient "
          f"{w['grad_rel_diff']:.1e} |")
    print(f"| FID loss, {args.generated} vs {args.reference} at d = {dim} | {f['gaussot_s']:.3f} s"
          f" | jnp eigh autodiff {f['autodiff_s']:.3f} s | {f['ratio']:.2f}x | value "
          f"{f['value_rel_diff']:.1e}; gradient finite: gaussot {f['gaussot_grad_finite']}, "
          f"autodiff {f['autodiff_grad_finite']} |")
    e = results["entropic"]
    print(f"| unbalanced entropic OT, {ke} pairs at d = {de} | {e['gaussot_s']:.3f} s | OTT-JAX "
          f"UnbalancedBures (jax.grad) {e['ott_s']:.3f} s | {e['ratio']:.2f}x | value "
          f"{e['value_rel_diff']:.1e}, gradient {e['grad_rel_diff']:.1e} |")
    print(f"rank-deficient inputs ({args.nan_trials} trials each): W2 with rank d − 2 covariances: "
          f"POT non-finite gradients {nan['pot_w2_nonfinite']}, gaussot refused by name "
          f"{nan['gaussot_w2_refused']} (non-finite {nan['gaussot_w2_nonfinite']}); FID of 6 "
          f"samples in d = 16: jnp autodiff non-finite {nan['autodiff_fid_nonfinite']}, gaussot "
          f"{nan['gaussot_fid_nonfinite']}")
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
