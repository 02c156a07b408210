// SPDX-License-Identifier: Apache-2.0
// Clustering on the CPU: IGW k-means against the Euclidean inertia of zero-padded spectra computed
// here, recovery of a heterogeneous set (two dimensions, three spectral profiles), the centroid and
// local-optimality properties, seeds, the empty-cluster rule; W2 k-means centroids against the
// barycenter fixed-point equation; classical MDS against planar points and a direct Gram matrix;
// ARI and NMI against hand-computed and scikit-learn values; bad input refused by name.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

/// Zero-padded spectra, one row of length `depth` per item.
using Rows = std::vector<std::vector<long double>>;

IgwSpectrum centered(const std::vector<double>& eigenvalues) {
  IgwSpectrum s;
  s.eigenvalues = eigenvalues;
  s.projected_mean.assign(eigenvalues.size(), 0.0);
  return s;
}

Rows padded(const std::vector<IgwSpectrum>& spectra) {
  std::size_t depth = 0;
  for (const auto& s : spectra) depth = std::max(depth, s.eigenvalues.size());
  Rows rows;
  for (const auto& s : spectra) {
    std::vector<long double> row(depth, 0.0L);
    std::copy(s.eigenvalues.begin(), s.eigenvalues.end(), row.begin());
    rows.push_back(row);
  }
  return rows;
}

long double squared_distance(const std::vector<long double>& x, const std::vector<long double>& y) {
  long double s = 0;
  for (std::size_t l = 0; l < x.size(); ++l) s += (x[l] - y[l]) * (x[l] - y[l]);
  return s;
}

/// The mean of the rows assigned to cluster k.
std::vector<long double> cluster_mean(const Rows& rows, const std::vector<std::int64_t>& assignment,
                                      std::int64_t k) {
  std::vector<long double> mean(rows.front().size(), 0.0L);
  long double members = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (assignment[i] != k) continue;
    for (std::size_t l = 0; l < mean.size(); ++l) mean[l] += rows[i][l];
    ++members;
  }
  for (auto& m : mean) m /= members;
  return mean;
}

/// Σ_i ‖x_i − mean of its cluster‖², computed from scratch.
long double inertia(const Rows& rows, const std::vector<std::int64_t>& assignment,
                    std::int64_t clusters) {
  long double total = 0;
  for (std::int64_t k = 0; k < clusters; ++k) {
    const std::vector<long double> mean = cluster_mean(rows, assignment, k);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (assignment[i] == k) total += squared_distance(rows[i], mean);
    }
  }
  return total;
}

std::vector<std::int64_t> cluster_sizes(const std::vector<std::int64_t>& assignment,
                                        std::int64_t clusters) {
  std::vector<std::int64_t> sizes(clusters, 0);
  for (std::int64_t a : assignment) {
    EXPECT_GE(a, 0);
    EXPECT_LT(a, clusters);
    if (a >= 0 && a < clusters) ++sizes[a];
  }
  return sizes;
}

/// Random decreasing spectra of random dimensions in [2, 7].
std::vector<IgwSpectrum> random_spectra(std::int64_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> value(0.0, 5.0);
  std::uniform_int_distribution<int> dimension(2, 7);
  std::vector<IgwSpectrum> spectra;
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<double> w(dimension(rng));
    for (double& x : w) x = value(rng);
    std::sort(w.rbegin(), w.rend());
    spectra.push_back(centered(w));
  }
  return spectra;
}

KMeansOptions kmeans(std::int64_t clusters, int n_init = 20, std::uint64_t seed = 0) {
  KMeansOptions options;
  options.clusters = clusters;
  options.n_init = n_init;
  options.seed = seed;
  return options;
}

/// The checks every IGW result must pass: centroids are the means of their members' padded
/// spectra, the objective is the inertia computed here, every item is at a nearest centroid.
void expect_consistent(const std::vector<IgwSpectrum>& spectra, const IgwKMeansResult& r,
                       std::int64_t clusters) {
  const Rows rows = padded(spectra);
  const auto depth = static_cast<std::int64_t>(rows.front().size());
  ASSERT_EQ(r.dimension, depth);
  ASSERT_EQ(r.assignment.size(), spectra.size());
  ASSERT_EQ(r.centroid_eigenvalues.size(), std::size_t(clusters * depth));
  for (std::int64_t size : cluster_sizes(r.assignment, clusters)) EXPECT_GE(size, 1);
  const long double expected = inertia(rows, r.assignment, clusters);
  EXPECT_NEAR(r.objective, expected, 1e-12L * (1 + expected));
  EXPECT_NEAR(r.objective,
              std::accumulate(r.squared_distances.begin(), r.squared_distances.end(), 0.0L),
              1e-12L * (1 + expected));
  for (std::int64_t k = 0; k < clusters; ++k) {
    const std::vector<long double> mean = cluster_mean(rows, r.assignment, k);
    for (std::int64_t l = 0; l < depth; ++l) {
      EXPECT_NEAR(r.centroid_eigenvalues[k * depth + l], mean[l],
                  1e-13L * (1 + std::fabs(mean[l])));
      if (l > 0) {
        EXPECT_LE(r.centroid_eigenvalues[k * depth + l], r.centroid_eigenvalues[k * depth + l - 1]);
      }
    }
  }
  ASSERT_TRUE(r.converged);
  // No item is closer to another centroid than to its own (centroids held).
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::vector<long double> own = cluster_mean(rows, r.assignment, r.assignment[i]);
    EXPECT_NEAR(r.squared_distances[i], squared_distance(rows[i], own), 1e-12L * (1 + expected));
    for (std::int64_t k = 0; k < clusters; ++k) {
      EXPECT_LE(squared_distance(rows[i], own),
                squared_distance(rows[i], cluster_mean(rows, r.assignment, k)) + 1e-12L)
          << "item " << i << " is closer to centroid " << k;
    }
  }
}

TEST(ClusterIgw, ObjectiveIsTheInertiaOfZeroPaddedSpectra) {
  std::mt19937_64 rng(11);
  const std::vector<IgwSpectrum> spectra = random_spectra(30, rng);
  for (const std::int64_t clusters : {1, 2, 4, 7}) {
    const IgwKMeansResult r = igw_kmeans(spectra, kmeans(clusters));
    expect_consistent(spectra, r, clusters);
    EXPECT_GE(r.iterations, 1);
  }
}

TEST(ClusterIgw, ObjectiveIsTheSumOfIgwSquaredToTheBarycenters) {
  // Cross-check against the library's IGW² of the spectra and its IGW barycenter (§2.2, §4).
  std::mt19937_64 rng(12);
  const std::vector<IgwSpectrum> spectra = random_spectra(12, rng);
  const IgwKMeansResult r = igw_kmeans(spectra, kmeans(3));
  Context ctx = Context::cpu();
  std::vector<IgwSpectrum> centroids;
  for (std::int64_t k = 0; k < 3; ++k) {
    centroids.push_back(centered({r.centroid_eigenvalues.begin() + k * r.dimension,
                                  r.centroid_eigenvalues.begin() + (k + 1) * r.dimension}));
  }
  std::vector<double> igw2(spectra.size() * 3);
  igw_squared_all_pairs(ctx, spectra, centroids, {matrices(igw2.data(), 12, 3, 1), {}, {}});
  for (std::size_t i = 0; i < spectra.size(); ++i) {
    EXPECT_NEAR(r.squared_distances[i], igw2[i + 12 * r.assignment[i]], 1e-12 * (1 + igw2[i]));
  }
}

/// Centered covariances of three spectral profiles, half of each group in dimension 6 and half in
/// 12 (with a small tail), randomly rotated and jittered.
template <typename T>
struct HeterogeneousSet {
  HostBatch<T> small{6, 6, 12}, large{12, 12, 12};
  std::vector<std::int64_t> labels;  // small items first, then large ones

  explicit HeterogeneousSet(std::mt19937_64& rng) {
    const std::vector<std::vector<long double>> profiles = {
        {9, 6, 4, 2, 1, 0.5}, {4, 4, 4, 4, 0.2, 0.2}, {16, 1, 0.8, 0.6, 0.4, 0.2}};
    std::uniform_real_distribution<double> jitter(0.97, 1.03);
    for (HostBatch<T>* batch : {&small, &large}) {
      const std::int64_t d = batch->view.rows;
      for (std::int64_t i = 0; i < 12; ++i) {
        const std::int64_t group = i % 3;
        std::vector<long double> w(d, 0.05L);
        for (std::size_t l = 0; l < 6; ++l) w[l] = profiles[group][l] * jitter(rng);
        std::sort(w.rbegin(), w.rend());
        batch->set_item(i, with_spectrum(random_orthogonal(d, rng), w, d));
        labels.push_back(group);
      }
    }
  }
  std::vector<MatrixBatch<const T>> groups() const { return {small.cview(), large.cview()}; }
};

template <typename T>
class ClusterIgwCovariances : public ::testing::Test {};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ClusterIgwCovariances, Precisions);

TYPED_TEST(ClusterIgwCovariances, RecoversThreeGroupsAcrossTwoDimensions) {
  using T = TypeParam;
  std::mt19937_64 rng(21);
  const HeterogeneousSet<T> set(rng);
  Context ctx = Context::cpu();
  const IgwKMeansResult r = igw_kmeans<T>(ctx, set.groups(), kmeans(3));
  EXPECT_EQ(r.dimension, 12);
  EXPECT_EQ(adjusted_rand_index(set.labels, r.assignment), 1.0);
  EXPECT_NEAR(normalized_mutual_info(set.labels, r.assignment), 1.0, 1e-15);

  // The same clustering from the spectra (igw_spectra), which is what the overload computes.
  std::vector<IgwSpectrum> spectra = igw_spectra<T>(ctx, {{}, set.small.cview()});
  for (const IgwSpectrum& s : igw_spectra<T>(ctx, {{}, set.large.cview()})) spectra.push_back(s);
  const IgwKMeansResult from_spectra = igw_kmeans(spectra, kmeans(3));
  EXPECT_EQ(from_spectra.assignment, r.assignment);
  EXPECT_NEAR(from_spectra.objective, r.objective, 1e-12 * r.objective);
  expect_consistent(spectra, from_spectra, 3);

  // Well separated: moving any one item to another cluster (centroids recomputed) is worse.
  const Rows rows = padded(spectra);
  const long double best = inertia(rows, r.assignment, 3);
  const std::vector<std::int64_t> sizes = cluster_sizes(r.assignment, 3);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (sizes[r.assignment[i]] < 2) continue;
    for (std::int64_t k = 0; k < 3; ++k) {
      if (k == r.assignment[i]) continue;
      std::vector<std::int64_t> moved = r.assignment;
      moved[i] = k;
      EXPECT_GT(inertia(rows, moved, 3), best) << "item " << i << " to cluster " << k;
    }
  }
}

TEST(ClusterIgw, DeterministicForASeedAndDifferentAcrossSeeds) {
  std::mt19937_64 rng(31);
  const std::vector<IgwSpectrum> spectra = random_spectra(40, rng);
  const IgwKMeansResult first = igw_kmeans(spectra, kmeans(6, 1, 5));
  const IgwKMeansResult again = igw_kmeans(spectra, kmeans(6, 1, 5));
  EXPECT_EQ(again.assignment, first.assignment);
  EXPECT_EQ(again.objective, first.objective);
  EXPECT_EQ(again.iterations, first.iterations);
  EXPECT_EQ(again.centroid_eigenvalues, first.centroid_eigenvalues);
  std::set<std::vector<std::int64_t>> outcomes;
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    outcomes.insert(igw_kmeans(spectra, kmeans(6, 1, seed)).assignment);
  }
  EXPECT_GT(outcomes.size(), 1u) << "ten seeds, one run each, gave one clustering";
  // More runs never give a higher objective than the first of them alone.
  EXPECT_LE(igw_kmeans(spectra, kmeans(6, 10, 5)).objective, first.objective);
}

TEST(ClusterIgw, OneClusterPerItemAndEmptyClustersFilled) {
  std::mt19937_64 rng(41);
  const std::vector<IgwSpectrum> distinct = random_spectra(6, rng);
  const IgwKMeansResult singletons = igw_kmeans(distinct, kmeans(6));
  EXPECT_EQ(singletons.objective, 0.0);
  EXPECT_EQ(cluster_sizes(singletons.assignment, 6), std::vector<std::int64_t>(6, 1));
  EXPECT_TRUE(singletons.converged);

  // Two distinct Gaussians, five items, four clusters: after the seeding, some centroid repeats
  // another and its cluster is empty; the rule moves an item into it (here every item is at
  // distance 0, so the lowest index of a cluster of two or more).
  const std::vector<IgwSpectrum> duplicated = {centered({3, 1}), centered({3, 1}), centered({3, 1}),
                                               centered({2}), centered({2})};
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const IgwKMeansResult r = igw_kmeans(duplicated, kmeans(4, 3, seed));
    for (std::int64_t size : cluster_sizes(r.assignment, 4)) EXPECT_GE(size, 1);
    EXPECT_EQ(r.objective, 0.0);
    EXPECT_NE(r.assignment[0], r.assignment[3]);
    expect_consistent(duplicated, r, 4);
  }
}

TEST(ClusterIgw, MaxIterationsZeroReportsTheSeedingsClusters) {
  std::mt19937_64 rng(51);
  const std::vector<IgwSpectrum> spectra = random_spectra(25, rng);
  KMeansOptions options = kmeans(4, 1, 3);
  options.max_iterations = 0;
  const IgwKMeansResult r = igw_kmeans(spectra, options);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_FALSE(r.converged);
  const Rows rows = padded(spectra);
  EXPECT_NEAR(r.objective, inertia(rows, r.assignment, 4), 1e-12 * (1 + r.objective));
}

TEST(ClusterIgw, RefusesBadInputByName) {
  const std::vector<IgwSpectrum> spectra = {centered({2, 1}), centered({1}), centered({3})};
  expect_invalid([&] { igw_kmeans(spectra, kmeans(0)); }, "'options.clusters'");
  expect_invalid([&] { igw_kmeans(spectra, kmeans(4)); }, "'options.clusters'");
  expect_invalid([&] { igw_kmeans(spectra, kmeans(2, 0)); }, "'options.n_init'");
  KMeansOptions negative = kmeans(2);
  negative.max_iterations = -1;
  expect_invalid([&] { igw_kmeans(spectra, negative); }, "'options.max_iterations'");
  expect_invalid([&] { igw_kmeans({}, kmeans(1)); }, "'spectra'");
  std::vector<IgwSpectrum> uncentered = spectra;
  uncentered[1].mean_norm2 = 4;
  expect_invalid([&] { igw_kmeans(uncentered, kmeans(2)); }, "not centered");
  std::vector<IgwSpectrum> increasing = spectra;
  increasing[0] = centered({1, 2});
  expect_invalid([&] { igw_kmeans(increasing, kmeans(2)); }, "item 0");
  std::vector<IgwSpectrum> infinite = spectra;
  infinite[2] = centered({INFINITY});
  expect_invalid([&] { igw_kmeans(infinite, kmeans(2)); }, "'spectra'");

  Context ctx = Context::cpu();
  HostBatch<double> a(2, 2, 2), b(3, 3, 2);
  for (std::int64_t i = 0; i < 2; ++i) {
    a.set_item(i, identity(2));
    b.set_item(i, identity(3));
  }
  b.view.at(1, 0, 1) = 0.5;  // not symmetric: group 1, input 3
  try {
    igw_kmeans<double>(ctx, {a.cview(), b.cview()}, kmeans(2));
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "inputs.covariances");
    EXPECT_EQ(e.batch_index(), 3);
    EXPECT_NE(std::string(e.what()).find("group 1"), std::string::npos) << e.what();
  }
  b.view.at(1, 0, 1) = 0;
  b.view.at(0, 2, 2) = -1;  // not PSD
  expect_invalid(
      [&] {
        igw_kmeans<double>(ctx, {a.cview(), b.cview()}, kmeans(2));
      },
      "'inputs.covariances'");
  expect_invalid([&] { igw_kmeans<double>(ctx, {}, kmeans(1)); }, "'inputs'");
}

// ---- W2 k-means ------------------------------------------------------------------------------

/// Three groups of five Gaussians in R^3 with well separated means and spectra.
template <typename T>
HostGaussians<T> separated_gaussians(std::mt19937_64& rng, std::vector<std::int64_t>& labels) {
  const std::int64_t d = 3, k = 15;
  HostGaussians<T> h(d, k);
  std::normal_distribution<double> normal;
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t group = (i * 7) % 3;  // interleaved
    std::vector<long double> mean(d);
    for (std::int64_t r = 0; r < d; ++r) mean[r] = 0.2L * normal(rng) + (r == group ? 8 : 0);
    h.set(i, mean,
          with_spectrum(random_orthogonal(d, rng), geometric_spectrum(d, 1 + group, 4), d));
    labels.push_back(group);
  }
  return h;
}

Dense sqrt_psd(Context& ctx, const Dense& a, std::int64_t d) {
  std::vector<double> in(a.begin(), a.end()), out(d * d);
  sqrtm<double>(ctx, square_matrices<const double>(in.data(), d, 1),
                square_matrices(out.data(), d, 1));
  return Dense(out.begin(), out.end());
}

template <typename T>
class ClusterW2 : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{61};
};
TYPED_TEST_SUITE(ClusterW2, Precisions);

TYPED_TEST(ClusterW2, RecoversGroupsWithBarycentersAsCentroids) {
  using T = TypeParam;
  std::vector<std::int64_t> labels;
  const HostGaussians<T> g = separated_gaussians<T>(this->rng, labels);
  const std::int64_t d = g.d, n = g.k, clusters = 3;
  HostGaussians<T> c(d, clusters);
  const KMeansResult r = w2_kmeans<T>(this->ctx, g.cview(), c.view(), kmeans(clusters, 4));
  EXPECT_EQ(adjusted_rand_index(labels, r.assignment), 1.0);
  EXPECT_TRUE(r.converged);
  const long double bar = std::is_same_v<T, float> ? 1e-4L : 1e-10L;

  // Distances: the reported ones are W2² to the reported centroids, each the nearest.
  std::vector<T> table(clusters * n);
  w2_squared_all_pairs<T>(this->ctx, c.cview(), g.cview(), matrices(table.data(), clusters, n, 1));
  long double objective = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const T own = table[r.assignment[i] + i * clusters];
    EXPECT_NEAR(r.squared_distances[i], own, bar * (1 + own));
    for (std::int64_t k = 0; k < clusters; ++k)
      EXPECT_LE(own, table[k + i * clusters] * (1 + bar) + bar);
    objective += r.squared_distances[i];
  }
  EXPECT_NEAR(r.objective, objective, 1e-12L * objective);

  // Centroids: mean of the members' means, covariance B = Σ (1/n_k) (B^½ S_i B^½)^½.
  for (std::int64_t k = 0; k < clusters; ++k) {
    const Dense b(c.covariances.begin() + k * d * d, c.covariances.begin() + (k + 1) * d * d);
    const Dense root = sqrt_psd(this->ctx, b, d);
    Dense average(d * d, 0.0L);
    std::vector<long double> mean(d, 0.0L);
    long double members = 0;
    for (std::int64_t i = 0; i < n; ++i) members += r.assignment[i] == k;
    for (std::int64_t i = 0; i < n; ++i) {
      if (r.assignment[i] != k) continue;
      const Dense middle =
          sqrt_psd(this->ctx, multiply(multiply(root, g.cov(i), d, d, d), root, d, d, d), d);
      for (std::int64_t e = 0; e < d * d; ++e) average[e] += middle[e] / members;
      for (std::int64_t l = 0; l < d; ++l) mean[l] += g.means[i * d + l] / members;
    }
    EXPECT_LE(frobenius_distance(average, b) / frobenius(b), bar) << "cluster " << k;
    for (std::int64_t l = 0; l < d; ++l) EXPECT_NEAR(c.means[k * d + l], mean[l], bar * 10);
  }
}

TYPED_TEST(ClusterW2, SingletonClustersAreTheirItemsAndCenteredInputsHaveZeroMeans) {
  using T = TypeParam;
  std::vector<std::int64_t> labels;
  const HostGaussians<T> g = separated_gaussians<T>(this->rng, labels);
  const GaussianBatch<const T> centered_items{{}, square_matrices(g.covariances.data(), g.d, 4)};
  HostGaussians<T> c(g.d, 4);
  std::fill(c.means.begin(), c.means.end(), std::numeric_limits<T>::quiet_NaN());  // overwritten
  const KMeansResult r = w2_kmeans<T>(this->ctx, centered_items, c.view(), kmeans(4));
  EXPECT_EQ(cluster_sizes(r.assignment, 4), std::vector<std::int64_t>(4, 1));
  for (std::int64_t i = 0; i < 4; ++i) {
    const std::int64_t k = r.assignment[i];
    for (std::int64_t e = 0; e < g.d * g.d; ++e) {
      EXPECT_EQ(c.covariances[k * g.d * g.d + e], g.covariances[i * g.d * g.d + e]);
    }
  }
  for (T m : c.means) EXPECT_EQ(m, T(0));
  EXPECT_LE(r.objective, 1e3 * std::numeric_limits<T>::epsilon());
}

TYPED_TEST(ClusterW2, DeterministicForASeed) {
  using T = TypeParam;
  std::vector<std::int64_t> labels;
  const HostGaussians<T> g = separated_gaussians<T>(this->rng, labels);
  HostGaussians<T> c1(g.d, 5), c2(g.d, 5);
  const KMeansResult r1 = w2_kmeans<T>(this->ctx, g.cview(), c1.view(), kmeans(5, 2, 9));
  const KMeansResult r2 = w2_kmeans<T>(this->ctx, g.cview(), c2.view(), kmeans(5, 2, 9));
  EXPECT_EQ(r1.assignment, r2.assignment);
  EXPECT_EQ(r1.objective, r2.objective);
  EXPECT_EQ(c1.covariances, c2.covariances);
}

TYPED_TEST(ClusterW2, RefusesBadInputByName) {
  using T = TypeParam;
  std::vector<std::int64_t> labels;
  HostGaussians<T> g = separated_gaussians<T>(this->rng, labels);
  HostGaussians<T> c(g.d, 3), wrong(g.d, 2);
  expect_invalid([&] { w2_kmeans<T>(this->ctx, g.cview(), c.view(), kmeans(16)); },
                 "'options.clusters'");
  expect_invalid([&] { w2_kmeans<T>(this->ctx, g.cview(), wrong.view(), kmeans(3)); },
                 "'centroids.covariances'");
  const GaussianBatch<T> aliased{vectors(g.means.data(), g.d, 3),
                                 square_matrices(g.covariances.data(), g.d, 3)};
  expect_invalid([&] { w2_kmeans<T>(this->ctx, g.cview(), aliased, kmeans(3)); }, "share memory");
  g.covariances[4 * g.d * g.d] = -50;  // item 4 indefinite
  try {
    w2_kmeans<T>(this->ctx, g.cview(), c.view(), kmeans(3));
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "gaussians.covariances");
    EXPECT_EQ(e.batch_index(), 4);
  }
  g.covariances[4 * g.d * g.d] = NAN;
  expect_invalid([&] { w2_kmeans<T>(this->ctx, g.cview(), c.view(), kmeans(3)); },
                 "'gaussians.covariances'");
}

TEST(ClusterW2Singular, ClusterWithSingularMeanCovarianceIsNamed) {
  // Two identical rank-one Gaussians in one cluster: the barycenter's start Σ S_i / 2 is singular.
  Context ctx = Context::cpu();
  std::vector<double> covariances = {1, 0, 0, 0, 1, 0, 0, 0};
  const KMeansOptions options = kmeans(1, 1);
  HostGaussians<double> c(2, 1);
  expect_invalid(
      [&] {
        w2_kmeans<double>(ctx, {{}, square_matrices<const double>(covariances.data(), 2, 2)},
                          c.view(), options);
      },
      "cluster 0 of 2 Gaussians has no W2 barycenter");
}

// ---- classical MDS ---------------------------------------------------------------------------

template <typename T>
class ClassicalMds : public ::testing::Test {};
TYPED_TEST_SUITE(ClassicalMds, Precisions);

/// The distance matrix of points (columns of a q x n matrix).
Dense distance_matrix(const Dense& points, std::int64_t q, std::int64_t n) {
  Dense d(n * n, 0.0L);
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < n; ++i) {
      long double s = 0;
      for (std::int64_t r = 0; r < q; ++r) {
        const long double gap = points[r + i * q] - points[r + j * q];
        s += gap * gap;
      }
      d[i + j * n] = std::sqrt(s);
    }
  }
  return d;
}

TYPED_TEST(ClassicalMds, RecoversPlanarPointsUpToRounding) {
  using T = TypeParam;
  const std::int64_t n = 9;
  std::mt19937_64 rng(71);
  std::normal_distribution<double> normal;
  Dense points(2 * n);
  for (auto& x : points) x = 3 * normal(rng);
  const Dense d = distance_matrix(points, 2, n);
  HostBatch<T> distances(n, n, 1);
  distances.set_item(0, d);
  Context ctx = Context::cpu();
  HostBatch<T> x(3, n, 1);
  const MdsReport report = classical_mds<T>(ctx, distances.cview(), x.view);
  const long double bar = 1e3L * eps<T>();
  ASSERT_EQ(report.eigenvalues.size(), std::size_t(n));
  EXPECT_NEAR(report.variance_kept, 1, bar);
  for (std::int64_t k = 2; k < n; ++k) {
    EXPECT_LE(std::fabs(report.eigenvalues[k]), bar * report.eigenvalues[0]);
  }
  // Recovered distances; the third axis is 0 (only two eigenvalues are positive).
  const Dense coordinates = x.item(0);
  const Dense recovered = distance_matrix(coordinates, 3, n);
  EXPECT_LE(frobenius_distance(recovered, d) / frobenius(d), bar);
  for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(x.view.at(0, 2, i), T(0));

  // The Gram matrix of the coordinates is that of the centred points, computed directly, and its
  // two nonzero eigenvalues are those reported.
  Dense centred = points;
  for (std::int64_t r = 0; r < 2; ++r) {
    long double mean = 0;
    for (std::int64_t i = 0; i < n; ++i) mean += points[r + i * 2] / n;
    for (std::int64_t i = 0; i < n; ++i) centred[r + i * 2] -= mean;
  }
  const Dense gram = multiply(transpose(centred, 2, n), centred, n, 2, n);
  const Dense gram_x = multiply(transpose(coordinates, 3, n), coordinates, n, 3, n);
  EXPECT_LE(frobenius_distance(gram_x, gram) / frobenius(gram), bar);
  std::vector<long double> scatter =
      symmetric_eigenvalues(multiply(centred, transpose(centred, 2, n), 2, n, 2), 2);
  std::sort(scatter.rbegin(), scatter.rend());
  EXPECT_NEAR(report.eigenvalues[0], scatter[0], bar * scatter[0]);
  EXPECT_NEAR(report.eigenvalues[1], scatter[1], bar * scatter[0]);
}

TEST(ClassicalMdsDistances, NonEuclideanStarKeepsItsShareAndReportsNegativeEigenvalues) {
  // A star: the centre at distance 1 from three leaves, the leaves 2 apart: no Euclidean points
  // have these distances, and B = −½ J D² J has a negative eigenvalue.
  const std::int64_t n = 4;
  Dense d(n * n, 0.0L);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      if (i != j) d[i + j * n] = (i == 0 || j == 0) ? 1 : 2;
    }
  }
  // B computed directly in long double.
  Dense squares(n * n), b(n * n);
  for (std::int64_t e = 0; e < n * n; ++e) squares[e] = d[e] * d[e];
  const Dense centring = [&] {
    Dense j = identity(n);
    for (auto& x : j) x -= 1.0L / n;
    return j;
  }();
  b = multiply(multiply(centring, squares, n, n, n), centring, n, n, n);
  for (auto& x : b) x *= -0.5L;
  std::vector<long double> w = symmetric_eigenvalues(b, n);
  std::sort(w.rbegin(), w.rend());
  ASSERT_LT(w.back(), -1e-3L);

  HostBatch<double> distances(n, n, 1), x(2, n, 1);
  distances.set_item(0, d);
  Context ctx = Context::cpu();
  const MdsReport report = classical_mds<double>(ctx, distances.cview(), x.view);
  long double positive = 0;
  for (long double v : w) positive += std::max(v, 0.0L);
  for (std::int64_t k = 0; k < n; ++k) EXPECT_NEAR(report.eigenvalues[k], w[k], 1e-13L);
  EXPECT_NEAR(report.variance_kept, (w[0] + w[1]) / positive, 1e-13L);
  // The coordinates' Gram matrix is the best rank-2 PSD part of B: V_2 Λ_2 V_2ᵀ.
  const Dense gram_x = multiply(transpose(x.item(0), 2, n), x.item(0), n, 2, n);
  long double trace = 0;
  for (std::int64_t i = 0; i < n; ++i) trace += gram_x[i + i * n];
  EXPECT_NEAR(trace, w[0] + w[1], 1e-13L);
  // Each axis' largest entry is positive.
  for (std::int64_t k = 0; k < 2; ++k) {
    double largest = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      if (std::fabs(x.view.at(0, k, i)) > std::fabs(largest)) largest = x.view.at(0, k, i);
    }
    EXPECT_GT(largest, 0);
  }
}

TEST(ClassicalMdsDistances, OnePointAndCoincidentPoints) {
  Context ctx = Context::cpu();
  HostBatch<double> one(1, 1, 1), x1(2, 1, 1);
  const MdsReport single = classical_mds<double>(ctx, one.cview(), x1.view);
  EXPECT_EQ(single.variance_kept, 1);
  EXPECT_EQ(x1.view.at(0, 0, 0), 0);
  EXPECT_EQ(x1.view.at(0, 1, 0), 0);
  HostBatch<double> zeros(3, 3, 1), x3(2, 3, 1);
  classical_mds<double>(ctx, zeros.cview(), x3.view);
  for (std::int64_t i = 0; i < 3; ++i) EXPECT_EQ(x3.view.at(0, 0, i), 0);
}

TEST(ClassicalMdsDistances, HugeDistancesAreScaled) {
  // Distances of 1e200 (their squares overflow double) give the scaled map; the eigenvalues,
  // about 1e400, are reported as infinite.
  Context ctx = Context::cpu();
  HostBatch<double> d(3, 3, 1), x(1, 3, 1);
  const double s = 1e200;
  const Dense line = {0, 1, 3, 1, 0, 2, 3, 2, 0};  // points 0, 1, 3 on a line
  for (std::int64_t e = 0; e < 9; ++e) d.storage[e] = double(line[e]) * s;
  const MdsReport report = classical_mds<double>(ctx, d.cview(), x.view);
  EXPECT_NEAR(std::fabs(x.view.at(0, 0, 2) - x.view.at(0, 0, 0)) / s, 3, 1e-13);
  EXPECT_NEAR(std::fabs(x.view.at(0, 0, 1) - x.view.at(0, 0, 0)) / s, 1, 1e-13);
  EXPECT_EQ(report.eigenvalues[0], INFINITY);
  EXPECT_NEAR(report.variance_kept, 1, 1e-13);
}

TEST(ClassicalMdsDistances, RefusesBadMatricesByName) {
  Context ctx = Context::cpu();
  const std::int64_t n = 3;
  auto valid = [&] {
    HostBatch<double> d(n, n, 1);
    d.set_item(0, {0, 1, 2, 1, 0, 1.5, 2, 1.5, 0});
    return d;
  };
  HostBatch<double> x(2, n, 1);
  HostBatch<double> asymmetric = valid();
  asymmetric.view.at(0, 0, 1) = 1.1;
  expect_invalid([&] { classical_mds<double>(ctx, asymmetric.cview(), x.view); }, "not symmetric");
  HostBatch<double> negative = valid();
  negative.view.at(0, 0, 1) = negative.view.at(0, 1, 0) = -1;
  expect_invalid([&] { classical_mds<double>(ctx, negative.cview(), x.view); }, "negative");
  HostBatch<double> diagonal = valid();
  diagonal.view.at(0, 2, 2) = 0.5;
  expect_invalid([&] { classical_mds<double>(ctx, diagonal.cview(), x.view); }, "diagonal");
  HostBatch<double> nan = valid();
  nan.view.at(0, 1, 2) = NAN;
  expect_invalid([&] { classical_mds<double>(ctx, nan.cview(), x.view); }, "'distances'");
  HostBatch<double> rectangular(n, n + 1, 1);
  expect_invalid([&] { classical_mds<double>(ctx, rectangular.cview(), x.view); }, "'distances'");
  HostBatch<double> empty(0, 0, 1), x0(2, 0, 1);
  expect_invalid([&] { classical_mds<double>(ctx, empty.cview(), x0.view); }, "'distances'");
  HostBatch<double> no_axes(0, n, 1);
  expect_invalid([&] { classical_mds<double>(ctx, valid().cview(), no_axes.view); },
                 "'coordinates'");
  HostBatch<double> wrong(2, n + 1, 1);
  expect_invalid([&] { classical_mds<double>(ctx, valid().cview(), wrong.view); }, "'coordinates'");
}

// ---- ARI and NMI -----------------------------------------------------------------------------

TEST(ClusterScores, AdjustedRandIndexAndMutualInformationOfHandCases) {
  const std::vector<std::int64_t> a = {0, 0, 1, 1, 2, 2};
  EXPECT_EQ(adjusted_rand_index(a, a), 1.0);
  EXPECT_NEAR(normalized_mutual_info(a, a), 1.0, 1e-15);
  const std::vector<std::int64_t> renamed = {-7, -7, 40, 40, 3, 3};  // any integers, permuted
  EXPECT_EQ(adjusted_rand_index(a, renamed), 1.0);
  EXPECT_NEAR(normalized_mutual_info(a, renamed), 1.0, 1e-15);
  // Both a single cluster, both all singletons: identical partitions.
  EXPECT_EQ(adjusted_rand_index({5, 5, 5}, {1, 1, 1}), 1.0);
  EXPECT_EQ(normalized_mutual_info({5, 5, 5}, {1, 1, 1}), 1.0);
  EXPECT_EQ(adjusted_rand_index({0, 1, 2, 3}, {3, 2, 1, 0}), 1.0);
  EXPECT_NEAR(normalized_mutual_info({0, 1, 2, 3}, {3, 2, 1, 0}), 1.0, 1e-15);
  EXPECT_EQ(adjusted_rand_index({4}, {9}), 1.0);
  // Independent halves: pairs tp = 0, fp = fn = 4, tn = 4 (ordered pairs beside the diagonal),
  // ARI = 2 (0·4 − 4·4) / ((0 + 4)(4 + 4) + (0 + 4)(4 + 4)) = −1/2; the mutual information is 0.
  EXPECT_EQ(adjusted_rand_index({0, 0, 1, 1}, {0, 1, 0, 1}), -0.5);
  EXPECT_EQ(normalized_mutual_info({0, 0, 1, 1}, {0, 1, 0, 1}), 0.0);
  // {0,1}{2}{3} vs {0,1}{2,3}: MI = ln 2 − ¼ ln 4 ... = (3/2) ln 2 − ½ ln 2 = ln 2 (nats), H =
  // (3/2) ln 2 and ln 2: NMI = ln 2 / ((5/4) ln 2) = 4/5.
  EXPECT_NEAR(normalized_mutual_info({0, 0, 1, 2}, {0, 0, 1, 1}), 0.8, 1e-15);
  // One side a single cluster: both scores 0.
  EXPECT_EQ(adjusted_rand_index({1, 1, 1, 1}, {0, 0, 1, 1}), 0.0);
  EXPECT_EQ(normalized_mutual_info({1, 1, 1, 1}, {0, 0, 1, 1}), 0.0);
}

TEST(ClusterScores, MatchScikitLearn) {
  // Values printed by scikit-learn 1.9.1: sklearn.metrics.adjusted_rand_score(a, b) and
  // sklearn.metrics.normalized_mutual_info_score(a, b) (average_method='arithmetic').
  struct Case {
    std::vector<std::int64_t> a, b;
    double ari, nmi;
  };
  const std::vector<Case> cases = {
      {{0, 0, 1, 2}, {0, 0, 1, 1}, 0.5714285714285714, 0.7999999999999999},
      {{7, 7, 7, -3, -3, 100, 100, 100, 100, 5},
       {1, 1, 2, 2, 2, 3, 3, 3, 0, 0},
       0.4461538461538462,
       0.7182659441747596},
      {{0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3},
       {4, 4, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2},
       0.367816091954023,
       0.607588777495224},
      {{0, 1, 2, 3}, {0, 0, 0, 0}, 0.0, 0.0},
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(adjusted_rand_index(c.a, c.b), c.ari, 1e-15);
    EXPECT_NEAR(adjusted_rand_index(c.b, c.a), c.ari, 1e-15);
    EXPECT_NEAR(normalized_mutual_info(c.a, c.b), c.nmi, 1e-15);
    EXPECT_NEAR(normalized_mutual_info(c.b, c.a), c.nmi, 1e-15);
  }
}

TEST(ClusterScores, LargeLabelingsDoNotOverflow) {
  // 2·10^6 items in two halves against itself shifted by one item: pair counts near 4·10^12,
  // products near 10^25, far beyond int64.
  const std::int64_t n = 2000000;
  std::vector<std::int64_t> a(n), b(n);
  for (std::int64_t i = 0; i < n; ++i) {
    a[i] = i < n / 2 ? 0 : 1;
    b[i] = i < n / 2 + 1 ? 0 : 1;
  }
  const double ari = adjusted_rand_index(a, b);
  EXPECT_GT(ari, 0.999995);
  EXPECT_LT(ari, 1.0);
  const double nmi = normalized_mutual_info(a, b);
  EXPECT_GT(nmi, 0.99998);
  EXPECT_LT(nmi, 1.0);
}

TEST(ClusterScores, RefuseEmptyOrMismatchedLabelings) {
  expect_invalid([] { adjusted_rand_index({}, {}); }, "'a'");
  expect_invalid([] { normalized_mutual_info({}, {}); }, "'a'");
  expect_invalid([] { adjusted_rand_index({0, 1}, {0}); }, "'b'");
  expect_invalid([] { normalized_mutual_info({0}, {0, 1}); }, "'b'");
}

}  // namespace
}  // namespace gaussot::test

namespace gaussot::test {
namespace {

TEST(DistancesFromSquares, SymmetrisesClampsAndZeroesTheDiagonal) {
  // Squares as an all-pairs function returns them: rounding on the diagonal, a little asymmetry,
  // a tiny negative.
  const std::vector<double> squared = {1e-15, 4.0, -1e-16, 4.0 + 2e-12, 3e-16, 9.0, 0.0, 9.0, 0.0};
  const std::vector<double> d = distances_from_squares(squared, 3);
  EXPECT_EQ(d[0], 0.0);
  EXPECT_EQ(d[4], 0.0);
  EXPECT_EQ(d[1], d[3]);
  EXPECT_NEAR(d[1], 2.0, 1e-12);
  EXPECT_EQ(d[2], 0.0);  // (-1e-16 + 0) / 2 clamped
  EXPECT_EQ(d[5], 3.0);
  EXPECT_THROW(distances_from_squares(squared, 2), InvalidArgument);
}

}  // namespace
}  // namespace gaussot::test

namespace gaussot::test {
namespace {

TEST(ClusterIgwSpectra, RoundingBelowZeroCountsAsZeroAndLargerNegativesAreRefused) {
  // NumPy's eigvalsh of a singular covariance (n < d) gives eigenvalues like -1e-16.
  const std::vector<IgwSpectrum> rounded = {{{4.0, 1.0, -1e-15}, {0, 0, 0}, 0.0},
                                            {{4.0, 1.0, 0.0}, {0, 0, 0}, 0.0},
                                            {{9.0, 0.0}, {0, 0}, 0.0}};
  KMeansOptions options;
  options.clusters = 2;
  const IgwKMeansResult r = igw_kmeans(rounded, options);
  EXPECT_EQ(r.assignment[0], r.assignment[1]);
  EXPECT_EQ(r.squared_distances[0], 0.0);  // -1e-15 read as 0: the two items coincide
  for (double v : r.centroid_eigenvalues) EXPECT_GE(v, 0.0);
  // The all-pairs table reads them the same way: items 0 and 1 are exactly 0 apart.
  Context ctx = Context::cpu();
  std::vector<double> squared(9);
  igw_squared_all_pairs(
      ctx, rounded, rounded,
      {matrices(squared.data(), 3, 3, 1), MatrixBatch<double>(), MatrixBatch<double>()});
  EXPECT_EQ(squared[1], 0.0);
  EXPECT_EQ(squared[3], 0.0);
  const std::vector<IgwSpectrum> negative = {{{4.0, 1.0, -1e-3}, {0, 0, 0}, 0.0},
                                             {{4.0}, {0}, 0.0}};
  options.clusters = 1;
  expect_invalid([&] { igw_kmeans(negative, options); }, "'spectra' item 0");
  expect_invalid(
      [&] {
        igw_squared_all_pairs(
            ctx, negative, rounded,
            {matrices(squared.data(), 2, 3, 1), MatrixBatch<double>(), MatrixBatch<double>()});
      },
      "'a' item 0");
}

}  // namespace
}  // namespace gaussot::test
