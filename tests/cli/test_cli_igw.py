#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot igw`, `igw-map` and `igw-barycenter` against CLI.md and the reference vectors of
formulas-bures-igw-mmot.md §9: fields and their order, values (one-centered 258, the 1-D formula,
the planar lower / estimate / upper, a centered closed form from diagonal covariances), result
shapes (paired, one-versus-many, --all-pairs across dimensions), the map's push-forward, exit
codes with one stderr line naming the option, and nothing written on failure. Standard library
only; the harness and the .npy helpers come from test_cli.py."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, main, matmul  # noqa: E402

S1 = [[7.75, -3.897114], [-3.897114, 3.25]]  # R(-pi/6) diag(10, 1) R(-pi/6)^T (rounded, §9)
S2 = [[5.5, 4.5], [4.5, 5.5]]  # R(pi/4) diag(10, 1) R(pi/4)^T


def univariate(u, a, v, b):
    """§5: IGW² between N(u, a²) and N(v, b²)."""
    return (a * a - b * b) ** 2 + (u * u - v * v) ** 2 + 2 * (a * abs(u) - b * abs(v)) ** 2


def diag(values):
    return [[v if i == j else 0.0 for j in range(len(values))] for i, v in enumerate(values)]


def centered_closed_form(alpha, beta):
    """§2.2 on decreasing spectra, zero-padded."""
    n = max(len(alpha), len(beta))
    alpha = sorted(alpha, reverse=True) + [0.0] * (n - len(alpha))
    beta = sorted(beta, reverse=True) + [0.0] * (n - len(beta))
    return sum((x - y) ** 2 for x, y in zip(alpha, beta))


class IgwCommands(CommandTest):
    backend = "cpu"

    def test_fields_and_one_centered_reference_vector(self):
        doc = self.ok("igw", *self.sides(diag([3.0, 1.0, 0.0]), diag([2.0, 0.0, 0.0]),
                                         [0.0, 0.0, 4.0]))
        for field in ("igw_squared", "igw", "lower_bound", "upper_bound", "exact"):
            self.assertIn(field, doc)
        self.assertAlmostEqual(doc["igw_squared"], 258.0, delta=258 * 1e-12)
        self.assertAlmostEqual(doc["igw"], math.sqrt(258.0), delta=1e-12)
        self.assertEqual(doc["lower_bound"], doc["upper_bound"])
        self.assertIs(doc["exact"], True)

    def test_univariate_formula(self):
        for a, b, u, v in [(2.0, 3.0, -1.0, 4.0), (0.0, 2.0, 3.0, 0.0), (1.0, 1.0, 0.5, -0.5),
                           (0.7, 1.9, -0.3, -1.1)]:
            doc = self.ok("igw", *self.sides([[a * a]], [[b * b]], [u], [v]))
            expected = univariate(u, a, v, b)
            self.assertAlmostEqual(doc["igw_squared"], expected, delta=1e-12 * (1 + expected))
            self.assertIs(doc["exact"], True)

    def test_planar_reference_vectors(self):
        for m1, m2, lower, value, upper in [([10.0, 10.0], [-10.0, 10.0], 5.321024, 9.184321,
                                             16.383333),
                                            ([10.0, -10.0], [-10.0, -10.0], 1.936127, 2.203950,
                                             5.607060)]:
            doc = self.ok("igw", *self.sides(S1, S2, m1, m2), "--restarts", "20")
            # The reference prints 6 decimals of covariances rounded to 6 decimals.
            self.assertAlmostEqual(doc["lower_bound"], lower, delta=1e-5)
            self.assertAlmostEqual(doc["upper_bound"], upper, delta=1e-5)
            self.assertAlmostEqual(doc["igw"], value, delta=1e-5)
            self.assertIs(doc["exact"], False)
            # Without the ascent the value is the upper bound.
            plain = self.ok("igw", *self.sides(S1, S2, m1, m2), "--no-ascent")
            self.assertEqual(plain["igw"], plain["upper_bound"])
            self.assertEqual(plain["iterations"], 0)

    def test_all_pairs_across_dimensions(self):
        a = [diag([3.0, 2.0, 1.0]), diag([1.0, 1.0, 0.5])]
        b = [diag([2.5, 0.1]), diag([4.0, 1.0]), diag([0.3, 0.2])]
        doc = self.ok("igw", "--all-pairs", "--a-cov", self.npy(a), "--b-cov", self.npy(b))
        self.assertEqual(len(doc["igw_squared"]), 2)
        for i in range(2):
            self.assertEqual(len(doc["igw_squared"][i]), 3)
            for j in range(3):
                expected = centered_closed_form([a[i][r][r] for r in range(3)],
                                                [b[j][r][r] for r in range(2)])
                self.assertAlmostEqual(doc["igw_squared"][i][j], expected, delta=1e-12 * 30)
                self.assertIs(doc["exact"][i][j], True)

    def test_paired_and_one_versus_many(self):
        a = [diag([3.0, 2.0, 1.0]), diag([1.0, 1.0, 0.5])]
        b = diag([2.5, 0.1])
        doc = self.ok("igw", "--a-cov", self.npy(a), "--b-cov", self.npy(b))
        self.assertEqual(len(doc["igw"]), 2)
        for i in range(2):
            expected = centered_closed_form([a[i][r][r] for r in range(3)], [2.5, 0.1])
            self.assertAlmostEqual(doc["igw_squared"][i], expected, delta=1e-12 * 30)
        self.fails(2, "--b-cov", "igw", "--a-cov", self.npy(a), "--b-cov",
                   self.npy([b, b, b]))

    def test_map_pushes_forward(self):
        a_cov, b_cov = diag([4.0, 2.0, 1.0]), S2
        doc = self.ok("igw-map", *self.sides(a_cov, b_cov, [1.0, 0.0, -1.0], [0.5, 2.0]),
                      "--restarts", "3")
        matrix, bias = doc["matrix"], doc["bias"]
        self.assertEqual((len(matrix), len(matrix[0])), (2, 3))
        pushed = matmul(matmul(matrix, a_cov), [list(r) for r in zip(*matrix)])
        for r in range(2):
            for c in range(2):
                self.assertAlmostEqual(pushed[r][c], b_cov[r][c], delta=1e-10)
        image = [sum(m * x for m, x in zip(row, [1.0, 0.0, -1.0])) + t
                 for row, t in zip(matrix, bias)]
        self.assertAlmostEqual(image[0], 0.5, delta=1e-10)
        self.assertAlmostEqual(image[1], 2.0, delta=1e-10)
        # Sign choices (centered pair): both are maps onto N(0, S2).
        for signs in ("1,1", "1,-1"):
            doc = self.ok("igw-map", *self.sides(a_cov, b_cov), "--signs", signs)
            self.assertIs(doc["exact"], True)
        self.fails(2, "--signs", "igw-map", *self.sides(a_cov, b_cov), "--signs", "1,2")
        self.fails(2, "--b-cov", "igw-map", *self.sides(b_cov, a_cov))
        self.fails(2, "--a-cov", "igw-map", *self.sides(diag([1.0, 1.0, 0.0]), b_cov))

    def test_barycenter_of_different_dimensions(self):
        doc = self.ok("igw-barycenter", "--cov", self.npy(diag([3.0, 1.0])), "--cov",
                      self.npy(diag([5.0, 2.0, 1.0])), "--weights", self.npy([0.25, 0.75]))
        expected = [0.25 * 3 + 0.75 * 5, 0.25 * 1 + 0.75 * 2, 0.75 * 1]
        for got, want in zip(doc["eigenvalues"], expected):
            self.assertAlmostEqual(got, want, delta=1e-12)
        value = 0.25 * centered_closed_form([3.0, 1.0], expected) + \
            0.75 * centered_closed_form([5.0, 2.0, 1.0], expected)
        self.assertAlmostEqual(doc["value"], value, delta=1e-12)
        self.assertEqual(doc["cov"][2][2], doc["eigenvalues"][2])

    def test_bad_input_writes_nothing(self):
        out = os.path.join(self.tmp, "out.json")
        before = sorted(os.listdir(self.tmp))
        indefinite = [[1.0, 0.0], [0.0, -1.0]]
        self.fails(2, "--b-cov", "igw", *self.sides(diag([1.0, 2.0]), indefinite), "--out", out)
        self.fails(2, "--weights", "igw-barycenter", "--cov", self.npy(diag([1.0])), "--weights",
                   self.npy([-1.0]), "--out", out)
        self.fails(2, "--restarts", "igw", *self.sides(diag([1.0]), diag([2.0])), "--restarts",
                   "-1")
        self.assertNotIn("out.json", os.listdir(self.tmp))
        self.assertTrue(set(before) <= set(os.listdir(self.tmp)))



if __name__ == "__main__":
    main()
