#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot sinkhorn` against CLI.md: value, transport cost and plan mass against a log-domain
Sinkhorn written here in pure Python (primal objective of its plan, evaluated entry by entry),
balanced and unbalanced with masses and weight files, batches (k against k, one against k), the
potentials written by --save-prefix (the plan they give has the stated marginals), single
precision, a run that does not converge, both --algorithm choices, and bad input (exit 2, one stderr line naming the
option). Standard library only."""
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, main, read_npy  # noqa: E402


def cost(x, y):
    return sum((a - b) ** 2 for a, b in zip(x, y))


def lse(values):
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def reference(xs, ys, a, b, sigma, gamma=None):
    """Log-domain Sinkhorn (f from g, then g from f) to a fixed point, and the primal objective
    <pi, C> + eps KL(pi | a x b) [+ gamma KL(pi 1 | a) + gamma KL(pi^T 1 | b)] of its plan."""
    eps = 2 * sigma * sigma
    tau = 1.0 if gamma is None else gamma / (gamma + eps)
    c = [[cost(x, y) for y in ys] for x in xs]
    f, g = [0.0] * len(xs), [0.0] * len(ys)
    for _ in range(100000):
        old = f[:] + g[:]
        f = [-tau * eps * lse([math.log(b[j]) + (g[j] - c[i][j]) / eps for j in range(len(ys))])
             for i in range(len(xs))]
        g = [-tau * eps * lse([math.log(a[i]) + (f[i] - c[i][j]) / eps for i in range(len(xs))])
             for j in range(len(ys))]
        shift = 0.0 if gamma is not None else f[0] - old[0]  # balanced: f + k, g - k is a gauge
        new = [v - shift for v in f] + [v + shift for v in g]
        if max(abs(p - q) for p, q in zip(new, old)) < 1e-13 * eps:
            break
    plan = [[a[i] * b[j] * math.exp((f[i] + g[j] - c[i][j]) / eps) for j in range(len(ys))]
            for i in range(len(xs))]
    transport = sum(plan[i][j] * c[i][j] for i in range(len(xs)) for j in range(len(ys)))
    kl = sum(plan[i][j] * math.log(plan[i][j] / (a[i] * b[j])) - plan[i][j] + a[i] * b[j]
             for i in range(len(xs)) for j in range(len(ys)))
    value = transport + eps * kl
    rows = [sum(row) for row in plan]
    cols = [sum(plan[i][j] for i in range(len(xs))) for j in range(len(ys))]
    if gamma is not None:
        value += gamma * sum(r * math.log(r / w) - r + w for r, w in zip(rows, a))
        value += gamma * sum(r * math.log(r / w) - r + w for r, w in zip(cols, b))
    return {"value": value, "transport_cost": transport, "plan_mass": sum(rows)}


def points(count, d, seed, shift=0.0):
    rng = random.Random(seed)
    return [[rng.gauss(0, 1) + shift for _ in range(d)] for _ in range(count)]


class SinkhornCommand(CommandTest):
    backend = "cpu"

    def sinkhorn(self, xs, ys, *extra):
        return self.ok("sinkhorn", "--a-samples", self.npy(xs), "--b-samples", self.npy(ys),
                       *extra)

    def assert_matches(self, doc, ref, rel=1e-8):
        for field in ("value", "transport_cost", "plan_mass"):
            self.assertAlmostEqual(doc[field], ref[field], delta=rel * (1 + abs(ref[field])),
                                   msg=field)

    def test_balanced_against_the_reference(self):
        xs, ys = points(5, 2, 1), points(4, 2, 2, 0.5)
        doc = self.sinkhorn(xs, ys, "--sigma", "0.6", "--tolerance", "1e-12")
        self.assertEqual(list(doc)[4:10], ["value", "transport_cost", "plan_mass", "iterations",
                                           "marginal_error", "converged"])
        self.assertTrue(doc["converged"])
        self.assertLessEqual(doc["marginal_error"], 1e-12)
        self.assertEqual(doc["iterations"] % 10, 0)
        self.assertNotIn("f", doc)
        self.assert_matches(doc, reference(xs, ys, [0.2] * 5, [0.25] * 4, 0.6))
        self.assertAlmostEqual(doc["plan_mass"], 1.0, delta=1e-12)
        # Larger sigma: closer to the independent coupling's cost sum_ij a_i b_j C_ij.
        far = self.sinkhorn(xs, ys, "--sigma", "300")
        independent = sum(cost(x, y) for x in xs for y in ys) / 20
        self.assertAlmostEqual(far["transport_cost"], independent, delta=1e-4 * independent)

    def test_unbalanced_with_masses_and_with_weight_files(self):
        xs, ys = points(4, 3, 3), points(6, 3, 4, 0.3)
        doc = self.sinkhorn(xs, ys, "--sigma", "0.8", "--gamma", "1.5", "--mass-a", "2",
                            "--mass-b", "0.5", "--tolerance", "1e-13")
        self.assertTrue(doc["converged"])
        self.assert_matches(doc, reference(xs, ys, [0.5] * 4, [0.5 / 6] * 6, 0.8, 1.5))
        a = [0.1, 0.4, 0.2, 0.3]
        b = [0.3, 0.1, 0.2, 0.1, 0.2, 0.4]
        weighted = self.sinkhorn(xs, ys, "--sigma", "0.8", "--gamma", "1.5", "--a-weights",
                                 self.npy(a), "--b-weights", self.npy(b), "--tolerance", "1e-13")
        self.assert_matches(weighted, reference(xs, ys, a, b, 0.8, 1.5))
        balanced = self.sinkhorn(xs, ys, "--sigma", "0.8", "--a-weights", self.npy(a),
                                 "--b-weights", self.npy([w / 1.3 for w in b]), "--tolerance",
                                 "1e-12")
        self.assert_matches(balanced, reference(xs, ys, a, [w / 1.3 for w in b], 0.8))

    def test_batches_pair_like_the_other_commands(self):
        xs = [points(5, 2, 10 + i) for i in range(3)]
        ys = points(4, 2, 20, 1.0)
        doc = self.sinkhorn(xs, ys, "--sigma", "0.7", "--tolerance", "1e-12")
        for field in ("value", "transport_cost", "plan_mass", "iterations", "marginal_error",
                      "converged"):
            self.assertEqual(len(doc[field]), 3, field)
        for i in range(3):
            single = self.sinkhorn(xs[i], ys, "--sigma", "0.7", "--tolerance", "1e-12")
            self.assertAlmostEqual(doc["value"][i], single["value"], delta=1e-12)
            self.assertEqual(doc["iterations"][i], single["iterations"])
        paired = self.sinkhorn(xs, [ys, ys, ys], "--sigma", "0.7", "--tolerance", "1e-12")
        self.assertEqual(paired["value"], doc["value"])
        weights = [[0.1, 0.2, 0.3, 0.2, 0.2], [0.2] * 5, [0.5, 0.1, 0.1, 0.2, 0.1]]
        per_pair = self.sinkhorn(xs, ys, "--sigma", "0.7", "--a-weights", self.npy(weights),
                                 "--tolerance", "1e-12")
        self.assertAlmostEqual(per_pair["value"][1], doc["value"][1], delta=1e-12)
        self.assert_matches({k: v[2] for k, v in per_pair.items() if isinstance(v, list)},
                            reference(xs[2], ys, weights[2], [0.25] * 4, 0.7))

    def test_save_prefix_writes_the_potentials_of_a_plan_with_the_marginals(self):
        xs, ys = points(6, 2, 30), points(5, 2, 31, 0.4)
        prefix = self.path("run_")
        doc = self.sinkhorn(xs, ys, "--sigma", "0.5", "--tolerance", "1e-11", "--save-prefix",
                            prefix)
        header, f = read_npy(prefix + "f.npy")
        self.assertEqual(header["shape"], (6,))
        header, g = read_npy(prefix + "g.npy")
        self.assertEqual(header["shape"], (5,))
        self.assertEqual(doc["f"], f)
        eps = 0.5
        plan = [[math.exp((f[i] + g[j] - cost(xs[i], ys[j])) / eps) / 30 for j in range(5)]
                for i in range(6)]
        rows = [sum(r) for r in plan]
        cols = [sum(plan[i][j] for i in range(6)) for j in range(5)]
        self.assertLessEqual(sum(abs(r - 1 / 6) for r in rows), 1e-11 * 1.01)
        self.assertLessEqual(max(abs(c - 0.2) for c in cols), 1e-14)
        self.assertAlmostEqual(sum(p * cost(xs[i], ys[j]) for i, row in enumerate(plan)
                                   for j, p in enumerate(row)), doc["transport_cost"], delta=1e-12)
        header, value = read_npy(prefix + "value.npy")
        self.assertEqual((header["shape"], value), ((), [doc["value"]]))
        with_flag = self.sinkhorn(xs, ys, "--sigma", "0.5", "--potentials")
        self.assertEqual(len(with_flag["g"]), 5)

    def test_single_precision_and_no_convergence(self):
        xs, ys = points(8, 2, 40), points(7, 2, 41, 0.2)
        ref = reference(xs, ys, [1 / 8] * 8, [1 / 7] * 7, 0.6)
        doc = self.sinkhorn(xs, ys, "--sigma", "0.6", "--precision", "f32", "--tolerance", "1e-5")
        self.assertEqual(doc["precision"], "f32")
        self.assertTrue(doc["converged"])
        self.assert_matches(doc, ref, rel=1e-4)
        short = self.sinkhorn(xs, ys, "--sigma", "0.6", "--max-iterations", "3", "--tolerance",
                              "0")
        self.assertFalse(short["converged"])
        self.assertEqual(short["iterations"], 3)
        self.assertGreater(short["marginal_error"], 0)

    def test_both_algorithms_agree_with_the_reference(self):
        xs, ys = points(9, 2, 60), points(7, 2, 61, 2.0)
        ref = reference(xs, ys, [1 / 9] * 9, [1 / 7] * 7, 0.1)
        docs = {algorithm: self.sinkhorn(xs, ys, "--sigma", "0.1", "--tolerance", "1e-12",
                                         "--algorithm", algorithm)
                for algorithm in ("automatic", "log_domain", "scaling")}
        for algorithm, doc in docs.items():
            self.assertTrue(doc["converged"], algorithm)
            self.assert_matches(doc, ref, rel=1e-7)
        self.assertEqual(docs["log_domain"]["absorptions"], 0)
        # Clouds 2 apart at eps = 0.02: the kernel of f = g = 0 is below e^-175 on every row, so
        # the first iteration is absorbed.
        self.assertGreater(docs["scaling"]["absorptions"], 0)
        self.assertEqual(docs["automatic"]["value"], docs["scaling"]["value"])

    def test_bad_input(self):
        xs, ys = self.npy(points(4, 2, 50)), self.npy(points(3, 2, 51))
        run = ("sinkhorn", "--a-samples", xs, "--b-samples", ys)
        self.fails(2, "--sigma", *run)
        self.fails(2, ["--sigma", "> 0"], *run, "--sigma", "0")
        self.fails(2, ["--gamma", "> 0"], *run, "--sigma", "1", "--gamma", "-1")
        self.fails(2, ["--mass-a", "--gamma"], *run, "--sigma", "1", "--mass-a", "2")
        self.fails(2, ["--mass-b", "--b-weights"], *run, "--sigma", "1", "--gamma", "1",
                   "--mass-b", "2", "--b-weights", self.npy([0.2, 0.3, 0.5]))
        self.fails(2, ["--max-iterations"], *run, "--sigma", "1", "--max-iterations", "0")
        self.fails(2, ["--check-every"], *run, "--sigma", "1", "--check-every", "0")
        self.fails(2, ["--algorithm"], *run, "--sigma", "1", "--algorithm", "exp")
        self.fails(2, ["--b-samples", "dimension 3"], "sinkhorn", "--a-samples", xs,
                   "--b-samples", self.npy(points(3, 3, 52)), "--sigma", "1")
        self.fails(2, ["--a-weights", "length 3", "4 points"], *run, "--sigma", "1",
                   "--a-weights", self.npy([0.2, 0.3, 0.5]))
        self.fails(2, ["--b-weights", "weights_y", "total"], *run, "--sigma", "1",
                   "--b-weights", self.npy([0.2, 0.3, 0.6]))
        self.fails(2, ["--a-weights", "weights_x", "entry 2"], *run, "--sigma", "1",
                   "--a-weights", self.npy([0.5, 0.5, 0.0, 0.0]))
        nan = points(4, 2, 53)
        nan[1][0] = float("nan")
        self.fails(2, ["--a-samples", "NaN"], "sinkhorn", "--a-samples", self.npy(nan),
                   "--b-samples", ys, "--sigma", "1")
        self.fails(2, ["--b-samples", "2 batch items"], "sinkhorn", "--a-samples",
                   self.npy([points(4, 2, 1)] * 3), "--b-samples",
                   self.npy([points(3, 2, 2)] * 2), "--sigma", "1")


if __name__ == "__main__":
    main()
