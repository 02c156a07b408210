#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot compare` against CLI.md: activation files (n, d_i) compared all against all. CKA is
checked against its n x n Gram definition (pure Python, from test_cli_cka.py), BW against `gaussot
bw` on the same sample files, uncentered IGW against `gaussot igw`, centered IGW against `gaussot
igw` on covariances fitted here in Python; the three input forms (files, --dir, --manifest) agree;
a tiny --memory-limit re-reads files and gives the same CKA; --out-dir pictures are valid SVG;
--table; --save-prefix; bad input exits 2 naming the file, with nothing on stdout."""
import json
import math
import os
import random
import sys
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, main, read_npy  # noqa: E402
from test_cli_cka import reference, related  # noqa: E402


def activations(n, d, seed, shift=0.0):
    rng = random.Random(seed)
    return [[math.tanh(rng.gauss(shift + 0.1 * j, 1.0 + 0.2 * j)) for j in range(d)]
            for _ in range(n)]


def fitted_covariance(x):
    n, d = len(x), len(x[0])
    mean = [sum(r[j] for r in x) / n for j in range(d)]
    return [[sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in x) / (n - 1) for j in range(d)]
            for i in range(d)]


class CompareCommand(CommandTest):
    backend = "cpu"

    def setUp(self):
        super().setUp()
        base = activations(30, 3, 1)
        # Two sets of width 3 (one related to the other), one of width 2 and one of width 4.
        self.sets = {"a3": base, "b2": related(base, 2, 2), "c3": related(base, 3, 3),
                     "d4": activations(30, 4, 4, 0.5)}
        self.paths = {}
        for name, x in self.sets.items():
            path = self.npy(x)
            os.rename(path, self.path(name + ".npy"))
            self.paths[name] = self.path(name + ".npy")
        self.names = list(self.sets)

    def compare(self, *args):
        return self.ok("compare", *[self.paths[n] for n in self.names], *args)

    def test_matrices_equal_the_pairwise_commands(self):
        doc = self.compare("--metrics", "igw,bw,cka,cka_debiased")
        self.assertEqual(doc["names"], self.names)
        self.assertEqual(doc["dimensions"], [3, 2, 3, 4])
        self.assertEqual(doc["samples"], 30)
        self.assertEqual(doc["set_reads"], 4)
        for i, a in enumerate(self.names):
            for j, b in enumerate(self.names):
                cka, debiased = reference(self.sets[a], self.sets[b])
                self.assertAlmostEqual(doc["cka"][i][j], cka, delta=1e-10)
                self.assertAlmostEqual(doc["cka_debiased"][i][j], debiased, delta=1e-9)
                pair = ["--a-samples", self.paths[a], "--b-samples", self.paths[b]]
                igw = self.ok("igw", *pair)
                self.assertAlmostEqual(doc["igw_lower_bound"][i][j] ** 2, igw["lower_bound"] ** 2,
                                       delta=1e-9 * max(1, igw["upper_bound"] ** 2))
                self.assertAlmostEqual(doc["igw_upper_bound"][i][j] ** 2, igw["upper_bound"] ** 2,
                                       delta=1e-9 * max(1, igw["upper_bound"] ** 2))
                self.assertLessEqual(doc["igw_lower_bound"][i][j], doc["igw"][i][j] + 1e-12)
                self.assertLessEqual(doc["igw"][i][j], doc["igw_upper_bound"][i][j] + 1e-12)
                self.assertEqual(doc["igw"][i][j], doc["igw"][j][i])
                if len(self.sets[a][0]) == len(self.sets[b][0]):
                    expected = 0.0 if a == b else self.ok("bw", *pair)["w2"]
                    self.assertAlmostEqual(doc["bw"][i][j], expected, delta=1e-9)
                else:
                    self.assertIsNone(doc["bw"][i][j])

    def test_shape_metrics_of_a_single_feature_are_its_correlation_norm(self):
        # Against a set of width 1 the cross product is a row: its nuclear norm is its length, so
        # NBS = ‖x̃ᵀỸ‖ / (‖x̃‖ ‖Ỹ‖_F), a closed form.
        single = [[row[0] + 0.5 * row[1]] for row in self.sets["a3"]]
        path = self.path("e1.npy")
        os.rename(self.npy(single), path)
        doc = self.ok("compare", path, *[self.paths[n] for n in self.names], "--metrics",
                      "nbs,procrustes")
        self.assertNotIn("cka", doc)

        def centred(x):
            n, d = len(x), len(x[0])
            mean = [sum(r[j] for r in x) / n for j in range(d)]
            return [[r[j] - mean[j] for j in range(d)] for r in x]

        x = [r[0] for r in centred(single)]
        norm_x = math.sqrt(sum(v * v for v in x))
        for j, name in enumerate(self.names, start=1):
            y = centred(self.sets[name])
            row = [sum(x[s] * y[s][f] for s in range(len(x))) for f in range(len(y[0]))]
            norm_y = math.sqrt(sum(v * v for r in y for v in r))
            expected = math.sqrt(sum(v * v for v in row)) / (norm_x * norm_y)
            self.assertAlmostEqual(doc["nbs"][0][j], expected, delta=1e-12)
            self.assertAlmostEqual(doc["nbs"][j][0], expected, delta=1e-12)
            self.assertAlmostEqual(doc["procrustes"][0][j], math.acos(expected), delta=1e-9)
        for i in range(len(self.names) + 1):
            self.assertEqual(doc["nbs"][i][i], 1.0)
            self.assertEqual(doc["procrustes"][i][i], 0.0)
            for j in range(len(self.names) + 1):
                self.assertLessEqual(doc["nbs"][i][j], 1.0)
                self.assertAlmostEqual(math.cos(doc["procrustes"][i][j]), doc["nbs"][i][j],
                                       delta=1e-12)
        self.fails(2, ["--metrics", "nbs, procrustes"], "compare", path, self.paths["a3"],
                   "--metrics", "shape")

    def test_centered_igw_is_exact(self):
        doc = self.compare("--metrics", "igw", "--centered")
        self.assertNotIn("cka", doc)
        self.assertNotIn("bw", doc)
        for i, a in enumerate(self.names):
            for j, b in enumerate(self.names):
                self.assertTrue(doc["igw_exact"][i][j])
                igw = self.ok("igw", "--a-cov", self.npy(fitted_covariance(self.sets[a])),
                              "--b-cov", self.npy(fitted_covariance(self.sets[b])))
                self.assertTrue(igw["exact"])
                self.assertAlmostEqual(doc["igw"][i][j], igw["igw"], delta=1e-9)

    def test_directory_and_manifest_give_the_same_matrices(self):
        by_files = self.compare("--metrics", "cka,bw")
        by_dir = self.ok("compare", "--dir", self.tmp, "--metrics", "cka,bw")
        self.assertEqual(by_dir["names"], sorted(self.names))
        order = [self.names.index(n) for n in by_dir["names"]]
        for i, oi in enumerate(order):
            for j, oj in enumerate(order):
                self.assertEqual(by_dir["cka"][i][j], by_files["cka"][oi][oj])
        manifest = self.path("layers.txt")
        with open(manifest, "w") as f:
            f.write("# network/layer  file\n\nfirst a3.npy\n%s\n  third   c3.npy\nfourth d4.npy\n"
                    % self.paths["b2"])
        by_manifest = self.ok("compare", "--manifest", manifest, "--metrics", "cka,bw")
        self.assertEqual(by_manifest["names"], ["first", "b2", "third", "fourth"])
        self.assertEqual(by_manifest["cka"], by_files["cka"])
        self.assertEqual(by_manifest["bw"], by_files["bw"])

    def assert_close(self, a, b, delta, names=("igw", "bw", "cka", "cka_debiased", "nbs",
                                                 "procrustes")):
        for name in names:
            for row_a, row_b in zip(a[name], b[name]):
                for x, y in zip(row_a, row_b):
                    if y is None:  # NaN in the JSON
                        self.assertIsNone(x, name)
                    else:
                        self.assertAlmostEqual(x, y, delta=delta * max(1.0, abs(y)), msg=name)

    def shard(self, name, cuts):
        """Writes set `name` as row shards [0, c1), [c1, c2), ... into folder sharded/NAME."""
        folder = self.path(os.path.join("sharded", name))
        os.makedirs(folder)
        bounds = [0, *cuts, len(self.sets[name])]
        paths = []
        for s, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
            path = os.path.join(folder, "part%d.npy" % s)
            os.rename(self.npy(self.sets[name][lo:hi]), path)
            paths.append(path)
        return paths

    def test_row_shards_and_chunked_reading_give_the_same_matrices(self):
        metrics = "igw,bw,cka,cka_debiased,nbs,procrustes"
        whole = self.compare("--metrics", metrics, "--centered")
        shards = {name: self.shard(name, cuts) for name, cuts in
                  zip(self.names, ([7, 19], [1], [29], [10, 11, 12]))}
        # --dir-of-dirs: a folder per set (named by it), its files the shards in name order.
        by_folders = self.ok("compare", "--dir-of-dirs", self.path("sharded"), "--metrics",
                             metrics, "--centered")
        self.assertEqual(by_folders["names"], sorted(self.names))
        self.assertEqual(by_folders["samples"], 30)
        order = [self.names.index(n) for n in by_folders["names"]]
        for name in metrics.split(","):
            for i, oi in enumerate(order):
                for j, oj in enumerate(order):
                    x, y = by_folders[name][i][j], whole[name][oi][oj]
                    self.assertEqual(x, y, name)
        # A manifest line NAME PATH [PATH ...], a quoted path with a blank.
        spaced = self.path("with blank.npy")
        os.rename(shards["a3"][2], spaced)
        manifest = self.path("shards.txt")
        with open(manifest, "w") as f:
            f.write('a3 %s %s "%s"\n' % (shards["a3"][0], shards["a3"][1], spaced))
            for name in self.names[1:]:
                f.write(" ".join([name] + shards[name]) + "\n")
        by_manifest = self.ok("compare", "--manifest", manifest, "--metrics", metrics,
                              "--centered")
        self.assertEqual(by_manifest["names"], self.names)
        self.assert_close(by_manifest, whole, 0)
        # --chunk-rows: every set read once in chunks that cut across the shards, statistics
        # accumulated: the same matrices to rounding, centered and uncentered (the ascent's
        # value to its own precision).
        for chunk in ("7", "1", "30", "100"):
            chunked = self.ok("compare", "--manifest", manifest, "--metrics", metrics,
                              "--centered", "--chunk-rows", chunk)
            self.assertEqual(chunked["set_reads"], 4)
            self.assert_close(chunked, whole, 1e-12)
        uncentered = self.compare("--metrics", metrics)
        chunked = self.ok("compare", "--manifest", manifest, "--metrics", metrics,
                          "--chunk-rows", "8")
        self.assert_close(chunked, uncentered, 1e-12, names=metrics.split(",")[1:])
        self.assert_close(chunked, uncentered, 1e-6, names=["igw"])

    def test_bad_shards_are_named(self):
        wide = self.npy(activations(5, 4, 3))
        manifest = self.path("bad.txt")
        with open(manifest, "w") as f:
            f.write("a %s %s\n" % (self.paths["a3"], wide))
        self.fails(2, [wide, "4 features", "share their features"], "compare", "--manifest",
                   manifest)
        bad = [row[:] for row in self.sets["c3"]]
        bad[25][0] = float("inf")
        self.shard("a3", [10])
        folder = self.path(os.path.join("sharded", "c3"))
        os.makedirs(folder)
        os.rename(self.npy(bad[:20]), os.path.join(folder, "0.npy"))
        os.rename(self.npy(bad[20:]), os.path.join(folder, "1.npy"))
        self.fails(2, ["--dir-of-dirs", "c3", "infinite"], "compare", "--dir-of-dirs",
                   self.path("sharded"), "--chunk-rows", "6")
        with open(manifest, "w") as f:
            f.write('a "%s\n' % self.paths["a3"])
        self.fails(2, ["line 1", "unclosed"], "compare", "--manifest", manifest)
        self.fails(2, "--chunk-rows", "compare", self.paths["a3"], "--chunk-rows", "0")

    def test_small_memory_limit_rereads_files_and_agrees(self):
        whole = self.compare("--metrics", "cka,cka_debiased")
        blocks = self.compare("--metrics", "cka,cka_debiased", "--memory-limit", "0.0001")
        self.assertEqual(blocks["set_reads"], 4 + 3 + 2 + 1)
        for name in ("cka", "cka_debiased"):
            for row_a, row_b in zip(whole[name], blocks[name]):
                for x, y in zip(row_a, row_b):
                    self.assertAlmostEqual(x, y, delta=1e-12)

    def test_pictures_table_and_saved_arrays(self):
        out_dir = self.path("pictures/nested")
        doc = self.compare("--metrics", "igw,bw,cka", "--out-dir", out_dir, "--save-prefix",
                           self.path("saved_"))
        self.assertTrue(doc["pictures"])
        for picture in doc["pictures"]:
            self.assertTrue(picture.startswith(out_dir))
            root = ElementTree.parse(picture).getroot()
            self.assertTrue(root.tag.endswith("svg"))
            text = "".join(root.itertext())
            for name in self.names:
                self.assertIn(name, text)
        self.assertTrue(os.path.exists(os.path.join(out_dir, "cka.svg")))
        header, values = read_npy(self.path("saved_cka.npy"))
        self.assertEqual(header["shape"], (4, 4))
        self.assertEqual(values, [x for row in doc["cka"] for x in row])
        header, values = read_npy(self.path("saved_bw.npy"))
        self.assertTrue(math.isnan(values[1]))  # a3 (d = 3) against b2 (d = 2)
        # --table: the tables on stdout instead of the JSON; with --out the JSON goes there.
        result = self.run_gaussot("compare", *self.paths.values(), "--metrics", "cka", "--table")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("CKA", result.stdout)
        self.assertIn(" c3 ", result.stdout + " ")
        self.assertRaises(json.JSONDecodeError, json.loads, result.stdout)
        self.assertEqual(result.stderr, "", "no progress bar when stderr is not a terminal")
        out = self.path("result.json")
        result = self.run_gaussot("compare", *self.paths.values(), "--metrics", "cka", "--table",
                                  "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out) as f:
            self.assertEqual(json.load(f)["cka"], doc["cka"])

    def test_bad_input_names_the_file(self):
        short = self.npy(activations(20, 3, 9))
        self.fails(2, [short, "20 rows", "30"], "compare", self.paths["a3"], short)
        cube = self.npy([[[1.0, 2.0], [3.0, 4.0]]] * 2)
        self.fails(2, [cube, "shape (n, d)"], "compare", self.paths["a3"], cube)
        bad = [row[:] for row in self.sets["a3"]]
        bad[5][1] = float("nan")
        nan_file = self.npy(bad)
        self.fails(2, [nan_file, "NaN"], "compare", self.paths["b2"], nan_file)
        constant = self.npy([[1.0, 2.0]] * 30)
        self.fails(2, [constant, "constant features"], "compare", self.paths["b2"], constant,
                   "--metrics", "cka")
        missing = self.path("missing.npy")
        self.fails(2, missing, "compare", self.paths["a3"], missing)
        self.fails(2, ["--metrics", "'knn'"], "compare", self.paths["a3"], "--metrics", "igw,knn")
        self.fails(2, "no input", "compare")
        self.fails(2, "given twice", "compare", self.paths["a3"], "--dir", self.tmp)
        empty = self.path("empty")
        os.makedirs(empty)
        self.fails(2, ["--dir", "no .npy"], "compare", "--dir", empty)
        manifest = self.path("twice.txt")
        with open(manifest, "w") as f:
            f.write("x a3.npy\nx b2.npy\n")
        self.fails(2, ["line 2", "'x'"], "compare", "--manifest", manifest)
        blocker = self.path("file")
        open(blocker, "w").close()
        self.fails(2, "--out-dir", "compare", self.paths["a3"], "--out-dir",
                   os.path.join(blocker, "sub"))
        self.assertFalse(os.path.exists(self.path("pictures")))


if __name__ == "__main__":
    main()
