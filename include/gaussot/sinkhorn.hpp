// SPDX-License-Identifier: Apache-2.0
/// @file sinkhorn.hpp
/// Entropic optimal transport between two weighted point clouds by Sinkhorn iterations (log
/// domain, or scalings against a cached kernel with absorption), batched over independent
/// problems: the discrete counterpart of the Gaussian closed forms of
/// entropic.hpp, in the same convention (formulas-entropic.md §0):
///   balanced    OT_ε(a, b)  = min_{π ∈ Π(a, b)} ⟨π, C⟩ + ε KL(π ‖ a⊗b)
///   unbalanced  UOT_ε,γ(a, b) = min_{π >= 0} ⟨π, C⟩ + ε KL(π ‖ a⊗b) + γ KL(π1 ‖ a) + γ KL(πᵀ1 ‖ b)
/// with the unhalved cost C_ij = ‖x_i − y_j‖², ε = 2σ², and KL the generalised Kullback–Leibler
/// divergence of positive measures, KL(p ‖ q) = Σ p log(p/q) − Σ p + Σ q.
/// Conversions: POT `ot.solve(M, a, b, reg=ε, reg_type="KL").value` = OT_ε (unit masses); POT
/// `ot.sinkhorn2` returns ⟨π, C⟩ only (our `transport_cost`); POT `sinkhorn_unbalanced2(a, b, M,
/// reg=ε, reg_m=γ, returnCost="total")` uses KL without its mass terms (POT 0.9.7: `kl_div` with
/// mass=False), so UOT_ε,γ = that total + ε(Σa Σb − Σπ) + γ(Σa + Σb − 2 Σπ) at POT's plan (checked
/// in tests/python/test_sinkhorn.py); OTT-JAX `reg_ot_cost` with `SqEuclidean` = OT_ε.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// How sinkhorn() iterates. Both algorithms make the same iterates in exact arithmetic, stop by
/// the same rule and return the same outputs and report (agreeing to rounding).
enum class SinkhornAlgorithm {
  /// scaling on the CPU backend, log_domain on CUDA.
  automatic,
  /// Every half-update is a log-sum-exp over the whole cost matrix (n·m exponentials): the
  /// reference, stable at any ε. CPU and CUDA.
  log_domain,
  /// Log-stabilised scaling with absorption (Schmitzer 2019, see sinkhorn()): matrix–vector
  /// products with a cached kernel, the exponentials recomputed only when the scalings leave a
  /// bound. Several times faster per iteration on the CPU, as stable as log_domain. CPU only.
  scaling,
};

struct SinkhornOptions {
  /// Entropic scale: ε = 2σ² (> 0).
  double sigma = 1;
  /// Marginal penalty of the unbalanced problem (> 0); empty for the balanced problem.
  std::optional<double> gamma;
  /// Stopping rule (per problem), checked every `check_every` iterations and after the last one;
  /// see sinkhorn(). Finite, >= 0.
  double tolerance = 1e-9;
  /// Most iterations per problem (>= 1).
  int max_iterations = 10000;
  /// Iterations between checks of the stopping rule (>= 1). A check costs no extra pass over the
  /// cost matrix; on CUDA it is the only point where the host waits for the device.
  int check_every = 10;
  /// The iteration (see SinkhornAlgorithm); `scaling` on a CUDA context is refused.
  SinkhornAlgorithm algorithm = SinkhornAlgorithm::automatic;
};

/// Outputs of sinkhorn(); every view is optional (count 0 to skip) and lives on the context.
template <typename T>
struct SinkhornOutputs {
  VectorBatch<T> value;           ///< count scalars: the objective above at the returned plan
  VectorBatch<T> transport_cost;  ///< count scalars: ⟨π, C⟩
  /// count scalars: Σ π of the returned plan (when balanced, the weights' common total up to the
  /// tolerance)
  VectorBatch<T> plan_mass;
  VectorBatch<T> f;  ///< count vectors of length n: the potential on x
  VectorBatch<T> g;  ///< count vectors of length m: the potential on y
};

/// What the iteration did, per problem.
struct SinkhornReport {
  std::vector<int> iterations;         ///< iterations made (one iteration updates f, then g)
  std::vector<double> marginal_error;  ///< the stopping quantity at the last check (see sinkhorn())
  std::vector<bool> converged;         ///< marginal_error <= tolerance
  /// Scaling algorithm: times the kernel was formed anew after an absorption (the first kernel
  /// not counted); log_domain: 0.
  std::vector<int> absorptions;
};

/// Sinkhorn for count problems between x_i (n points in R^d) and y_i (m points).
///
/// Iteration (potentials f = g = 0 at the start; ε = 2σ², τ = γ/(γ + ε), τ = 1 if balanced):
///   f_j = −τ ε LSE_k(log b_k + (g_k − C_jk)/ε),   then   g_k = −τ ε LSE_j(log a_j + (f_j −
///   C_jk)/ε),
/// and the returned plan is π_jk = a_j b_k exp((f_j + g_k − C_jk)/ε). The cost C_jk = ‖x_j − y_k‖²
/// is formed once per problem by GEMM (points centred on their common mean, clamped at 0) and
/// kept in both layouts, 2·n·m·sizeof(T) bytes per problem (one copy when x and y both
/// broadcast).
///
/// options.algorithm chooses how the iteration is computed; both make the same iterates in exact
/// arithmetic and agree to rounding:
///   log_domain: each half-update is a log-sum-exp over the cost matrix (n·m exponentials).
///   scaling (CPU only; the default there): the log-stabilised scaling iteration with absorption
///     (Schmitzer, "Stabilized sparse scaling algorithms for entropy regularized transport
///     problems", SIAM J. Sci. Comput. 41(3), 2019; the unbalanced update as in Chizat et al.,
///     "Scaling algorithms for unbalanced transport problems", Math. Comp. 2018). The potentials
///     are f + ε log u, g + ε log v with a kernel K_jk = a_j b_k exp((f_j + g_k − C_jk)/ε)
///     formed from the absorbed (f, g) and kept (n·m·sizeof(T) more bytes per problem), and
///       u_j = (a_j / (K v)_j)^τ e^{−(1−τ) f_j/ε},   v_k = (b_k / (Kᵀu)_k)^τ e^{−(1−τ) g_k/ε},
///     one pass over K per iteration. When a scaling leaves [e^−B, e^B] (B = 175 in double, 20
///     in float) or is not finite (K v or Kᵀu underflowed: small ε), that iteration is made
///     again in the log domain, its potentials absorbed into (f, g) with u = v = 1, and K formed
///     anew (SinkhornReport::absorptions counts these). So it is as stable as log_domain at
///     small ε, where an exp-domain Sinkhorn over exp(−C/ε) breaks down, and needs exponentials
///     only at absorptions.
///   automatic: scaling on the CPU, log_domain on CUDA.
///
/// Stopping rule, evaluated for each problem after the g-update of every `check_every`-th
/// iteration and of the last one, on the plan of the current (f, g) (whose y-marginal is exact
/// when balanced, since g was just updated):
///   balanced:   marginal_error = ‖π1 − a‖₁ / Σa  (the x-marginal's relative L1 error);
///   unbalanced: marginal_error = max_j |f̃_j − f_j| / ε, with f̃ the f-update one more
///               iteration would make (the fixed-point residual of the returned potentials).
/// A problem stops (its potentials frozen) once marginal_error <= tolerance; the others go on
/// until every problem has stopped or max_iterations is reached. Not converging is reported in
/// SinkhornReport, not thrown. value, transport_cost and plan_mass are those of the returned
/// plan, whether it converged or not; the value is computed from the marginals as
/// ⟨f, π1⟩ + ⟨g, πᵀ1⟩ − ε Σπ + ε Σa Σb [+ γ KL(π1 ‖ a) + γ KL(πᵀ1 ‖ b)].
///
/// @param x [in] count x (d x n): columns are points (NumPy (k, n, d) in C order); n, d >= 1.
///        May broadcast (stride 0).
/// @param y [in] count x (d x m), m >= 1, the same d. May broadcast.
/// @param weights_x [in] count vectors of length n (positive, finite), or empty (count 0) for
///        uniform weights 1/n; may broadcast. Balanced problems need equal totals: |Σa − Σb| <=
///        1e-10·max(Σa, Σb) in double, 1e-5 in float.
/// @param weights_y [in] likewise, length m.
/// @param out [out] the results wanted (views in the context's memory space; count 0 skips one).
/// Throws InvalidArgument naming the argument and item for bad shapes or memory spaces,
/// non-finite values, non-positive weights, unequal totals (balanced: names 'weights_y'), σ <= 0,
/// γ <= 0, a negative or non-finite tolerance, max_iterations < 1 or check_every < 1, an
/// algorithm that is not a SinkhornAlgorithm or `scaling` on a CUDA context, and (naming
/// 'x' and the problem, with nothing written) iterations that break down into NaN or infinite
/// values: squared distances or potentials beyond the range of T. Does not throw when a problem
/// does not converge: see the report. On CUDA, synchronizes the stream at
/// every check (one small read of per-problem sums), and returns with the copies into `out`
/// enqueued on the stream.
template <typename T>
SinkhornReport sinkhorn(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y,
                        VectorBatch<const T> weights_x, VectorBatch<const T> weights_y,
                        const SinkhornOutputs<T>& out, const SinkhornOptions& options = {});

}  // namespace gaussot
