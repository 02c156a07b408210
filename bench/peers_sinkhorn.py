#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Balanced entropic OT between two clouds of 4096 points: gaussot.sinkhorn (the Python module:
the C++ Sinkhorn, each algorithm of --algorithms: "scaling", the log-stabilised scaling iteration
with absorption over a cached kernel, and "log_domain", log-sum-exp over the cost matrix) against
POT's ot.sinkhorn, method "sinkhorn" (exp-domain Sinkhorn-Knopp, matrix-vector products with
K = exp(−M/ε)) and "sinkhorn_log" (log-domain, NumPy log-sum-exp over the full matrix), on the CPU.

Problem, per d in --d (default 2, 64): x ~ N(0, I_d), y ~ N(1, I_d), n = m = --n (default 4096)
points each, uniform weights, seeded by np.random.default_rng([--seed, d]); cost M = ‖x_i − y_j‖²
(unhalved, ot.dist's default), ε = 2σ² with σ from --sigma (default 0.25 for d = 2 and 1.0 for
d = 64: gaussot needs a few hundred iterations to reach 1e-6 there, so the problem is not trivial).

Measured, per solver:
  per_iteration  seconds per Sinkhorn iteration (one f- and one g-update, or one u- and one
                 v-update): (time of N2 iterations − time of N1 iterations) / (N2 − N1) with no
                 stopping (gaussot tolerance 0; POT stopThr 0), N1 = --short, N2 = --long
                 (defaults 10 and 60): set-up (gaussot's cost matrix, POT's K) cancels out.
  to_tolerance   wall seconds of one call that stops by itself at --tolerance (default 1e-6):
                 gaussot stops when ‖π1 − a‖₁ / Σa ≤ tol (checked every 10 iterations); POT checks
                 every 10 iterations ‖πᵀ1 − b‖₂ ≤ stopThr, and is given stopThr = tol/√n so that
                 its stop also implies an L1 error ≤ tol. gaussot's time includes forming its cost
                 matrix from the points; POT is given M (ot.dist, timed apart as "dist").
  ratio          (POT "sinkhorn" per_iteration) / (this solver's per_iteration): above 1, this
                 solver's iteration is the faster.
  The plan each returns is checked here in NumPy: its L1 marginal error ‖π1 − a‖₁ + ‖πᵀ1 − b‖₁
  and its value ⟨π, M⟩ + ε KL(π ‖ a⊗b) (the objective; gaussot's own 'value' is compared with
  this too).
Repeats: --repeats (default 3) and the minimum is reported. Threads: gaussot uses its OpenMP
default (one per core); NumPy/POT its BLAS default (OPENBLAS_NUM_THREADS etc., recorded).

--device cuda runs gaussot on the GPU (backend='cuda', host arrays copied in and out, included in
the time; the scaling algorithm is CPU only, so there only log_domain runs) and POT on torch CUDA tensors when torch with CUDA is installed; the module must have
the CUDA backend. --no-pot runs gaussot only; --pot-methods picks POT's methods. --precision f32 runs gaussot in float32 as well
(reported apart; POT stays float64).

Usage (from the repository root, the module installed in the venv, POT in it too):
  build/python-venv/bin/pip install pot
  build/python-venv/bin/python bench/peers_sinkhorn.py --json out.json | tee out.txt
Exit status: 0; 1 when gaussot's value disagrees with POT's (both converged) by more than
--agreement (default 1e-5 relative); 2 on bad usage or missing packages.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time


def machine():
    """Machine, date, commit and library versions, for the record."""
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "python": platform.python_version(),
            "platform": platform.platform()}
    try:
        info["lscpu"] = subprocess.run(["lscpu"], capture_output=True, text=True,
                                       timeout=10).stdout.splitlines()[:20]
    except (OSError, subprocess.SubprocessError):
        info["lscpu"] = []
    try:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        info["commit"] = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True,
                                        text=True, timeout=10).stdout.strip()
        info["dirty"] = bool(subprocess.run(["git", "-C", root, "status", "--porcelain"],
                                            capture_output=True, text=True,
                                            timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        info[name] = os.environ.get(name)
    return info


def timed(call, repeats):
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def check_plan(np, plan, a, b, m, eps):
    """L1 marginal error and the objective <pi, M> + eps KL(pi | a x b) of a plan, in NumPy."""
    plan = np.asarray(plan, dtype=np.float64)
    rows, cols = plan.sum(1), plan.sum(0)
    ab = np.outer(a, b)
    positive = plan > 0
    kl = np.sum(plan[positive] * np.log(plan[positive] / ab[positive])) - plan.sum() + ab.sum()
    return {"marginal_l1": float(np.abs(rows - a).sum() + np.abs(cols - b).sum()),
            "value": float(np.sum(plan * m) + eps * kl)}


def gaussot_plan(np, result, a, b, m, eps):
    f = np.asarray(result["f"], dtype=np.float64)
    g = np.asarray(result["g"], dtype=np.float64)
    return np.outer(a, b) * np.exp((f[:, None] + g[None, :] - m) / eps)


def to_host(np, value):
    if hasattr(value, "get"):  # cupy
        value = value.get()
    if hasattr(value, "cpu"):  # torch
        value = value.cpu().numpy()
    return np.asarray(value)


def run_case(args, np, ot, gaussot, torch, d, sigma):
    rng = np.random.default_rng([args.seed, d])
    n = args.n
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((n, d)) + 1.0
    a = np.full(n, 1.0 / n)
    b = np.full(n, 1.0 / n)
    eps = 2 * sigma * sigma
    backend = "cuda" if args.device == "cuda" else "cpu"
    rows = []

    dist_time, m = timed(lambda: ot.dist(x, y) if ot else
                         np.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1), 1)

    algorithms = [v for v in args.algorithms.split(",") if backend == "cpu" or v != "scaling"]
    for precision in ["f64"] + (["f32"] if args.precision == "f32" else []):
        dtype = np.float64 if precision == "f64" else np.float32
        xs, ys = x.astype(dtype), y.astype(dtype)
        for algorithm in algorithms:
            def call(iterations, tolerance):
                return gaussot.sinkhorn(xs, ys, sigma=sigma, tolerance=tolerance,
                                        max_iterations=iterations, check_every=10,
                                        algorithm=algorithm, backend=backend)
            call(args.short, 0.0)  # warm-up: threads, first touch of the buffers
            short, _ = timed(lambda: call(args.short, 0.0), args.repeats)
            long, _ = timed(lambda: call(args.long, 0.0), args.repeats)
            total, r = timed(lambda: call(args.max_iterations, args.tolerance), args.repeats)
            r = {k: to_host(np, v) for k, v in r.items()}
            check = check_plan(np, gaussot_plan(np, r, a, b, m, eps), a, b, m, eps)
            rows.append({"solver": "gaussot %s (%s, %s)" % (algorithm, backend, precision),
                         "per_iteration": (long - short) / (args.long - args.short),
                         "to_tolerance": total, "iterations": int(r["iterations"]),
                         "converged": bool(r["converged"]),
                         "absorptions": int(r["absorptions"]),
                         "reported_value": float(r["value"]),
                         "reported_error": float(r["marginal_error"]), **check})

    if ot is not None and not args.no_pot:
        mm, aa, bb = m, a, b
        where = "cpu"
        if args.device == "cuda":
            if torch is None or not torch.cuda.is_available():
                print("note: POT on CUDA needs torch with CUDA; POT runs on the CPU", file=sys.stderr)
            else:
                mm, aa, bb = (torch.from_numpy(v).cuda() for v in (m, a, b))
                where = "cuda (torch)"
        for method in args.pot_methods.split(","):
            def pot(iterations, threshold):
                plan = ot.sinkhorn(aa, bb, mm, eps, method=method, numItermax=iterations,
                                   stopThr=threshold, warn=False)
                if where != "cpu":
                    torch.cuda.synchronize()
                return plan
            repeats = args.repeats if method == "sinkhorn" else 1
            pot(args.short, 0.0)  # warm-up
            short, _ = timed(lambda: pot(args.short, 0.0), repeats)
            long, _ = timed(lambda: pot(args.long, 0.0), repeats)
            threshold = args.tolerance / math.sqrt(n)
            start = time.perf_counter()
            plan, log = ot.sinkhorn(aa, bb, mm, eps, method=method, numItermax=args.max_iterations,
                                    stopThr=threshold, log=True, warn=False)
            if where != "cpu":
                torch.cuda.synchronize()
            total = time.perf_counter() - start
            if repeats > 1:
                total = min(total, timed(lambda: pot(args.max_iterations, threshold),
                                         repeats - 1)[0])
            plan = to_host(np, plan)
            check = check_plan(np, plan, a, b, m, eps)
            iterations = int(log.get("niter", len(log.get("err", [])) * 10))
            rows.append({"solver": "POT %s (%s, f64)" % (method, where),
                         "per_iteration": (long - short) / (args.long - args.short),
                         "to_tolerance": total, "iterations": iterations,
                         "converged": iterations < args.max_iterations - 1,
                         "reported_value": None, "reported_error": None, **check})
    pot = [row for row in rows if row["solver"].startswith("POT sinkhorn (")]
    for row in rows:
        row["ratio"] = pot[0]["per_iteration"] / row["per_iteration"] if pot else None
    return {"d": d, "n": n, "sigma": sigma, "epsilon": eps, "dist_seconds": dist_time,
            "rows": rows}


def print_case(case):
    print("\nd = %d, n = m = %d, sigma = %g (eps = %g); ot.dist %.3f s" % (
        case["d"], case["n"], case["sigma"], case["epsilon"], case["dist_seconds"]))
    header = "%-34s %12s %9s %12s %6s %12s %20s %10s" % (
        "solver", "ms/iteration", "POT/this", "to tol (s)", "iters", "L1 marg err",
        "value (NumPy)", "vs first")
    print(header)
    print("-" * len(header))
    reference = case["rows"][0]["value"]
    for row in case["rows"]:
        ratio = "%9.2f" % row["ratio"] if row["ratio"] is not None else "%9s" % "-"
        print("%-34s %12.2f %s %12.3f %6d %12.2e %20.12f %10.1e" % (
            row["solver"], 1e3 * row["per_iteration"], ratio, row["to_tolerance"],
            row["iterations"], row["marginal_l1"], row["value"],
            abs(row["value"] - reference) / abs(reference)))
    first = case["rows"][0]
    print("gaussot's own value %.12f (vs NumPy evaluation of its plan: %.1e relative)" % (
        first["reported_value"], abs(first["reported_value"] - first["value"]) / abs(first["value"])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--d", default="2,64")
    parser.add_argument("--sigma", default=None,
                        help="comma-separated, one per d (default: 0.25 for d=2, 1.0 otherwise)")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--max-iterations", type=int, default=10000)
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("f64", "f32"), default="f64",
                        help="f32: also time gaussot in float32")
    parser.add_argument("--algorithms", default="scaling,log_domain",
                        help="gaussot algorithms to time, the first being the reference row")
    parser.add_argument("--no-pot", action="store_true")
    parser.add_argument("--pot-methods", default="sinkhorn,sinkhorn_log",
                        help="POT methods to run (sinkhorn_log is slow: one repeat only)")
    parser.add_argument("--agreement", type=float, default=1e-5)
    parser.add_argument("--json", help="write every number and the machine to this file")
    args = parser.parse_args()
    try:
        import numpy as np
        import gaussot
    except ImportError as e:
        print("peers_sinkhorn: needs NumPy and the gaussot module (%s)" % e, file=sys.stderr)
        return 2
    try:
        import ot
    except ImportError:
        if not args.no_pot:
            print("peers_sinkhorn: needs POT (pip install pot), or --no-pot", file=sys.stderr)
            return 2
        ot = None
    try:
        import torch
    except ImportError:
        torch = None
    if args.device == "cuda" and "cuda" not in gaussot.info()["backends"]:
        print("peers_sinkhorn: this gaussot module has no CUDA backend", file=sys.stderr)
        return 2
    ds = [int(v) for v in args.d.split(",")]
    sigmas = ([float(v) for v in args.sigma.split(",")] if args.sigma else
              [0.25 if d == 2 else 1.0 for d in ds])
    if len(sigmas) != len(ds):
        parser.error("--sigma needs one value per --d")
    record = {"machine": machine(), "args": vars(args),
              "versions": {"numpy": np.__version__, "pot": getattr(ot, "__version__", None),
                           "gaussot": gaussot.__version__}, "cases": []}
    print("peers_sinkhorn: %s; gaussot %s, POT %s, NumPy %s; commit %s%s" % (
        record["machine"]["date"], gaussot.__version__, record["versions"]["pot"], np.__version__,
        record["machine"].get("commit", "?"), " (dirty tree)" if record["machine"].get("dirty")
        else ""))
    status = 0
    for d, sigma in zip(ds, sigmas):
        case = run_case(args, np, ot, gaussot, torch, d, sigma)
        record["cases"].append(case)
        print_case(case)
        for row in case["rows"][1:]:
            if row["converged"] and case["rows"][0]["converged"]:
                if abs(row["value"] - case["rows"][0]["value"]) > args.agreement * abs(
                        case["rows"][0]["value"]):
                    print("DISAGREEMENT: %s" % row["solver"])
                    status = 1
    print(json.dumps(record))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    return status


if __name__ == "__main__":
    sys.exit(main())
