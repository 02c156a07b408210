// SPDX-License-Identifier: Apache-2.0
/// @file statistics.hpp
/// Sample mean and covariance of batches of sample sets, computed chunk by chunk.
///
/// Samples of batch item i form a column-major d x n matrix whose columns are the samples: a NumPy
/// array of shape (k, n, d) in C order is exactly this layout (see views.hpp).
///
/// Method: each chunk of m columns is centred on its own mean and its scatter (Xc Xcᵀ) computed by
/// a GEMM; chunks are merged with the pairwise update of Chan, Golub and LeVeque (1979):
///   n = n_a + n_b,  δ = mean_b − mean_a,  mean = mean_a + δ·n_b/n,
///   M = M_a + M_b + δδᵀ·n_a·n_b/n,
/// and the covariance is M / (n − 1). Accuracy is that of a two-pass algorithm within each chunk;
/// memory beyond the outputs is O(k·d·m).
#pragma once

#include <cstdint>

#include "gaussot/array.hpp"
#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

template <typename T>
class FrechetDistance;  // fid.hpp

/// Running mean and scatter matrix of `count` sample sets in dimension d, fed chunk by chunk, so
/// that the samples never need to be in memory at once. Holds a reference to its Context, which
/// must outlive it; state lives in the context's memory space.
template <typename T>
class MomentAccumulator {
 public:
  MomentAccumulator(Context& ctx, std::int64_t dimension, std::int64_t count);

  /// Adds m new samples to every set: `chunk` is count x (d x m), columns are samples, in
  /// ctx.memory_space(). Throws InvalidArgument for a wrong shape or non-finite samples.
  void add(MatrixBatch<const T> chunk);

  /// Samples added so far (per set).
  std::int64_t samples() const noexcept { return samples_; }
  std::int64_t dimension() const noexcept { return dimension_; }
  std::int64_t count() const noexcept { return count_; }

  /// Writes the sample means (count vectors of length d) and covariances (count x d x d, divisor
  /// n − 1). Throws InvalidArgument when fewer than 2 samples were added.
  void finalize(VectorBatch<T> mean, MatrixBatch<T> covariance) const;

  /// Adds the samples another accumulator has seen (same dimension and count), as if its chunks
  /// had been added here: Chan's pairwise update (file comment). The result does not depend on
  /// how the samples were split between the two, up to rounding.
  void merge(const MomentAccumulator& other);

  /// The state, for saving it or reducing it across processes: the running means (count x d) and
  /// scatter matrices Σ (x − mean)(x − mean)ᵀ (count x d x d), into views in host memory or the
  /// context's; with samples(), all that restore() needs.
  void state(VectorBatch<T> mean, MatrixBatch<T> scatter) const;

  /// Replaces the state by one state() wrote (samples >= 0; zeros when samples is 0). Throws
  /// InvalidArgument for wrong shapes, non-finite values or a scatter matrix that is not
  /// symmetric, leaving the accumulator unchanged.
  void restore(std::int64_t samples, VectorBatch<const T> mean, MatrixBatch<const T> scatter);

 private:
  template <typename>
  friend class FrechetDistance;
  /// add() after its checks: FrechetDistance checks its features itself, naming them.
  void add_checked(MatrixBatch<const T> chunk);

  Context* ctx_;
  std::int64_t dimension_;
  std::int64_t count_;
  std::int64_t samples_ = 0;
  Array<T> mean_;
  Array<T> scatter_;
};

/// Sample means and covariances (divisor n − 1) of count sample sets held in memory.
///
/// @param samples [in] count x (d x n), columns are samples (NumPy (k, n, d) C order), n >= 2.
/// @param mean    [out] count vectors of length d.
/// @param covariance [out] count x (d x d).
/// @param chunk_columns samples per chunk; 0 picks a chunk that keeps the centred copy of one
///        chunk of every set under 2^24 elements.
/// Throws InvalidArgument (shapes, memory space, n < 2, non-finite samples). Synchronizes only to
/// validate device inputs.
template <typename T>
void sample_moments(Context& ctx, MatrixBatch<const T> samples, VectorBatch<T> mean,
                    MatrixBatch<T> covariance, std::int64_t chunk_columns = 0);

}  // namespace gaussot
