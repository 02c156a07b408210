// SPDX-License-Identifier: Apache-2.0
// Private to cpu/: how many threads the BLAS may use, process-wide (cmake/GaussotBlas.cmake).
#pragma once

namespace gaussot::cpu {

/// While alive, a pthreads BLAS (scipy-openblas) runs on at most `threads` threads: 1 around
/// gaussot's parallel loops over a batch (each item's BLAS calls on the item's own thread), the
/// context's count for a lone large item. The BLAS keeps one count for the whole process, so the
/// requests of all threads alive at a time are combined: the count is the smallest of them, and
/// never more than the count the BLAS had when no request was alive (OPENBLAS_NUM_THREADS, or
/// what threadpoolctl or the application set), which is restored when the last request ends.
/// With an OpenMP BLAS (GAUSSOT_BLAS=system) this does nothing: the BLAS then uses the calling
/// thread's OpenMP setting (ThreadLimit, parallel.hpp).
class BlasThreads {
 public:
  explicit BlasThreads(int threads);
  ~BlasThreads();
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;

 private:
  int threads_;
};

}  // namespace gaussot::cpu
