// SPDX-License-Identifier: Apache-2.0
// The threading rule of context.hpp: one Context per thread. Several threads, each with its own
// context, run the same mixed workload at once and must give the results of one thread running
// it alone, to 4 ulps (see below; nothing is shared between contexts). Run under the sanitizer
// build (scripts/test_sanitize.sh), this is also where a data race would corrupt memory.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

/// count random d x d covariances G Gᵀ/d + I/10 and standard normal means.
HostGaussians<double> random_gaussians(std::int64_t d, std::int64_t count, unsigned seed) {
  std::mt19937_64 rng(seed);
  HostBatch<double> g(d, d, count);
  fill_gaussian(g, rng);
  HostGaussians<double> out(d, count);
  std::normal_distribution<double> normal;
  for (auto& m : out.means) m = normal(rng);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r < d; ++r) {
        double s = r == c ? 0.1 : 0.0;
        for (std::int64_t k = 0; k < d; ++k) s += g.view.at(i, r, k) * g.view.at(i, c, k) / d;
        out.covariances[i * d * d + r + c * d] = s;
      }
  return out;
}

struct Inputs {
  HostGaussians<double> a = random_gaussians(6, 40, 1), b = random_gaussians(6, 40, 2);
  HostGaussians<double> low = random_gaussians(3, 40, 3);
};

/// Every result of a mixed workload (W2, Brenier maps, square roots, entropic OT, IGW with its
/// Stiefel ascent on uncentered pairs, a short NGW training), flattened.
std::vector<double> workload(Context& ctx, const Inputs& in) {
  const std::int64_t k = in.a.k, d = in.a.d;
  std::vector<double> results;
  const auto append = [&](const std::vector<double>& v) {
    results.insert(results.end(), v.begin(), v.end());
  };
  HostVectors<double> w2(1, k), entropic(1, k), igw(1, k), bias(d, k);
  HostBatch<double> map(d, d, k), root(d, d, k);
  w2_squared<double>(ctx, in.a.cview(), in.b.cview(), w2.view);
  brenier_map<double>(ctx, in.a.cview(), in.b.cview(), map.view, bias.view);
  sqrtm<double>(ctx, in.a.cview().covariances, root.view);
  EntropicOptions options;
  options.sigma = 0.7;
  entropic_ot<double>(ctx, in.a.cview(), in.b.cview(),
                      EntropicOutputs<double>{entropic.view, {}, {}, {}, {}}, options);
  igw_squared<double>(ctx, in.a.cview(), in.low.cview(), IgwValues<double>{igw.view, {}, {}});
  append(w2.storage);
  append(entropic.storage);
  append(igw.storage);
  append(bias.storage);
  append(map.storage);
  append(root.storage);

  NgwModel<double> model(ctx, 3, 2, NgwArchitecture{{8}, {8}, Activation::tanh}, 5);
  NgwOptions ngw;
  ngw.steps = 5;
  ngw.batch_size = 32;
  HostBatch<double> ca(3, 3, 1), cb(2, 2, 1);
  for (std::int64_t r = 0; r < 3; ++r) ca.view.at(0, r, r) = 3.0 - r;
  for (std::int64_t r = 0; r < 2; ++r) cb.view.at(0, r, r) = 2.0 - r;
  train_ngw(ctx, model, SampleSource<double>::from_gaussian({{}, ca.cview()}),
            SampleSource<double>::from_gaussian({{}, cb.cview()}), ngw);
  const VectorBatch<const double> p = model.map().parameters();
  append(std::vector<double>(p.data, p.data + p.size));
  return results;
}

/// Expects every result within `ulps` units in the last place of max(1, |reference|) (the
/// results are O(1); an entry that cancels to near 0 carries the rounding of its O(1) terms).
void expect_equal(const std::vector<double>& got, const std::vector<double>& want, int ulps,
                  const std::string& who) {
  ASSERT_EQ(got.size(), want.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double bound =
        ulps * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(want[i]));
    const bool same =
        std::abs(got[i] - want[i]) <= bound || (std::isnan(got[i]) && std::isnan(want[i]));
    differing += same ? 0 : 1;
  }
  EXPECT_EQ(differing, 0u) << who << ": " << differing << " of " << got.size()
                           << " results differ from the one-thread run by more than " << ulps
                           << " ulp";
}

class Concurrency : public ::testing::TestWithParam<int> {};

TEST_P(Concurrency, ThreadsWithTheirOwnContextsMatchOneThread) {
  const int team = GetParam();  // OpenMP threads per context
  const Inputs inputs;
  Context alone = Context::cpu(team);
  const std::vector<double> reference = workload(alone, inputs);
  // Results are reproducible to rounding, not bit for bit: every batch item is computed by the
  // same code, but buffers at other addresses (a fresh context, another thread's heap) change
  // where Eigen's vectorised loops peel, and 421 of the 3290 results (the Brenier map batch) have
  // come out 1 ulp apart, on one thread as on several. Hence 4 ulps throughout.
  constexpr int kUlps = 4;
  expect_equal(workload(alone, inputs), reference, kUlps, "a second run on the same context");
  Context fresh = Context::cpu(team);
  expect_equal(workload(fresh, inputs), reference, kUlps, "a fresh context");

  constexpr int kThreads = 4;
  std::vector<std::vector<double>> results(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Context ctx = Context::cpu(team);
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();  // start together
      for (int repeat = 0; repeat < 2; ++repeat) results[t] = workload(ctx, inputs);
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    expect_equal(results[t], reference, kUlps, "thread " + std::to_string(t));
  }
}

INSTANTIATE_TEST_SUITE_P(TeamSizes, Concurrency, ::testing::Values(1, 2));

TEST(ConcurrencyCuda, ThreadsWithTheirOwnCudaContextsMatchOneThread) {
  GAUSSOT_REQUIRE_CUDA();
  const Inputs inputs;
  // W2 on the device from several threads at once, each on its own context (handles, stream,
  // workspace); the batch goes to the device and back through the context's copies.
  const auto device_w2 = [&](Context& ctx) {
    const auto to_device = [&](const std::vector<double>& host) {
      const std::int64_t n = static_cast<std::int64_t>(host.size());
      Array<double> a(ctx, n);
      copy<double>(ctx, VectorBatch<const double>(host.data(), n, n, 1), a.vectors(n, 1));
      return a;
    };
    const std::int64_t d = inputs.a.d, k = inputs.a.k;
    const Array<double> am = to_device(inputs.a.means), ac = to_device(inputs.a.covariances);
    const Array<double> bm = to_device(inputs.b.means), bc = to_device(inputs.b.covariances);
    Array<double> out(ctx, k);
    w2_squared<double>(ctx, {am.vectors(d, k), ac.matrices(d, d, k)},
                       {bm.vectors(d, k), bc.matrices(d, d, k)}, out.vectors(1, k));
    std::vector<double> host(static_cast<std::size_t>(k));
    copy<double>(ctx, out.vectors(1, k), VectorBatch<double>(host.data(), 1, 1, k));
    return host;
  };
  Context alone = Context::cuda();
  const std::vector<double> reference = device_w2(alone);
  constexpr int kThreads = 4;
  std::vector<std::vector<double>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Context ctx = Context::cuda();
      for (int repeat = 0; repeat < 3; ++repeat) results[t] = device_w2(ctx);
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    expect_equal(results[t], reference, 0, "CUDA thread " + std::to_string(t));
  }
}

}  // namespace
}  // namespace gaussot::test
