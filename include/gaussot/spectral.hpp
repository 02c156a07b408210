// SPDX-License-Identifier: Apache-2.0
/// @file spectral.hpp
/// Spectral functions of symmetric positive (semi)definite matrices: f(A) = V diag(f(w)) Vᵀ for
/// A = V diag(w) Vᵀ, batched: square root, inverse square root, both at once, power, logarithm.
///
/// Clamping rule. Eigenvalues are computed with a relative error of a few d·ε, so a PSD matrix may
/// show tiny negative eigenvalues. With scale s = max(max_j |w_j|, floor) of the item (floor = 0 by
/// default, so the rule is scale-invariant; the command line uses floor = 1, as CLI.md specifies)
/// and tolerance τ (below):
///  - an eigenvalue w < -τ·s means the item is not PSD: InvalidArgument naming the item;
///  - every other negative eigenvalue, and every eigenvalue below the rounding level √d·ε·max|w|
///    of the eigensolver (which cannot be told from 0), is set to 0 before f is applied;
///  - for functions that are singular at 0 (inverse square root, logarithm, negative powers) an
///    eigenvalue w <= τ·s is numerically zero and the item is refused as not positive definite.
/// Default τ = max(τ₀, 2·d·ε_T) with τ₀ = 1e-10 for double and 1e-10·√(ε_float/ε_double) ≈ 2.3e-6
/// for float (the same bars as the command-line input checks, loosened where the eigensolver's own
/// rounding, about d·ε·s, would exceed them).
#pragma once

#include <optional>

#include "gaussot/context.hpp"
#include "gaussot/eigh.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// A scalar function applied to the eigenvalues.
struct SpectralFunction {
  enum class Kind { sqrt, inv_sqrt, log, power, entropic, shrink };
  Kind kind = Kind::sqrt;
  /// The exponent p of Kind::power, σ² of Kind::entropic, λ of Kind::shrink.
  double parameter = 1.0;

  static SpectralFunction sqrt() { return {Kind::sqrt, 0.5}; }
  static SpectralFunction inv_sqrt() { return {Kind::inv_sqrt, -0.5}; }
  static SpectralFunction log() { return {Kind::log, 0.0}; }
  static SpectralFunction power(double p) { return {Kind::power, p}; }
  /// w ↦ 2 / (√(4w + σ⁴) + σ²) = 1 / (c_σ(w) + σ²), with c_σ(w) = (√(4w + σ⁴) − σ²)/2 the
  /// eigenvalues of the entropic cross-covariance (formulas-entropic.md §1.2); σ² > 0. Tends to
  /// w^-½ as σ → 0, and is 1/σ² at w = 0 (so singular matrices are fine).
  static SpectralFunction entropic(double sigma_squared) { return {Kind::entropic, sigma_squared}; }
  /// w ↦ w / (w + λ), λ > 0: A (A + λI)^-1 (the unbalanced Ã of formulas-entropic.md §2).
  static SpectralFunction shrink(double lambda) { return {Kind::shrink, lambda}; }
  /// True when f is singular at 0 (inverse square root, logarithm, negative power).
  bool singular_at_zero() const {
    return kind == Kind::inv_sqrt || kind == Kind::log || (kind == Kind::power && parameter < 0);
  }
  /// "sqrt", "inv_sqrt", "log", "power", "entropic" or "shrink".
  const char* name() const;
};

struct SpectralOptions {
  /// Relative tolerance τ of the clamping rule; empty for the default of the file comment.
  std::optional<double> psd_tolerance;
  /// Floor of the scale s of the clamping rule (>= 0).
  double scale_floor = 0.0;
  EighAlgorithm algorithm = EighAlgorithm::automatic;
};

/// CLI.md's relative input tolerance τ₀: 1e-10 in double, 1e-10·√(ε_float/ε_double) ≈ 2.3e-6 in
/// float. It bounds asymmetry (|C − Cᵀ| <= τ₀·max|C|) and is the base of the clamping rule.
template <typename T>
double input_tolerance();

/// The default τ of the clamping rule for element type T and order d: max(τ₀, 2·d·ε_T).
template <typename T>
double default_psd_tolerance(std::int64_t d);

/// out_i = f(a_i) for symmetric PSD a_i (only the lower triangle of a is read).
///
/// @param a   [in] count x (d x d), in ctx.memory_space(); may broadcast.
/// @param out [out] count x (d x d), symmetric (both triangles written); may alias `a` only when
///            both are the same packed view.
/// Throws InvalidArgument (shapes, memory space, non-finite input, the clamping rule above),
/// ConvergenceError if the eigensolver fails. Synchronizes the CUDA stream.
template <typename T>
void matrix_function(Context& ctx, MatrixBatch<const T> a, SpectralFunction f, MatrixBatch<T> out,
                     const SpectralOptions& options = {});

/// Principal square root A^½ of PSD matrices (matrix_function with SpectralFunction::sqrt()).
template <typename T>
void sqrtm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> out,
           const SpectralOptions& options = {});

/// A^-½ of positive definite matrices.
template <typename T>
void inv_sqrtm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> out,
               const SpectralOptions& options = {});

/// A^½ and A^-½ from one eigendecomposition. The outputs must not alias each other or `a`.
template <typename T>
void sqrtm_and_inv_sqrtm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> sqrt_out,
                         MatrixBatch<T> inv_sqrt_out, const SpectralOptions& options = {});

/// A^p: any real p for positive definite A, p >= 0 for PSD A.
template <typename T>
void powm(Context& ctx, MatrixBatch<const T> a, double p, MatrixBatch<T> out,
          const SpectralOptions& options = {});

/// Principal logarithm of positive definite matrices.
template <typename T>
void logm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> out,
          const SpectralOptions& options = {});

}  // namespace gaussot
