// SPDX-License-Identifier: Apache-2.0
// The pieces of linear CKA (cka.hpp) shared by linear_cka and compare_representations: sample
// sets centred and scaled to unit Frobenius norm, their products, and the ratios.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "compose.hpp"
#include "gaussot/views.hpp"
#include "validate.hpp"

namespace gaussot {

/// Sample sets (d x n each, columns are samples) centred on their means and divided by
/// √ν, ν = ‖X̃‖_F²: X̂ = X̃ / √ν, so that ‖X̂‖_F = 1 and every product below is at most 1 in
/// magnitude (no overflow while ν is representable). Constructing checks ν: zero (constant
/// features) or outside the normal range of T fails with InvalidArgument naming `name` and the
/// item (numbered from `first_item`).
template <typename T>
struct UnitSampleSets {
  std::int64_t d, n, count;
  Scratch<T> unit;                    ///< d x n per item
  std::vector<double> inverse_roots;  ///< 1/√ν per item, on the host
  UnitSampleSets(Context& ctx, const ArgumentChecker& check, const std::string& name,
                 MatrixBatch<const T> samples, std::int64_t first_item = 0);
  /// The samples of every item as n·count columns of length d.
  MatrixBatch<const T> columns() const {
    return {unit.view.data, d, 1, d, d, n * count, unit.view.space};
  }
};

/// out_i = ‖X̂_i Ŷ_iᵀ‖_F² for count pairs (either side may broadcast; d_a, d_b may differ).
template <typename T>
void cross_squares(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y,
                   VectorBatch<T> out);

/// r̂ per set: the n squared sample norms ‖x̂_j‖² of every item (n x 1 per item; Σ_j r̂_j = 1).
template <typename T>
Scratch<T> sample_norms(Context& ctx, const UnitSampleSets<T>& sets);

/// Linear CKA from the unit-normalised terms: ‖X̂Ŷᵀ‖² / √(‖X̂X̂ᵀ‖² ‖ŶŶᵀ‖²).
inline double cka_ratio(double cross, double self_x, double self_y) {
  return cross / std::sqrt(self_x * self_y);
}

/// ĥ(X, Y) = ‖X̂Ŷᵀ‖² − n/(n − 2) Σ r̂ŝ + 1/((n − 1)(n − 2)), the debiased HSIC numerator of
/// cka.hpp divided by √(ν_x ν_y) (with Σ r̂ = Σ ŝ = 1).
inline double debiased_hsic(double cross, double norm_products, std::int64_t n) {
  const double nd = double(n);
  return cross - nd / (nd - 2) * norm_products + 1 / ((nd - 1) * (nd - 2));
}

/// ĥ(X, X) of one set, checked: at or below the rounding level of its terms it is not positive
/// and the debiased CKA undefined: InvalidArgument naming `name` and `item`.
double checked_self_hsic(const ArgumentChecker& check, const std::string& name, std::int64_t item,
                         double squares, double norm_squares, std::int64_t n, double epsilon);

}  // namespace gaussot
