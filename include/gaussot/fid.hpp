// SPDX-License-Identifier: Apache-2.0
/// @file fid.hpp
/// The Fréchet distance as a metric over streamed features (the pattern of torchmetrics'
/// FrechetInceptionDistance: running sums, never the samples): features of real and generated
/// inputs are added batch by batch on either side, `compute` gives W2² between the two fitted
/// Gaussians (sample mean, covariance with divisor n − 1), as frechet_distance (bures.hpp) gives
/// it for sample sets held in memory. A side may instead be fixed to published statistics (the
/// `mu`, `sigma` of pytorch-fid and clean-fid). Several instances (processes, devices) each
/// accumulate a shard and are reduced by `merge`, or through their flat state.
#pragma once

#include <cstdint>
#include <optional>

#include "gaussot/array.hpp"
#include "gaussot/bures.hpp"
#include "gaussot/context.hpp"
#include "gaussot/statistics.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

template <typename T>
class FrechetDistance {
 public:
  using value_type = T;
  /// Features of dimension d >= 1 on `ctx`, which must outlive the metric.
  FrechetDistance(Context& ctx, std::int64_t dimension);

  /// Adds m feature vectors to the real (`real`) or generated side: `features` is one d x m
  /// matrix (columns are samples: a NumPy (m, d) C-order array) in ctx.memory_space(). Throws
  /// InvalidArgument for a wrong shape, non-finite features, or a side fixed by set_statistics,
  /// leaving the metric unchanged.
  void update(MatrixBatch<const T> features, bool real);

  /// Fixes a side to given statistics (a mean of length d and a d x d covariance, count 1, in
  /// host memory or the context's): finite, symmetric and positive semidefinite by the clamping
  /// rule, else InvalidArgument naming `mean`/`covariance`. Updates of that side are refused
  /// until reset.
  void set_statistics(bool real, VectorBatch<const T> mean, MatrixBatch<const T> covariance);

  /// W2² between the fitted Gaussians of the two sides (each needs 2 samples or statistics): the
  /// FID when the features are Inception pool features. InvalidArgument naming the side
  /// otherwise.
  double compute(const BuresOptions& options = {}) const;

  /// The mean and covariance of one side (InvalidArgument when it has fewer than 2 samples and no
  /// statistics), into views in host memory or the context's: what save_stats writes.
  void statistics(bool real, VectorBatch<T> mean, MatrixBatch<T> covariance) const;

  /// Empties one side (its samples or its fixed statistics).
  void reset(bool real);

  /// Adds the samples `other` has seen on each side (same dimension; a side fixed by statistics
  /// on either metric is refused).
  void merge(const FrechetDistance& other);

  /// The running moments of a side (MomentAccumulator: samples(), state(), restore()) for its
  /// flat state; empty sides have 0 samples.
  const MomentAccumulator<T>& moments(bool real) const { return real ? real_ : generated_; }
  MomentAccumulator<T>& moments(bool real) { return real ? real_ : generated_; }
  bool fixed(bool real) const { return (real ? real_fixed_ : generated_fixed_).has_value(); }
  std::int64_t dimension() const noexcept { return dimension_; }

 private:
  /// A side given by statistics: mean (d) and covariance (d x d) on the context.
  struct Fixed {
    Array<T> mean, covariance;
  };
  const std::optional<Fixed>& fixed_side(bool real) const {
    return real ? real_fixed_ : generated_fixed_;
  }

  Context* ctx_;
  std::int64_t dimension_;
  MomentAccumulator<T> real_, generated_;
  std::optional<Fixed> real_fixed_, generated_fixed_;
};

}  // namespace gaussot
