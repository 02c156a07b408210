// SPDX-License-Identifier: Apache-2.0
// Sample means and covariances (divisor n − 1) against a two-pass long double reference, for every
// chunking, for data far from the origin, and through the streaming MomentAccumulator.
#include <cmath>
#include <functional>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
class Statistics : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{4242};

  /// count sets of n samples in dimension d: offset + correlated Gaussian noise.
  HostBatch<T> samples(std::int64_t d, std::int64_t n, std::int64_t count, long double offset,
                       std::int64_t ld_pad = 0) {
    HostBatch<T> x(d, n, count, ld_pad, 0);
    std::normal_distribution<double> normal;
    for (std::int64_t i = 0; i < count; ++i) {
      const Dense mix = random_orthogonal(d, rng);
      for (std::int64_t j = 0; j < n; ++j) {
        std::vector<long double> z(d);
        for (auto& v : z) v = normal(rng);
        for (std::int64_t r = 0; r < d; ++r) {
          long double v = offset * (r + 1);
          for (std::int64_t l = 0; l < d; ++l) v += mix[r + l * d] * z[l] * (l + 1);
          x.view.at(i, r, j) = T(v);
        }
      }
    }
    return x;
  }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Statistics, Precisions);

/// Two-pass mean and covariance of item i in long double.
template <typename T>
std::pair<std::vector<long double>, Dense> reference_moments(const HostBatch<T>& x,
                                                             std::int64_t i) {
  const std::int64_t d = x.view.rows, n = x.view.cols;
  std::vector<long double> mean(d, 0.0L);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t r = 0; r < d; ++r) mean[r] += x.view.at(i, r, j);
  for (auto& m : mean) m /= n;
  Dense cov(d * d, 0.0L);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r < d; ++r)
        cov[r + c * d] += (x.view.at(i, r, j) - mean[r]) * (x.view.at(i, c, j) - mean[c]);
  for (auto& v : cov) v /= (n - 1);
  return {mean, cov};
}

template <typename T>
void expect_moments_near(const HostBatch<T>& x, const HostVectors<T>& mean, const HostBatch<T>& cov,
                         long double tolerance) {
  for (std::int64_t i = 0; i < x.view.count; ++i) {
    const auto [m, c] = reference_moments(x, i);
    long double mean_scale = 0;
    for (long double v : m) mean_scale = std::max(mean_scale, std::abs(v));
    for (std::int64_t r = 0; r < x.view.rows; ++r) {
      EXPECT_NEAR(mean.view.at(i, r), m[r], tolerance * (mean_scale + std::sqrt(frobenius(c))))
          << "item " << i;
    }
    EXPECT_LE(frobenius_distance(cov.item(i), c), tolerance * frobenius(c)) << "item " << i;
  }
}

TYPED_TEST(Statistics, EveryChunkingGivesTheTwoPassAnswer) {
  using T = TypeParam;
  const std::int64_t d = 5, n = 37, count = 3;
  const HostBatch<T> x = this->samples(d, n, count, 2.0L, /*ld_pad=*/2);
  for (const std::int64_t chunk : {0, 1, 2, 3, 10, 36, 37, 100}) {
    HostVectors<T> mean(d, count, 1);
    HostBatch<T> cov(d, d, count, 1, 2);
    sample_moments<T>(this->ctx, x.cview(), mean.view, cov.view, chunk);
    expect_moments_near(x, mean, cov, 50 * eps<T>());
    for (std::int64_t i = 0; i < count; ++i)
      for (std::int64_t c = 0; c < d; ++c)
        for (std::int64_t r = 0; r < c; ++r) EXPECT_EQ(cov.view.at(i, r, c), cov.view.at(i, c, r));
  }
}

// Data far from the origin (mean 1e4 × the spread in float, 1e7 in double): a one-pass sum of
// squares would lose everything; the chunked two-pass merge keeps the relative accuracy.
TYPED_TEST(Statistics, DataFarFromTheOriginKeepsItsAccuracy) {
  using T = TypeParam;
  const long double offset = std::is_same_v<T, double> ? 1e7L : 1e4L;
  const HostBatch<T> x = this->samples(3, 500, 2, offset);
  HostVectors<T> mean(3, 2);
  HostBatch<T> cov(3, 3, 2);
  sample_moments<T>(this->ctx, x.cview(), mean.view, cov.view, 64);
  // The inputs themselves carry a relative error ε·offset/spread ~ 1e-9 (double) or 1e-3 (float)
  // of the spread; the algorithm must not add more than a few times that.
  expect_moments_near(x, mean, cov, 100 * eps<T>() * offset / 3);
}

TYPED_TEST(Statistics, AccumulatorOverRandomChunksMatchesSampleMoments) {
  using T = TypeParam;
  const std::int64_t d = 4, n = 101, count = 3;
  const HostBatch<T> x = this->samples(d, n, count, 1.0L);
  MomentAccumulator<T> accumulator(this->ctx, d, count);
  std::uniform_int_distribution<std::int64_t> size(0, 20);
  for (std::int64_t begin = 0; begin < n;) {
    const std::int64_t end = std::min(n, begin + size(this->rng));
    accumulator.add(x.cview().columns(begin, end));
    begin = end;
  }
  EXPECT_EQ(accumulator.samples(), n);
  HostVectors<T> mean(d, count);
  HostBatch<T> cov(d, d, count);
  accumulator.finalize(mean.view, cov.view);
  expect_moments_near(x, mean, cov, 50 * eps<T>());
}

TYPED_TEST(Statistics, MergedShardsAndRestoredStatesEqualOneAccumulator) {
  using T = TypeParam;
  const std::int64_t d = 4, n = 60, count = 2;
  const HostBatch<T> x = this->samples(d, n, count, 3.0L);
  // Shards of 1, 7, 0 and 52 samples, merged in a shuffled order into an empty accumulator.
  const std::vector<std::pair<std::int64_t, std::int64_t>> shards = {
      {0, 1}, {1, 8}, {8, 8}, {8, 60}};
  std::vector<MomentAccumulator<T>> parts;
  for (const auto& [begin, end] : shards) {
    parts.emplace_back(this->ctx, d, count);
    parts.back().add(x.cview().columns(begin, end));
  }
  MomentAccumulator<T> merged(this->ctx, d, count);
  for (const std::size_t p : {2u, 3u, 0u, 1u}) merged.merge(parts[p]);
  EXPECT_EQ(merged.samples(), n);
  HostVectors<T> mean(d, count);
  HostBatch<T> cov(d, d, count);
  merged.finalize(mean.view, cov.view);
  expect_moments_near(x, mean, cov, 50 * eps<T>());
  // The flat state restores an equal accumulator, which goes on accumulating.
  HostVectors<T> state_mean(d, count);
  HostBatch<T> state_scatter(d, d, count);
  parts[1].state(state_mean.view, state_scatter.view);
  MomentAccumulator<T> restored(this->ctx, d, count);
  restored.restore(parts[1].samples(), VectorBatch<const T>(state_mean.view),
                   state_scatter.cview());
  restored.add(x.cview().columns(8, 60));
  restored.merge(parts[0]);
  EXPECT_EQ(restored.samples(), n);
  restored.finalize(mean.view, cov.view);
  expect_moments_near(x, mean, cov, 50 * eps<T>());
  // A scatter matrix that is not symmetric is refused, and the accumulator keeps its state.
  state_scatter.view.at(0, 0, 1) += T(1);
  EXPECT_THROW(restored.restore(7, VectorBatch<const T>(state_mean.view), state_scatter.cview()),
               InvalidArgument);
  EXPECT_EQ(restored.samples(), n);
  EXPECT_THROW(restored.merge(restored), InvalidArgument);
  MomentAccumulator<T> other_dimension(this->ctx, d + 1, count);
  EXPECT_THROW(restored.merge(other_dimension), InvalidArgument);
}

TYPED_TEST(Statistics, FrechetMetricEqualsTheFrechetDistanceOfTheWholeSets) {
  using T = TypeParam;
  const std::int64_t d = 5, n_real = 70, n_fake = 45;
  const HostBatch<T> real = this->samples(d, n_real, 1, 1.0L);
  const HostBatch<T> fake = this->samples(d, n_fake, 1, 1.5L);
  T expected = 0;
  frechet_distance<T>(this->ctx, real.cview(), fake.cview(), scalars(&expected, 1));
  const double tolerance = 200 * double(eps<T>()) * std::max(1.0, double(expected));
  // Batches of 1, 13 and the rest, the sides interleaved; a second metric merged in.
  FrechetDistance<T> metric(this->ctx, d), shard(this->ctx, d);
  metric.update(real.cview().columns(0, 1), true);
  metric.update(fake.cview().columns(0, 13), false);
  metric.update(real.cview().columns(1, 14), true);
  shard.update(real.cview().columns(14, n_real), true);
  shard.update(fake.cview().columns(13, n_fake), false);
  metric.merge(shard);
  EXPECT_EQ(metric.moments(true).samples(), n_real);
  EXPECT_NEAR(metric.compute(), double(expected), tolerance);
  // Bad features are refused by name and change nothing.
  HostBatch<T> bad = this->samples(d, 3, 1, 0.0L);
  bad.view.at(0, 2, 1) = std::numeric_limits<T>::quiet_NaN();
  EXPECT_THROW(metric.update(bad.cview(), true), InvalidArgument);
  const HostBatch<T> narrow = this->samples(d - 1, 3, 1, 0.0L);
  EXPECT_THROW(metric.update(narrow.cview(), false), InvalidArgument);
  EXPECT_EQ(metric.moments(true).samples(), n_real);
  EXPECT_NEAR(metric.compute(), double(expected), tolerance);
  // The real side fixed to its own statistics (what save_stats writes) gives the same value.
  HostVectors<T> mean(d, 1);
  HostBatch<T> cov(d, d, 1);
  metric.statistics(true, mean.view, cov.view);
  FrechetDistance<T> against_stats(this->ctx, d);
  against_stats.set_statistics(true, VectorBatch<const T>(mean.view), cov.cview());
  EXPECT_TRUE(against_stats.fixed(true));
  against_stats.update(fake.cview(), false);
  EXPECT_NEAR(against_stats.compute(), double(expected), tolerance);
  EXPECT_THROW(against_stats.update(real.cview(), true), InvalidArgument);  // fixed side
  EXPECT_THROW(metric.merge(against_stats), InvalidArgument);
  // An empty side is named; reset empties a side.
  against_stats.reset(false);
  try {
    against_stats.compute();
    ADD_FAILURE() << "an empty side must be refused";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("generated"), std::string::npos) << e.what();
  }
  // Statistics that are not a covariance are refused.
  cov.view.at(0, 0, 0) = T(-1);
  EXPECT_THROW(against_stats.set_statistics(false, VectorBatch<const T>(mean.view), cov.cview()),
               InvalidArgument);
  EXPECT_FALSE(against_stats.fixed(false));
}

TYPED_TEST(Statistics, DimensionOneAndTwoSamples) {
  using T = TypeParam;
  HostBatch<T> x(1, 2, 2);
  x.view.at(0, 0, 0) = T(1);
  x.view.at(0, 0, 1) = T(3);
  x.view.at(1, 0, 0) = T(-2);
  x.view.at(1, 0, 1) = T(-2);
  HostVectors<T> mean(1, 2);
  HostBatch<T> var(1, 1, 2);
  sample_moments<T>(this->ctx, x.cview(), mean.view, var.view);
  EXPECT_EQ(mean.view.at(0, 0), T(2));
  EXPECT_EQ(var.view.at(0, 0, 0), T(2));  // ((1-2)² + (3-2)²) / (2 - 1)
  EXPECT_EQ(mean.view.at(1, 0), T(-2));
  EXPECT_EQ(var.view.at(1, 0, 0), T(0));
}

TYPED_TEST(Statistics, RefusesBadArguments) {
  using T = TypeParam;
  HostBatch<T> one_sample(3, 1, 2), x(3, 4, 2);
  HostVectors<T> mean(3, 2), short_mean(2, 2);
  HostBatch<T> cov(3, 3, 2);
  expect_invalid([&] { sample_moments<T>(this->ctx, one_sample.cview(), mean.view, cov.view); },
                 "at least 2 samples");
  expect_invalid([&] { sample_moments<T>(this->ctx, x.cview(), short_mean.view, cov.view); },
                 "'mean'");
  x.view.at(1, 2, 3) = std::numeric_limits<T>::infinity();
  expect_invalid([&] { sample_moments<T>(this->ctx, x.cview(), mean.view, cov.view); },
                 "batch item 1");
  MomentAccumulator<T> accumulator(this->ctx, 3, 2);
  expect_invalid([&] { accumulator.finalize(mean.view, cov.view); }, "at least 2 samples");
  HostBatch<T> wrong_dimension(4, 5, 2);
  expect_invalid([&] { accumulator.add(wrong_dimension.cview()); }, "dimension");
  // Finite samples too large to square: the covariance is refused, not returned as inf.
  HostBatch<T> huge(3, 4, 2);
  for (std::int64_t j = 0; j < 4; ++j)
    huge.view.at(1, 0, j) = std::sqrt(std::numeric_limits<T>::max()) * T(j);
  expect_invalid([&] { sample_moments<T>(this->ctx, huge.cview(), mean.view, cov.view); },
                 "'samples' batch item 1: its sample covariance");
  MomentAccumulator<T> streamed(this->ctx, 3, 2);
  streamed.add(huge.cview());
  expect_invalid([&] { streamed.finalize(mean.view, cov.view); }, "beyond the range of");
}

}  // namespace
}  // namespace gaussot::test
