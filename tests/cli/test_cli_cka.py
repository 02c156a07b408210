#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot cka` against CLI.md: linear CKA and debiased linear CKA of two sample sets of the same
n inputs, checked against their n x n Gram-matrix definitions computed here in pure Python
(centred HSIC for CKA; Song et al.'s unbiased HSIC on uncentred Gram matrices with zeroed
diagonals for the debiased value); result shapes (unbatched, paired, one-versus-many), exit codes
with one stderr line naming the option, --save-prefix and nothing written on failure. Standard
library only; the harness and the .npy helpers come from test_cli.py."""
import json
import math
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, flatten, gaussot_path, main, max_abs_diff, read_npy  # noqa: E402


# ---- references by the n x n definitions (samples are lists of n rows) -------------------------
def gram(samples):
    return [[sum(a * b for a, b in zip(x, y)) for y in samples] for x in samples]


def centred(k):
    n = len(k)
    row = [sum(r) / n for r in k]
    total = sum(row) / n
    return [[k[i][j] - row[i] - row[j] + total for j in range(n)] for i in range(n)]


def frobenius_inner(a, b):
    return sum(x * y for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def unbiased_hsic(k, l):
    """HSIC_1 of Song et al. (2012): diagonals zeroed, no centring; needs n >= 4."""
    n = len(k)
    k = [[0.0 if i == j else k[i][j] for j in range(n)] for i in range(n)]
    l = [[0.0 if i == j else l[i][j] for j in range(n)] for i in range(n)]
    k_rows, l_rows = [sum(r) for r in k], [sum(r) for r in l]
    value = (frobenius_inner(k, l) + sum(k_rows) * sum(l_rows) / ((n - 1) * (n - 2))
             - 2.0 / (n - 2) * sum(a * b for a, b in zip(k_rows, l_rows)))
    return value / (n * (n - 3))


def reference(x, y):
    """(linear CKA, debiased linear CKA) of two sample sets (lists of n rows)."""
    k, l = gram(x), gram(y)
    kc, lc = centred(k), centred(l)
    cka = frobenius_inner(kc, lc) / math.sqrt(frobenius_inner(kc, kc) * frobenius_inner(lc, lc))
    debiased = unbiased_hsic(k, l) / math.sqrt(unbiased_hsic(k, k) * unbiased_hsic(l, l))
    return cka, debiased


def samples(n, d, seed, offset=0.0):
    rng = random.Random(seed)
    return [[rng.gauss(offset + j, 1.0 + 0.25 * j) for j in range(d)] for _ in range(n)]


def related(x, d, seed, noise=0.7):
    """y = M x + noise with a random d x len(x[0]) matrix M: CKA well inside (0, 1)."""
    rng = random.Random(seed)
    m = [[rng.gauss(0.0, 1.0) for _ in x[0]] for _ in range(d)]
    return [[sum(a * b for a, b in zip(row, xi)) + rng.gauss(0.0, noise) - 2.0 for row in m]
            for xi in x]


class CkaCommand(CommandTest):
    backend = "cpu"

    def ok(self, *args, backend="default"):
        document = super().ok(*args, backend=backend)
        self.assertEqual(list(document), ["command", "backend", "precision", "time_ms", "cka",
                                          "cka_debiased"])
        self.assertEqual(document["command"], "cka")
        return document

    def cka(self, a, b, *extra, backend="cpu"):
        return self.ok("cka", "--a-samples", self.npy(a), "--b-samples", self.npy(b), *extra,
                       backend=backend)

    # ---- values ----
    def test_help_lists_the_command_and_its_options(self):
        result = subprocess.run([gaussot_path(), "--help"], capture_output=True, text=True)
        self.assertIn("cka", result.stdout)
        sub = subprocess.run([gaussot_path(), "cka", "--help"], capture_output=True, text=True)
        self.assertEqual(sub.returncode, 0)
        for option in ("--a-samples", "--b-samples", "--backend", "--precision", "--out",
                       "--save-prefix"):
            self.assertIn(option, sub.stdout)

    def test_values_equal_the_gram_matrix_definitions(self):
        for n, d_a, d_b, seed in ((10, 3, 2, 1), (7, 1, 4, 2), (4, 2, 3, 3), (6, 9, 5, 4)):
            x = samples(n, d_a, seed, offset=3.0)
            y = related(x, d_b, seed + 100)
            expected_cka, expected_debiased = reference(x, y)
            result = self.cka(x, y)
            self.assertEqual(result["precision"], "f64")
            self.assertIsInstance(result["cka"], float)
            self.assertLess(abs(result["cka"] - expected_cka), 1e-12, (n, d_a, d_b))
            self.assertLess(abs(result["cka_debiased"] - expected_debiased), 1e-11, (n, d_a, d_b))
            single = self.cka(x, y, "--precision", "f32")
            self.assertEqual(single["precision"], "f32")
            self.assertLess(abs(single["cka"] - expected_cka), 1e-5)
            self.assertLess(abs(single["cka_debiased"] - expected_debiased), 1e-4)

    def test_a_set_against_itself_is_one_and_sides_are_symmetric(self):
        x = samples(12, 4, 5)
        same = self.cka(x, x)
        self.assertAlmostEqual(same["cka"], 1.0, places=13)
        self.assertAlmostEqual(same["cka_debiased"], 1.0, places=12)
        y = related(x, 6, 6)
        forward, backward = self.cka(x, y), self.cka(y, x)
        self.assertAlmostEqual(forward["cka"], backward["cka"], places=13)
        self.assertAlmostEqual(forward["cka_debiased"], backward["cka_debiased"], places=12)

    def test_default_backend_agrees_with_the_cpu(self):
        # On a machine with a CUDA device, `auto` runs on it.
        x = samples(20, 5, 7)
        sets = [related(x, 3, seed) for seed in (8, 9)]
        for a, b in ((x, sets[0]), ([x, x], sets)):
            auto, cpu = self.cka(a, b, backend="auto"), self.cka(a, b)
            for name in ("cka", "cka_debiased"):
                self.assertLess(max_abs_diff(flatten(auto[name]), flatten(cpu[name])), 1e-10)

    # ---- result shapes ----
    def test_batches_pair_up_and_one_set_goes_against_many(self):
        xs = [samples(9, 3, seed) for seed in (10, 11, 12)]
        ys = [related(x, 2, seed) for x, seed in zip(xs, (13, 14, 15))]
        one = [self.cka(x, y) for x, y in zip(xs, ys)]
        paired = self.cka(xs, ys)
        self.assertEqual(len(paired["cka"]), 3)
        self.assertLess(max_abs_diff(paired["cka"], [r["cka"] for r in one]), 1e-13)
        self.assertLess(max_abs_diff(paired["cka_debiased"], [r["cka_debiased"] for r in one]),
                        1e-13)
        # One set against many, on either side.
        many = self.cka(xs[0], ys)
        self.assertLess(max_abs_diff(many["cka"], [self.cka(xs[0], y)["cka"] for y in ys]), 1e-13)
        reverse = self.cka(xs, ys[1])
        expected = [self.cka(x, ys[1])["cka_debiased"] for x in xs]
        self.assertLess(max_abs_diff(reverse["cka_debiased"], expected), 1e-13)
        # A batch of one stays a batch.
        single = self.cka(xs[:1], ys[0])
        self.assertIsInstance(single["cka"], list)
        self.assertEqual(len(single["cka_debiased"]), 1)
        self.assertAlmostEqual(single["cka"][0], one[0]["cka"], places=13)

    # ---- bad input ----
    def test_sides_must_be_samples_of_the_same_inputs(self):
        x, y = samples(8, 3, 20), samples(8, 2, 21)
        a, b = self.npy(x), self.npy(y)
        cov = self.npy([[1.0, 0.0], [0.0, 1.0]])
        self.fails(2, ["--a-cov", "--a-samples"], "cka", "--a-cov", cov, "--b-samples", b)
        self.fails(2, ["--b-cov", "--b-samples"], "cka", "--a-samples", a, "--b-cov", cov)
        self.fails(2, "--b-mean", "cka", "--a-samples", a, "--b-samples", b, "--b-mean",
                   self.npy([0.0, 0.0]))
        self.fails(2, "--a-samples", "cka", "--b-samples", b)
        self.fails(2, "--b-samples", "cka", "--a-samples", a)
        self.fails(2, ["--b-samples", "7 samples", "side a has 8"], "cka", "--a-samples", a,
                   "--b-samples", self.npy(y[:7]))
        self.fails(2, ["--b-samples", "batch items"], "cka", "--a-samples", self.npy([x, x]),
                   "--b-samples", self.npy([y, y, y]))
        self.fails(2, ["--a-samples", "(n, d) or (k, n, d)"], "cka", "--a-samples",
                   self.npy([1.0, 2.0, 3.0, 4.0]), "--b-samples", b)

    def test_bad_values(self):
        x, y = samples(8, 3, 30), samples(8, 2, 31)
        a, b = self.npy(x), self.npy(y)
        # Too few samples for the debiased value (n >= 4).
        self.fails(2, ["--a-samples", "at least 4 samples"], "cka", "--a-samples",
                   self.npy(x[:3]), "--b-samples", self.npy(y[:3]))
        # Constant features: CKA is undefined.
        constant = [[1.5, -2.0, 0.25]] * 8
        self.fails(2, ["--a-samples", "constant features"], "cka", "--a-samples",
                   self.npy(constant), "--b-samples", b)
        self.fails(2, ["--b-samples", "batch item 1", "constant features"], "cka", "--a-samples",
                   a, "--b-samples", self.npy([y, [[3.0, 3.0]] * 8]))
        self.fails(2, ["--b-samples", "NaN"], "cka", "--a-samples", a, "--b-samples",
                   self.npy(y[:7] + [[float("nan"), 1.0]]))
        # All samples but one equal: the debiased HSIC of the set with itself is zero.
        outlier = [y[0]] * 7 + [y[7]]
        self.fails(2, ["--b-samples", "debiased HSIC", "not positive"], "cka", "--a-samples", a,
                   "--b-samples", self.npy(outlier))
        self.fails(2, ["--a-samples", "dtype"], "cka", "--a-samples",
                   self.npy([1, 2, 3, 4], shape=[4, 1], dtype="<i8"), "--b-samples", b)

    # ---- outputs ----
    def test_save_prefix_files_equal_the_json(self):
        prefix = self.path("run_")
        xs = [samples(6, 2, seed) for seed in (40, 41)]
        result = self.cka(xs, samples(6, 3, 42), "--save-prefix", prefix)
        for name in ("cka", "cka_debiased"):
            header, values = read_npy(prefix + name + ".npy")
            self.assertEqual(header["shape"], (2,))
            self.assertEqual(values, result[name])  # bit for bit
        single = self.cka(xs[0], samples(6, 3, 42), "--save-prefix", prefix, "--precision",
                          "f32")
        header, values = read_npy(prefix + "cka.npy")
        self.assertEqual((header["shape"], header["descr"]), ((), "<f4"))
        self.assertEqual(values, [single["cka"]])

    def test_nothing_is_written_on_failure(self):
        out, prefix = self.path("result.json"), self.path("run_")
        a = self.npy(samples(8, 3, 50))
        outlier = self.npy([[1.0, 2.0]] * 7 + [[0.0, 5.0]])
        constant = self.npy([[1.0, 2.0]] * 8)
        inputs = sorted(os.listdir(self.tmp))
        for b in (outlier, constant):
            self.fails(2, "--b-samples", "cka", "--a-samples", a, "--b-samples", b, "--out", out,
                       "--save-prefix", prefix)
        self.assertEqual(sorted(os.listdir(self.tmp)), inputs)
        # And on success, --out holds the JSON and stdout is empty.
        result = self.run_gaussot("cka", "--a-samples", a, "--b-samples",
                                  self.npy(samples(8, 2, 51)), "--out", out)
        self.assertEqual((result.returncode, result.stdout), (0, ""), result.stderr)
        with open(out) as f:
            self.assertEqual(json.load(f)["command"], "cka")



if __name__ == "__main__":
    main()
