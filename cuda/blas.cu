// SPDX-License-Identifier: Apache-2.0
#include <cub/block/block_reduce.cuh>

#include "backend.hpp"
#include "kernels.cuh"
#include "library_wrappers.hpp"
#include "shared_rules.hpp"

namespace gaussot::cuda {
namespace {

/// One block per batch item: out_i = tr a_i (a tree sum, as accurate as the CPU's at any d).
template <typename T>
__global__ void trace_kernel(MatrixBatch<const T> a, VectorBatch<T> out) {
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  for (std::int64_t i = blockIdx.x; i < a.count; i += gridDim.x) {
    T sum = 0;
    for (std::int64_t j = threadIdx.x; j < a.rows; j += blockDim.x) sum += a.item(i)[j + j * a.ld];
    const T total = BlockReduce(storage).Sum(sum);
    if (threadIdx.x == 0) out.item(i)[0] = total;
    __syncthreads();  // storage is reused by the next item
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
__global__ void combine_kernel(LinearCombination<T> combination, MatrixBatch<T> out) {
  const std::int64_t total = out.rows * out.cols * out.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, out.rows, out.cols);
    T value = 0;  // every term is read before out is written: terms may alias out
    for (int j = 0; j < combination.count; ++j) {
      value += combination.coefficients[j] *
               combination.terms[j].item(e.item)[e.row + e.col * combination.terms[j].ld];
    }
    out.item(e.item)[e.row + e.col * out.ld] =
        combination.has_floor ? shared_rule::at_least(value, combination.floor) : value;
  }
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
  const MatrixBatch<T> sb =
      square_matrices(at_offset<T>(acquire_workspace(res, plan.bytes()), sb_offset), d, out.count,
                      MemorySpace::device);
  gemm_views<T>(res.cublas, Transpose::yes, Transpose::no, T(1), s, b, T(0), sb);
  gemm_views<T>(res.cublas, Transpose::no, Transpose::no, T(1), sb, s, T(0), out);
  symmetrize<T>(res, out);
}

template <typename T>
void trace(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> out) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  trace_kernel<T><<<blocks_for_items(a.count), kThreads, 0, res.stream>>>(a, out);
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
void combine(Context& ctx, const LinearCombination<T>& combination, MatrixBatch<T> out) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t total = out.rows * out.cols * out.count;
  if (total == 0) return;
  combine_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(combination, out);
  GAUSSOT_KERNEL_CHECK();
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_BLAS_PRIMITIVES)

}  // namespace gaussot::cuda
