#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""All-pairs Bures-Wasserstein distances of a set of Gaussians: gaussot against POT and NumPy.

For each case (k, d) -- by default k = 1000 Gaussians in d = 64, float64 -- the same k Gaussians
N(m_i, S_i), S_i = G Gᵀ / d + 1e-3 I (G standard normal, as in peers_sqrtm.py) and m_i standard
normal, np.random.default_rng(seed), give the k x k matrix W2²(N_i, N_j) through

  gaussot       the library call gaussot::w2_squared_all_pairs (CPU backend) in one process:
                `gaussot_time --op w2_all_pairs --a-cov S.npy --b-cov S.npy --a-mean m.npy
                --b-mean m.npy --repeat R --save W.npy` (its first call is not counted)
  numpy_rows    NumPy, the same symmetric formula vectorised by rows: R_i = S_i^1/2 for all i
                (stacked eigh), then per row i: M = R_i S_j R_i for all j (batched matmul) and
                stacked eigvalsh; the whole matrix (skip with --no-numpy)
  pot_batched   POT's batched form, ot.gaussian.bures_wasserstein_distance(m[rows], m, S[rows], S)
                (NumPy backend), which returns W2 (squared here) for rows x k pairs at once. It
                forms M as an (rows, k, d, d) array with a three-operand np.einsum (no
                contraction-order optimisation, d^4 work per pair) and holds several such arrays,
                so the whole k x k call needs about 5 k^2 d^2 doubles (164 GB at 1000 x 64): it is
                timed on the first --pot-rows rows against all k and extrapolated linearly in the
                number of rows; the whole call runs once as well when its estimated time is under
                --pot-full-limit seconds and its estimated memory under half of the machine's,
                and that measurement replaces the extrapolation
  pot_loop      the same POT function called once per pair with (d,) means and (d, d)
                covariances, on the same rows, extrapolated the same way

Each method runs --repeats times (default 1: at 1000 x 64 every method takes from tens of seconds
to hours); the report shows minimum and median (measured or extrapolated, labelled), the ratios
peer / gaussot of the minima, and the agreement max |W2²_gaussot - W2²_peer| / max W2²_peer over
the entries both computed (POT: its rows). gaussot must agree with every peer within 1e-10, else
exit status 1. The issue's bar, gaussot at least 5x faster than POT's batched form on the CPU, is
reported PASS/FAIL (not part of the exit status).

Needs NumPy and POT (`python3 -m pip install pot`; it installs nothing). Exit status: 0
agreement, 1 disagreement or a failing gaussot, 2 bad usage, NumPy/POT missing or gaussot not
built.

  python3 bench/peers_bw_pairs.py                               # 1000 x 64
  python3 bench/peers_bw_pairs.py --cases 200x64 --pot-rows 2   # quick
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402

TOLERANCE = 1e-10
SPEEDUP_TARGET = 5.0  # gaussot vs POT's batched form, CPU
POT_ARRAYS = 5  # (rows, k, d, d) arrays alive at once in POT's batched call, roughly


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="All-pairs W2² of k Gaussians: gaussot::w2_squared_all_pairs vs POT "
                    "(ot.gaussian.bures_wasserstein_distance) and NumPy.")
    parser.add_argument("--cases", nargs="+", metavar="KxD", default=[(1000, 64)],
                        type=common.case_parser("KxD (k Gaussians in dimension d)", "1000x64"),
                        help="cases to run: k Gaussians in dimension d (default: 1000x64)")
    parser.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command, for the header (default: {common.DEFAULT_GAUSSOT})")
    parser.add_argument("--gaussot-time", type=Path, default=common.DEFAULT_GAUSSOT_TIME,
                        help=f"path of the in-process timer (default: {common.DEFAULT_GAUSSOT_TIME})")
    parser.add_argument("--threads", type=int, default=None,
                        help="passed to gaussot_time as --threads N (default: one per core)")
    parser.add_argument("--repeats", type=int, default=1, help="repetitions per method (default: 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of np.random.default_rng (default: 0)")
    parser.add_argument("--pot-rows", type=int, default=1,
                        help="rows (against all k columns) on which POT is timed (default: 1)")
    parser.add_argument("--pot-full-limit", type=float, default=180.0,
                        help="also run POT's batched form on the whole matrix when its estimated "
                             "time is below this many seconds (default: 180)")
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy reference")
    parser.add_argument("--no-pot-loop", action="store_true", help="skip POT called per pair")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the inputs and gaussot's result here (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.pot_rows < 1:
        parser.error("--pot-rows must be >= 1")
    if args.threads is not None and args.threads < 0:
        parser.error("--threads must be >= 0")
    return args


def import_peers():
    try:
        import numpy  # noqa: F401
    except ImportError as e:
        print(f"peers_bw_pairs.py needs NumPy ({e}).\n"
              f"Install it with:  {sys.executable} -m pip install numpy", file=sys.stderr)
        sys.exit(2)
    try:
        import ot.gaussian  # noqa: F401
    except ImportError as e:
        print(f"peers_bw_pairs.py needs POT, the Python Optimal Transport library ({e}).\n"
              f"Install it with:  {sys.executable} -m pip install pot", file=sys.stderr)
        sys.exit(2)


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


# ---- inputs and the methods ------------------------------------------------------------------

def make_gaussians(np, k: int, d: int, seed: int):
    covariances = common.make_inputs(np, d, k, seed)
    means = np.random.default_rng([seed, 1]).standard_normal((k, d))
    return means, covariances


def numpy_rows(np, means, covariances):
    """W2²(N_i, N_j) for all pairs, the symmetric formula vectorised over j, one row i at a time."""
    k = len(covariances)
    w, v = np.linalg.eigh(covariances)
    roots = (v * np.sqrt(np.clip(w, 0, None))[:, None, :]) @ v.transpose(0, 2, 1)
    traces = np.trace(covariances, axis1=1, axis2=2)
    out = np.empty((k, k))
    for i in range(k):
        middle = roots[i] @ covariances @ roots[i]
        lam = np.linalg.eigvalsh(middle)
        out[i] = (np.sum((means[i] - means) ** 2, axis=1) + traces[i] + traces
                  - 2 * np.sum(np.sqrt(np.clip(lam, 0, None)), axis=1))
    return np.maximum(out, 0)


def pot_batched(np, bwd, means, covariances, rows: int):
    """POT's batched call on rows [0, rows) against all k; returns W2² (POT returns W2)."""
    w = bwd(means[:rows], means, covariances[:rows], covariances)
    return np.asarray(w) ** 2


def pot_loop(np, bwd, means, covariances, rows: int):
    k = len(covariances)
    out = np.empty((rows, k))
    for i in range(rows):
        for j in range(k):
            out[i, j] = float(bwd(means[i], means[j], covariances[i], covariances[j])) ** 2
    return out


def relative_difference(np, value, reference) -> float:
    return float(np.max(np.abs(value - reference)) / np.max(np.abs(reference)))


def extrapolated(result: dict, factor: float, rows: int) -> dict:
    """Marks a summary timed on `rows` rows and scales it to the whole matrix."""
    result["measured_rows"] = rows
    result["measured_min_s"] = result["min_s"]
    result["measured_median_s"] = result["median_s"]
    result["min_s"] *= factor
    result["median_s"] *= factor
    result["extrapolated"] = True
    return result


def run_case(np, bwd, args, k: int, d: int, workdir: Path) -> dict:
    tag = f"[k={k} d={d}]"
    common.progress(f"{tag} generating inputs (seed {args.seed})")
    means, covariances = make_gaussians(np, k, d, args.seed)
    cov_path, mean_path = workdir / f"bw_cov_{k}x{d}.npy", workdir / f"bw_mean_{k}x{d}.npy"
    np.save(cov_path, covariances)
    np.save(mean_path, means)
    rows = min(args.pot_rows, k)
    methods: dict[str, dict] = {}
    notes: list[str] = []

    common.progress(f"{tag} gaussot::w2_squared_all_pairs x{args.repeats}")
    result_path = workdir / f"bw_gaussot_{k}x{d}.npy"
    timing = common.gaussot_time_json(
        args.gaussot_time, ["--op", "w2_all_pairs", "--a-cov", str(cov_path), "--b-cov", str(cov_path),
                            "--a-mean", str(mean_path), "--b-mean", str(mean_path),
                            "--repeat", str(args.repeats), "--save", str(result_path)], args.threads)
    methods["gaussot"] = common.summary([t / 1e3 for t in timing["times_ms"]])
    methods["gaussot"]["first_call_s"] = timing["first_ms"] / 1e3
    methods["gaussot"]["cpu_threads"] = timing.get("cpu_threads")
    w_gaussot = np.load(result_path)
    if w_gaussot.shape != (k, k):
        raise RuntimeError(f"gaussot_time wrote shape {w_gaussot.shape}, expected {(k, k)}")
    agreement: dict[str, float] = {}

    if not args.no_numpy:
        common.progress(f"{tag} numpy rows x{args.repeats}")
        times, w_numpy = common.time_repeated(lambda: numpy_rows(np, means, covariances), args.repeats)
        methods["numpy_rows"] = common.summary(times)
        agreement["numpy_rows"] = relative_difference(np, w_gaussot, w_numpy)

    common.progress(f"{tag} POT batched, {rows} of {k} rows x{args.repeats}")
    times, w_pot = common.time_repeated(lambda: pot_batched(np, bwd, means, covariances, rows),
                                        args.repeats)
    methods["pot_batched"] = common.summary(times)
    agreement["pot_batched"] = relative_difference(np, w_gaussot[:rows], w_pot)
    if rows < k:
        extrapolated(methods["pot_batched"], k / rows, rows)
        estimate_s = methods["pot_batched"]["min_s"]
        estimate_bytes = POT_ARRAYS * k * k * d * d * 8
        memory = physical_memory_bytes()
        if estimate_s <= args.pot_full_limit and memory is not None and estimate_bytes <= memory / 2:
            common.progress(f"{tag} POT batched, the whole matrix once (estimated {estimate_s:.0f} s)")
            start = time.perf_counter()
            w_full = pot_batched(np, bwd, means, covariances, k)
            # The whole-matrix measurement replaces the extrapolation in the table and the ratio.
            subset = methods["pot_batched"]
            methods["pot_batched"] = common.summary([time.perf_counter() - start])
            methods["pot_batched"]["extrapolated_min_s"] = subset["min_s"]
            methods["pot_batched"]["subset"] = subset
            agreement["pot_batched"] = relative_difference(np, w_gaussot, w_full)
        else:
            notes.append(f"POT's batched form was not run on the whole {k} x {k} matrix: estimated "
                         f"{estimate_s:.0f} s (limit {args.pot_full_limit:g} s, --pot-full-limit) and "
                         f"{estimate_bytes / 2**30:.1f} GiB (limit: half of "
                         f"{(memory or 0) / 2**30:.1f} GiB of memory)")

    if not args.no_pot_loop:
        common.progress(f"{tag} POT per pair, {rows} of {k} rows x{args.repeats}")
        times, w_loop = common.time_repeated(lambda: pot_loop(np, bwd, means, covariances, rows),
                                             args.repeats)
        methods["pot_loop"] = common.summary(times)
        agreement["pot_loop"] = relative_difference(np, w_gaussot[:rows], w_loop)
        if rows < k:
            extrapolated(methods["pot_loop"], k / rows, rows)

    peers = [name for name in ("numpy_rows", "pot_batched", "pot_loop") if name in methods]
    ratios = {f"{name}/gaussot": methods[name]["min_s"] / methods["gaussot"]["min_s"] for name in peers}
    speedup = ratios["pot_batched/gaussot"]
    return {"k": k, "d": d, "pairs": k * k, "dtype": "float64", "repeats": args.repeats,
            "seed": args.seed, "pot_rows": rows, "methods": methods, "ratios_of_minima": ratios,
            "agreement_vs_gaussot": agreement, "tolerance": TOLERANCE,
            "agree": bool(max(agreement.values()) <= TOLERANCE),
            "speedup_target": SPEEDUP_TARGET, "speedup_met": bool(speedup >= SPEEDUP_TARGET),
            "notes": notes}


# ---- report ----------------------------------------------------------------------------------

def format_report(machine: dict, cases: list[dict]) -> str:
    lines = common.header_lines("All-pairs Bures-Wasserstein W2², float64", machine)
    labels = {"gaussot": "gaussot::w2_squared_all_pairs", "numpy_rows": "numpy rows (eigvalsh)",
              "pot_batched": "POT batched (ot.gaussian)", "pot_loop": "POT per pair"}
    for case in cases:
        m = case["methods"]
        g = m["gaussot"]["min_s"]
        lines += ["", f"k = {case['k']} Gaussians in d = {case['d']} ({case['pairs']} pairs), "
                      f"{case['repeats']} repetition(s)",
                  f"  {'method':<30} {'min [s]':>10} {'median [s]':>11} {'min / gaussot':>14}  note"]
        for name in ("gaussot", "numpy_rows", "pot_batched", "pot_loop"):
            if name not in m:
                continue
            r = m[name]
            note = ""
            if r.get("extrapolated"):
                note = (f"EXTRAPOLATED from {r['measured_rows']} of {case['k']} rows "
                        f"(measured min {r['measured_min_s']:.3f} s)")
            if "extrapolated_min_s" in r:
                note = (f"whole matrix, measured once (extrapolation from {r['subset']['measured_rows']} "
                        f"rows: {r['extrapolated_min_s']:.3f} s)")
            lines.append(f"  {labels[name]:<30} {r['min_s']:>10.3f} {r['median_s']:>11.3f} "
                         f"{r['min_s'] / g:>13.2f}x  {note}")
        lines.append(f"  {'gaussot first library call':<30} {m['gaussot']['first_call_s']:>10.3f}"
                     f"{'':>12}   (not counted)")
        for name, value in case["agreement_vs_gaussot"].items():
            where = (f"the first {case['pot_rows']} row(s) only" if m[name].get("extrapolated")
                     else "all entries")
            lines.append(f"  max |W2²_gaussot - W2²_{name}| / max W2²_{name} = {value:.3e}  ({where})")
        for note in case["notes"]:
            lines.append(f"  note: {note}")
        speedup = case["ratios_of_minima"]["pot_batched/gaussot"]
        lines.append(f"  bar: gaussot >= {case['speedup_target']:g}x faster than POT's batched form: "
                     f"{speedup:.1f}x{' (POT extrapolated)' if m['pot_batched'].get('extrapolated') else ''}  "
                     f"{'PASS' if case['speedup_met'] else 'FAIL'}")
        lines.append(f"  agreement within {case['tolerance']:g}: "
                     f"{'PASS' if case['agree'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import_peers()
    import numpy as np
    import ot
    import ot.gaussian
    try:
        import scipy
    except ImportError:  # only for the header
        scipy = type("missing", (), {"__version__": "not installed"})

    if not common.check_executables("peers_bw_pairs.py", ((args.gaussot, "gaussot_cli", "--gaussot"),
                                                          (args.gaussot_time, "gaussot_time", "--gaussot-time"))):
        return 2
    machine = common.machine_info(np, scipy, args.gaussot, args.threads)
    machine["pot"] = ot.__version__
    machine["pot_backend"] = "numpy"
    bures_wasserstein_distance = ot.gaussian.bures_wasserstein_distance
    return common.run_cases("peers_bw_pairs", args, machine,
                            lambda case, workdir: run_case(np, bures_wasserstein_distance, args,
                                                           *case, workdir),
                            format_report, "gaussot disagrees with a peer beyond the tolerance")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
