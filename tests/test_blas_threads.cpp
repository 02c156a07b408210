// SPDX-License-Identifier: Apache-2.0
// The BLAS's thread count (cpu/blas_threads.hpp): requests combine as the smallest, never exceed
// the count set outside gaussot (OPENBLAS_NUM_THREADS, threadpoolctl), and the count is restored
// when the last request ends, also when large LAPACK calls run from several threads at once.
#include <algorithm>
#include <random>
#include <thread>
#include <vector>

#include "blas_threads.hpp"
#include "lapack.hpp"
#include "test_utils.hpp"

#if GAUSSOT_BLAS_PTHREADS
extern "C" {
void GAUSSOT_BLAS_NAME(openblas_set_num_threads)(int threads);
int GAUSSOT_BLAS_NAME(openblas_get_num_threads)();
}
#endif

namespace gaussot::test {
namespace {

#if GAUSSOT_BLAS_PTHREADS
int blas_count() { return GAUSSOT_BLAS_NAME(openblas_get_num_threads)(); }
void set_blas_count(int threads) { GAUSSOT_BLAS_NAME(openblas_set_num_threads)(threads); }

/// Sets the BLAS's count for the test and restores it after.
class OutsideCount {
 public:
  explicit OutsideCount(int threads) : saved_(blas_count()) { set_blas_count(threads); }
  ~OutsideCount() { set_blas_count(saved_); }

 private:
  int saved_;
};

TEST(BlasThreads, RequestsCombineAsTheSmallestAndTheOutsideCountComesBack) {
  const OutsideCount outside(2);
  {
    const cpu::BlasThreads batch_loop(1);
    EXPECT_EQ(blas_count(), 1);
    {
      const cpu::BlasThreads lone_item(2);  // a second thread's request while the first is alive
      EXPECT_EQ(blas_count(), 1);
    }
    EXPECT_EQ(blas_count(), 1);
  }
  EXPECT_EQ(blas_count(), 2);
  {
    const cpu::BlasThreads more(8);  // never more than the count set outside
    EXPECT_EQ(blas_count(), 2);
  }
  EXPECT_EQ(blas_count(), 2);
}

TEST(BlasThreads, ACountSetOutsideGaussotIsALimit) {
  const OutsideCount outside(1);  // as threadpool_limits(1) does
  {
    const cpu::BlasThreads lone_item(2);
    EXPECT_EQ(blas_count(), 1);
  }
  EXPECT_EQ(blas_count(), 1);
}

/// Symmetric positive definite matrices of an order that goes to LAPACK (?syevd from d = 160).
HostBatch<double> lapack_sized(std::int64_t d, std::int64_t count, unsigned seed) {
  std::mt19937_64 rng(seed);
  HostBatch<double> g(d, d, count), a(d, d, count);
  fill_gaussian(g, rng);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r < d; ++r) {
        double s = r == c ? 1.0 : 0.0;
        for (std::int64_t k = 0; k < d; ++k) s += g.view.at(i, r, k) * g.view.at(i, c, k) / d;
        a.view.at(i, r, c) = s;
      }
  return a;
}

TEST(BlasThreads, LapackCallsFromSeveralThreadsAgreeAndLeaveTheCount) {
  const OutsideCount outside(2);
  const std::int64_t d = 200;
  const HostBatch<double> lone = lapack_sized(d, 1, 5), batch = lapack_sized(d, 3, 6);
  auto values = [&](const HostBatch<double>& a) {
    Context ctx = Context::cpu(2);
    HostVectors<double> w(d, a.view.count);
    eigvalsh<double>(ctx, a.cview(), w.view);
    return w.storage;
  };
  const std::vector<double> lone_alone = values(lone), batch_alone = values(batch);
  std::vector<std::vector<double>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {  // two lone large items and two batches at once
    threads.emplace_back([&, t] { seen[t] = values(t % 2 == 0 ? lone : batch); });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 4; ++t) {
    const std::vector<double>& expected = t % 2 == 0 ? lone_alone : batch_alone;
    ASSERT_EQ(seen[t].size(), expected.size());
    const double scale = *std::max_element(expected.begin(), expected.end());
    for (std::size_t j = 0; j < expected.size(); ++j) {
      EXPECT_NEAR(seen[t][j], expected[j], 1e-12 * scale) << "thread " << t << ", value " << j;
    }
  }
  EXPECT_EQ(blas_count(), 2);
}
#else
TEST(BlasThreads, SkippedWithAnOpenMpBlas) {
  GTEST_SKIP() << "GAUSSOT_BLAS=system: the BLAS follows the caller's OpenMP setting";
}
#endif

}  // namespace
}  // namespace gaussot::test
