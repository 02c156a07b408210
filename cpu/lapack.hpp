// SPDX-License-Identifier: Apache-2.0
// Private to cpu/: the LAPACK routines gaussot calls (Fortran ABI, 32-bit integers), provided by
// OpenBLAS. Declared here so that no LAPACKE header is needed.
#pragma once

extern "C" {
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w,
             float* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc);
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
}

namespace gaussot::cpu::lapack {

inline void syevd(const char* jobz, int n, float* a, float* w, float* work, int lwork, int* iwork,
                  int liwork, int* info) {
  ssyevd_(jobz, "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}
inline void syevd(const char* jobz, int n, double* a, double* w, double* work, int lwork,
                  int* iwork, int liwork, int* info) {
  dsyevd_(jobz, "L", &n, a, &n, w, work, &lwork, iwork, &liwork, info);
}

/// C (lower triangle) += A Aᵀ for column-major n x k A: BLAS ?syrk, which OpenBLAS threads when
/// called outside gaussot's parallel loops.
inline void syrk_lower(int n, int k, const float* a, int lda, float* c, int ldc) {
  const float one = 1;
  ssyrk_("L", "N", &n, &k, &one, a, &lda, &one, c, &ldc);
}
inline void syrk_lower(int n, int k, const double* a, int lda, double* c, int ldc) {
  const double one = 1;
  dsyrk_("L", "N", &n, &k, &one, a, &lda, &one, c, &ldc);
}

inline void potrf(int n, float* a, int lda, int* info) { spotrf_("L", &n, a, &lda, info); }
inline void potrf(int n, double* a, int lda, int* info) { dpotrf_("L", &n, a, &lda, info); }

}  // namespace gaussot::cpu::lapack
