#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot entropic` against CLI.md: the reference cases T1, T4 and T6 of formulas-entropic.md §6,
the plan's identities (marginals, A·map = C_σ, conditional covariance σ²·map), the Sinkhorn
divergence against three `entropic` values, the σ → 0 limit against `gaussot bw`, batches and
one-versus-many, float32, and bad input (exit 2, one stderr line naming the option). Standard
library only."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, main, matmul, max_abs_diff  # noqa: E402

A = [[2.0, 1.0], [1.0, 2.0]]
B = [[1.0, 0.0], [0.0, 3.0]]
MEAN_B = [1.0, 2.0]


def block(m, r, c, d):
    return [row[c * d:(c + 1) * d] for row in m[r * d:(r + 1) * d]]


class EntropicCommand(CommandTest):
    backend = "cpu"

    def entropic(self, *args):
        return self.ok("entropic", *args)

    def test_reference_cases(self):
        # T1: 1-D, σ² = 3: OT = 4 + 3 ln(4/3), plan N((0, 1), [[1, 1], [1, 4]]).
        t1 = self.entropic(*self.sides([[1.0]], [[4.0]], [0.0], [1.0]), "--sigma",
                           repr(math.sqrt(3)), "--divergence")
        self.assertAlmostEqual(t1["value"], 4 + 3 * math.log(4 / 3), delta=1e-12)
        self.assertAlmostEqual(t1["transport_cost"], 4.0, delta=1e-12)
        self.assertEqual(t1["plan_mass"], 1.0)
        self.assertLess(max_abs_diff(t1["plan_cov"], [[1, 1], [1, 4]]), 1e-13)
        self.assertEqual(t1["plan_mean"], [0.0, 1.0])
        self.assertAlmostEqual(t1["sinkhorn_divergence"], 1.8119873197947271, delta=1e-12)
        # T4: 1-D unbalanced, σ² = 1/2, γ = 1, masses 1 and 2.
        t4 = self.entropic(*self.sides([[1.0]], [[3.0]], [0.0], [1.0]), "--sigma",
                           repr(math.sqrt(0.5)), "--gamma", "1", "--mass-a", "1", "--mass-b", "2")
        self.assertAlmostEqual(t4["plan_mass"], (4 / 3) ** (1 / 6) * math.exp(-1 / 15), delta=1e-12)
        self.assertAlmostEqual(t4["value"], 5 - 3 * t4["plan_mass"], delta=1e-12)
        self.assertLess(max_abs_diff(t4["plan_mean"], [0.2, 0.4]), 1e-14)
        self.assertLess(max_abs_diff(t4["plan_cov"], [[1, 1], [1, 1.5]]), 1e-13)
        self.assertEqual(t4["gamma"], 1.0)
        # T6: non-commuting unbalanced; μ is rational (X = [[4.5, 1], [1, 6.5]]).
        t6 = self.entropic(*self.sides(A, B, None, MEAN_B), "--sigma", "1", "--gamma", "1",
                           "--mass-b", "2")
        self.assertAlmostEqual(t6["value"], 4.7708328580201224, delta=1e-12)
        self.assertAlmostEqual(t6["plan_mass"], 0.55729178549496939, delta=1e-13)
        self.assertLess(max_abs_diff(t6["plan_mean"], [68 / 113, 82 / 113, 95 / 113, 130 / 113]),
                        1e-13)

    def test_plan_map_and_potentials_fit_together(self):
        sigma = 0.8
        doc = self.entropic(*self.sides(A, B, [0.5, -1.0], MEAN_B), "--sigma", str(sigma), "--map",
                            "--potentials")
        plan = doc["plan_cov"]
        self.assertLess(max_abs_diff(block(plan, 0, 0, 2), A), 1e-13)
        self.assertLess(max_abs_diff(block(plan, 1, 1, 2), B), 1e-13)
        cross = block(plan, 0, 1, 2)
        slope = doc["map_matrix"]
        self.assertLess(max_abs_diff(matmul(A, slope), cross), 1e-12)  # A·S = C_σ
        self.assertLess(max_abs_diff(doc["conditional_cov"],
                                     [[sigma ** 2 * v for v in row] for row in slope]), 1e-12)
        # E[y | x = a] = b
        image = [sum(slope[r][c] * m for c, m in enumerate([0.5, -1.0])) + doc["map_bias"][r]
                 for r in range(2)]
        self.assertLess(max_abs_diff(image, MEAN_B), 1e-12)
        # E_α f + E_β g = OT_σ, with E xᵀQx = tr(QΣ) + mᵀQm.
        def expectation(q, lin, const, cov, mean):
            return (const + sum(lin[r] * mean[r] for r in range(2))
                    + sum(q[r][c] * (cov[c][r] + mean[r] * mean[c]) for r in range(2)
                          for c in range(2)))
        total = (expectation(doc["f_quadratic"], doc["f_linear"], doc["f_constant"], A, [0.5, -1])
                 + expectation(doc["g_quadratic"], doc["g_linear"], doc["g_constant"], B, MEAN_B))
        self.assertAlmostEqual(total, doc["value"], delta=1e-11 * doc["value"])

    def test_divergence_is_the_debiased_value(self):
        ab = self.entropic(*self.sides(A, B, None, MEAN_B), "--sigma", "1", "--divergence")
        aa = self.entropic(*self.sides(A, A), "--sigma", "1")
        bb = self.entropic(*self.sides(B, B), "--sigma", "1")
        self.assertAlmostEqual(ab["sinkhorn_divergence"],
                               ab["value"] - 0.5 * aa["value"] - 0.5 * bb["value"], delta=1e-12)
        self.assertAlmostEqual(ab["sinkhorn_divergence"], 5.4967679696321257, delta=1e-12)

    def test_small_sigma_gives_w2(self):
        w2 = self.ok("bw", *self.sides(A, B, None, MEAN_B), backend="cpu")["w2_squared"]
        gaps = []
        for sigma in ("0.1", "0.01", "0.001"):
            doc = self.entropic(*self.sides(A, B, None, MEAN_B), "--sigma", sigma, "--divergence")
            gaps.append(abs(doc["value"] - w2))
            self.assertAlmostEqual(doc["sinkhorn_divergence"], w2, delta=50 * float(sigma) ** 4
                                   + 1e-12)
        self.assertLess(gaps[1], gaps[0])
        self.assertLess(gaps[2], gaps[1])
        self.assertLess(gaps[2], 1e-4)

    def test_batches_one_versus_many_and_f32(self):
        covs_b = [B, [[2.0, 0.3], [0.3, 1.0]], A]
        batch = self.entropic("--a-cov", self.npy([A, A, A]), "--b-cov", self.npy(covs_b),
                              "--sigma", "0.7", "--gamma", "2")
        many = self.entropic("--a-cov", self.npy(A), "--b-cov", self.npy(covs_b), "--sigma",
                             "0.7", "--gamma", "2")
        self.assertEqual(len(batch["value"]), 3)
        self.assertEqual(len(batch["plan_cov"]), 3)
        self.assertLess(max_abs_diff(batch["value"], many["value"]), 1e-13)
        lean = self.entropic("--a-cov", self.npy(A), "--b-cov", self.npy(covs_b), "--sigma",
                             "0.7", "--gamma", "2", "--value-only")
        self.assertEqual(lean["value"], many["value"])
        self.assertEqual(lean["plan_mass"], many["plan_mass"])
        for field in ("transport_cost", "plan_mean", "plan_cov"):
            self.assertNotIn(field, lean)
        for i, cov in enumerate(covs_b):
            one = self.entropic(*self.sides(A, cov), "--sigma", "0.7", "--gamma", "2")
            self.assertAlmostEqual(batch["value"][i], one["value"], delta=1e-13)
        f32 = self.entropic(*self.sides(A, B, None, MEAN_B), "--sigma", "1", "--precision", "f32")
        self.assertEqual(f32["precision"], "f32")
        self.assertAlmostEqual(f32["value"], 8.9236661258311306, delta=1e-5 * 8.92)

    def test_bad_input(self):
        sides = self.sides(A, B)
        self.fails(2, "--sigma", "entropic", *sides, "--sigma", "0")
        self.fails(2, "--sigma", "entropic", *sides, "--sigma", "-1")
        self.fails(2, "--sigma", "entropic", *sides, "--sigma", "nan")
        self.fails(2, "--sigma", "entropic", *sides)
        self.fails(2, "--gamma", "entropic", *sides, "--sigma", "1", "--gamma", "0")
        self.fails(2, "--mass-a", "entropic", *sides, "--sigma", "1", "--mass-a", "2")
        self.fails(2, "--mass-b", "entropic", *sides, "--sigma", "1", "--gamma", "1",
                   "--mass-b", "-2")
        self.fails(2, "--divergence", "entropic", *sides, "--sigma", "1", "--gamma", "1",
                   "--divergence")
        self.fails(2, ["--b-cov", "positive semidefinite"], "entropic",
                   *self.sides(A, [[1.0, 0.0], [0.0, -1.0]]), "--sigma", "1")
        self.fails(2, "--b-cov", "entropic", *self.sides(A, [[1.0]]), "--sigma", "1")
        self.fails(2, ["--a-mean", "NaN"], "entropic", *self.sides(A, B, [0.0, float("nan")]),
                   "--sigma", "1")


if __name__ == "__main__":
    main()
