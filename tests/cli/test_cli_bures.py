#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Bures-Wasserstein commands of `gaussot` against CLI.md: bw, bw-map, bw-geodesic,
bw-barycenter and fid. Reference values, result shapes (unbatched, paired, one-versus-many, all
pairs), exit codes with one stderr line naming the option, --save-prefix and nothing written on
failure. Standard library only; the harness, .npy and matrix helpers come from test_cli.py."""
import math
import os
import random
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import (  # noqa: E402
    CommandTest, flatten, gaussot_path, main, matmul, max_abs_diff, read_npy)


# ---- small dense helpers (row-major lists of lists) --------------------------------------------
def transpose(a):
    return [list(row) for row in zip(*a)]


def rotation(angle):
    c, s = math.cos(angle), math.sin(angle)
    return [[c, -s], [s, c]]


def diagonal(values):
    return [[v if i == j else 0.0 for j in range(len(values))] for i, v in enumerate(values)]


def identity(d):
    return diagonal([1.0] * d)


def combine(*terms):
    """sum of coefficient * matrix (or vector)."""
    if isinstance(terms[0][1][0], list):
        return [[sum(c * m[i][j] for c, m in terms) for j in range(len(terms[0][1][0]))]
                for i in range(len(terms[0][1]))]
    return [sum(c * v[i] for c, v in terms) for i in range(len(terms[0][1]))]


def matvec(a, x):
    return [sum(a[i][k] * x[k] for k in range(len(x))) for i in range(len(a))]


def fit(samples):
    """Sample mean and covariance (divisor n - 1) of a list of n points."""
    n, d = len(samples), len(samples[0])
    mean = [sum(x[j] for x in samples) / n for j in range(d)]
    cov = [[sum((x[i] - mean[i]) * (x[j] - mean[j]) for x in samples) / (n - 1)
            for j in range(d)] for i in range(d)]
    return mean, cov


def relative(a, b):
    return abs(a - b) / max(1.0, abs(b))


# Planar reference of formulas-bures-igw-mmot.md §9.
S1 = matmul(matmul(rotation(-math.pi / 6), diagonal([10.0, 1.0])), transpose(rotation(-math.pi / 6)))
S1[1][0] = S1[0][1]  # exactly symmetric
S2 = [[5.5, 4.5], [4.5, 5.5]]
M1, M2 = [10.0, 10.0], [-10.0, 10.0]
PLANAR_W2_SQUARED, PLANAR_W2 = 408.520242, 20.211884
PLANAR_MAP = [[1.298243, 1.245885], [1.245885, 1.965911]]

SPD3 = [[[4.0, 1.0, 0.5], [1.0, 3.0, 0.25], [0.5, 0.25, 2.0]],
        [[2.0, -0.5, 0.0], [-0.5, 1.0, 0.1], [0.0, 0.1, 5.0]],
        [[1.0, 0.2, 0.3], [0.2, 1.5, -0.4], [0.3, -0.4, 2.5]]]
MEANS3 = [[1.0, -2.0, 0.5], [0.0, 0.0, 3.0], [-1.0, 4.0, 2.0]]


class BuresCommands(CommandTest):
    backend = "cpu"

    def planar(self):
        return self.sides(S1, S2, M1, M2)

    # ---- reference values ----
    def test_help_lists_the_commands_and_options(self):
        result = subprocess.run([gaussot_path(), "--help"], capture_output=True, text=True)
        for command in ("bw", "bw-map", "bw-geodesic", "bw-barycenter", "fid"):
            self.assertIn(command, result.stdout)
        sub = subprocess.run([gaussot_path(), "bw", "--help"], capture_output=True, text=True)
        for option in ("--a-cov", "--a-mean", "--a-samples", "--b-cov", "--b-mean", "--b-samples",
                       "--all-pairs", "--backend", "--precision", "--out", "--save-prefix"):
            self.assertIn(option, sub.stdout)

    def test_planar_reference_distance_and_map(self):
        bw = self.ok("bw", *self.planar())
        self.assertEqual(bw["precision"], "f64")
        self.assertLess(abs(bw["w2_squared"] - PLANAR_W2_SQUARED), 1e-6)
        self.assertLess(abs(bw["w2"] - PLANAR_W2), 1e-6)
        self.assertAlmostEqual(bw["w2"] ** 2, bw["w2_squared"], places=10)
        mapped = self.ok("bw-map", *self.planar())
        matrix, bias = mapped["matrix"], mapped["bias"]
        self.assertLess(max_abs_diff(matrix, PLANAR_MAP), 1e-6)
        self.assertLess(max_abs_diff(matmul(matmul(matrix, S1), matrix), S2), 1e-10)  # A S1 A = S2
        self.assertLess(max_abs_diff(bias, combine((1, M2), (-1, matvec(matrix, M1)))), 1e-10)
        # fid on given Gaussians is W2².
        fid = self.ok("fid", *self.planar())
        self.assertEqual(fid["method"], "given")
        self.assertAlmostEqual(fid["fid"], bw["w2_squared"], places=9)

    def test_default_backend_agrees_with_the_cpu(self):
        # On a machine with a CUDA device, `auto` runs every command on it.
        runs = [["bw", *self.sides(SPD3, SPD3[0], MEANS3, MEANS3[1])],
                ["bw", *self.sides(SPD3[:2], SPD3, MEANS3[:2], MEANS3), "--all-pairs"],
                ["bw-map", *self.planar()],
                ["bw-geodesic", *self.sides(SPD3, SPD3[::-1], MEANS3), "--t", "0.4"],
                ["bw-barycenter", "--cov", self.npy(SPD3), "--weights", self.npy([1.0, 2.0, 3.0])],
                ["fid", "--a-samples", self.npy(self.samples(4, 6, 10)), "--b-samples",
                 self.npy(self.samples(5, 6, 11))],
                ["fid", "--a-samples", self.npy(self.samples(9, 3, 12)), "--b-samples",
                 self.npy(self.samples(7, 3, 13))]]
        for args in runs:
            auto, cpu = self.ok(*args, backend="auto"), self.ok(*args)
            for name in list(cpu)[4:]:
                if isinstance(cpu[name], str):
                    self.assertEqual(auto[name], cpu[name])
                elif name != "iterations":
                    self.assertLess(max_abs_diff(flatten(auto[name]), flatten(cpu[name])), 1e-8,
                                    (args[0], name))

    def test_single_precision(self):
        bw = self.ok("bw", *self.planar(), "--precision", "f32")
        self.assertEqual(bw["precision"], "f32")
        self.assertLess(relative(bw["w2_squared"], PLANAR_W2_SQUARED), 1e-4)

    def test_one_dimensional_by_hand(self):
        # N(1, 2²) to N(-2, 3²): W2² = 3² + (2 - 3)² = 10; T(x) = -2 + 1.5 (x - 1).
        args = self.sides([[4.0]], [[9.0]], [1.0], [-2.0])
        bw = self.ok("bw", *args)
        self.assertAlmostEqual(bw["w2_squared"], 10.0, places=12)
        mapped = self.ok("bw-map", *args)
        self.assertAlmostEqual(mapped["matrix"][0][0], 1.5, places=12)
        self.assertAlmostEqual(mapped["bias"][0], -3.5, places=12)
        # Halfway: mean -0.5, standard deviation (2 + 3) / 2.
        half = self.ok("bw-geodesic", *args, "--t", "0.5")
        self.assertAlmostEqual(half["mean"][0], -0.5, places=12)
        self.assertAlmostEqual(half["cov"][0][0], 6.25, places=12)
        # Zero means by default: only the spread counts.
        centered = self.ok("bw", *self.sides([[4.0]], [[9.0]]))
        self.assertAlmostEqual(centered["w2_squared"], 1.0, places=12)

    # ---- result shapes ----
    def paired_values(self, a_covs, b_covs, a_means, b_means):
        return [self.ok("bw", *self.sides(a, b, ma, mb))["w2_squared"]
                for a, b, ma, mb in zip(a_covs, b_covs, a_means, b_means)]

    def test_batched_results_are_lists_of_the_paired_values(self):
        b_covs = [SPD3[1], SPD3[2], SPD3[0]]
        b_means = [MEANS3[2], MEANS3[0], MEANS3[1]]
        expected = self.paired_values(SPD3, b_covs, MEANS3, b_means)
        for value in expected:
            self.assertIsInstance(value, float)
        batch = self.ok("bw", *self.sides(SPD3, b_covs, MEANS3, b_means))
        self.assertEqual(len(batch["w2_squared"]), 3)
        self.assertLess(max_abs_diff(batch["w2_squared"], expected), 1e-12)
        self.assertLess(max_abs_diff(batch["w2"], [math.sqrt(v) for v in expected]), 1e-12)
        mapped = self.ok("bw-map", *self.sides(SPD3, b_covs, MEANS3, b_means))
        self.assertEqual((len(mapped["matrix"]), len(mapped["matrix"][0])), (3, 3))
        self.assertEqual((len(mapped["bias"]), len(mapped["bias"][0])), (3, 3))
        # A batch of one stays a batch.
        one = self.ok("bw", *self.sides(SPD3[:1], SPD3[1:2]))
        self.assertIsInstance(one["w2_squared"], list)
        self.assertEqual(len(one["w2_squared"]), 1)

    def test_one_versus_many(self):
        expected = self.paired_values([SPD3[0]] * 3, SPD3, [MEANS3[0]] * 3, MEANS3)
        many = self.ok("bw", *self.sides(SPD3[0], SPD3, MEANS3[0], MEANS3))
        self.assertLess(max_abs_diff(many["w2_squared"], expected), 1e-12)
        reverse = self.ok("bw", *self.sides(SPD3, SPD3[0], MEANS3, MEANS3[0]))
        self.assertLess(max_abs_diff(reverse["w2_squared"], expected), 1e-10)  # W2 is symmetric
        geodesic = self.ok("bw-geodesic", *self.sides(SPD3[0], SPD3, MEANS3[0], MEANS3), "--t",
                           "1")
        self.assertLess(max_abs_diff(geodesic["cov"], SPD3), 1e-10)
        self.assertLess(max_abs_diff(geodesic["mean"], MEANS3), 1e-12)

    def test_all_pairs(self):
        a_covs, a_means = SPD3[:2], MEANS3[:2]
        result = self.ok("bw", *self.sides(a_covs, SPD3, a_means, MEANS3), "--all-pairs")
        table = result["w2_squared"]
        self.assertEqual((len(table), len(table[0])), (2, 3))
        for i in range(2):
            expected = self.paired_values([a_covs[i]] * 3, SPD3, [a_means[i]] * 3, MEANS3)
            self.assertLess(max_abs_diff(table[i], expected), 1e-10)
            self.assertLess(max_abs_diff(result["w2"][i], [math.sqrt(v) for v in expected]), 1e-10)
        # An unbatched side counts as one Gaussian: still a k_a x k_b table.
        single = self.ok("bw", *self.sides(SPD3[0], SPD3, MEANS3[0], MEANS3), "--all-pairs")
        self.assertEqual((len(single["w2_squared"]), len(single["w2_squared"][0])), (1, 3))
        self.assertLess(max_abs_diff(single["w2_squared"][0], table[0]), 1e-12)

    # ---- geodesic ----
    def test_geodesic_endpoints_and_interior(self):
        start = self.ok("bw-geodesic", *self.planar(), "--t", "0")
        self.assertLess(max_abs_diff(start["cov"], S1), 1e-10)
        self.assertLess(max_abs_diff(start["mean"], M1), 1e-12)
        end = self.ok("bw-geodesic", *self.planar(), "--t", "1")
        self.assertLess(max_abs_diff(end["cov"], S2), 1e-10)
        self.assertLess(max_abs_diff(end["mean"], M2), 1e-12)
        t = 0.3
        inner = self.ok("bw-geodesic", *self.planar(), "--t", str(t))
        self.assertLess(max_abs_diff(inner["mean"], combine((1 - t, M1), (t, M2))), 1e-12)
        step = combine((1 - t, identity(2)), (t, PLANAR_MAP))  # B_t = (1 - t) I + t A
        self.assertLess(max_abs_diff(inner["cov"], matmul(matmul(step, S1), step)), 1e-5)

    # ---- barycenter ----
    def test_barycenter_of_commuting_covariances(self):
        diagonals = [[1.0, 4.0, 9.0], [4.0, 1.0, 0.25], [16.0, 9.0, 1.0]]
        covs = [diagonal(v) for v in diagonals]
        means = [[1.0, 0.0, -1.0], [3.0, 2.0, 1.0], [0.0, 4.0, 2.0]]
        rho = [0.25, 0.5, 0.25]
        result = self.ok("bw-barycenter", "--cov", self.npy(covs), "--mean", self.npy(means),
                         "--weights", self.npy([1.0, 2.0, 1.0]))
        self.assertEqual(list(result)[4:], ["mean", "cov", "iterations", "residual"])
        root = [sum(r * math.sqrt(v[j]) for r, v in zip(rho, diagonals)) for j in range(3)]
        self.assertLess(max_abs_diff(result["cov"], diagonal([x * x for x in root])), 1e-10)
        self.assertLess(max_abs_diff(result["mean"], combine(*zip(rho, means))), 1e-12)
        self.assertIsInstance(result["iterations"], int)
        self.assertGreaterEqual(result["iterations"], 0)
        self.assertLessEqual(result["residual"], 1e-12)
        # Weights are normalised: (2, 4, 2) is (1, 2, 1).
        scaled = self.ok("bw-barycenter", "--cov", self.npy(covs), "--mean", self.npy(means),
                         "--weights", self.npy([2.0, 4.0, 2.0]))
        self.assertLess(max_abs_diff(scaled["cov"], result["cov"]), 1e-12)
        # Default weights are uniform; zero means by default.
        uniform = self.ok("bw-barycenter", "--cov", self.npy(covs))
        root = [sum(math.sqrt(v[j]) for v in diagonals) / 3 for j in range(3)]
        self.assertLess(max_abs_diff(uniform["cov"], diagonal([x * x for x in root])), 1e-10)
        self.assertEqual(uniform["mean"], [0.0, 0.0, 0.0])

    def test_barycenter_of_general_covariances_is_a_fixed_point(self):
        result = self.ok("bw-barycenter", "--cov", self.npy(SPD3), "--tolerance", "1e-13")
        self.assertGreater(result["iterations"], 0)
        self.assertLessEqual(result["residual"], 1e-13)
        # Not converging within --max-iterations is a numerical failure: exit 1.
        self.fails(1, "did not converge", "bw-barycenter", "--cov", self.npy(SPD3),
                   "--max-iterations", "1", "--tolerance", "0")

    # ---- fid ----
    def samples(self, n, d, seed, shift=0.0):
        rng = random.Random(seed)
        return [[rng.gauss(shift, 1.0 + 0.5 * j) for j in range(d)] for _ in range(n)]

    def fid_against_bw(self, a, b, methods):
        """fid of two sample sets, for each --method, against bw of the Gaussians fitted here."""
        (ma, ca), (mb, cb) = fit(a), fit(b)
        expected = self.ok("bw", *self.sides(ca, cb, ma, mb))["w2_squared"]
        files = ["--a-samples", self.npy(a), "--b-samples", self.npy(b)]
        used = {}
        for method in methods:
            result = self.ok("fid", *files, "--method", method)
            self.assertLess(relative(result["fid"], expected), 1e-8, method)
            used[method] = result["method"]
        # Samples as a side of bw are the fitted Gaussian too.
        self.assertLess(relative(self.ok("bw", *files)["w2_squared"], expected), 1e-8)
        return used

    def test_fid_from_samples_equals_bw_of_the_fitted_gaussians(self):
        used = self.fid_against_bw(self.samples(40, 3, 1), self.samples(30, 3, 2, shift=0.5),
                                   ["auto", "covariances", "samples"])
        self.assertEqual(used, {"auto": "covariances", "covariances": "covariances",
                                "samples": "samples"})

    def test_fid_methods_agree_with_fewer_samples_than_dimensions(self):
        used = self.fid_against_bw(self.samples(4, 6, 3), self.samples(5, 6, 4, shift=1.0),
                                   ["auto", "covariances", "samples"])
        self.assertEqual(used["auto"], "samples")

    def test_fid_batches_and_mixed_sides(self):
        sets = [self.samples(12, 2, seed) for seed in (5, 6, 7)]
        one = self.samples(10, 2, 8, shift=2.0)
        expected = [self.ok("fid", "--a-samples", self.npy(one), "--b-samples",
                            self.npy(s))["fid"] for s in sets]
        many = self.ok("fid", "--a-samples", self.npy(one), "--b-samples", self.npy(sets))
        self.assertLess(max_abs_diff(many["fid"], expected), 1e-10)
        paired = self.ok("fid", "--a-samples", self.npy([one] * 3), "--b-samples", self.npy(sets),
                         "--method", "samples")
        self.assertLess(max_abs_diff(paired["fid"], expected), 1e-10)
        # One side given, the other fitted.
        mean, cov = fit(one)
        mixed = self.ok("fid", "--a-cov", self.npy(cov), "--a-mean", self.npy(mean), "--b-samples",
                        self.npy(sets))
        self.assertEqual(mixed["method"], "covariances")
        self.assertLess(max_abs_diff(mixed["fid"], expected), 1e-10)

    def npz(self, name, members, compression):
        """An .npz written as NumPy does (a zip of NAME.npy members), with Python's zipfile."""
        path = self.path(name)
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for member, nested in members.items():
                with open(self.npy(nested), "rb") as f:
                    archive.writestr(member + ".npy", f.read())
        return path

    def test_fid_statistics_files(self):
        if not self.ok("info").get("npz"):
            self.skipTest("this gaussot was built without libzip (gaussot info: npz false)")
        one, other = self.samples(40, 3, 11), self.samples(30, 3, 12, shift=0.7)
        a, b = self.npy(one), self.npy(other)
        expected = self.ok("fid", "--a-samples", a, "--b-samples", b)["fid"]
        mean, cov = fit(one)
        # Ours: mu and sigma of the fitted side, readable as .npy members by anyone.
        saved = self.path("a_stats.npz")
        self.assertLess(relative(self.ok("fid", "--a-samples", a, "--b-samples", b,
                                         "--save-a-stats", saved)["fid"], expected), 1e-12)
        with zipfile.ZipFile(saved) as archive:
            self.assertEqual(sorted(archive.namelist()), ["mu.npy", "sigma.npy"])
            for member, reference, shape in (("mu", mean, (3,)), ("sigma", cov, (3, 3))):
                target = self.path(member + "_out.npy")
                with open(target, "wb") as f:
                    f.write(archive.read(member + ".npy"))
                header, values = read_npy(target)
                self.assertEqual(header["shape"], shape)
                self.assertLess(max_abs_diff(values, flatten(reference)), 1e-12)
        # Theirs: stored (np.savez) and deflated (np.savez_compressed, pytorch-fid) archives.
        for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            stats = self.npz("theirs%d.npz" % compression, {"mu": mean, "sigma": cov}, compression)
            given = self.ok("fid", "--a-stats", stats, "--b-samples", b)
            self.assertEqual(given["method"], "covariances")
            self.assertLess(relative(given["fid"], expected), 1e-10)
        self.assertLess(relative(self.ok("fid", "--a-stats", saved, "--b-stats",
                                         saved)["fid"] + 1.0, 1.0), 1e-12)
        # Bad statistics files exit 2 naming the file, and write nothing.
        no_sigma = self.npz("no_sigma.npz", {"mu": mean}, zipfile.ZIP_STORED)
        self.fails(2, ["--a-stats", no_sigma, "sigma"], "fid", "--a-stats", no_sigma,
                   "--b-samples", b)
        wrong = self.npz("wrong.npz", {"mu": mean, "sigma": [[1.0, 0.0], [0.0, 1.0]]},
                         zipfile.ZIP_STORED)
        self.fails(2, ["--a-stats", wrong, "(3,)", "(2, 2)"], "fid", "--a-stats", wrong,
                   "--b-samples", b)
        self.fails(2, ["--a-stats", a, ".npz"], "fid", "--a-stats", a, "--b-samples", b)
        self.fails(2, ["--a-stats", "--a-samples"], "fid", "--a-stats", saved, "--a-samples", a,
                   "--b-samples", b)
        not_psd = self.npz("not_psd.npz", {"mu": mean, "sigma": [[1.0, 0, 0], [0, -1.0, 0],
                                                                 [0, 0, 1.0]]},
                           zipfile.ZIP_STORED)
        self.fails(2, ["--a-stats", not_psd], "fid", "--a-stats", not_psd, "--b-samples", b)
        target = self.path("never_written.npz")
        self.fails(2, ["--a-stats", not_psd], "fid", "--a-stats", not_psd, "--b-samples", b,
                   "--save-b-stats", target)
        self.assertFalse(os.path.exists(target))
        self.fails(2, ["--save-a-stats", "missing_dir"], "fid", "--a-samples", a, "--b-samples",
                   b, "--save-a-stats", self.path("missing_dir/stats.npz"))

    # ---- bad input ----
    def test_bad_sides(self):
        a, b = self.npy(S1), self.npy(S2)
        self.fails(2, "--b-cov", "bw", "--a-cov", a)
        self.fails(2, "--a-cov", "bw-map", "--b-cov", b)
        self.fails(2, ["--a-cov", "--a-samples"], "bw", "--a-cov", a, "--a-samples",
                   self.npy([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]]), "--b-cov", b)
        self.fails(2, ["--a-mean", "--a-samples"], "bw", "--a-samples",
                   self.npy([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]]), "--a-mean", self.npy(M1),
                   "--b-cov", b)
        self.fails(2, ["--b-cov", "dimension 3"], "bw", "--a-cov", a, "--b-cov", self.npy(SPD3[0]))
        self.fails(2, ["--b-samples", "dimension 3"], "fid", "--a-cov", a, "--b-samples",
                   self.npy(self.samples(5, 3, 9)))
        self.fails(2, ["--b-cov", "batch items"], "bw", "--a-cov", self.npy(SPD3[:2]), "--b-cov",
                   self.npy(SPD3))
        self.fails(2, "--a-mean", "bw", "--a-cov", self.npy(SPD3), "--a-mean", self.npy(MEANS3[:2]),
                   "--b-cov", self.npy(SPD3))
        self.fails(2, "--a-mean", "bw", "--a-cov", a, "--a-mean", self.npy([1.0, 2.0, 3.0]),
                   "--b-cov", b)
        self.fails(2, ["--a-samples", "at least 2"], "fid", "--a-samples", self.npy([[1.0, 2.0]]),
                   "--b-cov", b)
        self.fails(2, "--method", "fid", "--a-cov", a, "--b-cov", b, "--method", "samples")
        self.fails(2, "--method", "fid", "--a-cov", a, "--b-cov", b, "--method", "exact")

    def test_bad_values(self):
        a, b = self.npy(S1), self.npy(S2)
        indefinite = [S2, [[1.0, 2.0], [2.0, 1.0]]]
        self.fails(2, ["--b-cov", "batch item 1", "not positive semidefinite"], "bw", "--a-cov", a,
                   "--b-cov", self.npy(indefinite))
        self.fails(2, ["--cov", "batch item 1", "not positive semidefinite"], "bw-barycenter",
                   "--cov", self.npy(indefinite))
        asymmetric = [S2, [[1.0, 0.5], [0.0, 1.0]]]
        self.fails(2, ["--a-cov", "batch item 1 is not symmetric"], "bw-map", "--a-cov",
                   self.npy(asymmetric), "--b-cov", b)
        self.fails(2, ["--b-mean", "NaN"], "bw", "--a-cov", a, "--b-cov", b, "--b-mean",
                   self.npy([0.0, float("nan")]))
        self.fails(2, ["--a-samples", "NaN"], "fid", "--a-samples",
                   self.npy([[0.0, 1.0], [float("inf"), 1.0], [2.0, 0.0]]), "--b-cov", b)
        self.fails(2, ["--a-cov", "dtype"], "bw", "--a-cov",
                   self.npy([1, 0, 0, 1], shape=[2, 2], dtype="<i8"), "--b-cov", b)
        self.fails(2, "--b-cov", "bw", "--a-cov", a, "--b-cov", self.path("missing.npy"))
        # The map needs a's covariance positive definite (PSD is not enough).
        singular = [[1.0, 1.0], [1.0, 1.0]]
        self.fails(2, ["--a-cov", "not positive definite"], "bw-map", "--a-cov", self.npy(singular),
                   "--b-cov", b)
        self.ok("bw", "--a-cov", self.npy(singular), "--b-cov", b)  # fine for distances

    def test_bad_options(self):
        args = self.planar()
        for t in ("1.5", "-0.1", "nan", "x"):
            self.fails(2, "--t", "bw-geodesic", *args, "--t", t)
        self.fails(2, "--t", "bw-geodesic", *args)
        covs = self.npy([diagonal([1.0, 2.0]), diagonal([3.0, 1.0])])
        self.fails(2, "--weights", "bw-barycenter", "--cov", covs, "--weights", self.npy([1.0, -1.0]))
        self.fails(2, "--weights", "bw-barycenter", "--cov", covs, "--weights", self.npy([0.0, 0.0]))
        self.fails(2, "--weights", "bw-barycenter", "--cov", covs, "--weights",
                   self.npy([1.0, 1.0, 1.0]))
        self.fails(2, "--weights", "bw-barycenter", "--cov", covs, "--weights",
                   self.npy([[1.0, 1.0]]))
        self.fails(2, "--mean", "bw-barycenter", "--cov", covs, "--mean", self.npy([1.0, 1.0]))
        self.fails(2, "--cov", "bw-barycenter")
        self.fails(2, "--tolerance", "bw-barycenter", "--cov", covs, "--tolerance", "-1")
        self.fails(2, "--max-iterations", "bw-barycenter", "--cov", covs, "--max-iterations", "0")

    # ---- outputs ----
    def test_save_prefix_files_equal_the_json(self):
        prefix = self.path("run_")
        batch = self.ok("bw", *self.sides(SPD3, SPD3[0]), "--save-prefix", prefix)
        for name in ("w2_squared", "w2"):
            header, values = read_npy(prefix + name + ".npy")
            self.assertEqual(header["shape"], (3,))
            self.assertEqual(values, batch[name])  # bit for bit
        single = self.ok("bw", *self.planar(), "--save-prefix", prefix)  # scalars: 0-d arrays
        header, values = read_npy(prefix + "w2_squared.npy")
        self.assertEqual(header["shape"], ())
        self.assertEqual(values, [single["w2_squared"]])
        mapped = self.ok("bw-map", *self.planar(), "--save-prefix", prefix)
        header, values = read_npy(prefix + "matrix.npy")
        self.assertEqual(header["shape"], (2, 2))
        self.assertEqual(values, flatten(mapped["matrix"]))
        bary = self.ok("bw-barycenter", "--cov", self.npy(SPD3), "--save-prefix", prefix,
                       "--precision", "f32")
        header, values = read_npy(prefix + "cov.npy")
        self.assertEqual((header["shape"], header["descr"]), ((3, 3), "<f4"))
        self.assertEqual(values, flatten(bary["cov"]))
        fid = self.ok("fid", *self.planar(), "--save-prefix", prefix)
        self.assertEqual(read_npy(prefix + "fid.npy")[1], [fid["fid"]])
        saved = sorted(f for f in os.listdir(self.tmp) if f.startswith("run_"))
        self.assertEqual(saved, ["run_bias.npy", "run_cov.npy", "run_fid.npy", "run_matrix.npy",
                                 "run_mean.npy", "run_w2.npy", "run_w2_squared.npy"])

    def test_nothing_is_written_on_failure(self):
        out, prefix = self.path("result.json"), self.path("run_")
        singular, b, covs = self.npy([[1.0, 1.0], [1.0, 1.0]]), self.npy(S2), self.npy(SPD3)
        inputs = sorted(os.listdir(self.tmp))
        self.fails(2, "--a-cov", "bw-map", "--a-cov", singular, "--b-cov", b, "--out", out,
                   "--save-prefix", prefix)
        self.fails(1, "did not converge", "bw-barycenter", "--cov", covs, "--max-iterations", "1",
                   "--tolerance", "0", "--out", out, "--save-prefix", prefix)
        self.fails(2, "--out", "bw", "--a-cov", singular, "--b-cov", b, "--save-prefix", prefix,
                   "--out", self.path("no/such/dir/result.json"))
        self.assertEqual(sorted(os.listdir(self.tmp)), inputs)



if __name__ == "__main__":
    main()
