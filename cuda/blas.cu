// SPDX-License-Identifier: Apache-2.0
#include <cub/block/block_reduce.cuh>

#include "backend.hpp"
#include "kernels.cuh"
#include "library_wrappers.hpp"

namespace gaussot::cuda {
namespace {

template <typename T>
__global__ void trace_kernel(MatrixBatch<const T> a, VectorBatch<T> out) {
  for (std::int64_t i = thread_index(); i < a.count; i += grid_step()) {
    T sum = 0;
    for (std::int64_t j = 0; j < a.rows; ++j) sum += a.item(i)[j + j * a.ld];
    out.item(i)[0] = sum;
  }
}

/// One block per batch item: out_i = Σ a_i ∘ b_i.
template <typename T>
__global__ void frobenius_kernel(MatrixBatch<const T> a, MatrixBatch<const T> b,
                                 VectorBatch<T> out) {
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  const std::int64_t per_item = a.rows * a.cols;
  for (std::int64_t i = blockIdx.x; i < a.count; i += gridDim.x) {
    T sum = 0;
    for (std::int64_t rc = threadIdx.x; rc < per_item; rc += blockDim.x) {
      const std::int64_t c = rc / a.rows;
      const std::int64_t r = rc - c * a.rows;
      sum += a.item(i)[r + c * a.ld] * b.item(i)[r + c * b.ld];
    }
    const T total = BlockReduce(storage).Sum(sum);
    if (threadIdx.x == 0) out.item(i)[0] = total;
    __syncthreads();  // storage is reused by the next item
  }
}

template <typename T>
__global__ void axpby_kernel(T alpha, MatrixBatch<const T> x, T beta, MatrixBatch<T> y) {
  const std::int64_t total = y.rows * y.cols * y.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, y.rows, y.cols);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    T& yi = y.item(i)[r + c * y.ld];
    const T xi = x.item(i)[r + c * x.ld];
    yi = beta == T(0) ? alpha * xi : alpha * xi + beta * yi;
  }
}

unsigned blocks_for_items(std::int64_t count) {
  return static_cast<unsigned>(std::min<std::int64_t>(std::max<std::int64_t>(count, 1), 65535 * 16));
}

}  // namespace

template <typename T>
void gemm(Context& ctx, Transpose transpose_a, Transpose transpose_b, T alpha,
          MatrixBatch<const T> a, MatrixBatch<const T> b, T beta, MatrixBatch<T> c) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  gemm_views<T>(res.cublas, transpose_a, transpose_b, alpha, a, b, beta, c);
}

template <typename T>
void sandwich(Context& ctx, MatrixBatch<const T> s, MatrixBatch<const T> b, MatrixBatch<T> out) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t d = s.rows;
  WorkspacePlan plan;
  const std::size_t sb_offset = plan.add<T>(d * d * out.count);
  const MatrixBatch<T> sb = square_matrices(
      at_offset<T>(acquire_workspace(res, plan.bytes()), sb_offset), d, out.count,
      MemorySpace::device);
  gemm_views<T>(res.cublas, Transpose::no, Transpose::no, T(1), s, b, T(0), sb);
  gemm_views<T>(res.cublas, Transpose::no, Transpose::no, T(1), sb, s, T(0), out);
  symmetrize<T>(res, out);
}

template <typename T>
void trace(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> out) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  trace_kernel<T><<<grid_for(a.count), kThreads, 0, res.stream>>>(a, out);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void frobenius_inner(Context& ctx, MatrixBatch<const T> a, MatrixBatch<const T> b,
                     VectorBatch<T> out) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  frobenius_kernel<T><<<blocks_for_items(a.count), kThreads, 0, res.stream>>>(a, b, out);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
void axpby(Context& ctx, T alpha, MatrixBatch<const T> x, T beta, MatrixBatch<T> y) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t total = y.rows * y.cols * y.count;
  if (total == 0) return;
  axpby_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(alpha, x, beta, y);
  GAUSSOT_KERNEL_CHECK();
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_BLAS_PRIMITIVES)

}  // namespace gaussot::cuda
