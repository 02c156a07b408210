#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot ngw` against CLI.md: on a centered 3 -> 2 Gaussian pair the closed form equals
sum (alpha_i - beta_i)^2 computed here, the learned map's cost is near it and BW2-UVP small;
P lies on its sphere; a saved model reloads and maps new points identically (--apply,
--save-prefix); sample-set sides; means; bad input (exit 2, one stderr line naming the option,
nothing written). Standard library only."""
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, main, read_npy  # noqa: E402

A_SPECTRUM = [4.0, 1.0, 0.25]
B_SPECTRUM = [3.0, 0.5]


def diagonal(values):
    return [[v if i == j else 0.0 for j in range(len(values))] for i, v in enumerate(values)]


def closed_form(alpha, beta):
    """Centered IGW^2: the sorted spectra, zero-padded, sum (alpha_i - beta_i)^2."""
    alpha, beta = sorted(alpha, reverse=True), sorted(beta, reverse=True)
    size = max(len(alpha), len(beta))
    alpha += [0.0] * (size - len(alpha))
    beta += [0.0] * (size - len(beta))
    return sum((a - b) ** 2 for a, b in zip(alpha, beta))


def points(count, d, seed, scales=None):
    rng = random.Random(seed)
    scales = scales or [1.0] * d
    return [[rng.gauss(0, math.sqrt(s)) for s in scales] for _ in range(count)]


class NgwCommand(CommandTest):
    backend = "cpu"
    small = ["--map-widths", "16,16", "--potential-widths", "16,16", "--threads", "2"]

    def pair(self):
        return ["--a-cov", self.npy(diagonal(A_SPECTRUM)), "--b-cov",
                self.npy(diagonal(B_SPECTRUM))]

    def test_gaussian_pair_against_the_closed_form(self):
        doc = self.ok("ngw", *self.pair(), "--steps", "1200", "--map-widths", "32,32",
                      "--potential-widths", "32,32", "--threads", "2")
        self.assertEqual(list(doc)[4:8],
                         ["igw_squared_estimate", "steps", "igw_squared_closed_form", "bw2_uvp"])
        # The first release's names stay as aliases of the same values.
        self.assertEqual(doc["igw_estimate"], doc["igw_squared_estimate"])
        self.assertEqual(doc["igw_closed_form"], doc["igw_squared_closed_form"])
        self.assertEqual(doc["steps"], 1200)
        truth = closed_form(A_SPECTRUM, B_SPECTRUM)
        self.assertAlmostEqual(doc["igw_squared_closed_form"], truth, delta=1e-10 * truth)
        self.assertLess(abs(doc["igw_squared_estimate"] / truth - 1), 0.10, doc)
        self.assertLess(doc["bw2_uvp"], 5.0)
        self.assertEqual(doc["samples"], 65536)
        p = doc["p"]
        self.assertEqual((len(p), len(p[0])), (2, 3))
        self.assertAlmostEqual(math.sqrt(sum(v * v for row in p for v in row)), math.sqrt(2),
                               delta=1e-12)

    def test_saved_model_reloads_and_maps_new_points(self):
        model = self.path("model.json")
        new_points = points(7, 3, 5)
        prefix = self.path("run_")
        first = self.ok("ngw", *self.pair(), "--steps", "20", *self.small, "--save-model",
                        model, "--apply", self.npy(new_points), "--save-prefix", prefix)
        self.assertEqual(first["model"], model)
        with open(model) as f:
            saved = json.load(f)
        self.assertEqual((saved["format"], saved["input_dimension"], saved["output_dimension"]),
                         ("gaussot-ngw", 3, 2))
        self.assertEqual(saved["map_hidden"], [16, 16])
        header, mapped = read_npy(prefix + "mapped.npy")
        self.assertEqual(header["shape"], (7, 2))
        self.assertEqual([v for row in first["mapped"] for v in row], mapped)
        again = self.ok("ngw", *self.pair(), "--steps", "0", "--load-model", model, "--apply",
                        self.npy(new_points))
        self.assertEqual(again["steps"], 0)
        self.assertNotIn("objective", again)
        self.assertEqual(again["mapped"], first["mapped"])
        self.assertEqual(again["p"], first["p"])
        self.assertEqual(again["igw_squared_estimate"], first["igw_squared_estimate"])

    def test_sample_sets_and_means(self):
        xs, ys = points(300, 3, 1, A_SPECTRUM), points(200, 2, 2, B_SPECTRUM)
        doc = self.ok("ngw", "--a-samples", self.npy(xs), "--b-samples", self.npy(ys),
                      "--steps", "10", *self.small)
        self.assertEqual(doc["samples"], 300)
        self.assertNotIn("igw_squared_closed_form", doc)
        self.assertNotIn("bw2_uvp", doc)
        self.assertTrue(math.isfinite(doc["igw_squared_estimate"]))
        shifted = self.ok("ngw", *self.pair(), "--b-mean", self.npy([1.0, -1.0]), "--steps",
                          "10", *self.small)
        self.assertNotIn("igw_squared_closed_form", shifted)  # IGW with means: no closed form here
        self.assertIn("bw2_uvp", shifted)

    def test_same_seed_same_result(self):
        run = ["ngw", *self.pair(), "--steps", "15", *self.small, "--seed", "4"]
        self.assertEqual(self.ok(*run)["p"], self.ok(*run)["p"])
        other = self.ok("ngw", *self.pair(), "--steps", "15", *self.small, "--seed", "5")
        self.assertNotEqual(other["p"], self.ok(*run)["p"])

    def test_bad_input(self):
        pair = self.pair()
        self.fails(2, "--map-widths", "ngw", *pair, "--map-widths", "8,x")
        self.fails(2, "--activation", "ngw", *pair, "--activation", "sigmoid")
        self.fails(2, "--batch", "ngw", *pair, "--batch", "0")
        self.fails(2, "--p-step", "ngw", *pair, "--p-step", "-1")
        self.fails(2, "--load-model", "ngw", *pair, "--load-model", self.path("missing.json"))
        broken = self.path("broken.json")
        with open(broken, "w") as f:
            f.write('{"format": "gaussot-ngw", "version": 1}')
        self.fails(2, ["--load-model", "map_hidden"], "ngw", *pair, "--load-model", broken)
        self.fails(2, ["--apply", "dimension 2"], "ngw", *pair, "--apply",
                   self.npy(points(4, 2, 1)))
        self.fails(2, "--b-cov", "ngw", "--a-cov", self.npy(diagonal(A_SPECTRUM)), "--b-cov",
                   self.npy(diagonal([1.0, -1.0])), "--steps", "1")
        self.fails(2, "--a-cov", "ngw", "--a-cov", self.npy([diagonal(A_SPECTRUM)] * 2),
                   "--b-cov", self.npy(diagonal(B_SPECTRUM)))
        out = self.path("out.json")
        self.fails(2, "--save-model", "ngw", *pair, "--steps", "1", *self.small, "--save-model",
                   self.path("no_such_dir/model.json"), "--out", out)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    main()
