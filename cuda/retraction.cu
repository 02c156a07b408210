// SPDX-License-Identifier: Apache-2.0
// QR retraction by CholeskyQR2: twice, G = QᵀQ (GEMM), G = L Lᵀ (potrfBatched), Q ← Q L⁻ᵀ
// (trsmBatched). The Cholesky factor has a positive diagonal, so R = L₂ᵀL₁ᵀ does too: Q is the
// sign-fixed thin-QR factor without a separate sign step.
#include <climits>

#include "backend.hpp"
#include "kernels.cuh"
#include "library_wrappers.hpp"

namespace gaussot::cuda {

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
    trsm_batched(res.cublas, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, int(m),
                 int(r), T(1), gram_pointers, int(r), q_pointers, int(q.ld), int(count));
  }
  return read_flag(res);
}

template std::int64_t qr_retraction<float>(Context&, MatrixBatch<const float>,
                                           MatrixBatch<float>);
template std::int64_t qr_retraction<double>(Context&, MatrixBatch<const double>,
                                            MatrixBatch<double>);

}  // namespace gaussot::cuda
