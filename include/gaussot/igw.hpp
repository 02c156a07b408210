// SPDX-License-Identifier: Apache-2.0
/// @file igw.hpp
/// Inner-product Gromov–Wasserstein (IGW) alignment of Gaussian measures that may live in spaces
/// of different dimension (Dandapanthula, Podkopaev, Kasiviswanathan, Ramdas and Goldfeld 2025),
/// batched: distances (paired, one-versus-many, all pairs), analytic bounds, the Riemannian ascent
/// on the Stiefel manifold for uncentered pairs, the optimal plan and map, and the barycenter.
///
/// Convention (reference formulas-bures-igw-mmot.md §2.1): for μ = N(m1, S1) on R^d1 and
/// ν = N(m2, S2) on R^d2,
///   IGW²(μ, ν) = inf over couplings π of E[(⟨X, X'⟩ − ⟨Y, Y'⟩)²],  (X, Y), (X', Y') iid ~ π,
/// with no ½ factor; the IGW distance is its square root. The functions report squared values.
///
/// Spectral coordinates (§3.1): α (d1) and β (d2) are the eigenvalues of S1 and S2 in decreasing
/// order, Q1 and Q2 their eigenvectors, v_k = Λ_k^½ Q_kᵀ m_k, and with d1 >= d2 (swap otherwise)
///   IGW² = Ξ − 2 max over X in St(d1, d2) of Γ(X),
///   Ξ = Σ α_i² + Σ β_j² + 2 (‖v1‖² + ‖v2‖²) + (‖m1‖² − ‖m2‖²)²,
///   Γ(X) = Σ_ij α_i β_j X_ij² + 2 v1ᵀ X v2.
/// Closed forms and bounds (§2.2, §3.2, §3.3), with the shorter spectrum zero-padded and
/// ξ = Σ_i (α_i − β_i)² + 2 m1ᵀS1m1 + 2 m2ᵀS2m2 + (‖m1‖² − ‖m2‖²)²:
///   lower = ξ − 4 ‖v1‖ ‖v2‖  <=  IGW²  <=  upper = ξ − 4 Σ_i |v1_i v2_i|.
/// The bounds coincide, and IGW² is exact, when v1 = 0 or v2 = 0 (a centered measure, or a mean
/// in the kernel of its covariance: §3.3) and when d1 = d2 = 1 (§5). Otherwise the value is the
/// best feasible point found by the ascent (an upper bound on IGW² at least as good as `upper`).
///
/// Eigenvector signs are normalised (the entry of largest magnitude of each eigenvector is
/// positive; the first such entry on ties), so the sign choices below are reproducible.
/// Covariances must be finite, symmetric and positive semidefinite by the clamping rule of
/// spectral.hpp; errors name the argument ('a' or 'b', covariances or means) and the batch item.
/// The functions synchronize the CUDA stream. The Stiefel ascent works in the spectral
/// coordinates (O(d) data per pair) and runs on the host CPU for both backends: see IgwOptions.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "gaussot/context.hpp"
#include "gaussot/gaussian.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// Options of the IGW functions.
struct IgwOptions {
  /// Run the Riemannian ascent on uncentered pairs whose bounds differ; false: report `upper`.
  bool ascent = true;
  /// Ascent iterations (gradient steps, all restarts together) per pair. The default matches the
  /// budget class of the reference code (50 full-space steps, §3.5) and already beats its value
  /// on the d = 768 benchmark (bench/README.md); raise it for a tighter feasible value.
  int max_iterations = 100;
  /// Stop when the Riemannian gradient of Γ has Frobenius norm <= tolerance · 2 (α_1 β_1 +
  /// ‖v1‖ ‖v2‖) (the scale of Γ's gradient). The norm is computed from Gram matrices, so values
  /// below about 1e-8 read as rounding.
  double tolerance = 1e-6;
  /// Random restarts after the start at the upper-bound point (the problem has spurious local
  /// maxima, §3.1); the best value is kept. Reproducible for a given seed.
  int restarts = 0;
  std::uint64_t seed = 0;
  /// Alignment signs of the closed form (exact pairs), one per sorted eigen-pair i < min(d1, d2):
  /// +1 maps the i-th principal axis of the larger space onto the i-th of the smaller, −1 onto its
  /// opposite. Empty: sign(v1_i v2_i), +1 where that is 0 (all +1 for centered pairs). Every
  /// choice gives the same IGW² for centered pairs (§2.3); it selects among the optimal plans.
  std::vector<int> signs;
  /// Clamping rule and eigensolver of the eigendecompositions.
  SpectralOptions spectral;
};

/// What the computation did for one pair.
struct IgwReport {
  bool exact = false;        ///< the value is IGW² itself (closed form), not a feasible bound
  int iterations = 0;        ///< ascent steps taken (0 when no ascent ran)
  double gradient_norm = 0;  ///< relative Riemannian gradient norm at the returned point
  int subspace = 0;          ///< dimension of the subspace the ascent worked in (see igw.cpp)
};

/// IGW² outputs: count scalars each (VectorBatch of size 1), or an empty view (count 0) to skip.
template <typename T>
struct IgwValues {
  VectorBatch<T> squared;  ///< best IGW² found: exact, or the ascent's feasible value
  VectorBatch<T> lower;    ///< analytic lower bound on IGW²
  VectorBatch<T> upper;    ///< analytic upper bound on IGW² (the value at the sign-aligned point)
};

/// IGW² of count pairs (a_i, b_i); a or b may broadcast (one-versus-many). a and b may have
/// different dimensions. Returns one report per pair.
template <typename T>
std::vector<IgwReport> igw_squared(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                                   IgwValues<T> out, const IgwOptions& options = {});

/// Gradient of the centered IGW² (a and b without means: the exact closed form Σ_i (α_i − β_i)²
/// of the zero-padded decreasing spectra) with respect to both covariances:
///   grad_a = 2 Q_a diag(α − β̃) Q_aᵀ  (β̃: β padded with zeros or cut to d_a),  grad_b likewise,
/// symmetric, d IGW² = ⟨grad, dS⟩_F for symmetric perturbations; any dimensions, positive
/// semidefinite covariances. Exact where the eigenvalues of each covariance are simple (derived
/// in igw.cpp; checked against long-double central differences, tests/test_igw.cpp). At a repeated
/// eigenvalue whose paired eigenvalues on the other side differ, IGW² is not differentiable and
/// this is the element of the generalized gradient given by the eigensolver's basis. Means are
/// refused ('a.means', 'b.means'): uncentered pairs are not supported.
template <typename T>
void igw_squared_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          MatrixBatch<T> grad_a, MatrixBatch<T> grad_b,
                          const SpectralOptions& spectral = {});

/// Gradient of the value igw_squared returns (with the same options) with respect to the means
/// and covariances of both sides, uncentered pairs included: the envelope theorem at the
/// coupling igw_plan returns. With C = S1^-½ K S2^-½ (K the plan's cross-covariance) held fixed,
/// IGW² = I1 + I2 − 2 I3 (formulas-bures-igw-mmot.md §3.1) and [derived; checked against central
/// differences of igw_squared in tests/test_igw.cpp]
///   ∂/∂m1 = 4 S1 m1 + 4‖m1‖² m1 − 4 K m2 − 4‖m2‖² m1,
///   ∂/∂S1 = 2 S1 + 2 m1m1ᵀ − 2 C S2 Cᵀ − 2 L1(m1 w1ᵀ + w1 m1ᵀ),  w1 = C S2^½ m2,
/// where L1(N) = Q1 [(Q1ᵀ N Q1)_ij / (√α_i + √α_j)] Q1ᵀ is the adjoint of the derivative of S1^½;
/// side b likewise with Cᵀ (w2 = Cᵀ S1^½ m1). This is the gradient of IGW² where the coupling is
/// the unique nondegenerate maximiser, and of the returned feasible value in any case only as far
/// as the ascent converged (its gradient norm is in the report: raise options.max_iterations and
/// lower options.tolerance for a tighter gradient). Where the optimal couplings are not unique
/// (e.g. one side centered: every sign choice is optimal), IGW² is not differentiable in the means
/// and this is the element of the generalized gradient of the returned coupling. Pairs with both
/// sides centered take the closed form above (means' gradients 0); other pairs need both
/// covariances positive definite (InvalidArgument naming the covariance and the item): at a
/// singular covariance the square root in I3 has no derivative. The ascent and this gradient run
/// on the host. grad_a and grad_b need means.
template <typename T>
void igw_squared_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                          const IgwOptions& options = {});

/// Gradient of the centered IGW² between the Gaussians fitted to two sample sets (covariances
/// S = X̃X̃ᵀ/(n − 1) of the centred samples, as sample_moments; the means do not enter the
/// centered value) with respect to the samples: 2 G X̃/(n − 1) per set, G the covariance gradient
/// of igw_squared_gradient [derived: dS = (dX̃ X̃ᵀ + X̃ dX̃ᵀ)/(n − 1) and ⟨G, dS⟩ = ⟨2GX̃/(n − 1),
/// dX̃⟩; G X̃ is already centred, so the centring's adjoint leaves it]. A student layer trained
/// to a teacher layer of another width by IGW², without forming covariances in the framework.
/// @param samples_a [in] count x (d_a x n_a), columns are samples (n_a >= 2); samples_b likewise,
///        any d_b and n_b. @param grad_a [out] count x (d_a x n_a); grad_b likewise.
template <typename T>
void igw_squared_samples_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                                  MatrixBatch<const T> samples_b, MatrixBatch<T> grad_a,
                                  MatrixBatch<T> grad_b, const SpectralOptions& spectral = {});

/// IGW² outputs of all pairs: one k_a x k_b matrix each (count 1, column-major), or count 0.
template <typename T>
struct IgwMatrices {
  MatrixBatch<T> squared, lower, upper;
};

/// IGW² of all k_a x k_b pairs (a_i, b_j). Each Gaussian is eigendecomposed once (eigenvalues
/// only when both sides are centered); the closed form and the bounds of every pair then come
/// from two matrix products of the zero-padded spectra and projected means. The ascent runs on
/// the uncentered pairs the bounds leave open. Returns the reports in column-major order
/// (report[i + j k_a] for the pair (a_i, b_j)).
template <typename T>
std::vector<IgwReport> igw_squared_all_pairs(Context& ctx, GaussianBatch<const T> a,
                                             GaussianBatch<const T> b, IgwMatrices<T> out,
                                             const IgwOptions& options = {});

/// A Gaussian reduced to what IGW² depends on (§3.2), on the host: the eigenvalues α of its
/// covariance (decreasing, after the clamping rule), the magnitudes |v_l| of its projected mean
/// v = Λ^½ Qᵀ m (IGW² does not depend on the eigenvector signs) and ‖m‖². O(d) numbers: keep
/// these instead of the covariances to compare many Gaussians of different dimensions.
struct IgwSpectrum {
  std::vector<double> eigenvalues;
  std::vector<double> projected_mean;  ///< zeros for a centered Gaussian
  double mean_norm2 = 0;
  std::int64_t dimension() const { return static_cast<std::int64_t>(eigenvalues.size()); }
  bool centered() const { return mean_norm2 == 0; }
};

/// The IGW spectra of the count Gaussians of g (one eigendecomposition each; eigenvalues only
/// when g is centered). Throws InvalidArgument naming 'gaussians' and the item for non-finite,
/// non-symmetric or non-PSD covariances. Synchronizes (the spectra are read on the host).
template <typename T>
std::vector<IgwSpectrum> igw_spectra(Context& ctx, GaussianBatch<const T> gaussians,
                                     const SpectralOptions& spectral = {});

/// IGW² of all pairs (a_i, b_j) of spectra of any dimensions, on the host (the ascent of the
/// open pairs runs on ctx's CPU threads when ctx is a CPU context): the values and bounds of
/// igw_squared_all_pairs, into k_a x k_b host matrices (count 1, column-major) or empty views.
/// Eigenvalues must be finite and decreasing; values below 0 within the clamping rule of
/// options.spectral (an eigensolver's rounding on a singular covariance, e.g. NumPy's eigvalsh
/// when n < d) count as 0, larger negatives are refused naming 'a' or 'b' and the item. Returns
/// the reports in column-major order.
std::vector<IgwReport> igw_squared_all_pairs(Context& ctx, const std::vector<IgwSpectrum>& a,
                                             const std::vector<IgwSpectrum>& b,
                                             IgwMatrices<double> out,
                                             const IgwOptions& options = {});

/// Cross-covariance K_i = Cov(X, Y) (d_a x d_b) of the optimal Gaussian coupling of a_i and b_i
/// found by igw_squared (the closed-form alignment with options.signs for exact pairs, the
/// ascent's point otherwise): K = Q1 Λ1^½ X Λ2^½ Q2ᵀ (§2.3, §3.4; transposed when d_a < d_b).
/// The coupling is N((m1, m2), [[S1, K], [Kᵀ, S2]]).
template <typename T>
std::vector<IgwReport> igw_plan(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                                MatrixBatch<T> cross_covariance, const IgwOptions& options = {});

/// The IGW map from a_i (dimension d_a) to b_i (d_b <= d_a): T(x) = matrix x + bias with
/// matrix = Kᵀ S1⁻¹ = Q2 Λ2^½ Xᵀ Λ1^-½ Q1ᵀ (d_b x d_a) and bias = m2 − matrix m1, which pushes
/// N(m1, S1) onto N(m2, S2) and induces the plan of igw_plan (§2.3, §3.4). Needs d_a >= d_b and
/// the covariances of a positive definite (InvalidArgument naming the item otherwise).
template <typename T>
std::vector<IgwReport> igw_map(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                               MatrixBatch<T> matrix, VectorBatch<T> bias,
                               const IgwOptions& options = {});

/// The weighted IGW barycenter of centered Gaussians N(0, S_k) of possibly different dimensions
/// (§4): N(0, Σ*) in dimension D = max d_k, whose decreasing spectrum is λ̄ = Σ_k w_k λ^(k) (the
/// zero-padded decreasing spectra averaged); its eigenbasis is arbitrary and gaussot returns
/// Σ* = diag(λ̄). The minimum of Σ_k w_k IGW²(ν, N(0, S_k)) is Σ_k w_k ‖λ^(k) − λ̄‖².
/// @param inputs [in] covariances: one batch per dimension group (or per input); the inputs are
///        their items in order. Errors name 'inputs.covariances' and the item across all batches.
/// @param weights [in] one non-negative weight per input with a positive sum (normalised), or
///        empty (count 0) for uniform weights.
/// @param eigenvalues [out] one vector of length D (λ̄, decreasing).
/// @param covariance [out] one D x D matrix (diag(λ̄)), or empty (count 0) to skip.
/// @return the minimum value Σ_k w_k ‖λ^(k) − λ̄‖².
template <typename T>
double igw_barycenter(Context& ctx, const std::vector<MatrixBatch<const T>>& inputs,
                      VectorBatch<const T> weights, VectorBatch<T> eigenvalues,
                      MatrixBatch<T> covariance, const SpectralOptions& spectral = {});

/// IGW² between N(u, a²) and N(v, b²) on the line, a, b >= 0 the standard deviations (§5):
/// (a² − b²)² + (u² − v²)² + 2 (a|u| − b|v|)². The optimal map is y = v + s (b/a)(x − u) with
/// s = sign(u v) (any s when u v = 0). Throws InvalidArgument for a non-finite mean, a negative
/// or non-finite deviation, or a value beyond the range of double (it grows as the fourth power
/// of the scale).
double igw_squared_univariate(double u, double a, double v, double b);

}  // namespace gaussot
