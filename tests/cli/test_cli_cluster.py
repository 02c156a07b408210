#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`gaussot cluster` against CLI.md. IGW k-means of sample files of two widths and many sizes:
the three groups are recovered (ARI = NMI = 1 with --labels), every centroid is the mean of its
members' zero-padded spectra and every reported squared distance is ‖λ_i − centroid‖², with the
spectra computed by `gaussot eigh` from covariances fitted here in Python; the objective is their
sum and no single reassignment lowers it. Spectra of dimension 2 are points of the plane, so the
MDS map reproduces their distances exactly. BW k-means: every centroid is `gaussot bw-barycenter`
of its members and every squared distance is `gaussot bw` to it. Pictures, determinism, and bad
input refused by name."""
import math
import os
import random
import sys
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CommandTest, main, read_npy  # noqa: E402

# Spectra (decreasing) of the three groups, in dimension 5; the users of width 3 keep the first 3.
GROUP_SPECTRA = [[9.0, 1.0, 0.5, 0.2, 0.1], [4.0, 3.5, 3.0, 0.2, 0.1], [1.5, 1.2, 1.0, 0.9, 0.8]]


def user_samples(group, d, n, rng):
    """n samples of N(0, diag(spectrum)) in dimension d, coordinates shuffled (IGW ignores it)."""
    scales = [math.sqrt(v) for v in GROUP_SPECTRA[group][:d]]
    rng.shuffle(scales)
    return [[rng.gauss(0.0, s) for s in scales] for _ in range(n)]


def fitted_covariance(x):
    n, d = len(x), len(x[0])
    mean = [sum(r[j] for r in x) / n for j in range(d)]
    return [[sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in x) / (n - 1) for j in range(d)]
            for i in range(d)]


def squared_distance(u, v):
    size = max(len(u), len(v))
    u, v = u + [0.0] * (size - len(u)), v + [0.0] * (size - len(v))
    return sum((a - b) ** 2 for a, b in zip(u, v))


class ClusterCommand(CommandTest):
    backend = "cpu"

    def setUp(self):
        super().setUp()
        rng = random.Random(7)
        self.groups, self.paths, self.samples = [], [], []
        for user in range(18):
            group, d = user % 3, 3 if user % 2 else 5
            x = user_samples(group, d, rng.randint(150, 260), rng)
            path = self.npy(x)
            named = self.path("user%02d.npy" % user)
            os.rename(path, named)
            self.groups.append(group)
            self.paths.append(named)
            self.samples.append(x)
        self.labels = self.path("styles.txt")
        with open(self.labels, "w") as f:
            f.write("".join(["formal\n", "news\n", "informal\n"] * 6))

    def spectrum(self, x):
        """The decreasing eigenvalues of the fitted covariance, from `gaussot eigh`."""
        values = self.ok("eigh", "--cov", self.npy(fitted_covariance(x)), "--values-only")
        return sorted(values["eigenvalues"], reverse=True)

    def test_igw_recovers_the_groups_and_centroids_are_padded_means(self):
        doc = self.ok("cluster", *self.paths, "--k", "3", "--labels", self.labels)
        self.assertEqual(doc["names"], ["user%02d" % u for u in range(18)])
        self.assertEqual(doc["dimensions"], [5, 3] * 9)
        self.assertEqual(doc["ari"], 1.0)
        self.assertAlmostEqual(doc["nmi"], 1.0, delta=1e-12)
        assignment = doc["assignment"]
        for i in range(18):
            for j in range(18):
                self.assertEqual(assignment[i] == assignment[j],
                                 self.groups[i] == self.groups[j])
        spectra = [self.spectrum(x) for x in self.samples]
        centroids = doc["centroid_eigenvalues"]
        self.assertEqual([len(c) for c in centroids], [5, 5, 5])
        for c, centroid in enumerate(centroids):
            members = [spectra[i] + [0.0] * (5 - len(spectra[i]))
                       for i in range(18) if assignment[i] == c]
            for j in range(5):
                expected = sum(m[j] for m in members) / len(members)
                self.assertAlmostEqual(centroid[j], expected, delta=1e-10 * max(1, expected))
        for i in range(18):
            expected = squared_distance(spectra[i], centroids[assignment[i]])
            self.assertAlmostEqual(doc["squared_distances"][i], expected,
                                   delta=1e-9 * max(1, expected))
        self.assertAlmostEqual(doc["objective"], sum(doc["squared_distances"]),
                               delta=1e-12 * doc["objective"])
        # No single move of one item to another cluster lowers the objective (the centroids of
        # both clusters recomputed).
        for i in range(18):
            for target in range(3):
                if target == assignment[i]:
                    continue
                moved = list(assignment)
                moved[i] = target
                if moved.count(assignment[i]) == 0:
                    continue
                total = 0.0
                for c in range(3):
                    members = [spectra[m] + [0.0] * (5 - len(spectra[m]))
                               for m in range(18) if moved[m] == c]
                    centre = [sum(m[j] for m in members) / len(members) for j in range(5)]
                    total += sum(squared_distance(m, centre) for m in members)
                self.assertGreaterEqual(total, doc["objective"] * (1 - 1e-12))
        self.assertTrue(doc["converged"])
        self.assertEqual(len(doc["embedding"]), 18)
        self.assertTrue(all(len(point) == 2 for point in doc["embedding"]))

    def test_the_map_of_planar_spectra_keeps_their_distances(self):
        # Covariances of dimension 2: their IGW distances are those of their sorted spectra, points
        # of the plane, which classical MDS reproduces exactly.
        rng = random.Random(3)
        covs, points = [], []
        for _ in range(9):
            a, b = sorted([rng.uniform(0.1, 5), rng.uniform(0.1, 5)], reverse=True)
            angle = rng.uniform(0, math.pi)
            c, s = math.cos(angle), math.sin(angle)
            covs.append([[a * c * c + b * s * s, (a - b) * c * s],
                         [(a - b) * c * s, a * s * s + b * c * c]])
            points.append([a, b])
        doc = self.ok("cluster", "--cov", self.npy(covs), "--k", "2")
        self.assertEqual(doc["names"], [str(i) for i in range(9)])
        self.assertAlmostEqual(doc["embedding_variance_kept"], 1.0, delta=1e-9)
        embedding = doc["embedding"]
        for i in range(9):
            for j in range(9):
                self.assertAlmostEqual(math.dist(embedding[i], embedding[j]),
                                       math.dist(points[i], points[j]), delta=1e-9)
        self.assertAlmostEqual(sum(p[0] for p in embedding), 0.0, delta=1e-9)

    def test_bw_centroids_are_barycenters_of_their_members(self):
        rng = random.Random(11)
        covs, means = [], []
        for i in range(8):
            scale = 1.0 if i < 4 else 6.0
            m = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(3)]
            covs.append([[scale * (i_ == j_) + 0.2 * sum(m[i_][t] * m[j_][t] for t in range(3))
                          for j_ in range(3)] for i_ in range(3)])
            means.append([rng.gauss(0 if i < 4 else 5, 0.3) for _ in range(3)])
        cov_path, mean_path = self.npy(covs), self.npy(means)
        doc = self.ok("cluster", "--cov", cov_path, "--mean", mean_path, "--k", "2",
                      "--metric", "bw", "--labels", self.npy([0.0] * 4 + [1.0] * 4))
        self.assertEqual(doc["metric"], "bw")
        self.assertEqual(doc["ari"], 1.0)
        assignment = doc["assignment"]
        for c in range(2):
            members = [i for i in range(8) if assignment[i] == c]
            barycenter = self.ok("bw-barycenter", "--cov", self.npy([covs[i] for i in members]),
                                 "--mean", self.npy([means[i] for i in members]))
            for r in range(3):
                self.assertAlmostEqual(doc["centroid_means"][c][r], barycenter["mean"][r],
                                       delta=1e-9)
                for s in range(3):
                    self.assertAlmostEqual(doc["centroid_covs"][c][r][s], barycenter["cov"][r][s],
                                           delta=1e-8)
        for i in range(8):
            c = assignment[i]
            w2 = self.ok("bw", "--a-cov", self.npy(covs[i]), "--a-mean", self.npy(means[i]),
                         "--b-cov", self.npy(doc["centroid_covs"][c]),
                         "--b-mean", self.npy(doc["centroid_means"][c]))
            self.assertAlmostEqual(doc["squared_distances"][i], w2["w2_squared"], delta=1e-8)

    def test_inputs_pictures_and_determinism(self):
        folder = self.path("users")
        os.mkdir(folder)
        for path in self.paths:
            os.rename(path, os.path.join(folder, os.path.basename(path)))
        pictures = self.path("pictures")
        doc = self.ok("cluster", "--dir", folder, "--k", "3", "--seed", "5", "--out-dir", pictures,
                      "--labels", self.labels, "--save-prefix", self.path("run_"))
        again = self.ok("cluster", "--dir", folder, "--k", "3", "--seed", "5")
        for field in ("assignment", "objective", "embedding", "centroid_eigenvalues"):
            self.assertEqual(doc[field], again[field], field)
        self.assertEqual(sorted(os.listdir(pictures)), ["distances.svg", "map.svg"])
        points = ElementTree.parse(os.path.join(pictures, "map.svg")).getroot()
        group = [g for g in points.iter("{http://www.w3.org/2000/svg}g")
                 if g.get("class") == "points"][0]
        self.assertEqual(len(list(group)), 18)
        ElementTree.parse(os.path.join(pictures, "distances.svg"))
        embedding = read_npy(self.path("run_embedding.npy"))
        self.assertEqual(embedding[0]["shape"], (18, 2))
        manifest = self.path("users.txt")
        with open(manifest, "w") as f:
            f.write("".join("u%d users/user%02d.npy\n" % (u, u) for u in range(18)))
        by_manifest = self.ok("cluster", "--manifest", manifest, "--k", "3", "--seed", "5")
        self.assertEqual(by_manifest["assignment"], doc["assignment"])
        self.assertEqual(by_manifest["names"], ["u%d" % u for u in range(18)])

    def test_bad_input_is_refused_by_name(self):
        files = self.paths[:4]
        self.fails(2, "--k", "cluster", *files, "--k", "0")
        self.fails(2, "--k", "cluster", *files, "--k", "5")
        self.fails(2, ["--labels", "3 labels for 4 items"], "cluster", *files, "--k", "2",
                   "--labels", self.npy([0.0, 1.0, 2.0]))
        self.fails(2, ["--labels", "integers"], "cluster", *files, "--k", "2",
                   "--labels", self.npy([0.0, 1.5, 2.0, 1.0]))
        self.fails(2, [self.paths[1], "dimension 3"], "cluster", *files, "--k", "2",
                   "--metric", "bw")
        self.fails(2, "--mean", "cluster", "--cov", self.npy([[[1.0]], [[2.0]]]),
                   "--mean", self.npy([[0.0], [1.0]]), "--k", "1")
        self.fails(2, "inputs given twice", "cluster", *files, "--cov",
                   self.npy([[[1.0]], [[2.0]]]), "--k", "1")
        self.fails(2, "no input", "cluster", "--k", "1")
        self.fails(2, "--n-init", "cluster", *files, "--k", "2", "--n-init", "0")
        self.fails(2, "--metric", "cluster", *files, "--k", "2", "--metric", "w2")


if __name__ == "__main__":
    main()
