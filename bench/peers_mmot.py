#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Multimarginal Gaussian OT: `gaussot mmot` against an interior-point SDP and the fixed point.

The problem (reference formulas-bures-igw-mmot.md §6): p Gaussians N(m_i, S_i) on R^d, weights ρ,
value = min over couplings of E Σ_{i<j} ρ_iρ_j ‖X_i − X_j‖². Two cases (--cases, default both),
float64, inputs seeded by np.random.default_rng and written to .npy for the command:

  sdp           for d in --d (default 3, 8), for each weighting (--weightings: `ones`, ρ = 1, which
                is gaussot's default, so no --weights is passed; `weighted`, ρ_i ~ U(0.1, 1)), for p
                in --p (default 3, 5, 10, 20, 50, then 100 to 100000 in 1-2-5 steps, where only
                gaussot is expected to get within the time limit): covariances S_i = A_iA_iᵀ +
                0.1 I with A_i ~ N(0, 1)^{d×d} and means m_i ~ N(0, I) (reference §7.4; the same S_i,
                m_i for both weightings: rng([seed, d, p]); the weights from rng([seed, d, p, 1])).
                Methods, on the same files:
      sdp         the SDP of §6.1 in CVXPY: minimize −½ tr(W X) over X ⪰ 0 (pd × pd symmetric) with
                  X_ii = S_i, W = (ρρᵀ)⊗I_d, solved by CLARABEL (interior point; tol_gap_abs =
                  tol_gap_rel = tol_feas = --sdp-tol, default 1e-9) or SCS (--sdp-solver scs; ADMM,
                  eps_abs = eps_rel = --sdp-tol, max_iters 10⁷, so that the time limit stops it). It
                  runs in a child process (this script with --sdp-child) under a wall-clock limit
                  and an address-space limit (--sdp-memory-gb), so that it can be killed. Timed in
                  the child from building W and the CVXPY problem to the solution (interpreter start
                  and `import cvxpy` excluded), with CVXPY's own split: compilation_time and the
                  solver's solve_time. MMOT value from the optimum X*:
                      value = Σ_{i<j} ρ_iρ_j‖m_i − m_j‖² + (Σρ) Σ_i ρ_i tr S_i − tr(W X*)
                  (the §6.1 relation with weights: Σ_{i<j} ρ_iρ_j (tr S_i + tr S_j) = (Σρ)Σρ_i tr S_i −
                  Σρ_i² tr S_i, and tr(WX) = Σρ_i² tr S_i + 2 Σ_{i<j} ρ_iρ_j tr C_ij; the mean part is
                  computed as (Σρ) Σ ρ_i ‖m_i − m̄‖², m̄ = Σρ_i m_i / Σρ, which is the same sum).
                  Checked (`--cases formula`, p = 4, d = 3, random ρ ∈ U(0.2, 1.5) and means, seed 7,
                  CLARABEL at 1e-10): the formula gives 34.82876372893; the cost of the coupling
                  N(m, X*) computed block by block, Σ_{i<j} ρ_iρ_j (‖m_i − m_j‖² + tr X*_ii + tr X*_jj −
                  2 tr X*_ij), agrees to 2e-13; a Monte Carlo mean over 2·10⁶ draws of that coupling
                  gives 34.813 ± 0.018 (within one standard error); and the independent barycenter
                  route below gives 34.82876372167 (2e-10 relative: the SDP's accuracy).
      bm, fixed-point
                  `gaussot mmot --cov C.npy --mean M.npy [--weights R.npy] --solver bm|fixed-point
                  --backend cpu --precision f64 [--threads N]`, --repeats times (default 3; once
                  when the first run takes more than 2 s of wall time): its
                  "time_ms" (compute, reading the files excluded) and the process wall time;
                  value, dual_gap, rank, iterations (and the other scalar fields it prints).
      numpy       a reference that scales to every p: the Álvarez-Esteban et al. fixed point for the
                  W2 barycenter N(m̄, B) with weights λ = ρ/Σρ (§6.6, stacked np.linalg.eigh, start
                  Σλ_i S_i, stop at a relative Frobenius change ≤ 1e-13, at most 1000 updates) and
                      value = (Σρ) Σ_i ρ_i W2²(N(m_i, S_i), N(m̄, B))
                  (Σ_{i<j} ρ_iρ_j‖x_i − x_j‖² = (Σρ) Σ_i ρ_i ‖x_i − x̄‖² with x̄ = Σρ_i x_i / Σρ, and
                  the MMOT optimum is the barycenter coupling, Agueh–Carlier). Its time is shown for
                  information (NumPy at one iteration per step, not gaussot's stopping rule).
                Agreement: |value_gaussot − value_sdp| / max(1, |value_sdp|) ≤ --tolerance (default
                1e-6, the SDP's own accuracy), against the SDP where it was solved ("optimal"), else
                against the NumPy reference (where it converged); the barycenter mean and covariance
                of gaussot are compared with the NumPy reference too (shown, not judged).
                Time limit (--limit, default 60 s): per method, d and weighting, p stops growing once
                a method's run takes longer than the limit (SDP: construction + solve; gaussot: the
                process wall time; a run still going at limit + --grace is killed) or fails. Then,
                for ρ = 1 (`ones`), --refine steps (default 2) of bisection at the geometric mean
                between the largest p solved within the limit and the first p over it. The report
                gives, per method and d, the largest p solved within the limit (">= p" when the
                grid ended first) and the bracket. Ratios: SDP (construction + solve) / gaussot
                time_ms, and SDP solve alone / gaussot time_ms, of the minima.

  conditioning  p = --cond-p (10), d = --cond-d (5), for κ in --kappas (1, 10, 100, 1e3, 1e4), --draws
                (default 3) draws each: S_i = Q_i diag(geomspace(1, 1/κ, d)) Q_iᵀ with the spectrum
                rescaled to sum to d and Q_i Haar (QR of a Gaussian, sign-fixed), centered, ρ = 1
                (reference §7.4; rng([seed, 1381 + draw, round(log10 κ · 1000)])). Per draw: gaussot
                bm and fixed-point, --repeats times each (minimum of time_ms); --inits N > 1 runs bm
                from --seed 0..N-1 (when the command takes --seed); the SDP (once) and the NumPy
                reference for the value. Per κ: median [min, max] over the draws of the time, the
                iterations, the largest dual gap, and the ratio bm / fixed-point of the medians; the
                authors' medians (their Python, one BLAS thread) beside them for orientation.
                Agreement as above (against the SDP, else NumPy).

  formula       (not in the default list) the check of the value formula described above.

Threads: gaussot one per core unless --threads N; NumPy and the SDP solvers their defaults (the
environment sets them: OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS; recorded). The
authors timed with one BLAS thread: for that, set those to 1 and pass --threads 1.

Report: per case a table, the ratios of the minima, then one JSON line with all the numbers
(--json FILE writes them with the machine). Exit status: 0 agreement; 1 when a gaussot value
disagrees with the SDP (or the NumPy reference) beyond --tolerance or `gaussot mmot` fails (a run
killed at the time limit of the sdp case is not a failure: that is what the limit measures);
2 on bad usage, missing packages (NumPy; CVXPY and CLARABEL, or SCS with --sdp-solver scs) or no
gaussot executable.

Needs NumPy, SciPy, CVXPY and Clarabel (SCS optional), e.g. in the project's venv:

  build/python-venv/bin/pip install cvxpy clarabel scs
  build/python-venv/bin/python bench/peers_mmot.py --gaussot build-cpu/apps/gaussot       # everything
  build/python-venv/bin/python bench/peers_mmot.py --gaussot build-cpu/apps/gaussot \\
      --cases sdp --d 3 --p 3,5,10 --refine 0                                            # quick
  build/python-venv/bin/python bench/peers_mmot.py --gaussot build-cpu/apps/gaussot \\
      --cases conditioning --draws 1                                                     # quick
  build/python-venv/bin/python bench/peers_mmot.py --cases sdp --no-gaussot               # SDP only
  build/python-venv/bin/python bench/peers_mmot.py --cases formula

The whole default run should take 20-30 minutes on two quiet cores (bench/README.md: about 10 of
SDP, mostly the runs killed while looking for its limit, and 8 of gaussot's bm at p up to 10⁵).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402
from peers_common import blas_threads, scalar  # noqa: E402
from peers_igw import covariance, haar  # noqa: E402

CASES = ("sdp", "conditioning", "formula")
DEFAULT_CASES = ("sdp", "conditioning")
WEIGHTINGS = ("ones", "weighted")
SOLVERS = ("bm", "fixed-point")
SDP_SOLVERS = {"clarabel": "CLARABEL", "scs": "SCS"}
DEFAULT_P = (3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
DEFAULT_KAPPAS = (1.0, 10.0, 100.0, 1e3, 1e4)
CONDITIONING_TIMEOUT_S = 600.0  # one gaussot or SDP run of the conditioning case
REPEAT_BELOW_S = 2.0            # sdp case: a gaussot run slower than this is not repeated
REFERENCE_TOL = 1e-13           # NumPy fixed point: relative Frobenius change
REFERENCE_MAX_ITER = 1000
# The authors' medians for p = 10, d = 5 (reference §7.4; seconds; RGD, fixed point).
AUTHORS_KAPPA = {1.0: (0.0022, 0.00027), 10.0: (0.0024, 0.00095), 100.0: (0.0076, 0.00132),
                 1e3: (0.0316, 0.00235), 1e4: (0.1933, 0.00272)}


def int_list(text: str) -> list[int]:
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def float_list(text: str) -> list[float]:
    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v >= 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 1, got {text!r}")
    return values


def name_list(choices):
    def parse(text: str) -> list[str]:
        values = [item.strip() for item in text.split(",") if item.strip()]
        if not values or any(v not in choices for v in values):
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(choices)}, "
                                             f"got {text!r}")
        return list(dict.fromkeys(values))
    return parse


def physical_memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return 16.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Multimarginal Gaussian OT: gaussot mmot (bm, fixed-point) vs an SDP in CVXPY "
                    "(CLARABEL or SCS) and a NumPy fixed-point reference.")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(DEFAULT_CASES),
                        help="cases to run (default: sdp conditioning)")
    parser.add_argument("--p", type=int_list, default=list(DEFAULT_P), metavar="P1,P2,...",
                        help="sdp case: numbers of marginals, in growing order (default: "
                             + ",".join(map(str, DEFAULT_P)) + ")")
    parser.add_argument("--d", type=int_list, default=[3, 8], metavar="D1,D2,...",
                        help="sdp case: dimensions (default: 3,8)")
    parser.add_argument("--weightings", type=name_list(WEIGHTINGS), default=list(WEIGHTINGS),
                        metavar="ones,weighted", help="sdp case: weightings (default: both)")
    parser.add_argument("--limit", type=float, default=60.0,
                        help="sdp case: time limit per run in seconds (default: 60)")
    parser.add_argument("--grace", type=float, default=20.0,
                        help="a run is killed at limit + grace seconds (default: 20; covers the "
                             "child's interpreter start and `import cvxpy`)")
    parser.add_argument("--refine", type=int, default=2,
                        help="sdp case, ρ = 1: bisection steps between the last p within the limit "
                             "and the first over it (default: 2)")
    parser.add_argument("--kappas", type=float_list, default=list(DEFAULT_KAPPAS), metavar="K1,K2,...",
                        help="conditioning case: condition numbers (default: 1,10,100,1e3,1e4)")
    parser.add_argument("--cond-p", type=int, default=10, help="conditioning case: p (default: 10)")
    parser.add_argument("--cond-d", type=int, default=5, help="conditioning case: d (default: 5)")
    parser.add_argument("--draws", type=int, default=3,
                        help="conditioning case: covariance draws per κ (default: 3)")
    parser.add_argument("--inits", type=int, default=1,
                        help="conditioning case: bm runs from --seed 0..N-1 per draw (default: 1, "
                             "the command's default seed)")
    parser.add_argument("--solvers", type=name_list(SOLVERS), default=list(SOLVERS),
                        metavar="bm,fixed-point", help="gaussot solvers to run (default: both)")
    parser.add_argument("--sdp-solver", choices=sorted(SDP_SOLVERS), default="clarabel",
                        help="the SDP solver (default: clarabel)")
    parser.add_argument("--sdp-tol", type=float, default=1e-9,
                        help="the SDP solver's tolerances (default: 1e-9)")
    parser.add_argument("--sdp-memory-gb", type=float, default=round(physical_memory_gb() / 2, 1),
                        help="address-space limit of the SDP child in GB (default: half the memory)")
    parser.add_argument("--no-sdp", action="store_true", help="skip the SDP")
    parser.add_argument("--no-gaussot", action="store_true", help="skip gaussot (SDP and NumPy only)")
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="agreement bar, relative to max(1, |value|) (default: 1e-6)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="gaussot runs per instance; the minimum is reported (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of np.random.default_rng (default: 0)")
    parser.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command (default: {common.DEFAULT_GAUSSOT})")
    parser.add_argument("--threads", type=int, default=None,
                        help="passed to gaussot as --threads N (default: gaussot's, one per core)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the inputs and the SDP results here (default: a temporary directory)")
    # Internal: the SDP in a child process (see the module docstring).
    parser.add_argument("--sdp-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cov", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mean", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--weights", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sdp_child:
        if args.cov is None or args.result is None:
            parser.error("--sdp-child needs --cov and --result")
        return args
    for name in ("cond_p", "draws", "inits", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.cond_p < 2 or min(args.p) < 2:
        parser.error("MMOT needs p >= 2 marginals")
    if args.cond_d < 1:
        parser.error("--cond-d must be >= 1")
    if args.p != sorted(set(args.p)):
        parser.error("--p must be strictly increasing")
    for name in ("limit", "grace", "sdp_tol", "sdp_memory_gb", "tolerance"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            parser.error(f"--{name.replace('_', '-')} must be a positive number")
    if args.refine < 0:
        parser.error("--refine must be >= 0")
    if args.threads is not None and args.threads < 0:
        parser.error("--threads must be >= 0")
    if args.no_gaussot:
        args.solvers = []
    args.cases = list(dict.fromkeys(args.cases))
    return args


# ---- inputs ----------------------------------------------------------------------------------

def random_instance(np, p: int, d: int, seed: int):
    """§7.4's "None" family: S_i = A_iA_iᵀ + 0.1 I, A_i ~ N(0, 1); means m_i ~ N(0, I)."""
    rng = np.random.default_rng([seed, d, p])
    a = rng.standard_normal((p, d, d))
    cov = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(d)
    return (cov + cov.transpose(0, 2, 1)) / 2, rng.standard_normal((p, d))


def random_weights(np, p: int, d: int, seed: int):
    return np.random.default_rng([seed, d, p, 1]).uniform(0.1, 1.0, p)


def conditioned_covariances(np, p: int, d: int, kappa: float, seed: int, draw: int):
    """§7.4's conditioned family: Q_i diag(geomspace(1, 1/κ, d)) Q_iᵀ, spectrum summing to d."""
    rng = np.random.default_rng([seed, 1381 + draw, int(round(math.log10(kappa) * 1000))])
    spectrum = np.geomspace(1.0, 1.0 / kappa, d)
    spectrum *= d / spectrum.sum()
    return covariance(np, haar(np, rng, d, p), spectrum)


def save_instance(np, workdir: Path, stem: str, cov, mean=None, weights=None) -> dict:
    paths = {"cov": workdir / f"{stem}_cov.npy"}
    np.save(paths["cov"], cov)
    if mean is not None:
        paths["mean"] = workdir / f"{stem}_mean.npy"
        np.save(paths["mean"], mean)
    if weights is not None:
        paths["weights"] = workdir / f"{stem}_weights.npy"
        np.save(paths["weights"], weights)
    return paths


# ---- the NumPy reference (barycenter route) ----------------------------------------------------

def numpy_reference(np, cov, mean, weights) -> dict:
    """W2 barycenter by the Álvarez-Esteban et al. fixed point, and the MMOT value from it."""
    start = time.perf_counter()
    p, d = cov.shape[0], cov.shape[1]
    mean = np.zeros((p, d)) if mean is None else mean
    rho = np.ones(p) if weights is None else weights
    lam = rho / rho.sum()
    b = np.einsum("i,ijk->jk", lam, cov)
    change, iterations = math.inf, 0
    while iterations < REFERENCE_MAX_ITER:
        w, v = np.linalg.eigh(b)
        root, inverse_root = (v * np.sqrt(w)) @ v.T, (v / np.sqrt(w)) @ v.T
        middle = np.einsum("i,ijk->jk", lam, common.numpy_stacked(np, root @ cov @ root))
        updated = inverse_root @ middle @ middle @ inverse_root
        updated = (updated + updated.T) / 2
        change = float(np.linalg.norm(updated - b) / np.linalg.norm(b))
        b, iterations = updated, iterations + 1
        if change <= REFERENCE_TOL:
            break
    w, v = np.linalg.eigh(b)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.trace(common.numpy_stacked(np, root @ cov @ root), axis1=1, axis2=2)
    mbar = lam @ mean
    w2 = (np.sum((mean - mbar) ** 2, axis=1) + np.trace(cov, axis1=1, axis2=2) + np.trace(b)
          - 2 * cross)
    value = float(rho.sum() * (rho @ w2))
    return {"value": value, "barycenter_mean": mbar.tolist(), "barycenter_cov": b.tolist(),
            "iterations": iterations, "last_change": change,
            "converged": bool(change <= REFERENCE_TOL), "time_s": time.perf_counter() - start}


# ---- the SDP (child process) -------------------------------------------------------------------

def sdp_problem(np, cp, cov, weights):
    """CVXPY problem of §6.1: minimize −½ tr(W X), X ⪰ 0, X_ii = S_i, W = (ρρᵀ)⊗I_d."""
    p, d = cov.shape[0], cov.shape[1]
    n = p * d
    w = np.kron(np.outer(weights, weights), np.eye(d))
    x = cp.Variable((n, n), symmetric=True)
    constraints = [x >> 0] + [x[i * d:(i + 1) * d, i * d:(i + 1) * d] == cov[i] for i in range(p)]
    return cp.Problem(cp.Minimize(-0.5 * cp.sum(cp.multiply(w, x))), constraints), x, w


def sdp_solve(cp, problem, solver: str, tol: float) -> None:
    if solver == "clarabel":
        problem.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    else:
        problem.solve(solver=cp.SCS, eps_abs=tol, eps_rel=tol, max_iters=10_000_000)


def sdp_value(np, cov, mean, weights, x_value, w) -> dict:
    """The MMOT value from the SDP optimum X* (module docstring), with its parts."""
    d = cov.shape[1]
    lam = weights / weights.sum()
    mbar = lam @ mean
    mean_term = float(weights.sum() * (weights @ np.sum((mean - mbar) ** 2, axis=1)))
    trace_term = float(weights.sum() * (weights @ np.trace(cov, axis1=1, axis2=2)))
    trace_wx = float(np.sum(w * x_value))
    lift = np.kron(lam[:, None], np.eye(d))  # (pd, d): B = Σ λ_iλ_j C_ij
    return {"value": mean_term + trace_term - trace_wx, "mean_term": mean_term,
            "trace_term": trace_term, "trace_wx": trace_wx,
            "barycenter_cov": (lift.T @ x_value @ lift).tolist()}


def sdp_child(args) -> int:
    import resource

    import numpy as np
    limit = int(args.sdp_memory_gb * 1e9)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import cvxpy as cp

    cov = np.load(args.cov)
    p, d = cov.shape[0], cov.shape[1]
    mean = np.load(args.mean) if args.mean else np.zeros((p, d))
    weights = np.load(args.weights) if args.weights else np.ones(p)
    start = time.perf_counter()
    problem, x, w = sdp_problem(np, cp, cov, weights)
    try:
        sdp_solve(cp, problem, args.sdp_solver, args.sdp_tol)
        error = None
    except cp.error.SolverError as e:
        error = str(e)
    total = time.perf_counter() - start
    stats = problem.solver_stats
    result = {"status": problem.status if error is None else "solver_error", "error": error,
              "total_s": total, "compile_s": problem.compilation_time,
              "solve_s": getattr(stats, "solve_time", None), "solver_iterations": getattr(stats, "num_iters", None),
              "objective": problem.value if error is None else None, "n": p * d,
              "variables": problem.size_metrics.num_scalar_variables,
              "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3}
    if x.value is not None:
        xv = (x.value + x.value.T) / 2
        result.update(sdp_value(np, cov, mean, weights, xv, w))
        eig = np.linalg.eigvalsh(xv)[::-1]
        result["rank"] = int(np.sum(eig > 1e-6 * eig[0]))
        result["eigenvalues_top"] = eig[:d + 2].tolist()
        result["min_eigenvalue"] = float(eig[-1])
        result["feasibility"] = max(float(np.linalg.norm(xv[i * d:(i + 1) * d, i * d:(i + 1) * d] - cov[i])
                                          / np.linalg.norm(cov[i])) for i in range(p))
    args.result.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0


def run_sdp(args, paths: dict, timeout: float, workdir: Path, stem: str) -> dict:
    """The SDP child on the instance's files; kills it after `timeout` seconds."""
    result_path = workdir / f"{stem}_sdp.json"
    result_path.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--sdp-child", "--cov", str(paths["cov"]),
               "--result", str(result_path), "--sdp-solver", args.sdp_solver,
               "--sdp-tol", repr(args.sdp_tol), "--sdp-memory-gb", repr(args.sdp_memory_gb)]
    for name in ("mean", "weights"):
        if name in paths:
            command += [f"--{name}", str(paths[name])]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return {"status": "killed", "solved": False, "over_limit": True,
                "wall_s": time.perf_counter() - start,
                "error": f"still running after {timeout:.0f} s, killed"}
    wall = time.perf_counter() - start
    if child.returncode != 0 or not result_path.is_file():
        message = (err.strip() or out.strip() or "(no output)")[-1500:]
        if "MemoryError" in message or "memory allocation" in message or child.returncode == -6:
            message = f"out of memory under --sdp-memory-gb {args.sdp_memory_gb:g}? " + message
        return {"status": "failed", "solved": False, "over_limit": False, "wall_s": wall,
                "error": f"exit status {child.returncode}: {message}"}
    result = json.loads(result_path.read_text(encoding="utf-8"))
    result["wall_s"] = wall
    result["solved"] = result["status"] == "optimal" and "value" in result
    result["over_limit"] = False
    return result


# ---- gaussot -----------------------------------------------------------------------------------

def run_gaussot(args, paths: dict, solver: str, timeout: float, seed: int | None = None) -> dict:
    """`gaussot mmot` once; RuntimeError with its message when it fails, TimeoutError when killed."""
    command = [str(args.gaussot), "mmot", "--cov", str(paths["cov"]), "--solver", solver,
               "--backend", "cpu", "--precision", "f64"]
    for name in ("mean", "weights"):
        if name in paths:
            command += [f"--{name}", str(paths[name])]
    if seed is not None:
        command += ["--seed", str(seed)]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"still running after {timeout:.0f} s, killed") from None
    wall = time.perf_counter() - start
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip() or "(no output)")[-2000:]
        raise RuntimeError(f"`gaussot mmot` failed: {' '.join(command)} exited with status "
                           f"{done.returncode}:\n{message}")
    try:
        document = json.loads(done.stdout)
        result = {"time_s": scalar(document["time_ms"]) / 1e3, "wall_s": wall,
                  "value": scalar(document["value"]), "dual_gap": scalar(document["dual_gap"]),
                  "rank": int(scalar(document["rank"])), "iterations": int(scalar(document["iterations"])),
                  "solver": document.get("solver"),
                  "barycenter_mean": document["barycenter_mean"],
                  "barycenter_cov": document["barycenter_cov"]}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise RuntimeError(f"`gaussot mmot` printed unexpected JSON ({type(e).__name__}: {e}): "
                           f"{done.stdout[:500]!r}") from None
    for key, value in document.items():  # other scalar fields (stop_reason, feasibility, ...)
        if key not in result and key not in ("command", "backend", "precision", "time_ms") and \
                isinstance(value, (int, float, str, bool)):
            result[key] = value
    return result


def gaussot_repeated(args, paths: dict, solver: str, timeout: float, limit: float | None,
                     seed: int | None = None) -> dict:
    """--repeats runs (only one when the first is over the limit): the minima and the last result."""
    runs = []
    for _ in range(args.repeats):
        runs.append(run_gaussot(args, paths, solver, timeout, seed))
        if limit is not None and runs[0]["wall_s"] > min(limit, REPEAT_BELOW_S):
            break
    result = dict(runs[-1])
    times, walls = [r["time_s"] for r in runs], [r["wall_s"] for r in runs]
    result.update({"min_s": min(times), "median_s": statistics.median(times), "times_s": times,
                   "wall_min_s": min(walls), "wall_s": walls[0], "runs": len(runs),
                   "values_spread": max(r["value"] for r in runs) - min(r["value"] for r in runs)})
    return result


def barycenter_errors(np, result: dict, reference: dict) -> dict:
    bm, rm = np.asarray(result["barycenter_mean"], float), np.asarray(reference["barycenter_mean"], float)
    bc, rc = np.asarray(result["barycenter_cov"], float), np.asarray(reference["barycenter_cov"], float)
    return {"barycenter_mean_err": float(np.linalg.norm(bm - rm) / max(1.0, np.linalg.norm(rm))),
            "barycenter_cov_err": float(np.linalg.norm(bc - rc) / np.linalg.norm(rc))}


def judge(result: dict, sdp: dict | None, reference: dict, tolerance: float) -> None:
    """Adds the agreement of a gaussot result with the SDP (else the NumPy reference)."""
    if sdp is not None and sdp.get("solved"):
        against, target = "sdp", sdp["value"]
    elif reference["converged"]:
        against, target = "numpy", reference["value"]
    else:
        result.update({"judged_against": None, "rel_diff": None, "agree": True})
        return
    diff = abs(result["value"] - target) / max(1.0, abs(target))
    result.update({"judged_against": against, "rel_diff": diff, "agree": bool(diff <= tolerance),
                   "rel_diff_vs_numpy": abs(result["value"] - reference["value"])
                   / max(1.0, abs(reference["value"]))})


# ---- the sdp case --------------------------------------------------------------------------------

def run_instance(np, args, workdir: Path, p: int, d: int, weighting: str, methods: list[str]) -> dict:
    tag = f"[sdp d={d} p={p} {weighting}]"
    cov, mean = random_instance(np, p, d, args.seed)
    weights = random_weights(np, p, d, args.seed) if weighting == "weighted" else None
    stem = f"sdp_d{d}_p{p}_{weighting}"
    paths = save_instance(np, workdir, stem, cov, mean, weights)
    reference = numpy_reference(np, cov, mean, weights)
    row = {"p": p, "d": d, "weighting": weighting, "numpy": reference, "methods": {}}
    timeout = args.limit + args.grace
    sdp = None
    if "sdp" in methods:
        common.progress(f"{tag} SDP ({args.sdp_solver}, n = {p * d})")
        sdp = run_sdp(args, paths, timeout, workdir, stem)
        if sdp.get("total_s") is not None and sdp["total_s"] > args.limit:
            sdp["over_limit"] = True
        sdp["within_limit"] = bool(sdp["solved"] and not sdp["over_limit"])
        if sdp.get("solved"):
            sdp["rel_diff_vs_numpy"] = abs(sdp["value"] - reference["value"]) / max(1.0, abs(reference["value"]))
        row["methods"]["sdp"] = sdp
    for solver in (m for m in methods if m in SOLVERS):
        common.progress(f"{tag} gaussot mmot --solver {solver} x{args.repeats}")
        try:
            result = gaussot_repeated(args, paths, solver, timeout, args.limit)
        except TimeoutError as e:
            row["methods"][solver] = {"status": "killed", "error": str(e), "over_limit": True,
                                      "within_limit": False, "agree": True}
            continue
        except RuntimeError as e:
            common.progress(f"peers_mmot.py: {e}")
            row["methods"][solver] = {"status": "failed", "error": str(e), "over_limit": False,
                                      "within_limit": False, "agree": False}
            continue
        judge(result, sdp, reference, args.tolerance)
        result.update(barycenter_errors(np, result, reference))
        result["status"] = "ok"
        result["over_limit"] = result["wall_s"] > args.limit
        result["within_limit"] = bool(not result["over_limit"] and result["agree"])
        row["methods"][solver] = result
    if sdp is not None and sdp.get("total_s") is not None and sdp.get("solved"):
        for solver in SOLVERS:
            g = row["methods"].get(solver)
            if g and g.get("status") == "ok":
                row.setdefault("ratios_of_minima", {})[f"sdp/{solver}"] = sdp["total_s"] / g["min_s"]
                if sdp.get("solve_s"):
                    row["ratios_of_minima"][f"sdp_solve/{solver}"] = sdp["solve_s"] / g["min_s"]
    return row


def why_not(result: dict) -> str:
    """Why a run does not count as solved within the limit."""
    if result.get("over_limit"):
        return "over the limit" if result.get("status") != "killed" else "killed at limit + grace"
    if result.get("status") not in ("ok", "optimal"):
        return str(result.get("status"))
    return "disagrees"


def run_sdp_case(np, args, workdir: Path) -> dict:
    methods = ([] if args.no_sdp else ["sdp"]) + list(args.solvers)
    rows, frontier = [], {}
    for d in args.d:
        for weighting in args.weightings:
            active = list(methods)
            status = {m: {"largest": None, "first_over": None, "why": None} for m in methods}
            for p in args.p:
                if not active:
                    break
                row = run_instance(np, args, workdir, p, d, weighting, active)
                rows.append(row)
                for m in list(active):
                    if row["methods"][m]["within_limit"]:
                        status[m]["largest"] = p
                    else:
                        status[m].update(first_over=p, why=why_not(row["methods"][m]))
                        active.remove(m)
            if weighting == "ones":
                for m in methods:
                    s = status[m]
                    for _ in range(args.refine):
                        lo, hi = s["largest"], s["first_over"]
                        if lo is None or hi is None or hi - lo <= 1:
                            break
                        mid = min(max(int(round(math.sqrt(lo * hi))), lo + 1), hi - 1)
                        row = run_instance(np, args, workdir, mid, d, weighting, [m])
                        row["refinement_of"] = m
                        rows.append(row)
                        if row["methods"][m]["within_limit"]:
                            s["largest"] = mid
                        else:
                            s.update(first_over=mid, why=why_not(row["methods"][m]))
            for m in methods:
                frontier[f"{m}/d={d}/{weighting}"] = {
                    "method": m, "d": d, "weighting": weighting, **status[m],
                    "grid_end": status[m]["first_over"] is None}
    agree = all(r.get("agree", True) for row in rows for name, r in row["methods"].items() if name != "sdp")
    return {"case": "sdp", "limit_s": args.limit, "sdp_solver": args.sdp_solver, "sdp_tol": args.sdp_tol,
            "tolerance": args.tolerance, "repeats": args.repeats, "seed": args.seed, "rows": rows,
            "largest_within_limit": frontier, "agree": bool(agree)}


# ---- the conditioning case ---------------------------------------------------------------------

def gaussot_takes_seed(gaussot: Path) -> bool:
    try:
        done = subprocess.run([str(gaussot), "mmot", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--seed" in done.stdout + done.stderr


def run_conditioning(np, args, workdir: Path) -> dict:
    p, d = args.cond_p, args.cond_d
    seeds = [None] if args.inits == 1 else list(range(args.inits))
    if args.inits > 1 and args.solvers and "bm" in args.solvers and not gaussot_takes_seed(args.gaussot):
        raise RuntimeError("--inits > 1 needs `gaussot mmot --seed`, which this gaussot does not list")
    rows = []
    for kappa in args.kappas:
        draws = []
        for draw in range(args.draws):
            tag = f"[conditioning κ={kappa:g} draw {draw}]"
            cov = conditioned_covariances(np, p, d, kappa, args.seed, draw)
            paths = save_instance(np, workdir, f"cond_k{kappa:g}_draw{draw}", cov)
            reference = numpy_reference(np, cov, None, None)
            entry = {"draw": draw, "numpy": reference, "runs": {}}
            sdp = None
            if not args.no_sdp:
                common.progress(f"{tag} SDP ({args.sdp_solver})")
                sdp = run_sdp(args, paths, CONDITIONING_TIMEOUT_S, workdir, f"cond_k{kappa:g}_draw{draw}")
                entry["sdp"] = sdp
            for solver in args.solvers:
                runs = []
                for seed in (seeds if solver == "bm" else [None]):
                    common.progress(f"{tag} gaussot mmot --solver {solver}"
                                    + (f" --seed {seed}" if seed is not None else "") + f" x{args.repeats}")
                    try:
                        result = gaussot_repeated(args, paths, solver, CONDITIONING_TIMEOUT_S, None, seed)
                    except (RuntimeError, TimeoutError) as e:
                        common.progress(f"peers_mmot.py: {e}")
                        runs.append({"seed": seed, "status": "failed", "error": str(e), "agree": False})
                        continue
                    judge(result, sdp, reference, args.tolerance)
                    result.update(barycenter_errors(np, result, reference))
                    result.update({"seed": seed, "status": "ok"})
                    runs.append(result)
                entry["runs"][solver] = runs
            draws.append(entry)
        row = {"kappa": kappa, "draws": draws, "summary": {}}
        for solver in args.solvers:
            ok = [r for entry in draws for r in entry["runs"][solver] if r["status"] == "ok"]
            if not ok:
                continue
            times = [r["min_s"] for r in ok]
            iterations = [r["iterations"] for r in ok]
            diffs = [r["rel_diff"] for r in ok if r["rel_diff"] is not None]
            row["summary"][solver] = {
                "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
                "iterations_median": statistics.median(iterations), "iterations_min": min(iterations),
                "iterations_max": max(iterations), "dual_gap_max": max(r["dual_gap"] for r in ok),
                "ranks": sorted({r["rank"] for r in ok}), "rel_diff_max": max(diffs) if diffs else None,
                "judged_against": sorted({r["judged_against"] for r in ok if r["judged_against"]}),
                "stop_reasons": sorted({str(r["stop_reason"]) for r in ok if "stop_reason" in r}),
                "runs": len(ok)}
        s = row["summary"]
        if "bm" in s and "fixed-point" in s:
            row["ratio_bm/fixed-point"] = s["bm"]["median_s"] / s["fixed-point"]["median_s"]
        if (p, d) == (10, 5) and kappa in AUTHORS_KAPPA:
            row["authors_median_s"] = dict(zip(("bm", "fixed-point"), AUTHORS_KAPPA[kappa]))
        rows.append(row)
    agree = all(r.get("agree", True) for row in rows for entry in row["draws"]
                for runs in entry["runs"].values() for r in runs)
    return {"case": "conditioning", "p": p, "d": d, "draws": args.draws, "inits": args.inits,
            "repeats": args.repeats, "seed": args.seed, "sdp_solver": None if args.no_sdp else args.sdp_solver,
            "tolerance": args.tolerance, "rows": rows, "agree": bool(agree)}


# ---- the formula check ---------------------------------------------------------------------------

def run_formula(np, args, workdir: Path) -> dict:
    """The value formula against the coupling's cost block by block, Monte Carlo and the barycenter."""
    import cvxpy as cp
    rng = np.random.default_rng(7)
    p, d, samples = 4, 3, 2_000_000
    a = rng.standard_normal((p, d, d))
    cov = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(d)
    cov = (cov + cov.transpose(0, 2, 1)) / 2
    mean, weights = rng.standard_normal((p, d)), rng.uniform(0.2, 1.5, p)
    common.progress(f"[formula] SDP p={p} d={d}, CLARABEL at 1e-10; Monte Carlo with {samples} draws")
    problem, x, w = sdp_problem(np, cp, cov, weights)
    sdp_solve(cp, problem, "clarabel", 1e-10)
    xv = (x.value + x.value.T) / 2
    formula = sdp_value(np, cov, mean, weights, xv, w)["value"]

    def block(i, j):
        return xv[i * d:(i + 1) * d, j * d:(j + 1) * d]
    pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]
    direct = sum(weights[i] * weights[j] * (np.sum((mean[i] - mean[j]) ** 2) + np.trace(block(i, i))
                                            + np.trace(block(j, j)) - 2 * np.trace(block(i, j)))
                 for i, j in pairs)
    eig, vec = np.linalg.eigh(xv)
    draws = (rng.standard_normal((samples, p * d)) @ (vec * np.sqrt(np.clip(eig, 0, None))).T
             + mean.reshape(-1)).reshape(samples, p, d)
    cost = sum(weights[i] * weights[j] * np.sum((draws[:, i] - draws[:, j]) ** 2, axis=1) for i, j in pairs)
    mc, mc_error = float(cost.mean()), float(cost.std() / math.sqrt(samples))
    barycenter = numpy_reference(np, cov, mean, weights)["value"]
    checks = {"formula": formula, "block_by_block": float(direct), "monte_carlo": mc,
              "monte_carlo_std_error": mc_error, "barycenter_route": barycenter,
              "rel_diff_block_by_block": abs(formula - direct) / abs(direct),
              "rel_diff_barycenter": abs(formula - barycenter) / abs(barycenter),
              "monte_carlo_sigmas": abs(formula - mc) / mc_error, "sdp_status": problem.status}
    agree = (checks["rel_diff_block_by_block"] < 1e-10 and checks["rel_diff_barycenter"] < 1e-7
             and checks["monte_carlo_sigmas"] < 4)
    return {"case": "formula", "p": p, "d": d, "weights": weights.tolist(), **checks, "agree": bool(agree)}


# ---- report --------------------------------------------------------------------------------------

def fmt_s(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def fmt_e(value) -> str:
    return "-" if value is None else f"{value:.1e}"


def sdp_cell(r: dict | None) -> tuple[str, str]:
    if r is None:
        return "", ""
    if not r.get("solved"):
        return r["status"], ""
    mark = " >" if r["over_limit"] else ""
    return f"{r['total_s']:.4g}{mark}", f"{r['solve_s']:.4g}" if r.get("solve_s") is not None else "-"


def gaussot_cell(r: dict | None) -> str:
    if r is None:
        return ""
    if r["status"] != "ok":
        return r["status"]
    return (f"{r['min_s'] * 1e3:.4g}/{r['wall_min_s'] * 1e3:.4g}{' >' if r['over_limit'] else ''}"
            f" it {r['iterations']} gap {r['dual_gap']:.0e} r{r['rank']}")


def format_sdp_case(case: dict) -> list[str]:
    lines = ["", f"sdp: SDP ({case['sdp_solver']}, tolerances {case['sdp_tol']:g}) vs gaussot mmot; limit "
                 f"{case['limit_s']:g} s per run; gaussot minimum of {case['repeats']}",
             "  SDP [s]: construction + solve (solve alone as CVXPY reports); gaussot [ms]: time_ms/process "
             "wall, iterations, dual gap, rank; '>' over the limit;",
             f"  Δ: |value − reference| / max(1, |reference|), reference SDP (else NumPy *), bar "
             f"{case['tolerance']:g}"]
    head = (f"  {'d':>2} {'weights':<8} {'p':>5} {'value (SDP or NumPy*)':>22} {'SDP [s]':>10} {'solve':>8} "
            f"{'bm [ms]':>34} {'Δ bm':>8} {'fixed-point [ms]':>34} {'Δ fp':>8} {'SDP/bm':>8} {'SDP/fp':>8}")
    lines.append(head)
    for row in sorted(case["rows"], key=lambda r: (r["d"], r["weighting"], r["p"])):
        m = row["methods"]
        sdp = m.get("sdp")
        total, solve = sdp_cell(sdp)
        if sdp and sdp.get("solved"):
            value = f"{sdp['value']:.12g}"
        else:
            value = f"{row['numpy']['value']:.12g}*"
        diffs = []
        for solver in SOLVERS:
            r = m.get(solver)
            if r is None or r.get("status") != "ok":
                diffs.append("")
            else:
                diffs.append(("-" if r["rel_diff"] is None else f"{r['rel_diff']:.0e}")
                             + ("" if r["agree"] else "!") + ("*" if r["judged_against"] == "numpy" else ""))
        ratios = row.get("ratios_of_minima", {})
        lines.append(f"  {row['d']:>2} {row['weighting']:<8} {row['p']:>5} {value:>22} {total:>10} {solve:>8} "
                     f"{gaussot_cell(m.get('bm')):>34} {diffs[0]:>8} {gaussot_cell(m.get('fixed-point')):>34} "
                     f"{diffs[1]:>8} {fmt_ratio(ratios.get('sdp/bm')):>8} {fmt_ratio(ratios.get('sdp/fixed-point')):>8}"
                     + ("  (refinement)" if "refinement_of" in row else ""))
    lines.append("  largest p solved within the limit (and the first p not solved within it):")
    for f in case["largest_within_limit"].values():
        largest = "none" if f["largest"] is None else f"p {'>=' if f['grid_end'] else '='} {f['largest']}"
        over = f" (p = {f['first_over']}: {f['why']})" if f["first_over"] is not None else " (end of the grid)"
        lines.append(f"    {f['method']:<12} d = {f['d']:<3} {f['weighting']:<8} {largest}{over}")
    problems = []
    for row in case["rows"]:
        for name, r in row["methods"].items():
            if r.get("status") in ("failed", "solver_error") or (name != "sdp" and not r.get("agree", True)):
                problems.append(f"    d={row['d']} p={row['p']} {row['weighting']} {name}: "
                                + (r.get("error") or f"value {r.get('value')!r}, Δ {r.get('rel_diff'):.2e} against "
                                                     f"{r.get('judged_against')}")
                                .replace("\n", " ")[:400])
            elif name == "sdp" and r.get("status") not in ("optimal", "killed"):
                problems.append(f"    d={row['d']} p={row['p']} {row['weighting']} sdp status {r.get('status')}")
    if problems:
        lines += ["  problems:"] + problems
    sdp_rows = [row["methods"]["sdp"] for row in case["rows"] if row["methods"].get("sdp", {}).get("solved")]
    if sdp_rows:
        lines.append(f"  SDP vs NumPy reference: max Δ {max(r['rel_diff_vs_numpy'] for r in sdp_rows):.1e}; SDP "
                     f"ranks {sorted({r['rank'] for r in sdp_rows})}")
    g_rows = [r for row in case["rows"] for n, r in row["methods"].items() if n != "sdp" and r.get("status") == "ok"]
    for solver in SOLVERS:
        diffs = [row["methods"][solver]["rel_diff_vs_numpy"] for row in case["rows"]
                 if row["methods"].get(solver, {}).get("rel_diff_vs_numpy") is not None]
        if diffs:
            lines.append(f"  gaussot {solver} vs NumPy reference: max Δ {max(diffs):.1e} over {len(diffs)} instance(s)")
    if g_rows:
        lines.append(f"  gaussot barycenter vs NumPy: mean max {max(r['barycenter_mean_err'] for r in g_rows):.1e}, "
                     f"covariance max {max(r['barycenter_cov_err'] for r in g_rows):.1e} (relative Frobenius)")
    return lines


def fmt_ratio(value) -> str:
    return "" if value is None else f"{value:.3g}x"


def format_conditioning(case: dict) -> list[str]:
    lines = ["", f"conditioning: p = {case['p']}, d = {case['d']}, ρ = 1, centered; {case['draws']} draw(s) per κ, "
                 f"{case['inits']} bm start(s); gaussot time_ms, minimum of {case['repeats']} per run; "
                 f"median [min, max] over the runs",
             f"  {'κ':>6} {'bm [ms]':>26} {'bm iterations':>20} {'bm gap':>8} {'fp [ms]':>26} "
             f"{'fp iterations':>16} {'fp gap':>8} {'bm/fp':>7} {'max Δ':>8} {'authors bm/fp [ms]':>20}"]
    for row in case["rows"]:
        s = row["summary"]
        cells = []
        for solver in SOLVERS:
            r = s.get(solver)
            if r is None:
                cells += ["", "", ""]
                continue
            cells += [f"{r['median_s'] * 1e3:.3g} [{r['min_s'] * 1e3:.3g}, {r['max_s'] * 1e3:.3g}]",
                      f"{r['iterations_median']:g} [{r['iterations_min']}, {r['iterations_max']}]",
                      f"{r['dual_gap_max']:.0e}"]
        diffs = [r["rel_diff_max"] for r in s.values() if r["rel_diff_max"] is not None]
        authors = row.get("authors_median_s")
        lines.append(f"  {row['kappa']:>6g} {cells[0]:>26} {cells[1]:>20} {cells[2]:>8} {cells[3]:>26} {cells[4]:>16} "
                     f"{cells[5]:>8} {fmt_ratio(row.get('ratio_bm/fixed-point')):>7} "
                     f"{(f'{max(diffs):.0e}' if diffs else '-'):>8} "
                     + (f"{authors['bm'] * 1e3:>9.3g} / {authors['fixed-point'] * 1e3:<8.3g}" if authors else ""))
    for row in case["rows"]:
        for entry in row["draws"]:
            sdp = entry.get("sdp")
            if sdp is not None and not sdp.get("solved"):
                lines.append(f"  κ={row['kappa']:g} draw {entry['draw']}: SDP {sdp['status']} {sdp.get('error') or ''}")
            for solver, runs in entry["runs"].items():
                for r in runs:
                    if r["status"] != "ok" or not r["agree"]:
                        lines.append(f"  κ={row['kappa']:g} draw {entry['draw']} {solver}: "
                                     + (r.get("error") or f"value {r['value']!r}, Δ {r['rel_diff']:.2e} against "
                                        f"{r['judged_against']}").replace("\n", " ")[:400])
                    elif r.get("stop_reason") not in (None, "dual_gap"):
                        lines.append(f"  κ={row['kappa']:g} draw {entry['draw']} {solver}: stop_reason "
                                     f"{r['stop_reason']}, dual gap {r['dual_gap']:.1e}")
    lines.append("  (Δ: largest |value − SDP| / max(1, |SDP|) of the κ; authors: their Python medians, §7.4)")
    return lines


def format_formula(case: dict) -> list[str]:
    return ["", f"formula check, p = {case['p']}, d = {case['d']}, ρ = {[round(w, 3) for w in case['weights']]}: "
                f"value from X* {case['formula']:.12g}; block by block {case['block_by_block']:.12g} "
                f"(Δ {case['rel_diff_block_by_block']:.1e}); barycenter route {case['barycenter_route']:.12g} "
                f"(Δ {case['rel_diff_barycenter']:.1e}); Monte Carlo {case['monte_carlo']:.6g} ± "
                f"{case['monte_carlo_std_error']:.2g} ({case['monte_carlo_sigmas']:.2f} σ)  "
                f"{'OK' if case['agree'] else 'FAIL'}"]


def format_report(machine: dict, cases: list[dict]) -> str:
    lines = common.header_lines("Multimarginal Gaussian OT (pairwise quadratic cost), float64", machine)
    lines.append(f"CVXPY {machine['cvxpy']}, Clarabel {machine['clarabel']}, SCS {machine['scs']}; threads: NumPy "
                 f"{machine['numpy_blas_threads']}; gaussot {machine['gaussot_cpu_threads'] or 'one per core'}")
    formatters = {"sdp": format_sdp_case, "conditioning": format_conditioning, "formula": format_formula}
    for case in cases:
        lines += formatters[case["case"]](case)
    summary = {"benchmark": "peers_mmot", "machine": {key: machine.get(key) for key in
               ("cpu_model", "usable_cores", "numpy", "numpy_blas", "numpy_blas_threads", "cvxpy",
                "clarabel", "scs", "gaussot_version", "gaussot_cpu_threads")}, "cases": cases}
    return "\n".join(lines + ["", json.dumps(summary, separators=(",", ":"))])


# ---- main ----------------------------------------------------------------------------------------

def package_version(name: str) -> str | None:
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.sdp_child:
        return sdp_child(args)
    try:
        import numpy as np
        import scipy
    except ImportError as e:
        print(f"peers_mmot.py needs NumPy and SciPy ({e}).\n"
              f"Install them with:  {sys.executable} -m pip install numpy scipy", file=sys.stderr)
        return 2
    versions = {name: package_version(name) for name in ("cvxpy", "clarabel", "scs")}
    needs_sdp = not args.no_sdp or "formula" in args.cases
    needed = ["cvxpy", "clarabel" if args.sdp_solver == "clarabel" or "formula" in args.cases else None,
              "scs" if args.sdp_solver == "scs" and not args.no_sdp else None]
    missing = [name for name in needed if name and versions[name] is None] if needs_sdp else []
    if missing:
        print(f"peers_mmot.py needs {', '.join(missing)} for the SDP (or pass --no-sdp).\n"
              f"Install them with:  {sys.executable} -m pip install cvxpy clarabel scs", file=sys.stderr)
        return 2
    gaussot_needed = bool(args.solvers) and any(c in args.cases for c in ("sdp", "conditioning"))
    if gaussot_needed and not common.check_executables(
            "peers_mmot.py", ((args.gaussot, "gaussot_cli", "--gaussot"),)):
        return 2
    machine = common.machine_info(np, scipy, args.gaussot, args.threads)
    machine["numpy_blas_threads"] = blas_threads(machine["blas_thread_env"])
    machine.update({name: version or "not installed" for name, version in versions.items()})
    run_one = {"sdp": run_sdp_case, "conditioning": run_conditioning, "formula": run_formula}
    return common.run_cases("peers_mmot", args, machine,
                            lambda case, workdir: run_one[case](np, args, workdir),
                            format_report, "gaussot mmot failed or disagrees with the SDP (see above)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
