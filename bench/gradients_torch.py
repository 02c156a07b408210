#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Value + gradient through gaussot.torch against PyTorch autodiff (POT's torch backend, and
torch.linalg eigendecompositions), on the CPU (or --device cuda when there is one).

Rows (float64, deterministic from --seed; each timing the minimum of --repeats runs after one
warm-up call; forward and backward together):

  w2    W2² of --pairs paired Gaussians at d = --d (covariances A Aᵀ/d + 0.1 I, random means): the
        sum's value and its gradient with respect to both covariances and means.
        gaussot: gaussot.torch.w2_squared(...).sum().backward() (the closed-form gradient).
        POT: ot.gaussian.bures_wasserstein_distance(ms, mt, Cs, Ct, paired=True) on torch tensors
        (POT's torch backend: sqrtm by eigh), squared, summed, .backward().
  fid   FID as a loss: --generated samples against --reference samples at d = --fid-dim, the
        value and the gradient with respect to the generated samples.
        gaussot: gaussot.torch.frechet_distance (n < d: the samples path's polar factor).
        autodiff: the same FID in torch (means, covariances, torch.linalg.eigh of S_a,
        torch.linalg.eigvalsh of S_a^½ S_b S_a^½), .backward().
  nan   how often a gradient is non-finite on rank-deficient inputs: W2 between --nan-trials
        pairs of covariances of rank d − 2 (POT: NaN/Inf counted; gaussot.torch asked for both
        sides refuses by name; asked for one side against a fixed singular target it returns a
        finite gradient), and the FID of --nan-trials batches of 6 samples in d = 16 (torch
        autodiff against gaussot).

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
    p.add_argument("--nan-trials", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    return p.parse_args(argv)


def relative(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def main(argv):
    args = parse_args(argv)
    import ot
    import torch

    import gaussot
    import gaussot.torch as gt

    device = torch.device(args.device)

    def tensor(x, grad=True):
        return torch.tensor(x, dtype=torch.float64, device=device, requires_grad=grad)

    def timed(loss, inputs):
        """(seconds, value, gradients) of loss(*inputs) and its backward pass."""
        def run():
            for x in inputs:
                x.grad = None
            value = loss(*inputs)
            value.backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            return value.item(), [x.grad.cpu().numpy() for x in inputs]
        run()
        best = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = run()
            best = min(best, time.perf_counter() - t)
        return (best,) + out

    rng = np.random.default_rng(args.seed)
    results = {"setup": vars(args) | {"json": None}, "torch": torch.__version__,
               "pot": ot.__version__, "gaussot_blas": gaussot.info().get("blas"),
               "torch_threads": torch.get_num_threads()}

    # ---- W2² of paired Gaussians ----------------------------------------------------------------
    d, k = args.d, args.pairs
    a, b = rng.standard_normal((k, d, d)), rng.standard_normal((k, d, d))
    cs = a @ np.swapaxes(a, 1, 2) / d + 0.1 * np.eye(d)
    ct = b @ np.swapaxes(b, 1, 2) / d + 0.1 * np.eye(d)
    ms, mt = rng.standard_normal((k, d)), rng.standard_normal((k, d))
    inputs = [tensor(x) for x in (cs, ct, ms, mt)]
    g = timed(lambda c1, c2, m1, m2: gt.w2_squared(c1, c2, m1, m2).sum(), inputs)
    p = timed(lambda c1, c2, m1, m2: (ot.gaussian.bures_wasserstein_distance(
        m1, m2, c1, c2, paired=True) ** 2).sum(), inputs)
    results["w2"] = {"gaussot_s": g[0], "pot_s": p[0], "ratio": p[0] / g[0],
                     "value_rel_diff": relative(g[1], p[1]),
                     # POT differentiates the full matrices; compare symmetric parts.
                     "grad_rel_diff": max(relative((x + np.swapaxes(x, -1, -2)) / 2 if x.ndim == 3
                                                   else x,
                                                   (y + np.swapaxes(y, -1, -2)) / 2 if y.ndim == 3
                                                   else y) for x, y in zip(g[2], p[2]))}

    # ---- FID as a loss ---------------------------------------------------------------------------
    dim = args.fid_dim
    mix = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    real = tensor(rng.standard_normal((args.reference, dim)) @ mix, grad=False)
    generated = tensor(0.3 + rng.standard_normal((args.generated, dim)) @ mix)

    def fid_autodiff(x, y):
        mx, my = x.mean(0), y.mean(0)
        sx = (x - mx).T @ (x - mx) / (x.shape[0] - 1)
        sy = (y - my).T @ (y - my) / (y.shape[0] - 1)
        w, v = torch.linalg.eigh(sx)
        root = (v * torch.sqrt(torch.clamp(w, min=0))) @ v.T
        middle = torch.linalg.eigvalsh(root @ sy @ root)
        return (((mx - my) ** 2).sum() + torch.trace(sx) + torch.trace(sy)
                - 2 * torch.sqrt(torch.clamp(middle, min=0)).sum())

    g = timed(lambda x: gt.frechet_distance(x, real), [generated])
    a_ = timed(lambda x: fid_autodiff(x, real), [generated])
    results["fid"] = {"gaussot_s": g[0], "autodiff_s": a_[0], "ratio": a_[0] / g[0],
                      "value_rel_diff": relative(g[1], a_[1]),
                      "gaussot_grad_finite": bool(np.isfinite(g[2][0]).all()),
                      "autodiff_grad_finite": bool(np.isfinite(a_[2][0]).all())}

    # ---- rank-deficient inputs -------------------------------------------------------------------
    nan = {"pot_w2_nonfinite": 0, "gaussot_w2_refused": 0, "gaussot_w2_nonfinite": 0,
           "gaussot_w2_one_side_finite": 0, "autodiff_fid_nonfinite": 0,
           "gaussot_fid_nonfinite": 0, "trials": args.nan_trials}
    small_d = 8
    for _ in range(args.nan_trials):
        u = rng.standard_normal((small_d, small_d - 2))
        v = rng.standard_normal((small_d, small_d - 2))
        c1, c2 = tensor(u @ u.T), tensor(v @ v.T)
        m1, m2 = tensor(rng.standard_normal(small_d), False), tensor(rng.standard_normal(small_d),
                                                                      False)
        (ot.gaussian.bures_wasserstein_distance(m1, m2, c1, c2) ** 2).backward()
        nan["pot_w2_nonfinite"] += int(not (torch.isfinite(c1.grad).all()
                                            and torch.isfinite(c2.grad).all()))
        c1.grad = c2.grad = None
        try:
            gt.w2_squared(c1, c2, m1, m2).backward()
            nan["gaussot_w2_nonfinite"] += int(not (torch.isfinite(c1.grad).all()
                                                    and torch.isfinite(c2.grad).all()))
        except gaussot.InvalidArgument:
            nan["gaussot_w2_refused"] += 1
        # A positive definite model side against the fixed singular target: one side asked for.
        model = tensor(u @ u.T + 0.5 * np.eye(small_d))
        gt.w2_squared(model, c2.detach(), m1, m2).backward()
        nan["gaussot_w2_one_side_finite"] += int(torch.isfinite(model.grad).all())
        x = tensor(rng.standard_normal((6, 16)))
        y = tensor(rng.standard_normal((40, 16)), False)
        fid_autodiff(x, y).backward()
        nan["autodiff_fid_nonfinite"] += int(not torch.isfinite(x.grad).all())
        x.grad = None
        gt.frechet_distance(x, y).backward()
        nan["gaussot_fid_nonfinite"] += int(not torch.isfinite(x.grad).all())
    results["nan"] = nan

    w, f = results["w2"], results["fid"]
    print(f"# value + gradient, PyTorch {torch.__version__} ({device}, {torch.get_num_threads()} "
          f"threads), float64, POT {ot.__version__}")
    print("| row | gaussot.torch | peer | peer / gaussot | agreement |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| W2², {k} pairs at d = {d} | {w['gaussot_s']:.3f} s | POT (torch autodiff) "
          f"{w['pot_s']:.3f} s | {w['ratio']:.2f}x | value {w['value_rel_diff']:.1e}, gradient "
          f"{w['grad_rel_diff']:.1e} |")
    print(f"| FID loss, {args.generated} vs {args.reference} at d = {dim} | {f['gaussot_s']:.3f} s"
          f" | torch.linalg eigh autodiff {f['autodiff_s']:.3f} s | {f['ratio']:.2f}x | value "
          f"{f['value_rel_diff']:.1e}; gradient finite: gaussot {f['gaussot_grad_finite']}, "
          f"autodiff {f['autodiff_grad_finite']} |")
    print(f"rank-deficient inputs ({args.nan_trials} trials each): W2 with rank d − 2 covariances: "
          f"POT non-finite gradients {nan['pot_w2_nonfinite']}, gaussot refused by name "
          f"{nan['gaussot_w2_refused']} (non-finite {nan['gaussot_w2_nonfinite']}), gaussot one "
          f"side against the singular target finite {nan['gaussot_w2_one_side_finite']}; FID of "
          f"6 samples in d = 16: torch autodiff non-finite {nan['autodiff_fid_nonfinite']}, "
          f"gaussot {nan['gaussot_fid_nonfinite']}")
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
