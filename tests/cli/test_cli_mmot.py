#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot mmot` against CLI.md: the mm1/mm2 reference vectors of formulas-bures-igw-mmot.md §9
with both solvers, the mean part of the value computed here, the barycenter against `gaussot
bw-barycenter` (an independent solver for the Burer-Monteiro run), the factors' feasibility
U_i U_iᵀ = S_i, and bad input (exit 2, one stderr line naming the option). Standard library only."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, main, matmul, max_abs_diff  # noqa: E402

MM1 = [[[1, .6], [.6, 1]], [[2, -.9], [-.9, 2]], [[1.5, .8], [.8, 1.5]]]
MM2 = [MM1[0], [[2, .9], [.9, 2]], MM1[2]]


def transpose(a):
    return [list(row) for row in zip(*a)]


class MmotCommand(CommandTest):
    backend = "cpu"

    def mmot(self, covs, *extra):
        return self.ok("mmot", "--cov", self.npy(covs), *extra)

    def test_reference_vectors_with_both_solvers(self):
        for covs, cost, b00, b01 in ((MM1, 2.266912, 1.37406, 0.256068),
                                     (MM2, 0.549991, 1.469445, 0.765007)):
            for solver in ("bm", "fixed-point"):
                doc = self.mmot(covs, "--solver", solver)
                for field in ("value", "barycenter_mean", "barycenter_cov", "dual_gap", "rank",
                              "iterations", "solver"):
                    self.assertIn(field, doc)
                self.assertEqual(doc["solver"], solver)
                self.assertTrue(doc["converged"])
                # bm stops on the dual gap; the fixed point on its residual (the barycenter to
                # the precision), with a gap far below bm's 1e-7.
                self.assertEqual(doc["stop_reason"], "dual_gap" if solver == "bm" else "residual")
                self.assertLessEqual(doc["dual_gap"], 1e-7 if solver == "bm" else 1e-11)
                self.assertLessEqual(doc["dual"], doc["primal"])
                self.assertEqual(doc["rank"], 2)
                self.assertAlmostEqual(doc["value"], cost, delta=2e-6)
                self.assertAlmostEqual(doc["barycenter_cov"][0][0], b00, delta=1e-5)
                self.assertAlmostEqual(doc["barycenter_cov"][0][1], b01, delta=1e-5)
                self.assertEqual(doc["barycenter_mean"], [0.0, 0.0])

    def test_means_add_the_pairwise_mean_distances(self):
        means = [[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]]
        weights = [1.0, 2.0, 0.5]
        centered = self.mmot(MM1, "--weights", self.npy(weights))
        shifted = self.mmot(MM1, "--weights", self.npy(weights), "--mean", self.npy(means))
        pairs = sum(weights[i] * weights[j] * sum((a - b) ** 2 for a, b in zip(means[i], means[j]))
                    for i in range(3) for j in range(i + 1, 3))
        self.assertAlmostEqual(shifted["value"], centered["value"] + pairs, delta=1e-8)
        total = sum(weights)
        for l in range(2):
            expected = sum(w * m[l] for w, m in zip(weights, means)) / total
            self.assertAlmostEqual(shifted["barycenter_mean"][l], expected, delta=1e-12)

    def test_barycenter_agrees_with_bw_barycenter(self):
        weights = self.npy([0.2, 0.3, 0.5])
        covs = self.npy(MM2)
        bm = self.ok("mmot", "--cov", covs, "--weights", weights, "--tolerance", "1e-10")
        fixed = self.ok("bw-barycenter", "--cov", covs, "--weights", weights)
        self.assertLess(max_abs_diff(bm["barycenter_cov"], fixed["cov"]), 1e-8)

    def test_factors_reproduce_the_marginals(self):
        for solver, width in (("bm", 3), ("fixed-point", 2)):
            doc = self.mmot(MM1, "--solver", solver, "--factors")
            self.assertEqual(len(doc["factors"]), 3)
            for u, s in zip(doc["factors"], MM1):
                self.assertEqual((len(u), len(u[0])), (2, width))
                self.assertLess(max_abs_diff(matmul(u, transpose(u)), s), 1e-10)

    def test_coupling_samples_reproduce_the_value(self):
        doc = self.mmot(MM1, "--samples", "20000", "--sample-seed", "3")
        samples = doc["samples"]
        self.assertEqual((len(samples), len(samples[0]), len(samples[0][0])), (3, 20000, 2))
        n = len(samples[0])
        cost = sum(sum((a - b) ** 2 for a, b in zip(samples[i][s], samples[j][s]))
                   for s in range(n) for i in range(3) for j in range(i + 1, 3)) / n
        self.assertAlmostEqual(cost, doc["value"], delta=0.05 * doc["value"])
        again = self.mmot(MM1, "--samples", "20000", "--sample-seed", "3")
        self.assertEqual(again["samples"][1][7], samples[1][7])

    def test_single_precision(self):
        doc = self.mmot(MM1, "--precision", "f32", "--tolerance", "1e-5")
        self.assertEqual(doc["precision"], "f32")
        self.assertAlmostEqual(doc["value"], 2.266912, delta=1e-4)

    def test_bad_input(self):
        singular = [[[1, 1], [1, 1]], MM1[1], MM1[2]]
        self.fails(2, ["--cov", "positive definite"], "mmot", "--cov", self.npy(singular))
        self.fails(2, ["mmot", "at least 2"], "mmot", "--cov", self.npy([MM1[0]]))
        self.fails(2, "--weights", "mmot", "--cov", self.npy(MM1), "--weights", self.npy([1, 2]))
        self.fails(2, ["--weights", "item 1"], "mmot", "--cov", self.npy(MM1), "--weights",
                   self.npy([1, -2, 1]))
        self.fails(2, "--solver", "mmot", "--cov", self.npy(MM1), "--solver", "sdp")
        nan = [MM1[0], [[2, float("nan")], [float("nan"), 2]], MM1[2]]
        self.fails(2, ["--cov", "NaN"], "mmot", "--cov", self.npy(nan))
        self.fails(2, "--cov", "mmot")


if __name__ == "__main__":
    main()
