#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Batched square roots of SPD matrices: gaussot against NumPy and SciPy.

For each case (d, k) -- by default d = 64, k = 1000, float64 -- the same k random SPD matrices
A = G Gᵀ / d + 1e-3 I (G standard normal, np.random.default_rng(seed)) go through

  numpy_loop     for each item: w, V = np.linalg.eigh(A); S = (V * sqrt(clip(w, 0))) @ V.T
  numpy_stacked  np.linalg.eigh on the whole (k, d, d) array, then one batched product
  scipy_loop     scipy.linalg.sqrtm on each item
  gaussot        the library call gaussot::sqrtm on the CPU backend, in process, through
                  `gaussot_time --op sqrtm --cov A.npy --repeat R --save S.npy` (bench/time_npy.cpp;
                  its first call, with thread start-up and first touch of the buffers, is not
                  counted, as NumPy's first loop is not special either)
  gaussot_cli    `gaussot sqrtm --cov A.npy --backend cpu --precision f64 --out R.json
                  --save-prefix P`, one process per repetition (time: the command's own
                  "time_ms", which excludes reading the input and writing the results; the
                  process's wall time is shown too)

Each method runs --repeats times (default 5); the table shows the minimum and the median, and
the ratios peer / gaussot of the minima. Both gaussot results must agree with the NumPy loop:
max over items of ||S_gaussot - S_numpy||_F / ||S_numpy||_F < 1e-10, else exit status 1.

Needs only NumPy and SciPy (it installs nothing). Exit status: 0 agreement, 1 disagreement or a
failing gaussot, 2 bad usage or NumPy/SciPy missing.

  python3 bench/peers_sqrtm.py                               # 64 x 1000
  python3 bench/peers_sqrtm.py --cases 64x1000 16x10000 --threads 8 --json out.json
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402

TOLERANCE = 1e-10


parse_case = common.case_parser("DxK", "64x1000")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Batched SPD square roots: gaussot (command line, CPU backend) vs NumPy and SciPy.")
    parser.add_argument("--cases", nargs="+", type=parse_case, default=[(64, 1000)], metavar="DxK",
                        help="cases to run, order d by batch size k (default: 64x1000)")
    parser.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command (default: {common.DEFAULT_GAUSSOT})")
    parser.add_argument("--gaussot-time", type=Path, default=common.DEFAULT_GAUSSOT_TIME,
                        help=f"path of the in-process timer (default: {common.DEFAULT_GAUSSOT_TIME})")
    parser.add_argument("--threads", type=int, default=None,
                        help="passed to gaussot as --threads N (default: gaussot's, one per core)")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions per method (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of np.random.default_rng (default: 0)")
    parser.add_argument("--no-scipy", action="store_true",
                        help="skip the scipy.linalg.sqrtm loop (slow for large cases)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the input and gaussot's outputs here (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.threads is not None and args.threads < 0:
        parser.error("--threads must be >= 0")
    return args


def import_peers():
    try:
        import numpy  # noqa: F401
        import scipy  # noqa: F401
        import scipy.linalg  # noqa: F401
    except ImportError as e:
        print(f"peers_sqrtm.py needs NumPy and SciPy ({e}).\n"
              f"Install them with:  {sys.executable} -m pip install numpy scipy", file=sys.stderr)
        sys.exit(2)


# ---- machine ---------------------------------------------------------------------------------


# ---- the methods -----------------------------------------------------------------------------


def numpy_loop(np, a):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        w, v = np.linalg.eigh(a[i])
        out[i] = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return out


def scipy_loop(np, sqrtm, a):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        s = sqrtm(a[i])
        out[i] = s.real if np.iscomplexobj(s) else s
    return out


def read_time_ms(path: Path) -> float:
    # The JSON also holds the whole result as nested lists (large); "time_ms" comes early, so
    # read the head first and parse the whole file only if it is not there.
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", errors="replace")
    match = re.search(r'"time_ms"\s*:\s*([-+0-9.eE]+)', head)
    if match:
        return float(match.group(1))
    with open(path, encoding="utf-8") as f:
        return float(json.load(f)["time_ms"])


def run_gaussot(gaussot: Path, cov: Path, out_json: Path, prefix: str, threads: int | None):
    command = [str(gaussot), "sqrtm", "--cov", str(cov), "--backend", "cpu", "--precision", "f64",
               "--out", str(out_json), "--save-prefix", prefix]
    if threads is not None:
        command += ["--threads", str(threads)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with status {done.returncode}:\n"
                           f"{done.stderr.strip() or done.stdout.strip()}")
    return read_time_ms(out_json) / 1e3, wall


def run_gaussot_time(gaussot_time: Path, cov: Path, result: Path, repeats: int,
                     threads: int | None) -> dict:
    return common.gaussot_time_json(gaussot_time, ["--op", "sqrtm", "--cov", str(cov), "--repeat",
                                            str(repeats), "--save", str(result)], threads)


def max_relative_error(np, s, reference) -> float:
    num = np.linalg.norm((s - reference).reshape(len(s), -1), axis=1)
    den = np.linalg.norm(reference.reshape(len(reference), -1), axis=1)
    return float(np.max(num / den))


def run_case(np, sqrtm, args, d: int, k: int, workdir: Path) -> dict:
    common.progress(f"[{d}x{k}] generating inputs (seed {args.seed})")
    a = common.make_inputs(np, d, k, args.seed)
    cov = workdir / f"cov_{d}x{k}.npy"
    np.save(cov, a)

    methods: dict[str, dict] = {}
    common.progress(f"[{d}x{k}] numpy loop x{args.repeats}")
    times, s_loop = common.time_repeated(lambda: numpy_loop(np, a), args.repeats)
    methods["numpy_loop"] = common.summary(times)
    common.progress(f"[{d}x{k}] numpy stacked x{args.repeats}")
    times, s_stacked = common.time_repeated(lambda: common.numpy_stacked(np, a), args.repeats)
    methods["numpy_stacked"] = common.summary(times)
    methods["numpy_stacked"]["max_rel_err_vs_numpy_loop"] = max_relative_error(np, s_stacked, s_loop)
    if not args.no_scipy:
        common.progress(f"[{d}x{k}] scipy loop x{args.repeats}")
        times, s_scipy = common.time_repeated(lambda: scipy_loop(np, sqrtm, a), args.repeats)
        methods["scipy_loop"] = common.summary(times)
        methods["scipy_loop"]["max_rel_err_vs_numpy_loop"] = max_relative_error(np, s_scipy, s_loop)

    common.progress(f"[{d}x{k}] gaussot (library call) x{args.repeats}")
    library_result = workdir / f"gaussot_time_{d}x{k}.npy"
    timing = run_gaussot_time(args.gaussot_time, cov, library_result, args.repeats, args.threads)
    methods["gaussot"] = common.summary([t / 1e3 for t in timing["times_ms"]])
    methods["gaussot"]["first_call_s"] = timing["first_ms"] / 1e3
    error = max_relative_error(np, np.load(library_result), s_loop)

    common.progress(f"[{d}x{k}] gaussot command x{args.repeats}")
    prefix = str(workdir / f"gaussot_{d}x{k}_")
    out_json = workdir / f"gaussot_{d}x{k}.json"
    compute, walls = [], []
    for _ in range(args.repeats):
        seconds, wall = run_gaussot(args.gaussot, cov, out_json, prefix, args.threads)
        compute.append(seconds)
        walls.append(wall)
    methods["gaussot_cli"] = common.summary(compute)
    methods["gaussot_cli"]["process_wall_min_s"] = min(walls)
    methods["gaussot_cli"]["process_wall_median_s"] = statistics.median(walls)
    s_gaussot = np.load(prefix + "sqrt.npy")
    if s_gaussot.shape != a.shape:
        raise RuntimeError(f"gaussot wrote shape {s_gaussot.shape}, expected {a.shape}")
    error = max(error, max_relative_error(np, s_gaussot, s_loop))

    reference = methods["gaussot"]["min_s"]
    ratios = {f"{name}/gaussot": methods[name]["min_s"] / reference
              for name in ("numpy_loop", "numpy_stacked", "scipy_loop", "gaussot_cli")
              if name in methods}
    return {"d": d, "batch": k, "dtype": "float64", "repeats": args.repeats, "seed": args.seed,
            "methods": methods, "ratios_of_minima": ratios,
            "max_rel_err_gaussot_vs_numpy_loop": error, "tolerance": TOLERANCE,
            "agree": bool(error < TOLERANCE)}


# ---- report ----------------------------------------------------------------------------------


def format_report(machine: dict, cases: list[dict]) -> str:
    lines = common.header_lines("Batched SPD square root, float64", machine)
    labels = {"numpy_loop": "numpy loop (eigh per item)", "numpy_stacked": "numpy stacked eigh",
              "scipy_loop": "scipy.linalg.sqrtm loop", "gaussot": "gaussot::sqrtm (library call)",
              "gaussot_cli": "gaussot sqrtm command (time_ms)"}
    for case in cases:
        m = case["methods"]
        g = m["gaussot"]["min_s"]
        lines += ["", f"d = {case['d']}, batch = {case['batch']}, {case['repeats']} repetitions",
                  f"  {'method':<30} {'min [ms]':>10} {'median [ms]':>12} {'min / gaussot':>14}"]
        for name in ("numpy_loop", "numpy_stacked", "scipy_loop", "gaussot", "gaussot_cli"):
            if name not in m:
                continue
            r = m[name]
            lines.append(f"  {labels[name]:<30} {r['min_s'] * 1e3:>10.1f} {r['median_s'] * 1e3:>12.1f} "
                         f"{r['min_s'] / g:>13.2f}x")
        lines.append(f"  {'gaussot command wall time':<30} {m['gaussot_cli']['process_wall_min_s'] * 1e3:>10.1f} "
                     f"{m['gaussot_cli']['process_wall_median_s'] * 1e3:>12.1f}   (reading .npy, writing JSON/.npy)")
        lines.append(f"  {'gaussot first library call':<30} {m['gaussot']['first_call_s'] * 1e3:>10.1f}"
                     f"{'':>13}   (thread start-up, first touch; not counted)")
        lines.append(f"  max_i ||S_gaussot - S_numpy||_F / ||S_numpy||_F = "
                     f"{case['max_rel_err_gaussot_vs_numpy_loop']:.3e}  "
                     f"({'OK' if case['agree'] else 'FAIL'}, tolerance {case['tolerance']:g})")
        for name in ("numpy_stacked", "scipy_loop"):
            if name in m:
                lines.append(f"  {name} vs numpy loop: {m[name]['max_rel_err_vs_numpy_loop']:.3e}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import_peers()
    import numpy as np
    import scipy
    from scipy.linalg import sqrtm

    if not common.check_executables("peers_sqrtm.py", ((args.gaussot, "gaussot_cli", "--gaussot"),
                                                (args.gaussot_time, "gaussot_time", "--gaussot-time"))):
        return 2

    machine = common.machine_info(np, scipy, args.gaussot, args.threads)
    return common.run_cases("peers_sqrtm", args, machine,
                     lambda case, workdir: run_case(np, sqrtm, args, *case, workdir),
                     format_report, "gaussot disagrees with NumPy beyond the tolerance")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
