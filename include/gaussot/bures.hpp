// SPDX-License-Identifier: Apache-2.0
/// @file bures.hpp
/// The 2-Wasserstein (Bures–Wasserstein) geometry of Gaussian measures, batched: distances
/// (paired, one-versus-many, all pairs), the Brenier map, McCann geodesics, the gradient of W2²,
/// weighted barycenters, and the Fréchet distance (FID) of two sample sets.
///
/// Formulas (reference formulas-bures-igw-mmot.md §1, §6.6), for μ = N(m1, S1), ν = N(m2, S2):
///   W2²(μ, ν) = ‖m1 − m2‖² + tr S1 + tr S2 − 2 tr (S1^½ S2 S1^½)^½
///   Brenier map T(x) = m2 + A (x − m1),  A = S1^-½ (S1^½ S2 S1^½)^½ S1^-½   (S1 positive definite)
///   McCann interpolant at t: N((1−t) m1 + t m2, B_t S1 B_t), B_t = (1−t) I + t A
///   ∇_m1 W2² = 2 (m1 − m2), ∇_S1 W2² = I − A (S1 positive definite), and symmetrically for ν.
/// The trace term is computed on the symmetric path: S1^½ from one eigendecomposition of S1, then
/// the eigenvalues only of S1^½ S2 S1^½ (never a non-symmetric sqrtm). Singular covariances are
/// fine for distances (fewer samples than dimensions); the map, geodesic and gradient need the
/// source covariance positive definite and say so otherwise.
///
/// Conventions: W2² is reported (take the square root for W2); rounding can make a computed W2²
/// slightly negative, so it is clamped at 0. Covariances must be finite and symmetric (|C − Cᵀ| <=
/// τ·max|C|, τ as in spectral.hpp) and positive semidefinite by the clamping rule of spectral.hpp;
/// the error names the argument ('a' or 'b'), the part (means or covariances) and the batch item.
/// All functions synchronize the CUDA stream (they read per-item solver status).
#pragma once

#include <cstdint>
#include <optional>

#include "gaussot/context.hpp"
#include "gaussot/gaussian.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// Options shared by the Bures–Wasserstein functions.
struct BuresOptions {
  /// Clamping rule and eigensolver of the spectral steps (spectral.hpp).
  SpectralOptions spectral;
};

/// out_i = W2²(a_i, b_i) for count pairs; a or b may broadcast (one-versus-many).
/// @param out [out] count scalars (VectorBatch of size 1).
template <typename T>
void w2_squared(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                VectorBatch<T> out, const BuresOptions& options = {});

/// out(i, j) = W2²(a_i, b_j) for all k_a x k_b pairs: each a_i is decomposed once, and the pairs
/// are processed one row of b at a time.
/// @param out [out] one k_a x k_b matrix (count 1), column-major with leading dimension out.ld.
template <typename T>
void w2_squared_all_pairs(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          MatrixBatch<T> out, const BuresOptions& options = {});

/// The Brenier (optimal transport) map from a_i to b_i: T(x) = matrix_i x + bias_i, matrix_i
/// symmetric positive semidefinite with matrix_i S1 matrix_i = S2. Needs the covariances of a
/// positive definite (InvalidArgument naming the item otherwise).
/// @param matrix [out] count x (d x d).  @param bias [out] count vectors of length d.
template <typename T>
void brenier_map(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                 MatrixBatch<T> matrix, VectorBatch<T> bias, const BuresOptions& options = {});

/// The McCann interpolant (W2 geodesic) between a_i (t = 0) and b_i (t = 1), t in [0, 1].
/// Needs the covariances of a positive definite. `out` must have means (not empty).
template <typename T>
void mccann_interpolant(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b, double t,
                        GaussianBatch<T> out, const BuresOptions& options = {});

/// Gradient of W2²(a_i, b_i) with respect to the means and covariances of both sides:
/// grad_a = (2 (m1 − m2), I − A), grad_b = (−2 (m1 − m2), I − A') with A the Brenier matrix from
/// a to b and A' the one from b to a. The covariance gradients are symmetric: d W2² = ⟨grad, dS⟩_F
/// for symmetric perturbations dS. grad_a needs S_a positive definite and grad_b needs S_b (S_b
/// may be singular for grad_a, and S_a for grad_b); either may be empty (count 0) to skip that
/// side: a model fitted to a degenerate target needs only its own side. Where a covariance is
/// singular, W2² has no derivative in it (the square root of (S_a^½ S_b S_a^½) is not
/// differentiable at a zero eigenvalue: directional derivatives are infinite), so that side is
/// refused (InvalidArgument naming the covariance and the item).
template <typename T>
void w2_squared_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                         GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                         const BuresOptions& options = {});

/// Options of the barycenter fixed point.
struct BarycenterOptions {
  /// Stop when the fixed-point residual ‖Σ ρ_i (B^½ S_i B^½)^½ − B‖_F / ‖B‖_F <= tolerance;
  /// empty: 1e-12 in double, 1e-5 in float.
  std::optional<double> tolerance;
  int max_iterations = 1000;
  SpectralOptions spectral;
};

/// What the barycenter iteration did.
struct BarycenterReport {
  int iterations = 0;   ///< fixed-point updates made
  double residual = 0;  ///< fixed-point residual of the returned covariance
};

/// The weighted W2 barycenter of k Gaussians: mean Σ ρ_i m_i, covariance B solving
/// B = Σ ρ_i (B^½ S_i B^½)^½, by the Álvarez-Esteban–del Barrio–Cuesta-Albertos–Matrán fixed point
/// B ← B^-½ (Σ ρ_i (B^½ S_i B^½)^½)² B^-½ started at Σ ρ_i S_i (which must be positive definite).
/// @param weights [in] k non-negative weights with a positive sum (one vector, count 1), normalised
///        to sum 1; empty (count 0) for uniform weights.
/// @param out [out] one Gaussian (count 1) with means.
/// Throws ConvergenceError (batch_index -1) when the residual is above the tolerance after
/// max_iterations, with the residual in the message.
template <typename T>
BarycenterReport w2_barycenter(Context& ctx, GaussianBatch<const T> inputs,
                               VectorBatch<const T> weights, GaussianBatch<T> out,
                               const BarycenterOptions& options = {});

/// How frechet_distance computes the trace term.
enum class FrechetMethod {
  automatic,    ///< samples when min(n_a, n_b) < d, covariances otherwise
  covariances,  ///< fit both Gaussians (chunked moments), then W2²: O((n_a + n_b) d² + d³)
  samples,  ///< tr(...)^½ = ‖X̃ Ỹᵀ‖_* / √((n_a − 1)(n_b − 1)) on centred samples: O(n_a n_b d)
};

struct FrechetOptions {
  FrechetMethod method = FrechetMethod::automatic;
  BuresOptions bures;
};

/// The Fréchet distance of sample sets (the FID computation): out_i = W2² between the Gaussians
/// fitted to samples_a item i and samples_b item i (sample mean, covariance with divisor n − 1).
/// @param samples_a [in] count x (d x n_a), columns are samples (NumPy (k, n_a, d) C order), n_a
/// >= 2.
/// @param samples_b [in] count x (d x n_b), n_b >= 2.
/// @param out [out] count scalars.
/// For sample sets too large for memory, feed MomentAccumulator (statistics.hpp) chunk by chunk
/// and call w2_squared on the fitted Gaussians: that is the covariances method.
template <typename T>
void frechet_distance(Context& ctx, MatrixBatch<const T> samples_a, MatrixBatch<const T> samples_b,
                      VectorBatch<T> out, const FrechetOptions& options = {});

/// Gradient of frechet_distance with respect to both sample sets: grad_a_i = ∂ FID_i / ∂
/// samples_a_i (d x n_a, the layout of samples_a) and grad_b_i likewise. With X̃, Ỹ the centred
/// samples (columns), μ their means and the method chosen as frechet_distance chooses it:
///   ∂/∂X = 2 (μ_a − μ_b) 1ᵀ / n_a + 2 G_a X̃ / (n_a − 1)      (chain rule through the moments)
/// - covariances: G_a = I − A, A = S_a^-½ (S_a^½ S_b S_a^½)^½ S_a^-½ the Brenier matrix from a to
///   b (the covariance gradient of W2², w2_squared_gradient); b likewise with the map from b to a.
///   Needs both fitted covariances positive definite (n > d and samples spanning R^d): otherwise
///   InvalidArgument naming the set (use FrechetMethod::samples).
/// - samples: FID = ‖μ_a − μ_b‖² + ‖X̃‖²/(n_a − 1) + ‖Ỹ‖²/(n_b − 1) − 2 ‖M‖_* / √((n_a − 1)(n_b −
/// 1))
///   with M = X̃ᵀỸ (n_a x n_b), and ∂‖M‖_*/∂M = P = U Vᵀ (the polar factor over the singular values
///   above the clamping tolerance τ of options.bures.spectral, relative to the largest), so
///     ∂/∂X = 2 (μ_a − μ_b) 1ᵀ/n_a + 2 X̃/(n_a − 1) − 2 Ỹ Pᵀ / √((n_a − 1)(n_b − 1)),
///     ∂/∂Y = −2 (μ_a − μ_b) 1ᵀ/n_b + 2 Ỹ/(n_b − 1) − 2 X̃ P / √((n_a − 1)(n_b − 1)).
///   M always has the zero singular value of the centring (1ᵀM = 0); the FID is differentiable
///   when the rank of M is min(n_a, n_b) − 1 (generic samples), and then this is its gradient.
///   At a lower rank the nuclear norm has a set of subgradients and this returns the one of
///   least norm (U Vᵀ over the nonzero singular values): an element of the generalized gradient.
/// Both formulas are derived in the comments of bures.cpp and checked against central
/// differences in long double (tests/test_bures.cpp).
template <typename T>
void frechet_distance_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                               MatrixBatch<const T> samples_b, MatrixBatch<T> grad_a,
                               MatrixBatch<T> grad_b, const FrechetOptions& options = {});

/// Checks a batch of Gaussians the way the command line checks its inputs (CLI.md): finite,
/// symmetric covariances, positive semidefinite by the clamping rule with the scale floor of
/// `spectral` (one eigvalsh per covariance). Throws InvalidArgument naming `name` and the item.
template <typename T>
void validate_gaussians(Context& ctx, GaussianBatch<const T> gaussians, const char* name,
                        const SpectralOptions& spectral = {});

}  // namespace gaussot
