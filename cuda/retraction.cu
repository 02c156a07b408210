// SPDX-License-Identifier: Apache-2.0
// QR retraction by CholeskyQR2: twice, G = QᵀQ (GEMM), G = L Lᵀ (potrfBatched), Q ← Q L⁻ᵀ
// (trsmBatched). The Cholesky factor has a positive diagonal, so R = L₂ᵀL₁ᵀ does too: Q is the
// sign-fixed thin-QR factor without a separate sign step. CholeskyQR2 is accurate while
// cond(X) <~ ε^(-1/2); an item is reported as having dependent columns when the first Cholesky
// fails or its pivots fail shared_rule::cholesky_qr_pivots_ok (smallest L_jj <= √ε · largest),
// which is where that bound is lost.
#include <climits>

#include "backend.hpp"
#include "kernels.cuh"
#include "library_wrappers.hpp"
#include "shared_rules.hpp"

namespace gaussot::cuda {
namespace {

/// Flags items whose Cholesky factor L (lower triangle of `gram`) fails
/// shared_rule::cholesky_qr_pivots_ok; one thread per item.
template <typename T>
__global__ void flag_small_pivots_kernel(MatrixBatch<const T> gram, unsigned long long* flag) {
  for (std::int64_t i = thread_index(); i < gram.count; i += grid_step()) {
    if (!shared_rule::cholesky_qr_pivots_ok(gram.item(i), gram.rows, gram.ld)) flag_item(flag, i);
  }
}

/// Zeroes the strict upper triangle of every item.
template <typename T>
__global__ void zero_upper_kernel(MatrixBatch<T> a) {
  const std::int64_t total = a.rows * a.cols * a.count;
  for (std::int64_t idx = thread_index(); idx < total; idx += grid_step()) {
    const Element e = element_at(idx, a.rows, a.cols);
    if (e.row < e.col) a.item(e.item)[e.row + e.col * a.ld] = T(0);
  }
}

/// Orders up to which potrfBatched serves a batch; above, cusolverDnXpotrf runs per item.
constexpr std::int64_t kBatchedCholeskyMaxOrder = 64;

}  // namespace

template <typename T>
std::int64_t cholesky(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> l) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t d = a.rows, count = a.count;
  GAUSSOT_EXPECTS(l.ld <= INT_MAX && count <= INT_MAX, InvalidArgument,
                  "cholesky (CUDA): sizes exceed the 32-bit batched cuSOLVER API");
  const bool batched = d <= kBatchedCholeskyMaxOrder;
  std::size_t device_bytes = 0, host_bytes = 0;
  if (!batched) {
    GAUSSOT_CUSOLVER_CHECK(cusolverDnXpotrf_bufferSize(
        res.cusolver, res.solver_params, CUBLAS_FILL_MODE_LOWER, d, data_type<T>(), l.data, l.ld,
        data_type<T>(), &device_bytes, &host_bytes));
  }
  WorkspacePlan plan;
  const std::size_t info_offset = plan.add<int>(count);
  const std::size_t pointers_offset = plan.add<T*>(batched ? count : 0);
  const std::size_t work_offset = plan.add_bytes(device_bytes);
  char* base = acquire_workspace(res, plan.bytes());
  int* info = at_offset<int>(base, info_offset);
  if (static_cast<const void*>(a.data) != static_cast<const void*>(l.data))
    copy_on_device<T>(res, a, l);
  if (batched) {
    T** pointers = at_offset<T*>(base, pointers_offset);
    fill_pointers<T>(res, pointers, l.data, l.stride, count);
    potrf_batched(res.cusolver, CUBLAS_FILL_MODE_LOWER, int(d), pointers, int(l.ld), info,
                  int(count));
  } else {
    if (res.host_workspace.size() < host_bytes) res.host_workspace.resize(host_bytes);
    for (std::int64_t i = 0; i < count; ++i) {
      GAUSSOT_CUSOLVER_CHECK(
          cusolverDnXpotrf(res.cusolver, res.solver_params, CUBLAS_FILL_MODE_LOWER, d,
                           data_type<T>(), l.item(i), l.ld, data_type<T>(), base + work_offset,
                           device_bytes, res.host_workspace.data(), host_bytes, info + i));
    }
  }
  zero_upper_kernel<T><<<grid_for(d * d * count), kThreads, 0, res.stream>>>(l);
  GAUSSOT_KERNEL_CHECK();
  reset_flag(res);
  flag_first_nonzero(res, info, count);
  return read_flag(res);
}

template <typename T>
std::int64_t qr_retraction(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> q) {
  detail::CudaResources& res = ctx.cuda_resources();
  const DeviceGuard guard(res.device);
  const std::int64_t m = x.rows;
  const std::int64_t r = x.cols;
  const std::int64_t count = x.count;
  GAUSSOT_EXPECTS(m <= INT_MAX && q.ld <= INT_MAX && count <= INT_MAX, InvalidArgument,
                  "qr_retraction (CUDA): sizes exceed the 32-bit batched cuBLAS/cuSOLVER API");
  WorkspacePlan plan;
  const std::size_t gram_offset = plan.add<T>(r * r * count);
  const std::size_t gram_pointers_offset = plan.add<T*>(count);
  const std::size_t q_pointers_offset = plan.add<T*>(count);
  const std::size_t info_offset = plan.add<int>(count);
  char* base = acquire_workspace(res, plan.bytes());
  const MatrixBatch<T> gram =
      square_matrices(at_offset<T>(base, gram_offset), r, count, MemorySpace::device);
  T** gram_pointers = at_offset<T*>(base, gram_pointers_offset);
  T** q_pointers = at_offset<T*>(base, q_pointers_offset);
  int* info = at_offset<int>(base, info_offset);

  copy_on_device<T>(res, x, q);
  fill_pointers<T>(res, gram_pointers, gram.data, r * r, count);
  fill_pointers<T>(res, q_pointers, q.data, q.stride, count);
  reset_flag(res);
  for (int pass = 0; pass < 2; ++pass) {
    gemm_views<T>(res.cublas, Transpose::yes, Transpose::no, T(1), q, q, T(0), gram);
    potrf_batched(res.cusolver, CUBLAS_FILL_MODE_LOWER, int(r), gram_pointers, int(r), info,
                  int(count));
    flag_first_nonzero(res, info, count);
    if (pass == 0) {
      flag_small_pivots_kernel<T><<<grid_for(count), kThreads, 0, res.stream>>>(gram, res.flag);
      GAUSSOT_KERNEL_CHECK();
    }
    trsm_batched(res.cublas, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, int(m), int(r),
                 T(1), gram_pointers, int(r), q_pointers, int(q.ld), int(count));
  }
  return read_flag(res);
}

GAUSSOT_INSTANTIATE_PRIMITIVES(GAUSSOT_RETRACTION_PRIMITIVES)

}  // namespace gaussot::cuda
