#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot demo` against CLI.md: it runs with no arguments (exit 0) and prints a readable report
that names its pictures' folder (default ./gaussot-demo); the pictures are well-formed SVG
heatmaps with one cell per pair, hatched grey cells exactly where BW is undefined; --json has the
leading fields, k x k matrices that are symmetric, CKA 1 on the diagonal, BW null exactly where
the widths differ, and the barycenter and FID fields; the output is the same on every run apart
from the timings; a bad --out-dir exits 2 with one line naming it, and a failed run leaves
nothing behind. Standard library only; the harness comes from test_cli.py. The demo runs a few
times (under a second each)."""
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402
from test_cli import CommandTest, main  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"
METRICS = ("igw", "igw_lower_bound", "igw_upper_bound", "bw", "cka", "cka_debiased")
PICTURES = ("igw.svg", "igw_lower.svg", "igw_upper.svg", "bw.svg", "cka.svg", "cka_debiased.svg",
            "cluster_map.svg")


def without_timings(text):
    return "\n".join(line for line in text.splitlines() if not line.startswith("Time:"))


class DemoCommand(CommandTest):
    backend = "cpu"

    @classmethod
    def setUpClass(cls):
        """One text run from a fresh folder (default --out-dir) and one --json run, shared."""
        cls.shared = tempfile.TemporaryDirectory()
        cls.cwd = cls.shared.name
        cls.text = subprocess.run([test_cli.gaussot_path(), "demo", "--backend", "cpu"],
                                  cwd=cls.cwd, capture_output=True, text=True, timeout=300)
        cls.json_dir = os.path.join(cls.cwd, "json-pictures")
        cls.json_run = subprocess.run(
            [test_cli.gaussot_path(), "demo", "--json", "--out-dir", cls.json_dir, "--backend",
             "cpu"], capture_output=True, text=True, timeout=300)

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def document(self):
        self.assertEqual(self.json_run.returncode, 0, self.json_run.stderr)
        return json.loads(self.json_run.stdout)

    def svg(self, name, folder=None):
        return ElementTree.parse(os.path.join(folder or self.json_dir, name)).getroot()

    # ---- the readable report ----
    def test_report_names_the_data_results_and_default_folder(self):
        self.assertEqual(self.text.returncode, 0, self.text.stderr)
        self.assertEqual(self.text.stderr, "")
        out = self.text.stdout
        for needle in ("2000 inputs", "A'", "Nearest layer", "linear CKA", "IGW distance",
                       "W2 barycenter", "FID", "Time:", "gaussot-demo/", "cka.svg",
                       "Heterogeneous clustering", "ARI 1, NMI 1", "cluster_map.svg"):
            self.assertIn(needle, out)
        folder = os.path.join(self.cwd, "gaussot-demo")
        self.assertEqual(sorted(os.listdir(folder)), sorted(PICTURES))
        for name in PICTURES:
            self.assertTrue(self.svg(name, folder).tag.endswith("svg"))

    def test_same_output_on_every_run_and_out_file(self):
        # A second run into another folder, the report written with --out: identical apart from
        # the timings and the folder's name.
        report = self.path("report.txt")
        again = self.run_gaussot("demo", "--out-dir", self.path("pictures"), "--out", report)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, "")
        with open(report) as f:
            text = f.read().replace(self.path("pictures") + "/", "gaussot-demo/")
        self.assertEqual(without_timings(text), without_timings(self.text.stdout))

    # ---- --json ----
    def test_json_fields_and_shapes(self):
        doc = self.document()
        self.assertEqual(list(doc)[:4], ["command", "backend", "precision", "time_ms"])
        self.assertEqual((doc["command"], doc["backend"], doc["precision"]), ("demo", "cpu", "f64"))
        self.assertGreater(doc["time_ms"], 0)
        names, dims = doc["names"], doc["dimensions"]
        k = len(names)
        self.assertEqual(k, 12)
        self.assertEqual(len(dims), k)
        self.assertEqual(doc["samples"], doc["data"]["samples"])
        self.assertEqual(sum(len(net["widths"]) for net in doc["data"]["networks"]), k)
        for metric in METRICS:
            matrix = doc[metric]
            self.assertEqual(len(matrix), k, metric)
            self.assertTrue(all(len(row) == k for row in matrix), metric)
        self.assertEqual(doc["out_dir"], self.json_dir)
        self.assertEqual(sorted(os.path.basename(p) for p in doc["pictures"]), sorted(PICTURES))
        self.assertTrue(all(os.path.isfile(p) for p in doc["pictures"]))

    def test_json_values(self):
        doc = self.document()
        names, dims = doc["names"], doc["dimensions"]
        k = len(names)
        for metric in METRICS:
            m = doc[metric]
            for i in range(k):
                for j in range(k):
                    if m[i][j] is None:
                        self.assertIsNone(m[j][i])
                    else:
                        self.assertAlmostEqual(m[i][j], m[j][i], delta=1e-12 * (1 + abs(m[i][j])),
                                               msg="%s[%d][%d]" % (metric, i, j))
        for i in range(k):
            self.assertAlmostEqual(doc["cka"][i][i], 1.0, delta=1e-12)
            self.assertAlmostEqual(doc["cka_debiased"][i][i], 1.0, delta=1e-12)
            self.assertEqual(doc["igw"][i][i], 0.0)
            for j in range(k):
                # BW is defined exactly between sets of the same width.
                self.assertEqual(doc["bw"][i][j] is None, dims[i] != dims[j], (i, j))
                value, lower, upper = (doc[m][i][j] for m in METRICS[:3])
                self.assertLessEqual(lower, value + 1e-9 * (1 + value))
                self.assertLessEqual(value, upper + 1e-9 * (1 + value))
        # C's first layer is A's first layer: identical representations.
        a1, c1 = names.index("A.1"), names.index("C.1")
        self.assertAlmostEqual(doc["cka"][a1][c1], 1.0, delta=1e-12)
        self.assertAlmostEqual(doc["igw"][a1][c1], 0.0, delta=1e-6)

    def test_clustering_recovers_the_styles_across_widths(self):
        clustering = self.document()["clustering"]
        users = clustering["users"]
        self.assertEqual(len(users), 36)
        self.assertEqual(sorted({u["width"] for u in users}), [16, 32])
        assignment = clustering["assignment"]
        # Same cluster exactly when same style, whatever the widths: ARI = NMI = 1.
        for i, a in enumerate(users):
            for j, b in enumerate(users):
                self.assertEqual(assignment[i] == assignment[j], a["style"] == b["style"])
        self.assertEqual(clustering["ari"], 1.0)
        self.assertAlmostEqual(clustering["nmi"], 1.0, delta=1e-12)
        self.assertEqual(len(clustering["embedding"]), 36)
        self.assertTrue(0 < clustering["embedding_variance_kept"] <= 1)
        # The map draws one marker per user.
        points = [g for g in self.svg("cluster_map.svg").iter(SVG + "g")
                  if g.get("class") == "points"][0]
        self.assertEqual(len(list(points)), 36)

    def test_barycenter_and_fid(self):
        doc = self.document()
        names, dims = doc["names"], doc["dimensions"]
        barycenter = doc["barycenter"]
        self.assertEqual(barycenter["layers"],
                         [n for n, d in zip(names, dims) if d == barycenter["dimension"]])
        self.assertGreater(barycenter["iterations"], 0)
        self.assertLess(barycenter["residual"], 1e-10)
        self.assertEqual(len(barycenter["w2_to_layers"]), len(barycenter["layers"]))
        self.assertTrue(all(w > 0 for w in barycenter["w2_to_layers"]))
        fid = doc["fid"]
        a, b = (names.index(layer) for layer in fid["layers"])
        # The FID is W2² of the fitted Gaussians: the square of the BW entry.
        self.assertAlmostEqual(fid["fid"], doc["bw"][a][b] ** 2, delta=1e-8 * fid["fid"])

    def test_f32(self):
        doc = self.ok("demo", "--json", "--precision", "f32", "--out-dir", self.path("f32"))
        self.assertEqual(doc["precision"], "f32")
        for i in range(len(doc["names"])):
            self.assertAlmostEqual(doc["cka"][i][i], 1.0, delta=1e-5)
        f64 = self.document()
        self.assertAlmostEqual(doc["fid"]["fid"], f64["fid"]["fid"], delta=1e-3 * f64["fid"]["fid"])

    # ---- pictures ----
    def test_heatmaps_have_a_cell_per_pair_and_grey_undefined_cells(self):
        doc = self.document()
        dims = doc["dimensions"]
        k = len(dims)
        root = self.svg("bw.svg")
        cells = root.find(SVG + "g[@class='cells']").findall(SVG + "rect")
        self.assertEqual(len(cells), k * k)
        undefined = [c for c in cells if c.get("class") == "nan"]
        self.assertEqual(len(undefined), sum(a != b for a in dims for b in dims))
        patterns = {p.get("id"): p for p in root.iter(SVG + "pattern")}
        for cell in cells:
            fill = cell.get("fill")
            if cell.get("class") == "nan":
                # Drawn with a pattern on a grey background.
                pattern = patterns[re.fullmatch(r"url\(#(.+)\)", fill).group(1)]
                background = pattern.find(SVG + "rect").get("fill")
                r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
                self.assertTrue(r == g == b and 128 <= r < 255, background)
            else:
                self.assertRegex(fill, r"^#[0-9a-f]{6}$")
        # Labels on both axes, the apostrophe of A' escaped correctly (the file parsed).
        labels = [t.text for t in root.find(SVG + "g[@class='labels']").iter(SVG + "text")]
        self.assertEqual(labels.count("A'.1"), 2)
        # CKA: no undefined cell, and the brightest (most similar) colour on the diagonal.
        cka = self.svg("cka.svg").find(SVG + "g[@class='cells']").findall(SVG + "rect")
        self.assertFalse(any(c.get("class") == "nan" for c in cka))
        self.assertEqual(cka[0].get("fill"), "#fde725")

    # ---- errors ----
    def test_bad_out_dir(self):
        regular = self.path("file.txt")
        with open(regular, "w") as f:
            f.write("not a folder\n")
        for folder in (regular, os.path.join(regular, "pictures")):
            line = self.fails(2, ["--out-dir", "not a folder"], "demo", "--out-dir", folder)
            self.assertIn(regular, line)
        self.fails(2, "--out-dir", "demo", "--out-dir", "")
        # A failure after the pictures were written (--out cannot be written) removes them and
        # the folder made for them.
        for mode in ([], ["--json"]):
            self.fails(2, "--out: ", "demo", *mode, "--out-dir", self.path("pictures"), "--out",
                       self.path("no/such/report.txt"))
        self.assertEqual(os.listdir(self.tmp), ["file.txt"])

    def test_help(self):
        result = self.run_gaussot("demo", "--help")
        self.assertEqual(result.returncode, 0)
        for option in ("--out-dir", "--json", "--backend", "--precision", "--out"):
            self.assertIn(option, result.stdout)


if __name__ == "__main__":
    main()
