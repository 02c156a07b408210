// SPDX-License-Identifier: Apache-2.0
// Private: the polar factor of a batch of matrices, the gradient of their nuclear norms (used by
// the samples path of the FID gradient, bures.cpp, and the shape-metric gradients, cka.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussot/spectral.hpp"

namespace gaussot {

/// The polar factor P = U Vᵀ of each m_i (rows x cols) over its singular values σ with σ² above
/// τ·σ_max² (τ the clamping tolerance of `spectral` for the smaller order k): P = (M Mᵀ)^{+½} M
/// when rows <= cols, else M (MᵀM)^{+½}, the pseudo-inverse square root from the eigendecomposition
/// of the k x k Gram matrix. ∂‖M‖_*/∂M where M has full rank k; the least-norm subgradient
/// otherwise.
template <typename T>
void polar_factor(Context& ctx, MatrixBatch<const T> m, MatrixBatch<T> out,
                  const SpectralOptions& spectral) {
  const bool left = m.rows <= m.cols;
  const std::int64_t k = std::min(m.rows, m.cols), count = m.count;
  Scratch<T> gram(ctx, k, k, count), w(ctx, k, 1, count), v(ctx, k, k, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, left ? Transpose::no : Transpose::yes,
                   left ? Transpose::yes : Transpose::no, T(1), m, m, T(0), gram.view);
  eigh<T>(ctx, gram.cview(), w.vectors(), v.view);
  const std::vector<double> values = to_host<T>(ctx, w.vectors());
  const double tau = spectral.psd_tolerance.value_or(default_psd_tolerance<T>(k));
  std::vector<double> inverse_roots(static_cast<std::size_t>(k * count), 0.0);
  for (std::int64_t i = 0; i < count; ++i) {
    const double largest = values[i * k];  // decreasing order
    for (std::int64_t j = 0; j < k; ++j) {
      const double value = values[i * k + j];
      if (value > tau * largest && value > 0) inverse_roots[i * k + j] = 1 / std::sqrt(value);
    }
  }
  Scratch<T> root(ctx, k, k, count);
  from_eigenpairs<T>(ctx, v.cview(), inverse_roots, root.view);
  if (left) {
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), root.cview(), m, T(0), out);
  } else {
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), m, root.cview(), T(0), out);
  }
}

}  // namespace gaussot
