#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What the default budget of the uncentered IGW ascent gives: `gaussot igw` on random uncentered
pairs at several --max-iterations, each value against the best one found (the largest budget).

Pairs (--pairs DAxDB,..., default 64x48,128x96), --trials of each (default 3), drawn in this order
from np.random.default_rng(--seed) (default 1): for each pair size and trial, cov(DA), cov(DB),
mean a ~ N(0, I_DA), mean b ~ N(0, I_DB), with cov(d) = G Gᵀ / d + 0.1 I for a standard normal G
(d x d). Written as .npy into a temporary folder and run as
  gaussot igw --a-cov A --a-mean MA --b-cov B --b-mean MB --backend cpu --max-iterations IT
for IT in --iterations (default 100,300,1000,10000). Reported per run: IGW², the steps taken, the
relative gradient norm at the returned point, time_ms, and the relative excess of IGW² over the
smallest IGW² of the pair (IGW² is minimised: the ascent maximises the gain below the upper bound,
so a smaller IGW² is a better feasible value). Needs NumPy and a built gaussot.

  python3 bench/stiefel_precision.py                        # the table of bench/results/2026-12-07-cpu-rows
  python3 bench/stiefel_precision.py --pairs 768x512 --iterations 100,1000
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_common as common  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="64x48,128x96",
                        help="comma-separated DAxDB sizes (default: 64x48,128x96)")
    parser.add_argument("--trials", type=int, default=3, help="pairs per size (default: 3)")
    parser.add_argument("--iterations", default="100,300,1000,10000",
                        help="comma-separated --max-iterations values (default: 100,300,1000,10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gaussot", type=Path, default=common.DEFAULT_GAUSSOT)
    args = parser.parse_args(argv)
    parse_pair = common.case_parser("DAxDB", "64x48")
    try:
        args.pairs = [parse_pair(text) for text in args.pairs.split(",")]
        args.iterations = [int(text) for text in args.iterations.split(",")]
    except (argparse.ArgumentTypeError, ValueError) as e:
        parser.error(str(e))
    if args.trials < 1 or not args.iterations or min(args.iterations) < 1:
        parser.error("--trials and every --iterations value must be positive")
    return args


def main(argv) -> int:
    args = parse_args(argv)
    try:
        import numpy as np
    except ImportError:
        print("stiefel_precision.py needs NumPy", file=sys.stderr)
        return 2
    if not common.check_executables("stiefel_precision.py",
                                   [(args.gaussot, "gaussot_cli", "--gaussot")]):
        return 2
    rng = np.random.default_rng(args.seed)

    def covariance(d):
        g = rng.standard_normal((d, d))
        return g @ g.T / d + 0.1 * np.eye(d)

    print(f"uncentered IGW ascent by budget; gaussot {args.gaussot}")
    print(f"{'pair':>9} {'trial':>5} {'budget':>7} {'IGW²':>24} {'steps':>6} {'gradient':>9} "
          f"{'time_ms':>9} {'excess':>9}")
    with tempfile.TemporaryDirectory() as work:
        for da, db in args.pairs:
            for trial in range(args.trials):
                paths = {}
                for name, value in (("a", covariance(da)), ("b", covariance(db)),
                                    ("ma", rng.standard_normal(da)),
                                    ("mb", rng.standard_normal(db))):
                    paths[name] = Path(work) / f"{name}.npy"
                    np.save(paths[name], value)
                runs = []
                for budget in args.iterations:
                    done = subprocess.run(
                        [str(args.gaussot), "igw", "--a-cov", str(paths["a"]), "--a-mean",
                         str(paths["ma"]), "--b-cov", str(paths["b"]), "--b-mean",
                         str(paths["mb"]), "--backend", "cpu", "--max-iterations", str(budget)],
                        capture_output=True, text=True, check=True)
                    runs.append((budget, json.loads(done.stdout)))
                best = min(r["igw_squared"] for _, r in runs)
                for budget, r in runs:
                    excess = (r["igw_squared"] - best) / best
                    print(f"{da:>4}x{db:<4} {trial:>5} {budget:>7} {r['igw_squared']:>24.15e} "
                          f"{r['iterations']:>6} {r['gradient_norm']:>9.1e} {r['time_ms']:>9.1f} "
                          f"{excess:>9.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
