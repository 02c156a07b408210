// SPDX-License-Identifier: Apache-2.0
// The clustering of cluster.hpp: one k-means driver (seeding, Lloyd iterations, empty clusters,
// restarts) written over a metric, which is the zero-padded spectra on the host for IGW and the
// Gaussians on the context for W2; classical MDS (the double centring on the host, the
// eigendecomposition on the context); the scores of two labelings from their contingency table.
#include "gaussot/cluster.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussian_batches.hpp"
#include "padded_spectra.hpp"
#include "spectral_internal.hpp"
#include "spectral_rule.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

// ---- the k-means driver ----------------------------------------------------------------------

/// Squared distances of n items to m centroids, item-major: (i, k) at i·m + k.
using DistanceTable = std::vector<double>;

/// The increment between the seeds of consecutive runs (2^64 / golden ratio).
constexpr std::uint64_t kRunSeedStep = 0x9E3779B97F4A7C15ull;

/// A uniform number in [0, 1): the top 53 bits of one 64-bit output, times 2^-53.
double uniform(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

std::int64_t uniform_index(std::int64_t n, std::mt19937_64& rng) {
  return std::min(n - 1, static_cast<std::int64_t>(uniform(rng) * double(n)));
}

/// The first item whose cumulative weight exceeds u·Σ weights (the last item of positive weight
/// when rounding leaves none), or a uniform item when every weight is 0.
std::int64_t weighted_index(const std::vector<double>& weights, double total,
                            std::mt19937_64& rng) {
  const auto n = static_cast<std::int64_t>(weights.size());
  if (!(total > 0)) return uniform_index(n, rng);
  const double target = uniform(rng) * total;
  double cumulative = 0;
  std::int64_t last_positive = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (weights[i] <= 0) continue;
    cumulative += weights[i];
    last_positive = i;
    if (cumulative > target) return i;
  }
  return last_positive;
}

double sum(const std::vector<double>& values) {
  double total = 0;
  for (double v : values) total += v;
  return total;
}

/// The greedy step of k-means++: of the candidates (with their dist² to every item), the one that
/// leaves the lowest Σ_i min(closest_i, dist²(i, candidate)) (ties: the first drawn); `closest`
/// becomes those minima.
std::int64_t best_candidate(const std::vector<std::int64_t>& candidates,
                            const DistanceTable& to_candidates, std::vector<double>& closest) {
  const auto trials = static_cast<std::int64_t>(candidates.size());
  std::vector<double> best;
  std::int64_t best_index = 0;
  for (std::int64_t t = 0; t < trials; ++t) {
    std::vector<double> updated(closest);
    for (std::size_t i = 0; i < updated.size(); ++i) {
      updated[i] = std::min(updated[i], to_candidates[i * trials + t]);
    }
    if (best.empty() || sum(updated) < sum(best)) {
      best = std::move(updated);
      best_index = t;
    }
  }
  closest = std::move(best);
  return candidates[best_index];
}

/// Greedy k-means++ (cluster.hpp): the items chosen as the `clusters` initial centroids.
template <typename Metric>
std::vector<std::int64_t> seed_centroids(Metric& metric, std::int64_t clusters,
                                         std::mt19937_64& rng) {
  const int trials = 2 + static_cast<int>(std::log(double(clusters)));
  std::vector<std::int64_t> chosen{uniform_index(metric.items(), rng)};
  std::vector<double> closest = metric.distances(metric.pick(chosen));  // n x 1
  while (static_cast<std::int64_t>(chosen.size()) < clusters) {
    const double potential = sum(closest);
    std::vector<std::int64_t> candidates(static_cast<std::size_t>(trials));
    for (std::int64_t& c : candidates) c = weighted_index(closest, potential, rng);
    chosen.push_back(
        best_candidate(candidates, metric.distances(metric.pick(candidates)), closest));
  }
  return chosen;
}

/// Each item's nearest centroid (ties: the lowest index), then the empty clusters filled: each,
/// in increasing index, takes the item farthest from its centroid among the clusters of two items
/// or more (ties: the lowest item index).
std::vector<std::int64_t> assign(const DistanceTable& distances, std::int64_t clusters) {
  const auto n = static_cast<std::int64_t>(distances.size()) / clusters;
  std::vector<std::int64_t> assignment(static_cast<std::size_t>(n), 0);
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(clusters), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* row = distances.data() + i * clusters;
    assignment[i] = std::min_element(row, row + clusters) - row;
    ++sizes[assignment[i]];
  }
  for (std::int64_t k = 0; k < clusters; ++k) {
    if (sizes[k] > 0) continue;
    std::int64_t farthest = -1;
    for (std::int64_t i = 0; i < n; ++i) {
      if (sizes[assignment[i]] < 2) continue;
      const double distance = distances[i * clusters + assignment[i]];
      if (farthest < 0 || distance > distances[farthest * clusters + assignment[farthest]]) {
        farthest = i;
      }
    }
    --sizes[assignment[farthest]];
    assignment[farthest] = k;
    sizes[k] = 1;
  }
  return assignment;
}

/// One run's outcome and its centroids.
template <typename Metric>
struct Run {
  KMeansResult result;
  typename Metric::Centroids centroids;
};

/// Lloyd iterations from the seeded centroids (cluster.hpp).
template <typename Metric>
Run<Metric> lloyd(Metric& metric, const std::vector<std::int64_t>& seeds, int max_iterations) {
  const auto clusters = static_cast<std::int64_t>(seeds.size());
  std::vector<std::int64_t> assignment = assign(metric.distances(metric.pick(seeds)), clusters);
  typename Metric::Centroids centroids = metric.barycenters(assignment, clusters);
  DistanceTable distances = metric.distances(centroids);
  KMeansResult result;
  while (!result.converged && result.iterations < max_iterations) {
    std::vector<std::int64_t> next = assign(distances, clusters);
    ++result.iterations;
    result.converged = next == assignment;
    if (!result.converged) {
      assignment = std::move(next);
      centroids = metric.barycenters(assignment, clusters);
      distances = metric.distances(centroids);
    }
  }
  result.squared_distances.resize(assignment.size());
  for (std::size_t i = 0; i < assignment.size(); ++i) {
    result.squared_distances[i] = distances[i * clusters + assignment[i]];
  }
  result.objective = sum(result.squared_distances);
  result.assignment = std::move(assignment);
  return {std::move(result), std::move(centroids)};
}

/// options.n_init runs; the lowest objective wins (ties: the earliest run).
template <typename Metric>
Run<Metric> best_run(Metric& metric, const KMeansOptions& options) {
  std::optional<Run<Metric>> best;
  for (int r = 0; r < options.n_init; ++r) {
    std::mt19937_64 rng(options.seed + std::uint64_t(r) * kRunSeedStep);
    Run<Metric> run =
        lloyd(metric, seed_centroids(metric, options.clusters, rng), options.max_iterations);
    if (!best || run.result.objective < best->result.objective) best.emplace(std::move(run));
  }
  return std::move(*best);
}

void check_options(const ArgumentChecker& check, const KMeansOptions& options, std::int64_t items) {
  check.at_least("options.clusters", options.clusters, 1);
  check.expect(options.clusters <= items, "options.clusters",
               "must be <= the number of items, " + std::to_string(items) + ", got " +
                   std::to_string(options.clusters));
  check.at_least("options.n_init", options.n_init, 1);
  check.at_least("options.max_iterations", options.max_iterations, 0);
}

// ---- IGW: Euclidean k-means of the zero-padded spectra ---------------------------------------

/// Points in R^D (n x D, item-major) under the squared Euclidean distance, a centroid being the
/// mean of its members. For IGW the points are the zero-padded decreasing spectra: ‖α − β‖² is
/// IGW² (§2.2) and the mean is the spectrum of the IGW barycenter (§4).
struct EuclideanMetric {
  struct Centroids {
    std::int64_t count = 0;
    std::vector<double> coordinates;  ///< count x D, item-major
  };
  const std::vector<double>& points;
  std::int64_t n, dimension;

  std::int64_t items() const { return n; }
  const double* point(std::int64_t i) const { return points.data() + i * dimension; }

  Centroids pick(const std::vector<std::int64_t>& indices) const {
    Centroids c{static_cast<std::int64_t>(indices.size()), {}};
    for (std::int64_t i : indices) {
      c.coordinates.insert(c.coordinates.end(), point(i), point(i) + dimension);
    }
    return c;
  }
  Centroids barycenters(const std::vector<std::int64_t>& assignment, std::int64_t clusters) const {
    Centroids c{clusters, std::vector<double>(static_cast<std::size_t>(clusters * dimension), 0)};
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(clusters), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      double* centroid = c.coordinates.data() + assignment[i] * dimension;
      for (std::int64_t l = 0; l < dimension; ++l) centroid[l] += point(i)[l];
      ++sizes[assignment[i]];
    }
    for (std::int64_t k = 0; k < clusters; ++k) {
      for (std::int64_t l = 0; l < dimension; ++l) c.coordinates[k * dimension + l] /= sizes[k];
    }
    return c;
  }
  DistanceTable distances(const Centroids& c) const {
    DistanceTable table(static_cast<std::size_t>(n * c.count));
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t k = 0; k < c.count; ++k) {
        const double* centroid = c.coordinates.data() + k * dimension;
        double distance = 0;
        for (std::int64_t l = 0; l < dimension; ++l) {
          const double gap = point(i)[l] - centroid[l];
          distance += gap * gap;
        }
        table[i * c.count + k] = distance;
      }
    }
    return table;
  }
};

/// The power of two 2^-e that brings the largest |x| into [1, 2) (1 when every x is 0): k-means
/// is equivariant under scaling, and the scaled squares stay in the range of double.
double normalising_scale(const std::vector<double>& values) {
  double largest = 0;
  for (double v : values) largest = std::max(largest, std::fabs(v));
  return largest > 0 ? std::ldexp(1.0, -std::ilogb(largest)) : 1.0;
}

/// Euclidean k-means of the n padded spectra (n x D, item-major), reported as IGW k-means.
IgwKMeansResult cluster_spectra(const ArgumentChecker& check, const char* name,
                                std::vector<double> points, std::int64_t n, std::int64_t dimension,
                                const KMeansOptions& options) {
  const double scale = normalising_scale(points);
  for (double& x : points) x *= scale;
  const EuclideanMetric metric{points, n, dimension};
  Run<const EuclideanMetric> run = best_run(metric, options);
  IgwKMeansResult result;
  static_cast<KMeansResult&>(result) = std::move(run.result);
  const double squared_scale = 1 / (scale * scale);  // exact: a power of two
  for (double& distance : result.squared_distances) distance *= squared_scale;
  result.objective *= squared_scale;
  check.value_in_range<double>(
      name, result.objective,
      "the k-means objective Σ IGW² (it grows as the square of the covariances' scale)");
  result.dimension = dimension;
  result.centroid_eigenvalues = std::move(run.centroids.coordinates);
  for (double& x : result.centroid_eigenvalues) x /= scale;
  return result;
}

/// The eigenvalues of spectrum i, a centered Gaussian's as igw_spectra returns it, rounding
/// below 0 within the clamping rule set to 0 (InvalidArgument otherwise).
std::vector<double> centered_eigenvalues(const ArgumentChecker& check, const IgwSpectrum& s,
                                         std::int64_t i, const SpectralOptions& spectral) {
  std::vector<double> w = s.eigenvalues;
  check.expect(clamp_given_eigenvalues(w, spectral), "spectra",
               "item " + std::to_string(i) +
                   ": needs finite decreasing eigenvalues, none below the clamping rule's -tau x "
                   "the largest (as igw_spectra returns them)");
  const bool centered =
      s.mean_norm2 == 0 && std::all_of(s.projected_mean.begin(), s.projected_mean.end(),
                                       [](double v) { return v == 0; });
  if (!centered) {
    check.fail("spectra",
               "item " + std::to_string(i) +
                   " is not centered (mean_norm2 = " + format_number(s.mean_norm2) +
                   "): IGW k-means clusters centered Gaussians (§2.2, §4); drop the means",
               i);
  }
  return w;
}

// ---- W2: k-means of Gaussians on the context -------------------------------------------------

/// Runs `call`; an InvalidArgument of the public function it calls becomes one of `check`'s
/// function, naming `argument`, with `what` before the inner message.
template <typename Call>
void blaming(const ArgumentChecker& check, const char* argument, const std::string& what,
             Call&& call) {
  try {
    call();
  } catch (const InvalidArgument& e) {
    check.fail(argument, what + ": " + e.message());
  }
}

/// The Gaussians of one dimension under W2², a centroid being the uniform W2 barycenter of its
/// members (w2_barycenter).
template <typename T>
struct W2Metric {
  struct Centroids {
    Scratch<T> means, covariances;  ///< count x d and count x (d x d) on the context
    bool centered;
    GaussianBatch<const T> view() const {
      return {centered ? VectorBatch<const T>() : VectorBatch<const T>(means.vectors()),
              covariances.cview()};
    }
    GaussianBatch<T> slot(std::int64_t k) const {
      return {means.vectors().slice(k, k + 1), covariances.view.slice(k, k + 1)};
    }
  };
  Context& ctx;
  const ArgumentChecker& check;
  GaussianBatch<const T> gaussians;
  const KMeansOptions& options;

  std::int64_t items() const { return gaussians.count(); }
  Centroids allocate(std::int64_t count) const {
    const std::int64_t d = gaussians.dimension();
    return {Scratch<T>(ctx, d, 1, count), Scratch<T>(ctx, d, d, count), gaussians.centered()};
  }
  /// Copies the items `indices`, in order, to out (one copy per run of consecutive items).
  void gather(const std::vector<std::int64_t>& indices, GaussianBatch<T> out) const {
    for (std::size_t begin = 0; begin < indices.size();) {
      std::size_t end = begin + 1;
      while (end < indices.size() && indices[end] == indices[end - 1] + 1) ++end;
      const GaussianBatch<const T> run = gaussians.slice(indices[begin], indices[end - 1] + 1);
      const auto b = static_cast<std::int64_t>(begin), e = static_cast<std::int64_t>(end);
      copy<T>(ctx, run.covariances, out.covariances.slice(b, e));
      if (!run.centered()) copy<T>(ctx, run.means, out.means.slice(b, e));
      begin = end;
    }
  }
  Centroids pick(const std::vector<std::int64_t>& indices) const {
    Centroids c = allocate(static_cast<std::int64_t>(indices.size()));
    gather(indices, {c.means.vectors(), c.covariances.view});
    return c;
  }
  /// The uniform W2 barycenter of the items of cluster k into `out` (count 1); one item is its
  /// own barycenter.
  void barycenter(const std::vector<std::int64_t>& assignment, std::int64_t k,
                  GaussianBatch<T> out) const {
    std::vector<std::int64_t> members;
    for (std::size_t i = 0; i < assignment.size(); ++i) {
      if (assignment[i] == k) members.push_back(static_cast<std::int64_t>(i));
    }
    if (members.size() == 1) {
      gather(members, out);
      return;
    }
    const Centroids gathered = pick(members);
    blaming(check, "gaussians.covariances",
            "cluster " + std::to_string(k) + " of " + std::to_string(members.size()) +
                " Gaussians has no W2 barycenter",
            [&] {
              w2_barycenter<T>(ctx, gathered.view(), VectorBatch<const T>(), out,
                               options.barycenter);
            });
  }
  Centroids barycenters(const std::vector<std::int64_t>& assignment, std::int64_t clusters) const {
    Centroids c = allocate(clusters);
    for (std::int64_t k = 0; k < clusters; ++k) barycenter(assignment, k, c.slot(k));
    return c;
  }
  DistanceTable distances(const Centroids& c) const {
    // The K x n column-major table of W2²(centroid k, item i) is the item-major n x K table.
    const std::int64_t count = c.covariances.view.count;
    Scratch<T> table(ctx, count, items(), 1);
    blaming(check, "gaussians", "W2² to the centroids", [&] {
      w2_squared_all_pairs<T>(ctx, c.view(), gaussians, table.view, BuresOptions{options.spectral});
    });
    std::vector<T> host(static_cast<std::size_t>(count * items()));
    copy<T>(ctx, table.cview(), matrices(host.data(), count, items(), 1));
    return {host.begin(), host.end()};
  }
};

/// The arguments of w2_kmeans: shapes, options, outputs apart from the inputs, and finite,
/// symmetric, positive semidefinite covariances.
template <typename T>
void check_w2_kmeans(Context& ctx, const ArgumentChecker& check, GaussianBatch<const T> gaussians,
                     GaussianBatch<T> centroids, const KMeansOptions& options) {
  const std::int64_t n = gaussians.count(), d = gaussians.dimension();
  check_shape(check, Names("gaussians"), gaussians, n, d);
  check.expect(n >= 1, "gaussians", "must hold at least one Gaussian");
  check.expect(d >= 1, "gaussians", "must have dimension >= 1");
  check_options(check, options, n);
  check_output(check, Names("centroids"), centroids, options.clusters, d, false);
  check.outputs_apart<T>({{"gaussians.covariances", gaussians.covariances},
                          {"gaussians.means", gaussians.means.as_matrices()}},
                         {{"centroids.covariances", centroids.covariances},
                          {"centroids.means", centroids.means.as_matrices()}});
  check_values(ctx, check, Names("gaussians"), gaussians);
  Scratch<T> traces(ctx, 1, 1, n);  // positive semidefinite by the clamping rule
  run_spectral_trace<T>(ctx, check, "gaussians.covariances", gaussians.covariances,
                        SpectralFunction::sqrt(), traces.vectors(), options.spectral);
}

// ---- classical MDS ---------------------------------------------------------------------------

/// The symmetric part of the n x n distances (host copy), checked: >= 0, symmetric and with a
/// zero diagonal up to τ₀·max D.
template <typename T>
std::vector<double> symmetric_distances(const ArgumentChecker& check, const std::vector<T>& d,
                                        std::int64_t n) {
  double largest = 0;
  for (T x : d) largest = std::max(largest, double(x));
  const double slack = input_tolerance<T>() * largest;
  std::vector<double> symmetric(d.size());
  auto entry = [](std::int64_t i, std::int64_t j) {
    return "entry (" + std::to_string(i) + ", " + std::to_string(j) + ")";
  };
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < n; ++i) {
      const double x = d[i + j * n], y = d[j + i * n];
      // Messages are built only on failure: this loop runs n² times.
      if (!(x >= 0)) check.fail("distances", entry(i, j) + " is negative: " + format_number(x));
      if (!(std::fabs(x - y) <= slack)) {
        check.fail("distances", "is not symmetric: " + entry(i, j) + " = " + format_number(x) +
                                    ", " + entry(j, i) + " = " + format_number(y));
      }
      if (i == j && !(x <= slack)) {
        check.fail("distances",
                   "has a nonzero diagonal: " + entry(i, i) + " = " + format_number(x));
      }
      symmetric[i + j * n] = i == j ? 0.0 : (x + y) / 2;
    }
  }
  return symmetric;
}

/// B = −½ J D² J (J = I − 11ᵀ/n): B_ij = −½ (D²_ij − r_i − r_j + g), r the row means of D² and g
/// their mean.
std::vector<double> double_centred_squares(const std::vector<double>& d, std::int64_t n) {
  std::vector<double> squares(d.size()), row_means(static_cast<std::size_t>(n), 0);
  for (std::size_t e = 0; e < d.size(); ++e) squares[e] = d[e] * d[e];
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < n; ++i) row_means[i] += squares[i + j * n] / double(n);
  }
  const double grand_mean = sum(row_means) / double(n);
  std::vector<double> b(d.size());
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < n; ++i) {
      b[i + j * n] = -0.5 * (squares[i + j * n] - row_means[i] - row_means[j] + grand_mean);
    }
  }
  return b;
}

/// p x n coordinates X(k, i) = λ_k^½ V(i, k) for the first min(p, n) eigenpairs (V: n x p
/// host columns), with the eigenvalues clamped by `clamped`, each axis' sign making its entry
/// of largest magnitude positive (the first on ties); the rows beyond are 0.
std::vector<double> principal_coordinates(const std::vector<double>& v,
                                          const std::vector<double>& clamped, std::int64_t n,
                                          std::int64_t p) {
  std::vector<double> x(static_cast<std::size_t>(p * n), 0);
  for (std::int64_t k = 0; k < std::min(p, n); ++k) {
    const double* column = v.data() + k * n;
    std::int64_t largest = 0;
    for (std::int64_t i = 1; i < n; ++i) {
      if (std::fabs(column[i]) > std::fabs(column[largest])) largest = i;
    }
    const double factor = std::sqrt(clamped[k]) * (column[largest] < 0 ? -1 : 1);
    for (std::int64_t i = 0; i < n; ++i) x[k + i * p] = factor * column[i];
  }
  return x;
}

/// The arguments of classical_mds checked; returns the symmetric part of the distances (host).
template <typename T>
std::vector<double> checked_distances(Context& ctx, const ArgumentChecker& check,
                                      MatrixBatch<const T> distances, MatrixBatch<T> coordinates) {
  check.input("distances", distances);
  check.square("distances", distances);
  check.count("distances", distances.count, 1);
  const std::int64_t n = distances.rows, p = coordinates.rows;
  check.expect(n >= 1, "distances", "must hold at least one point (n >= 1)");
  check.output("coordinates", coordinates);
  check.count("coordinates", coordinates.count, 1);
  check.expect(p >= 1 && coordinates.cols == n, "coordinates",
               "has shape " + ArgumentChecker::shape(p, coordinates.cols) + ", expected p x " +
                   std::to_string(n) + " with p >= 1");
  check.no_alias("distances", distances, "coordinates", coordinates);
  check.finite(ctx, "distances", distances, false);
  std::vector<T> host(static_cast<std::size_t>(n * n));
  copy<T>(ctx, distances, square_matrices(host.data(), n, 1));
  return symmetric_distances(check, host, n);
}

/// The eigenvalues of the symmetric n x n matrix b (decreasing) and its first `kept`
/// eigenvectors (n x kept, column-major), by eigh on the context.
template <typename T>
std::pair<std::vector<double>, std::vector<double>> leading_eigenpairs(Context& ctx,
                                                                       const std::vector<double>& b,
                                                                       std::int64_t n,
                                                                       std::int64_t kept) {
  const Scratch<T> matrix = on_context<T>(ctx, b, n, n, 1);
  Scratch<T> eigenvalues(ctx, n, 1, 1), eigenvectors(ctx, n, n, 1);
  eigh<T>(ctx, matrix.cview(), eigenvalues.vectors(), eigenvectors.view);
  std::vector<T> host(static_cast<std::size_t>(n * kept));
  copy<T>(ctx, eigenvectors.cview().columns(0, kept), matrices(host.data(), n, kept, 1));
  return {to_host<T>(ctx, eigenvalues.vectors()), {host.begin(), host.end()}};
}

/// The eigenvalues with those below the rounding level √n·ε_T·max|λ| of the eigensolver (the
/// negative ones included) set to 0.
template <typename T>
std::vector<double> clamped_eigenvalues(std::vector<double> w) {
  const auto n = static_cast<std::int64_t>(w.size());
  const double noise = double(
      spectral_rule::noise_level<T>(n, T(std::max(std::fabs(w.front()), std::fabs(w.back())))));
  for (double& x : w) x = x > noise ? x : 0.0;
  return w;
}

// ---- contingency tables ----------------------------------------------------------------------

/// The contingency table of labelings a and b: the class sizes of each and the nonzero cells.
struct Contingency {
  struct Cell {
    std::int64_t row, column, count;
  };
  std::int64_t n = 0;
  std::vector<std::int64_t> rows, columns;  ///< class sizes of a and of b
  std::vector<Cell> cells;
};

/// Labels as class indices 0..c−1 (in increasing label order); `sizes` receives the class sizes.
std::vector<std::int64_t> class_indices(const std::vector<std::int64_t>& labels,
                                        std::vector<std::int64_t>& sizes) {
  std::vector<std::int64_t> classes(labels);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  sizes.assign(classes.size(), 0);
  std::vector<std::int64_t> indices(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    indices[i] = std::lower_bound(classes.begin(), classes.end(), labels[i]) - classes.begin();
    ++sizes[indices[i]];
  }
  return indices;
}

Contingency contingency(const char* function, const std::vector<std::int64_t>& a,
                        const std::vector<std::int64_t>& b) {
  const ArgumentChecker check(function);
  check.expect(!a.empty(), "a", "must hold at least one label");
  check.expect(b.size() == a.size(), "b",
               "has " + std::to_string(b.size()) + " labels, 'a' has " + std::to_string(a.size()));
  Contingency table;
  table.n = static_cast<std::int64_t>(a.size());
  const std::vector<std::int64_t> row = class_indices(a, table.rows);
  const std::vector<std::int64_t> column = class_indices(b, table.columns);
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) pairs[i] = {row[i], column[i]};
  std::sort(pairs.begin(), pairs.end());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0 && pairs[i] == pairs[i - 1]) {
      ++table.cells.back().count;
    } else {
      table.cells.push_back({pairs[i].first, pairs[i].second, 1});
    }
  }
  return table;
}

/// Σ x² over the counts, in long double (exact below 2^64 on x86).
long double sum_of_squares(const std::vector<std::int64_t>& counts) {
  long double total = 0;
  for (std::int64_t c : counts) total += static_cast<long double>(c) * c;
  return total;
}

/// The entropy −Σ (s/n) ln(s/n) of the class sizes s.
long double entropy(const std::vector<std::int64_t>& sizes, std::int64_t n) {
  long double h = 0;
  for (std::int64_t s : sizes) {
    const long double p = static_cast<long double>(s) / n;
    h -= p * std::log(p);
  }
  return h;
}

}  // namespace

IgwKMeansResult igw_kmeans(const std::vector<IgwSpectrum>& spectra, const KMeansOptions& options) {
  const ArgumentChecker check("igw_kmeans");
  const auto n = static_cast<std::int64_t>(spectra.size());
  check.expect(n >= 1, "spectra", "must hold at least one spectrum");
  check_options(check, options, n);
  std::int64_t depth = 0;
  std::vector<std::vector<double>> eigenvalues;
  for (std::int64_t i = 0; i < n; ++i) {
    eigenvalues.push_back(centered_eigenvalues(check, spectra[i], i, options.spectral));
    depth = std::max(depth, spectra[i].dimension());
  }
  std::vector<double> points(static_cast<std::size_t>(n * depth), 0.0);  // zero-padded (§2.2)
  for (std::int64_t i = 0; i < n; ++i) {
    std::copy(eigenvalues[i].begin(), eigenvalues[i].end(), points.begin() + i * depth);
  }
  return cluster_spectra(check, "spectra", std::move(points), n, depth, options);
}

template <typename T>
IgwKMeansResult igw_kmeans(Context& ctx, const std::vector<MatrixBatch<const T>>& inputs,
                           const KMeansOptions& options) {
  const ArgumentChecker check("igw_kmeans", &ctx);
  const CovarianceGroups groups = check_covariance_groups(check, inputs);
  check_options(check, options, groups.count);
  std::vector<double> points = padded_spectra(ctx, check, inputs, groups, options.spectral);
  return cluster_spectra(check, "inputs.covariances", std::move(points), groups.count, groups.depth,
                         options);
}

template <typename T>
KMeansResult w2_kmeans(Context& ctx, GaussianBatch<const T> gaussians, GaussianBatch<T> centroids,
                       const KMeansOptions& options) {
  const ArgumentChecker check("w2_kmeans", &ctx);
  check_w2_kmeans(ctx, check, gaussians, centroids, options);
  const W2Metric<T> metric{ctx, check, gaussians, options};
  Run<const W2Metric<T>> run = best_run(metric, options);
  copy<T>(ctx, run.centroids.covariances.cview(), centroids.covariances);
  if (!centroids.centered()) {
    if (gaussians.centered()) {
      combine<T>(ctx, {}, centroids.means.as_matrices());
    } else {
      copy<T>(ctx, VectorBatch<const T>(run.centroids.means.vectors()), centroids.means);
    }
  }
  return std::move(run.result);
}

std::vector<double> distances_from_squares(const std::vector<double>& squared, std::int64_t n) {
  const ArgumentChecker check("distances_from_squares");
  check.expect(n >= 0 && squared.size() == static_cast<std::size_t>(n * n), "squared",
               "must hold n x n = " + std::to_string(n * n) + " values, got " +
                   std::to_string(squared.size()));
  std::vector<double> distances(squared.size());
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      const double mean_square = (squared[i * n + j] + squared[j * n + i]) / 2;
      distances[i * n + j] = i == j ? 0.0 : std::sqrt(std::max(mean_square, 0.0));
    }
  }
  return distances;
}

template <typename T>
MdsReport classical_mds(Context& ctx, MatrixBatch<const T> distances, MatrixBatch<T> coordinates) {
  const ArgumentChecker check("classical_mds", &ctx);
  std::vector<double> d = checked_distances(ctx, check, distances, coordinates);
  const std::int64_t n = distances.rows, p = coordinates.rows, kept = std::min(p, n);
  // B scales as the square of D: D is scaled by a power of two into [1, 2) and scaled back.
  const double scale = normalising_scale(d);
  for (double& x : d) x *= scale;
  MdsReport report;
  std::vector<double> vectors;
  std::tie(report.eigenvalues, vectors) =
      leading_eigenpairs<T>(ctx, double_centred_squares(d, n), n, kept);
  const std::vector<double> clamped = clamped_eigenvalues<T>(report.eigenvalues);
  const double positive = sum(clamped);
  if (positive > 0) {
    report.variance_kept = sum({clamped.begin(), clamped.begin() + kept}) / positive;
  }
  std::vector<double> x = principal_coordinates(vectors, clamped, n, p);
  for (double& c : x) c /= scale;
  for (double& w : report.eigenvalues) w /= scale * scale;
  write_on_context<T>(ctx, x, coordinates);
  return report;
}

double adjusted_rand_index(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  const Contingency table = contingency("adjusted_rand_index", a, b);
  // Ordered pair counts, as scikit-learn's pair_confusion_matrix: tp joined by both, fp joined by
  // b only, fn joined by a only, tn joined by neither.
  long double cells = 0;
  for (const Contingency::Cell& c : table.cells) {
    cells += static_cast<long double>(c.count) * c.count;
  }
  const long double n = table.n;
  const long double tp = cells - n;
  const long double fp = sum_of_squares(table.columns) - cells;
  const long double fn = sum_of_squares(table.rows) - cells;
  const long double tn = n * n - fp - fn - cells;
  if (fn == 0 && fp == 0) return 1.0;
  return double(2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)));
}

double normalized_mutual_info(const std::vector<std::int64_t>& a,
                              const std::vector<std::int64_t>& b) {
  const Contingency table = contingency("normalized_mutual_info", a, b);
  if (table.rows.size() == 1 && table.columns.size() == 1) return 1.0;  // both one cluster
  if (table.rows.size() == 1 || table.columns.size() == 1) return 0.0;  // MI = 0
  // MI = Σ (n_ij/n) ln(n n_ij / (a_i b_j)); like scikit-learn, terms below ε count as 0.
  const long double n = table.n;
  long double mi = 0;
  for (const Contingency::Cell& c : table.cells) {
    const long double outer = static_cast<long double>(table.rows[c.row]) * table.columns[c.column];
    const long double term = c.count / n * std::log(n * c.count / outer);
    if (std::fabs(term) >= std::numeric_limits<double>::epsilon()) mi += term;
  }
  if (mi <= 0) return 0.0;
  const long double mean_entropy =
      (entropy(table.rows, table.n) + entropy(table.columns, table.n)) / 2;
  return double(std::min(1.0L, mi / mean_entropy));
}

#define GAUSSOT_INSTANTIATE(T)                                                               \
  template IgwKMeansResult igw_kmeans<T>(Context&, const std::vector<MatrixBatch<const T>>&, \
                                         const KMeansOptions&);                              \
  template KMeansResult w2_kmeans<T>(Context&, GaussianBatch<const T>, GaussianBatch<T>,     \
                                     const KMeansOptions&);                                  \
  template MdsReport classical_mds<T>(Context&, MatrixBatch<const T>, MatrixBatch<T>);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
