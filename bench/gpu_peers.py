#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gaussot's CUDA backend against the GPU peers on the very same inputs, in one run.

The inputs are those of the CPU peer scripts (their generators are imported, same seeds):

  sqrtm/eigh/eigvalsh  DxK: K SPD matrices A = G Gᵀ/d + 1e-3 I (peers_sqrtm.make_inputs), float64
                       and the same matrices rounded to float32
  fid                  DxN: two sample sets of N rows in dimension D (peers_fid.make_samples);
                       2048x10000 is the FID case, the samples alone 2 x 164 MB
  pairs                KxD: K Gaussians (peers_bw_pairs.make_gaussians), the K x K matrix of W2²

and go, already on the GPU (uploads are not timed), through

  gaussot (module)     the Python module on torch CUDA tensors (DLPack, no copy): gaussot.sqrtm,
                       eigh, eigvalsh, frechet_distance, w2_squared_all_pairs; when importable
                       and built with CUDA (gpu_check.sh builds it there)
  gaussot_time         the library call in one process on the .npy files, --backend cuda, float64
                       only, its first call not counted (bench/time_npy.cpp): what a C++ program pays
  torch                torch.linalg.eigh / eigvalsh batched; sqrtm = V diag(√max(w, 0)) Vᵀ
  cupy                 the NumPy peers' own code (peers_sqrtm.numpy_stacked, peers_fid.moments and
                       trace_numpy_symmetric, peers_bw_pairs.numpy_rows) run with cupy as the array
                       namespace
  jax                  jax.numpy.linalg.eigh / eigvalsh under jax.jit (XLA_PYTHON_CLIENT_PREALLOCATE
                       is set to false so that it shares the card)
  torchmetrics         FID: torchmetrics' FrechetInceptionDistance arithmetic on the features
                       (feature sums and Σ xxᵀ in float64, then torchmetrics.image.fid._compute_fid:
                       eigvals(σ1 σ2)); its inline copy when the private function is not there
  torch symmetric      FID: torch.cov moments, eigh(σ1) → σ1^½, eigvalsh(σ1^½ σ2 σ1^½)
  POT                  all pairs: ot.gaussian.bures_wasserstein_distance with the torch backend on
                       CUDA tensors (squared), on --pot-rows rows against all K when the whole
                       matrix does not fit, then extrapolated (labelled)
  torch rows           all pairs: R_i = S_i^½ once, then eigvalsh(R_i S_j R_i) by blocks of rows

Timing: wall clock around each call with the device synchronised before and after (as
gaussot_bench's cuda/ benchmarks), one untimed call first (handles, workspaces, JIT), then
--repeats calls (fewer when one takes over --method-budget seconds); minimum and median reported,
ratio = peer minimum / gaussot minimum (gaussot: the module when present, else gaussot_time).

Agreement, against NumPy float64 on the host (sqrtm and eigenvalues, the float32 rows against the
float64 result of the rounded input; the FID by peers_fid.py's NumPy symmetric formula) and the
torch rows (all pairs; on their first rows when the whole matrix would take too long): gaussot
must agree within 1e-10 (float64; FID 1e-8) or 1e-4 (float32), else exit status 1. The peers'
agreement is shown, not judged.

Exit status: 0; 1 disagreement or gaussot failing; 2 bad usage or NumPy missing. No GPU peer is
required: what is missing is reported as skipped. --check runs the NumPy side on tiny inputs
without a GPU (gpu_check.sh's no-device mode); --device cpu runs the whole script on torch CPU
tensors and gaussot's CPU backend (a dry run of the script, not a measurement).

  python3 bench/gpu_peers.py --gaussot-time build-gpu/bundle/bin/bench/gaussot_time --json p.json
  python3 bench/gpu_peers.py --sqrtm 64x1000 --fid none --pairs 200x64 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_bw_pairs  # noqa: E402  (inputs and the rows formula of the all-pairs peers)
import peers_fid  # noqa: E402  (inputs and the FID formulas)
import peers_common as common  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = {"f64": 1e-10, "f32": 1e-4}
FID_TOLERANCE = 1e-8
DEFAULT_GAUSSOT_TIME = next(
    (p for p in (REPO_ROOT / "build-gpu" / "bundle" / "bin" / "bench" / "gaussot_time",
                 REPO_ROOT / "build" / "bench" / "gaussot_time") if p.exists()),
    REPO_ROOT / "build" / "bench" / "gaussot_time")


def pair_parser(name: str):
    def parse(text: str):
        if text == "none":
            return None
        try:
            a, b = (int(v) for v in text.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {name} like 64x1000, or none; got {text!r}")
        if a < 1 or b < 1:
            raise argparse.ArgumentTypeError(f"{name}: sizes must be positive")
        return a, b
    return parse


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="gaussot (CUDA) against torch, cupy, jax, torchmetrics "
                                            "and POT on the same inputs.")
    p.add_argument("--sqrtm", nargs="+", type=pair_parser("DxK"),
                   default=[(64, 1000), (64, 10000), (16, 10000), (256, 200)],
                   help="sqrtm/eigh/eigvalsh cases, d x k (default 64x1000 64x10000 16x10000 256x200)")
    p.add_argument("--precisions", default="f64,f32", help="f64,f32 (default both)")
    p.add_argument("--fid", nargs="+", type=pair_parser("DxN"), default=[(2048, 10000)],
                   help="FID cases, d x n samples per set (default 2048x10000; none to skip)")
    p.add_argument("--pairs", nargs="+", type=pair_parser("KxD"), default=[(200, 64), (1000, 64)],
                   help="all-pairs cases, k Gaussians x d (default 200x64 1000x64; none to skip)")
    p.add_argument("--pot-rows", type=int, default=100,
                   help="rows POT computes when the whole k x k does not fit (default 100)")
    p.add_argument("--pot-memory-gb", type=float, default=24.0,
                   help="device memory POT's batched call may take (default 24 GB, about 5 k_rows "
                        "k d² doubles)")
    p.add_argument("--peers", default="gaussot,gaussot_time,torch,cupy,jax,torchmetrics,pot",
                   help="methods to run (default all of them)")
    p.add_argument("--gaussot-time", type=Path, default=DEFAULT_GAUSSOT_TIME,
                   help=f"the in-process timer (default {DEFAULT_GAUSSOT_TIME})")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per method (default 5)")
    p.add_argument("--method-budget", type=float, default=3.0,
                   help="seconds one method may spend on a case; fewer repeats beyond (default 3)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the whole run: later cases are skipped past it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, default=None, help="keep the .npy inputs here")
    p.add_argument("--json", type=Path, default=None, help="write every result to this file")
    p.add_argument("--markdown", type=Path, default=None, help="write the ratio table to this file")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                   help="cpu: run everything on torch CPU tensors and the CPU backend, a dry run of "
                        "the script without a GPU (tiny cases; not a measurement)")
    p.add_argument("--check", action="store_true",
                   help="no GPU: run the NumPy side (inputs, reference formulas, the cupy code on "
                        "NumPy) on tiny inputs and exit")
    args = p.parse_args(argv)
    args.sqrtm = [c for c in args.sqrtm if c is not None]
    args.fid = [c for c in args.fid if c is not None]
    args.pairs = [c for c in args.pairs if c is not None]
    args.precisions = [s.strip() for s in args.precisions.split(",") if s.strip()]
    args.peers = {s.strip() for s in args.peers.split(",") if s.strip()}
    if any(s not in TOLERANCE for s in args.precisions) or args.repeats < 1:
        p.error("--precisions takes f64 and/or f32; --repeats at least 1")
    return args


# ---- the methods --------------------------------------------------------------------------------

class Peers:
    """The importable GPU libraries, each with a synchronise function; `missing` says why not."""

    def __init__(self, wanted: set[str], device: str = "cuda"):
        self.device = device  # "cpu": a dry run of this script's logic on torch CPU tensors
        self.missing: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self.torch = self.cupy = self.jax = self.gaussot = self.ot = self.tm_fid = None
        self.device_name = "CPU (--device cpu: a dry run, not a GPU measurement)" if device == "cpu" else "unknown"
        self.tm_fid_source = None
        if "jax" in wanted and device != "cpu":
            os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        try:
            import torch
            if device == "cpu":
                self.torch = torch
                self.versions["torch"] = torch.__version__
            elif torch.cuda.is_available():
                self.torch = torch
                self.versions["torch"] = torch.__version__
                self.device_name = torch.cuda.get_device_name(0)
            else:
                self.missing["torch"] = "torch sees no CUDA device"
        except ImportError as e:
            self.missing["torch"] = f"not importable ({e})"
        if device == "cpu":
            wanted = wanted - {"jax"}
            self.missing["jax"] = "not with --device cpu"
        if "cupy" in wanted:
            try:
                import cupy
                cupy.cuda.runtime.getDeviceCount()
                self.cupy = cupy
                self.versions["cupy"] = cupy.__version__
            except Exception as e:  # ImportError, or CUDARuntimeError without a device
                self.missing["cupy"] = f"unusable ({type(e).__name__}: {e})"
        if "jax" in wanted:
            try:
                import jax
                if any(d.platform == "gpu" for d in jax.devices()):
                    jax.config.update("jax_enable_x64", True)
                    self.jax = jax
                    self.versions["jax"] = jax.__version__
                else:
                    self.missing["jax"] = "no GPU among jax.devices()"
            except Exception as e:
                self.missing["jax"] = f"unusable ({type(e).__name__}: {e})"
        if "gaussot" in wanted:
            try:
                import gaussot
                info = gaussot.info()
                if device != "cpu" and not info.get("cuda_devices"):
                    self.missing["gaussot"] = f"module without a CUDA device ({info})"
                elif self.torch is None and device != "cpu":
                    self.missing["gaussot"] = "module needs torch CUDA tensors here"
                else:
                    self.gaussot = gaussot
                    self.versions["gaussot"] = info.get("version", "?")
            except ImportError as e:
                self.missing["gaussot"] = f"module not importable ({e})"
        if "pot" in wanted:
            try:
                import ot
                self.ot = ot
                self.versions["POT"] = ot.__version__
            except ImportError as e:
                self.missing["pot"] = f"not importable ({e})"
        if "torchmetrics" in wanted and self.torch is not None:
            try:
                import torchmetrics
                self.versions["torchmetrics"] = torchmetrics.__version__
                try:
                    from torchmetrics.image.fid import _compute_fid
                    self.tm_fid, self.tm_fid_source = _compute_fid, "torchmetrics.image.fid._compute_fid"
                except ImportError:
                    self.tm_fid, self.tm_fid_source = self._inline_compute_fid, "inline copy of _compute_fid"
            except ImportError as e:
                self.missing["torchmetrics"] = f"not importable ({e})"

    def _inline_compute_fid(self, mu1, sigma1, mu2, sigma2):
        """torchmetrics 1.x's _compute_fid, for versions where it moved."""
        torch = self.torch
        a = (mu1 - mu2).square().sum(dim=-1)
        b = sigma1.trace() + sigma2.trace()
        c = torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum(dim=-1)
        return a + b - 2 * c

    def sync(self):
        if self.torch is not None and self.device != "cpu":
            self.torch.cuda.synchronize()
        if self.cupy is not None:
            self.cupy.cuda.Device().synchronize()


def timed(call, sync, repeats: int, budget: float):
    """One untimed call, then up to `repeats` timed ones within `budget` seconds."""
    sync()
    start = time.perf_counter()
    result = call()
    sync()
    first = time.perf_counter() - start
    count = max(1, min(repeats, int(budget / max(first, 1e-6))))
    times = []
    for _ in range(count):
        sync()
        start = time.perf_counter()
        result = call()
        sync()
        times.append(time.perf_counter() - start)
    return {"min_ms": 1e3 * min(times), "median_ms": 1e3 * statistics.median(times),
            "first_ms": 1e3 * first, "repeats": count}, result


def gaussot_time_run(args, arguments: list[str], save: Path | None):
    extra = ["--backend", "cpu" if args.device == "cpu" else "cuda", "--repeat", str(args.repeats)]
    if save is not None:
        extra += ["--save", str(save)]
    out = common.gaussot_time_json(args.gaussot_time, arguments + extra, None)
    return {"min_ms": out["min_ms"], "median_ms": out["median_ms"], "first_ms": out["first_ms"],
            "repeats": len(out["times_ms"])}, out


def torch_sqrtm(torch, a):
    w, v = torch.linalg.eigh(a)
    return (v * w.clamp_min(0).sqrt().unsqueeze(-2)) @ v.mT


def torch_rows(torch, means, covs, rows: int | None = None, block: int = 50):
    """W2²(N_i, N_j) for the first `rows` i (all by default) and all j: R_i = S_i^½, then
    eigvalsh(R_i S_j R_i) by blocks of rows."""
    k = covs.shape[0]
    rows = k if rows is None else rows
    roots = torch_sqrtm(torch, covs[:rows])
    traces = covs.diagonal(dim1=-2, dim2=-1).sum(-1)
    out = torch.empty((rows, k), dtype=covs.dtype, device=covs.device)
    for i in range(0, rows, block):
        j = min(i + block, rows)
        r = roots[i:j, None]                                # (b, 1, d, d)
        lam = torch.linalg.eigvalsh(r @ covs[None] @ r)     # (b, k, d)
        cross = lam.clamp_min(0).sqrt().sum(-1)
        dist = ((means[i:j, None] - means[None]) ** 2).sum(-1)
        out[i:j] = dist + traces[i:j, None] + traces[None] - 2 * cross
    return out.clamp_min(0)


def torch_fid_symmetric(torch, x, y):
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = torch.cov(x.T), torch.cov(y.T)
    w, v = torch.linalg.eigh(s1)
    root = (v * w.clamp_min(0).sqrt()) @ v.T
    lam = torch.linalg.eigvalsh(root @ s2 @ root)
    return (mu1 - mu2).square().sum() + s1.trace() + s2.trace() - 2 * lam.clamp_min(0).sqrt().sum()


def torchmetrics_fid(torch, compute_fid, x, y):
    """FrechetInceptionDistance.update/compute on features x, y: float64 sums, Σ xxᵀ, then
    _compute_fid(mean, cov) (torchmetrics/image/fid.py)."""
    def stats(f):
        n = f.shape[0]
        total, cov_sum = f.sum(dim=0), f.T.mm(f)
        mean = (total / n).unsqueeze(0)
        return mean.squeeze(0), (cov_sum - n * mean.T.mm(mean)) / (n - 1)
    mu1, sigma1 = stats(x.double())
    mu2, sigma2 = stats(y.double())
    return compute_fid(mu1, sigma1, mu2, sigma2)


def to_numpy(np, value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "get"):
        value = value.get()
    return np.asarray(value)


def relative_frobenius(np, s, reference) -> float:
    num = np.linalg.norm((s - reference).reshape(len(s), -1), axis=1)
    den = np.linalg.norm(reference.reshape(len(reference), -1), axis=1)
    return float(np.max(num / den))


def relative_max(np, values, reference) -> float:
    return float(np.max(np.abs(values - reference)) / max(np.max(np.abs(reference)), 1e-300))


# ---- the cases ----------------------------------------------------------------------------------

class Run:
    def __init__(self, args, np, peers: Peers, workdir: Path):
        self.args, self.np, self.peers, self.workdir = args, np, peers, workdir
        self.rows: list[dict] = []
        self.ok = True
        self.start = time.perf_counter()

    def out_of_time(self) -> bool:
        limit = self.args.time_limit
        return limit is not None and time.perf_counter() - self.start > limit

    def add(self, case: str, method: str, timing: dict | None, agreement: float | None = None,
            judged: float | None = None, note: str = "", gaussot: bool = False):
        row = {"case": case, "method": method, "gaussot": gaussot, "note": note,
               "agreement": agreement, "tolerance": judged}
        if timing is not None:
            row.update(timing)
        if gaussot and judged is not None and (agreement is None or not agreement <= judged):
            row["note"] = (note + "; " if note else "") + "DISAGREES"
            self.ok = False
        self.rows.append(row)
        shown = f"{row['min_ms']:.3f} ms" if "min_ms" in row else "-"
        common.progress(f"  {case:28s} {method:18s} {shown:>14s}  {row['note']}")

    def attempt(self, case: str, method: str, function, gaussot: bool = False):
        """Runs function() -> (timing, agreement, tolerance, note); a failure is a row, and fails
        the run when it is gaussot's."""
        try:
            timing, agreement, tolerance, note = function()
            self.add(case, method, timing, agreement, tolerance, note, gaussot)
        except Exception as e:  # a peer's failure is reported, not fatal
            message = f"FAILED: {type(e).__name__}: {str(e).strip().splitlines()[0][:160] if str(e).strip() else ''}"
            self.add(case, method, None, note=message, gaussot=gaussot)
            if gaussot:
                self.ok = False

    def spectral(self, d: int, k: int, precision: str):
        np, peers, args = self.np, self.peers, self.args
        torch, cupy, jax, g = peers.torch, peers.cupy, peers.jax, peers.gaussot
        a64 = common.make_inputs(np, d, k, args.seed)
        a = a64 if precision == "f64" else a64.astype(np.float32)
        tol = TOLERANCE[precision]
        ref_input = a.astype(np.float64)
        w_ref, v_ref = np.linalg.eigh(ref_input)
        s_ref = (v_ref * np.sqrt(np.clip(w_ref, 0, None))[:, None, :]) @ v_ref.transpose(0, 2, 1)
        w_ref = w_ref[:, ::-1]  # decreasing, as gaussot
        del v_ref
        budget = args.method_budget
        path = self.workdir / f"spd_{d}x{k}.npy"
        if precision == "f64" and "gaussot_time" in args.peers:
            np.save(path, a64)
        ta = torch.from_numpy(a).to(peers.device) if torch is not None else None
        ca = cupy.asarray(a) if cupy is not None else None
        ja = jax.device_put(a, jax.devices("gpu")[0]) if jax is not None else None
        ga = ta if ta is not None else a  # the module's input: device tensors (numpy: dry run)

        for op in ("sqrtm", "eigh", "eigvalsh"):
            case = f"{op} d={d} k={k} {precision}"
            if self.out_of_time():
                self.add(case, "-", None, note="skipped: --time-limit reached")
                continue

            def check(result, op=op):
                if op == "sqrtm":
                    return relative_frobenius(np, to_numpy(np, result).astype(np.float64), s_ref)
                values = result[0] if op == "eigh" else result
                values = to_numpy(np, values).astype(np.float64)
                if values[0, 0] < values[0, -1]:  # increasing (the peers): make it decreasing
                    values = values[:, ::-1]
                return relative_max(np, values, w_ref)

            if g is not None:
                function = {"sqrtm": g.sqrtm, "eigh": g.eigh, "eigvalsh": g.eigvalsh}[op]
                self.attempt(case, "gaussot (module)", lambda: (lambda t, r: (t, check(r), tol, ""))(
                    *timed(lambda: function(ga), peers.sync, args.repeats, budget)), gaussot=True)
            if precision == "f64" and "gaussot_time" in args.peers and args.gaussot_time.exists():
                save = self.workdir / f"out_{op}.npy"

                def via_binary(op=op, save=save):
                    timing, _ = gaussot_time_run(args, ["--op", op, "--cov", str(path)], save)
                    result = np.load(save)
                    if op == "eigh":  # what --save writes for eigh: the eigenvalues
                        result = (result, None)
                    return timing, check(result), tol, ""
                self.attempt(case, "gaussot_time", via_binary, gaussot=True)
            if torch is not None:
                function = {"sqrtm": lambda: torch_sqrtm(torch, ta), "eigh": lambda: torch.linalg.eigh(ta),
                            "eigvalsh": lambda: torch.linalg.eigvalsh(ta)}[op]
                self.attempt(case, "torch", lambda f=function: (lambda t, r: (t, check(r), None, ""))(
                    *timed(f, peers.sync, args.repeats, budget)))
            if cupy is not None:
                function = {"sqrtm": lambda: common.numpy_stacked(cupy, ca),
                            "eigh": lambda: cupy.linalg.eigh(ca),
                            "eigvalsh": lambda: cupy.linalg.eigvalsh(ca)}[op]
                self.attempt(case, "cupy", lambda f=function: (lambda t, r: (t, check(r), None, ""))(
                    *timed(f, peers.sync, args.repeats, budget)))
            if jax is not None:
                jnp = jax.numpy
                if op == "sqrtm":
                    def jf(x):
                        w, v = jnp.linalg.eigh(x)
                        return (v * jnp.sqrt(jnp.clip(w, 0, None))[..., None, :]) @ jnp.swapaxes(v, -1, -2)
                else:
                    jf = {"eigh": jnp.linalg.eigh, "eigvalsh": jnp.linalg.eigvalsh}[op]
                jitted = jax.jit(jf)

                def jax_call(jitted=jitted):
                    return jax.block_until_ready(jitted(ja))
                self.attempt(case, "jax", lambda: (lambda t, r: (t, check(r), None, ""))(
                    *timed(jax_call, peers.sync, args.repeats, budget)))
        del ta, ca, ja

    def fid(self, d: int, n: int):
        np, peers, args = self.np, self.peers, self.args
        torch, cupy, g = peers.torch, peers.cupy, peers.gaussot
        case = f"fid d={d} n={n} f64"
        if self.out_of_time():
            self.add(case, "-", None, note="skipped: --time-limit reached")
            return
        x, y = peers_fid.make_samples(np, d, n, args.seed)
        budget = max(args.method_budget, 10.0)
        # The reference: NumPy's symmetric formula on the host (peers_fid.py's numpy_symmetric).
        reference = peers_fid.trace_numpy_symmetric(np, *peers_fid.moments(np, x, y))
        self.add(case, "numpy (host)", None, note=f"FID {reference:.12g} (reference, not timed)")
        tx = torch.from_numpy(x).to(peers.device) if torch is not None else None
        ty = torch.from_numpy(y).to(peers.device) if torch is not None else None
        gx, gy = (tx, ty) if tx is not None else (x, y)

        def agreement(value):
            return abs(float(value) - reference) / abs(reference)
        tol = FID_TOLERANCE
        if g is not None:
            self.attempt(case, "gaussot (module)", lambda: (lambda t, r: (
                t, agreement(r), tol, f"FID {float(r):.12g}"))(
                *timed(lambda: g.frechet_distance(gx, gy), peers.sync, args.repeats, budget)), gaussot=True)
        if "gaussot_time" in args.peers and args.gaussot_time.exists():
            xp, yp = self.workdir / f"fid_x_{d}x{n}.npy", self.workdir / f"fid_y_{d}x{n}.npy"
            np.save(xp, x)
            np.save(yp, y)

            def via_binary():
                timing, out = gaussot_time_run(args, ["--op", "fid", "--a-samples", str(xp),
                                                      "--b-samples", str(yp)], None)
                return timing, agreement(out["fid"]), tol, f"FID {out['fid']:.12g}"
            self.attempt(case, "gaussot_time", via_binary, gaussot=True)
        if torch is not None:
            self.attempt(case, "torch symmetric", lambda: (lambda t, r: (
                t, agreement(r), None, f"FID {float(r):.12g}"))(
                *timed(lambda: torch_fid_symmetric(torch, tx, ty), peers.sync, args.repeats, budget)))
        if torch is not None and peers.tm_fid is not None:
            self.attempt(case, "torchmetrics", lambda: (lambda t, r: (
                t, agreement(r), None, f"{peers.tm_fid_source}; FID {float(r):.12g}"))(
                *timed(lambda: torchmetrics_fid(torch, peers.tm_fid, tx, ty), peers.sync, args.repeats, budget)))
        if cupy is not None:
            cx, cy = cupy.asarray(x), cupy.asarray(y)

            def cupy_fid():
                return peers_fid.trace_numpy_symmetric(cupy, *peers_fid.moments(cupy, cx, cy))
            self.attempt(case, "cupy symmetric", lambda: (lambda t, r: (
                t, agreement(r), None, f"FID {float(r):.12g}"))(
                *timed(cupy_fid, peers.sync, args.repeats, budget)))
            del cx, cy
        del tx, ty

    def pairs(self, k: int, d: int):
        np, peers, args = self.np, self.peers, self.args
        torch, cupy, g, ot = peers.torch, peers.cupy, peers.gaussot, peers.ot
        case = f"w2 all pairs k={k} d={d} f64"
        if self.out_of_time():
            self.add(case, "-", None, note="skipped: --time-limit reached")
            return
        means, covs = peers_bw_pairs.make_gaussians(np, k, d, args.seed)
        budget = max(args.method_budget, 10.0)
        reference = None
        tm = torch.from_numpy(means).to(peers.device) if torch is not None else None
        tc = torch.from_numpy(covs).to(peers.device) if torch is not None else None
        gm, gc = (tm, tc) if tm is not None else (means, covs)
        if torch is not None:
            try:
                # One block first: when the whole matrix would take over the budget, the reference
                # is that block and the time is extrapolated.
                block = min(k, 50)
                timing, value = timed(lambda: torch_rows(torch, tm, tc, block), peers.sync, 1, budget)
                note = "reference"
                if block < k and timing["min_ms"] * k / block <= 1e3 * budget:
                    timing, value = timed(lambda: torch_rows(torch, tm, tc), peers.sync, args.repeats, budget)
                elif block < k:
                    measured = timing["min_ms"]
                    for key in ("min_ms", "median_ms"):
                        timing[key] *= k / block
                    note += f" (its first {block} rows); EXTRAPOLATED from {measured:.1f} ms measured"
                reference = to_numpy(np, value)
                self.add(case, "torch rows", timing, note=note)
            except Exception as e:
                self.add(case, "torch rows", None, note=f"FAILED: {type(e).__name__}: {e}")

        def agreement(values, rows=None):
            if reference is None:
                return None
            n = min(len(reference), rows if rows is not None else len(reference))
            return relative_max(np, to_numpy(np, values)[:n], reference[:n])
        tol = TOLERANCE["f64"] if reference is not None else None
        if g is not None:
            self.attempt(case, "gaussot (module)", lambda: (lambda t, r: (t, agreement(r), tol, ""))(
                *timed(lambda: g.w2_squared_all_pairs(gc, gc, a_mean=gm, b_mean=gm), peers.sync,
                       args.repeats, budget)), gaussot=True)
        if "gaussot_time" in args.peers and args.gaussot_time.exists():
            cp_, mp_, save = (self.workdir / f"pairs_S_{k}x{d}.npy", self.workdir / f"pairs_m_{k}x{d}.npy",
                              self.workdir / "out_pairs.npy")
            np.save(cp_, covs)
            np.save(mp_, means)

            def via_binary():
                timing, _ = gaussot_time_run(args, ["--op", "w2_all_pairs", "--a-cov", str(cp_),
                                                    "--b-cov", str(cp_), "--a-mean", str(mp_),
                                                    "--b-mean", str(mp_)], save)
                return timing, agreement(np.load(save)), tol, ""
            self.attempt(case, "gaussot_time", via_binary, gaussot=True)
        if cupy is not None and k > 200:
            self.add(case, "cupy rows", None, note="skipped for k > 200 (one eigvalsh call per row)")
        elif cupy is not None:
            cm, cc = cupy.asarray(means), cupy.asarray(covs)
            self.attempt(case, "cupy rows", lambda: (lambda t, r: (t, agreement(r), None, ""))(
                *timed(lambda: peers_bw_pairs.numpy_rows(cupy, cm, cc), peers.sync, 1, budget)))
            del cm, cc
        if ot is not None and torch is not None:
            rows = k
            if 5 * k * k * d * d * 8 > args.pot_memory_gb * 1e9:
                rows = max(1, min(k, args.pot_rows, int(args.pot_memory_gb * 1e9 / (5 * k * d * d * 8))))
            bwd = ot.gaussian.bures_wasserstein_distance

            def pot():
                timing, value = timed(lambda: bwd(tm[:rows], tm, tc[:rows], tc) ** 2, peers.sync,
                                      args.repeats, budget)
                note = "torch backend"
                if rows < k:
                    measured = timing["min_ms"]
                    for key in ("min_ms", "median_ms"):
                        timing[key] *= k / rows
                    note += f"; EXTRAPOLATED from {rows} rows ({measured:.1f} ms measured)"
                return timing, agreement(value, rows), None, note
            self.attempt(case, "POT", pot)
        del tm, tc


# ---- report -------------------------------------------------------------------------------------

def ratio_rows(rows: list[dict]) -> list[dict]:
    """Adds, per case, ratio = method min / gaussot min (the module when it ran, else gaussot_time)."""
    by_case: dict[str, list[dict]] = {}
    for row in rows:
        by_case.setdefault(row["case"], []).append(row)
    for case_rows in by_case.values():
        base = next((r for r in case_rows if r["method"] == "gaussot (module)" and "min_ms" in r), None)
        base = base or next((r for r in case_rows if r["method"] == "gaussot_time" and "min_ms" in r), None)
        for row in case_rows:
            row["ratio"] = row["min_ms"] / base["min_ms"] if base and "min_ms" in row else None
            row["ratio_against"] = base["method"] if base else None
    return rows


def format_number(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown_table(rows: list[dict]) -> str:
    lines = ["| case | method | min ms | median ms | runs | / gaussot | agreement | note |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['method']} | {format_number(r.get('min_ms'), '.3f')} | "
                     f"{format_number(r.get('median_ms'), '.3f')} | {r.get('repeats', '-')} | "
                     f"{format_number(r.get('ratio'), '.2f')} | {format_number(r.get('agreement'), '.1e')} | "
                     f"{r.get('note', '')} |")
    return "\n".join(lines)


def fastest_peer_table(rows: list[dict]) -> str:
    """One line per case: gaussot (the ratio's base) against the fastest peer that ran."""
    lines = ["| case | gaussot ms | fastest peer | its ms | peer / gaussot | gaussot agreement |",
             "| --- | ---: | --- | ---: | ---: | ---: |"]
    cases: dict[str, list[dict]] = {}
    for row in rows:
        cases.setdefault(row["case"], []).append(row)
    for case, case_rows in cases.items():
        base = next((r for r in case_rows if r.get("ratio_against") == r["method"]), None)
        peers = [r for r in case_rows if not r["gaussot"] and "min_ms" in r]
        best = min(peers, key=lambda r: r["min_ms"]) if peers else None
        agreements = [r["agreement"] for r in case_rows if r["gaussot"] and r.get("agreement") is not None]
        lines.append(
            f"| {case} | {format_number(base and base['min_ms'], '.3f')} | "
            f"{best['method'] if best else '-'}{' (extrapolated)' if best and 'EXTRAPOLATED' in best['note'] else ''} | "
            f"{format_number(best and best['min_ms'], '.3f')} | {format_number(best and best.get('ratio'), '.2f')} | "
            f"{format_number(max(agreements) if agreements else None, '.1e')} |")
    return "\n".join(lines)


def header(np, peers: Peers, args) -> dict:
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "gpu": peers.device_name,
        "cpu_model": common.cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "versions": peers.versions,
        "skipped_peers": peers.missing,
        "gaussot_time": str(args.gaussot_time) if args.gaussot_time.exists() else None,
        "seed": args.seed,
    }


# ---- no-GPU self-check --------------------------------------------------------------------------

def self_check(np) -> int:
    """The host side on tiny inputs: the generators, the NumPy formulas the cupy peers reuse, and
    the agreement measures; exits 1 on a mismatch. No GPU, no gaussot."""
    a = common.make_inputs(np, 5, 7, 0)
    s = common.numpy_stacked(np, a)
    problems = []
    if relative_frobenius(np, np.einsum("kij,kjl->kil", s, s), a) > 1e-12:
        problems.append("numpy_stacked is not a square root")
    x, y = peers_fid.make_samples(np, 6, 40, 0)
    sym = peers_fid.trace_numpy_symmetric(np, *peers_fid.moments(np, x, y))
    smp = peers_fid.trace_numpy_samples(np, x, y)
    if abs(sym - smp) > 1e-9 * abs(smp):
        problems.append(f"FID formulas disagree ({sym} vs {smp})")
    means, covs = peers_bw_pairs.make_gaussians(np, 4, 3, 0)
    rows = peers_bw_pairs.numpy_rows(np, means, covs)
    if rows.shape != (4, 4) or np.max(np.abs(np.diag(rows))) > 1e-12 or relative_max(np, rows, rows.T) > 1e-10:
        problems.append("numpy_rows: not a symmetric matrix with a zero diagonal")
    t = ratio_rows([{"case": "c", "method": "gaussot (module)", "min_ms": 2.0},
                    {"case": "c", "method": "torch", "min_ms": 5.0}])
    if abs(t[1]["ratio"] - 2.5) > 1e-12:
        problems.append("ratio_rows")
    markdown_table(t)
    for p in problems:
        print(f"gpu_peers.py --check: {p}", file=sys.stderr)
    print(f"gpu_peers.py --check: {'FAILED' if problems else 'ok'} (inputs, NumPy/cupy formulas, "
          "ratios; no GPU used)")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        import numpy as np
    except ImportError as e:
        print(f"gpu_peers.py needs NumPy ({e})", file=sys.stderr)
        return 2
    if args.check:
        return self_check(np)
    peers = Peers(args.peers, args.device)
    if "gaussot_time" in args.peers and not args.gaussot_time.exists():
        peers.missing["gaussot_time"] = f"no executable at {args.gaussot_time}"
    if peers.torch is None and peers.cupy is None:
        print(f"gpu_peers.py: no GPU array library usable ({peers.missing}); nothing to compare",
              file=sys.stderr)
        return 1
    meta = header(np, peers, args)
    common.progress(f"gpu_peers.py: {meta['gpu']}; {meta['versions']}; skipped: {meta['skipped_peers']}")
    with tempfile.TemporaryDirectory(prefix="gaussot-gpu-peers-") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        run = Run(args, np, peers, workdir)
        # The cases in order of interest, so that --time-limit drops the least useful ones.
        plan = []
        for i, (d, k) in enumerate(args.sqrtm):
            plan.append(lambda d=d, k=k: run.spectral(d, k, args.precisions[0]))
            if i == 0:
                plan += [lambda d=dd, n=nn: run.fid(d, n) for dd, nn in args.fid]
                plan += [lambda k=kk, d=dd: run.pairs(k, d) for kk, dd in args.pairs]
        plan += [lambda d=d, k=k, p=p: run.spectral(d, k, p)
                 for p in args.precisions[1:] for d, k in args.sqrtm]
        for step in plan:
            step()
            if peers.torch is not None and peers.device != "cpu":
                peers.torch.cuda.empty_cache()
            if peers.cupy is not None:
                peers.cupy.get_default_memory_pool().free_all_blocks()
    rows = ratio_rows(run.rows)
    table = markdown_table(rows)
    lines = [f"GPU peers: {meta['gpu']}, {meta['cpu_model']} ({meta['cpu_count']} CPUs), "
             f"Python {meta['python']}, NumPy {meta['numpy']}",
             "versions: " + ", ".join(f"{k} {v}" for k, v in sorted(meta["versions"].items())),
             "skipped: " + ("; ".join(f"{k}: {v}" for k, v in sorted(meta["skipped_peers"].items())) or "none"),
             f"ratio = method's minimum / gaussot's ({'module' if peers.gaussot else 'gaussot_time'}); "
             "agreement: relative, against NumPy float64 on the host (spectral, FID) and torch rows (pairs)",
             "", "### gaussot against the fastest peer", "", fastest_peer_table(rows),
             "", "### All rows", "", table, "", f"gaussot agreement: {'ok' if run.ok else 'FAILED'}"]
    print("\n".join(lines))
    if args.json is not None:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows, "ok": run.ok}, indent=2) + "\n")
    if args.markdown is not None:
        args.markdown.write_text("\n".join(lines[1:]) + "\n")
    return 0 if run.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
