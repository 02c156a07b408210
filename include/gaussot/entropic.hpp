// SPDX-License-Identifier: Apache-2.0
/// @file entropic.hpp
/// Entropic optimal transport between Gaussian measures in closed form (Janati, Muzellec, Peyré,
/// Cuturi 2020), balanced and unbalanced, batched, on both backends (formulas-entropic.md).
///
/// Convention (formulas-entropic.md §0), for α = N(a, A), β = N(b, B) on R^d:
///   OT_σ(α, β) = min_{π ∈ Π(α, β)} ∫ ‖x − y‖² dπ + 2σ² KL(π ‖ α⊗β)          (ε = 2σ²)
///   UOT_σ,γ(m_a α, m_b β) = inf_{π >= 0} ∫ ‖x − y‖² dπ + 2σ² KL(π ‖ m_aα⊗m_bβ)
///                                        + γ KL(π1 ‖ m_a α) + γ KL(π2 ‖ m_b β)
/// with the unhalved cost and the generalised KL of positive measures.
/// Converting from other libraries (cost ‖x − y‖² unless said):
///  - POT `ot.solve(..., reg=ε, reg_type="KL").value`, OTT-JAX `reg_ot_cost` (SqEuclidean),
///    Mallasto et al.: σ = √(ε/2). POT `ot.sinkhorn2` returns ⟨π, C⟩ only: `transport_cost`.
///  - A halved cost ½‖x − y‖² with regulariser ε′ KL (GeomLoss `SamplesLoss(p=2, blur=b)`,
///    ε′ = b²): its value is ½·OT_σ with σ² = ε′ (σ = blur); its reach r (ρ′ = r²) is γ = 2r².
///  - OTT-JAX `UnbalancedBures(sigma, gamma)` is UOT_σ,γ itself; OTT's and POT's unbalanced
///    Sinkhorn: ε = 2σ², `tau = γ/(γ + ε)`, `reg_m = γ`.
///
/// Balanced closed forms, with λ_i the eigenvalues of A^½ B A^½ and δ_i = √(4λ_i + σ⁴) − σ²
/// computed as 4λ_i / (√(4λ_i + σ⁴) + σ²) (§1.3; no cancellation):
///   OT_σ = ‖a − b‖² + tr A + tr B − Σ_i [δ_i − σ² log1p(δ_i / 2σ²)],
///   transport part ∫‖x − y‖² dπ* = ‖a − b‖² + tr A + tr B − Σ δ_i,
///   optimal plan N((a, b), [[A, C_σ], [C_σᵀ, B]]), C_σ = K(A, B)·B (§1.2, inverse-free),
/// where K(P, Q) = P^½ g(P^½ Q P^½) P^½ with g(w) = 2 / (√(4w + σ⁴) + σ²) = 1/(c_σ(w) + σ²)
/// [derived: K(P, Q) = 2 P^½ (D_σ(P, Q) + σ²I)^-1 P^½, §1.2 and §4]. Singular covariances are
/// fine everywhere (no inverse of A or B is formed).
/// Unbalanced (§2, §2.1): plan mass from the stable log form, value
/// γ(m_a + m_b − 2m_π) + 2σ²(m_a m_b − m_π), plan m_π·N(μ, H) with the cross block C of §2
/// computed as C_σ(Ã, B̃/τ) [derived: C = ((1/τ)ÃB̃ + σ⁴/4 I)^½ − σ²/2 I has the shape of C_σ].
///
/// Limits: σ → 0 gives W2² (bures.hpp) with the bias (d/2)·ε·log(1/ε); γ → ∞ with unit masses
/// gives the balanced value, slowly (−0.026 at γ = 1e4 in the reference's example).
/// All functions synchronise the CUDA stream. Errors name the argument and the batch item.
#pragma once

#include <optional>

#include "gaussot/context.hpp"
#include "gaussot/gaussian.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

struct EntropicOptions {
  /// Entropic scale σ > 0: the regulariser is 2σ² KL (ε = 2σ²).
  double sigma = 1;
  /// Marginal penalty γ > 0 of the unbalanced problem; empty for the balanced problem.
  std::optional<double> gamma;
  /// Clamping rule and eigensolver of the spectral steps.
  SpectralOptions spectral;
};

/// Masses of the unbalanced measures m_a α and m_b β: count positive scalars each (VectorBatch of
/// size 1, may broadcast), or empty (count 0) for mass 1. Only with options.gamma.
template <typename T>
struct Masses {
  VectorBatch<const T> a, b;
};

/// Outputs of entropic_ot(); every view is optional (count 0 to skip) and lives on the context.
template <typename T>
struct EntropicOutputs {
  VectorBatch<T> value;           ///< count scalars: OT_σ, or UOT_σ,γ
  VectorBatch<T> transport_cost;  ///< count scalars: ∫ ‖x − y‖² dπ*
  VectorBatch<T> plan_mass;       ///< count scalars: m_π (1 when balanced)
  VectorBatch<T> plan_mean;       ///< count vectors of length 2d: (μ_x, μ_y)
  MatrixBatch<T> plan_cov;        ///< count x (2d x 2d): the normalised plan's covariance
};

/// The entropic OT problem between a_i and b_i (same dimension; a or b may broadcast):
/// value, transport part, and the optimal plan π* = m_π · N(plan_mean, plan_cov).
template <typename T>
void entropic_ot(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                 const EntropicOutputs<T>& out, const EntropicOptions& options,
                 const Masses<T>& masses = {});

/// The entropic map of the balanced problem: the conditional law of y given x under π*,
/// π*(y | x) = N(matrix·x + bias, conditional_cov), with matrix = A^-1 C_σ = K(B, A) (symmetric
/// PSD, computed without inverting A, so singular A is fine), bias = b − matrix·a and
/// conditional_cov = σ²·matrix (§1.2). E[y | x] = matrix·x + bias is the barycentric projection;
/// as σ → 0, matrix tends to the Brenier map of bures.hpp. Any output may be empty (count 0).
template <typename T>
void entropic_map(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b, double sigma,
                  MatrixBatch<T> matrix, VectorBatch<T> bias, MatrixBatch<T> conditional_cov,
                  const SpectralOptions& spectral = {});

/// A batch of quadratic functions q(x) = xᵀ quadratic x + linearᵀ x + constant.
template <typename T>
struct QuadraticBatch {
  MatrixBatch<T> quadratic;  ///< count x (d x d), symmetric
  VectorBatch<T> linear;     ///< count vectors of length d
  VectorBatch<T> constant;   ///< count scalars
};

/// The dual potentials (f, g) of the balanced problem, in the convention
/// dπ*/d(α⊗β)(x, y) = exp((f(x) + g(y) − ‖x − y‖²) / 2σ²) (§1.4, extended to means [derived]):
///   f(x) = (x − a)ᵀ(I − K(B, A))(x − a) + 2(a − b)ᵀ(x − a) + f₀,
///   g(y) = (y − b)ᵀ(I − K(A, B))(y − b) − 2(a − b)ᵀ(y − b) + g₀,
///   f₀ = g₀ = ½(‖a − b‖² + 2σ² KL(π* ‖ α⊗β))  (the split of f₀ + g₀ is a choice),
/// so that OT_σ = E_α f + E_β g. Returned expanded in x (QuadraticBatch).
template <typename T>
void entropic_potentials(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                         double sigma, const QuadraticBatch<T>& f, const QuadraticBatch<T>& g,
                         const SpectralOptions& spectral = {});

/// Gradient of the balanced entropic OT value OT_σ(a_i, b_i) with respect to both means and
/// covariances (formulas-entropic.md §4, verified there by central differences; checked again in
/// tests/test_entropic.cpp): means ±2 (m_a − m_b); covariances ∇_A = I − K(B, A) and
/// ∇_B = I − K(A, B), the quadratic matrices of the dual potentials (entropic_potentials), with
/// K(P, Q) = P^½ g(P^½ Q P^½) P^½, g(w) = 2/(√(4w + σ⁴) + σ²). Symmetric (d OT = ⟨G, dS⟩_F for
/// symmetric dS), inverse-free and defined at singular covariances (σ > 0 smooths the square root
/// that makes W2² non-differentiable there). grad_a and grad_b need means.
template <typename T>
void entropic_ot_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          double sigma, GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                          const SpectralOptions& spectral = {});

/// Gradients of the entropic OT value for entropic_ot_gradient with options: the means and
/// covariances of both sides (means required, as for the balanced function), and for the
/// unbalanced problem the two masses (count scalars each, or empty to skip).
template <typename T>
struct EntropicGradients {
  GaussianBatch<T> a, b;
  VectorBatch<T> mass_a, mass_b;
};

/// Gradient of entropic_ot's value with `options` (σ, and γ for the unbalanced problem) and
/// `masses`: without γ, the balanced gradient above (mass gradients must be empty). With γ, the
/// gradient of UOT_σ,γ = γ m_a + γ m_b + 2σ² m_a m_b − 2(σ² + γ) m_π [derived from §2.1's stable
/// log m_π by differentiating each term; checked against central differences of the value in
/// tests/test_entropic.cpp]: with λ = σ² + γ/2, τ = γ/(γ + 2σ²), δ = a − b, X = A + B + λI,
/// P_A = (A + λI)^-1, Ã = (γ/2) A P_A, B̃ likewise, and h the per-eigenvalue term of log m_π as a
/// function of μ = eig(ÃB̃), h(μ) = −k log(c + σ²) − ½ log(γ − 2c), k = (1 − τ)/(2(τ + 1)),
/// c = √(μ/τ + σ⁴/4) − σ²/2,
///   ∇_A log m_π = (X^-1 δ δᵀ X^-1 − P_A) / (2(τ + 1)) + (γλ/2) P_A B̃^½ h'(B̃^½ Ã B̃^½) B̃^½ P_A,
///   ∇_a log m_π = −X^-1 δ / (τ + 1),   ∂ log m_π / ∂m_a = 1 / ((τ + 1) m_a),
/// b symmetrically (∇_b log m_π = +X^-1 δ/(τ + 1)); then ∇ UOT = −2(σ² + γ) m_π ∇ log m_π for the
/// means and covariances and ∂UOT/∂m_a = γ + 2σ² m_b − 2(σ² + γ) m_π / ((τ + 1) m_a). Smooth
/// everywhere (λ > 0; spectral functions of smooth h), inverse-free in A and B, finite at
/// singular covariances.
template <typename T>
void entropic_ot_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          const EntropicOptions& options, const EntropicGradients<T>& out,
                          const Masses<T>& masses = {});

/// Gradient of the Sinkhorn divergence S_σ(a_i, b_i) below with respect to both means and
/// covariances [derived: OT_σ is symmetric in its two measures, so d/dα ½ OT_σ(α, α) =
/// ∂₁OT_σ(α, α) = (0, I − K(A, A))]: ∇_a = 2(a − b), ∇_A = K(A, A) − K(B, A), and
/// ∇_b = −2(a − b), ∇_B = K(B, B) − K(A, B) (formulas-entropic.md §4 states ∇_B); symmetric,
/// finite at singular covariances. grad_a and grad_b need means.
template <typename T>
void sinkhorn_divergence_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                                  double sigma, GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                                  const SpectralOptions& spectral = {});

/// The (debiased) Sinkhorn divergence S_σ(α, β) = OT_σ(α, β) − ½ OT_σ(α, α) − ½ OT_σ(β, β)
/// (§1.6), computed from spectra without the cancelling trace terms: ‖a − b‖² − Σ h(λ_i(AB))
/// + ½ Σ h(λ_i(A)²) + ½ Σ h(λ_i(B)²) with h(λ) = δ(λ) − σ² log1p(δ(λ)/2σ²). S_σ → W2² as σ → 0.
/// @param out [out] count scalars.
template <typename T>
void sinkhorn_divergence(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                         double sigma, VectorBatch<T> out, const SpectralOptions& spectral = {});

}  // namespace gaussot
