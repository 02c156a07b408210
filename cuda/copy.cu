// SPDX-License-Identifier: Apache-2.0
// Copies between any two memory spaces: one cudaMemcpyAsync when both sides are packed, a 3-D copy
// when padded items are evenly spaced, a kernel between device views, else one 2-D copy per item.
#include "backend.hpp"
#include "kernels.cuh"

namespace gaussot::cuda {
namespace {

cudaMemcpyKind kind_of(MemorySpace from, MemorySpace to) {
  if (from == MemorySpace::host) {
    return to == MemorySpace::host ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice;
  }
  return to == MemorySpace::host ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
}

/// A 3-D copy describes items that are `stride / ld` columns apart: stride a multiple of ld, and
/// no smaller than an item (cudaMemcpy3D refuses a pitched height below the copy's height, which
/// overlapping input items, allowed for inputs, would give).
template <typename T>
bool evenly_spaced(const MatrixBatch<T>& v) {
  return v.count <= 1 || (v.stride >= v.ld * v.cols && v.stride % v.ld == 0);
}

template <typename T>
cudaPitchedPtr pitched(T* data, const MatrixBatch<T>& v) {
  const std::int64_t columns_per_item = v.count <= 1 ? v.cols : v.stride / v.ld;
  return make_cudaPitchedPtr(const_cast<std::remove_const_t<T>*>(data), v.ld * sizeof(T),
                             v.rows * sizeof(T), static_cast<std::size_t>(columns_per_item));
}

}  // namespace

template <typename T>
void copy(Context& ctx, MatrixBatch<const T> src, MatrixBatch<T> dst) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  if (dst.count == 0 || dst.rows == 0 || dst.cols == 0) return;
  const cudaMemcpyKind kind = kind_of(src.space, dst.space);
  const std::size_t column_bytes = dst.rows * sizeof(T);
  if (src.is_packed() && dst.is_packed()) {
    GAUSSOT_CUDA_CHECK(
        cudaMemcpyAsync(dst.data, src.data, column_bytes * dst.cols * dst.count, kind, res.stream));
  } else if (kind == cudaMemcpyDeviceToDevice) {
    copy_on_device<T>(res, src, dst);
  } else if (evenly_spaced(src) && evenly_spaced(dst)) {
    cudaMemcpy3DParms p{};
    p.srcPtr = pitched(src.data, src);
    p.dstPtr = pitched(dst.data, dst);
    p.extent = make_cudaExtent(column_bytes, dst.cols, dst.count);
    p.kind = kind;
    GAUSSOT_CUDA_CHECK(cudaMemcpy3DAsync(&p, res.stream));
  } else {
    for (std::int64_t i = 0; i < dst.count; ++i) {
      GAUSSOT_CUDA_CHECK(cudaMemcpy2DAsync(dst.item(i), dst.ld * sizeof(T), src.item(i),
                                           src.ld * sizeof(T), column_bytes, dst.cols, kind,
                                           res.stream));
    }
  }
  if (dst.space == MemorySpace::host) GAUSSOT_CUDA_CHECK(cudaStreamSynchronize(res.stream));
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_COPY_PRIMITIVES)

}  // namespace gaussot::cuda
