// SPDX-License-Identifier: Apache-2.0
// The CUDA backend against the CPU backend on the same seeded batches, with padded device layouts,
// plus the CUDA-only paths: copies between memory spaces, per-item failures read back from the
// device, and out-of-memory that leaves the context usable. Every test skips itself, saying why,
// when no CUDA device can be used. The neural-GW primitives (backend.hpp, private) are called
// directly on both backends, then one training step of ngw.hpp is compared end to end.
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>

#include "backend.hpp"
#include "cuda_fixture.hpp"
#include "test_utils.hpp"

namespace gaussot::test {
namespace {

TYPED_TEST_SUITE(CudaVsCpu, Precisions);

TYPED_TEST(CudaVsCpu, CopiesBetweenMemorySpacesKeepEveryLayout) {
  using T = TypeParam;
  HostBatch<T> source(5, 3, 6, 2, 1);  // stride 22: not a multiple of ld 7, per-item copies
  this->randomize(source);
  for (const auto& layout :
       std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 0}, {3, 0}, {1, 16}}) {
    Array<T> device(*this->gpu, (5 + layout.first) * 3 * 6 + layout.second * 6);
    const MatrixBatch<T> d(device.data(), 5, 3, 5 + layout.first,
                           (5 + layout.first) * 3 + layout.second, 6, MemorySpace::device);
    copy<T>(*this->gpu, source.cview(), d);
    // device -> device into another layout (the copy kernel), then back to the host
    Array<T> other(*this->gpu, 5 * 3 * 6);
    copy<T>(*this->gpu, MatrixBatch<const T>(d), other.matrices(5, 3, 6));
    HostBatch<T> back(5, 3, 6, 1, 3);
    copy<T>(*this->gpu, other.matrices(5, 3, 6), back.view);
    for (std::int64_t i = 0; i < 6; ++i) EXPECT_EQ(back.item(i), source.item(i));
  }
  HostBatch<T> one(4, 4, 1);
  this->randomize(one);
  Array<T> repeated(*this->gpu, 4 * 4 * 3);
  copy<T>(*this->gpu, broadcast(one.cview(), 3), repeated.matrices(4, 4, 3));
  HostBatch<T> back(4, 4, 3);
  copy<T>(*this->gpu, repeated.matrices(4, 4, 3), back.view);
  EXPECT_EQ(back.item(2), one.item(0));
}

TYPED_TEST(CudaVsCpu, EighBothAlgorithmsAgreeWithTheCpu) {
  using T = TypeParam;
  for (const std::int64_t d : {1, 2, 16, 32, 33, 64}) {
    for (const EighAlgorithm algorithm :
         {EighAlgorithm::automatic, EighAlgorithm::jacobi, EighAlgorithm::divide_and_conquer}) {
      if (algorithm == EighAlgorithm::jacobi && d > 32) continue;
      const std::int64_t count = d <= 16 ? 300 : 7;
      HostBatch<T> a(d, d, count, 1, 3);
      std::vector<long double> spectrum = geometric_spectrum(d, 5.0L, 1e3L);
      for (std::int64_t j = 0; j < d; j += 2) spectrum[j] = -spectrum[j];
      this->random_symmetric(a, spectrum);
      HostVectors<T> w_cpu(d, count);
      HostBatch<T> v_cpu(d, d, count);
      eigh<T>(this->cpu, a.cview(), w_cpu.view, v_cpu.view);

      auto d_a = this->to_device(a);
      Array<T> w_gpu(*this->gpu, d * count);
      HostBatch<T> v_like(d, d, count, 2, 0);
      auto d_v = this->device_like(v_like);
      eigh<T>(*this->gpu, d_a.view, w_gpu.vectors(d, count), d_v.view, EighOptions{algorithm});
      std::vector<T> w(d * count);
      copy<T>(*this->gpu, w_gpu.vectors(d, count), vectors(w.data(), d, count));
      const HostBatch<T> v = this->to_host(d_v, v_like);
      for (std::int64_t i = 0; i < count; ++i) {
        for (std::int64_t j = 0; j < d; ++j) {
          ASSERT_NEAR(w[i * d + j], w_cpu.view.at(i, j), 20 * d * eps<T>() * 5)
              << "d " << d << " item " << i << " algorithm " << int(algorithm);
        }
        // Eigenvectors through invariants and, for these distinct eigenvalues, |v_gpu·v_cpu| = 1.
        const Dense vi = v.item(i), ai = a.item(i);
        Dense residual = multiply(ai, vi, d, d, d);
        for (std::int64_t c = 0; c < d; ++c)
          for (std::int64_t r = 0; r < d; ++r) residual[r + c * d] -= vi[r + c * d] * w[i * d + c];
        ASSERT_LE(frobenius(residual) / (d * frobenius(ai)), 50 * eps<T>()) << "d " << d;
        const Dense vtv = multiply(transpose(vi, d, d), vi, d, d, d);
        ASSERT_LE(frobenius_distance(vtv, identity(d)) / d, 50 * eps<T>()) << "d " << d;
        const Dense overlap = multiply(transpose(vi, d, d), v_cpu.item(i), d, d, d);
        for (std::int64_t j = 0; j < d; ++j) {
          ASSERT_NEAR(std::abs(overlap[j + j * d]), 1.0L, 1e3L * d * eps<T>()) << "d " << d;
        }
      }
      std::vector<T> values(d * count);
      eigvalsh<T>(*this->gpu, d_a.view, w_gpu.vectors(d, count), EighOptions{algorithm});
      copy<T>(*this->gpu, w_gpu.vectors(d, count), vectors(values.data(), d, count));
      for (std::int64_t e = 0; e < d * count; ++e)
        ASSERT_NEAR(values[e], w[e], 20 * d * eps<T>() * 5);
    }
  }
  HostBatch<T> small(3, 3, 1);
  auto d_small = this->to_device(small);
  Array<T> w(*this->gpu, 3);
  EXPECT_THROW(eigvalsh<T>(*this->gpu, d_small.view, w.vectors(3, 1),
                           EighOptions{EighAlgorithm::implicit_qr}),
               InvalidArgument);
}

TYPED_TEST(CudaVsCpu, SpectralFunctionsAgreeWithTheCpu) {
  using T = TypeParam;
  for (const std::int64_t d : {3, 24, 64}) {
    const std::int64_t count = 9;
    HostBatch<T> a(d, d, count, 0, 5);
    const long double condition = 1e3L;
    this->random_symmetric(a, geometric_spectrum(d, 2.0L, condition));
    auto d_a = this->to_device(a);
    for (const SpectralFunction f : {SpectralFunction::sqrt(), SpectralFunction::inv_sqrt(),
                                     SpectralFunction::log(), SpectralFunction::power(1.7)}) {
      HostBatch<T> out_cpu(d, d, count), like(d, d, count, 1, 1);
      matrix_function<T>(this->cpu, a.cview(), f, out_cpu.view);
      auto d_out = this->device_like(like);
      matrix_function<T>(*this->gpu, d_a.view, f, d_out.view);
      const HostBatch<T> out = this->to_host(d_out, like);
      for (std::int64_t i = 0; i < count; ++i) {
        EXPECT_LE(relative_distance(out, out_cpu, i), 50 * eps<T>() * condition)
            << f.name() << " d " << d;
        for (std::int64_t c = 0; c < d; ++c)
          for (std::int64_t r = 0; r < c; ++r)
            ASSERT_EQ(out.view.at(i, r, c), out.view.at(i, c, r));
      }
    }
  }
}

TYPED_TEST(CudaVsCpu, PerItemFailuresNameTheSameItem) {
  using T = TypeParam;
  const std::int64_t d = 8, count = 6;
  HostBatch<T> a(d, d, count);
  this->random_symmetric(a, geometric_spectrum(d, 1.0L, 10.0L));
  std::vector<long double> indefinite = geometric_spectrum(d, 1.0L, 10.0L);
  indefinite.back() = -0.5L;
  a.set_item(4, with_spectrum(random_orthogonal(d, this->rng), indefinite, d));
  auto d_a = this->to_device(a);
  HostBatch<T> like(d, d, count);
  auto d_out = this->device_like(like);
  for (Context* ctx : {&this->cpu, &*this->gpu}) {
    const MatrixBatch<const T> input =
        ctx == &this->cpu ? a.cview() : MatrixBatch<const T>(d_a.view);
    MatrixBatch<T> output = ctx == &this->cpu ? like.view : d_out.view;
    try {
      sqrtm<T>(*ctx, input, output);
      ADD_FAILURE() << "no exception on " << to_string(ctx->backend());
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("batch item 4 is not positive semidefinite"),
                std::string::npos)
          << e.what();
    }
  }
  a.view.at(3, 5, 2) = std::numeric_limits<T>::quiet_NaN();
  auto d_nan = this->to_device(a);
  Array<T> w(*this->gpu, d * count);
  try {
    eigvalsh<T>(*this->gpu, d_nan.view, w.vectors(d, count));
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("batch item 3"), std::string::npos) << e.what();
  }
}

TYPED_TEST(CudaVsCpu, DenseProductsAndReductionsAgree) {
  using T = TypeParam;
  const std::int64_t d = 20, count = 11;
  HostBatch<T> a(d, d, count, 1, 0), b(d, d, count, 0, 4);
  this->randomize(a);
  this->randomize(b);
  auto d_a = this->to_device(a);
  auto d_b = this->to_device(b);
  for (const bool ta : {false, true}) {
    HostBatch<T> c_cpu(d, d, count), like(d, d, count, 3, 2);
    this->randomize(c_cpu);
    HostBatch<T> c_start = c_cpu;
    gemm<T>(this->cpu, ta ? Transpose::yes : Transpose::no, Transpose::yes, T(0.5), a.cview(),
            broadcast(b.cview().slice(0, 1), count), T(2), c_cpu.view);
    auto d_c = this->to_device(like);
    copy<T>(*this->gpu, c_start.cview(), d_c.view);
    gemm<T>(*this->gpu, ta ? Transpose::yes : Transpose::no, Transpose::yes, T(0.5), d_a.view,
            broadcast(MatrixBatch<const T>(d_b.view).slice(0, 1), count), T(2), d_c.view);
    const HostBatch<T> c = this->to_host(d_c, like);
    for (std::int64_t i = 0; i < count; ++i)
      EXPECT_LE(relative_distance(c, c_cpu, i), 20 * d * eps<T>());
  }
  HostBatch<T> s_cpu(d, d, count), like(d, d, count, 0, 1);
  sandwich<T>(this->cpu, a.cview(), b.cview(), s_cpu.view);
  auto d_s = this->device_like(like);
  sandwich<T>(*this->gpu, d_a.view, d_b.view, d_s.view);
  const HostBatch<T> s = this->to_host(d_s, like);
  for (std::int64_t i = 0; i < count; ++i)
    EXPECT_LE(relative_distance(s, s_cpu, i), 40 * d * eps<T>());

  HostVectors<T> tr_cpu(1, count), fr_cpu(1, count);
  trace<T>(this->cpu, a.cview(), tr_cpu.view);
  frobenius_inner<T>(this->cpu, a.cview(), b.cview(), fr_cpu.view);
  Array<T> tr(*this->gpu, count), fr(*this->gpu, count);
  trace<T>(*this->gpu, d_a.view, scalars(tr.data(), count, MemorySpace::device));
  frobenius_inner<T>(*this->gpu, d_a.view, d_b.view,
                     scalars(fr.data(), count, MemorySpace::device));
  std::vector<T> tr_host(count), fr_host(count);
  copy<T>(*this->gpu, tr.vectors(1, count), scalars(tr_host.data(), count));
  copy<T>(*this->gpu, fr.vectors(1, count), scalars(fr_host.data(), count));
  for (std::int64_t i = 0; i < count; ++i) {
    EXPECT_NEAR(tr_host[i], tr_cpu.view.at(i, 0), 10 * d * eps<T>() * d);
    EXPECT_NEAR(fr_host[i], fr_cpu.view.at(i, 0), 10 * d * d * eps<T>() * d);
  }
}

TYPED_TEST(CudaVsCpu, SampleMomentsAgree) {
  using T = TypeParam;
  const std::int64_t d = 6, n = 257, count = 5;
  HostBatch<T> x(d, n, count, 2, 0);
  this->randomize(x);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t j = 0; j < n; ++j) x.view.at(i, 0, j) += T(3);
  HostVectors<T> mean_cpu(d, count);
  HostBatch<T> cov_cpu(d, d, count);
  sample_moments<T>(this->cpu, x.cview(), mean_cpu.view, cov_cpu.view);
  auto d_x = this->to_device(x);
  for (const std::int64_t chunk : {0, 1, 50}) {
    Array<T> mean(*this->gpu, d * count);
    HostBatch<T> like(d, d, count, 1, 0);
    auto d_cov = this->device_like(like);
    sample_moments<T>(*this->gpu, d_x.view, mean.vectors(d, count), d_cov.view, chunk);
    const HostBatch<T> cov = this->to_host(d_cov, like);
    std::vector<T> m(d * count);
    copy<T>(*this->gpu, mean.vectors(d, count), vectors(m.data(), d, count));
    for (std::int64_t i = 0; i < count; ++i) {
      EXPECT_LE(relative_distance(cov, cov_cpu, i), 100 * eps<T>()) << "chunk " << chunk;
      for (std::int64_t r = 0; r < d; ++r)
        EXPECT_NEAR(m[i * d + r], mean_cpu.view.at(i, r), 100 * eps<T>() * 3);
    }
  }
}

TYPED_TEST(CudaVsCpu, QrRetractionGivesTheSameUniqueQ) {
  using T = TypeParam;
  const std::int64_t m = 40, r = 12, count = 9;
  HostBatch<T> x(m, r, count, 3, 0);
  this->randomize(x);
  HostBatch<T> q_cpu(m, r, count);
  qr_retraction<T>(this->cpu, x.cview(), q_cpu.view);
  auto d_x = this->to_device(x);
  HostBatch<T> like(m, r, count, 0, 2);
  auto d_q = this->device_like(like);
  qr_retraction<T>(*this->gpu, d_x.view, d_q.view);
  const HostBatch<T> q = this->to_host(d_q, like);
  for (std::int64_t i = 0; i < count; ++i)
    EXPECT_LE(relative_distance(q, q_cpu, i), 1e3L * eps<T>());
  for (std::int64_t row = 0; row < m; ++row) x.view.at(5, row, 7) = x.view.at(5, row, 2);
  auto d_dependent = this->to_device(x);
  try {
    qr_retraction<T>(*this->gpu, d_dependent.view, d_q.view);
    ADD_FAILURE() << "no exception";
  } catch (const ConvergenceError& e) {
    EXPECT_EQ(e.batch_index(), 5) << e.what();
  }
}

TYPED_TEST(CudaVsCpu, CholeskyAgreesOnBothCudaPaths) {
  using T = TypeParam;
  for (const std::int64_t d : {7, 64, 100}) {  // potrfBatched up to 64, cusolverDnXpotrf above
    const std::int64_t count = 5;
    HostBatch<T> a(d, d, count, 1, 0);
    this->random_symmetric(a, geometric_spectrum(d, 3, 100));
    HostBatch<T> l_cpu(d, d, count);
    ASSERT_EQ(cholesky<T>(this->cpu, a.cview(), l_cpu.view), -1);
    auto d_a = this->to_device(a);
    HostBatch<T> like(d, d, count, 2, 0);
    auto d_l = this->device_like(like);
    EXPECT_EQ(cholesky<T>(*this->gpu, d_a.view, d_l.view), -1);
    const HostBatch<T> l = this->to_host(d_l, like);
    for (std::int64_t i = 0; i < count; ++i)
      EXPECT_LE(relative_distance(l, l_cpu, i), 100 * d * eps<T>());
    a.set_item(
        3, with_spectrum(random_orthogonal(d, this->rng), std::vector<long double>(d, -1.0L), d));
    auto d_bad = this->to_device(a);
    EXPECT_EQ(cholesky<T>(*this->gpu, d_bad.view, d_l.view), 3) << "d " << d;
  }
}

TYPED_TEST(CudaVsCpu, OutOfMemoryLeavesTheContextUsable) {
  using T = TypeParam;
  EXPECT_THROW(Array<T>(*this->gpu, std::int64_t(1) << 50), OutOfMemory);
  // A workspace far beyond any device: 10^5 (broadcast) matrices of order 2048 need 10^5 packed
  // copies, 1.6 TB in float; the outputs themselves (0.8 or 1.6 GB) fit.
  const std::int64_t d = 2048, count = 100000;
  HostBatch<T> one(d, d, 1);
  auto d_one = this->to_device(one);
  Array<T> values(*this->gpu, d * count);
  EXPECT_THROW(eigvalsh<T>(*this->gpu, broadcast(MatrixBatch<const T>(d_one.view), count),
                           values.vectors(d, count)),
               OutOfMemory);
  // The context still works.
  HostBatch<T> a(3, 3, 1);
  for (int j = 0; j < 3; ++j) a.view.at(0, j, j) = T(j + 1);
  auto d_a = this->to_device(a);
  Array<T> small(*this->gpu, 3);
  eigvalsh<T>(*this->gpu, d_a.view, small.vectors(3, 1));
  std::vector<T> host(3);
  copy<T>(*this->gpu, small.vectors(3, 1), vectors(host.data(), 3, 1));
  EXPECT_EQ(host[0], T(3));
  EXPECT_EQ(host[2], T(1));
}

}  // namespace
}  // namespace gaussot::test

namespace gaussot::test {
namespace {

/// Gaussians held twice: on the host (packed) and on the device.
template <typename T>
struct MirroredGaussians {
  std::int64_t d, k;
  std::vector<T> means, covariances;
  Array<T> device_means, device_covariances;
  MirroredGaussians(Context& gpu, std::int64_t d_, std::int64_t k_, std::mt19937_64& rng)
      : d(d_),
        k(k_),
        means(d_ * k_),
        covariances(d_ * d_ * k_),
        device_means(gpu, d_ * k_),
        device_covariances(gpu, d_ * d_ * k_) {
    std::normal_distribution<double> normal;
    for (auto& m : means) m = T(normal(rng));
    for (std::int64_t i = 0; i < k; ++i) {
      const Dense c = with_spectrum(random_orthogonal(d, rng), geometric_spectrum(d, 2, 20), d);
      for (std::int64_t e = 0; e < d * d; ++e) covariances[i * d * d + e] = T(c[e]);
    }
    copy<T>(gpu, vectors<const T>(means.data(), d, k), device_means.vectors(d, k));
    copy<T>(gpu, square_matrices<const T>(covariances.data(), d, k),
            device_covariances.matrices(d, d, k));
  }
  GaussianBatch<const T> host() const {
    return {vectors(means.data(), d, k), square_matrices(covariances.data(), d, k)};
  }
  GaussianBatch<const T> device() const {
    return {device_means.vectors(d, k), device_covariances.matrices(d, d, k)};
  }
};

template <typename T>
void expect_close(const std::vector<T>& gpu, const std::vector<T>& cpu, long double relative,
                  const char* what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  long double scale = 0, difference = 0;
  for (std::size_t e = 0; e < cpu.size(); ++e) {
    scale = std::max(scale, std::abs((long double)cpu[e]));
    difference = std::max(difference, std::abs((long double)gpu[e] - cpu[e]));
  }
  EXPECT_LE(difference, relative * (scale + 1)) << what;
}

template <typename T>
class BuresCudaVsCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GAUSSOT_REQUIRE_CUDA();
    gpu.emplace(Context::cuda(0));
  }
  Context cpu = Context::cpu();
  std::optional<Context> gpu;
  std::mt19937_64 rng{1848};
};
using BuresPrecisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(BuresCudaVsCpu, BuresPrecisions);

TYPED_TEST(BuresCudaVsCpu, DistancesMapsGeodesicsGradientsAndBarycentersAgree) {
  using T = TypeParam;
  const std::int64_t d = 8, k = 7;
  const long double bar = 1e4L * eps<T>();
  MirroredGaussians<T> a(*this->gpu, d, k, this->rng), b(*this->gpu, d, k, this->rng);
  Context& gpu = *this->gpu;

  std::vector<T> w2_cpu(k);
  w2_squared<T>(this->cpu, a.host(), b.host(), scalars(w2_cpu.data(), k));
  Array<T> w2_gpu(gpu, k);
  w2_squared<T>(gpu, a.device(), b.device(), scalars(w2_gpu.data(), k, MemorySpace::device));
  expect_close(to_host_vector(gpu, w2_gpu), w2_cpu, bar, "w2_squared");

  std::vector<T> pairs_cpu(k * k);
  w2_squared_all_pairs<T>(this->cpu, a.host(), b.host(), matrices(pairs_cpu.data(), k, k, 1));
  Array<T> pairs_gpu(gpu, k * k);
  w2_squared_all_pairs<T>(gpu, a.device(), b.device(), pairs_gpu.matrices(k, k, 1));
  expect_close(to_host_vector(gpu, pairs_gpu), pairs_cpu, bar, "w2_squared_all_pairs");

  std::vector<T> matrix_cpu(d * d * k), bias_cpu(d * k);
  brenier_map<T>(this->cpu, a.host(), b.host(), square_matrices(matrix_cpu.data(), d, k),
                 vectors(bias_cpu.data(), d, k));
  Array<T> matrix_gpu(gpu, d * d * k), bias_gpu(gpu, d * k);
  brenier_map<T>(gpu, a.device(), b.device(), matrix_gpu.matrices(d, d, k), bias_gpu.vectors(d, k));
  expect_close(to_host_vector(gpu, matrix_gpu), matrix_cpu, bar, "brenier_map matrix");
  expect_close(to_host_vector(gpu, bias_gpu), bias_cpu, bar, "brenier_map bias");

  std::vector<T> mean_cpu(d * k), cov_cpu(d * d * k);
  mccann_interpolant<T>(this->cpu, a.host(), b.host(), 0.4,
                        {vectors(mean_cpu.data(), d, k), square_matrices(cov_cpu.data(), d, k)});
  Array<T> mean_gpu(gpu, d * k), cov_gpu(gpu, d * d * k);
  mccann_interpolant<T>(gpu, a.device(), b.device(), 0.4,
                        {mean_gpu.vectors(d, k), cov_gpu.matrices(d, d, k)});
  expect_close(to_host_vector(gpu, cov_gpu), cov_cpu, bar, "mccann_interpolant");
  expect_close(to_host_vector(gpu, mean_gpu), mean_cpu, bar, "mccann_interpolant mean");

  std::vector<T> ga_m(d * k), ga_c(d * d * k), gb_m(d * k), gb_c(d * d * k);
  w2_squared_gradient<T>(this->cpu, a.host(), b.host(),
                         {vectors(ga_m.data(), d, k), square_matrices(ga_c.data(), d, k)},
                         {vectors(gb_m.data(), d, k), square_matrices(gb_c.data(), d, k)});
  Array<T> da_m(gpu, d * k), da_c(gpu, d * d * k), db_m(gpu, d * k), db_c(gpu, d * d * k);
  w2_squared_gradient<T>(gpu, a.device(), b.device(), {da_m.vectors(d, k), da_c.matrices(d, d, k)},
                         {db_m.vectors(d, k), db_c.matrices(d, d, k)});
  expect_close(to_host_vector(gpu, da_c), ga_c, bar, "gradient a");
  expect_close(to_host_vector(gpu, db_c), gb_c, bar, "gradient b");

  std::vector<T> bary_mean(d), bary_cov(d * d);
  const BarycenterReport cpu_report =
      w2_barycenter<T>(this->cpu, a.host(), VectorBatch<const T>(),
                       {vectors(bary_mean.data(), d, 1), square_matrices(bary_cov.data(), d, 1)});
  Array<T> bm(gpu, d), bc(gpu, d * d);
  const BarycenterReport gpu_report = w2_barycenter<T>(gpu, a.device(), VectorBatch<const T>(),
                                                       {bm.vectors(d, 1), bc.matrices(d, d, 1)});
  expect_close(to_host_vector(gpu, bc), bary_cov, bar, "w2_barycenter");
  EXPECT_NEAR(gpu_report.iterations, cpu_report.iterations, 2);
}

TYPED_TEST(BuresCudaVsCpu, FrechetDistanceAgreesForBothMethods) {
  using T = TypeParam;
  Context& gpu = *this->gpu;
  for (const auto method : {FrechetMethod::covariances, FrechetMethod::samples}) {
    const std::int64_t d = 10, n_a = 7, n_b = 9, k = 2;
    HostBatch<T> x(d, n_a, k), y(d, n_b, k);
    fill_gaussian(x, this->rng);
    fill_gaussian(y, this->rng);
    std::vector<T> fid_cpu(k);
    frechet_distance<T>(this->cpu, x.cview(), y.cview(), scalars(fid_cpu.data(), k), {method, {}});
    Array<T> dx(gpu, d * n_a * k), dy(gpu, d * n_b * k), fid_gpu(gpu, k);
    copy<T>(gpu, x.cview(), dx.matrices(d, n_a, k));
    copy<T>(gpu, y.cview(), dy.matrices(d, n_b, k));
    frechet_distance<T>(gpu, dx.matrices(d, n_a, k), dy.matrices(d, n_b, k),
                        scalars(fid_gpu.data(), k, MemorySpace::device), {method, {}});
    expect_close(to_host_vector(gpu, fid_gpu), fid_cpu, 1e4L * eps<T>(), "frechet_distance");
  }
}

}  // namespace
}  // namespace gaussot::test

namespace gaussot::test {
namespace {

/// The neural-GW primitives (GAUSSOT_NGW_PRIMITIVES) of both backends on the same inputs, in
/// padded layouts whose padding (NaN) must stay untouched, for float and double; then one step
/// of train_ngw and evaluate_ngw on a CPU and a CUDA context from the same seeds.
class NgwCudaVsCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GAUSSOT_REQUIRE_CUDA();
    gpu.emplace(Context::cuda(0));
  }

  /// rows x cols standard normal values with leading dimension ld, NaN in the padding.
  template <typename T>
  std::vector<T> padded_normals(std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    std::normal_distribution<double> normal;
    std::vector<T> out(static_cast<std::size_t>(ld * cols), std::numeric_limits<T>::quiet_NaN());
    for (std::int64_t c = 0; c < cols; ++c)
      for (std::int64_t r = 0; r < rows; ++r) out[r + c * ld] = T(normal(rng));
    return out;
  }
  template <typename T>
  static MatrixBatch<T> view(std::vector<T>& host, std::int64_t rows, std::int64_t cols,
                             std::int64_t ld) {
    return {host.data(), rows, cols, ld, ld * cols, 1, MemorySpace::host};
  }
  template <typename T>
  static MatrixBatch<T> view(Array<T>& device, std::int64_t rows, std::int64_t cols,
                             std::int64_t ld) {
    return {device.data(), rows, cols, ld, ld * cols, 1, device.space()};
  }

  template <typename T>
  void random_numbers();
  template <typename T>
  void activations();
  template <typename T>
  void adam();
  template <typename T>
  void rescale();

  Context cpu = Context::cpu();
  std::optional<Context> gpu;
  std::mt19937_64 rng{1921};
};

/// |gpu_e − cpu_e| <= tolerance · (1 + |cpu_e|) for every element, NaN (padding) where the CPU
/// has NaN.
template <typename T>
void expect_elementwise(const std::vector<T>& gpu, const std::vector<T>& cpu, long double tolerance,
                        const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  std::size_t bad = 0;
  for (std::size_t e = 0; e < cpu.size(); ++e) {
    const bool ok = std::isnan(cpu[e]) ? std::isnan(gpu[e])
                                       : std::abs((long double)gpu[e] - cpu[e]) <=
                                             tolerance * (1 + std::abs((long double)cpu[e]));
    if (!ok && bad++ < 5) {
      ADD_FAILURE() << what << ": element " << e << " is " << gpu[e] << " on CUDA, " << cpu[e]
                    << " on the CPU";
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

/// A device vector (any stride, count 1) or matrix (count 1) as a packed host vector.
template <typename T>
std::vector<T> host_values(Context& ctx, VectorBatch<const T> v) {
  std::vector<T> out(static_cast<std::size_t>(v.size));
  copy<T>(ctx, VectorBatch<const T>(v.data, v.size, v.size, 1, v.space),
          vectors(out.data(), v.size, 1));
  return out;
}
template <typename T>
std::vector<T> host_values(Context& ctx, MatrixBatch<const T> m) {
  std::vector<T> out(static_cast<std::size_t>(m.rows * m.cols));
  copy<T>(ctx, m, matrices(out.data(), m.rows, m.cols, 1));
  return out;
}

template <typename T>
void NgwCudaVsCpu::random_numbers() {
  const std::string type = sizeof(T) == 4 ? " float" : " double";
  // The same counters on both sides: only the rounding of log, cos and sqrt differs (then the
  // conversion to T).
  const long double tolerance = std::max(1e-12L, 2 * eps<T>());
  const std::uint64_t seed = 0x0123456789ABCDEFULL, draw = (std::uint64_t(1) << 40) + 7;
  const std::int64_t rows = 7, cols = 301, ld = 10;
  std::vector<T> normals_cpu(static_cast<std::size_t>(ld * cols),
                             std::numeric_limits<T>::quiet_NaN());
  Array<T> normals_gpu = upload(*gpu, normals_cpu);
  cpu::random_normal<T>(cpu, seed, draw, view(normals_cpu, rows, cols, ld));
  cuda::random_normal<T>(*gpu, seed, draw, view(normals_gpu, rows, cols, ld));
  expect_elementwise(to_host_vector(*gpu, normals_gpu), normals_cpu, tolerance,
                     "random_normal" + type);
  long double sum = 0, squares = 0;
  for (std::int64_t c = 0; c < cols; ++c) {
    for (std::int64_t r = 0; r < rows; ++r) {
      sum += normals_cpu[r + c * ld];
      squares += (long double)normals_cpu[r + c * ld] * normals_cpu[r + c * ld];
    }
  }
  EXPECT_LT(std::abs(sum / (rows * cols)), 0.1L);  // not a constant: standard normal numbers
  EXPECT_NEAR(squares / (rows * cols), 1.0L, 0.1L);

  // Columns are copied, and the index is exact arithmetic on the same bits: equal values.
  const std::int64_t d = 5, points = 37, source_ld = 8, picks = 200, out_ld = 6;
  const std::vector<T> source = padded_normals<T>(d, points, source_ld);
  Array<T> source_gpu = upload(*gpu, source);
  std::vector<T> picked_cpu(static_cast<std::size_t>(out_ld * picks),
                            std::numeric_limits<T>::quiet_NaN());
  Array<T> picked_gpu = upload(*gpu, picked_cpu);
  cpu::random_columns<T>(
      cpu, MatrixBatch<const T>(source.data(), d, points, source_ld, source_ld * points, 1), seed,
      draw, view(picked_cpu, d, picks, out_ld));
  cuda::random_columns<T>(*gpu, MatrixBatch<const T>(view(source_gpu, d, points, source_ld)), seed,
                          draw, view(picked_gpu, d, picks, out_ld));
  expect_elementwise(to_host_vector(*gpu, picked_gpu), picked_cpu, 0, "random_columns" + type);
  std::vector<bool> seen(static_cast<std::size_t>(points), false);
  for (std::int64_t c = 0; c < picks; ++c) {
    for (std::int64_t j = 0; j < points; ++j) {
      if (picked_cpu[c * out_ld] == source[j * source_ld]) seen[static_cast<std::size_t>(j)] = true;
    }
  }
  EXPECT_GT(std::count(seen.begin(), seen.end(), true), points / 2);  // many columns drawn
}

template <typename T>
void NgwCudaVsCpu::activations() {
  const std::int64_t rows = 9, cols = 53, ld = 11;
  std::vector<T> bias = padded_normals<T>(rows, 1, rows);
  Array<T> bias_gpu = upload(*gpu, bias);
  const std::vector<T> z = padded_normals<T>(rows, cols, ld);
  for (const Activation activation :
       {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::identity}) {
    const std::string what =
        std::string(to_string(activation)) + (sizeof(T) == 4 ? " float" : " double");
    // Forward: the bias added, then the activation (tanh differs by the rounding of tanh).
    std::vector<T> a_cpu = z;
    Array<T> a_gpu = upload(*gpu, z);
    cpu::bias_activation<T>(cpu, activation, vectors<const T>(bias.data(), rows, 1),
                            view(a_cpu, rows, cols, ld));
    cuda::bias_activation<T>(*gpu, activation, VectorBatch<const T>(bias_gpu.vectors(rows, 1)),
                             view(a_gpu, rows, cols, ld));
    expect_elementwise(to_host_vector(*gpu, a_gpu), a_cpu, 4 * eps<T>(), "bias_activation " + what);
    // Backward at the same activation values.
    const std::vector<T> g = padded_normals<T>(rows, cols, ld);
    std::vector<T> g_cpu = g;
    Array<T> values_gpu = upload(*gpu, a_cpu), g_gpu = upload(*gpu, g);
    cpu::activation_backward<T>(cpu, activation, MatrixBatch<const T>(view(a_cpu, rows, cols, ld)),
                                view(g_cpu, rows, cols, ld));
    cuda::activation_backward<T>(*gpu, activation,
                                 MatrixBatch<const T>(view(values_gpu, rows, cols, ld)),
                                 view(g_gpu, rows, cols, ld));
    expect_elementwise(to_host_vector(*gpu, g_gpu), g_cpu, 4 * eps<T>(),
                       "activation_backward " + what);
  }
}

template <typename T>
void NgwCudaVsCpu::adam() {
  const std::string type = sizeof(T) == 4 ? " float" : " double";
  const std::int64_t n = 1000;
  std::vector<T> theta = padded_normals<T>(n, 1, n), gradient = padded_normals<T>(n, 1, n);
  std::vector<T> first = padded_normals<T>(n, 1, n), second = padded_normals<T>(n, 1, n);
  for (T& v : second) v = T(0.01) + std::abs(v);
  gradient[0] = first[0] = second[0] = T(0);  // a parameter that has never seen a gradient
  AdamStep step;
  step.learning_rate = 1e-3;
  step.beta1 = 0.9;
  step.beta2 = 0.999;
  step.epsilon = 1e-8;
  step.correction1 = 1 - std::pow(0.9, 3.0);
  step.correction2 = 1 - std::pow(0.999, 3.0);
  Array<T> theta_gpu = upload(*gpu, theta), gradient_gpu = upload(*gpu, gradient),
           first_gpu = upload(*gpu, first), second_gpu = upload(*gpu, second);
  cpu::adam_update<T>(cpu, step, vectors(theta.data(), n, 1),
                      vectors<const T>(gradient.data(), n, 1), vectors(first.data(), n, 1),
                      vectors(second.data(), n, 1));
  cuda::adam_update<T>(*gpu, step, theta_gpu.vectors(n, 1),
                       VectorBatch<const T>(gradient_gpu.vectors(n, 1)), first_gpu.vectors(n, 1),
                       second_gpu.vectors(n, 1));
  expect_elementwise(to_host_vector(*gpu, theta_gpu), theta, 8 * eps<T>(),
                     "adam parameters" + type);
  expect_elementwise(to_host_vector(*gpu, first_gpu), first, 8 * eps<T>(),
                     "adam first moment" + type);
  expect_elementwise(to_host_vector(*gpu, second_gpu), second, 8 * eps<T>(),
                     "adam second moment" + type);
}

template <typename T>
void NgwCudaVsCpu::rescale() {
  const std::string type = sizeof(T) == 4 ? " float" : " double";
  const T norm = T(2.5);
  for (const auto& [rows, cols, ld] :
       std::vector<std::array<std::int64_t, 3>>{{1, 1, 1}, {13, 700, 15}, {1000, 1000, 1000}}) {
    const std::string what =
        "rescale_to_norm " + std::to_string(rows) + "x" + std::to_string(cols) + type;
    std::vector<T> a_cpu = padded_normals<T>(rows, cols, ld);
    Array<T> a_gpu = upload(*gpu, a_cpu);
    cpu::rescale_to_norm<T>(cpu, view(a_cpu, rows, cols, ld), norm);
    cuda::rescale_to_norm<T>(*gpu, view(a_gpu, rows, cols, ld), norm);
    // The sums of squares differ in their order: rounding grows like √(elements).
    const long double tolerance = 8 * eps<T>() * std::sqrt((long double)(rows * cols));
    const std::vector<T> a = to_host_vector(*gpu, a_gpu);
    expect_elementwise(a, a_cpu, tolerance, what);
    long double squares = 0;
    for (std::int64_t c = 0; c < cols; ++c)
      for (std::int64_t r = 0; r < rows; ++r) squares += (long double)a[r + c * ld] * a[r + c * ld];
    EXPECT_NEAR(std::sqrt(squares), 2.5L, 2.5L * tolerance) << what;
  }
  // A zero matrix is left as it is (no division by its norm).
  std::vector<T> zero(static_cast<std::size_t>(4 * 3), T(0));
  for (std::int64_t c = 0; c < 3; ++c) zero[3 + c * 4] = std::numeric_limits<T>::quiet_NaN();
  Array<T> zero_gpu = upload(*gpu, zero);
  cuda::rescale_to_norm<T>(*gpu, view(zero_gpu, 3, 3, 4), norm);
  cpu::rescale_to_norm<T>(cpu, view(zero, 3, 3, 4), norm);
  expect_elementwise(to_host_vector(*gpu, zero_gpu), zero, 0, "rescale_to_norm of zero" + type);
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t r = 0; r < 3; ++r) EXPECT_EQ(zero[r + c * 4], T(0));
}

TEST_F(NgwCudaVsCpu, RandomNumbersMatchElementByElement) {
  random_numbers<float>();
  random_numbers<double>();
}

TEST_F(NgwCudaVsCpu, ActivationsAndTheirDerivativesMatch) {
  activations<float>();
  activations<double>();
}

TEST_F(NgwCudaVsCpu, AdamUpdatesMatch) {
  adam<float>();
  adam<double>();
}

TEST_F(NgwCudaVsCpu, RescaleToNormMatches) {
  rescale<float>();
  rescale<double>();
}

TEST_F(NgwCudaVsCpu, OneTrainingStepAndItsEvaluationMatch) {
  // Same seeds, same draws: the two runs differ only by rounding (GEMM orders, fused
  // multiply-adds, libm), far below 1e-9 after one step.
  const std::int64_t m = 6, n = 3;
  HostBatch<double> a(m, m, 1), b(n, n, 1);
  a.set_item(0, with_spectrum(random_orthogonal(m, rng), geometric_spectrum(m, 2.0L, 10.0L), m));
  b.set_item(0, with_spectrum(random_orthogonal(n, rng), geometric_spectrum(n, 1.5L, 5.0L), n));
  Array<double> a_gpu(*gpu, m * m), b_gpu(*gpu, n * n);
  copy<double>(*gpu, a.cview(), a_gpu.matrices(m, m, 1));
  copy<double>(*gpu, b.cview(), b_gpu.matrices(n, n, 1));
  using Source = SampleSource<double>;
  const Source source_cpu = Source::from_gaussian({{}, a.cview()});
  const Source target_cpu = Source::from_gaussian({{}, b.cview()});
  const Source source_gpu =
      Source::from_gaussian({{}, MatrixBatch<const double>(a_gpu.matrices(m, m, 1))});
  const Source target_gpu =
      Source::from_gaussian({{}, MatrixBatch<const double>(b_gpu.matrices(n, n, 1))});

  const NgwArchitecture architecture{{16, 12}, {12, 8}, Activation::relu};
  NgwModel<double> model_cpu(cpu, m, n, architecture, 11);
  NgwModel<double> model_gpu(*gpu, m, n, architecture, 11);
  const auto p_of = [](Context& ctx, const NgwModel<double>& model) {
    return host_values<double>(ctx, model.p());
  };
  const std::vector<double> initial_map = host_values<double>(cpu, model_cpu.map().parameters());
  const std::vector<double> initial_p = p_of(cpu, model_cpu);
  expect_close(p_of(*gpu, model_gpu), initial_p, 1e-13L, "initial P");

  NgwOptions options;
  options.steps = 1;
  options.k_t = 1;
  options.k_f = 1;
  options.k_p = 1;
  options.batch_size = 64;
  options.seed = 5;
  const NgwReport report_cpu = train_ngw(cpu, model_cpu, source_cpu, target_cpu, options);
  const NgwReport report_gpu = train_ngw(*gpu, model_gpu, source_gpu, target_gpu, options);
  EXPECT_EQ(report_gpu.steps, 1);
  EXPECT_NEAR(report_gpu.objective, report_cpu.objective,
              1e-9 * (1 + std::abs(report_cpu.objective)));

  const std::vector<double> map_cpu = host_values<double>(cpu, model_cpu.map().parameters());
  ASSERT_NE(map_cpu, initial_map);  // the step moved the map
  ASSERT_NE(p_of(cpu, model_cpu), initial_p);
  expect_close(host_values<double>(*gpu, model_gpu.map().parameters()), map_cpu, 1e-9L,
               "map parameters");
  expect_close(host_values<double>(*gpu, model_gpu.potential().parameters()),
               host_values<double>(cpu, model_cpu.potential().parameters()), 1e-9L,
               "potential parameters");
  expect_close(p_of(*gpu, model_gpu), p_of(cpu, model_cpu), 1e-9L, "P");

  const NgwEvaluation e_cpu = evaluate_ngw(cpu, model_cpu, source_cpu, target_cpu, 2048, 3);
  const NgwEvaluation e_gpu = evaluate_ngw(*gpu, model_gpu, source_gpu, target_gpu, 2048, 3);
  EXPECT_EQ(e_gpu.samples, e_cpu.samples);
  EXPECT_NEAR(e_gpu.igw_squared_estimate, e_cpu.igw_squared_estimate,
              1e-9 * std::abs(e_cpu.igw_squared_estimate));
  ASSERT_TRUE(e_cpu.igw_squared_closed_form && e_gpu.igw_squared_closed_form);
  EXPECT_NEAR(*e_gpu.igw_squared_closed_form, *e_cpu.igw_squared_closed_form,
              1e-9 * *e_cpu.igw_squared_closed_form);
  ASSERT_TRUE(e_cpu.bw2_uvp && e_gpu.bw2_uvp);
  EXPECT_NEAR(*e_gpu.bw2_uvp, *e_cpu.bw2_uvp, 1e-8 * (1 + *e_cpu.bw2_uvp));
}

}  // namespace
}  // namespace gaussot::test

namespace gaussot::test {
namespace {

// Clustering (cluster.hpp) on both backends from the same seeded data: IGW k-means of covariance
// groups eigendecomposed on the device, W2 k-means with its distances and barycenters on the
// device, and classical MDS with its eigendecomposition on the device.
template <typename T>
class ClusterCudaVsCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GAUSSOT_REQUIRE_CUDA();
    gpu.emplace(Context::cuda(0));
  }
  /// Three clearly separated groups of `count` covariances of order d (interleaved).
  HostBatch<T> grouped_covariances(std::int64_t d, std::int64_t count) {
    HostBatch<T> h(d, d, count);
    for (std::int64_t i = 0; i < count; ++i) {
      h.set_item(i, with_spectrum(random_orthogonal(d, rng),
                                  geometric_spectrum(d, 2 + 3 * (i % 3), 4 + i % 3), d));
    }
    return h;
  }
  static KMeansOptions options(std::int64_t clusters) {
    KMeansOptions o;
    o.clusters = clusters;
    o.n_init = 4;
    o.seed = 7;
    return o;
  }
  Context cpu = Context::cpu();
  std::optional<Context> gpu;
  std::mt19937_64 rng{4242};
};
TYPED_TEST_SUITE(ClusterCudaVsCpu, Precisions);

TYPED_TEST(ClusterCudaVsCpu, IgwKMeansOfCovarianceGroupsAgrees) {
  using T = TypeParam;
  Context& gpu = *this->gpu;
  const HostBatch<T> small = this->grouped_covariances(5, 9),
                     large = this->grouped_covariances(8, 9);
  const Array<T> small_gpu = upload(gpu, small.storage), large_gpu = upload(gpu, large.storage);
  const IgwKMeansResult on_cpu =
      igw_kmeans<T>(this->cpu, {small.cview(), large.cview()}, this->options(3));
  const IgwKMeansResult on_gpu = igw_kmeans<T>(
      gpu, {small_gpu.matrices(5, 5, 9), large_gpu.matrices(8, 8, 9)}, this->options(3));
  EXPECT_EQ(on_gpu.assignment, on_cpu.assignment);
  EXPECT_EQ(on_gpu.iterations, on_cpu.iterations);
  EXPECT_NEAR(on_gpu.objective, on_cpu.objective, 1e3 * eps<T>() * (1 + on_cpu.objective));
  expect_close(on_gpu.centroid_eigenvalues, on_cpu.centroid_eigenvalues, 1e3L * eps<T>(),
               "IGW centroid eigenvalues");
}

TYPED_TEST(ClusterCudaVsCpu, W2KMeansAgrees) {
  using T = TypeParam;
  Context& gpu = *this->gpu;
  const std::int64_t d = 4, n = 12, clusters = 3;
  const HostBatch<T> covariances = this->grouped_covariances(d, n);
  std::vector<T> means(d * n);
  std::normal_distribution<double> normal;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t r = 0; r < d; ++r)
      means[i * d + r] = T(0.1 * normal(this->rng) + 6.0 * (r == i % 3));
  }
  const Array<T> means_gpu = upload(gpu, means), covariances_gpu = upload(gpu, covariances.storage);
  std::vector<T> centroid_means(d * clusters), centroid_covariances(d * d * clusters);
  const KMeansResult on_cpu =
      w2_kmeans<T>(this->cpu, {vectors(means.data(), d, n), covariances.cview()},
                   {vectors(centroid_means.data(), d, clusters),
                    square_matrices(centroid_covariances.data(), d, clusters)},
                   this->options(clusters));
  Array<T> out_means(gpu, d * clusters), out_covariances(gpu, d * d * clusters);
  const KMeansResult on_gpu =
      w2_kmeans<T>(gpu, {means_gpu.vectors(d, n), covariances_gpu.matrices(d, d, n)},
                   {out_means.vectors(d, clusters), out_covariances.matrices(d, d, clusters)},
                   this->options(clusters));
  EXPECT_EQ(on_gpu.assignment, on_cpu.assignment);
  EXPECT_NEAR(on_gpu.objective, on_cpu.objective, 1e4 * eps<T>() * (1 + on_cpu.objective));
  expect_close(to_host_vector(gpu, out_covariances), centroid_covariances, 1e4L * eps<T>(),
               "W2 centroid covariances");
  expect_close(to_host_vector(gpu, out_means), centroid_means, 1e4L * eps<T>(),
               "W2 centroid means");
}

TYPED_TEST(ClusterCudaVsCpu, ClassicalMdsAgrees) {
  using T = TypeParam;
  Context& gpu = *this->gpu;
  const std::int64_t n = 10, p = 2;
  std::normal_distribution<double> normal;
  std::vector<std::array<double, 3>> points(n);
  for (auto& x : points) x = {4 * normal(this->rng), 2 * normal(this->rng), normal(this->rng)};
  std::vector<T> distances(n * n);
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int r = 0; r < 3; ++r)
        s += (points[i][r] - points[j][r]) * (points[i][r] - points[j][r]);
      distances[i + j * n] = T(std::sqrt(s));
    }
  }
  std::vector<T> coordinates(p * n);
  const MdsReport on_cpu =
      classical_mds<T>(this->cpu, square_matrices<const T>(distances.data(), n, 1),
                       matrices(coordinates.data(), p, n, 1));
  const Array<T> distances_gpu = upload(gpu, distances);
  Array<T> coordinates_gpu(gpu, p * n);
  const MdsReport on_gpu =
      classical_mds<T>(gpu, distances_gpu.matrices(n, n, 1), coordinates_gpu.matrices(p, n, 1));
  expect_close(to_host_vector(gpu, coordinates_gpu), coordinates, 1e3L * eps<T>(),
               "MDS coordinates");
  expect_close(on_gpu.eigenvalues, on_cpu.eigenvalues, 1e3L * eps<T>(), "MDS eigenvalues");
  EXPECT_NEAR(on_gpu.variance_kept, on_cpu.variance_kept, 1e3 * eps<T>());
}

}  // namespace
}  // namespace gaussot::test
