// SPDX-License-Identifier: Apache-2.0
// Private to cpu/: the BLAS and LAPACK routines gaussot calls (Fortran ABI, 32-bit integers), from
// the library that cmake/GaussotBlas.cmake picks: scipy-openblas32, whose symbols carry the prefix
// `scipy_`, or the system's OpenBLAS. Declared here so that no LAPACKE or CBLAS header is needed.
#pragma once

#if GAUSSOT_BLAS_SYMBOL_PREFIX_SCIPY
#define GAUSSOT_BLAS_NAME(name) scipy_##name
#else
#define GAUSSOT_BLAS_NAME(name) name
#endif

extern "C" {
void GAUSSOT_BLAS_NAME(ssyevd_)(const char* jobz, const char* uplo, const int* n, float* a,
                                const int* lda, float* w, float* work, const int* lwork, int* iwork,
                                const int* liwork, int* info);
void GAUSSOT_BLAS_NAME(dsyevd_)(const char* jobz, const char* uplo, const int* n, double* a,
                                const int* lda, double* w, double* work, const int* lwork,
                                int* iwork, const int* liwork, int* info);
void GAUSSOT_BLAS_NAME(ssyevd_2stage_)(const char* jobz, const char* uplo, const int* n, float* a,
                                       const int* lda, float* w, float* work, const int* lwork,
                                       int* iwork, const int* liwork, int* info);
void GAUSSOT_BLAS_NAME(dsyevd_2stage_)(const char* jobz, const char* uplo, const int* n, double* a,
                                       const int* lda, double* w, double* work, const int* lwork,
                                       int* iwork, const int* liwork, int* info);
void GAUSSOT_BLAS_NAME(ssyrk_)(const char* uplo, const char* trans, const int* n, const int* k,
                               const float* alpha, const float* a, const int* lda,
                               const float* beta, float* c, const int* ldc);
void GAUSSOT_BLAS_NAME(dsyrk_)(const char* uplo, const char* trans, const int* n, const int* k,
                               const double* alpha, const double* a, const int* lda,
                               const double* beta, double* c, const int* ldc);
void GAUSSOT_BLAS_NAME(spotrf_)(const char* uplo, const int* n, float* a, const int* lda,
                                int* info);
void GAUSSOT_BLAS_NAME(dpotrf_)(const char* uplo, const int* n, double* a, const int* lda,
                                int* info);
void GAUSSOT_BLAS_NAME(sgemm_)(const char* transa, const char* transb, const int* m, const int* n,
                               const int* k, const float* alpha, const float* a, const int* lda,
                               const float* b, const int* ldb, const float* beta, float* c,
                               const int* ldc);
void GAUSSOT_BLAS_NAME(dgemm_)(const char* transa, const char* transb, const int* m, const int* n,
                               const int* k, const double* alpha, const double* a, const int* lda,
                               const double* b, const int* ldb, const double* beta, double* c,
                               const int* ldc);
void GAUSSOT_BLAS_NAME(strmm_)(const char* side, const char* uplo, const char* transa,
                               const char* diag, const int* m, const int* n, const float* alpha,
                               const float* a, const int* lda, float* b, const int* ldb);
void GAUSSOT_BLAS_NAME(dtrmm_)(const char* side, const char* uplo, const char* transa,
                               const char* diag, const int* m, const int* n, const double* alpha,
                               const double* a, const int* lda, double* b, const int* ldb);
}

namespace gaussot::cpu::lapack {

inline void syevd(const char* jobz, int n, float* a, float* w, float* work, int lwork, int* iwork,
                  int liwork, int* info) {
  GAUSSOT_BLAS_NAME(ssyevd_)(jobz, "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}
inline void syevd(const char* jobz, int n, double* a, double* w, double* work, int lwork,
                  int* iwork, int liwork, int* info) {
  GAUSSOT_BLAS_NAME(dsyevd_)(jobz, "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}

/// Eigenvalues only (jobz must be "N") through the two-stage tridiagonalisation (LAPACK 3.7+:
/// a band reduction by BLAS-3 products, then bulge chasing), which moves most of ?syevd's
/// memory-bound BLAS-2 work into matrix products.
inline void syevd_2stage(int n, float* a, float* w, float* work, int lwork, int* iwork, int liwork,
                         int* info) {
  GAUSSOT_BLAS_NAME(ssyevd_2stage_)("N", "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}
inline void syevd_2stage(int n, double* a, double* w, double* work, int lwork, int* iwork,
                         int liwork, int* info) {
  GAUSSOT_BLAS_NAME(dsyevd_2stage_)("N", "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}

/// C (lower triangle) += A Aᵀ for column-major n x k A.
inline void syrk_lower(int n, int k, const float* a, int lda, float* c, int ldc) {
  const float one = 1;
  GAUSSOT_BLAS_NAME(ssyrk_)("L", "N", &n, &k, &one, a, &lda, &one, c, &ldc);
}
inline void syrk_lower(int n, int k, const double* a, int lda, double* c, int ldc) {
  const double one = 1;
  GAUSSOT_BLAS_NAME(dsyrk_)("L", "N", &n, &k, &one, a, &lda, &one, c, &ldc);
}

inline void potrf(int n, float* a, int lda, int* info) {
  GAUSSOT_BLAS_NAME(spotrf_)("L", &n, a, &lda, info);
}
inline void potrf(int n, double* a, int lda, int* info) {
  GAUSSOT_BLAS_NAME(dpotrf_)("L", &n, a, &lda, info);
}

/// C = alpha op(A) op(B) + beta C (column-major; op is "N" or "T").
inline void gemm(const char* ta, const char* tb, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  GAUSSOT_BLAS_NAME(sgemm_)(ta, tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}
inline void gemm(const char* ta, const char* tb, int m, int n, int k, double alpha, const double* a,
                 int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  GAUSSOT_BLAS_NAME(dgemm_)(ta, tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
}

/// B = op(L) B ("L" side) or B op(L) ("R" side) for a lower triangular n x n L (non-unit).
inline void trmm_lower(const char* side, const char* ta, int m, int n, const float* l, int ldl,
                       float* b, int ldb) {
  const float one = 1;
  GAUSSOT_BLAS_NAME(strmm_)(side, "L", ta, "N", &m, &n, &one, l, &ldl, b, &ldb);
}
inline void trmm_lower(const char* side, const char* ta, int m, int n, const double* l, int ldl,
                       double* b, int ldb) {
  const double one = 1;
  GAUSSOT_BLAS_NAME(dtrmm_)(side, "L", ta, "N", &m, &n, &one, l, &ldl, b, &ldb);
}

}  // namespace gaussot::cpu::lapack
