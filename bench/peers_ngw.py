#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Neural inner-product Gromov-Wasserstein between Gaussians: `gaussot ngw` against POT's discrete GW.

The shape of the Gaussian table of the Neural Gromov-Wasserstein paper (Nekrashevich, Korotin,
Burnaev): for each pair of dimensions (m, n) of --pairs (default 16x4, 64x16, 256x64), two centered
Gaussians μ = N(0, Σ_a) on R^m and ν = N(0, Σ_b) on R^n, Σ = Q diag(λ) Qᵀ with λ log-uniform in
[0.5, 2] and Q Haar orthogonal (QR of a Gaussian matrix, sign-fixed), seeded by
np.random.default_rng([--seed, m, n]); written as float64 C-order .npy files. The quantity is the
inner-product GW cost of a map T from μ to ν,

    cost(T) = E (<x, x'> - <T x, T x'>)²,   x, x' independent draws of μ,

whose minimum over couplings is IGW² = Σ_i (α_i - β_i)² (α, β the spectra of Σ_a, Σ_b sorted
decreasingly and zero-padded to the same length; no ½ factor). The closed form is computed here in
NumPy from the generated covariances and must equal gaussot's `igw_squared_closed_form` to 1e-10 relative
(1e-5 with --precision f32, where gaussot computes it in float), else the script fails (exit
status 1).

Methods, per pair:
  gaussot ngw    `gaussot ngw --a-cov A.npy --b-cov B.npy --steps S ...` (neural map T and potential
                 trained on fresh samples of the two Gaussians); reported: its time_ms, igw_squared_estimate
                 (U-statistic of cost(T) on --eval-samples fresh samples), igw_squared_closed_form and bw2_uvp
                 (100 W2²(fitted T#μ, ν) / (½ tr Σ_b), percent). Hidden widths of both networks:
                 --widths, "auto" = two layers of max(64, 2n).
  POT            ot.gromov.gromov_wasserstein(C1, C2, p, q, loss_fun='square_loss') on --pot-samples
                 (default 2000) draws X of μ and Y of ν with the Gram matrices C1 = X Xᵀ, C2 = Y Yᵀ
                 and uniform p, q. POT takes any symmetric similarity matrices; with square_loss it
                 minimises Σ_ijkl (C1_ik - C2_jl)² π_ij π_kl by conditional gradient from π = p qᵀ,
                 which is the discrete inner-product GW. Timed by wall clock (Gram matrices + solve).
                 --pot-emd-max-iter sets the network simplex's iteration limit per linearised problem
                 (numItermaxEmd, POT's default 100000); POT's warnings are counted in the JSON.
                 Reported:
      plan       the discrete cost of the returned plan. "all i,k" is POT's objective (it includes
                 the i = k terms, (|x_i|² - <y_j, y_l>)² π_ij π_il, a bias of order 1/N); "i≠k" drops
                 them and divides by Σ_{i≠k} p_i p_k = 1 - 1/N (the U-statistic convention). Both are
                 computed here from the plan (POT's own value is checked against the first).
      bary       the barycentric projection T(x_i) = Σ_j π_ij y_j / Σ_j π_ij: the U-statistic of
                 cost(T) on the same N points (in sample, i ≠ k; the projection exists only there)
                 and its BW2-UVP (Gaussian fitted to the N projected points, mean included).
  reference      (m ≥ n) the optimal linear map T* x = Q_b diag(√(β/α)) (Q_aᵀ x)[:n] evaluated by the
                 same N-point U-statistic on X: the sampling noise of an N-point estimate of IGW².
                 Also the BW2-UVP of the Gaussian fitted to Y itself: the N-sample floor of BW2-UVP.

Note that POT's plan between two independent N-point samples is in practice a permutation, so
its barycentric map pushes X exactly onto the sample Y: its BW2-UVP equals the N-sample floor and
says nothing about the alignment; its cost includes the matching error between independent samples,
which grows with n.

The relative error is (cost estimate - IGW²) / IGW² in percent (positive = above the optimum; a
map's population cost is never below IGW², estimates on samples can be).

Threads: --threads N (default 2) is passed to gaussot and, unless already set in the environment,
exported as OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS before NumPy is imported (POT's
dense products run in NumPy's BLAS; its network-simplex solver is single-threaded).

Needs NumPy; POT is optional (without it, or with --no-pot, the POT rows are skipped with a message);
SciPy is not used. Prints progress on stderr, a table on stdout, then one JSON line (gaussot's matrix
P shown by its shape only); --json FILE writes the whole JSON (indented). The load average is
recorded before each pair and after each method. Exit status: 0 fine, 1 closed-form mismatch or a
failing gaussot, 2 bad usage or NumPy missing.

  python3 bench/peers_ngw.py                                             # 16x4, 64x16, 256x64
  python3 bench/peers_ngw.py --pairs 16x4 --steps 500 --no-pot
  python3 bench/peers_ngw.py --steps 2000 --pair-steps 256x64=1000 --json out.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402
from peers_common import scalar  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GAUSSOT = REPO_ROOT / "build-cpu" / "apps" / "gaussot"
DEFAULT_PAIRS = "16x4,64x16,256x64"
CLOSED_FORM_TOLERANCE = {"f64": 1e-10, "f32": 1e-5}  # gaussot's igw_squared_closed_form vs NumPy, relative
POT_VALUE_TOLERANCE = 1e-8      # POT's gw_dist vs the cost recomputed here, relative
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ---- arguments -------------------------------------------------------------------------------

def parse_pair(text: str) -> tuple[int, int]:
    try:
        m, n = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MxN, got {text!r}") from None
    if m < 1 or n < 1:
        raise argparse.ArgumentTypeError(f"dimensions must be >= 1, got {text!r}")
    return m, n


def parse_pairs(text: str) -> list[tuple[int, int]]:
    return [parse_pair(part) for part in text.split(",") if part.strip()]


def parse_pair_steps(text: str) -> dict[tuple[int, int], int]:
    out = {}
    for item in text.split(","):
        if not item.strip():
            continue
        pair, _, steps = item.partition("=")
        if not steps:
            raise argparse.ArgumentTypeError(f"expected MxN=STEPS, got {item!r}")
        out[parse_pair(pair)] = int(steps)
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="gaussot ngw (neural inner-product GW map) vs POT's discrete GW on samples, "
                    "centered Gaussians of dimensions (m, n), against the closed form.")
    parser.add_argument("--pairs", type=parse_pairs, default=parse_pairs(DEFAULT_PAIRS),
                        help=f"comma-separated MxN dimension pairs (default: {DEFAULT_PAIRS})")
    parser.add_argument("--steps", type=int, default=2000, help="gaussot ngw --steps (default: 2000)")
    parser.add_argument("--pair-steps", type=parse_pair_steps, default={},
                        help="per-pair override of --steps, e.g. 256x64=1000")
    parser.add_argument("--widths", default="auto",
                        help='hidden widths of the map and potential networks, e.g. "64,64"; '
                             '"auto" (default): two layers of max(64, 2n)')
    parser.add_argument("--batch", type=int, default=256, help="gaussot ngw --batch (default: 256)")
    parser.add_argument("--eval-samples", type=int, default=65536,
                        help="gaussot ngw --eval-samples (default: 65536)")
    parser.add_argument("--precision", choices=("f64", "f32"), default="f64",
                        help="gaussot ngw --precision (default: f64)")
    parser.add_argument("--gaussot-args", default="--k-t 10 --k-f 1 --k-p 1 --lr-map 1e-3 "
                        "--lr-potential 1e-3 --p-step 0.01 --activation relu",
                        help="further arguments for gaussot ngw (default: %(default)s)")
    parser.add_argument("--pot-samples", type=int, default=2000,
                        help="samples per Gaussian for POT (default: 2000)")
    parser.add_argument("--pot-max-iter", type=int, default=10000,
                        help="max_iter of ot.gromov.gromov_wasserstein (default: 10000, POT's)")
    parser.add_argument("--pot-emd-max-iter", type=int, default=100000,
                        help="numItermaxEmd of POT's conditional gradient: the network simplex's "
                             "iteration limit per linearised problem (default: 100000, POT's)")
    parser.add_argument("--threads", type=int, default=2,
                        help="gaussot --threads and the BLAS thread count (default: 2)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the covariances, the POT samples and gaussot ngw's --seed and --model-seed "
                             "(default: 0)")
    parser.add_argument("--gaussot", type=Path, default=DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command (default: {DEFAULT_GAUSSOT})")
    parser.add_argument("--no-gaussot", action="store_true", help="skip gaussot")
    parser.add_argument("--no-pot", action="store_true", help="skip POT")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the .npy inputs here (default: a temporary directory)")
    args = parser.parse_args(argv)
    if not args.pairs:
        parser.error("--pairs is empty")
    for name in ("steps", "batch", "eval_samples", "pot_max_iter", "pot_emd_max_iter", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.pot_samples < 2:
        parser.error("--pot-samples must be >= 2")
    if args.widths != "auto":
        try:
            widths = [int(w) for w in args.widths.split(",")]
        except ValueError:
            parser.error(f"--widths: expected auto or comma-separated integers, got {args.widths!r}")
        if not widths or min(widths) < 1:
            parser.error("--widths: widths must be >= 1")
    return args


def widths_for(args, n: int) -> str:
    if args.widths != "auto":
        return args.widths
    w = max(64, 2 * n)
    return f"{w},{w}"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- inputs and closed form ------------------------------------------------------------------

def haar(np, rng, d: int):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))[None, :]


def gaussian(np, rng, d: int):
    """(covariance, eigenvalues decreasing, eigenvectors as columns)."""
    spectrum = np.sort(np.exp(rng.uniform(math.log(0.5), math.log(2.0), d)))[::-1]
    basis = haar(np, rng, d)
    cov = (basis * spectrum) @ basis.T
    return (cov + cov.T) / 2, spectrum, basis


def closed_form(np, alpha, beta) -> float:
    """IGW² of centered Gaussians from their spectra (any order; sorted and zero-padded here)."""
    size = max(len(alpha), len(beta))
    a = np.zeros(size)
    b = np.zeros(size)
    a[:len(alpha)] = np.sort(alpha)[::-1]
    b[:len(beta)] = np.sort(beta)[::-1]
    return float(np.sum((a - b) ** 2))


def sqrtm_psd(np, s):
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def w2_squared_to_centered(np, points, cov_b) -> float:
    """W2² between the Gaussian fitted to POINTS (mean and unbiased covariance) and N(0, cov_b)."""
    mean = points.mean(axis=0)
    centered = points - mean
    cov = centered.T @ centered / (len(points) - 1)
    root_b = sqrtm_psd(np, cov_b)
    cross = np.linalg.eigvalsh(root_b @ cov @ root_b)
    return float(mean @ mean + np.trace(cov) + np.trace(cov_b)
                 - 2 * np.sum(np.sqrt(np.clip(cross, 0.0, None))))


def bw2_uvp(np, points, cov_b) -> float:
    return 100.0 * w2_squared_to_centered(np, points, cov_b) / (0.5 * float(np.trace(cov_b)))


def u_statistic_cost(np, x, z) -> float:
    """(1 / (N(N-1))) Σ_{i≠k} (<x_i, x_k> - <z_i, z_k>)², z_i = T(x_i)."""
    d = x @ x.T - z @ z.T
    total = float(np.sum(d * d)) - float(np.sum(np.diag(d) ** 2))
    count = len(x)
    return total / (count * (count - 1))


# ---- gaussot ---------------------------------------------------------------------------------

def run_gaussot(args, a_path: Path, b_path: Path, m: int, n: int, steps: int) -> tuple[dict, float, list]:
    widths = widths_for(args, n)
    command = [str(args.gaussot), "ngw", "--a-cov", str(a_path), "--b-cov", str(b_path),
               "--steps", str(steps), "--batch", str(args.batch),
               "--map-widths", widths, "--potential-widths", widths,
               "--seed", str(args.seed), "--model-seed", str(args.seed),
               "--eval-samples", str(args.eval_samples), "--backend", "cpu",
               "--threads", str(args.threads), "--precision", args.precision]
    command += shlex.split(args.gaussot_args)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip() or "(no output)")[-2000:]
        raise RuntimeError(f"`gaussot ngw` exited with status {done.returncode}: {message}")
    try:
        return json.loads(done.stdout), wall, command
    except json.JSONDecodeError as e:
        raise RuntimeError(f"`gaussot ngw` printed no JSON ({e}): {done.stdout[:500]!r}") from None


# ---- POT -------------------------------------------------------------------------------------

def plan_costs(np, x, y, plan) -> dict:
    """Σ_ikjl (<x_i,x_k> - <y_j,y_l>)² π_ij π_kl with and without the i = k terms."""
    p, q = plan.sum(axis=1), plan.sum(axis=0)
    xtx = x.T @ (x * p[:, None])
    yty = y.T @ (y * q[:, None])
    xty = x.T @ plan @ y
    full = float(np.sum(xtx * xtx) + np.sum(yty * yty) - 2 * np.sum(xty * xty))
    # i = k: Σ_i Σ_jl (|x_i|² - <y_j,y_l>)² π_ij π_il
    #      = Σ_i |x_i|⁴ p_i² - 2 |x_i|² |Yᵀ π_i|² + π_iᵀ (C2∘C2) π_i
    norms = np.einsum("ij,ij->i", x, x)
    projected = plan @ y
    gram_b = y @ y.T
    quartic = np.einsum("ij,ij->i", plan @ (gram_b * gram_b), plan)
    diagonal = float(np.sum(norms ** 2 * p ** 2 - 2 * norms * np.einsum("ij,ij->i", projected, projected)
                            + quartic))
    return {"all_ik": full, "i_ne_k": (full - diagonal) / (1.0 - float(np.sum(p * p))),
            "diagonal_part": diagonal}


def run_pot(np, ot, args, m: int, n: int, a, b) -> dict:
    (_, alpha, basis_a), (cov_b, beta, basis_b) = a, b
    rng = np.random.default_rng([args.seed, m, n, 1])
    count = args.pot_samples
    x = (rng.standard_normal((count, m)) * np.sqrt(alpha)) @ basis_a.T
    y = (rng.standard_normal((count, n)) * np.sqrt(beta)) @ basis_b.T
    p = np.full(count, 1.0 / count)

    start = time.perf_counter()
    c1, c2 = x @ x.T, y @ y.T
    gram_s = time.perf_counter() - start
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan, log = ot.gromov.gromov_wasserstein(c1, c2, p, p, loss_fun="square_loss", log=True,
                                                max_iter=args.pot_max_iter,
                                                numItermaxEmd=args.pot_emd_max_iter)
    total_s = time.perf_counter() - start
    messages = sorted({str(w.message) for w in caught})
    for message in messages:
        progress(f"[{m}x{n}]   POT warning ({sum(str(w.message) == message for w in caught)}x): {message}")
    del c1, c2

    costs = plan_costs(np, x, y, plan)
    pot_value = float(log.get("gw_dist", float("nan")))
    projected = (plan @ y) / plan.sum(axis=1)[:, None]
    nonzero = int(np.count_nonzero(plan > 1e-12 / count))
    out = {
        "samples": count, "time_s": total_s, "gram_s": gram_s, "solve_s": total_s - gram_s,
        "iterations": len(log.get("loss", [])) - 1 if "loss" in log else None,
        "pot_gw_dist": pot_value, "emd_max_iter": args.pot_emd_max_iter,
        "warnings": {message: sum(str(w.message) == message for w in caught) for message in messages},
        "pot_gw_dist_rel_diff": abs(pot_value - costs["all_ik"]) / abs(costs["all_ik"]),
        "plan_cost_all_ik": costs["all_ik"], "plan_cost_i_ne_k": costs["i_ne_k"],
        "plan_cost_diagonal_part": costs["diagonal_part"],
        "plan_nonzeros": nonzero, "plan_is_permutation_like": nonzero == count,
        "marginal_error": float(max(np.abs(plan.sum(axis=1) - p).max(), np.abs(plan.sum(axis=0) - p).max())),
        "barycentric_u_statistic": u_statistic_cost(np, x, projected),
        "barycentric_bw2_uvp": bw2_uvp(np, projected, cov_b),
        "samples_b_bw2_uvp": bw2_uvp(np, y, cov_b),
    }
    if m >= n:
        scale = np.sqrt(beta / alpha[:n])
        optimal = ((x @ basis_a)[:, :n] * scale) @ basis_b.T
        out["optimal_map_u_statistic"] = u_statistic_cost(np, x, optimal)
        out["optimal_map_bw2_uvp"] = bw2_uvp(np, optimal, cov_b)
    return out


# ---- one pair --------------------------------------------------------------------------------

def relative_percent(value: float, reference: float) -> float:
    return 100.0 * (value - reference) / reference if reference != 0 else float("nan")


def run_pair(np, ot, args, m: int, n: int, workdir: Path) -> dict:
    tag = f"[{m}x{n}]"
    rng = np.random.default_rng([args.seed, m, n])
    a, b = gaussian(np, rng, m), gaussian(np, rng, n)
    a_path, b_path = workdir / f"ngw_a_{m}x{n}.npy", workdir / f"ngw_b_{m}x{n}.npy"
    np.save(a_path, np.ascontiguousarray(a[0], dtype=np.float64))
    np.save(b_path, np.ascontiguousarray(b[0], dtype=np.float64))
    exact = closed_form(np, np.linalg.eigvalsh(a[0]), np.linalg.eigvalsh(b[0]))
    case = {"m": m, "n": n, "closed_form_numpy": exact, "load_average_before": load_average(), "trace_a": float(np.trace(a[0])),
            "trace_b": float(np.trace(b[0])), "ok": True, "methods": {}}

    if not args.no_gaussot:
        steps = args.pair_steps.get((m, n), args.steps)
        progress(f"{tag} gaussot ngw --steps {steps} --map-widths {widths_for(args, n)}")
        try:
            document, wall, command = run_gaussot(args, a_path, b_path, m, n, steps)
            g = {"command": " ".join(command), "steps": steps, "widths": widths_for(args, n),
                 "process_wall_s": wall, "load_average_after": load_average(), "time_s": scalar(document["time_ms"]) / 1e3,
                 "igw_squared_estimate": scalar(document["igw_squared_estimate"]), "json": document}
            for field in ("igw_squared_closed_form", "bw2_uvp"):
                g[field] = scalar(document[field]) if field in document else None
            g["rel_error_percent"] = relative_percent(g["igw_squared_estimate"], exact)
            if g["igw_squared_closed_form"] is None:
                raise RuntimeError("`gaussot ngw` reported no igw_squared_closed_form for centered Gaussians")
            difference = abs(g["igw_squared_closed_form"] - exact) / abs(exact)
            g["closed_form_rel_diff_vs_numpy"] = difference
            tolerance = CLOSED_FORM_TOLERANCE[args.precision]
            if difference > tolerance:
                message = (f"{tag} CLOSED FORM MISMATCH: gaussot igw_squared_closed_form {g['igw_squared_closed_form']!r} "
                           f"vs NumPy {exact!r} (relative {difference:.3e} > {tolerance:g})")
                progress(message)
                case["error"] = message
                case["ok"] = False
            case["methods"]["gaussot"] = g
            progress(f"{tag}   {g['time_s']:.1f} s, estimate {g['igw_squared_estimate']:.6g} vs {exact:.6g} "
                     f"({g['rel_error_percent']:+.2f}%), BW2-UVP {g['bw2_uvp']}")
        except (RuntimeError, KeyError, TypeError, ValueError, OSError) as e:
            message = f"{tag} gaussot ngw failed: {e}"
            progress(message)
            case["methods"]["gaussot"] = {"error": str(e)}
            case["ok"] = False

    if ot is not None:
        progress(f"{tag} POT gromov_wasserstein on {args.pot_samples} samples")
        r = run_pot(np, ot, args, m, n, a, b)
        r["load_average_after"] = load_average()
        for key in ("plan_cost_all_ik", "plan_cost_i_ne_k", "barycentric_u_statistic",
                    "optimal_map_u_statistic"):
            if key in r:
                r[key + "_rel_error_percent"] = relative_percent(r[key], exact)
        if r["pot_gw_dist_rel_diff"] > POT_VALUE_TOLERANCE:
            progress(f"{tag}   note: POT's gw_dist {r['pot_gw_dist']:.10g} differs from the recomputed "
                     f"plan cost {r['plan_cost_all_ik']:.10g} (relative {r['pot_gw_dist_rel_diff']:.2e})")
        case["methods"]["pot"] = r
        progress(f"{tag}   {r['time_s']:.1f} s ({r['iterations']} iterations), plan cost i≠k "
                 f"{r['plan_cost_i_ne_k']:.6g}, barycentric {r['barycentric_u_statistic']:.6g}, "
                 f"BW2-UVP {r['barycentric_bw2_uvp']:.3g}%")
    return case


# ---- report ----------------------------------------------------------------------------------

def fmt(value, spec: str) -> str:
    """format(value, spec), or "-" right-aligned in the spec's width for a missing number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        width = re.match(r"[+ -]?(\d*)", spec).group(1)
        return "-".rjust(int(width) if width else 1)
    return format(value, spec)


def format_report(machine: dict, args, cases: list[dict]) -> str:
    lines = ["Inner-product GW between centered Gaussians: gaussot ngw vs POT (discrete, "
             f"{args.pot_samples} samples) vs the closed form",
             f"CPU: {machine['cpu_model']} ({machine['cpu_count']} logical CPUs, {machine['usable_cores']} "
             f"usable); load average before: {machine['load_average_before']}",
             f"Python {machine['python']}, NumPy {machine['numpy']}, POT {machine['pot'] or 'not used'}; "
             f"threads {args.threads} (gaussot --threads, BLAS: {machine['blas_thread_env']})",
             f"gaussot: {machine['gaussot']}; precision {args.precision}, batch {args.batch}, "
             f"eval samples {args.eval_samples}, extra: {args.gaussot_args}",
             "cost = E(<x,x'> - <Tx,Tx'>)² (U-statistic) or the discrete plan cost; closed form IGW² = "
             "Σ(α_i - β_i)²; rel err = (cost - IGW²)/IGW²", ""]
    head = (f"{'m':>4} {'n':>3}  {'method':<38} {'time [s]':>9} {'cost':>11} {'closed form':>11} "
            f"{'rel err %':>9} {'BW2-UVP %':>9}")
    lines += [head, "-" * len(head)]
    for case in cases:
        m, n, exact = case["m"], case["n"], case["closed_form_numpy"]

        def row(label, time_s, cost, uvp):
            rel = relative_percent(cost, exact) if cost is not None else None
            lines.append(f"{m:>4} {n:>3}  {label:<38} {fmt(time_s, '9.2f')} {fmt(cost, '11.5g')} "
                         f"{exact:>11.5g} {fmt(rel, '+9.2f')} {fmt(uvp, '9.3f')}")

        if not case["methods"]:
            row("(no method run: closed form only)", None, None, None)
        g = case["methods"].get("gaussot")
        if g is not None and "error" in g:
            lines.append(f"{m:>4} {n:>3}  gaussot ngw: FAILED ({g['error'][:200]})")
        elif g is not None:
            row(f"gaussot ngw ({g['steps']} steps, {g['widths']})", g["time_s"], g["igw_squared_estimate"],
                g["bw2_uvp"])
        r = case["methods"].get("pot")
        if r is not None:
            row("POT GW plan, all i,k", r["time_s"], r["plan_cost_all_ik"], None)
            row("POT GW plan, i≠k", None, r["plan_cost_i_ne_k"], None)
            row("POT barycentric map (in-sample U)", None, r["barycentric_u_statistic"],
                r["barycentric_bw2_uvp"])
            if "optimal_map_u_statistic" in r:
                row("ref: optimal map, same samples", None, r["optimal_map_u_statistic"],
                    r["optimal_map_bw2_uvp"])
            row(f"ref: Gaussian fit of {r['samples']} ν samples", None, None, r["samples_b_bw2_uvp"])
        if case.get("error"):
            lines.append(f"          {case['error']}")
    lines.append("")
    for case in cases:
        g = case["methods"].get("gaussot")
        if g and "error" not in g:
            lines.append(f"[{case['m']}x{case['n']}] gaussot: process wall {g['process_wall_s']:.2f} s, "
                         f"closed form vs NumPy {g['closed_form_rel_diff_vs_numpy']:.1e} relative")
        r = case["methods"].get("pot")
        if r:
            lines.append(f"[{case['m']}x{case['n']}] POT: {r['iterations']} CG iterations, Gram {r['gram_s']:.2f} s "
                         f"+ solve {r['solve_s']:.2f} s; plan nonzeros {r['plan_nonzeros']} "
                         f"(of {r['samples']}² entries), marginal error {r['marginal_error']:.1e}, "
                         f"gw_dist vs recomputed {r['pot_gw_dist_rel_diff']:.1e}, i=k part "
                         f"{r['plan_cost_diagonal_part']:.4g}")
            for message, count in r["warnings"].items():
                lines.append(f"[{case['m']}x{case['n']}] POT warned {count}x: {message}")
    if args.no_pot or machine["pot"] is None:
        lines.append("POT: skipped (" + ("--no-pot" if args.no_pot else "not installed") + ")")
    return "\n".join(lines)


# ---- main ------------------------------------------------------------------------------------

def load_average() -> str | None:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return None


def without_arrays(value):
    """VALUE with every list of lists (gaussot's matrix P) replaced by its shape: for the JSON line."""
    if isinstance(value, dict):
        return {k: without_arrays(v) for k, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], list):
        return f"<array {len(value)} x {len(value[0])}, in the --json file>"
    if isinstance(value, list):
        return [without_arrays(v) for v in value]
    return value


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for name in BLAS_VARIABLES:
        os.environ.setdefault(name, str(args.threads))
    try:
        import numpy as np
    except ImportError:
        print("peers_ngw.py: NumPy is required", file=sys.stderr)
        return 2
    ot = None
    if not args.no_pot:
        try:
            import ot
            import ot.gromov  # noqa: F401  (older POT versions do not import it eagerly)
        except ImportError:
            ot = None
            progress("peers_ngw.py: POT is not installed (pip install pot); skipping the POT rows")
    if not args.no_gaussot and not (args.gaussot.is_file() and os.access(args.gaussot, os.X_OK)):
        print(f"peers_ngw.py: no executable at {args.gaussot} (build gaussot, pass --gaussot PATH, "
              "or --no-gaussot)", file=sys.stderr)
        return 2

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    machine = {"cpu_model": common.cpu_model(), "cpu_count": os.cpu_count(), "usable_cores": usable,
               "platform": platform.platform(), "python": platform.python_version(),
               "numpy": np.__version__, "pot": getattr(ot, "__version__", None) if ot else None,
               "blas_thread_env": {k: os.environ[k] for k in BLAS_VARIABLES},
               "gaussot": None if args.no_gaussot else str(args.gaussot.resolve()),
               "load_average_before": load_average()}

    cases = []
    with tempfile.TemporaryDirectory(prefix="peers_ngw_") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        for m, n in args.pairs:
            cases.append(run_pair(np, ot, args, m, n, workdir))
    machine["load_average_after"] = load_average()

    print(format_report(machine, args, cases))
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
               if k not in ("pairs", "pair_steps")}
    options["pairs"] = [f"{m}x{n}" for m, n in args.pairs]
    options["pair_steps"] = {f"{m}x{n}": s for (m, n), s in args.pair_steps.items()}
    result = {"benchmark": "peers_ngw", "argv": sys.argv, "options": options, "machine": machine,
              "cases": cases, "ok": all(case["ok"] for case in cases)}
    print(json.dumps(without_arrays(result)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
