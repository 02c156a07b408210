// SPDX-License-Identifier: Apache-2.0
// Private: what compare_representations and ComparisonAccumulator (compare.hpp) compute the same
// way from the fitted Gaussians and from the centred cross products of the sets.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <vector>

#include "gaussot/array.hpp"
#include "gaussot/compare.hpp"

namespace gaussot {

/// Writes value at (i, j) and (j, i) of a k x k row-major matrix.
inline void set_symmetric(std::vector<double>& m, std::int64_t k, std::int64_t i, std::int64_t j,
                          double value) {
  m[static_cast<std::size_t>(i * k + j)] = value;
  m[static_cast<std::size_t>(j * k + i)] = value;
}

/// The k x k matrices of `options`' metrics in `result`, filled with NaN (cka, cka_debiased, nbs,
/// procrustes; IGW and BW are sized when they are computed).
void allocate_product_metrics(const CompareOptions& options, std::int64_t k, Comparison& result);

/// The IGW and BW tables of a comparison from the sets' fitted Gaussians: each set's IGW
/// spectrum is kept as it is added (O(d) numbers); its mean and covariance only when BW is asked
/// for, until the BW table of its dimension is formed.
template <typename T>
class GaussianTables {
 public:
  GaussianTables(Context& ctx, const CompareOptions& options);
  /// Set i's Gaussian: mean (one vector of length d) and covariance (one d x d matrix), on the
  /// context. Sets are added in order 0, 1, ...
  void add(std::int64_t i, VectorBatch<const T> mean, MatrixBatch<const T> covariance);
  /// result.igw, igw_lower, igw_upper, igw_exact over the sets added; `row_done` after each row.
  void igw(Comparison& result, const std::function<void()>& row_done) const;
  /// result.bw: W2 within each dimension, NaN across; `row_done` after each row. Releases the
  /// kept Gaussians.
  void bw(Comparison& result, const std::function<void()>& row_done);

 private:
  Context& ctx_;
  const CompareOptions& options_;
  std::vector<IgwSpectrum> spectra_;
  std::vector<std::int64_t> dimensions_;
  /// Set i's [mean | covariance], packed, for BW.
  std::map<std::int64_t, Array<T>> gaussians_;
};

}  // namespace gaussot
