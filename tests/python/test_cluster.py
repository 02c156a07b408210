"""Clustering bindings (cluster, mds, adjusted_rand_index, normalized_mutual_info) against NumPy
and scikit-learn: IGW k-means is Euclidean k-means on zero-padded spectra, W2 centroids are
barycenters, MDS is classical MDS, the scores are scikit-learn's."""

import numpy as np
import pytest

import gaussot
import reference as ref

INFO = gaussot.info()
HAS_DEVICE = INFO["cuda_compiled"] and bool(INFO["cuda_devices"])
needs_device = pytest.mark.skipif(
    not HAS_DEVICE,
    reason=f"needs a CUDA device and gaussot built with CUDA (backends: {INFO['backends']}, "
           f"devices: {INFO['cuda_devices']})")
SKLEARN = "scikit-learn is not installed: the comparison with its k-means and scores needs it " \
          "(pip install scikit-learn)"


# ---- helpers ------------------------------------------------------------------------------------

def padded_spectra(covs):
    """The decreasing eigenvalues of each covariance (NumPy's eigvalsh), zero-padded to the
    largest dimension: the points IGW k-means clusters."""
    depth = max(c.shape[-1] for c in covs)
    out = np.zeros((len(covs), depth))
    for i, c in enumerate(covs):
        w = np.linalg.eigvalsh(np.asarray(c, np.float64))[::-1]
        out[i, : len(w)] = np.maximum(w, 0.0)
    return out


def inertia(points, assignment):
    """Σ_i ‖x_i − mean of its cluster‖²."""
    total = 0.0
    for c in np.unique(assignment):
        members = points[assignment == c]
        total += np.sum((members - members.mean(axis=0)) ** 2)
    return total


def heterogeneous_covariances(rng, n, dims=(3, 5, 8), scale_spread=1.0):
    """n random covariances of mixed dimensions with varied scales (no planted clusters)."""
    covs = []
    for i in range(n):
        d = dims[i % len(dims)]
        covs.append(ref.random_spd(rng, d, floor=0.05) * np.exp(scale_spread * rng.standard_normal()))
    return covs


def group_spectrum(group, d):
    """The decreasing spectrum of group `group` (0, 1, 2), truncated to dimension d."""
    top, decay = [(4.0, 0.6), (2.0, 0.8), (1.0, 0.9)][group]
    return top * decay ** np.arange(d)


def heterogeneous_users(rng, groups=3, users=40, n=200, dims=(12, 24)):
    """§7.3-style users: each draws n samples from N(0, Q diag(spectrum of its group) Qᵀ) with a
    random rotation Q, in dimension 12 or 24 alternately. Returns (sample sets, labels)."""
    sets, labels = [], []
    for g in range(groups):
        for u in range(users):
            d = dims[u % len(dims)]
            q = ref.random_orthogonal(rng, d)
            root = q * np.sqrt(group_spectrum(g, d))
            sets.append(rng.standard_normal((n, d)) @ root.T)
            labels.append(g)
    order = rng.permutation(len(sets))
    return [sets[i] for i in order], np.array(labels)[order]


def w2_barycenter_numpy(covs, iterations=500):
    """The uniform W2 barycenter covariance by the fixed point B ← B^-½ (Σ (1/n)(B^½ S_i B^½)^½)²
    B^-½, in NumPy."""
    b = np.mean(covs, axis=0)
    for _ in range(iterations):
        root = ref.sqrtm(b)
        inv_root = ref.inv_sqrtm(b)
        t = np.mean([ref.sqrtm(root @ s @ root) for s in covs], axis=0)
        new = inv_root @ t @ t @ inv_root
        new = (new + new.T) / 2
        if np.linalg.norm(new - b) <= 1e-15 * np.linalg.norm(b):
            return new
        b = new
    return b


def classical_mds_numpy(distances, dim):
    """Classical MDS in NumPy: B = −½ J D² J, its top eigenpairs (negative eigenvalues as 0)."""
    n = distances.shape[0]
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (distances ** 2) @ j
    w, v = np.linalg.eigh(b)
    w, v = w[::-1], v[:, ::-1]
    kept = np.maximum(w[:dim], 0.0)
    return v[:, :dim] * np.sqrt(kept), w


def gram(x):
    return x @ x.T


# ---- IGW k-means is k-means on zero-padded spectra ----------------------------------------------

def test_igw_objective_is_the_inertia_of_the_padded_spectra(rng):
    covs = heterogeneous_covariances(rng, 45)
    out = gaussot.cluster(covs, 4, seed=3)
    points = padded_spectra(covs)
    assignment = out["assignment"]
    assert assignment.dtype == np.int64 and assignment.shape == (45,)
    assert set(assignment.tolist()) == {0, 1, 2, 3}
    np.testing.assert_allclose(out["objective"], inertia(points, assignment), rtol=1e-12)
    # Each item's IGW² to its centroid, and the centroids: the clusters' mean padded spectra.
    centroids = np.array([points[assignment == c].mean(axis=0) for c in range(4)])
    np.testing.assert_allclose(out["centroid_eigenvalues"], centroids, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["squared_distances"],
                               np.sum((points - centroids[assignment]) ** 2, axis=1),
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(out["squared_distances"].sum(), out["objective"], rtol=1e-12)
    assert out["converged"] and out["iterations"] >= 1
    assert out["metric"] == "igw" and out["dimensions"] == [c.shape[0] for c in covs]
    # Converged: every item is at a nearest centroid.
    to_all = np.sum((points[:, None, :] - centroids[None]) ** 2, axis=2)
    assert np.all(to_all[np.arange(45), assignment] <= to_all.min(axis=1) * (1 + 1e-12) + 1e-15)


def test_igw_objective_equals_sklearn_inertia_of_the_same_assignment(rng):
    KMeans = pytest.importorskip("sklearn.cluster", reason=SKLEARN).KMeans
    covs = heterogeneous_covariances(rng, 40)
    out = gaussot.cluster(covs, 3)
    points = padded_spectra(covs)
    # scikit-learn's Lloyd started at our centroids stays there (a fixed point), with our
    # assignment, and its inertia is our objective.
    km = KMeans(n_clusters=3, init=out["centroid_eigenvalues"], n_init=1, tol=0).fit(points)
    np.testing.assert_array_equal(km.labels_, out["assignment"])
    np.testing.assert_allclose(km.inertia_, out["objective"], rtol=1e-12)
    np.testing.assert_allclose(km.cluster_centers_, out["centroid_eigenvalues"], rtol=1e-12,
                               atol=1e-14)


def compare_with_sklearn(n, dims, clusters, n_init, seeds=20):
    """Our best-of-n_init objective over scikit-learn's KMeans inertia (same K, same n_init) on
    the padded spectra of random heterogeneous sets (no planted clusters), one per seed."""
    KMeans = pytest.importorskip("sklearn.cluster", reason=SKLEARN).KMeans
    threadpoolctl = pytest.importorskip("threadpoolctl", reason=SKLEARN)
    ratios = []
    # One BLAS thread: scikit-learn's small products are 20x slower threaded on busy cores.
    with threadpoolctl.threadpool_limits(1):
        for seed in range(seeds):
            r = np.random.default_rng(1000 + seed)
            covs = heterogeneous_covariances(r, n, dims=dims, scale_spread=0.6)
            points = padded_spectra(covs)
            ours = gaussot.cluster(covs, clusters, n_init=n_init, seed=seed)["objective"]
            theirs = KMeans(n_clusters=clusters, n_init=n_init, random_state=seed).fit(points)
            ratios.append(ours / theirs.inertia_)
    ratios = np.array(ratios)
    print(f"\nIGW k-means objective / sklearn KMeans inertia, n={n}, K={clusters}, "
          f"n_init={n_init}, {seeds} seeds:",
          np.array2string(ratios, precision=6, max_line_width=200))
    print(f"  not worse (<= 1 + 1e-9): {np.mean(ratios <= 1 + 1e-9):.0%}, "
          f"better (< 1 - 1e-9): {np.mean(ratios < 1 - 1e-9):.0%}, worst {ratios.max():.6f}, "
          f"geometric mean {np.exp(np.mean(np.log(ratios))):.6f}")
    return ratios


def test_igw_kmeans_finds_the_optimum_sklearn_finds():
    # Small sets and many restarts: both find the best partition (observed: equal in 20 of 20
    # seeds).
    ratios = compare_with_sklearn(40, (2, 4, 6), 4, n_init=50)
    assert np.mean(ratios <= 1 + 1e-9) >= 0.9
    assert ratios.max() <= 1.01


def test_igw_kmeans_is_as_good_as_sklearn_kmeans():
    # Larger sets, the default n_init: both end in local minima of a landscape with many, and
    # either may be the better one; ours must not be worse systematically (observed: not worse
    # in 16 of 20 seeds, better in 5, worst ratio 1.0196, geometric mean 0.9993).
    ratios = compare_with_sklearn(60, (2, 4, 6, 9), 5, n_init=20)
    assert np.mean(ratios <= 1 + 1e-9) >= 0.6
    assert np.exp(np.mean(np.log(ratios))) <= 1.005
    assert ratios.max() <= 1.05


def test_heterogeneous_users_are_recovered_exactly(rng):
    sets, labels = heterogeneous_users(rng)
    assert {s.shape[1] for s in sets} == {12, 24}
    out = gaussot.cluster(sets, 3, inputs_are="samples", labels=labels)
    assert out["ari"] == 1.0 and out["nmi"] == 1.0
    assert out["centroid_eigenvalues"].shape == (3, 24)
    assert sorted(set(out["dimensions"])) == [12, 24]
    # The fitted spectra are those of NumPy's covariances (divisor n − 1, means dropped).
    covs = [np.cov(s.T) for s in sets]
    np.testing.assert_allclose(out["objective"], inertia(padded_spectra(covs), out["assignment"]),
                               rtol=1e-10)
    # The map separates the groups: every point is nearer its group's centre than any other's.
    e = out["embedding"]
    centres = np.array([e[labels == g].mean(axis=0) for g in range(3)])
    nearest = np.argmin(np.sum((e[:, None] - centres[None]) ** 2, axis=2), axis=1)
    np.testing.assert_array_equal(nearest, labels)


def test_igw_input_forms_agree(rng):
    covs = ref.random_spd(rng, 4, 12)
    base = gaussot.cluster(covs, 3, seed=5)
    as_list = gaussot.cluster(list(covs), 3, seed=5)
    groups = gaussot.cluster([covs[:5], covs[5:]], 3, seed=5)
    spectra = gaussot.cluster([np.linalg.eigvalsh(c)[::-1].copy() for c in covs], 3, seed=5,
                              inputs_are="spectra")
    spectra_array = gaussot.cluster(padded_spectra(covs), 3, seed=5, inputs_are="spectra")
    for other in (as_list, groups, spectra, spectra_array):
        np.testing.assert_array_equal(other["assignment"], base["assignment"])
        np.testing.assert_allclose(other["objective"], base["objective"], rtol=1e-12)
        np.testing.assert_allclose(other["embedding"], base["embedding"], rtol=1e-8, atol=1e-10)
    # One (k, n, d) array of sample sets is the list of its sets.
    samples = rng.standard_normal((6, 30, 3)) * np.array([1.0, 2.0, 0.5])
    one = gaussot.cluster(samples, 2, inputs_are="samples")
    listed = gaussot.cluster(list(samples), 2, inputs_are="samples")
    np.testing.assert_array_equal(one["assignment"], listed["assignment"])
    np.testing.assert_allclose(one["objective"], listed["objective"], rtol=1e-12)


def test_igw_distances_and_embedding(rng):
    covs = heterogeneous_covariances(rng, 10)
    out = gaussot.cluster(covs, 2)
    expected = np.array([[ref.igw_centered(a, b) for b in covs] for a in covs])
    np.testing.assert_allclose(out["distances"] ** 2, expected, rtol=1e-9,
                               atol=1e-12 * expected.max())
    assert np.all(np.diag(out["distances"]) == 0)
    np.testing.assert_array_equal(out["distances"], out["distances"].T)
    coordinates, report = gaussot.mds(out["distances"])
    np.testing.assert_array_equal(out["embedding"], coordinates)
    assert out["embedding_variance_kept"] == report["variance_kept"]


def test_seed_and_n_init(rng):
    covs = heterogeneous_covariances(rng, 30)
    a = gaussot.cluster(covs, 4, seed=7)
    b = gaussot.cluster(covs, 4, seed=7)
    np.testing.assert_array_equal(a["assignment"], b["assignment"])
    assert a["objective"] == b["objective"]
    single = [gaussot.cluster(covs, 4, n_init=1, seed=s)["objective"] for s in range(10)]
    best = gaussot.cluster(covs, 4, n_init=10, seed=0)["objective"]
    # Run r of n_init runs is seeded as run 0 of seed + r·0x9E3779B97F4A7C15: not the same
    # seeds as above, but the best of 10 is no worse than the worst single run.
    assert best <= max(single) * (1 + 1e-12)
    # max_iterations=0: the seeding's assignment, not converged unless it is stable.
    zero = gaussot.cluster(covs, 4, max_iterations=0)
    assert zero["iterations"] == 0 and not zero["converged"]
    # k = n: every item its own cluster, objective 0; k = 1: the total inertia.
    alone = gaussot.cluster(covs, 30)
    assert alone["objective"] == 0 and sorted(alone["assignment"]) == list(range(30))
    one = gaussot.cluster(covs, 1)
    np.testing.assert_allclose(one["objective"], inertia(padded_spectra(covs), np.zeros(30)),
                               rtol=1e-12)


def test_float32(rng):
    sets, labels = heterogeneous_users(rng, users=10)
    out64 = gaussot.cluster(sets, 3, inputs_are="samples", labels=labels)
    out32 = gaussot.cluster([s.astype(np.float32) for s in sets], 3, inputs_are="samples",
                            labels=labels)
    np.testing.assert_array_equal(out32["assignment"], out64["assignment"])
    for key in ("squared_distances", "distances", "embedding", "centroid_eigenvalues"):
        assert out32[key].dtype == np.float32, key
        assert out64[key].dtype == np.float64, key
    assert isinstance(out32["objective"], float)
    np.testing.assert_allclose(out32["objective"], out64["objective"], rtol=1e-4)
    np.testing.assert_allclose(out32["embedding"], out64["embedding"], rtol=1e-3,
                               atol=1e-4 * np.abs(out64["embedding"]).max())


# ---- W2 k-means ---------------------------------------------------------------------------------

def bw_clusters(rng, per_cluster=5, d=3):
    """Three well-separated groups of Gaussians in R^d (means and covariances)."""
    covs, means = [], []
    for g in range(3):
        base = ref.random_spd(rng, d) * (1.0 + 2.0 * g)
        for _ in range(per_cluster):
            p = 0.1 * rng.standard_normal((d, d))
            covs.append(base + p @ p.T)
            means.append(4.0 * g * np.ones(d) + 0.2 * rng.standard_normal(d))
    order = rng.permutation(len(covs))
    return np.array(covs)[order], np.array(means)[order]


def test_bw_centroids_are_barycenters_and_no_move_helps(rng):
    covs, means = bw_clusters(rng)
    n = len(covs)
    out = gaussot.cluster(covs, 3, metric="bw", means=means)
    assert out["metric"] == "bw" and out["converged"]
    a = out["assignment"]
    c_means, c_covs = out["centroid_means"], out["centroid_covs"]
    assert c_means.shape == (3, 3) and c_covs.shape == (3, 3, 3)
    for c in range(3):
        members = covs[a == c]
        b = c_covs[c]
        # The fixed point B = Σ (1/n)(B^½ S_i B^½)^½ and the mean of the means.
        root = ref.sqrtm(b)
        fixed = np.mean([ref.sqrtm(root @ s @ root) for s in members], axis=0)
        np.testing.assert_allclose(fixed, b, rtol=1e-9, atol=1e-10 * np.abs(b).max())
        np.testing.assert_allclose(c_means[c], means[a == c].mean(axis=0), rtol=1e-12,
                                   atol=1e-14)
    # Each item's W2² to its centroid, and the objective.
    expected = np.array([ref.w2_squared(covs[i], c_covs[a[i]], means[i], c_means[a[i]])
                         for i in range(n)])
    np.testing.assert_allclose(out["squared_distances"], expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["objective"], expected.sum(), rtol=1e-9)
    # Converged: each item is at a nearest centroid ...
    to_all = np.array([[ref.w2_squared(covs[i], c_covs[c], means[i], c_means[c])
                        for c in range(3)] for i in range(n)])
    assert np.all(to_all[np.arange(n), a] <= to_all.min(axis=1) + 1e-10)

    # ... and (these groups being well separated) no single reassignment, with both clusters'
    # barycenters recomputed in NumPy, lowers the objective.
    def objective(assignment):
        total = 0.0
        for c in np.unique(assignment):
            m = assignment == c
            b = w2_barycenter_numpy(covs[m]) if m.sum() > 1 else covs[m][0]
            mu = means[m].mean(axis=0)
            total += sum(ref.w2_squared(s, b, x, mu) for s, x in zip(covs[m], means[m]))
        return total

    np.testing.assert_allclose(objective(a), out["objective"], rtol=1e-9)
    for i in range(n):
        for c in range(3):
            if c == a[i] or np.sum(a == a[i]) == 1:
                continue
            moved = a.copy()
            moved[i] = c
            assert objective(moved) >= out["objective"] * (1 - 1e-9), (i, c)


def test_bw_input_forms(rng):
    covs, means = bw_clusters(rng, per_cluster=4)
    base = gaussot.cluster(covs, 3, metric="bw", means=means, labels=np.repeat([0, 1, 2], 4))
    listed = gaussot.cluster(list(covs), 3, metric="bw", means=means)
    grouped = gaussot.cluster([covs[:5], covs[5:]], 3, metric="bw", means=means)
    for other in (listed, grouped):
        np.testing.assert_array_equal(other["assignment"], base["assignment"])
        np.testing.assert_allclose(other["objective"], base["objective"], rtol=1e-12)
        np.testing.assert_allclose(other["centroid_covs"], base["centroid_covs"], rtol=1e-12)
    # W2 distances for the map, and centered inputs give zero centroid means.
    expected = np.array([[ref.w2_squared(a, b, ma, mb) for b, mb in zip(covs, means)]
                         for a, ma in zip(covs, means)])
    np.testing.assert_allclose(base["distances"] ** 2, expected, rtol=1e-8, atol=1e-10)
    centered = gaussot.cluster(covs, 3, metric="bw")
    assert np.all(centered["centroid_means"] == 0)
    # Sample sets: the Gaussians of their sample moments.
    sets = [rng.standard_normal((25, 3)) @ ref.sqrtm(c) + m for c, m in zip(covs, means)]
    fitted = gaussot.cluster(sets, 3, metric="bw", inputs_are="samples")
    moments = gaussot.cluster(np.array([np.cov(s.T) for s in sets]), 3, metric="bw",
                              means=np.array([s.mean(axis=0) for s in sets]))
    np.testing.assert_array_equal(fitted["assignment"], moments["assignment"])
    np.testing.assert_allclose(fitted["objective"], moments["objective"], rtol=1e-9)
    f32 = gaussot.cluster(covs.astype(np.float32), 3, metric="bw", means=means.astype(np.float32))
    assert f32["centroid_covs"].dtype == np.float32 and f32["embedding"].dtype == np.float32
    np.testing.assert_array_equal(f32["assignment"], base["assignment"])


# ---- classical MDS ------------------------------------------------------------------------------

def pairwise(points):
    return np.sqrt(np.sum((points[:, None] - points[None]) ** 2, axis=2))


def test_mds_is_exact_for_euclidean_points(rng, dtype):
    points = rng.standard_normal((12, 2)) * [3.0, 1.0]
    d = pairwise(points)
    coordinates, report = gaussot.mds(d.astype(dtype))
    assert coordinates.shape == (12, 2) and coordinates.dtype == dtype
    assert report["eigenvalues"].shape == (12,) and report["eigenvalues"].dtype == dtype
    tol = 10 * ref.rtol(dtype)
    np.testing.assert_allclose(pairwise(coordinates.astype(np.float64)), d, rtol=tol,
                               atol=tol * d.max())
    assert report["variance_kept"] == pytest.approx(1.0, abs=tol)
    assert np.all(np.abs(report["eigenvalues"][2:]) <= tol * report["eigenvalues"][0])
    # Centred, each axis' entry of largest magnitude positive.
    np.testing.assert_allclose(coordinates.mean(axis=0), 0, atol=tol * d.max())
    for axis in coordinates.T:
        assert axis[np.argmax(np.abs(axis))] > 0
    # Points of R^3 in 3 dimensions; more dimensions than points give zero axes.
    cube = rng.standard_normal((5, 3))
    c3, r3 = gaussot.mds(pairwise(cube), 3)
    np.testing.assert_allclose(pairwise(c3), pairwise(cube), rtol=1e-9, atol=1e-12)
    c7, _ = gaussot.mds(pairwise(cube), 7)
    assert c7.shape == (5, 7) and np.all(c7[:, 4:] == 0)


def test_mds_of_non_euclidean_distances_is_classical_mds(rng):
    points = rng.standard_normal((15, 4))
    d = np.sum(np.abs(points[:, None] - points[None]), axis=2)  # L1: not Euclidean
    for dim in (1, 2, 3):
        coordinates, report = gaussot.mds(d, dim)
        expected, w = classical_mds_numpy(d, dim)
        assert w.min() < -1e-6 * w.max()  # negative eigenvalues: non-Euclidean
        np.testing.assert_allclose(gram(coordinates), gram(expected), rtol=1e-9,
                                   atol=1e-10 * np.abs(gram(expected)).max())
        np.testing.assert_allclose(report["eigenvalues"], w, rtol=1e-9, atol=1e-10 * w.max())
        positive = w[w > 1e-10 * w.max()]
        np.testing.assert_allclose(report["variance_kept"], positive[:dim].sum() / positive.sum(),
                                   rtol=1e-10)
    # Asymmetric input within the tolerance: its symmetric part; the transpose gives the same.
    np.testing.assert_allclose(gaussot.mds(d.T)[0], gaussot.mds(d)[0], rtol=1e-12, atol=1e-12)
    # One point, and coinciding points: zeros, all variance kept.
    one, r1 = gaussot.mds(np.zeros((1, 1)))
    assert one.shape == (1, 2) and np.all(one == 0) and r1["variance_kept"] == 1.0
    same, r0 = gaussot.mds(np.zeros((4, 4)))
    assert np.all(same == 0) and r0["variance_kept"] == 1.0


def test_mds_refuses_bad_distances(rng):
    d = pairwise(rng.standard_normal((5, 2)))
    cases = [
        (lambda: gaussot.mds(d[:, :4]), "distances", "square"),
        (lambda: gaussot.mds(d[None]), "distances", "expected shape"),
        (lambda: gaussot.mds(-d), "distances", "negative"),
        (lambda: gaussot.mds(d + np.triu(np.ones((5, 5)), 1)), "distances", "not symmetric"),
        (lambda: gaussot.mds(d + np.eye(5)), "distances", "diagonal"),
        (lambda: gaussot.mds(np.where(np.eye(5) > 0, np.nan, d)), "distances", "NaN"),
        (lambda: gaussot.mds(np.zeros((0, 0))), "distances", "at least one"),
        (lambda: gaussot.mds(d, 0), "dim", "dim"),
        (lambda: gaussot.mds(d, -3), "dim", "dim"),
        (lambda: gaussot.mds(d.astype(np.int64)), "distances", "float32 or float64"),
    ]
    for call, argument, fragment in cases:
        with pytest.raises(gaussot.InvalidArgument, match=fragment) as excinfo:
            call()
        assert excinfo.value.argument == argument, str(excinfo.value)


# ---- ARI and NMI --------------------------------------------------------------------------------

def test_scores_match_sklearn(rng):
    metrics = pytest.importorskip("sklearn.metrics", reason=SKLEARN)
    for trial in range(300):
        n = int(rng.integers(1, 60))
        a = rng.integers(0, rng.integers(1, 8), n) * int(rng.choice([1, -3, 1000]))
        b = rng.integers(0, rng.integers(1, 8), n) + int(rng.integers(-5, 5))
        if trial % 10 == 0:
            b = a.copy()  # the same partition
        if trial % 10 == 1:
            b = 7 - 2 * a  # the same partition under other labels
        if trial % 10 == 2:
            a = np.arange(n)  # all singletons
        for ours, theirs in [(gaussot.adjusted_rand_index, metrics.adjusted_rand_score),
                             (gaussot.normalized_mutual_info,
                              metrics.normalized_mutual_info_score)]:
            got, expected = ours(a, b), theirs(a, b)
            assert isinstance(got, float)
            assert got == pytest.approx(expected, abs=1e-12, rel=1e-12), (ours.__name__, a, b)
            assert ours(b, a) == pytest.approx(got, abs=1e-15)
    # Lists, floats with integer values and unsigned integers are integer labels too.
    assert gaussot.adjusted_rand_index([0, 0, 1, 1], np.array([5.0, 5.0, -2.0, -2.0])) == 1.0
    assert gaussot.normalized_mutual_info(np.array([1, 2, 2], np.uint8), (3, 4, 4)) == 1.0


def test_scores_refuse_bad_labels():
    cases = [
        (lambda: gaussot.adjusted_rand_index([0, 1], [0, 1, 1]), "b", "has 3 labels"),
        (lambda: gaussot.normalized_mutual_info([], []), "a", "at least one"),
        (lambda: gaussot.adjusted_rand_index([0, 0.5], [0, 1]), "a", "integer labels"),
        (lambda: gaussot.normalized_mutual_info([0, 1], [0, np.nan]), "b", "integer labels"),
        (lambda: gaussot.adjusted_rand_index(["x", "y"], [0, 1]), "a", "integer labels"),
        (lambda: gaussot.adjusted_rand_index([True, False], [0, 1]), "a", "integer labels"),
        (lambda: gaussot.adjusted_rand_index([[0, 1]], [0, 1]), "a", "shape"),
        (lambda: gaussot.adjusted_rand_index([0, 1], np.array([0, 2**63], np.uint64)), "b",
         "beyond int64"),
        (lambda: gaussot.adjusted_rand_index([0, 1], [0, 2.0**60]), "b", "integer labels"),
    ]
    for call, argument, fragment in cases:
        with pytest.raises(gaussot.InvalidArgument, match=fragment) as excinfo:
            call()
        assert excinfo.value.argument == argument, str(excinfo.value)


# ---- bad input ----------------------------------------------------------------------------------

def test_cluster_refuses_bad_input_by_name(rng):
    covs = ref.random_spd(rng, 3, 6)
    mixed = [ref.random_spd(rng, 3), ref.random_spd(rng, 4), ref.random_spd(rng, 2)]
    nan = covs.copy()
    nan[4, 0, 1] = nan[4, 1, 0] = np.nan
    mixed_nan = [m.copy() for m in mixed]
    mixed_nan[1][2, 2] = np.inf
    sets = [rng.standard_normal((10, 3)), rng.standard_normal((1, 3))]
    cases = [
        (lambda: gaussot.cluster(covs, 0), "k", ">= 1"),
        (lambda: gaussot.cluster(covs, -2), "k", ">= 1"),
        (lambda: gaussot.cluster(covs, 7), "k", "<= the number of items, 6"),
        (lambda: gaussot.cluster(covs, 7, metric="bw"), "k", "<= the number of items, 6"),
        (lambda: gaussot.cluster(covs, 2, n_init=0), "n_init", ">= 1"),
        (lambda: gaussot.cluster(covs, 2, max_iterations=-1), "max_iterations", ">= 0"),
        (lambda: gaussot.cluster(covs, 2, labels=[0, 1, 2]), "labels", "one label per item, 6"),
        (lambda: gaussot.cluster(covs, 2, labels=[0, 1, 2, 0, 1, 2.5]), "labels",
         "integer labels"),
        (lambda: gaussot.cluster(covs, 2, labels=np.zeros((6, 1), int)), "labels", "shape"),
        (lambda: gaussot.cluster(mixed, 2, metric="bw"), "inputs[1]", "one dimension"),
        (lambda: gaussot.cluster(nan, 2), "inputs", "NaN or infinite"),
        (lambda: gaussot.cluster(nan, 2, metric="bw"), "inputs", "NaN or infinite"),
        (lambda: gaussot.cluster(mixed_nan, 2), "inputs[1]", "NaN or infinite"),
        (lambda: gaussot.cluster(covs, 2, metric="w2"), "metric", "'igw' or 'bw'"),
        (lambda: gaussot.cluster(covs, 2, inputs_are="cov"), "inputs_are", "'covariances'"),
        (lambda: gaussot.cluster(covs, 2, inputs_are="spectra", metric="bw"), "inputs_are",
         "metric='igw'"),
        (lambda: gaussot.cluster(covs, 2, means=np.zeros((6, 3))), "means", "centered"),
        (lambda: gaussot.cluster(covs, 2, metric="bw", means=np.zeros((6, 2))), "means",
         "has length 2"),
        (lambda: gaussot.cluster(covs, 2, metric="bw", means=np.zeros((5, 3))), "means",
         "5 items, expected 6"),
        (lambda: gaussot.cluster(sets, 1, inputs_are="samples"), "inputs[1]", "at least 2"),
        (lambda: gaussot.cluster([np.array([1.0, 2.0]), np.array([1.0, 3.0])], 1,
                                 inputs_are="spectra"), "inputs", "decreasing"),
        (lambda: gaussot.cluster([], 1), "inputs", "at least one"),
        (lambda: gaussot.cluster([covs[0], None], 1), "inputs[1]", "None"),
        (lambda: gaussot.cluster([np.ones(3)], 1), "inputs[0]", "expected shape"),
        (lambda: gaussot.cluster(covs.astype(np.int32), 1), "inputs", "float32 or float64"),
        (lambda: gaussot.cluster(covs, 2, backend="gpu"), "backend", "backend"),
    ]
    for call, argument, fragment in cases:
        with pytest.raises(gaussot.InvalidArgument, match=fragment.replace("[", r"\[")) as info:
            call()
        assert info.value.argument == argument, str(info.value)
    # The item at fault: item 4 of the array, item 0 of element 1 of the list.
    with pytest.raises(gaussot.InvalidArgument) as info:
        gaussot.cluster(nan, 2)
    assert info.value.batch_index == 4 and "inputs" in str(info.value)
    asymmetric = covs.copy()
    asymmetric[2, 0, 1] += 0.1
    with pytest.raises(gaussot.InvalidArgument, match="symmetric") as info:
        gaussot.cluster(asymmetric, 2)
    assert info.value.argument == "inputs" and info.value.batch_index == 2
    indefinite = covs.copy()
    indefinite[3] = -indefinite[3]
    with pytest.raises(gaussot.InvalidArgument, match="positive semidefinite") as info:
        gaussot.cluster(indefinite, 2, metric="bw")
    assert info.value.argument == "inputs" and info.value.batch_index == 3


# ---- CUDA against the CPU -----------------------------------------------------------------------

@needs_device
def test_cuda_matches_cpu(rng):
    sets, labels = heterogeneous_users(rng, users=10)
    covs = [np.cov(s.T) for s in sets]
    for inputs, kwargs in ((sets, dict(inputs_are="samples")), (covs, {})):
        cpu = gaussot.cluster(inputs, 3, labels=labels, **kwargs)
        gpu = gaussot.cluster(inputs, 3, labels=labels, backend="cuda", **kwargs)
        np.testing.assert_array_equal(gpu["assignment"], cpu["assignment"])
        np.testing.assert_allclose(gpu["objective"], cpu["objective"], rtol=1e-9)
        np.testing.assert_allclose(gpu["centroid_eigenvalues"], cpu["centroid_eigenvalues"],
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gram(gpu["embedding"]), gram(cpu["embedding"]), rtol=1e-8,
                                   atol=1e-10 * np.abs(gram(cpu["embedding"])).max())
        assert gpu["ari"] == cpu["ari"] == 1.0
    covs, means = bw_clusters(rng)
    cpu = gaussot.cluster(covs, 3, metric="bw", means=means)
    gpu = gaussot.cluster(covs, 3, metric="bw", means=means, backend="cuda")
    np.testing.assert_array_equal(gpu["assignment"], cpu["assignment"])
    np.testing.assert_allclose(gpu["objective"], cpu["objective"], rtol=1e-8)
    np.testing.assert_allclose(gpu["centroid_covs"], cpu["centroid_covs"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gpu["distances"], cpu["distances"], rtol=1e-7, atol=1e-7)
    d = pairwise(rng.standard_normal((20, 5)))
    c_cpu, r_cpu = gaussot.mds(d, 3)
    c_gpu, r_gpu = gaussot.mds(d, 3, backend="cuda")
    assert isinstance(c_gpu, np.ndarray)
    np.testing.assert_allclose(gram(c_gpu), gram(c_cpu), rtol=1e-9, atol=1e-10 * d.max() ** 2)
    np.testing.assert_allclose(r_gpu["eigenvalues"], r_cpu["eigenvalues"], rtol=1e-9,
                               atol=1e-10 * d.max() ** 2)
    f_cpu, _ = gaussot.mds(d.astype(np.float32))
    f_gpu, _ = gaussot.mds(d.astype(np.float32), backend="cuda")
    assert f_gpu.dtype == np.float32
    np.testing.assert_allclose(gram(f_gpu), gram(f_cpu), rtol=1e-3, atol=1e-4 * d.max() ** 2)


@needs_device
def test_torch_cuda_inputs(rng):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA device")
    covs = ref.random_spd(rng, 4, 9)
    cpu = gaussot.cluster(covs, 3, metric="bw")
    gpu = gaussot.cluster(torch.tensor(covs, device="cuda"), 3, metric="bw")
    assert isinstance(gpu["centroid_covs"], np.ndarray)  # the summary is on the host
    np.testing.assert_array_equal(gpu["assignment"], cpu["assignment"])
    np.testing.assert_allclose(gpu["objective"], cpu["objective"], rtol=1e-8)
    d = torch.tensor(cpu["distances"], device="cuda")
    coordinates, _ = gaussot.mds(d)
    assert isinstance(coordinates, torch.Tensor) and coordinates.is_cuda
