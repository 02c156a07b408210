// SPDX-License-Identifier: Apache-2.0
#include <cub/block/block_reduce.cuh>

#include "backend.hpp"
#include "kernels.cuh"

namespace gaussot::cuda {
namespace {

template <typename T>
__global__ void flag_nonfinite_kernel(MatrixBatch<const T> a, bool lower_only,
                                      unsigned long long* flag) {
  const std::int64_t total = a.rows * a.cols * a.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, a.rows, a.cols);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    if (lower_only && r < c) continue;
    if (!isfinite(a.item(i)[r + c * a.ld])) flag_item(flag, i);
  }
}

struct Maximum {
  template <typename T>
  __device__ T operator()(T x, T y) const {
    return x > y ? x : y;
  }
};

/// One block per item: flags items whose largest |a_rc − a_cr| exceeds tolerance · max |a_rc|.
template <typename T>
__global__ void flag_asymmetric_kernel(MatrixBatch<const T> a, T tolerance,
                                       unsigned long long* flag) {
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  const std::int64_t d = a.rows;
  for (std::int64_t i = blockIdx.x; i < a.count; i += gridDim.x) {
    T largest = 0, asymmetry = 0;
    for (std::int64_t rc = threadIdx.x; rc < d * d; rc += blockDim.x) {
      const std::int64_t c = rc / d, r = rc - c * d;
      const T x = a.item(i)[r + c * a.ld];
      largest = fmax(largest, fabs(x));
      if (r > c) asymmetry = fmax(asymmetry, fabs(x - a.item(i)[c + r * a.ld]));
    }
    largest = BlockReduce(storage).Reduce(largest, Maximum());
    __syncthreads();
    asymmetry = BlockReduce(storage).Reduce(asymmetry, Maximum());
    if (threadIdx.x == 0 && asymmetry > tolerance * largest) flag_item(flag, i);
    __syncthreads();
  }
}

__global__ void flag_nonzero_kernel(const int* info, std::int64_t count, unsigned long long* flag) {
  for (std::int64_t i = thread_index(); i < count; i += grid_step()) {
    if (info[i] != 0) flag_item(flag, i);
  }
}

}  // namespace

void flag_first_nonzero(detail::CudaResources& res, const int* info, std::int64_t count) {
  if (count == 0) return;
  flag_nonzero_kernel<<<grid_for(count), kThreads, 0, res.stream>>>(info, count, res.flag);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
std::int64_t first_nonfinite(Context& ctx, MatrixBatch<const T> a, bool lower_only) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  reset_flag(res);
  const std::int64_t total = a.rows * a.cols * a.count;
  if (total > 0) {
    flag_nonfinite_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(a, lower_only, res.flag);
    GAUSSOT_KERNEL_CHECK();
  }
  return read_flag(res);
}

template <typename T>
std::int64_t first_asymmetric(Context& ctx, MatrixBatch<const T> a, T tolerance) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  reset_flag(res);
  if (a.count > 0 && a.rows > 0) {
    flag_asymmetric_kernel<T>
        <<<blocks_for_items(a.count), kThreads, 0, res.stream>>>(a, tolerance, res.flag);
    GAUSSOT_KERNEL_CHECK();
  }
  return read_flag(res);
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_CHECK_PRIMITIVES)

}  // namespace gaussot::cuda
