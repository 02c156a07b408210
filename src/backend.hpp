// SPDX-License-Identifier: Apache-2.0
// Private: the backend primitives, declared once and implemented twice, in cpu/ (Eigen) and in
// cuda/ (cuBLAS, cuSOLVER, own kernels; stubs throwing NotCompiled when CUDA is not built).
// Primitives assume validated arguments: every view is in the context's memory space and shapes
// agree. Public functions validate, then call GAUSSOT_DISPATCH.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gaussot/blas.hpp"
#include "gaussot/context.hpp"
#include "gaussot/eigh.hpp"
#include "gaussot/mlp.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// One output of the spectral primitive: out = V diag(f(w)) Vᵀ.
template <typename T>
struct SpectralRequest {
  SpectralFunction function;
  MatrixBatch<T> out;
};

/// out = max(floor, Σ_j coefficients[j] · terms[j]) elementwise (no floor unless has_floor). The
/// terms have out's shape and count, may broadcast, and may be `out` itself (each element is read
/// before it is written). A plain struct, passed by value to CUDA kernels.
template <typename T>
struct LinearCombination {
  static constexpr int kMaxTerms = 4;
  int count = 0;
  T coefficients[kMaxTerms] = {};
  MatrixBatch<const T> terms[kMaxTerms];
  bool has_floor = false;
  T floor = 0;
};

/// The clamping rule's parameters (spectral.hpp): tolerance τ and the floor of the scale.
struct ClampRule {
  double tolerance = 0;
  double scale_floor = 0;
};

/// The first batch item that breaks the clamping rule of spectral.hpp (item < 0: none).
struct SpectralFailure {
  std::int64_t item = -1;
  bool not_psd = false;   ///< true: an eigenvalue below -τ·scale; false: not positive definite
  double eigenvalue = 0;  ///< the offending eigenvalue
  double scale = 0;       ///< max(max |eigenvalue| of the item, scale_floor)
};

/// One Adam update (mlp.hpp): θ −= learning_rate · (m / correction1) / (√(v / correction2) +
/// epsilon) after the moment updates, with correction_k = 1 − β_k^t. Passed by value to kernels.
struct AdamStep {
  double learning_rate = 0, beta1 = 0, beta2 = 0, epsilon = 0, correction1 = 1, correction2 = 1;
};

// The primitives' signatures, written once per group: PREFIX is `template <typename T>` to declare
// them (with T the template parameter) and `template` to instantiate them (with T float or double:
// the template argument is deduced from the parameters).
// clang-format off
/* Index of the first item with a non-finite entry (lower triangle only if lower_only), or -1. */
/* Index of the first square item with |a_rc − a_cr| > tolerance · max |a_rc|, or -1. */
#define GAUSSOT_CHECK_PRIMITIVES(PREFIX, T)                                                        \
  PREFIX std::int64_t first_nonfinite(Context& ctx, MatrixBatch<const T> a, bool lower_only);      \
  PREFIX std::int64_t first_asymmetric(Context& ctx, MatrixBatch<const T> a, T tolerance);
/* dst = src; the CPU backend copies host to host, the CUDA backend any pair of spaces. */
#define GAUSSOT_COPY_PRIMITIVES(PREFIX, T)                                                         \
  PREFIX void copy(Context& ctx, MatrixBatch<const T> src, MatrixBatch<T> dst);
/* eigh: decreasing eigenvalues, and eigenvectors unless v.count == 0; ConvergenceError on
   failure. spectral: out_r = V diag(f_r(w)) Vᵀ for each request r, with the clamping rule.
   spectral_trace: out_i = tr f(a_i) = Σ_j f(w_j), from eigenvalues only, with the rule. */
#define GAUSSOT_EIGH_PRIMITIVES(PREFIX, T)                                                         \
  PREFIX void eigh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> w, MatrixBatch<T> v,       \
                   EighAlgorithm algorithm);                                                       \
  PREFIX SpectralFailure spectral(Context& ctx, MatrixBatch<const T> a,                            \
      const std::vector<SpectralRequest<T>>& requests, ClampRule rule, EighAlgorithm algorithm);   \
  PREFIX SpectralFailure spectral_trace(Context& ctx, MatrixBatch<const T> a,                      \
      SpectralFunction function, ClampRule rule, VectorBatch<T> out, EighAlgorithm algorithm);
/* combine: out = max(floor, Σ c_j x_j) elementwise (LinearCombination). */
#define GAUSSOT_BLAS_PRIMITIVES(PREFIX, T)                                                         \
  PREFIX void gemm(Context& ctx, Transpose transpose_a, Transpose transpose_b, T alpha,            \
                   MatrixBatch<const T> a, MatrixBatch<const T> b, T beta, MatrixBatch<T> c);      \
  PREFIX void sandwich(Context& ctx, MatrixBatch<const T> s, MatrixBatch<const T> b,               \
                       MatrixBatch<T> out);                                                        \
  PREFIX void trace(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> out);                     \
  PREFIX void frobenius_inner(Context& ctx, MatrixBatch<const T> a, MatrixBatch<const T> b,        \
                              VectorBatch<T> out);                                                 \
  PREFIX void combine(Context& ctx, const LinearCombination<T>& combination, MatrixBatch<T> out);
/* Merges chunk (d x m per item) into the running mean and full scatter of samples_before. */
#define GAUSSOT_MOMENT_PRIMITIVES(PREFIX, T)                                                       \
  PREFIX void accumulate_moments(Context& ctx, MatrixBatch<const T> chunk,                         \
      std::int64_t samples_before, VectorBatch<T> mean, MatrixBatch<T> scatter);
/* Q of the thin QR with positive diag(R); returns the first rank-deficient item, or -1.
   cholesky: lower factor (upper triangle zeroed); returns the first item not positive definite. */
#define GAUSSOT_RETRACTION_PRIMITIVES(PREFIX, T)                                                   \
  PREFIX std::int64_t qr_retraction(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> q);      \
  PREFIX std::int64_t cholesky(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> l);

/* Log-domain Sinkhorn (sinkhorn.hpp). sinkhorn_cost: cost_i = C (n x m) and cost_t_i = Cᵀ with
   C_jk = ‖x_j − y_k‖² (x_i: d x n, y_i: d x m; both may broadcast), by GEMM on points centred
   on their common mean, clamped at 0. sinkhorn_update: for each problem i with active_i != 0
   (active empty: all) and each point t of "this" side (n_this = potential.size), the column
   cost(:, t) holding C(t, ·) over the n_o points of the other side:
     L_t = LSE_o(log_weights_other_o + inv_epsilon·(potential_other_o − cost(o, t)))
     updated_t = −scale·L_t                           (updated.count 0: not written)
   `updated` may be `potential` itself. With stats.count > 0, stats_i (6 x 1) receives, with
   w_t = exp(log_weights_t), u_t = inv_epsilon·potential_t + L_t and r_t = w_t e^{u_t} the
   marginal of the plan (potential, potential_other) on this side:
     [0] Σ (r_t − w_t)  [1] Σ r_t·potential_t  [2] Σ |r_t − w_t|  [3] Σ r_t u_t − r_t + w_t
     [4] Σ_t Σ_o π_to cost(o, t)  [5] max |updated_t − potential_t| (0 without `updated`);
   inactive problems are not touched (neither updated nor stats). */
// clang-format on
/// Positions in the statistics of sinkhorn_update (the comment above).
enum SinkhornStat : int {
  kMassExcess,
  kPotentialMass,
  kMarginalL1,
  kMarginalKl,
  kTransport,
  kChange,
  kStats
};

// clang-format off
/* The scaling Sinkhorn with absorption (sinkhorn.hpp, SinkhornAlgorithm::scaling; Schmitzer 2019,
   "Stabilized sparse scaling algorithms for entropy regularized transport problems", SIAM J. Sci.
   Comput. 41(3): the log-stabilised scaling iteration, absorbing scalings into the potentials;
   unbalanced updates as in Chizat, Peyré, Schmitzer, Vialard, "Scaling algorithms for unbalanced
   transport problems", Math. Comp. 2018), CPU only: on CUDA sinkhorn() runs the log-domain primitives above.
   The potentials are split as f + ε log u and g + ε log v: absorbed potentials (f, g) and scalings
   (u, v). A kernel (m x n per problem, item i) holds Kᵀ, column j being row j of
     K_jk = a_j b_k exp((f_j + g_k − C_jk)/ε)      (0 where the exponent is below the exp floor),
   the plan of (f, g) with unit scalings; the plan of (f, g, u, v) is diag(u) K diag(v).
   `which` flags the problems to touch (nonzero entries); the others are neither read nor written.
   sinkhorn_kernel: kernel_i from cost_t (m x n per problem: Cᵀ, may broadcast), log-weights and
     (f, g); u_i = 1 and v_i = 1.
   sinkhorn_scaling_iteration: one Sinkhorn iteration, u then v, the same updates as
     sinkhorn_update's with τ = scale/ε (f + ε log u_next = −τε LSE_k(log b_k + (g_k + ε log v_k
     − C_jk)/ε)):
       u_next_j = (a_j / (K v)_j)^τ exp(−(1 − τ) f_j/ε),
       v_next_k = (b_k / (Kᵀ u_next)_k)^τ exp(−(1 − τ) g_k/ε)
     (u_next, v_next must not alias u, v); out_of_range_i = 1 when some entry of u_next_i or
     v_next_i is outside [e^−log_bound, e^log_bound] or not finite, else 0. With stats.count > 0,
     stats_i gets the x-side statistics of sinkhorn_update for the plan of (f, g, u, v) (r = u ⊙ K v,
     potential f + ε log u; [4] transport is 0, [5] max_j ε |log u_next_j − log u_j|).
   sinkhorn_scaling_columns: stats_i gets the y-side statistics of sinkhorn_update for the plan of
     (f, g, u, v) (the marginal v ⊙ Kᵀu, potential g + ε log v), with [4] Σ π C from cost_t and
     [5] = 0.
   sinkhorn_absorb: out_t = potential_t + ε log scaling_t (out may be potential). */
#define GAUSSOT_SINKHORN_SCALING_PRIMITIVES(PREFIX, T)                                             \
  PREFIX void sinkhorn_kernel(Context& ctx, MatrixBatch<const T> cost_t,                           \
      VectorBatch<const T> log_a, VectorBatch<const T> f, VectorBatch<const T> log_b,              \
      VectorBatch<const T> g, T epsilon, VectorBatch<const T> which, MatrixBatch<T> kernel,        \
      VectorBatch<T> u, VectorBatch<T> v);                                                         \
  PREFIX void sinkhorn_scaling_iteration(Context& ctx, MatrixBatch<const T> kernel,                \
      VectorBatch<const T> log_a, VectorBatch<const T> f, VectorBatch<const T> log_b,              \
      VectorBatch<const T> g, VectorBatch<const T> u, VectorBatch<const T> v,                      \
      VectorBatch<const T> which, T epsilon, T tau, T log_bound, VectorBatch<T> u_next,            \
      VectorBatch<T> v_next, VectorBatch<T> out_of_range, MatrixBatch<T> stats);                   \
  PREFIX void sinkhorn_scaling_columns(Context& ctx, MatrixBatch<const T> kernel,                  \
      MatrixBatch<const T> cost_t, VectorBatch<const T> log_b, VectorBatch<const T> g,             \
      VectorBatch<const T> u, VectorBatch<const T> v, VectorBatch<const T> which, T epsilon,       \
      MatrixBatch<T> stats);                                                                       \
  PREFIX void sinkhorn_absorb(Context& ctx, VectorBatch<const T> potential,                        \
      VectorBatch<const T> scaling, T epsilon, VectorBatch<const T> which, VectorBatch<T> out);

#define GAUSSOT_SINKHORN_PRIMITIVES(PREFIX, T)                                                     \
  PREFIX void sinkhorn_cost(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y,          \
                            MatrixBatch<T> cost, MatrixBatch<T> cost_t);                           \
  PREFIX void sinkhorn_update(Context& ctx, MatrixBatch<const T> cost,                             \
      VectorBatch<const T> log_weights_other, VectorBatch<const T> potential_other,                \
      VectorBatch<const T> log_weights, VectorBatch<const T> potential,                            \
      VectorBatch<const T> active, T inv_epsilon, T scale, VectorBatch<T> updated,                 \
      MatrixBatch<T> stats);

/* Neural GW (mlp.hpp, ngw.hpp); single items (count 1), packed unless stated.
   random_normal: out(r, c) = the standard normal number of element index r + c·rows of draw
   `draw` under `seed` (philox.hpp: Philox4x32-10, Box–Muller in double).
   random_columns: column c of out = column j of source, j uniform in [0, source.cols) from
   element c of the same stream (any ld).
   bias_activation: a(r, c) = act(a(r, c) + bias(r)).
   activation_backward: g(r, c) *= act'(z) for the activation value a(r, c) = act(z) (each
   activation's derivative is a function of its value).
   adam_update: elementwise Adam (AdamStep) of parameters with gradients and the moments.
   rescale_to_norm: a *= norm / ‖a‖_F (a unchanged when ‖a‖_F = 0). */
#define GAUSSOT_NGW_PRIMITIVES(PREFIX, T)                                                          \
  PREFIX void random_normal(Context& ctx, std::uint64_t seed, std::uint64_t draw,                  \
                            MatrixBatch<T> out);                                                   \
  PREFIX void random_columns(Context& ctx, MatrixBatch<const T> source, std::uint64_t seed,        \
                             std::uint64_t draw, MatrixBatch<T> out);                              \
  PREFIX void bias_activation(Context& ctx, Activation activation, VectorBatch<const T> bias,      \
                              MatrixBatch<T> a);                                                   \
  PREFIX void activation_backward(Context& ctx, Activation activation, MatrixBatch<const T> a,      \
                                  MatrixBatch<T> g);                                               \
  PREFIX void adam_update(Context& ctx, const AdamStep& step, VectorBatch<T> parameters,           \
                          VectorBatch<const T> gradients, VectorBatch<T> first_moment,             \
                          VectorBatch<T> second_moment);                                           \
  PREFIX void rescale_to_norm(Context& ctx, MatrixBatch<T> a, T norm);

#define GAUSSOT_ALL_PRIMITIVES(PREFIX, T)                                                          \
  GAUSSOT_CHECK_PRIMITIVES(PREFIX, T) GAUSSOT_COPY_PRIMITIVES(PREFIX, T)                           \
  GAUSSOT_EIGH_PRIMITIVES(PREFIX, T) GAUSSOT_BLAS_PRIMITIVES(PREFIX, T)                            \
  GAUSSOT_MOMENT_PRIMITIVES(PREFIX, T) GAUSSOT_RETRACTION_PRIMITIVES(PREFIX, T)                    \
  GAUSSOT_SINKHORN_PRIMITIVES(PREFIX, T) GAUSSOT_NGW_PRIMITIVES(PREFIX, T)

/// Explicit instantiations of a group for float and double, in a backend's source file.
#define GAUSSOT_INSTANTIATE_PRIMITIVES(GROUP) GROUP(template, float) GROUP(template, double)
// clang-format on

namespace cpu {
GAUSSOT_ALL_PRIMITIVES(template <typename T>, T)
GAUSSOT_SINKHORN_SCALING_PRIMITIVES(template <typename T>, T)
}  // namespace cpu

namespace cuda {
GAUSSOT_ALL_PRIMITIVES(template <typename T>, T)

// Context support, implemented in cuda/context.cpp (or cuda/stubs.cpp).
detail::CudaResources* create_resources(int device, CUstream_st* stream);
void destroy_resources(detail::CudaResources* resources) noexcept;
CUstream_st* stream(const detail::CudaResources& resources) noexcept;
void synchronize(const detail::CudaResources& resources);
int device_count() noexcept;
std::vector<std::string> device_names();
void* allocate(int device, std::int64_t bytes);
void deallocate(int device, void* pointer) noexcept;
}  // namespace cuda

}  // namespace gaussot

/// Calls `primitive(ctx, args...)` in the backend of ctx; write template arguments explicitly,
/// e.g. GAUSSOT_DISPATCH(ctx, eigh<T>, a, w, v, algorithm).
#define GAUSSOT_DISPATCH(ctx, primitive, ...)                                                   \
  ((ctx).backend() == ::gaussot::Backend::cuda ? ::gaussot::cuda::primitive((ctx), __VA_ARGS__) \
                                               : ::gaussot::cpu::primitive((ctx), __VA_ARGS__))
