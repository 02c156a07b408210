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
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GAUSSOT = REPO_ROOT / "build" / "apps" / "gaussot"
DEFAULT_GAUSSOT_TIME = REPO_ROOT / "build" / "bench" / "gaussot_time"
TOLERANCE = 1e-10


def case_parser(names: str, example: str):
    """An argparse type for cases "AxB" of two positive integers, described as `names` (e.g. DxK)."""
    def parse(text: str) -> tuple[int, int]:
        match = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
        if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
            raise argparse.ArgumentTypeError(
                f"expected {names} with positive integers (e.g. {example}), got {text!r}")
        return int(match.group(1)), int(match.group(2))
    return parse


parse_case = case_parser("DxK", "64x1000")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Batched SPD square roots: gaussot (command line, CPU backend) vs NumPy and SciPy.")
    parser.add_argument("--cases", nargs="+", type=parse_case, default=[(64, 1000)], metavar="DxK",
                        help="cases to run, order d by batch size k (default: 64x1000)")
    parser.add_argument("--gaussot", type=Path, default=DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command (default: {DEFAULT_GAUSSOT})")
    parser.add_argument("--gaussot-time", type=Path, default=DEFAULT_GAUSSOT_TIME,
                        help=f"path of the in-process timer (default: {DEFAULT_GAUSSOT_TIME})")
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

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas_name(np) -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no mode="dicts"
        return "unknown"


def gaussot_info(gaussot: Path, threads: int | None) -> dict:
    command = [str(gaussot), "info"] + (["--threads", str(threads)] if threads is not None else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return json.loads(done.stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
        # `info` may not take --threads; try without it.
        try:
            done = subprocess.run([str(gaussot), "info"], capture_output=True, text=True, check=True)
            return json.loads(done.stdout)
        except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
            return {}


def machine_info(np, scipy, gaussot: Path, threads: int | None) -> dict:
    info = gaussot_info(gaussot, threads)
    try:
        usable_cores = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cores = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numpy_blas": blas_name(np),
        "blas_thread_env": {k: os.environ[k] for k in
                            ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                            if k in os.environ},
        "gaussot": str(gaussot.resolve()),
        "gaussot_version": info.get("version", "unknown"),
        "gaussot_cpu_threads": info.get("cpu_threads"),
        "gaussot_threads_option": threads,
    }


# ---- the methods -----------------------------------------------------------------------------

def make_inputs(np, d: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((k, d, d))
    a = g @ g.transpose(0, 2, 1) / d + 1e-3 * np.eye(d)
    return np.ascontiguousarray((a + a.transpose(0, 2, 1)) / 2)  # exactly symmetric


def numpy_loop(np, a):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        w, v = np.linalg.eigh(a[i])
        out[i] = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return out


def numpy_stacked(np, a):
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))[:, None, :]) @ v.transpose(0, 2, 1)


def scipy_loop(np, sqrtm, a):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        s = sqrtm(a[i])
        out[i] = s.real if np.iscomplexobj(s) else s
    return out


def time_repeated(function, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


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


def gaussot_time_json(gaussot_time: Path, arguments: list[str], threads: int | None) -> dict:
    """Runs `gaussot_time ARGUMENTS [--threads N]` and returns the JSON object it prints;
    RuntimeError with its message when it fails."""
    command = [str(gaussot_time)] + arguments
    if threads is not None:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with status {done.returncode}:\n"
                           f"{done.stderr.strip() or done.stdout.strip()}")
    return json.loads(done.stdout)


def run_gaussot_time(gaussot_time: Path, cov: Path, result: Path, repeats: int,
                     threads: int | None) -> dict:
    return gaussot_time_json(gaussot_time, ["--op", "sqrtm", "--cov", str(cov), "--repeat",
                                            str(repeats), "--save", str(result)], threads)


def max_relative_error(np, s, reference) -> float:
    num = np.linalg.norm((s - reference).reshape(len(s), -1), axis=1)
    den = np.linalg.norm(reference.reshape(len(reference), -1), axis=1)
    return float(np.max(num / den))


def summary(times: list[float]) -> dict:
    return {"min_s": min(times), "median_s": statistics.median(times), "times_s": times}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_case(np, sqrtm, args, d: int, k: int, workdir: Path) -> dict:
    progress(f"[{d}x{k}] generating inputs (seed {args.seed})")
    a = make_inputs(np, d, k, args.seed)
    cov = workdir / f"cov_{d}x{k}.npy"
    np.save(cov, a)

    methods: dict[str, dict] = {}
    progress(f"[{d}x{k}] numpy loop x{args.repeats}")
    times, s_loop = time_repeated(lambda: numpy_loop(np, a), args.repeats)
    methods["numpy_loop"] = summary(times)
    progress(f"[{d}x{k}] numpy stacked x{args.repeats}")
    times, s_stacked = time_repeated(lambda: numpy_stacked(np, a), args.repeats)
    methods["numpy_stacked"] = summary(times)
    methods["numpy_stacked"]["max_rel_err_vs_numpy_loop"] = max_relative_error(np, s_stacked, s_loop)
    if not args.no_scipy:
        progress(f"[{d}x{k}] scipy loop x{args.repeats}")
        times, s_scipy = time_repeated(lambda: scipy_loop(np, sqrtm, a), args.repeats)
        methods["scipy_loop"] = summary(times)
        methods["scipy_loop"]["max_rel_err_vs_numpy_loop"] = max_relative_error(np, s_scipy, s_loop)

    progress(f"[{d}x{k}] gaussot (library call) x{args.repeats}")
    library_result = workdir / f"gaussot_time_{d}x{k}.npy"
    timing = run_gaussot_time(args.gaussot_time, cov, library_result, args.repeats, args.threads)
    methods["gaussot"] = summary([t / 1e3 for t in timing["times_ms"]])
    methods["gaussot"]["first_call_s"] = timing["first_ms"] / 1e3
    error = max_relative_error(np, np.load(library_result), s_loop)

    progress(f"[{d}x{k}] gaussot command x{args.repeats}")
    prefix = str(workdir / f"gaussot_{d}x{k}_")
    out_json = workdir / f"gaussot_{d}x{k}.json"
    compute, walls = [], []
    for _ in range(args.repeats):
        seconds, wall = run_gaussot(args.gaussot, cov, out_json, prefix, args.threads)
        compute.append(seconds)
        walls.append(wall)
    methods["gaussot_cli"] = summary(compute)
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

def header_lines(title: str, machine: dict) -> list[str]:
    """The report's first lines: title, CPU, library versions, threads."""
    lines = [
        title,
        f"CPU: {machine['cpu_model']} ({machine['cpu_count']} logical CPUs, "
        f"{machine['usable_cores']} usable)",
        f"Python {machine['python']}, NumPy {machine['numpy']} (BLAS: {machine['numpy_blas']}), "
        f"SciPy {machine['scipy']}" + (f", POT {machine['pot']}" if machine.get("pot") else ""),
        f"gaussot {machine['gaussot_version']} ({machine['gaussot']}), CPU threads: "
        f"{machine['gaussot_cpu_threads']}"
        + (f" (--threads {machine['gaussot_threads_option']})"
           if machine["gaussot_threads_option"] is not None else ""),
    ]
    if machine["blas_thread_env"]:
        lines.append("BLAS/OpenMP environment: " +
                     ", ".join(f"{k}={v}" for k, v in machine["blas_thread_env"].items()))
    return lines


def check_executables(script: str, executables) -> bool:
    """(path, CMake target, option) triples: False after a message when one is not executable."""
    for path, target, option in executables:
        if not path.is_file() or not os.access(path, os.X_OK):
            print(f"{script}: no executable at {path} (build the target {target}, or pass "
                  f"{option} PATH)", file=sys.stderr)
            return False
    return True


def run_cases(benchmark: str, args, machine: dict, run_one, report, disagreement: str) -> int:
    """Runs run_one(case, workdir) for every case of args.cases in one working directory, prints
    report(machine, cases), writes --json, and returns the exit status: 0, or 1 when a case fails
    or a result disagrees (each case dict has "agree")."""
    cases = []
    with tempfile.TemporaryDirectory(prefix=f"gaussot-{benchmark}-") as temporary:
        workdir = args.workdir if args.workdir is not None else Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            for case in args.cases:
                cases.append(run_one(case, workdir))
        except RuntimeError as e:
            print(f"{benchmark}.py: {e}", file=sys.stderr)
            return 1
    ok = all(case["agree"] for case in cases)
    print(report(machine, cases))
    if args.json is not None:
        document = {"benchmark": benchmark, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "machine": machine, "cases": cases, "ok": ok}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if not ok:
        print(f"{benchmark}.py: {disagreement}", file=sys.stderr)
        return 1
    return 0


def format_report(machine: dict, cases: list[dict]) -> str:
    lines = header_lines("Batched SPD square root, float64", machine)
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

    if not check_executables("peers_sqrtm.py", ((args.gaussot, "gaussot_cli", "--gaussot"),
                                                (args.gaussot_time, "gaussot_time", "--gaussot-time"))):
        return 2

    machine = machine_info(np, scipy, args.gaussot, args.threads)
    return run_cases("peers_sqrtm", args, machine,
                     lambda case, workdir: run_case(np, sqrtm, args, *case, workdir),
                     format_report, "gaussot disagrees with NumPy beyond the tolerance")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
