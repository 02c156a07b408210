// SPDX-License-Identifier: Apache-2.0
// Private to cpu/: running a loop over batch items on the context's OpenMP threads, and Eigen maps
// of batch items.
#pragma once

#include <omp.h>

#include <Eigen/Dense>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <optional>

#include "blas_threads.hpp"
#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot::cpu {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using MatrixMap = Eigen::Map<Matrix<std::remove_const_t<T>>, 0, Eigen::OuterStride<>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const Matrix<std::remove_const_t<T>>, 0, Eigen::OuterStride<>>;
template <typename T>
using VectorMap = Eigen::Map<Vector<T>>;

/// Item i of a batch as an Eigen matrix map.
template <typename T>
MatrixMap<T> item(const MatrixBatch<T>& batch, std::int64_t i) {
  return MatrixMap<T>(batch.item(i), batch.rows, batch.cols, Eigen::OuterStride<>(batch.ld));
}
template <typename T>
ConstMatrixMap<T> item(const MatrixBatch<const T>& batch, std::int64_t i) {
  return ConstMatrixMap<T>(batch.item(i), batch.rows, batch.cols, Eigen::OuterStride<>(batch.ld));
}
template <typename T>
VectorMap<T> item(const VectorBatch<T>& batch, std::int64_t i) {
  return VectorMap<T>(batch.item(i), batch.size);
}

/// The smallest batch index recorded by any thread (-1 when none was).
class FirstItem {
 public:
  void record(std::int64_t i) {
    std::int64_t seen = first_.load();
    while ((seen < 0 || i < seen) && !first_.compare_exchange_weak(seen, i)) {
    }
  }
  std::int64_t get() const { return first_.load(); }

 private:
  std::atomic<std::int64_t> first_{-1};
};

/// Copies the strictly lower triangle of a square matrix onto its strictly upper triangle.
template <typename Derived>
void mirror_lower(Eigen::MatrixBase<Derived>& m) {
  for (Eigen::Index c = 1; c < m.cols(); ++c) {
    for (Eigen::Index r = 0; r < c; ++r) m(r, c) = m(c, r);
  }
}

/// While alive, parallel regions that the calling thread starts (Eigen's GEMM, an OpenMP BLAS) use
/// at most `threads` threads: omp_set_num_threads sets the calling thread's own nthreads-var, so
/// other threads and contexts are not affected. A pthreads BLAS is limited by BlasThreads.
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(std::max(threads, 1));
  }
  ~ThreadLimit() { omp_set_num_threads(saved_); }
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int saved_;
};

/// Total work (about one unit per multiply-add or element touched) below which a loop runs on the
/// calling thread: a team of threads costs microseconds to start on a quiet machine, and up to
/// milliseconds per loop when other processes hold the cores (every thread must be scheduled).
/// Small batches (a few 2 x 2 matrices) are faster serial either way.
constexpr double kMinParallelWork = 1 << 18;

/// Work of a single item (a GEMM's multiply-adds) below which Eigen's own threading is switched
/// off. Eigen's parallel GEMM synchronises its threads by spinning on shared counters; when other
/// processes hold the cores, a spinning thread waits out the time slice of a descheduled one. Two
/// processes sharing 2 cores, each multiplying n x n matrices on 2 threads (ad hoc Eigen program,
/// AMD EPYC, 2026-11-24): n = 128 took 11.6 ms per product instead of 0.11 ms alone on one thread,
/// n = 384 17.5 ms instead of 3.0 ms, while n >= 512 stayed near the one-thread time. Alone, two
/// threads are 1.6-2x faster at every n, which this threshold gives up below n ~ 512.
constexpr double kMinThreadedItemWork = double(1 << 27);

/// Calls body(state, i) for every i in [0, count) on up to ctx.num_threads() threads, with one
/// `state = make_state()` per thread (solver objects, scratch matrices); `work` estimates the cost
/// of one item (kMinParallelWork's units). A loop whose total work is small, or a single item,
/// runs on the calling thread outside any parallel region, so that Eigen's own GEMM threading
/// can serve a large single item (kMinThreadedItemWork or more), with ctx.num_threads() threads,
/// as can the BLAS. Inside the parallel loop the BLAS runs on each item's thread alone. The first
/// exception thrown by any item is rethrown after the loop.
template <typename MakeState, typename Body>
void for_each_item(const Context& ctx, std::int64_t count, double work, MakeState make_state,
                   Body body) {
  if (count <= 0) return;
  if (count == 1 || ctx.num_threads() <= 1 || double(count) * work < kMinParallelWork) {
    const bool threaded_item = double(count) * work >= kMinThreadedItemWork;
    const int threads = threaded_item ? ctx.num_threads() : 1;
    const ThreadLimit limit(threads);
    const BlasThreads blas(threads);
    auto state = make_state();
    for (std::int64_t i = 0; i < count; ++i) body(state, i);
    return;
  }
  const int threads = static_cast<int>(std::min<std::int64_t>(ctx.num_threads(), count));
  // Items are handed out in chunks of about kMinParallelWork, on demand: a thread that another
  // process slows down (a busy core) takes fewer chunks instead of holding back the others at the
  // end of the loop. Results do not depend on which thread runs an item.
  const auto chunk = static_cast<std::int64_t>(
      std::clamp(kMinParallelWork / std::max(work, 1.0), 1.0, double(count) / threads));
  std::exception_ptr error;
  const BlasThreads blas(1);
#pragma omp parallel num_threads(threads)
  {
    std::optional<decltype(make_state())> state;
    try {
      state.emplace(make_state());
    } catch (...) {
#pragma omp critical(gaussot_for_each_item)
      if (!error) error = std::current_exception();
    }
#pragma omp for schedule(dynamic, chunk)
    for (std::int64_t i = 0; i < count; ++i) {
      if (!state) continue;
      try {
        body(*state, i);
      } catch (...) {
#pragma omp critical(gaussot_for_each_item)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

/// for_each_item without per-thread state.
template <typename Body>
void for_each_item(const Context& ctx, std::int64_t count, double work, Body body) {
  for_each_item(
      ctx, count, work, [] { return 0; }, [&](int&, std::int64_t i) { body(i); });
}

}  // namespace gaussot::cpu
