// SPDX-License-Identifier: Apache-2.0
/// @file cluster.hpp
/// Heterogeneous clustering of Gaussians (reference formulas-bures-igw-mmot.md §7.3): k-means with
/// the IGW or the Bures–Wasserstein (W2) geometry, classical multidimensional scaling of a distance
/// matrix for maps, and the scores that compare a clustering with known labels (ARI, NMI).
///
/// k-means minimises the objective Σ_i dist²(x_i, c_{a_i}) over assignments a and centroids c,
/// where a centroid is the barycenter of its cluster in the metric:
///  - igw_kmeans: centered Gaussians of any dimensions. dist² = IGW², which for centered Gaussians
///    is ‖α − β‖² of the decreasing spectra zero-padded to D = the largest dimension (§2.2), and
///    the IGW barycenter of a cluster is the Gaussian whose spectrum is the mean of its members'
///    padded spectra (§4). IGW k-means is therefore exactly Euclidean k-means on the padded
///    spectra, and runs so, on the host: O(D) numbers per Gaussian.
///  - w2_kmeans: Gaussians of one dimension d. dist² = W2² (bures.hpp, w2_squared_all_pairs of the
///    centroids against the items, on the context), centroid = the uniform W2 barycenter of the
///    members (w2_barycenter's fixed point, on the context).
///
/// The algorithm, identical for both metrics and deterministic for a seed:
///  - Seeding: greedy k-means++ as scikit-learn's: the first centre is an item drawn uniformly,
///    each next centre the best of 2 + ⌊ln K⌋ candidates drawn with probability ∝ dist² to the
///    nearest chosen centre (uniformly when every dist² is 0), best meaning the lowest resulting
///    Σ_i min dist². Restart r draws from std::mt19937_64 seeded with seed + r·0x9E3779B97F4A7C15
///    (mod 2^64); a uniform number in [0, 1) is the top 53 bits of one 64-bit output times 2^-53
///    (no std:: distribution, whose output differs between standard libraries). A draw u picks
///    the first item whose cumulative dist² exceeds u·Σ dist².
///  - Lloyd iterations: assign every item to its nearest centroid (ties: the lowest centroid
///    index), fill the empty clusters (below), move every centroid to the barycenter of its
///    members; stop when an assignment step leaves the assignment unchanged (converged) or after
///    max_iterations assignment steps.
///  - Empty clusters (scikit-learn's rule, kept from emptying another cluster): each empty
///    cluster, in increasing index, takes the item farthest from its centroid among the clusters
///    of two items or more (ties: the lowest item index); its centroid becomes that item. No
///    reported cluster is empty.
///  - n_init independent runs; the one of lowest objective is reported (ties: the earliest).
/// The reported centroids are always the barycenters of the reported clusters, and, when the run
/// converged, every item is at a nearest centroid.
#pragma once

#include <cstdint>
#include <vector>

#include "gaussot/bures.hpp"
#include "gaussot/context.hpp"
#include "gaussot/gaussian.hpp"
#include "gaussot/igw.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// Options of igw_kmeans and w2_kmeans.
struct KMeansOptions {
  std::int64_t clusters = 8;  ///< K, in [1, number of items]
  int n_init = 20;            ///< independent seeded runs (>= 1), the best is kept
  int max_iterations = 300;   ///< assignment steps after the seeding's (>= 0)
  std::uint64_t seed = 0;
  /// Clamping rule and eigensolver: the eigendecompositions of igw_kmeans on covariances, the
  /// checks and distances of w2_kmeans.
  SpectralOptions spectral;
  /// The W2 barycenter fixed point of w2_kmeans' centroids.
  BarycenterOptions barycenter;
};

/// The outcome of the best run, on the host.
struct KMeansResult {
  std::vector<std::int64_t> assignment;   ///< per item, its cluster in [0, K)
  std::vector<double> squared_distances;  ///< per item, dist² (IGW² or W2²) to its centroid
  double objective = 0;                   ///< Σ squared_distances
  int iterations = 0;                     ///< assignment steps after the seeding's
  bool converged = false;                 ///< the last assignment step changed nothing
};

/// igw_kmeans' result: the clustering and its centroids' spectra.
struct IgwKMeansResult : KMeansResult {
  std::int64_t dimension = 0;  ///< D, the largest dimension of the inputs
  /// K x D, row-major (centroid k at k·D): each centroid's spectrum, decreasing, the mean of its
  /// members' zero-padded spectra. The centroid is N(0, diag(spectrum)) in R^D (§4).
  std::vector<double> centroid_eigenvalues;
};

/// IGW k-means of centered Gaussians given by their IGW spectra (igw_spectra), of any dimensions.
/// Eigenvalues must be finite and decreasing; values below 0 within the clamping rule of
/// options.spectral (rounding, e.g. NumPy's eigvalsh of a covariance with n < d) count as 0.
/// Throws InvalidArgument naming 'spectra' and the item otherwise, or for an uncentered spectrum
/// (mean_norm2 or a projected mean nonzero: IGW k-means is for centered Gaussians), and naming the
/// option for options.clusters outside [1, n], options.n_init < 1 or options.max_iterations < 0.
IgwKMeansResult igw_kmeans(const std::vector<IgwSpectrum>& spectra,
                           const KMeansOptions& options = {});

/// IGW k-means of the centered Gaussians N(0, S_i) whose covariances come in groups of possibly
/// different dimensions, as igw_barycenter takes them: `inputs` holds one batch of covariances per
/// group (e.g. per dimension), in ctx's memory space, and the items are the groups' items in
/// order. The eigenvalues are computed on the context (options.spectral), then clustered as
/// igw_kmeans(spectra). Errors name 'inputs.covariances' and the item (its group and its index
/// across all groups) for non-finite, non-symmetric or non-PSD covariances. Synchronizes the CUDA
/// stream.
template <typename T>
IgwKMeansResult igw_kmeans(Context& ctx, const std::vector<MatrixBatch<const T>>& inputs,
                           const KMeansOptions& options = {});

/// W2 k-means of count Gaussians in R^d (means may be empty: centered).
/// @param centroids [out] K Gaussians in ctx's memory space: covariances K x (d x d), means K
///        vectors of length d or empty (count 0) to skip them (zero for centered inputs).
/// Throws InvalidArgument naming 'gaussians' (and the item) for non-finite, non-symmetric or
/// non-PSD covariances, 'centroids' for a wrong shape or memory shared with the inputs, the
/// options as igw_kmeans; InvalidArgument naming 'gaussians.covariances' and the cluster when
/// the mean covariance of a cluster of two Gaussians or more is singular (the barycenter fixed
/// point starts from it), ConvergenceError when a barycenter does not converge within
/// options.barycenter. Synchronizes the CUDA stream.
template <typename T>
KMeansResult w2_kmeans(Context& ctx, GaussianBatch<const T> gaussians, GaussianBatch<T> centroids,
                       const KMeansOptions& options = {});

/// The n x n distance matrix (for classical_mds) from an all-pairs matrix of squared distances as
/// igw_squared_all_pairs or w2_squared_all_pairs compute them (n x n, either order, symmetric up
/// to rounding): square roots of the symmetrised entries, rounding below 0 clamped, and exactly 0
/// from an item to itself (W2²(a, a) is rounding, not 0). On the host.
std::vector<double> distances_from_squares(const std::vector<double>& squared, std::int64_t n);

/// What classical_mds found besides the coordinates.
struct MdsReport {
  /// The n eigenvalues of B = −½ J D² J (J = I − 11ᵀ/n), decreasing, as computed: negative ones
  /// show how far the distances are from Euclidean. They scale as D² (+inf beyond the range of
  /// double; the coordinates and variance_kept are computed on D scaled by a power of two).
  std::vector<double> eigenvalues;
  /// The share of the variance kept: the sum of the top-p positive eigenvalues over the sum of
  /// all positive eigenvalues (eigenvalues below the rounding level √n·ε·max|λ|, ε of T, count
  /// as 0), or 1 when no eigenvalue is positive (all points coincide).
  double variance_kept = 1;
};

/// Classical (Torgerson) multidimensional scaling of an n x n distance matrix D to p dimensions:
/// B = −½ J D² J with D² the elementwise squares, B = V Λ Vᵀ (eigh on the context, decreasing),
/// coordinates = (V_p Λ_p^½)ᵀ with eigenvalues below the rounding level (negative ones included)
/// set to 0, so that the axes beyond the positive eigenvalues (and beyond n) are 0. Distances of
/// points in R^q (q <= p) are reproduced exactly up to rounding. Each axis' sign makes its entry of
/// largest magnitude positive (the first one on ties), so the map is reproducible.
/// @param distances   [in] one n x n matrix (count 1), n >= 1: finite, >= 0, symmetric and with a
///                    zero diagonal up to the relative tolerance τ₀ of spectral.hpp (|D_ij − D_ji|
///                    and |D_ii| <= τ₀·max D); the symmetric part is used.
/// @param coordinates [out] one p x n matrix (count 1), p >= 1 (2 for a planar map): column i is
///                    point i (a NumPy (n, p) C-order array).
/// Both in ctx's memory space. Throws InvalidArgument naming the argument (and the entry).
/// Synchronizes the CUDA stream.
template <typename T>
MdsReport classical_mds(Context& ctx, MatrixBatch<const T> distances, MatrixBatch<T> coordinates);

/// The adjusted Rand index of two labelings of the same n >= 1 items (labels are any integers),
/// as scikit-learn's adjusted_rand_score: from the pair counts of the contingency table,
/// 2 (tp·tn − fn·fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)), and 1 when no pair is split by
/// one labeling and joined by the other (fn = fp = 0: identical partitions, both a single
/// cluster, both all singletons). In [−1, 1]; symmetric; 0 in expectation for random labels.
/// Throws InvalidArgument naming 'a' (empty) or 'b' (another length).
double adjusted_rand_index(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);

/// The normalized mutual information of two labelings of the same n >= 1 items, as
/// scikit-learn's normalized_mutual_info_score with its default arithmetic normalisation:
/// MI(a, b) / ((H(a) + H(b)) / 2), natural logarithms; 1 when both labelings are one cluster,
/// 0 when the mutual information is 0 otherwise. In [0, 1]. Errors as adjusted_rand_index.
double normalized_mutual_info(const std::vector<std::int64_t>& a,
                              const std::vector<std::int64_t>& b);

}  // namespace gaussot
