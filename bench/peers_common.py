# SPDX-License-Identifier: Apache-2.0
"""What the peer benchmarks share: the paths of gaussot's binaries, the machine header, timing
and summaries, gaussot_time's JSON, the random SPD inputs of peers_sqrtm.py and NumPy's stacked
square root, and the loop over cases with its report. Imported by every bench/peers_*.py and by
bench/gpu_peers.py; not a script of its own."""
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


def case_parser(names: str, example: str):
    """An argparse type for cases "AxB" of two positive integers, described as `names` (e.g. DxK)."""
    def parse(text: str) -> tuple[int, int]:
        match = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
        if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
            raise argparse.ArgumentTypeError(
                f"expected {names} with positive integers (e.g. {example}), got {text!r}")
        return int(match.group(1)), int(match.group(2))
    return parse


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
        "gaussot_blas": info.get("blas", "unknown"),
        "gaussot_threads_option": threads,
    }


def make_inputs(np, d: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((k, d, d))
    a = g @ g.transpose(0, 2, 1) / d + 1e-3 * np.eye(d)
    return np.ascontiguousarray((a + a.transpose(0, 2, 1)) / 2)  # exactly symmetric


def numpy_stacked(np, a):
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))[:, None, :]) @ v.transpose(0, 2, 1)


def time_repeated(function, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


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


def summary(times: list[float]) -> dict:
    return {"min_s": min(times), "median_s": statistics.median(times), "times_s": times}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def scalar(value) -> float:
    """A number of gaussot's JSON, also when it comes as a one-element list."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return float(value)


def blas_threads(env: dict) -> str:
    try:
        import threadpoolctl
        counts = {info["internal_api"]: info["num_threads"] for info in threadpoolctl.threadpool_info()}
        return ", ".join(f"{api} {n} thread(s)" for api, n in counts.items()) or "unknown"
    except ImportError:
        if env:
            return "BLAS threads as the environment sets them (" + \
                ", ".join(f"{k}={v}" for k, v in env.items()) + ")"
        return "BLAS default (one thread per core)"
