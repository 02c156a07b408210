// SPDX-License-Identifier: Apache-2.0
// Private to cuda/: small kernels shared by several primitives. All use grid-stride loops over
// 64-bit indices and are launched on the context's stream.
#pragma once

#include <cstdint>

#include "cuda_common.hpp"
#include "gaussot/views.hpp"

namespace gaussot::cuda {

/// Index of the calling thread in a grid-stride loop, and the loop's step.
__device__ inline std::int64_t thread_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t grid_step() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

/// Where flat index idx falls in a batch of rows x cols items (items, then columns, then rows).
struct Element {
  std::int64_t item, row, col;
};
__device__ inline Element element_at(std::int64_t idx, std::int64_t rows, std::int64_t cols) {
  const std::int64_t per_item = rows * cols;
  const std::int64_t item = idx / per_item;
  const std::int64_t rc = idx - item * per_item;
  return {item, rc % rows, rc / rows};
}

/// A grid of one block per batch item (grid-stride over items beyond the cap).
inline unsigned blocks_for_items(std::int64_t count) {
  return static_cast<unsigned>(count < 1 ? 1 : (count > 65535 * 16 ? 65535 * 16 : count));
}

/// Records batch item `item` in the flag if it is smaller than what is there.
__device__ inline void flag_item(unsigned long long* flag, std::int64_t item) {
  atomicMin(flag, static_cast<unsigned long long>(item));
}

/// dst = src for device matrices of any layout (src may broadcast).
template <typename T>
__global__ void copy_matrices_kernel(MatrixBatch<const T> src, MatrixBatch<T> dst) {
  const std::int64_t total = dst.rows * dst.cols * dst.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, dst.rows, dst.cols);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    dst.item(i)[r + c * dst.ld] = src.item(i)[r + c * src.ld];
  }
}

template <typename T>
void copy_on_device(detail::CudaResources& res, MatrixBatch<const T> src, MatrixBatch<T> dst) {
  const std::int64_t total = dst.rows * dst.cols * dst.count;
  if (total == 0) return;
  copy_matrices_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(src, dst);
  GAUSSOT_KERNEL_CHECK();
}

/// a_i = (a_i + a_iᵀ) / 2 in place, for square items.
template <typename T>
__global__ void symmetrize_kernel(MatrixBatch<T> a) {
  const std::int64_t d = a.rows;
  const std::int64_t total = d * d * a.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, d, d);
    const std::int64_t i = e.item, r = e.row, c = e.col;
    if (r <= c) continue;  // one thread per pair below the diagonal
    T* m = a.item(i);
    const T mean = (m[r + c * a.ld] + m[c + r * a.ld]) / T(2);
    m[r + c * a.ld] = mean;
    m[c + r * a.ld] = mean;
  }
}

template <typename T>
void symmetrize(detail::CudaResources& res, MatrixBatch<T> a) {
  const std::int64_t total = a.rows * a.rows * a.count;
  if (total == 0) return;
  symmetrize_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(a);
  GAUSSOT_KERNEL_CHECK();
}

/// a_i = lower triangle of a_i mirrored into its upper triangle, for square items: exactly
/// symmetric, as the CPU backend's mirror_lower.
template <typename T>
__global__ void mirror_lower_kernel(MatrixBatch<T> a) {
  const std::int64_t d = a.rows;
  const std::int64_t total = d * d * a.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, d, d);
    if (e.row >= e.col) continue;  // one thread per entry above the diagonal
    T* m = a.item(e.item);
    m[e.row + e.col * a.ld] = m[e.col + e.row * a.ld];
  }
}

template <typename T>
void mirror_lower(detail::CudaResources& res, MatrixBatch<T> a) {
  const std::int64_t total = a.rows * a.rows * a.count;
  if (total == 0) return;
  mirror_lower_kernel<T><<<grid_for(total), kThreads, 0, res.stream>>>(a);
  GAUSSOT_KERNEL_CHECK();
}

template <typename T>
__global__ void fill_kernel(T* data, std::int64_t n, T value) {
  for (std::int64_t i = thread_index(); i < n; i += grid_step()) data[i] = value;
}

/// data[0, n) = value, stream-ordered.
template <typename T>
void fill(detail::CudaResources& res, T* data, std::int64_t n, T value) {
  if (n == 0) return;
  fill_kernel<T><<<grid_for(n), kThreads, 0, res.stream>>>(data, n, value);
  GAUSSOT_KERNEL_CHECK();
}

/// Fills pointers[i] = base + i * stride (the pointer arrays of cuBLAS/cuSOLVER batched calls).
template <typename T>
__global__ void fill_pointers_kernel(T** pointers, T* base, std::int64_t stride,
                                     std::int64_t count) {
  for (std::int64_t i = thread_index(); i < count; i += grid_step()) {
    pointers[i] = base + i * stride;
  }
}

template <typename T>
void fill_pointers(detail::CudaResources& res, T** pointers, T* base, std::int64_t stride,
                   std::int64_t count) {
  fill_pointers_kernel<T>
      <<<grid_for(count), kThreads, 0, res.stream>>>(pointers, base, stride, count);
  GAUSSOT_KERNEL_CHECK();
}

}  // namespace gaussot::cuda
