#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Comparing many representations: `gaussot compare` against the usual NumPy pipeline.

One case, `layers` (--cases layers, the default), float64, deterministic from --seed
(np.random.default_rng([seed, 3])):

  inputs    k = --k activation files (default 40), each (n, d_f) with n = --n rows (default 10000)
            and d_f = --d features (default 128), or with --widths W1,W2,... (which replaces
            --d) the widths taken cyclically (file f gets W[f mod len(W)]). They are the layers
            of random-feature networks of DEPTH = 4 tanh layers each (the last network may be cut
            short), all fed the same n inputs: a shared z (n x 32, standard normal); network j
            (of J = ceil(k / 4)) sees u_j = cos(θ_j) z + sin(θ_j) ε_j with its own standard normal
            ε_j (n x 32) and θ_j = 0.3π j / max(1, J − 1), so network 0 sees z alone and the last
            one more of its own noise than of z (cos 0.3π ≈ 0.59); layer l computes
            h_l = tanh(h_{l−1} W_l + b_l) from h_0 = u_j, with W_l ~ N(0, GAIN² / fan_in),
            GAIN = 1.5, and b_l ~ N(0, 0.1²), drawn in the order network, layer (z first, then
            per network ε_j, then per layer W_l, b_l). Layers of one network are related to each
            other, networks to each other through z, so the linear CKA values are spread over
            (0, 1). Written with np.save as netJJ_layerL.npy into a folder of their own under
            --workdir (by default a temporary directory, removed at the end).

  numpy     the usual in-memory pipeline, in a child process (this script with --numpy-only, so
            that its peak RSS is its own): np.load of every file (sorted by path, as gaussot's
            --dir), each centred in place (X̃ = X − mean), then for i ≤ j the linear CKA
            ‖X̃_iᵀX̃_j‖²_F / (‖X̃_iᵀX̃_i‖_F ‖X̃_jᵀX̃_j‖_F) (one matrix product per pair, mirrored),
            the covariances X̃_iᵀX̃_i / (n − 1) (from the Gram matrices already formed), their
            spectra by np.linalg.eigvalsh, sorted decreasingly and zero-padded to the largest
            width, and the centered IGW matrix IGW²_ij = ‖α_i‖² + ‖α_j‖² − 2 α_i·α_j from one
            product P = A Aᵀ of the padded spectra, with ‖α_i‖² = P_ii (so that the diagonal is
            exactly 0, as in gaussot; squared norms rounded apart from P would leave rounding
            noise of ε‖α‖² on the diagonal, whose square root, ~1e-8 ‖α‖, fails the bar below),
            IGW = sqrt(max(0, IGW²)). Timed by wall clock inside the child from the first
            np.load to the last result (reading included, interpreter start and `import numpy`
            not); the split (load, centre, CKA, IGW) is reported too.

  gaussot   `gaussot compare --dir DIR --metrics cka,igw --centered --backend cpu --out R.json
            --no-progress [--threads N] [--memory-limit M]`, one process per repetition, twice:
            with gaussot's default memory limit (2048 MiB: at the default size everything fits
            and each file is read once) and with --memory-limit M = --memory-limit of this script,
            by default a quarter of the data size (the prepared CKA sets are then held in blocks
            and later files re-read: set_reads > k). Time: the process wall clock (it reads the
            files as NumPy's time does; it also pays process start and writing the JSON), with
            its own time_ms (compute, reading excluded) and read_ms beside it.

Peak RSS: the VmHWM of each child process (numpy and gaussot alike), read from /proc/PID/status
every 2 ms while it runs, printed in MB (10⁶ bytes) next to the data size on disk; also that of a
bare child (`python3 -c "import numpy"`, `gaussot info`; the largest of 5 runs, as the sampling
can miss the peak of a process that lives a few milliseconds) as the floor each starts from. Not
ru_maxrss (wait4, RUSAGE_CHILDREN): Linux carries the spawning process's high-water mark across
exec, so it would report at least this script's own RSS for every child.

Agreement, for both gaussot runs against NumPy: max |CKA_gaussot − CKA_numpy| <= 1e-10 and
max |IGW_gaussot − IGW_numpy| / max IGW_numpy <= 1e-9, else exit status 1. The file names (row
and column order) must match as well.

Each method runs --repeats times (default 1); the report shows minimum and median, the ratios
numpy / gaussot of the minima (against the process wall time and against time_ms + read_ms),
peak RSS, set_reads (and the count the block plan predicts), the agreement numbers, then one JSON
line with all the numbers (--json FILE writes them too, with the machine).

Threads, as in the other peer scripts: NumPy uses its BLAS's default (OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS; recorded when set), gaussot one thread per core unless
--threads N. Needs only NumPy. Exit status: 0 agreement, 1 disagreement or a failing gaussot (or
NumPy child), 2 bad usage, NumPy missing or gaussot not built.

  python3 bench/peers_compare.py                                   # k = 40, n = 10000, d = 128
  python3 bench/peers_compare.py --k 6 --n 500 --d 16              # quick check
  python3 bench/peers_compare.py --k 8 --n 2000 --widths 16,32 --repeats 3 --json out.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402
from peers_common import blas_threads, scalar  # noqa: E402

CASES = ("layers",)
INPUT_WIDTH = 32         # columns of the shared input z
DEPTH = 4                # layers per network
GAIN = 1.5
CKA_TOLERANCE = 1e-10    # absolute
IGW_TOLERANCE = 1e-9     # relative to the largest IGW of NumPy's matrix
GAUSSOT_DEFAULT_LIMIT_MIB = 2048.0  # `gaussot compare --memory-limit` default
MB = 1e6
POLL_S = 0.002           # how often a child's VmHWM is read


def parse_widths(text: str) -> list[int]:
    try:
        widths = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        widths = []
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive widths (e.g. 64,128,256), got {text!r}")
    return widths


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="All-against-all CKA and centered IGW of activation files: gaussot compare vs "
                    "the usual NumPy pipeline (time, peak memory, agreement).")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES),
                        help="cases to run (default: layers)")
    parser.add_argument("--k", type=int, default=40, help="activation files (default: 40)")
    parser.add_argument("--n", type=int, default=10000, help="rows (inputs) per file (default: 10000)")
    parser.add_argument("--d", type=int, default=None, help="features per file (default: 128)")
    parser.add_argument("--widths", type=parse_widths, default=None, metavar="W1,W2,...",
                        help="mix these widths cyclically over the files (replaces --d)")
    parser.add_argument("--memory-limit", type=float, default=None, metavar="MIB",
                        help="gaussot's --memory-limit for the second gaussot run, in MiB (default: "
                             "a quarter of the data size)")
    parser.add_argument("--seed", type=int, default=0, help="seed of np.random.default_rng (default: 0)")
    parser.add_argument("--repeats", type=int, default=1, help="repetitions per method (default: 1)")
    parser.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT,
                        help=f"path of the gaussot command (default: {common.DEFAULT_GAUSSOT})")
    parser.add_argument("--threads", type=int, default=None,
                        help="passed to gaussot as --threads N (default: gaussot's, one per core)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the activation files and gaussot's outputs here (default: a "
                             "temporary directory)")
    # Internal: the NumPy side in a child process (see the module docstring).
    parser.add_argument("--numpy-only", type=Path, default=None, metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--numpy-result", type=Path, default=None, metavar="NPZ", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.numpy_only is not None:
        if args.numpy_result is None:
            parser.error("--numpy-only needs --numpy-result FILE.npz")
        return args
    for name in ("k", "n", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.n < 2:
        parser.error("--n must be >= 2 (covariances and CKA need two rows)")
    if args.d is not None and args.d < 1:
        parser.error("--d must be >= 1")
    if args.d is not None and args.widths is not None:
        print(f"peers_compare.py: --widths given, --d {args.d} ignored", file=sys.stderr)
    args.widths = args.widths or [args.d or 128]
    if args.memory_limit is not None and not (args.memory_limit > 0 and math.isfinite(args.memory_limit)):
        parser.error("--memory-limit must be a positive number of MiB")
    if args.threads is not None and args.threads < 0:
        parser.error("--threads must be >= 0")
    args.cases = list(dict.fromkeys(args.cases))
    return args


# ---- inputs ----------------------------------------------------------------------------------

def file_widths(k: int, widths: list[int]) -> list[int]:
    return [widths[f % len(widths)] for f in range(k)]


def write_layers(np, folder: Path, k: int, n: int, widths: list[int], seed: int) -> list[Path]:
    """The activation files of the `layers` case (module docstring), in name order."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.npy"):  # this folder is the script's own: --dir reads every .npy
        stale.unlink()
    rng = np.random.default_rng([seed, 3])
    z = rng.standard_normal((n, INPUT_WIDTH))
    networks = -(-k // DEPTH)
    digits = max(2, len(str(networks - 1)))
    paths = []
    for net in range(networks):
        theta = 0.3 * math.pi * net / max(1, networks - 1)
        h = math.cos(theta) * z + math.sin(theta) * rng.standard_normal((n, INPUT_WIDTH))
        for layer in range(DEPTH):
            f = net * DEPTH + layer
            if f >= k:
                break
            width = widths[f % len(widths)]
            w = rng.standard_normal((h.shape[1], width)) * (GAIN / math.sqrt(h.shape[1]))
            b = 0.1 * rng.standard_normal(width)
            h = np.tanh(h @ w + b)
            path = folder / f"net{net:0{digits}d}_layer{layer}.npy"
            np.save(path, h)
            paths.append(path)
    return sorted(paths, key=str)


def planned_set_reads(widths: list[int], n: int, limit_mib: float) -> tuple[int, int]:
    """(blocks, set reads) of gaussot's CKA block plan (src/compare.cpp, plan_blocks): consecutive
    files whose prepared float64 copies fit in the limit together, at least one per block; every
    file read once, then each block b > 0 re-reads the files from its start to the end."""
    limit = int(limit_mib * 1024 * 1024)
    starts, used = [0], 0
    for i, d in enumerate(widths):
        size = d * n * 8
        if used > 0 and used + size > limit:
            starts.append(i)
            used = 0
        used += size
    k = len(widths)
    return len(starts), k + sum(k - s for s in starts[1:])


# ---- the NumPy pipeline (child process) ------------------------------------------------------

def numpy_pipeline(np, paths: list[Path]) -> tuple[dict, dict]:
    """CKA and centered IGW matrices of the files (module docstring); returns them and the split."""
    start = time.perf_counter()
    xs = [np.load(path) for path in paths]
    loaded = time.perf_counter()
    for x in xs:
        x -= x.mean(axis=0)
    centred = time.perf_counter()
    k, n = len(xs), xs[0].shape[0]
    cka = np.empty((k, k))
    grams = [x.T @ x for x in xs]
    self_norms = [math.sqrt(np.vdot(gram, gram)) for gram in grams]
    for i in range(k):
        for j in range(i, k):
            cross = grams[i] if j == i else xs[i].T @ xs[j]
            cka[i, j] = cka[j, i] = np.vdot(cross, cross) / (self_norms[i] * self_norms[j])
    ckad = time.perf_counter()
    width = max(x.shape[1] for x in xs)
    alpha = np.zeros((k, width))
    for i, gram in enumerate(grams):
        alpha[i, :gram.shape[0]] = np.linalg.eigvalsh(gram / (n - 1))[::-1]
    products = alpha @ alpha.T
    norms = np.diag(products)  # the same rounding as the products: the diagonal is exactly 0
    igw = np.sqrt(np.maximum(norms[:, None] + norms[None, :] - 2 * products, 0.0))
    end = time.perf_counter()
    split = {"total_s": end - start, "load_s": loaded - start, "centre_s": centred - loaded,
             "cka_s": ckad - centred, "igw_s": end - ckad}
    return {"cka": cka, "igw": igw}, split


def numpy_child(args) -> int:
    import numpy as np
    paths = sorted(args.numpy_only.glob("*.npy"), key=str)
    if not paths:
        print(f"peers_compare.py --numpy-only: no .npy file in {args.numpy_only}", file=sys.stderr)
        return 2
    result, split = numpy_pipeline(np, paths)
    np.savez(args.numpy_result, names=np.array([p.stem for p in paths]), **result)
    print(json.dumps({**split, "vm_hwm_kib": vm_hwm_of(os.getpid())}))
    return 0


# ---- child processes -------------------------------------------------------------------------

def vm_hwm_of(pid: int) -> int | None:
    """VmHWM of a running process in KiB (None once it has exited, or without /proc)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_child(command: list[str], log_stem: Path) -> tuple[float, int | None, str]:
    """Runs `command` with stdout and stderr in LOG_STEM.out/.err; returns (wall seconds, peak RSS
    in bytes, stdout). RuntimeError with its message when it fails.

    Peak RSS: the child's VmHWM, read from /proc/PID/status every POLL_S seconds while it runs
    (the high-water mark only grows, so the last reading before it exits is its peak unless the
    peak falls in the last POLL_S). Not ru_maxrss: Linux keeps across exec the high-water mark of
    the process that spawned the child (this script, with NumPy and the matrices loaded), so
    wait4/RUSAGE_CHILDREN report at least the parent's RSS."""
    out_path, err_path = log_stem.with_suffix(".out"), log_stem.with_suffix(".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        ended = {}

        def wait_for_exit() -> None:  # leaves the child a zombie (WNOWAIT): its PID stays ours
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
            ended["at"] = time.perf_counter()

        waiter = threading.Thread(target=wait_for_exit, daemon=True)
        waiter.start()
        peak = None
        while waiter.is_alive():
            reading = vm_hwm_of(child.pid)
            if reading is not None:
                peak = max(peak or 0, reading)
            waiter.join(POLL_S)
        _, status = os.waitpid(child.pid, 0)
        wall = ended["at"] - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    if child.returncode != 0:
        message = (err_path.read_text(encoding="utf-8", errors="replace").strip()
                   or stdout.strip() or "(no output)")[-2000:]
        raise RuntimeError(f"{' '.join(command)} exited with status {child.returncode}:\n{message}")
    return wall, None if peak is None else peak * 1024, stdout


def baseline_rss(command: list[str], log_stem: Path, runs: int = 5) -> float | None:
    """The largest sampled peak RSS of `runs` runs of a short command, in MB (its VmHWM can be
    missed by the sampling when it lives only a few milliseconds)."""
    peaks = []
    for _ in range(runs):
        try:
            peaks.append(run_child(command, log_stem)[1])
        except (OSError, RuntimeError):
            return None
    return peak_mb(peaks)


def peak_mb(peaks: list[int | None]) -> float | None:
    known = [p for p in peaks if p is not None]
    return max(known) / MB if known else None


def gaussot_command(args, folder: Path, out_json: Path, limit_mib: float | None) -> list[str]:
    command = [str(args.gaussot), "compare", "--dir", str(folder), "--metrics", "cka,igw",
               "--centered", "--backend", "cpu", "--precision", "f64", "--no-progress",
               "--out", str(out_json)]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    if limit_mib is not None:
        command += ["--memory-limit", repr(limit_mib)]
    return command


def run_gaussot(np, args, folder: Path, workdir: Path, tag: str, limit_mib: float | None):
    """`gaussot compare` --repeats times: its summary and its last matrices."""
    walls, compute, reading, rss, reads = [], [], [], [], []
    out_json = workdir / f"gaussot_compare_{tag}.json"
    document = {}
    for repetition in range(args.repeats):
        wall, peak, _ = run_child(gaussot_command(args, folder, out_json, limit_mib),
                                  workdir / f"gaussot_compare_{tag}")
        try:
            document = json.loads(out_json.read_text(encoding="utf-8"))
            compute.append(scalar(document["time_ms"]) / 1e3)
            reading.append(scalar(document["read_ms"]) / 1e3)
            reads.append(int(scalar(document["set_reads"])))
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise RuntimeError(f"`gaussot compare` wrote unexpected JSON to {out_json} "
                               f"({type(e).__name__}: {e})") from None
        walls.append(wall)
        rss.append(peak)
    summary = common.summary(walls)
    summary.update({
        "memory_limit_mib": limit_mib if limit_mib is not None else GAUSSOT_DEFAULT_LIMIT_MIB,
        "memory_limit_option": limit_mib is not None,
        "time_ms_min_s": min(compute), "time_ms_median_s": statistics.median(compute),
        "read_ms_min_s": min(reading), "read_ms_median_s": statistics.median(reading),
        "compute_plus_read_min_s": min(c + r for c, r in zip(compute, reading)),
        "compute_plus_read_times_s": [c + r for c, r in zip(compute, reading)],
        "peak_rss_mb": peak_mb(rss), "peak_rss_bytes_each": rss,
        "set_reads": reads[-1], "set_reads_each": reads,
    })
    try:
        names = list(document["names"])
        cka = np.array(document["cka"], dtype=np.float64)
        igw = np.array(document["igw"], dtype=np.float64)
        exact = np.array(document.get("igw_exact", []), dtype=bool)
    except (KeyError, TypeError, ValueError) as e:
        raise RuntimeError(f"`gaussot compare` wrote unexpected matrices to {out_json} "
                           f"({type(e).__name__}: {e})") from None
    summary["igw_pairs_not_exact"] = int(exact.size - np.count_nonzero(exact)) if exact.size else None
    return summary, {"names": names, "cka": cka, "igw": igw}


def run_numpy(np, args, folder: Path, workdir: Path):
    """The NumPy pipeline in a child process, --repeats times: its summary and its matrices."""
    result_path = workdir / "numpy_compare.npz"
    command = [sys.executable, str(Path(__file__).resolve()), "--numpy-only", str(folder),
               "--numpy-result", str(result_path)]
    splits, walls, rss = [], [], []
    for _ in range(args.repeats):
        wall, peak, stdout = run_child(command, workdir / "numpy_compare")
        try:
            splits.append(json.loads(stdout.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError) as e:
            raise RuntimeError(f"the NumPy child printed no JSON ({e}): {stdout[:500]!r}") from None
        walls.append(wall)
        rss.append(peak)
    summary = common.summary([s["total_s"] for s in splits])
    for part in ("load_s", "centre_s", "cka_s", "igw_s"):
        summary[f"{part[:-2]}_min_s"] = min(s[part] for s in splits)
    summary.update({"process_wall_min_s": min(walls), "process_wall_median_s": statistics.median(walls),
                    "peak_rss_mb": peak_mb(rss), "peak_rss_bytes_each": rss,
                    "self_reported_peak_rss_mb": peak_mb([s["vm_hwm_kib"] and s["vm_hwm_kib"] * 1024
                                                          for s in splits])})
    with np.load(result_path) as saved:
        matrices = {"names": [str(name) for name in saved["names"]],
                    "cka": saved["cka"], "igw": saved["igw"]}
    return summary, matrices


def agreement(np, gaussot: dict, reference: dict) -> dict:
    if gaussot["names"] != reference["names"] or gaussot["cka"].shape != reference["cka"].shape \
            or gaussot["igw"].shape != reference["igw"].shape:
        return {"names_match": False, "cka_max_abs_diff": None, "igw_max_rel_diff": None,
                "igw_max_rel_diff_off_diagonal": None, "agree": False}
    cka = float(np.max(np.abs(gaussot["cka"] - reference["cka"])))
    scale = float(np.max(np.abs(reference["igw"])))
    igw_abs = np.abs(gaussot["igw"] - reference["igw"])
    igw = float(np.max(igw_abs) / scale) if scale > 0 else float(np.max(igw_abs))
    off = ~np.eye(len(reference["names"]), dtype=bool)
    igw_off = float(np.max(igw_abs[off]) / scale) if off.any() and scale > 0 else 0.0
    # NaN differences (a NaN from either side) fail the comparisons below.
    return {"names_match": True, "cka_max_abs_diff": cka, "igw_max_rel_diff": igw,
            "igw_max_rel_diff_off_diagonal": igw_off,
            "agree": bool(cka <= CKA_TOLERANCE and igw <= IGW_TOLERANCE)}


# ---- the case --------------------------------------------------------------------------------

def run_layers(np, args, workdir: Path) -> dict:
    k, n, widths = args.k, args.n, file_widths(args.k, args.widths)
    width_text = ",".join(map(str, args.widths))
    tag = f"[layers k={k} n={n} d={width_text}]"
    folder = workdir / f"activations-k{k}-n{n}-d{width_text.replace(',', '_')}-seed{args.seed}"
    data_bytes = sum(widths) * n * 8
    common.progress(f"{tag} writing {k} files ({data_bytes / MB:.1f} MB) to {folder}")
    paths = write_layers(np, folder, k, n, args.widths, args.seed)
    on_disk = sum(path.stat().st_size for path in paths)
    limit = args.memory_limit if args.memory_limit is not None else data_bytes / 4 / 2**20

    baselines = {"numpy_import_mb": baseline_rss([sys.executable, "-c", "import numpy"],
                                                 workdir / "baseline_numpy"),
                 "gaussot_info_mb": baseline_rss([str(args.gaussot), "info"], workdir / "baseline_gaussot")}

    common.progress(f"{tag} numpy (child process) x{args.repeats}")
    numpy_summary, reference = run_numpy(np, args, folder, workdir)
    methods = {"numpy": numpy_summary}
    blocks_default = planned_set_reads(widths, n, GAUSSOT_DEFAULT_LIMIT_MIB)
    blocks_limited = planned_set_reads(widths, n, limit)
    case = {"case": "layers", "k": k, "n": n, "widths": args.widths, "file_widths": widths,
            "seed": args.seed, "repeats": args.repeats, "data_bytes": data_bytes,
            "on_disk_bytes": on_disk, "baseline_rss": baselines, "methods": methods,
            "numpy_cka_offdiag_range": off_diagonal_range(np, reference["cka"]),
            "numpy_igw_max": float(np.max(reference["igw"])),
            "tolerances": {"cka_abs": CKA_TOLERANCE, "igw_rel": IGW_TOLERANCE}, "agree": True}

    runs = (("gaussot", None, blocks_default), ("gaussot_limited", limit, blocks_limited))
    results = {}
    for name, limit_mib, (blocks, reads) in runs:
        shown = "default" if limit_mib is None else f"{limit_mib:.4g} MiB"
        common.progress(f"{tag} gaussot compare, memory limit {shown} x{args.repeats}")
        try:
            summary, matrices = run_gaussot(np, args, folder, workdir, name, limit_mib)
        except RuntimeError as e:
            common.progress(f"peers_compare.py: {e}")
            case.update({"gaussot_error": f"(memory limit {shown}) {e}", "agree": False})
            break
        summary["planned_blocks"], summary["planned_set_reads"] = blocks, reads
        summary.update(agreement(np, matrices, reference))
        methods[name] = summary
        results[name] = matrices
        case["agree"] = case["agree"] and summary["agree"]
    if len(results) == 2:
        case["gaussot_runs_max_abs_diff"] = {
            m: float(np.max(np.abs(results["gaussot"][m] - results["gaussot_limited"][m])))
            for m in ("cka", "igw")}
    case["ratios_of_minima"] = {
        f"numpy/{name}{suffix}": numpy_summary["min_s"] / methods[name][field]
        for name in results
        for suffix, field in (("", "min_s"), ("_compute_plus_read", "compute_plus_read_min_s"))
        if methods[name][field] > 0}
    return case


def off_diagonal_range(np, m) -> list[float]:
    off = m[~np.eye(len(m), dtype=bool)]
    return [float(off.min()), float(off.max())] if off.size else [1.0, 1.0]


# ---- report ----------------------------------------------------------------------------------

def format_report(machine: dict, cases: list[dict]) -> str:
    lines = common.header_lines("Comparing representations (linear CKA, centered IGW), float64", machine)
    lines.append(f"Threads: NumPy {machine['numpy_blas_threads']}; gaussot "
                 f"{machine['gaussot_cpu_threads'] or 'one per core'} thread(s)")
    for case in cases:
        m = case["methods"]
        n = m["numpy"]
        widths = ",".join(map(str, case["widths"]))
        lines += ["", f"layers: k = {case['k']} files of n = {case['n']} rows, widths {widths} "
                      f"({case['k'] * (case['k'] + 1) // 2} pairs), {case['repeats']} repetition(s)",
                  f"  data: {case['data_bytes'] / MB:.1f} MB of float64 ({case['on_disk_bytes'] / MB:.1f} MB "
                  f"on disk, {case['data_bytes'] / 2**20:.1f} MiB); baseline RSS: python3 + numpy "
                  f"{fmt_mb(case['baseline_rss']['numpy_import_mb'])}, gaussot info "
                  f"{fmt_mb(case['baseline_rss']['gaussot_info_mb'])}",
                  f"  {'method':<40} {'min [s]':>9} {'median [s]':>11} {'numpy/this':>11} "
                  f"{'peak RSS [MB]':>14} {'set reads':>10}",
                  f"  {'numpy (np.load + CKA + IGW)':<40} {n['min_s']:>9.3f} {n['median_s']:>11.3f} "
                  f"{'':>11} {fmt_mb(n['peak_rss_mb'], ''):>14} {case['k']:>10}",
                  f"    split (minima): load {n['load_min_s']:.3f} s, centre {n['centre_min_s']:.3f} s, "
                  f"CKA {n['cka_min_s']:.3f} s, eigvalsh + IGW {n['igw_min_s']:.3f} s; child process wall "
                  f"{n['process_wall_min_s']:.3f} s (with interpreter start and import)"]
        for name in ("gaussot", "gaussot_limited"):
            if name not in m:
                continue
            g = m[name]
            label = ("gaussot compare (default limit)" if name == "gaussot" else
                     f"gaussot compare --memory-limit {g['memory_limit_mib']:.4g}")
            lines += [f"  {label:<40} {g['min_s']:>9.3f} {g['median_s']:>11.3f} "
                      f"{n['min_s'] / g['min_s']:>10.2f}x {fmt_mb(g['peak_rss_mb'], ''):>14} {g['set_reads']:>10}",
                      f"    time_ms {g['time_ms_min_s']:.3f} s + read_ms {g['read_ms_min_s']:.3f} s "
                      f"(minima; numpy / (time_ms + read_ms) = "
                      f"{n['min_s'] / g['compute_plus_read_min_s']:.2f}x); limit {g['memory_limit_mib']:.4g} MiB: "
                      f"{g['planned_blocks']} CKA block(s), set_reads expected {g['planned_set_reads']}"
                      + ("" if g["set_reads"] == g["planned_set_reads"] else "  (DIFFERS)"),
                      f"    vs numpy: max |ΔCKA| = {fmt_e(g['cka_max_abs_diff'])} (tolerance {CKA_TOLERANCE:g}), "
                      f"max |ΔIGW| / max IGW = {fmt_e(g['igw_max_rel_diff'])} (tolerance {IGW_TOLERANCE:g}; off "
                      f"the diagonal {fmt_e(g['igw_max_rel_diff_off_diagonal'])})  {'OK' if g['agree'] else 'FAIL'}"
                      + ("" if g["names_match"] else "  (file names, order or shapes differ from NumPy's)")]
            if g.get("igw_pairs_not_exact"):
                lines.append(f"    note: {g['igw_pairs_not_exact']} IGW pair(s) not marked exact with --centered")
        if "gaussot_runs_max_abs_diff" in case:
            d = case["gaussot_runs_max_abs_diff"]
            lines.append(f"  the two gaussot runs differ by at most {d['cka']:.1e} (CKA), {d['igw']:.1e} (IGW)")
        lo, hi = case["numpy_cka_offdiag_range"]
        lines.append(f"  CKA off the diagonal in [{lo:.3f}, {hi:.3f}]; max IGW {case['numpy_igw_max']:.4g}; "
                     f"NumPy's own VmHWM at its end {fmt_mb(n['self_reported_peak_rss_mb'])}")
        if "gaussot_error" in case:
            lines.append("  gaussot: FAILED -- " + case["gaussot_error"].replace("\n", "\n    "))
    summary = {"benchmark": "peers_compare", "machine": {key: machine[key] for key in
               ("cpu_model", "usable_cores", "numpy", "numpy_blas", "numpy_blas_threads",
                "gaussot_version", "gaussot_cpu_threads")}, "cases": cases}
    return "\n".join(lines + ["", json.dumps(summary, separators=(",", ":"))])


def fmt_e(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3e}"


def fmt_mb(value: float | None, unit: str = " MB") -> str:
    return "?" if value is None else f"{value:.1f}{unit}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.numpy_only is not None:
        return numpy_child(args)
    try:
        import numpy as np
    except ImportError as e:
        print(f"peers_compare.py needs NumPy ({e}).\n"
              f"Install it with:  {sys.executable} -m pip install numpy", file=sys.stderr)
        return 2
    scipy = type("absent", (), {"__version__": "not used"})  # for the shared header only
    if not common.check_executables("peers_compare.py", ((args.gaussot, "gaussot_cli", "--gaussot"),)):
        return 2
    machine = common.machine_info(np, scipy, args.gaussot, args.threads)
    machine["numpy_blas_threads"] = blas_threads(machine["blas_thread_env"])
    return common.run_cases("peers_compare", args, machine,
                            lambda case, workdir: run_layers(np, args, workdir),
                            format_report, "gaussot compare failed or disagrees with NumPy (see above)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
