// SPDX-License-Identifier: Apache-2.0
// Private: the W2 barycenter fixed point of Álvarez-Esteban, del Barrio, Cuesta-Albertos and
// Matrán (formulas §6.6), shared by w2_barycenter (which stops on its residual) and mmot's
// fixed-point solver (which stops on the dual certificate of the factors).
#pragma once

#include <functional>
#include <type_traits>

#include "gaussot/bures.hpp"
#include "validate.hpp"

namespace gaussot {

/// The residual w2_barycenter stops on by default: 1e-12 in double, 1e-5 in float.
template <typename T>
constexpr double default_barycenter_tolerance() {
  return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

/// One iterate B_n, seen by the stop rule, with what the iteration computed from it.
template <typename T>
struct BarycenterIterate {
  int iteration;                      ///< n, from 0 (B_0 = Σ ρ_i S_i)
  double residual;                    ///< ‖Σ ρ_i (B^½ S_i B^½)^½ − B‖_F / ‖B‖_F
  MatrixBatch<const T> current;       ///< B_n (d x d)
  MatrixBatch<const T> inverse_root;  ///< B_n^-½
  MatrixBatch<const T> middles;       ///< (B_n^½ S_i B_n^½)^½, k items
};

/// Iterates B ← B^-½ (Σ ρ_i (B^½ S_i B^½)^½)² B^-½ from B_0 = Σ ρ_i S_i until stop(iterate)
/// returns true (it may throw), then writes that iterate to `out` (d x d).
/// @param covariances k packed d x d positive semidefinite matrices (validated by the caller).
/// @param weights     a k x 1 matrix of weights summing to 1, in the context's memory.
/// Errors of the spectral steps name 'inputs.covariances' through `check`.
template <typename T>
BarycenterReport barycenter_fixed_point(
    Context& ctx, const ArgumentChecker& check, MatrixBatch<const T> covariances,
    MatrixBatch<const T> weights, MatrixBatch<T> out, const BarycenterOptions& options,
    const std::function<bool(const BarycenterIterate<T>&)>& stop);

}  // namespace gaussot
