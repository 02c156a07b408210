// SPDX-License-Identifier: Apache-2.0
// Private to cuda/: float/double overloads of the cuBLAS and cuSOLVER calls gaussot makes, so that
// templated code calls one name. Each wrapper checks the status and throws.
#pragma once

#include "cuda_common.hpp"
#include "gaussot/blas.hpp"

namespace gaussot::cuda {

template <typename T>
constexpr cudaDataType data_type() {
  return sizeof(T) == 4 ? CUDA_R_32F : CUDA_R_64F;
}

inline cublasOperation_t to_cublas(Transpose t) {
  return t == Transpose::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
}

// C = alpha op(A) op(B) + beta C for strided batches (64-bit cuBLAS API).
inline void gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                 std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                                 const float* a, std::int64_t lda, std::int64_t stride_a,
                                 const float* b, std::int64_t ldb, std::int64_t stride_b,
                                 float beta, float* c, std::int64_t ldc, std::int64_t stride_c,
                                 std::int64_t count) {
  GAUSSOT_CUBLAS_CHECK(cublasSgemmStridedBatched_64(h, ta, tb, m, n, k, &alpha, a, lda, stride_a, b,
                                                    ldb, stride_b, &beta, c, ldc, stride_c, count));
}
inline void gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                 std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                                 const double* a, std::int64_t lda, std::int64_t stride_a,
                                 const double* b, std::int64_t ldb, std::int64_t stride_b,
                                 double beta, double* c, std::int64_t ldc, std::int64_t stride_c,
                                 std::int64_t count) {
  GAUSSOT_CUBLAS_CHECK(cublasDgemmStridedBatched_64(h, ta, tb, m, n, k, &alpha, a, lda, stride_a, b,
                                                    ldb, stride_b, &beta, c, ldc, stride_c, count));
}

/// gemm_strided_batched on views: c = alpha op(a) op(b) + beta c.
template <typename T>
void gemm_views(cublasHandle_t h, Transpose ta, Transpose tb, T alpha, MatrixBatch<const T> a,
                MatrixBatch<const T> b, T beta, MatrixBatch<T> c) {
  const std::int64_t k = ta == Transpose::yes ? a.rows : a.cols;
  gemm_strided_batched(h, to_cublas(ta), to_cublas(tb), c.rows, c.cols, k, alpha, a.data, a.ld,
                       a.stride, b.data, b.ld, b.stride, beta, c.data, c.ld, c.stride, c.count);
}

/// out_i = alpha · x_i 1 + beta · out_i for x_i of d x m (out: d per item, packed; `ones` holds m
/// ones): row sums by GEMM, whose blocked summation is more accurate and far faster than one
/// thread per row when there are few items with many columns. x may broadcast.
template <typename T>
void add_row_sums(cublasHandle_t h, T alpha, MatrixBatch<const T> x, const T* ones, T beta, T* out,
                  std::int64_t count) {
  const MatrixBatch<const T> ones_column(ones, x.cols, 1, x.cols > 0 ? x.cols : 1, 0, count,
                                         MemorySpace::device);
  gemm_views<T>(h, Transpose::no, Transpose::no, alpha, x, ones_column, beta,
                matrices(out, x.rows, 1, count, MemorySpace::device));
}

// Solves X op(A) = alpha B in place of B (A triangular), pointer-array batches.
inline void trsm_batched(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo,
                         cublasOperation_t trans, int m, int n, float alpha, const float* const* a,
                         int lda, float* const* b, int ldb, int count) {
  GAUSSOT_CUBLAS_CHECK(cublasStrsmBatched(h, side, uplo, trans, CUBLAS_DIAG_NON_UNIT, m, n, &alpha,
                                          a, lda, b, ldb, count));
}
inline void trsm_batched(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo,
                         cublasOperation_t trans, int m, int n, double alpha,
                         const double* const* a, int lda, double* const* b, int ldb, int count) {
  GAUSSOT_CUBLAS_CHECK(cublasDtrsmBatched(h, side, uplo, trans, CUBLAS_DIAG_NON_UNIT, m, n, &alpha,
                                          a, lda, b, ldb, count));
}

// Cholesky factorisations of a pointer-array batch; info[i] > 0 where item i is not SPD.
inline void potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, float** a, int lda,
                          int* info, int count) {
  GAUSSOT_CUSOLVER_CHECK(cusolverDnSpotrfBatched(h, uplo, n, a, lda, info, count));
}
inline void potrf_batched(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, double** a, int lda,
                          int* info, int count) {
  GAUSSOT_CUSOLVER_CHECK(cusolverDnDpotrfBatched(h, uplo, n, a, lda, info, count));
}

// Batched Jacobi eigensolver.
inline int syevj_batched_buffer_size(cusolverDnHandle_t h, cusolverEigMode_t jobz, int n,
                                     const float* a, const float* w, syevjInfo_t params,
                                     int count) {
  int lwork = 0;
  GAUSSOT_CUSOLVER_CHECK(cusolverDnSsyevjBatched_bufferSize(h, jobz, CUBLAS_FILL_MODE_LOWER, n, a,
                                                            n, w, &lwork, params, count));
  return lwork;
}
inline int syevj_batched_buffer_size(cusolverDnHandle_t h, cusolverEigMode_t jobz, int n,
                                     const double* a, const double* w, syevjInfo_t params,
                                     int count) {
  int lwork = 0;
  GAUSSOT_CUSOLVER_CHECK(cusolverDnDsyevjBatched_bufferSize(h, jobz, CUBLAS_FILL_MODE_LOWER, n, a,
                                                            n, w, &lwork, params, count));
  return lwork;
}
inline void syevj_batched(cusolverDnHandle_t h, cusolverEigMode_t jobz, int n, float* a, float* w,
                          float* work, int lwork, int* info, syevjInfo_t params, int count) {
  GAUSSOT_CUSOLVER_CHECK(cusolverDnSsyevjBatched(h, jobz, CUBLAS_FILL_MODE_LOWER, n, a, n, w, work,
                                                 lwork, info, params, count));
}
inline void syevj_batched(cusolverDnHandle_t h, cusolverEigMode_t jobz, int n, double* a, double* w,
                          double* work, int lwork, int* info, syevjInfo_t params, int count) {
  GAUSSOT_CUSOLVER_CHECK(cusolverDnDsyevjBatched(h, jobz, CUBLAS_FILL_MODE_LOWER, n, a, n, w, work,
                                                 lwork, info, params, count));
}

}  // namespace gaussot::cuda
