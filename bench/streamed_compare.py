#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Layers of a model compared while it runs: gaussot.ComparisonAccumulator against the file-based
`gaussot compare` on the same data and against the NumPy streaming pipeline; and the streamed FID
metric's update throughput against NumPy accumulation.

The model (deterministic from --seed): L = --layers tanh layers of width W = --width,
h_l = tanh(h_{l−1} A_l + b_l), A_l ~ N(0, 1.5² / W), b_l ~ N(0, 0.1²), drawn from
np.random.default_rng([seed, 0]); batch j of m = --batch inputs is h_0 ~ N(0, 1) (m x W) from
np.random.default_rng([seed, 1, j]); N = --n inputs in all (the last batch may be short). Every
method sees the same activations, float64.

Methods, each in a child process of its own (peak RSS = the child's VmHWM, as peers_compare.py):
  accumulator  gaussot.ComparisonAccumulator(L names).update(batch) per batch (the L (m, W) outputs
               as a list), then compute(igw=True, bw=False, cka=True, cka_debiased=True,
               centered=True). `update_s` sums the update calls only, `compute_s` the compute; the
               model's forward passes (`model_s`) are timed apart (the same in every method).
  numpy        the same batches, NumPy as a user streams it: Y = hstack(layers) (m x LW),
               S += YᵀY, s += Σ rows; then the centred scatter C = S − s sᵀ/N, linear CKA from its
               blocks ‖C_ab‖²_F / (‖C_aa‖_F ‖C_bb‖_F) and the centered IGW from the eigvalsh of
               the C_aa/(N − 1) (padded spectra, P = A Aᵀ as peers_compare.py). No debiased CKA (it
               needs the per-input norm sums the accumulator keeps).
  files        the batches written first (not timed) as L files (N, W) with np.save, then
               `gaussot compare --dir DIR --metrics cka,cka_debiased,igw --centered` (default
               --memory-limit: blocks of sets held, later files re-read when the data exceed it),
               and the same with --chunk-rows = --batch (the accumulator path of the command).
               Times: the process wall clock and its time_ms + read_ms.
  fid          FrechetDistance update throughput at d = --fid-dim: gaussot.FrechetDistance.update
               (real side) against NumPy accumulation (sum and XᵀX of each batch) and, when torch
               and torchmetrics are importable, torchmetrics' FrechetInceptionDistance.update on
               the features themselves (an identity feature module), --fid-batches
               batches of --batch rows; features/s of each.

Peak RSS floors: `python -c "import numpy, gaussot"` and `gaussot info` (the largest of 5 runs).

Agreement: CKA (and debiased CKA, IGW) of every method against the accumulator: max abs
difference (CKA) and max relative difference (IGW), reported; exit status 1 beyond 1e-9.
Writes a text report and, with --json FILE, all numbers. --skip-files skips the file method (it
writes N·L·W·8 bytes to --workdir).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers_common import machine_info  # noqa: E402
from peers_compare import baseline_rss, run_child  # noqa: E402

MB = 1e6


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gaussot", type=Path, default=Path("build/apps/gaussot"))
    p.add_argument("--n", type=int, default=50000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fid-dim", type=int, default=2048)
    p.add_argument("--fid-batches", type=int, default=40)
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--skip-files", action="store_true")
    p.add_argument("--methods", default="accumulator,numpy,files,fid",
                   help="comma-separated subset of accumulator,numpy,files,fid")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--method", default=None, help=argparse.SUPPRESS)  # child mode
    p.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


class Model:
    def __init__(self, np, args):
        rng = np.random.default_rng([args.seed, 0])
        w = args.width
        self.np, self.args = np, args
        self.weights = [rng.standard_normal((w, w)) * (1.5 / np.sqrt(w))
                        for _ in range(args.layers)]
        self.biases = [0.1 * rng.standard_normal(w) for _ in range(args.layers)]

    def batches(self):
        """(model seconds so far, the L outputs of batch j) for every batch."""
        np, args = self.np, self.args
        model_s = 0.0
        for j, start in enumerate(range(0, args.n, args.batch)):
            t = time.perf_counter()
            h = np.random.default_rng([args.seed, 1, j]).standard_normal(
                (min(args.batch, args.n - start), args.width))
            outputs = []
            for a, b in zip(self.weights, self.biases):
                h = np.tanh(h @ a + b)
                outputs.append(h)
            model_s += time.perf_counter() - t
            yield model_s, outputs


def names(args):
    return [f"layer{l:02d}" for l in range(args.layers)]


def child_accumulator(np, args):
    import gaussot
    acc = gaussot.ComparisonAccumulator(names(args), [args.width] * args.layers)
    update_s = model_s = 0.0
    for model_s, outputs in Model(np, args).batches():
        t = time.perf_counter()
        acc.update(outputs)
        update_s += time.perf_counter() - t
    t = time.perf_counter()
    out = acc.compute(igw=True, bw=False, cka=True, cka_debiased=True, centered=True)
    compute_s = time.perf_counter() - t
    return {"update_s": update_s, "compute_s": compute_s, "model_s": model_s,
            "cka": out["cka"].tolist(), "cka_debiased": out["cka_debiased"].tolist(),
            "igw": out["igw"].tolist()}


def child_numpy(np, args):
    lw, w = args.layers * args.width, args.width
    S, s = np.zeros((lw, lw)), np.zeros(lw)
    update_s = model_s = 0.0
    for model_s, outputs in Model(np, args).batches():
        t = time.perf_counter()
        y = np.hstack(outputs)
        S += y.T @ y
        s += y.sum(axis=0)
        update_s += time.perf_counter() - t
    t = time.perf_counter()
    n, L = args.n, args.layers
    C = S - np.outer(s, s) / n
    blocks = lambda a, b: C[a * w:(a + 1) * w, b * w:(b + 1) * w]  # noqa: E731
    self_norm = [np.linalg.norm(blocks(a, a)) for a in range(L)]
    cka = np.ones((L, L))
    for a in range(L):
        for b in range(a + 1, L):
            cka[a, b] = cka[b, a] = np.sum(blocks(a, b) ** 2) / (self_norm[a] * self_norm[b])
    spectra = np.array([np.sort(np.linalg.eigvalsh(blocks(a, a) / (n - 1)))[::-1]
                        for a in range(L)])
    P = spectra @ spectra.T
    igw = np.sqrt(np.maximum(0, np.diag(P)[:, None] + np.diag(P)[None, :] - 2 * P))
    compute_s = time.perf_counter() - t
    return {"update_s": update_s, "compute_s": compute_s, "model_s": model_s,
            "cka": cka.tolist(), "igw": igw.tolist()}


def child_fid(np, args):
    import gaussot
    rng = np.random.default_rng([args.seed, 2])
    batches = [rng.standard_normal((args.batch, args.fid_dim)) for _ in range(4)]
    metric = gaussot.FrechetDistance()
    metric.update(batches[0])  # first call: the module's set-up
    t = time.perf_counter()
    for j in range(args.fid_batches):
        metric.update(batches[j % 4])
    gaussot_s = time.perf_counter() - t
    total, gram = np.zeros(args.fid_dim), np.zeros((args.fid_dim, args.fid_dim))
    t = time.perf_counter()
    for j in range(args.fid_batches):
        x = batches[j % 4]
        total += x.sum(axis=0)
        gram += x.T @ x
    numpy_s = time.perf_counter() - t
    rows = args.fid_batches * args.batch
    result = {"gaussot_features_per_s": rows / gaussot_s, "numpy_features_per_s": rows / numpy_s,
              "gaussot_s": gaussot_s, "numpy_s": numpy_s}
    try:  # torchmetrics' FrechetInceptionDistance state update, on features given directly
        import torch
        from torchmetrics.image.fid import FrechetInceptionDistance
    except ImportError as e:
        result["torchmetrics"] = f"not measured ({e})"
        return result

    class Features(torch.nn.Module):  # the features are the input: only the state update is timed
        num_features = args.fid_dim

        def forward(self, x):
            return x

    tm = FrechetInceptionDistance(feature=Features())
    tensors = [torch.from_numpy(b) for b in batches]
    tm.update(tensors[0], real=True)
    t = time.perf_counter()
    for j in range(args.fid_batches):
        tm.update(tensors[j % 4], real=True)
    torch_s = time.perf_counter() - t
    result.update(torchmetrics_s=torch_s, torchmetrics_features_per_s=rows / torch_s,
                  torchmetrics_version=__import__("torchmetrics").__version__,
                  torch_threads=torch.get_num_threads())
    return result


def run_method(args, method, workdir):
    out = workdir / f"{method}.json"
    command = [sys.executable, __file__, "--method", method, "--out", str(out),
               "--n", str(args.n), "--batch", str(args.batch), "--layers", str(args.layers),
               "--width", str(args.width), "--seed", str(args.seed), "--fid-dim",
               str(args.fid_dim), "--fid-batches", str(args.fid_batches)]
    wall, peak, _ = run_child(command, workdir / method)
    result = json.loads(out.read_text())
    result.update(wall_s=wall, peak_rss_mb=None if peak is None else peak / MB)
    return result


def run_files(np, args, workdir, chunk_rows):
    folder = workdir / "layers"
    if not folder.exists():
        folder.mkdir()
        outputs = [[] for _ in range(args.layers)]
        for _, batch in Model(np, args).batches():
            for l, h in enumerate(batch):
                outputs[l].append(h)
        for l, name in enumerate(names(args)):
            np.save(folder / f"{name}.npy", np.vstack(outputs[l]))
            outputs[l] = None
    out = workdir / f"files_{chunk_rows}.json"
    command = [str(args.gaussot), "compare", "--dir", str(folder), "--metrics",
               "cka,cka_debiased,igw", "--centered", "--backend", "cpu", "--no-progress",
               "--out", str(out)] + (["--chunk-rows", str(chunk_rows)] if chunk_rows else [])
    wall, peak, _ = run_child(command, workdir / f"files_{chunk_rows}")
    doc = json.loads(out.read_text())
    return {"wall_s": wall, "peak_rss_mb": None if peak is None else peak / MB,
            "time_s": doc["time_ms"] / 1e3, "read_s": doc["read_ms"] / 1e3,
            "set_reads": doc["set_reads"], "cka": doc["cka"], "cka_debiased": doc["cka_debiased"],
            "igw": doc["igw"]}


def differences(np, got, reference):
    out = {}
    for key in ("cka", "cka_debiased"):
        if key in got:
            out[key] = float(np.max(np.abs(np.array(got[key]) - np.array(reference[key]))))
    if "igw" in got:
        ref = np.array(reference["igw"])
        out["igw"] = float(np.max(np.abs(np.array(got["igw"]) - ref)) / np.max(ref))
    return out


def main(argv):
    args = parse_args(argv)
    import numpy as np
    if args.method is not None:
        result = {"accumulator": child_accumulator, "numpy": child_numpy,
                  "fid": child_fid}[args.method](np, args)
        args.out.write_text(json.dumps(result))
        return 0
    import scipy
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="streamed_compare_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = {"machine": machine_info(np, scipy, args.gaussot, None),
                   "setup": {k: getattr(args, k) for k in ("n", "batch", "layers", "width",
                                                           "seed", "fid_dim", "fid_batches")}}
        methods = args.methods.split(",")
        for method in ("accumulator", "numpy"):
            if method in methods:
                results[method] = run_method(args, method, workdir)
        if "files" in methods and not args.skip_files:
            results["files"] = run_files(np, args, workdir, 0)
            results["files_chunked"] = run_files(np, args, workdir, args.batch)
        if "fid" in methods:
            results["fid"] = run_method(args, "fid", workdir)
        results["baseline_rss_mb"] = {
            "python + numpy + gaussot": baseline_rss(
                [sys.executable, "-c", "import numpy, gaussot"], workdir / "base_python"),
            "gaussot info": baseline_rss([str(args.gaussot), "info"], workdir / "base_cli")}
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    acc = results.get("accumulator", {})
    worst = 0.0
    lines = [f"# streamed layer comparison: {args.layers} layers x {args.width}, N = {args.n} "
             f"inputs in batches of {args.batch} (float64, CPU)",
             f"machine: {results['machine']['cpu_model']}, {results['machine']['usable_cores']} "
             f"cores; gaussot BLAS {results['machine']['gaussot_blas']}; NumPy "
             f"{results['machine']['numpy']} ({results['machine']['numpy_blas']})",
             f"model forward passes (excluded): " + ", ".join(
                 f"{key} {results[key]['model_s']:.1f} s" for key in ("accumulator", "numpy")
                 if key in results), ""]
    lines.append("| method | update / compute time | wall (process) | peak RSS | max diff vs "
                 "accumulator |")
    lines.append("| --- | --- | --- | --- | --- |")
    for key, label in (("accumulator", "gaussot ComparisonAccumulator"),
                       ("numpy", "NumPy streaming (S += YᵀY)"),
                       ("files", "gaussot compare on files"),
                       ("files_chunked", f"gaussot compare --chunk-rows {args.batch}")):
        if key not in results:
            continue
        r = results[key]
        diff = {} if key == "accumulator" or not acc else differences(np, r, acc)
        worst = max([worst] + list(diff.values()))
        timing = (f"{r['update_s']:.2f} s + {r['compute_s']:.2f} s" if "update_s" in r else
                  f"time_ms {r['time_s']:.2f} s + read_ms {r['read_s']:.2f} s "
                  f"(set_reads {r['set_reads']})")
        rss = "?" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f} MB"
        lines.append(f"| {label} | {timing} | {r['wall_s']:.2f} s | {rss} | "
                     f"{', '.join(f'{k} {v:.1e}' for k, v in diff.items()) or '—'} |")
    lines.append("peak RSS floors (a bare process): " + ", ".join(
        f"{k} {v:.0f} MB" for k, v in results["baseline_rss_mb"].items() if v is not None))
    numpy_r = results.get("numpy")
    if numpy_r and acc:
        lines += ["", f"update ratio NumPy / gaussot: {numpy_r['update_s'] / acc['update_s']:.2f}x; "
              f"update + compute: {(numpy_r['update_s'] + numpy_r['compute_s']) / (acc['update_s'] + acc['compute_s']):.2f}x "
              "(gaussot's compute includes the debiased CKA NumPy does not do)"]
    if "files" in results and acc:
        f = results["files"]
        lines.append(f"file-based compare (time_ms + read_ms) / accumulator (update + compute): "
                     f"{(f['time_s'] + f['read_s']) / (acc['update_s'] + acc['compute_s']):.2f}x")
    fid = results.get("fid")
    if fid:
        lines += ["", f"FID update at d = {args.fid_dim}, batches of {args.batch}: gaussot "
              f"{fid['gaussot_features_per_s']:.0f} features/s, NumPy accumulation "
              f"{fid['numpy_features_per_s']:.0f} features/s (ratio "
              f"{fid['gaussot_features_per_s'] / fid['numpy_features_per_s']:.2f}x); "
              + (f"torchmetrics {fid['torchmetrics_version']} FrechetInceptionDistance.update "
                 f"{fid['torchmetrics_features_per_s']:.0f} features/s (gaussot / torchmetrics "
                 f"{fid['gaussot_features_per_s'] / fid['torchmetrics_features_per_s']:.2f}x)"
                 if "torchmetrics_s" in fid else f"torchmetrics {fid['torchmetrics']}")]
    for key in ("accumulator", "numpy", "files", "files_chunked"):
        for m in ("cka", "cka_debiased", "igw"):
            results.get(key, {}).pop(m, None)
    print("\n".join(lines))
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if worst > 1e-9 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
