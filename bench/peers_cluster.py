#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Heterogeneous clustering from files: `gaussot cluster` against the pipeline a user writes today.

Data (deterministic from --seed, np.random.default_rng([seed, 19])): --users sample files (default
1000) of --n rows each (default 400), as in the paper's clustering run (§7.3 of the reference:
users of three styles whose documents are embedded by one of two models of different widths),
scaled up. User u has style u mod 3 and width W[(u div 3) mod 2] of --widths (default 384,768);
its rows are x = Λ_s^½ z Qᵀ with z ~ N(0, I), the style's power-law spectrum λ_j = a_s (j+1)^-p_s,
(a, p) = (1, 0.6), (1, 0.9), (2, 0.9), and one random rotation Q per width (IGW does not see it).
Written as float32 .npy files (user00000.npy, ...) into a folder under --workdir (a temporary
directory by default), with labels.txt holding the styles.

  numpy     in this process, timed by wall clock from the first np.load to the map: np.load of
            every file in name order, np.cov (divisor n − 1, float64), np.linalg.eigvalsh,
            reversed to decreasing and zero-padded to the largest width; scikit-learn's
            KMeans(n_clusters=--k, n_init=--n-init, random_state=seed) on the padded spectra
            (Euclidean k-means on them is IGW k-means with IGW-barycenter centroids, §2.2 and §4);
            classical MDS written out: squared distances from one product P = A Aᵀ of the padded
            spectra (‖α_i‖² = P_ii), B = −½ J D² J, np.linalg.eigh, the top two eigenpairs.
  gaussot   `gaussot cluster --dir DIR --k K --n-init N --seed S --labels labels.txt --backend cpu
            --no-progress --out R.json [--threads T]`: the process wall clock (reading the files,
            fitting, clustering, distances and the MDS map), with its time_ms (reading excluded)
            and read_ms.

  spectra   the clustering stage alone, from the padded spectra NumPy computed: scikit-learn's
            KMeans (as above) plus the NumPy classical MDS, against gaussot.cluster(spectra,
            inputs_are="spectra", backend="cpu") of the Python module (k-means, IGW distances and
            the MDS map), when the module is importable; the minimum of 3 runs each.

Agreement (exit status 1 otherwise): the two partitions are the same (ARI between them = 1), the
objectives agree to 1e-9 relative, and the maps agree up to rotation and reflection (their Gram
matrices to 1e-6 relative). Both ARIs against the true styles are reported. Each method runs
--repeats times (default 1); the report shows the minimum and the ratio numpy / gaussot, then one
JSON line with all the numbers (--json FILE writes them too, with the machine)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import peers_common as common

STYLES = ((1.0, 0.6), (1.0, 0.9), (2.0, 0.9))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--widths", default="384,768")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--n-init", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="gaussot --threads")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT)
    p.add_argument("--json", type=Path, default=None)
    return p.parse_args(argv)


def write_users(np, args, folder: Path) -> list[int]:
    rng = np.random.default_rng([args.seed, 19])
    widths = [int(w) for w in args.widths.split(",")]
    rotations = {d: np.linalg.qr(rng.standard_normal((d, d)))[0] for d in widths}
    styles = []
    for u in range(args.users):
        style, d = u % 3, widths[(u // 3) % 2]
        a, p = STYLES[style]
        scales = np.sqrt(a * np.arange(1, d + 1, dtype=np.float64) ** -p)
        x = (rng.standard_normal((args.n, d)) * scales) @ rotations[d].T
        np.save(folder / f"user{u:05d}.npy", x.astype(np.float32))
        styles.append(style)
        if u % 100 == 0:
            common.progress(f"peers_cluster: wrote {u}/{args.users} users")
    (folder / "labels.txt").write_text("".join(f"{s}\n" for s in styles))
    return styles


def numpy_pipeline(np, KMeans, args, folder: Path) -> dict:
    start = time.perf_counter()
    spectra = []
    for path in sorted(folder.glob("user*.npy")):
        x = np.load(path)
        spectra.append(np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1])
    loaded = time.perf_counter()
    result = numpy_clustering(np, KMeans, args, spectra)
    end = time.perf_counter()
    result.update({"seconds": end - start, "fit_seconds": loaded - start, "spectra": spectra})
    return result


def numpy_clustering(np, KMeans, args, spectra) -> dict:
    """KMeans on the zero-padded spectra, then the classical MDS map of their distances."""
    start = time.perf_counter()
    depth = max(len(s) for s in spectra)
    padded = np.zeros((len(spectra), depth))
    for i, s in enumerate(spectra):
        padded[i, :len(s)] = s
    kmeans = KMeans(n_clusters=args.k, n_init=args.n_init, random_state=args.seed).fit(padded)
    clustered = time.perf_counter()
    gram = padded @ padded.T
    norms = np.diag(gram)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2 * gram, 0)
    k = len(spectra)
    centring = np.eye(k) - 1.0 / k
    w, v = np.linalg.eigh(-0.5 * centring @ squared @ centring)
    top = np.argsort(w)[::-1][:2]
    embedding = v[:, top] * np.sqrt(np.maximum(w[top], 0))
    end = time.perf_counter()
    return {"kmeans_seconds": clustered - start, "mds_seconds": end - clustered,
            "assignment": kmeans.labels_.tolist(), "objective": float(kmeans.inertia_),
            "embedding": embedding}


def spectra_stage(np, KMeans, args, spectra) -> dict | None:
    """The clustering stage alone: scikit-learn + NumPy against gaussot's module (min of 3)."""
    try:
        import gaussot
    except ImportError:
        return None
    numpy_times, gaussot_times = [], []
    for _ in range(3):
        start = time.perf_counter()
        numpy_clustering(np, KMeans, args, spectra)
        numpy_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        gaussot.cluster(spectra, args.k, inputs_are="spectra", n_init=args.n_init, seed=args.seed,
                        backend="cpu")
        gaussot_times.append(time.perf_counter() - start)
    return {"numpy_seconds": min(numpy_times), "gaussot_seconds": min(gaussot_times)}


def gaussot_pipeline(args, folder: Path, out: Path) -> dict:
    command = [str(args.gaussot), "cluster", "--dir", str(folder), "--k", str(args.k),
               "--n-init", str(args.n_init), "--seed", str(args.seed), "--labels",
               str(folder / "labels.txt"), "--backend", "cpu", "--no-progress", "--out", str(out)]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - start
    doc = json.loads(out.read_text())
    return {"seconds": seconds, "time_ms": doc["time_ms"], "read_ms": doc["read_ms"],
            "assignment": doc["assignment"], "objective": doc["objective"],
            "embedding": doc["embedding"], "ari": doc["ari"], "nmi": doc["nmi"]}


def main(argv) -> int:
    args = parse_args(argv)
    try:
        import numpy as np
        from sklearn.cluster import KMeans
        from sklearn.metrics import adjusted_rand_score
        import sklearn
    except ImportError as e:
        print(f"peers_cluster.py needs NumPy and scikit-learn ({e}).\nInstall them with:  "
              f"{sys.executable} -m pip install numpy scikit-learn", file=sys.stderr)
        return 2
    if not common.check_executables("peers_cluster.py",
                                    ((args.gaussot, "gaussot_cli", "--gaussot"),)):
        return 2
    scipy = type("absent", (), {"__version__": "not used"})
    machine = common.machine_info(np, scipy, args.gaussot, args.threads)
    machine["scikit_learn"] = sklearn.__version__
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        folder = Path(work) / "users"
        folder.mkdir()
        styles = write_users(np, args, folder)
        runs = {"numpy": [], "gaussot": []}
        for r in range(args.repeats):  # interleaved
            common.progress(f"peers_cluster: repetition {r + 1}/{args.repeats}")
            runs["numpy"].append(numpy_pipeline(np, KMeans, args, folder))
            runs["gaussot"].append(gaussot_pipeline(args, folder, Path(work) / "r.json"))
    best = {name: min(results, key=lambda x: x["seconds"]) for name, results in runs.items()}
    g, n = best["gaussot"], best["numpy"]
    stage = spectra_stage(np, KMeans, args, n.pop("spectra"))
    same_partition = adjusted_rand_score(g["assignment"], n["assignment"])
    objective_gap = abs(g["objective"] - n["objective"]) / n["objective"]
    g_map, n_map = np.asarray(g["embedding"]), np.asarray(n["embedding"])
    gram_gap = (np.abs(g_map @ g_map.T - n_map @ n_map.T).max()
                / np.abs(n_map @ n_map.T).max())
    agree = same_partition == 1.0 and objective_gap <= 1e-9 and gram_gap <= 1e-6
    lines = common.header_lines("Heterogeneous clustering from files: gaussot cluster vs NumPy + "
                                "scikit-learn", machine)
    lines += [f"users {args.users} (widths {args.widths}), n = {args.n} rows each, k = {args.k}, "
              f"n_init = {args.n_init}",
              f"numpy+sklearn  {n['seconds']:8.2f} s  (load+cov+eigvalsh {n['fit_seconds']:.2f} s,"
              f" KMeans {n['kmeans_seconds']:.2f} s, MDS {n['mds_seconds']:.2f} s)",
              f"gaussot        {g['seconds']:8.2f} s  (time_ms {g['time_ms'] / 1e3:.2f} s, "
              f"read_ms {g['read_ms'] / 1e3:.2f} s)",
              f"ratio numpy / gaussot (wall): {n['seconds'] / g['seconds']:.2f}x",
              "clustering stage from the spectra: " + (
                  "gaussot module not importable" if stage is None else
                  f"KMeans + NumPy MDS {stage['numpy_seconds']:.3f} s, gaussot.cluster "
                  f"{stage['gaussot_seconds']:.3f} s, ratio "
                  f"{stage['numpy_seconds'] / stage['gaussot_seconds']:.2f}x"),
              f"ARI vs styles: gaussot {g['ari']:.4f}, numpy "
              f"{adjusted_rand_score(styles, n['assignment']):.4f}; partitions equal: "
              f"{same_partition == 1.0}; objective gap {objective_gap:.2e}; map Gram gap "
              f"{gram_gap:.2e}"]
    numbers = {"machine": machine, "args": {k: str(v) for k, v in vars(args).items()},
               "numpy": {k: v for k, v in n.items() if k not in ("assignment", "embedding")},
               "gaussot": {k: v for k, v in g.items() if k not in ("assignment", "embedding")},
               "ratio": n["seconds"] / g["seconds"], "spectra_stage": stage,
               "partition_ari": same_partition,
               "objective_gap": objective_gap, "gram_gap": float(gram_gap)}
    print("\n".join(lines))
    print(json.dumps(numbers))
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=1))
    if not agree:
        print("gaussot cluster disagrees with NumPy + scikit-learn (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
