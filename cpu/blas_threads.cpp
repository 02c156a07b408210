// SPDX-License-Identifier: Apache-2.0
#include "blas_threads.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "gaussot/context.hpp"
#include "lapack.hpp"

extern "C" {  // OpenBLAS's own interface (both choices of GAUSSOT_BLAS are OpenBLAS)
void GAUSSOT_BLAS_NAME(openblas_set_num_threads)(int threads);
int GAUSSOT_BLAS_NAME(openblas_get_num_threads)();
char* GAUSSOT_BLAS_NAME(openblas_get_config)();
char* GAUSSOT_BLAS_NAME(openblas_get_corename)();
}

namespace gaussot::cpu {
namespace {

#if GAUSSOT_BLAS_PTHREADS
/// The requests alive (count per requested thread number) and the count to come back to.
struct Requests {
  std::mutex mutex;
  std::map<int, int> alive;
  int outside = 1;  // the BLAS's count when no request is alive

  void apply() {
    const int wanted = alive.empty() ? outside : std::min(outside, alive.begin()->first);
    if (GAUSSOT_BLAS_NAME(openblas_get_num_threads)() != wanted) {
      GAUSSOT_BLAS_NAME(openblas_set_num_threads)(wanted);
    }
  }
};

Requests& requests() {
  static Requests r;
  return r;
}
#endif

}  // namespace

BlasThreads::BlasThreads(int threads) : threads_(std::max(threads, 1)) {
#if GAUSSOT_BLAS_PTHREADS
  Requests& r = requests();
  const std::lock_guard<std::mutex> lock(r.mutex);
  if (r.alive.empty()) r.outside = std::max(GAUSSOT_BLAS_NAME(openblas_get_num_threads)(), 1);
  ++r.alive[threads_];
  r.apply();
#endif
}

BlasThreads::~BlasThreads() {
#if GAUSSOT_BLAS_PTHREADS
  Requests& r = requests();
  const std::lock_guard<std::mutex> lock(r.mutex);
  if (--r.alive[threads_] == 0) r.alive.erase(threads_);
  r.apply();
#endif
}

}  // namespace gaussot::cpu

namespace gaussot {

std::string cpu_blas() {
  return std::string(GAUSSOT_BLAS_PTHREADS ? "scipy-openblas (" : "system OpenBLAS (") +
         GAUSSOT_BLAS_NAME(openblas_get_config)() + "; " +
         GAUSSOT_BLAS_NAME(openblas_get_corename)() + " kernels)";
}

}  // namespace gaussot
