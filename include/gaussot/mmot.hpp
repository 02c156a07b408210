// SPDX-License-Identifier: Apache-2.0
/// @file mmot.hpp
/// Multimarginal optimal transport between p Gaussians N(m_i, S_i) on R^d with the pairwise
/// quadratic cost Σ_{i<j} ρ_iρ_j ‖x_i − x_j‖² (formulas-bures-igw-mmot.md §6).
///
/// The means decouple; the covariance part is the SDP  min −½ tr(W X), X ⪰ 0 (pd x pd), X_ii = S_i,
/// W = (ρρᵀ)⊗I_d (§6.1), solved
/// - by Burer–Monteiro (§6.2–6.3): X = UUᵀ, U = [U_1; …; U_p], U_i = S_i^½ V_i with V_i ∈ R^{d x
/// k},
///   k = d + 1, V_i V_iᵀ = I (a product of row-Stiefel manifolds, so that U_iU_iᵀ = S_i exactly);
///   minimise f = −½‖T‖_F², T = Σ ρ_i U_i, by Riemannian gradient descent: Euclidean gradient
///   E_i = −ρ_i S_i^½ T, Riemannian gradient G_i = E_i − sym(E_iV_iᵀ)V_i, Armijo backtracking
///   (sufficient decrease 1e-4·step·Σ‖G_i‖², ×0.5 up to 40 times, ×1.5 after a success, step
///   ≤ 1e6), QR retraction V ↦ qf(Vᵀ)ᵀ, start V_i = qf(G_iᵀ)ᵀ from seeded N(0, 1) entries and
///   step 1/(max(1, max_i λ_max(S_i))·max_i ρ_i·Σρ) (the authors' p/max(1, λ_max) for ρ = 1/p,
///   made invariant to the scale of ρ). Every gradient step is a handful of strided-batched GEMMs
///   over the p blocks, one batched retraction, and one host read (the objective and ‖G‖²).
/// - by the Álvarez-Esteban–del Barrio–Cuesta-Albertos–Matrán fixed point (§6.6, w2_barycenter):
///   the barycenter B, then U_i = B^-½ (B^½ S_i B^½)^½ (k = d).
/// Both end with the same certificate (§6.4), computed from the factors U_i.
///
/// Read-off (§6.5): joint covariance UUᵀ (cross-covariances C_ij = U_iU_jᵀ); a coupling is
/// X_i = m_i + U_i z, z ~ N(0, I_k); the W2 barycenter of the marginals with weights ρ/Σρ has
/// mean Σ ρ_i m_i / Σρ and covariance T Tᵀ / (Σρ)²; the MMOT value is
///   Σ_{i<j} ρ_iρ_j‖m_i − m_j‖² + (Σρ) Σ_i ρ_i tr S_i − ‖T‖_F²        [derived from §6.1:
///   E Σ_{i<j} ρ_iρ_j‖X_i − X_j‖² with tr(WX) = Σ ρ_i² tr S_i + 2 Σ_{i<j} ρ_iρ_j tr C_ij = ‖T‖²].
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "gaussot/context.hpp"
#include "gaussot/gaussian.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

enum class MmotSolver { burer_monteiro, fixed_point };

/// "bm" or "fixed-point".
const char* to_string(MmotSolver solver) noexcept;

struct MmotOptions {
  MmotSolver solver = MmotSolver::burer_monteiro;
  /// Burer–Monteiro: stop when the relative dual gap is at most this and every block is feasible
  /// (‖U_iU_iᵀ − S_i‖/‖S_i‖ <= 1e-10 in double, 100·d·ε in float); empty: 1e-7.
  /// Fixed point: empty (the default) stops it on its own residual, as w2_barycenter does
  /// (‖Σ ρ̂_i (B^½S_iB^½)^½ − B‖_F/‖B‖_F <= 1e-12 in double, 1e-5 in float, or the rounding level
  /// 16·d·ε when that is larger), which gives the barycenter to what the precision allows; the
  /// dual gap is then reported as the certificate. A value stops it on the dual gap instead,
  /// like Burer–Monteiro (the gap reaches 1e-7 after a few updates, with the barycenter accurate
  /// to about √gap: ask for that only to trade digits for time).
  std::optional<double> tolerance;
  /// Burer–Monteiro gradient steps, or fixed-point updates.
  int max_iterations = 10000;
  /// Burer–Monteiro: iterations between certificates (each costs O(p d³)).
  int check_every = 25;
  std::uint64_t seed = 0;  ///< Burer–Monteiro's random start
  /// A singular value of the stacked factor counts towards the rank when > this · σ_1.
  double rank_threshold = 1e-6;
  /// Clamping rule of the spectral steps (S_i must be positive definite).
  SpectralOptions spectral;
};

/// The certificate of a factor (§6.4).
struct MmotCertificate {
  double primal = 0;       ///< −½‖T‖²: the SDP objective −½ tr(WX) at X = UUᵀ
  double dual = 0;         ///< −½ Σ tr(Y_i S_i) from the scaled KKT multipliers (a lower bound)
  double dual_gap = 0;     ///< max(0, primal − dual) / max(|primal|, 1)
  double feasibility = 0;  ///< max_i ‖U_iU_iᵀ − S_i‖_F / ‖S_i‖_F
  double kkt_residual = 0;   ///< max_i ‖Λ_iU_i − ρ_iT‖_F / max(1, ‖ρ_iT‖_F)
  double gradient_norm = 0;  ///< Riemannian gradient norm √Σ‖G_i‖² at the factor
  int rank = 0;              ///< numerical rank of the stacked factor U (pd x k)
  double rank_ratio = 0;     ///< σ_min / σ_1 of U
};

struct MmotReport {
  MmotCertificate certificate;
  double value = 0;  ///< the MMOT value (see the file comment)
  int iterations = 0;
  /// "dual_gap" (converged on the gap), "residual" (the fixed point converged on its residual,
  /// its default), "max_iterations", "line_search" (Burer–Monteiro found no Armijo step) or
  /// "stalled" (the fixed point stopped changing, its residual at the rounding level, before the
  /// gap reached a requested tolerance below the certificate's floor of about 1e-12). On the gap,
  /// the barycenter and factors are accurate to about √gap relative (the objective is quadratic
  /// near the optimum): tighten the tolerance for more digits.
  std::string stop_reason;
  MmotSolver solver = MmotSolver::burer_monteiro;  ///< the solver that ran
  bool converged() const { return stop_reason == "dual_gap" || stop_reason == "residual"; }
  /// Calls field(name, value) for the report's scalar fields, in the order the command and the
  /// Python module give them: dual_gap, rank, iterations, solver, converged, stop_reason, primal,
  /// dual, feasibility, kkt_residual, gradient_norm, rank_ratio (values double, int, bool or
  /// const char*).
  template <typename Field>
  void for_each_field(Field&& field) const {
    field("dual_gap", certificate.dual_gap);
    field("rank", certificate.rank);
    field("iterations", iterations);
    field("solver", to_string(solver));
    field("converged", converged());
    field("stop_reason", stop_reason.c_str());
    field("primal", certificate.primal);
    field("dual", certificate.dual);
    field("feasibility", certificate.feasibility);
    field("kkt_residual", certificate.kkt_residual);
    field("gradient_norm", certificate.gradient_norm);
    field("rank_ratio", certificate.rank_ratio);
  }
};

/// Outputs of mmot(); each may be empty (count 0) when not wanted.
template <typename T>
struct MmotOutputs {
  /// p x (d x k) factors U_i (k = d + 1 for Burer–Monteiro, d for the fixed point: ask
  /// mmot_factor_width()).
  MatrixBatch<T> factors;
  /// One Gaussian (count 1): the W2 barycenter of the marginals with weights ρ/Σρ.
  GaussianBatch<T> barycenter;
};

/// Columns k of the factors mmot() writes for marginals in dimension d.
inline std::int64_t mmot_factor_width(MmotSolver solver, std::int64_t d) {
  return solver == MmotSolver::burer_monteiro ? d + 1 : d;
}

/// Solves the MMOT problem of the p marginals (see the file comment).
/// @param marginals [in] p >= 2 Gaussians in R^d, covariances positive definite; centered or not.
/// @param weights   [in] p weights ρ >= 0 with a positive sum (one vector), or empty: all ones.
/// Throws InvalidArgument naming the argument and item (shapes, memory spaces, non-finite values,
/// a covariance that is not positive definite, bad weights or options), ConvergenceError when an
/// eigensolver or retraction fails. A solver that stops before the tolerance is not an error: the
/// report says why (stop_reason) and what it reached (certificate). Outputs are written on return
/// either way. Memory O(p d²). Synchronizes (host reads once per iteration).
template <typename T>
MmotReport mmot(Context& ctx, GaussianBatch<const T> marginals, VectorBatch<const T> weights,
                MmotOutputs<T> out, const MmotOptions& options = {});

/// Samples of the optimal coupling from standard normal draws: x_{i,s} = m_i + U_i z_s for every
/// marginal i and draw s (§6.5), so that (x_{1,s}, …, x_{p,s}) ~ N((m_i), UUᵀ).
/// @param means   [in] p vectors of length d, or empty (count 0) for centered marginals.
/// @param factors [in] p x (d x k), as mmot() writes them.
/// @param normals [in] one k x n matrix of independent N(0, 1) entries (column s = z_s).
/// @param out     [out] p x (d x n), columns are samples (a NumPy (p, n, d) C-order array).
/// Throws InvalidArgument for shapes or memory spaces. Two batched GEMMs; no synchronisation.
template <typename T>
void mmot_coupling_samples(Context& ctx, VectorBatch<const T> means, MatrixBatch<const T> factors,
                           MatrixBatch<const T> normals, MatrixBatch<T> out);

}  // namespace gaussot
