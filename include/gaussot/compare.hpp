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

#include "gaussot/array.hpp"
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

/// The comparison of layers streamed batch by batch (a model run over a data loader): k named
/// layers of widths d_i, D = Σ d_i, fed one batch of m inputs at a time as one d_i x m view per
/// layer; `result` gives the matrices compare_representations gives on the concatenated batches,
/// to rounding, for every metric, without keeping the samples.
///
/// State, O(D² + kD) numbers in the context's memory space: with x the stacked layers of one input
/// (length D), y = x − c about a reference point c (the first batch's mean unless set by rebase),
/// and q_a = ‖y_a‖² the squared norm of layer a's part,
///   n,  s = Σ y (D),  S = Σ y yᵀ (D x D: every layer's second moments and every pair's cross
///   products),  V = Σ q yᵀ (k x D),  W = Σ q qᵀ (k x k).
/// All are sums over inputs, so batches add in any order and shards about the same reference add
/// entrywise. Moving the reference by δ (y → y − δ, derived by expanding the sums; q_a → q_a −
/// 2δ_aᵀy_a + e_a, e_a = ‖δ_a‖², t_a = tr S_aa, u_a = δ_aᵀ s_a):
///   s → s − nδ,  S → S − s δᵀ − δ (s − nδ)ᵀ,
///   V → V − 2 Δᵀ S + e sᵀ + (2u − t − n e) δᵀ,   Δ = blockdiag(δ_1, …, δ_k) (D x k),
///   W → W − 2 V Δ − 2 (V Δ)ᵀ + 4 Δᵀ S Δ + t eᵀ + e tᵀ − 2 u eᵀ − 2 e uᵀ + n e eᵀ.
/// `merge` moves the other state to this reference and adds (exact in exact arithmetic, like
/// Chan's update); `result` moves a copy to the mean (δ = s/n), where S becomes the centred scatter
/// C and W the sums Σ r_a r_b of the centred squared norms r_a = ‖x̃_a‖² — the terms of the debiased
/// HSIC (cka.hpp): its cross term ‖C_ab‖_F², Σ r_a r_b = W_ab and Σ r_a = tr C_aa. From C: the
/// Gaussians N(c + s/n, C_aa/(n − 1)) (IGW, BW), CKA from ‖C_ab‖_F², ‖C_aa‖_F², NBS from the
/// singular values of C_ab. Rounding: as a one-pass algorithm about c, so c should lie within the
/// data's spread (the first batch's mean does).
///
/// Holds a reference to its Context, which must outlive it.
template <typename T>
class ComparisonAccumulator {
 public:
  using value_type = T;
  /// Layers named `names` (for messages and the result) of widths d_i >= 1, k >= 1 layers.
  ComparisonAccumulator(Context& ctx, std::vector<std::string> names,
                        std::vector<std::int64_t> widths);

  /// Adds one batch of m >= 1 inputs: layers[i] is one d_i x m matrix (columns are inputs: a
  /// NumPy (m, d_i) C-order array) in host memory or the context's. Throws InvalidArgument naming
  /// the layer ('layers[i]' and its name) for a missing layer, a wrong width, an m different from
  /// layers[0]'s or non-finite values, leaving the accumulator unchanged.
  void update(const std::vector<MatrixBatch<const T>>& layers);

  /// Adds the inputs `other` has seen (same names and widths; any reference).
  void merge(const ComparisonAccumulator& other);

  /// The comparison of everything added (compare_representations' options and matrices; set_reads
  /// is 0). Needs n >= 2 (>= 4 for the debiased CKA); throws InvalidArgument naming the layer for
  /// constant features (CKA, NBS) or a debiased self term that is not positive.
  Comparison result(const CompareOptions& options = {}) const;

  /// Moves the state to the reference point `reference` (length D, host or context memory): the
  /// same inputs, summed about another point. States with equal references add entrywise (an
  /// all-reduce across processes); before the first update it fixes the reference.
  void rebase(VectorBatch<const T> reference);

  /// The flat state (file comment) into views in host memory or the context's: reference c and
  /// sums s (length D), products S (D x D), norm_sums V (k x D), norm_products W (k x k); with
  /// samples(), all restore() needs.
  void state(VectorBatch<T> reference, VectorBatch<T> sums, MatrixBatch<T> products,
             MatrixBatch<T> norm_sums, MatrixBatch<T> norm_products) const;

  /// Replaces the state by one state() wrote (or a sum of states with one reference). Throws
  /// InvalidArgument for wrong shapes, non-finite values, samples < 0 or products not symmetric,
  /// leaving the accumulator unchanged.
  void restore(std::int64_t samples, VectorBatch<const T> reference, VectorBatch<const T> sums,
               MatrixBatch<const T> products, MatrixBatch<const T> norm_sums,
               MatrixBatch<const T> norm_products);

  /// Forgets every input (and the reference).
  void reset();

  std::int64_t samples() const noexcept { return samples_; }
  const std::vector<std::string>& names() const noexcept { return names_; }
  const std::vector<std::int64_t>& widths() const noexcept { return widths_; }
  /// D = Σ d_i.
  std::int64_t total_width() const noexcept { return total_width_; }

 private:
  /// The sums about the reference (file comment), on the context.
  struct State {
    Array<T> reference, sums, products, norm_sums, norm_products;
    /// Whether the blocks of S above its block diagonal are current: update adds to the blocks
    /// on and below it only (half the products), complete() mirrors them when S is read.
    bool complete = true;
  };
  State copy_state() const;
  /// Writes S_ab = S_baᵀ for a < b when they are stale.
  void complete(State& state) const;
  /// Moves `state` (holding `samples` inputs) to the reference c + δ (δ: D x 1 on the context).
  void move_reference(State& state, std::int64_t samples, MatrixBatch<const T> delta) const;
  std::string layer_name(std::size_t i) const;

  Context* ctx_;
  std::vector<std::string> names_;
  std::vector<std::int64_t> widths_, offsets_;
  std::int64_t total_width_ = 0;
  std::int64_t samples_ = 0;
  bool has_reference_ = false;
  mutable State state_;  ///< mutable: reading S completes its upper blocks (logically const)
};

}  // namespace gaussot
