#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Lone large matrices on the CPU, on a quiet machine and beside a busy process: the `gaussot`
command against NumPy, in one run, on the same inputs.

Rows (float64, d = --d, default 2048, the FID size; inputs seeded by np.random.default_rng(--seed)):
  eigvalsh   the eigenvalues of one covariance S_a:
      numpy     np.linalg.eigvalsh(S_a)
      gaussot   `gaussot eigh --values-only --cov S_a.npy`
  fid-cov    the Fréchet distance between N(m_a, S_a) and N(m_b, S_b) given by their moments:
      numpy     the symmetric path a NumPy user writes: w, V = eigh(S_a); R = V diag(√w) Vᵀ;
                tr (R S_b R)^½ from eigvalsh (clipped at 0); ‖m_a − m_b‖² + tr S_a + tr S_b − 2 tr
      gaussot   `gaussot fid --a-mean m_a.npy --a-cov S_a.npy --b-mean m_b.npy --b-cov S_b.npy`
Covariances S = X Xᵀ/n of n = 2d samples X = G diag(s) with a decaying scale s (geomspace(1, 1e-2)),
so that they are full rank and far from the identity, as features' covariances are.

gaussot's time is the `time_ms` it reports (compute: validation, buffers and the call; not reading
the .npy files); NumPy's is the wall time of the calls in this process. Each row runs --repeats
times (default 3), the methods interleaved, and the minimum is reported with the ratio
NumPy / gaussot (> 1: gaussot is faster).

Loads (--loads, default: quiet busy1): `quiet` runs nothing else; `busy1` first starts one process
that spins on one core (a Python `while True: pass`), as a training job or a second notebook does,
and stops it after the row. Both sides run with their default threads (one per core).

Agreement: gaussot's eigenvalues against NumPy's (max |Δ| / max |λ| < 1e-11) and FID (relative
difference < 1e-9), else exit status 1.

Usage (from the repository root; NumPy in the interpreter):
  python3 bench/peers_large.py [--d 2048] [--repeats 3] [--loads quiet busy1] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers_common import (DEFAULT_GAUSSOT, check_executables, header_lines,  # noqa: E402
                          machine_info, progress, scalar)


def covariance(np, rng, d: int):
    x = rng.standard_normal((d, 2 * d)) * np.geomspace(1, 1e-2, d)[:, None]
    s = x @ x.T / (2 * d)
    return (s + s.T) / 2


def numpy_fid(np, ma, sa, mb, sb):
    w, v = np.linalg.eigh(sa)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root @ sb @ root
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(((ma - mb) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * trace_root)


def run_gaussot(gaussot: Path, arguments: list[str], out: Path) -> dict:
    command = [str(gaussot)] + arguments + ["--backend", "cpu", "--precision", "f64",
                                            "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with status {done.returncode}:\n"
                           f"{done.stderr.strip()}")
    return json.loads(out.read_text(encoding="utf-8"))


class BusyCore:
    """One process spinning on one core while alive (the 'busy1' load)."""

    def __init__(self, load: str):
        self.process = None
        if load == "busy1":
            self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)  # let it be scheduled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", nargs="+", default=["eigvalsh", "fid-cov"],
                        choices=["eigvalsh", "fid-cov"])
    parser.add_argument("--loads", nargs="+", default=["quiet", "busy1"],
                        choices=["quiet", "busy1"])
    parser.add_argument("--gaussot", type=Path, default=DEFAULT_GAUSSOT)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    try:
        import numpy as np
        import scipy
    except ImportError as e:
        print(f"peers_large.py: {e} (install numpy and scipy)", file=sys.stderr)
        return 2
    if not check_executables("peers_large.py", [(args.gaussot, "gaussot_cli", "--gaussot")]):
        return 2
    machine = machine_info(np, scipy, args.gaussot, None)
    import tempfile
    rng = np.random.default_rng(args.seed)
    sa, sb = covariance(np, rng, args.d), covariance(np, rng, args.d)
    ma, mb = rng.standard_normal(args.d), rng.standard_normal(args.d)
    results, ok = [], True
    with tempfile.TemporaryDirectory(prefix="gaussot-large-") as temporary:
        work = args.workdir or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        for name, value in (("sa", sa), ("sb", sb), ("ma", ma), ("mb", mb)):
            np.save(work / f"{name}.npy", value)
        out = work / "out.json"
        rows = {
            "eigvalsh": (lambda: np.linalg.eigvalsh(sa),
                         ["eigh", "--values-only", "--cov", str(work / "sa.npy")]),
            "fid-cov": (lambda: numpy_fid(np, ma, sa, mb, sb),
                        ["fid", "--a-mean", str(work / "ma.npy"), "--a-cov", str(work / "sa.npy"),
                         "--b-mean", str(work / "mb.npy"), "--b-cov", str(work / "sb.npy")]),
        }
        for load in args.loads:
            for row in args.rows:
                numpy_call, arguments = rows[row]
                numpy_times, gaussot_times = [], []
                progress(f"peers_large.py: {row}, {load}")
                with BusyCore(load):
                    for _ in range(args.repeats):
                        start = time.perf_counter()
                        expected = numpy_call()
                        numpy_times.append(time.perf_counter() - start)
                        report = run_gaussot(args.gaussot, arguments, out)
                        gaussot_times.append(report["time_ms"] / 1e3)
                if row == "eigvalsh":
                    got = np.sort(np.asarray(report["eigenvalues"], dtype=float))
                    error = float(np.abs(got - np.sort(expected)).max() / np.abs(expected).max())
                    agree = error < 1e-11
                else:
                    got = scalar(report["fid"])
                    error = abs(got - expected) / abs(expected)
                    agree = error < 1e-9
                ok = ok and agree
                results.append({"row": row, "load": load, "numpy_s": numpy_times,
                                "gaussot_s": gaussot_times, "ratio": min(numpy_times) /
                                min(gaussot_times), "error": error, "agree": agree})
    lines = header_lines(f"Lone large matrices, d = {args.d}, float64: NumPy against the gaussot "
                         f"command (min of {args.repeats}, interleaved)", machine)
    lines.append(f"gaussot BLAS: {machine.get('gaussot_blas', 'unknown')}")
    lines += ["", "| row | load | NumPy s | gaussot s | NumPy / gaussot | agreement |",
              "| --- | --- | ---: | ---: | ---: | --- |"]
    for r in results:
        lines.append(f"| {r['row']} | {r['load']} | {min(r['numpy_s']):.3f} | "
                     f"{min(r['gaussot_s']):.3f} | {r['ratio']:.2f}x | {r['error']:.1e}"
                     f"{'' if r['agree'] else ' DISAGREES'} |")
    print("\n".join(lines))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"benchmark": "peers_large", "date":
                                         time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine,
                                         "results": results, "ok": ok}, indent=2) + "\n",
                             encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
