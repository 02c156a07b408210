// SPDX-License-Identifier: Apache-2.0
// Chunk merge of statistics.hpp on the device: chunk means by a GEMM against a vector of ones,
// centring by a kernel, the chunk's scatter by one strided-batched GEMM accumulated into the
// running scatter (its lower triangle then mirrored, for exact symmetry).
#include "backend.hpp"
#include "kernels.cuh"
#include "library_wrappers.hpp"

namespace gaussot::cuda {
namespace {

/// centred_i = chunk_i − chunk_mean_i 1ᵀ (packed d x m per item).
template <typename T>
__global__ void centre_kernel(MatrixBatch<const T> chunk, const T* chunk_mean,
                              MatrixBatch<T> centred) {
  const std::int64_t d = chunk.rows;
  const std::int64_t total = d * chunk.cols * chunk.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, d, chunk.cols);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    centred.item(i)[r + c * d] = chunk.item(i)[r + c * chunk.ld] - chunk_mean[i * d + r];
  }
}

/// scatter_i += δδᵀ · weight with δ = chunk_mean_i − mean_i (before the mean moves), on the lower
/// triangle (the upper one is mirrored from it at the end of the merge).
template <typename T>
__global__ void merge_scatter_kernel(const T* chunk_mean, VectorBatch<const T> mean, T weight,
                                     MatrixBatch<T> scatter) {
  const std::int64_t d = scatter.rows;
  const std::int64_t total = d * d * scatter.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, d, d);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    if (r < c) continue;
    const T delta_r = chunk_mean[i * d + r] - mean.item(i)[r];
    const T delta_c = chunk_mean[i * d + c] - mean.item(i)[c];
    scatter.item(i)[r + c * scatter.ld] += weight * delta_r * delta_c;
  }
}

/// mean_i += (chunk_mean_i − mean_i) · fraction (fraction 1 replaces the mean).
template <typename T>
__global__ void merge_mean_kernel(const T* chunk_mean, T fraction, VectorBatch<T> mean) {
  const std::int64_t d = mean.size;
  for (std::int64_t idx = thread_index(); idx < d * mean.count; idx += grid_step()) {
    const std::int64_t i = idx / d;
    const std::int64_t r = idx - i * d;
    T& m = mean.item(i)[r];
    m = fraction == T(1) ? chunk_mean[idx] : m + (chunk_mean[idx] - m) * fraction;
  }
}

}  // namespace

template <typename T>
void accumulate_moments(Context& ctx, MatrixBatch<const T> chunk, std::int64_t samples_before,
                        VectorBatch<T> mean, MatrixBatch<T> scatter) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t d = chunk.rows;
  const std::int64_t m = chunk.cols;
  const std::int64_t count = chunk.count;
  const std::int64_t n = samples_before + m;
  WorkspacePlan plan;
  const std::size_t mean_offset = plan.add<T>(d * count);
  const std::size_t ones_offset = plan.add<T>(m);
  const std::size_t centred_offset = plan.add<T>(d * m * count);
  char* base = acquire_workspace(res, plan.bytes());
  T* chunk_mean = at_offset<T>(base, mean_offset);
  T* ones = at_offset<T>(base, ones_offset);
  const MatrixBatch<T> centred =
      matrices(at_offset<T>(base, centred_offset), d, m, count, MemorySpace::device);

  fill<T>(res, ones, m, T(1));
  add_row_sums<T>(res.cublas, T(1) / T(m), chunk, ones, T(0), chunk_mean, count);
  centre_kernel<T>
      <<<grid_for(d * m * count), kThreads, 0, res.stream>>>(chunk, chunk_mean, centred);
  GAUSSOT_KERNEL_CHECK();
  if (samples_before > 0) {
    const T weight = T(samples_before) * T(m) / T(n);
    merge_scatter_kernel<T>
        <<<grid_for(d * d * count), kThreads, 0, res.stream>>>(chunk_mean, mean, weight, scatter);
    GAUSSOT_KERNEL_CHECK();
  }
  merge_mean_kernel<T><<<grid_for(d * count), kThreads, 0, res.stream>>>(
      chunk_mean, samples_before > 0 ? T(m) / T(n) : T(1), mean);
  GAUSSOT_KERNEL_CHECK();
  // scatter (+)= centred · centredᵀ; beta = 0 starts the running scatter.
  gemm_views<T>(res.cublas, Transpose::no, Transpose::yes, T(1), centred, centred,
                samples_before > 0 ? T(1) : T(0), scatter);
  // GEMM's two triangles of a symmetric product can differ in the last bit: mirror the lower one,
  // as the CPU does, so covariances are exactly symmetric.
  mirror_lower<T>(res, scatter);
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_MOMENT_PRIMITIVES)

}  // namespace gaussot::cuda
