// SPDX-License-Identifier: Apache-2.0
/// @file gaussian.hpp
/// GaussianBatch, the type every module's Gaussians come in (Bures–Wasserstein, IGW, entropic OT,
/// MMOT, neural GW), in a header of its own so that a module needs none of the others to use it.
#pragma once

#include <cstdint>
#include <type_traits>

#include "gaussot/views.hpp"

namespace gaussot {

/// A batch of Gaussians N(mean_i, covariance_i) in R^d: the currency of gaussot's API.
/// `means` holds count vectors of length d, or is empty (count 0) for all-zero means;
/// `covariances` holds count symmetric d x d matrices. Either may broadcast (stride 0).
template <typename T>
struct GaussianBatch {
  VectorBatch<T> means;
  MatrixBatch<T> covariances;

  GaussianBatch() = default;
  GaussianBatch(VectorBatch<T> means_, MatrixBatch<T> covariances_)
      : means(means_), covariances(covariances_) {}
  template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T>>>
  GaussianBatch(const GaussianBatch<U>& other)  // NOLINT(google-explicit-constructor): T -> const T
      : GaussianBatch(other.means, other.covariances) {}

  std::int64_t count() const { return covariances.count; }
  std::int64_t dimension() const { return covariances.rows; }
  bool centered() const { return means.count == 0; }
  /// Items [begin, end).
  GaussianBatch slice(std::int64_t begin, std::int64_t end) const {
    return {centered() ? means : means.slice(begin, end), covariances.slice(begin, end)};
  }
};

/// One Gaussian repeated `count` times (stride 0), for one-versus-many calls.
template <typename T>
GaussianBatch<T> broadcast(GaussianBatch<T> one, std::int64_t count) {
  VectorBatch<T> means = one.means;
  if (!one.centered()) means = VectorBatch<T>(means.data, means.size, 0, count, means.space);
  return {means, broadcast(one.covariances, count)};
}

}  // namespace gaussot
