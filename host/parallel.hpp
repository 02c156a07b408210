// SPDX-License-Identifier: Apache-2.0
// Private to host/: a loop over independent items of uneven cost on OpenMP threads.
#pragma once

#include <omp.h>

#include <cstdint>
#include <exception>

namespace gaussot::host {

/// Calls body(i) for every i in [0, count) on `threads` OpenMP threads (0: OpenMP's default),
/// handing items out one at a time (their costs differ); the first exception thrown by any item
/// is rethrown after the loop.
template <typename Body>
void for_each_item(std::int64_t count, int threads, Body body) {
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1) \
    num_threads(threads > 0 ? threads : omp_get_max_threads()) if (count > 1)
  for (std::int64_t i = 0; i < count; ++i) {
    try {
      body(i);
    } catch (...) {
#pragma omp critical(gaussot_host_for_each_item)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace gaussot::host
