// SPDX-License-Identifier: Apache-2.0
// Built instead of the CUDA backend when GAUSSOT_ENABLE_CUDA is OFF: every entry point throws
// NotCompiled, so backend-neutral code needs no #ifdef.
#include "backend.hpp"
#include "gaussot/error.hpp"

namespace gaussot {

namespace cuda {
namespace {
[[noreturn]] void not_compiled(const char* what) {
  GAUSSOT_THROW(NotCompiled, std::string(what) +
                                 ": gaussot was built without the CUDA backend "
                                 "(configure with -DGAUSSOT_ENABLE_CUDA=ON and a CUDA toolkit)");
}
}  // namespace

detail::CudaResources* create_resources(int, CUstream_st*) { not_compiled("Context::cuda"); }
void destroy_resources(detail::CudaResources*) noexcept {}
CUstream_st* stream(const detail::CudaResources&) noexcept { return nullptr; }
void synchronize(const detail::CudaResources&) { not_compiled("Context::synchronize"); }
int device_count() noexcept { return 0; }
std::vector<std::string> device_names() { return {}; }
void* allocate(int, std::int64_t) { not_compiled("Array"); }
void deallocate(int, void*) noexcept {}

template <typename T>
std::int64_t first_nonfinite(Context&, MatrixBatch<const T>, bool) {
  not_compiled("first_nonfinite");
}
template <typename T>
void copy(Context&, MatrixBatch<const T>, MatrixBatch<T>) {
  not_compiled("copy");
}
template <typename T>
void eigh(Context&, MatrixBatch<const T>, VectorBatch<T>, MatrixBatch<T>, EighAlgorithm) {
  not_compiled("eigh");
}
template <typename T>
SpectralFailure spectral(Context&, MatrixBatch<const T>, const std::vector<SpectralRequest<T>>&,
                         ClampRule, EighAlgorithm) {
  not_compiled("spectral");
}
template <typename T>
void gemm(Context&, Transpose, Transpose, T, MatrixBatch<const T>, MatrixBatch<const T>, T,
          MatrixBatch<T>) {
  not_compiled("gemm");
}
template <typename T>
void sandwich(Context&, MatrixBatch<const T>, MatrixBatch<const T>, MatrixBatch<T>) {
  not_compiled("sandwich");
}
template <typename T>
void trace(Context&, MatrixBatch<const T>, VectorBatch<T>) {
  not_compiled("trace");
}
template <typename T>
void frobenius_inner(Context&, MatrixBatch<const T>, MatrixBatch<const T>, VectorBatch<T>) {
  not_compiled("frobenius_inner");
}
template <typename T>
void combine(Context&, const LinearCombination<T>&, MatrixBatch<T>) {
  not_compiled("combine");
}
template <typename T>
std::int64_t first_asymmetric(Context&, MatrixBatch<const T>, T) {
  not_compiled("first_asymmetric");
}
template <typename T>
SpectralFailure spectral_trace(Context&, MatrixBatch<const T>, SpectralFunction, ClampRule,
                               VectorBatch<T>, EighAlgorithm) {
  not_compiled("spectral_trace");
}
template <typename T>
void accumulate_moments(Context&, MatrixBatch<const T>, std::int64_t, VectorBatch<T>,
                        MatrixBatch<T>) {
  not_compiled("accumulate_moments");
}
template <typename T>
std::int64_t qr_retraction(Context&, MatrixBatch<const T>, MatrixBatch<T>) {
  not_compiled("qr_retraction");
}
template <typename T>
std::int64_t cholesky(Context&, MatrixBatch<const T>, MatrixBatch<T>) {
  not_compiled("cholesky");
}
template <typename T>
void sinkhorn_cost(Context&, MatrixBatch<const T>, MatrixBatch<const T>, MatrixBatch<T>,
                   MatrixBatch<T>) {
  not_compiled("sinkhorn_cost");
}
template <typename T>
void sinkhorn_update(Context&, MatrixBatch<const T>, VectorBatch<const T>, VectorBatch<const T>,
                     VectorBatch<const T>, VectorBatch<const T>, VectorBatch<const T>, T, T,
                     VectorBatch<T>, MatrixBatch<T>) {
  not_compiled("sinkhorn_update");
}
template <typename T>
void random_normal(Context&, std::uint64_t, std::uint64_t, MatrixBatch<T>) {
  not_compiled("random_normal");
}
template <typename T>
void random_columns(Context&, MatrixBatch<const T>, std::uint64_t, std::uint64_t, MatrixBatch<T>) {
  not_compiled("random_columns");
}
template <typename T>
void bias_activation(Context&, Activation, VectorBatch<const T>, MatrixBatch<T>) {
  not_compiled("bias_activation");
}
template <typename T>
void activation_backward(Context&, Activation, MatrixBatch<const T>, MatrixBatch<T>) {
  not_compiled("activation_backward");
}
template <typename T>
void adam_update(Context&, const AdamStep&, VectorBatch<T>, VectorBatch<const T>, VectorBatch<T>,
                 VectorBatch<T>) {
  not_compiled("adam_update");
}
template <typename T>
void rescale_to_norm(Context&, MatrixBatch<T>, T) {
  not_compiled("rescale_to_norm");
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_ALL_PRIMITIVES)

}  // namespace cuda
}  // namespace gaussot
