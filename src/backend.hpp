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

#define GAUSSOT_ALL_PRIMITIVES(PREFIX, T)                                                          \
  GAUSSOT_CHECK_PRIMITIVES(PREFIX, T) GAUSSOT_COPY_PRIMITIVES(PREFIX, T)                           \
  GAUSSOT_EIGH_PRIMITIVES(PREFIX, T) GAUSSOT_BLAS_PRIMITIVES(PREFIX, T)                            \
  GAUSSOT_MOMENT_PRIMITIVES(PREFIX, T) GAUSSOT_RETRACTION_PRIMITIVES(PREFIX, T)

/// Explicit instantiations of a group for float and double, in a backend's source file.
#define GAUSSOT_INSTANTIATE_PRIMITIVES(GROUP) GROUP(template, float) GROUP(template, double)
// clang-format on

namespace cpu {
GAUSSOT_ALL_PRIMITIVES(template <typename T>, T)
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
