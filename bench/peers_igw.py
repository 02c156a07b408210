#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""IGW between Gaussians: the `gaussot igw` command against the authors' algorithm and NumPy.

Two cases (--cases, default both), float64, seeded by np.random.default_rng(--seed):

  uncentered-pair   one pair in d = --d (default 768, the BERT CLS width of the paper's
                    distillation experiment): covariances Q diag(λ) Qᵀ with decaying spectra
                    λ_a = geomspace(10, 1e-3, d), λ_b = geomspace(6, 2e-3, d) and Haar orthogonal
                    Q (QR of a Gaussian matrix, sign-fixed), different for a and b; random means of
                    norm 3 and 4 (dense in the eigenbases). Saved as .npy and compared:
      authors       the authors' RGD (CODE-v2 igw_numerics.optimize_spectral, reference
                    formulas-bures-igw-mmot.md §3.5), re-implemented in NumPy: descending eigh,
                    PSD check and clipping, v_k = Λ_k^½ Q_kᵀ m_k, Ξ, the §3.2 bounds, Riemannian
                    gradient ascent on the Stiefel manifold from the sign-aligned identity with
                    Armijo backtracking and QR retraction (max_iter 50, tol 1e-2). Timed by wall
                    clock from the covariances to the numbers (the eigendecompositions included;
                    the cross-covariance, which gaussot igw does not report, is not formed)
      gaussot       `gaussot igw --backend cpu --a-cov A --a-mean MA --b-cov B --b-mean MB`: its
                    "time_ms" (compute, excluding reading the files) and the process wall time
    The bounds must agree with NumPy's to 1e-8 relative and gaussot's igw lie between them, else
    exit status 1. gaussot's igw and the authors' estimate are both feasible upper bounds on the true
    IGW, so the lower is better: the report shows both and their gap (information only).

  centered-matrix   k = --k (default 1000) centered Gaussians in d = --d, spectra geomspace(10, 1e-3,
                    d) jittered per Gaussian (scale U(0.5, 2), log-normal noise 0.2) in Haar bases,
                    written in chunks to one (k, d, d) .npy through np.lib.format.open_memmap (4.7 GB
                    at 1000 x 768); the k x k matrix IGW²_ij:
      numpy         np.linalg.eigvalsh on the whole stack (one call), spectra sorted decreasingly,
                    then IGW²_ij = |α_i|² + |α_j|² - 2 α_i·α_j (one matrix product), clipped at 0
      gaussot       `gaussot igw --all-pairs --backend cpu --a-cov C.npy --b-cov C.npy`
    Agreement: max |IGW²_gaussot - IGW²_numpy| / max IGW²_numpy <= 1e-10, else exit status 1.
    At 1000 x 768 it needs 4.7 GB of disk and, for NumPy's in-memory copy, as much memory; on two
    cores writing the inputs takes about 2 minutes and eigvalsh about 25 s. Use --k to shrink it.

Threads, as in the other peer scripts: NumPy uses its BLAS's default (the environment controls it:
OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS; recorded when set, and the effective count
through threadpoolctl when it is installed), gaussot one thread per core unless --threads N. The
authors timed with one BLAS thread (reference §8): for that comparison, set those variables to 1
and pass --threads 1.

Each method runs --repeats times (default 1); the report shows minimum and median and the ratios
numpy-or-authors / gaussot of the minima, then one JSON line with all the numbers (--json FILE
writes them too, with the machine). A failing `gaussot igw` is reported with its message, after
the NumPy numbers (exit status 1); --no-gaussot runs the NumPy side alone. Needs only NumPy.
Exit status: 0 agreement, 1 disagreement or a failing gaussot, 2 bad usage, NumPy missing or
gaussot not built.

  python3 bench/peers_igw.py                                        # both cases, d = 768, k = 1000
  python3 bench/peers_igw.py --cases uncentered-pair --repeats 3
  python3 bench/peers_igw.py --cases centered-matrix --k 200 --d 64 --threads 2 --json out.json
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402

CASES = ("uncentered-pair", "centered-matrix")
BOUND_TOLERANCE = 1e-8    # gaussot's bounds vs NumPy's, relative
MATRIX_TOLERANCE = 1e-10  # all-pairs IGW², relative to the largest entry
CHUNK = 32                # covariances generated per step for the matrix case


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="IGW between Gaussians: gaussot igw vs the authors' RGD (uncentered pair) and "
                    "NumPy eigvalsh (centered all-pairs matrix).")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES),
                        help="cases to run (default: both)")
    parser.add_argument("--d", type=int, default=768, help="dimension (default: 768)")
    parser.add_argument("--k", type=int, default=1000,
                        help="Gaussians in the centered-matrix case (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of np.random.default_rng (default: 0)")
    parser.add_argument("--repeats", type=int, default=1, help="repetitions per method (default: 1)")
    parser.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command (default: {common.DEFAULT_GAUSSOT})")
    parser.add_argument("--threads", type=int, default=None,
                        help="passed to gaussot as --threads N (default: gaussot's, one per core)")
    parser.add_argument("--no-gaussot", action="store_true", help="run the NumPy side only")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the inputs here (default: a temporary directory)")
    args = parser.parse_args(argv)
    for name in ("d", "k", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.threads is not None and args.threads < 0:
        parser.error("--threads must be >= 0")
    args.cases = list(dict.fromkeys(args.cases))  # each case once, in the order given
    return args


# ---- inputs ----------------------------------------------------------------------------------

def haar(np, rng, d: int, count: int | None = None):
    """Haar-distributed orthogonal matrices: QR of Gaussian matrices, columns sign-fixed."""
    q, r = np.linalg.qr(rng.standard_normal((d, d) if count is None else (count, d, d)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def covariance(np, basis, spectrum):
    c = (basis * spectrum[..., None, :]) @ np.swapaxes(basis, -1, -2)
    return (c + np.swapaxes(c, -1, -2)) / 2


def make_pair(np, d: int, seed: int):
    """(a_cov, a_mean, b_cov, b_mean): BERT-like decaying spectra, different bases and means."""
    rng = np.random.default_rng(seed)
    out = []
    for top, bottom, norm in ((10.0, 1e-3, 3.0), (6.0, 2e-3, 4.0)):
        mean = rng.standard_normal(d)
        out += [covariance(np, haar(np, rng, d), np.geomspace(top, bottom, d)),
                mean * (norm / np.linalg.norm(mean))]
    return out


def write_centered_covariances(np, path: Path, k: int, d: int, seed: int) -> None:
    rng = np.random.default_rng([seed, 2])
    base = np.geomspace(10.0, 1e-3, d)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(k, d, d))
    for start in range(0, k, CHUNK):
        n = min(CHUNK, k - start)
        spectra = base * rng.uniform(0.5, 2.0, (n, 1)) * np.exp(0.2 * rng.standard_normal((n, d)))
        out[start:start + n] = covariance(np, haar(np, rng, d, n), spectra)
    out.flush()
    del out


# ---- the authors' algorithm (CODE-v2 igw_numerics, reference §3.2 and §3.5) -----------------

def spectral(np, cov, mean):
    """Descending eigenvalues (PSD-checked, clipped at 0) and v = Λ^½ Qᵀ m."""
    w, q = np.linalg.eigh(cov)
    w, q = w[::-1], q[:, ::-1]
    if w[-1] < -1e-9 * max(1.0, w[0]):
        raise ValueError("covariance is not positive semidefinite")
    w = np.clip(w, 0.0, None)
    return w, np.sqrt(w) * (q.T @ mean)


def qf(np, y):
    """Q factor of the reduced QR, columns sign-fixed so that diag(R) >= 0."""
    q, r = np.linalg.qr(y)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def authors_igw(np, a_cov, a_mean, b_cov, b_mean, max_iter: int = 50, tol: float = 1e-2) -> dict:
    if len(a_mean) < len(b_mean):  # the algorithm takes d1 >= d2
        a_cov, a_mean, b_cov, b_mean = b_cov, b_mean, a_cov, a_mean
    alpha, v1 = spectral(np, a_cov, a_mean)
    beta, v2 = spectral(np, b_cov, b_mean)
    d1, d2 = len(alpha), len(beta)
    xi_const = (alpha @ alpha + beta @ beta + 2 * (v1 @ v1 + v2 @ v2)
                + (a_mean @ a_mean - b_mean @ b_mean) ** 2)                       # Ξ
    xi = xi_const - 2 * (alpha[:d2] @ beta)                                       # ξ = Ξ - 2S
    lower_sq = xi - 4 * np.linalg.norm(v1) * np.linalg.norm(v2)
    upper_sq = xi - 4 * np.abs(v1[:d2] * v2).sum()

    weights, linear = np.outer(alpha, beta), np.outer(v1, v2)

    def gamma(x):  # Γ(X) = Σ α_i β_j X_ij² + 2 v1ᵀ X v2
        return float(np.sum(weights * x * x) + 2 * np.sum(linear * x))

    x = np.eye(d1, d2)
    x[np.arange(d2), np.arange(d2)] = np.where(v1[:d2] * v2 < 0, -1.0, 1.0)
    value = gamma(x)
    step = 1.0 / max(2 * alpha[0] * beta[0], 1.0)
    accepted, retractions, stop = 0, 0, "max_iter"
    for _ in range(max_iter):
        g = 2 * weights * x + 2 * linear                 # Euclidean gradient
        xg = x.T @ g
        r = g - x @ ((xg + xg.T) / 2)                    # Riemannian gradient
        norm = float(np.linalg.norm(r))
        if norm < tol:
            stop = "tolerance"
            break
        for _ in range(40):                              # Armijo backtracking
            candidate = qf(np, x + step * r)
            retractions += 1
            candidate_value = gamma(candidate)
            if candidate_value >= value + 1e-4 * step * norm * norm:
                x, value, accepted = candidate, candidate_value, accepted + 1
                step *= 1.5
                break
            step *= 0.5
        else:
            stop = "no step accepted"
            break
    return {"estimate": math.sqrt(max(0.0, xi_const - 2 * value)),
            "lower_bound": math.sqrt(max(0.0, lower_sq)), "upper_bound": math.sqrt(max(0.0, upper_sq)),
            "iterations": accepted, "retractions": retractions, "stop": stop, "gradient_norm": norm,
            "orthogonality_residual": float(np.linalg.norm(x.T @ x - np.eye(d2)))}


# ---- NumPy baseline for the centered matrix --------------------------------------------------

def numpy_igw_matrix(np, covariances):
    """IGW² of all pairs of centered Gaussians; returns it and the (eigvalsh, formula) seconds."""
    start = time.perf_counter()
    alpha = np.linalg.eigvalsh(covariances)[:, ::-1]  # sorted decreasingly
    middle = time.perf_counter()
    norms = np.einsum("ij,ij->i", alpha, alpha)
    igw_squared = np.maximum(norms[:, None] + norms[None, :] - 2 * (alpha @ alpha.T), 0.0)
    return igw_squared, (middle - start, time.perf_counter() - middle)


# ---- gaussot ---------------------------------------------------------------------------------

def run_gaussot(np, args, arguments: list[str]) -> tuple[dict, float]:
    """Runs `gaussot igw --backend cpu ARGUMENTS [--threads N]`; returns its JSON and the wall time.
    RuntimeError with the command's message when it fails."""
    command = [str(args.gaussot), "igw", "--backend", "cpu"] + arguments
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip() or "(no output)")[-2000:]
        raise RuntimeError(f"`gaussot igw` failed: {' '.join(command)} exited with status "
                           f"{done.returncode}:\n{message}")
    try:
        return json.loads(done.stdout), wall
    except json.JSONDecodeError as e:
        raise RuntimeError(f"`gaussot igw` printed no JSON ({e}): {done.stdout[:500]!r}") from None


def timings(np, args, arguments: list[str]) -> tuple[dict, dict]:
    """gaussot run --repeats times: the last JSON and the summary of time_ms and wall time."""
    compute, walls, document = [], [], {}
    for _ in range(args.repeats):
        document, wall = run_gaussot(np, args, arguments)
        compute.append(common.scalar(document["time_ms"]) / 1e3)
        walls.append(wall)
    result = common.summary(compute)
    result["process_wall_min_s"], result["process_wall_median_s"] = min(walls), statistics.median(walls)
    result["precision"] = document.get("precision")
    return document, result


def relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b != 0 else abs(a)


# ---- the cases -------------------------------------------------------------------------------

def run_pair(np, args, workdir: Path) -> dict:
    d, tag = args.d, f"[uncentered-pair d={args.d}]"
    common.progress(f"{tag} generating inputs (seed {args.seed})")
    arrays = make_pair(np, d, args.seed)
    paths = [workdir / f"igw_{name}_{d}.npy" for name in ("a_cov", "a_mean", "b_cov", "b_mean")]
    for path, array in zip(paths, arrays):
        np.save(path, array)

    common.progress(f"{tag} authors' algorithm (NumPy) x{args.repeats}")
    times, authors = common.time_repeated(lambda: authors_igw(np, *arrays), args.repeats)
    methods = {"authors": {**common.summary(times), **authors}}
    case = {"case": "uncentered-pair", "d": d, "seed": args.seed, "repeats": args.repeats,
            "methods": methods, "agree": True}
    if args.no_gaussot:
        return case

    common.progress(f"{tag} gaussot igw x{args.repeats}")
    try:
        document, g = timings(np, args, ["--a-cov", str(paths[0]), "--a-mean", str(paths[1]),
                                         "--b-cov", str(paths[2]), "--b-mean", str(paths[3])])
        for field in ("igw_squared", "igw", "lower_bound", "upper_bound"):
            g[field] = common.scalar(document[field])
        g["iterations"] = int(common.scalar(document["iterations"]))
        g["exact"] = document.get("exact")
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        return fail(case, e)
    methods["gaussot"] = g
    bounds = {name: relative(g[name], authors[name]) for name in ("lower_bound", "upper_bound")}
    slack = BOUND_TOLERANCE * authors["upper_bound"]
    inside = authors["lower_bound"] - slack <= g["igw"] <= authors["upper_bound"] + slack
    span = authors["upper_bound"] - authors["lower_bound"]
    case.update({
        "bounds_rel_diff_vs_numpy": bounds, "tolerance": BOUND_TOLERANCE, "igw_within_bounds": inside,
        "agree": bool(max(bounds.values()) <= BOUND_TOLERANCE and inside),
        "objective": {"gaussot_igw": g["igw"], "authors_estimate": authors["estimate"],
                      "gaussot_minus_authors": g["igw"] - authors["estimate"],
                      "relative_gap": relative(g["igw"], authors["estimate"]) *
                                      (1 if g["igw"] >= authors["estimate"] else -1),
                      "gaussot_at_most_authors": bool(g["igw"] <= authors["estimate"] * (1 + 1e-12)),
                      "position_in_bounds": {name: (value - authors["lower_bound"]) / span if span > 0 else 0.0
                                             for name, value in (("gaussot", g["igw"]),
                                                                 ("authors", authors["estimate"]))}},
        "ratios_of_minima": {"authors/gaussot": methods["authors"]["min_s"] / g["min_s"],
                             "authors/gaussot_wall": methods["authors"]["min_s"] / g["process_wall_min_s"]}})
    return case


def run_matrix(np, args, workdir: Path) -> dict:
    k, d = args.k, args.d
    tag = f"[centered-matrix k={k} d={d}]"
    path = workdir / f"igw_cov_{k}x{d}.npy"
    common.progress(f"{tag} writing {k} covariances ({k * d * d * 8 / 1e9:.2f} GB) to {path}")
    write_centered_covariances(np, path, k, d, args.seed)
    covariances = np.load(path)  # into memory: gaussot's time_ms excludes reading its input too

    common.progress(f"{tag} numpy eigvalsh + formula x{args.repeats}")
    parts = []
    for _ in range(args.repeats):
        reference, split = numpy_igw_matrix(np, covariances)
        parts.append(split)
    del covariances
    methods = {"numpy": common.summary([sum(split) for split in parts])}
    methods["numpy"]["eigvalsh_min_s"] = min(split[0] for split in parts)
    methods["numpy"]["formula_min_s"] = min(split[1] for split in parts)
    case = {"case": "centered-matrix", "k": k, "d": d, "pairs": k * k, "seed": args.seed,
            "repeats": args.repeats, "methods": methods, "agree": True}
    if args.no_gaussot:
        return case

    common.progress(f"{tag} gaussot igw --all-pairs x{args.repeats}")
    try:
        document, g = timings(np, args, ["--all-pairs", "--a-cov", str(path), "--b-cov", str(path)])
        result = np.asarray(document["igw_squared"], dtype=np.float64)
        if result.shape != (k, k):
            raise RuntimeError(f"gaussot igw --all-pairs gave igw_squared of shape {result.shape}, "
                               f"expected {(k, k)}")
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        return fail(case, e)
    methods["gaussot"] = g
    difference = float(np.max(np.abs(result - reference)) / np.max(np.abs(reference)))
    case.update({"max_rel_diff_vs_numpy": difference, "tolerance": MATRIX_TOLERANCE,
                 "agree": bool(difference <= MATRIX_TOLERANCE),
                 "ratios_of_minima": {
                     "numpy/gaussot": methods["numpy"]["min_s"] / methods["gaussot"]["min_s"],
                     "numpy/gaussot_wall": methods["numpy"]["min_s"] / methods["gaussot"]["process_wall_min_s"]}})
    return case


def fail(case: dict, error: Exception) -> dict:
    message = str(error) if isinstance(error, RuntimeError) else \
        f"unexpected JSON from `gaussot igw` ({type(error).__name__}: {error})"
    common.progress(f"peers_igw.py: {message}")
    case.update({"gaussot_error": message, "agree": False})
    return case


# ---- report ----------------------------------------------------------------------------------

def timing_line(label: str, r: dict, reference: dict | None) -> str:
    ratio = f"{r['min_s'] / reference['min_s']:>13.2f}x" if reference else f"{'':>14}"
    return f"  {label:<34} {r['min_s']:>10.3f} {r['median_s']:>11.3f} {ratio}"


def format_report(machine: dict, cases: list[dict]) -> str:
    lines = common.header_lines("IGW between Gaussians, float64", machine)
    lines.append(f"Threads: NumPy {machine['numpy_blas_threads']}; gaussot "
                 f"{machine['gaussot_cpu_threads'] or 'one per core'} thread(s)")
    table_head = f"  {'method':<34} {'min [s]':>10} {'median [s]':>11} {'min / gaussot':>14}"
    for case in cases:
        m, g = case["methods"], case["methods"].get("gaussot")
        if case["case"] == "uncentered-pair":
            a = m["authors"]
            lines += ["", f"uncentered pair, d = {case['d']}, {case['repeats']} repetition(s)", table_head,
                      timing_line("authors' RGD (NumPy, wall clock)", a, g)]
            if g:
                lines += [timing_line("gaussot igw (time_ms)", g, g),
                          timing_line("gaussot igw (process wall)", {"min_s": g["process_wall_min_s"],
                                                                     "median_s": g["process_wall_median_s"]}, g)]
            lines += [f"  authors: estimate {a['estimate']:.10g} after {a['iterations']} iterations "
                      f"({a['retractions']} QR retractions; stop: {a['stop']}, |grad| {a['gradient_norm']:.3g}, |XᵀX - I| "
                      f"{a['orthogonality_residual']:.1e})",
                      f"  bounds (NumPy, §3.2): lower {a['lower_bound']:.10g}, upper {a['upper_bound']:.10g}"]
            if g:
                o = case["objective"]
                lines += [f"  gaussot: igw {g['igw']:.10g} (igw² {g['igw_squared']:.10g}) after "
                          f"{g['iterations']} iterations, exact: {g['exact']}; lower {g['lower_bound']:.10g}, "
                          f"upper {g['upper_bound']:.10g}",
                          f"  bounds vs NumPy (relative): lower {case['bounds_rel_diff_vs_numpy']['lower_bound']:.1e}, "
                          f"upper {case['bounds_rel_diff_vs_numpy']['upper_bound']:.1e}, gaussot igw within them: "
                          f"{case['igw_within_bounds']}  ({'OK' if case['agree'] else 'FAIL'}, tolerance "
                          f"{case['tolerance']:g})",
                          f"  objective (lower is better): gaussot - authors = {o['gaussot_minus_authors']:+.3e} "
                          f"({o['relative_gap']:+.2e} relative); position between lower (0) and upper (1): "
                          f"gaussot {o['position_in_bounds']['gaussot']:.4f}, authors "
                          f"{o['position_in_bounds']['authors']:.4f}",
                          f"  authors / gaussot time: {case['ratios_of_minima']['authors/gaussot']:.2f}x "
                          f"(time_ms), {case['ratios_of_minima']['authors/gaussot_wall']:.2f}x (process wall)"]
        else:
            n = m["numpy"]
            lines += ["", f"centered all-pairs matrix, k = {case['k']} Gaussians in d = {case['d']} "
                          f"({case['pairs']} pairs), {case['repeats']} repetition(s)", table_head,
                      timing_line("numpy eigvalsh + formula", n, g)
                      + f"  (eigvalsh {n['eigvalsh_min_s']:.3f} s, formula {n['formula_min_s']:.3f} s)"]
            if g:
                lines += [timing_line("gaussot igw --all-pairs (time_ms)", g, g),
                          timing_line("gaussot igw --all-pairs (wall)", {"min_s": g["process_wall_min_s"],
                                                                        "median_s": g["process_wall_median_s"]}, g),
                          f"  max |IGW²_gaussot - IGW²_numpy| / max IGW²_numpy = {case['max_rel_diff_vs_numpy']:.3e}"
                          f"  ({'OK' if case['agree'] else 'FAIL'}, tolerance {case['tolerance']:g})",
                          f"  numpy / gaussot time: {case['ratios_of_minima']['numpy/gaussot']:.2f}x (time_ms), "
                          f"{case['ratios_of_minima']['numpy/gaussot_wall']:.2f}x (process wall)"]
        if "gaussot_error" in case:
            lines.append("  gaussot: FAILED -- " + case["gaussot_error"].replace("\n", "\n    "))
        elif not g:
            lines.append("  gaussot: not run (--no-gaussot)")
    summary = {"benchmark": "peers_igw", "machine": {key: machine[key] for key in
               ("cpu_model", "usable_cores", "numpy", "numpy_blas", "numpy_blas_threads",
                "gaussot_version", "gaussot_cpu_threads")}, "cases": cases}
    return "\n".join(lines + ["", json.dumps(summary, separators=(",", ":"))])


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        import numpy as np
    except ImportError as e:
        print(f"peers_igw.py needs NumPy ({e}).\n"
              f"Install it with:  {sys.executable} -m pip install numpy", file=sys.stderr)
        return 2
    scipy = type("absent", (), {"__version__": "not used"})  # for the shared header only
    if not args.no_gaussot and not common.check_executables(
            "peers_igw.py", ((args.gaussot, "gaussot_cli", "--gaussot"),)):
        return 2
    machine = common.machine_info(np, scipy, args.gaussot, args.threads)
    machine["numpy_blas_threads"] = common.blas_threads(machine["blas_thread_env"])
    run_one = {"uncentered-pair": run_pair, "centered-matrix": run_matrix}
    return common.run_cases("peers_igw", args, machine,
                            lambda case, workdir: run_one[case](np, args, workdir),
                            format_report, "gaussot igw failed or disagrees with NumPy (see above)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
