// SPDX-License-Identifier: Apache-2.0
/// @file compare.hpp
/// Layer-by-layer comparison of many representations: activation sets that share their n input
/// rows (one per network and layer, of any widths d_i) compared all against all with IGW, BW and
/// linear CKA, reading each set when it is needed so that the sets never need to be in memory at
/// once.
///
/// What is computed, for sets X_i (n x d_i, rows are samples) and their fitted Gaussians
/// N(m_i, S_i) (sample mean, covariance with divisor n − 1; means dropped with `centered`):
/// - IGW (igw.hpp): best IGW value found, and the analytic lower/upper bounds, for every pair.
///   Each Gaussian is decomposed once (its IGW spectrum, O(d_i) numbers, is kept); the pairs are
///   formed from the spectra (`igw_squared_all_pairs` on spectra). Exact when `centered`.
/// - BW (bures.hpp): W2 between pairs of the same dimension; NaN for pairs of different
///   dimensions. Keeps the covariances (d_i² numbers per set) of the dimension groups.
/// - linear CKA and debiased linear CKA (cka.hpp) from the samples themselves: each pair needs
///   both sets, so the prepared sets (centred, d_i x n) are held in blocks within
///   `memory_limit_bytes` and the others are streamed past each block; with everything fitting,
///   each set is read once.
/// - shape metrics from the same cross products (Williams et al. 2021; Harvey, Larsen & Williams
///   2023), for centred X̃_i, X̃_j of any widths: the normalized Bures similarity
///   NBS = ‖X̃_iᵀ X̃_j‖_* / (‖X̃_i‖_F ‖X̃_j‖_F) in [0, 1] (the nuclear norm, from the singular values
///   of the d_i x d_j cross product, computed on the host) and the angular Procrustes shape
///   distance arccos(NBS) in [0, π/2], whose cosine is NBS; 1 and 0 on the diagonal.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gaussot/bures.hpp"
#include "gaussot/context.hpp"
#include "gaussot/igw.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// One activation set, read on demand.
template <typename T>
struct ActivationSet {
  std::string name;
  std::int64_t samples = 0;   ///< n (rows), the same for every set
  std::int64_t features = 0;  ///< d_i (columns)
  /// Returns the n x d_i samples as one d_i x n column-major matrix (a NumPy (n, d_i) C-order
  /// array), in host memory or in the context's memory space. The view must stay valid until the
  /// next call of this loader; it may be called several times (see memory_limit_bytes).
  std::function<MatrixBatch<const T>()> load;
};

/// What to compute and how.
struct CompareOptions {
  bool igw = true;
  bool bw = true;
  bool cka = true;
  bool cka_debiased = false;  ///< also the debiased CKA (needs n >= 4)
  bool nbs = false;           ///< normalized Bures similarity
  bool procrustes = false;    ///< angular Procrustes shape distance, arccos(NBS)
  /// Compare the centered Gaussians (means dropped) for IGW and BW: IGW is then the exact closed
  /// form; otherwise the uncentered IGW is bounded and estimated by the ascent.
  bool centered = false;
  IgwOptions igw_options;
  BuresOptions bw_options;
  /// Memory for the prepared CKA sets held at once (bytes, in the context's memory space); at
  /// least one set is always held.
  std::int64_t memory_limit_bytes = std::int64_t(2) << 30;
  /// Called as work progresses: `done` of `total` units (one unit per set read, per IGW row and
  /// per BW row), with the stage ("reading", "cka", "igw", "bw"). May be empty.
  std::function<void(const char* stage, std::int64_t done, std::int64_t total)> progress;
};

/// The matrices of a comparison: k x k, row-major (entry (i, j) at i·k + j), in host memory,
/// double whatever T. Empty when the metric was not asked for.
struct Comparison {
  std::vector<std::string> names;
  std::vector<std::int64_t> dimensions;
  std::int64_t samples = 0;
  std::vector<double> igw, igw_lower, igw_upper;  ///< distances (square roots of IGW² values)
  std::vector<bool> igw_exact;
  std::vector<double> bw;  ///< W2 distances; NaN where the dimensions differ
  std::vector<double> cka, cka_debiased;
  std::vector<double> nbs, procrustes;
  std::int64_t set_reads = 0;  ///< how many times a set was loaded
};

/// Compares every pair of `sets` (see the file comment). Sets need the same n >= 2 (>= 4 for the
/// debiased CKA) and d_i >= 1. Throws InvalidArgument naming the set ('sets[i]' and its name) for
/// wrong shapes, different n, non-finite samples, constant features (CKA, NBS) or a loader that
/// returns a view of another shape; nothing is returned on error.
template <typename T>
Comparison compare_representations(Context& ctx, const std::vector<ActivationSet<T>>& sets,
                                   const CompareOptions& options = {});

}  // namespace gaussot
