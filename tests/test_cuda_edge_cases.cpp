// SPDX-License-Identifier: Apache-2.0
// The CUDA backend at the edges a review of the code found before any GPU ran it (issue 17): the
// Jacobi order limit, NaN through combine's floor, the scale-free QR retraction test in float,
// the 3-D copy path, eigensolver chunking, broadcast and in-place inputs, large Sinkhorn batches
// and −∞ exponents, several failing items, borrowed streams and other devices, exact symmetry of
// covariances, and out-of-memory inside the libraries. Each test compares with the CPU backend or
// an exact answer, and skips itself, saying why, when no CUDA device can be used. The rules these
// paths share with the host are tested without a GPU in test_shared_rules.cpp.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "cuda_fixture.hpp"
#include "test_utils.hpp"

#if GAUSSOT_HAS_CUDA
#include <cuda_runtime.h>  // the caller's current device, which gaussot must restore
#endif

namespace gaussot::test {
namespace {

/// The calling thread's current CUDA device (-1 without the CUDA backend).
int current_device() {
  int device = -1;
#if GAUSSOT_HAS_CUDA
  if (cudaGetDevice(&device) != cudaSuccess) device = -1;
#endif
  return device;
}

void set_current_device(int device) {
#if GAUSSOT_HAS_CUDA
  ASSERT_EQ(cudaSetDevice(device), cudaSuccess);
#else
  (void)device;
#endif
}

template <typename T>
class CudaEdgeCases : public CudaVsCpu<T> {};
TYPED_TEST_SUITE(CudaEdgeCases, Precisions);

TYPED_TEST(CudaEdgeCases, JacobiAboveOrder32IsRefusedNamingTheOption) {
  using T = TypeParam;
  for (const std::int64_t d : {33, 64}) {
    HostBatch<T> a(d, d, 2);
    this->random_symmetric(a, geometric_spectrum(d, 2.0L, 10.0L));
    auto d_a = this->to_device(a);
    Array<T> w(*this->gpu, d * 2), out(*this->gpu, d * d * 2);
    expect_invalid(
        [&] {
          eigvalsh<T>(*this->gpu, d_a.view, w.vectors(d, 2), EighOptions{EighAlgorithm::jacobi});
        },
        "options.algorithm");
    SpectralOptions options;
    options.algorithm = EighAlgorithm::jacobi;
    expect_invalid([&] { sqrtm<T>(*this->gpu, d_a.view, out.matrices(d, d, 2), options); },
                   "options.algorithm");
  }
}

TYPED_TEST(CudaEdgeCases, CombineFloorKeepsNanOnBothBackends) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const std::vector<T> terms_host = {T(-2), nan, T(3), T(0.5)};  // a 2 x 2 item
  std::vector<T> out_cpu(4);
  Array<T> terms_gpu = upload(*this->gpu, terms_host);
  Array<T> out_gpu(*this->gpu, 4);
  LinearCombination<T> combination;
  combination.count = 1;
  combination.coefficients[0] = T(2);
  combination.has_floor = true;
  combination.floor = T(0);
  combination.terms[0] = square_matrices<const T>(terms_host.data(), 2, 1);
  cpu::combine<T>(this->cpu, combination, square_matrices(out_cpu.data(), 2, 1));
  combination.terms[0] = terms_gpu.matrices(2, 2, 1);
  cuda::combine<T>(*this->gpu, combination, out_gpu.matrices(2, 2, 1));
  const std::vector<T> out = to_host_vector(*this->gpu, out_gpu);
  for (const std::vector<T>* o : std::vector<const std::vector<T>*>{&out_cpu, &out}) {
    EXPECT_EQ((*o)[0], T(0));  // floored
    EXPECT_TRUE(std::isnan((*o)[1]));
    EXPECT_EQ((*o)[2], T(6));
    EXPECT_EQ((*o)[3], T(1));
  }
}

TYPED_TEST(CudaEdgeCases, W2AndFrechetBeyondTheRangeRaiseLikeTheCpu) {
  using T = TypeParam;
  const std::int64_t d = 3;
  const T huge = std::numeric_limits<T>::max() / T(1.5);
  HostBatch<T> a(d, d, 1), b(d, d, 1);
  for (std::int64_t j = 0; j < d; ++j) {
    a.view.at(0, j, j) = huge;
    b.view.at(0, j, j) = huge / T(2);
  }
  auto d_a = this->to_device(a);
  auto d_b = this->to_device(b);
  std::vector<T> w2_cpu(1);
  Array<T> w2_gpu(*this->gpu, 1);
  const std::string needle = "beyond the range of";
  expect_invalid(
      [&] {
        w2_squared<T>(this->cpu, {VectorBatch<const T>(), a.cview()},
                      {VectorBatch<const T>(), b.cview()}, scalars(w2_cpu.data(), 1));
      },
      needle);
  expect_invalid(
      [&] {
        w2_squared<T>(*this->gpu, {VectorBatch<const T>(), d_a.view},
                      {VectorBatch<const T>(), d_b.view},
                      scalars(w2_gpu.data(), 1, MemorySpace::device));
      },
      needle);
  // Samples far apart: the Fréchet distance's mean term overflows.
  const std::int64_t n = 16;
  HostBatch<T> x(d, n, 1), y(d, n, 1);
  this->randomize(x);
  this->randomize(y);
  // ±max/64: the sums of 16 samples stay finite, the squared difference of the means does not.
  for (std::int64_t j = 0; j < n; ++j) y.view.at(0, 0, j) += std::numeric_limits<T>::max() / 64;
  for (std::int64_t j = 0; j < n; ++j) x.view.at(0, 0, j) -= std::numeric_limits<T>::max() / 64;
  auto d_x = this->to_device(x);
  auto d_y = this->to_device(y);
  expect_invalid(
      [&] { frechet_distance<T>(this->cpu, x.cview(), y.cview(), scalars(w2_cpu.data(), 1)); },
      needle);
  expect_invalid(
      [&] {
        frechet_distance<T>(*this->gpu, d_x.view, d_y.view,
                            scalars(w2_gpu.data(), 1, MemorySpace::device));
      },
      needle);
}

TYPED_TEST(CudaEdgeCases, QrRetractionAcceptsLargeOrthonormalAndNearlySquareInputs) {
  using T = TypeParam;
  // m·r >= 1e6: a test against √(8·m·ε)·‖X‖_F refused orthonormal inputs from there in float.
  struct Shape {
    std::int64_t m, r;
    double perturbation;  // X = orthonormal + perturbation · Gaussian / √m
  };
  for (const Shape s : {Shape{4096, 256, 0.0}, Shape{1100, 1000, 0.1}}) {
    const std::int64_t count = 2;
    HostBatch<T> x(s.m, s.r, count);
    for (std::int64_t i = 0; i < count; ++i) {
      HostBatch<T> g(s.m, s.r, 1);
      this->randomize(g);
      const Dense orthonormal = gram_schmidt(g.item(0), s.m, s.r);
      Dense noise(orthonormal.size());
      this->randomize(g);
      const Dense gaussian = g.item(0);
      for (std::size_t e = 0; e < noise.size(); ++e) {
        noise[e] = orthonormal[e] + s.perturbation * gaussian[e] / std::sqrt((long double)s.m);
      }
      x.set_item(i, noise);
    }
    HostBatch<T> q_cpu(s.m, s.r, count);
    qr_retraction<T>(this->cpu, x.cview(), q_cpu.view);
    auto d_x = this->to_device(x);
    HostBatch<T> like(s.m, s.r, count);
    auto d_q = this->device_like(like);
    ASSERT_NO_THROW(qr_retraction<T>(*this->gpu, d_x.view, d_q.view)) << "m " << s.m;
    const HostBatch<T> q = this->to_host(d_q, like);
    for (std::int64_t i = 0; i < count; ++i) {
      // Both are the unique sign-fixed Q; they differ by about cond(x)·ε·√r.
      EXPECT_LE(relative_distance(q, q_cpu, i), 1e2L * std::sqrt((long double)s.r) * eps<T>())
          << "m " << s.m << " r " << s.r;
      if (s.perturbation == 0) {
        EXPECT_LE(relative_distance(q, x, i), 1e2L * std::sqrt((long double)s.r) * eps<T>());
      }
    }
  }
}

TYPED_TEST(CudaEdgeCases, MmotAtOrder64AgreesWithTheCpu) {
  using T = TypeParam;
  const std::int64_t d = 64, p = 5;
  HostBatch<T> covs(d, d, p);
  this->random_symmetric(covs, geometric_spectrum(d, 4.0L, 20.0L));
  auto d_covs = this->to_device(covs);
  MmotOptions options;
  options.tolerance = sizeof(T) == 4 ? 1e-4 : 1e-8;
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    options.seed = seed;
    const MmotReport cpu =
        mmot<T>(this->cpu, {VectorBatch<const T>(), covs.cview()}, {}, {}, options);
    MmotReport gpu;
    ASSERT_NO_THROW(gpu =
                        mmot<T>(*this->gpu, {VectorBatch<const T>(), d_covs.view}, {}, {}, options))
        << "seed " << seed;
    const double relative = sizeof(T) == 4 ? 1e-3 : 10 * *options.tolerance;
    EXPECT_NEAR(gpu.value, cpu.value, relative * std::abs(cpu.value)) << "seed " << seed;
  }
}

TYPED_TEST(CudaEdgeCases, StridedCopiesTakeThe3dPathOnlyWhenItemsDoNotOverlap) {
  using T = TypeParam;
  const std::int64_t rows = 5, cols = 4, ld = 7, count = 6;
  // Items evenly spaced (stride a multiple of ld, with a gap): the 3-D copy, both directions.
  HostBatch<T> source(rows, cols, count, ld - rows, 2 * ld);
  this->randomize(source);
  Array<T> device(*this->gpu, (ld * cols + 3 * ld) * count);
  const MatrixBatch<T> spaced(device.data(), rows, cols, ld, ld * cols + 3 * ld, count,
                              MemorySpace::device);
  copy<T>(*this->gpu, source.cview(), spaced);
  HostBatch<T> back(rows, cols, count, ld - rows, 2 * ld);
  copy<T>(*this->gpu, MatrixBatch<const T>(spaced), back.view);
  for (std::int64_t i = 0; i < count; ++i) EXPECT_EQ(back.item(i), source.item(i)) << i;
  // Overlapping input items (stride 2·ld < ld·cols, allowed for inputs): each item is the window
  // of the buffer it starts at.
  std::vector<T> buffer(static_cast<std::size_t>(ld * (2 * (count - 1) + cols)));
  for (std::size_t e = 0; e < buffer.size(); ++e) buffer[e] = T(e);
  const MatrixBatch<const T> overlapping(buffer.data(), rows, cols, ld, 2 * ld, count);
  Array<T> packed(*this->gpu, rows * cols * count);
  copy<T>(*this->gpu, overlapping, packed.matrices(rows, cols, count));
  const std::vector<T> got = to_host_vector(*this->gpu, packed);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t c = 0; c < cols; ++c)
      for (std::int64_t r = 0; r < rows; ++r)
        ASSERT_EQ(got[i * rows * cols + c * rows + r], overlapping.at(i, r, c));
}

TYPED_TEST(CudaEdgeCases, EighChunksBeyond32BitSizesAndLargeJacobiBatches) {
  using T = TypeParam;
  // Jacobi, distinct items, several chunks of 2^16.
  {
    const std::int64_t d = 8, count = 150000;
    HostBatch<T> a(d, d, count);
    this->randomize(a);
    std::vector<T> w_cpu(d * count);
    eigvalsh<T>(this->cpu, a.cview(), vectors(w_cpu.data(), d, count));
    auto d_a = this->to_device(a);
    Array<T> w_gpu(*this->gpu, d * count);
    eigvalsh<T>(*this->gpu, d_a.view, w_gpu.vectors(d, count), EighOptions{EighAlgorithm::jacobi});
    const std::vector<T> w = to_host_vector(*this->gpu, w_gpu);
    for (std::int64_t e = 0; e < d * count; ++e) {
      ASSERT_NEAR(w[e], w_cpu[e], 100 * d * eps<T>() * (1 + std::abs(w_cpu[e]))) << "index " << e;
    }
  }
  // XsyevBatched with count·d² > 2^31 (one matrix broadcast: the packed copy is what is large).
  if (sizeof(T) == 8) return;  // float is enough (8.6 GB of workspace), double would be 17 GB
  const std::int64_t d = 33, count = (std::int64_t(1) << 31) / (d * d) + 1000;
  HostBatch<T> one(d, d, 1);
  this->random_symmetric(one, geometric_spectrum(d, 3.0L, 100.0L));
  std::vector<T> w_one(d);
  eigvalsh<T>(this->cpu, one.cview(), vectors(w_one.data(), d, 1));
  auto d_one = this->to_device(one);
  try {
    Array<T> w_gpu(*this->gpu, d * count);
    eigvalsh<T>(*this->gpu, broadcast(MatrixBatch<const T>(d_one.view), count),
                w_gpu.vectors(d, count));
    const std::vector<T> w = to_host_vector(*this->gpu, w_gpu);
    for (std::int64_t i = 0; i < count; ++i) {
      for (std::int64_t j = 0; j < d; ++j) {
        ASSERT_NEAR(w[i * d + j], w_one[j], 100 * d * eps<T>() * 3) << "item " << i;
      }
    }
  } catch (const OutOfMemory& e) {
    GTEST_SKIP() << "the device lacks the memory for this test: " << e.what();
  }
}

TYPED_TEST(CudaEdgeCases, BroadcastInputsGiveOneResultPerItem) {
  using T = TypeParam;
  const std::int64_t d = 6, m = 9, count = 5;
  HostBatch<T> a(d, d, 1), x(m, d, 1);
  this->random_symmetric(a, geometric_spectrum(d, 2.0L, 50.0L));
  this->randomize(x);
  auto d_a = this->to_device(a);
  auto d_x = this->to_device(x);
  const MatrixBatch<const T> a_many = broadcast(MatrixBatch<const T>(d_a.view), count);
  const MatrixBatch<const T> x_many = broadcast(MatrixBatch<const T>(d_x.view), count);
  HostBatch<T> expected(d, d, 1), expected_q(m, d, 1), expected_l(d, d, 1);
  std::vector<T> expected_w(d);
  eigvalsh<T>(this->cpu, a.cview(), vectors(expected_w.data(), d, 1));
  sqrtm<T>(this->cpu, a.cview(), expected.view);
  qr_retraction<T>(this->cpu, x.cview(), expected_q.view);
  ASSERT_EQ(cholesky<T>(this->cpu, a.cview(), expected_l.view), -1);

  Array<T> w(*this->gpu, d * count), root(*this->gpu, d * d * count), q(*this->gpu, m * d * count),
      l(*this->gpu, d * d * count);
  eigvalsh<T>(*this->gpu, a_many, w.vectors(d, count));
  sqrtm<T>(*this->gpu, a_many, root.matrices(d, d, count));
  qr_retraction<T>(*this->gpu, x_many, q.matrices(m, d, count));
  ASSERT_EQ(cholesky<T>(*this->gpu, a_many, l.matrices(d, d, count)), -1);
  const std::vector<T> w_host = to_host_vector(*this->gpu, w),
                       root_host = to_host_vector(*this->gpu, root),
                       q_host = to_host_vector(*this->gpu, q),
                       l_host = to_host_vector(*this->gpu, l);
  const long double tolerance = 200 * d * eps<T>();
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t j = 0; j < d; ++j)
      EXPECT_NEAR(w_host[i * d + j], expected_w[j], tolerance * 2) << i;
    for (std::int64_t e = 0; e < d * d; ++e) {
      EXPECT_NEAR(root_host[i * d * d + e], expected.storage[e], tolerance * 2) << i;
      EXPECT_NEAR(l_host[i * d * d + e], expected_l.storage[e], tolerance * 2) << i;
    }
    for (std::int64_t e = 0; e < m * d; ++e)
      EXPECT_NEAR(q_host[i * m * d + e], expected_q.storage[e], tolerance) << i;
  }
}

TYPED_TEST(CudaEdgeCases, InPlaceSpectralAndCholeskyAndTwoSpectralOutputs) {
  using T = TypeParam;
  const std::int64_t d = 40, count = 4;
  HostBatch<T> a(d, d, count);
  this->random_symmetric(a, geometric_spectrum(d, 2.0L, 100.0L));
  HostBatch<T> root_cpu(d, d, count), inv_cpu(d, d, count), l_cpu(d, d, count);
  sqrtm_and_inv_sqrtm<T>(this->cpu, a.cview(), root_cpu.view, inv_cpu.view);
  ASSERT_EQ(cholesky<T>(this->cpu, a.cview(), l_cpu.view), -1);
  const long double tolerance = 1e3L * eps<T>() * 100;  // condition 100

  auto in_place = this->to_device(a);
  sqrtm<T>(*this->gpu, in_place.view, in_place.view);
  const HostBatch<T> root = this->to_host(in_place, a);
  auto in_place_l = this->to_device(a);
  ASSERT_EQ(cholesky<T>(*this->gpu, in_place_l.view, in_place_l.view), -1);
  const HostBatch<T> l = this->to_host(in_place_l, a);

  auto d_a = this->to_device(a);
  HostBatch<T> like(d, d, count, 1, 2);
  auto d_root = this->device_like(like);
  auto d_inv = this->device_like(like);
  sqrtm_and_inv_sqrtm<T>(*this->gpu, d_a.view, d_root.view, d_inv.view);
  const HostBatch<T> root2 = this->to_host(d_root, like), inv = this->to_host(d_inv, like);
  for (std::int64_t i = 0; i < count; ++i) {
    EXPECT_LE(relative_distance(root, root_cpu, i), tolerance) << i;
    EXPECT_LE(relative_distance(l, l_cpu, i), tolerance) << i;
    EXPECT_LE(relative_distance(root2, root_cpu, i), tolerance) << i;
    EXPECT_LE(relative_distance(inv, inv_cpu, i), tolerance) << i;
  }
}

TYPED_TEST(CudaEdgeCases, SinkhornOnManySmallProblemsAgrees) {
  using T = TypeParam;
  // count >= 2048 (one row block per problem) and > 65535 (the grid's y limit: problems loop).
  for (const std::int64_t count : {3000, 70000}) {
    const std::int64_t d = 2, n = 5, m = 4;
    HostBatch<T> x(d, n, count), y(d, m, count);
    this->randomize(x);
    this->randomize(y);
    auto d_x = this->to_device(x);
    auto d_y = this->to_device(y);
    SinkhornOptions options;
    options.sigma = 0.7;
    options.tolerance = sizeof(T) == 4 ? 1e-5 : 1e-10;
    std::vector<T> value_cpu(count);
    const SinkhornReport cpu =
        sinkhorn<T>(this->cpu, x.cview(), y.cview(), {}, {},
                    SinkhornOutputs<T>{scalars(value_cpu.data(), count), {}, {}, {}, {}}, options);
    Array<T> value(*this->gpu, count);
    const SinkhornReport gpu = sinkhorn<T>(
        *this->gpu, d_x.view, d_y.view, {}, {},
        SinkhornOutputs<T>{scalars(value.data(), count, MemorySpace::device), {}, {}, {}, {}},
        options);
    const std::vector<T> v = to_host_vector(*this->gpu, value);
    // Rounding apart, one backend may stop check_every iterations after the other.
    const long double relative = std::max<long double>(1e3L * eps<T>(), 10 * options.tolerance);
    for (std::int64_t i = 0; i < count; ++i) {
      ASSERT_TRUE(gpu.converged[i]) << "problem " << i;
      ASSERT_NEAR(v[i], value_cpu[i], relative * (1 + std::abs(value_cpu[i])))
          << "problem " << i << " of " << count;
      ASSERT_EQ(cpu.converged[i], gpu.converged[i]);
    }
  }
}

TYPED_TEST(CudaEdgeCases, SinkhornUpdateSkipsMinusInfinityExponents) {
  using T = TypeParam;
  // One problem, a column of 40 "other" points whose first exponents are −∞ (log-weight −∞),
  // so that every lane of the warp starts with −∞ (lanes 0..31 each see the first of theirs).
  const std::int64_t others = 40, rows = 3;
  const T minus_infinity = -std::numeric_limits<T>::infinity();
  std::vector<T> cost(others * rows), log_w_other(others), pot_other(others, T(0.25)),
      log_w(rows, T(-1)), pot(rows, T(0));
  for (std::int64_t e = 0; e < others * rows; ++e) cost[e] = T(0.01) * T(e % 17);
  for (std::int64_t o = 0; o < others; ++o) log_w_other[o] = o < 33 ? minus_infinity : T(-2);
  std::vector<T> updated_cpu(rows);
  const T inv_epsilon = T(2), scale = T(0.5);
  const auto column = [](const T* data, std::int64_t size, MemorySpace space) {
    return VectorBatch<const T>(data, size, size, 1, space);
  };
  cpu::sinkhorn_update<T>(this->cpu, matrices<const T>(cost.data(), others, rows, 1),
                          column(log_w_other.data(), others, MemorySpace::host),
                          column(pot_other.data(), others, MemorySpace::host),
                          column(log_w.data(), rows, MemorySpace::host),
                          column(pot.data(), rows, MemorySpace::host), {}, inv_epsilon, scale,
                          vectors(updated_cpu.data(), rows, 1), {});
  Array<T> cost_d = upload(*this->gpu, cost), log_w_other_d = upload(*this->gpu, log_w_other),
           pot_other_d = upload(*this->gpu, pot_other), log_w_d = upload(*this->gpu, log_w),
           pot_d = upload(*this->gpu, pot), updated_d(*this->gpu, rows);
  const MemorySpace device = MemorySpace::device;
  cuda::sinkhorn_update<T>(
      *this->gpu, cost_d.matrices(others, rows, 1), column(log_w_other_d.data(), others, device),
      column(pot_other_d.data(), others, device), column(log_w_d.data(), rows, device),
      column(pot_d.data(), rows, device), {}, inv_epsilon, scale, updated_d.vectors(rows, 1), {});
  const std::vector<T> updated = to_host_vector(*this->gpu, updated_d);
  for (std::int64_t t = 0; t < rows; ++t) {
    ASSERT_TRUE(std::isfinite(updated[t])) << "row " << t;
    EXPECT_NEAR(updated[t], updated_cpu[t], 100 * eps<T>() * (1 + std::abs(updated_cpu[t])));
  }
}

TYPED_TEST(CudaEdgeCases, SeveralFailingItemsReportTheSmallest) {
  using T = TypeParam;
  const std::int64_t m = 12, r = 5, count = 9;
  HostBatch<T> x(m, r, count);
  this->randomize(x);
  for (const std::int64_t bad : {7, 2, 5})
    for (std::int64_t row = 0; row < m; ++row) x.view.at(bad, row, 4) = x.view.at(bad, row, 1);
  auto d_x = this->to_device(x);
  Array<T> q(*this->gpu, m * r * count);
  try {
    qr_retraction<T>(*this->gpu, d_x.view, q.matrices(m, r, count));
    ADD_FAILURE() << "no exception";
  } catch (const ConvergenceError& e) {
    EXPECT_EQ(e.batch_index(), 2) << e.what();
  }
  const std::int64_t d = 6;
  HostBatch<T> a(d, d, count);
  this->random_symmetric(a, geometric_spectrum(d, 1.0L, 10.0L));
  for (const std::int64_t bad : {8, 6, 3}) {
    a.set_item(
        bad, with_spectrum(random_orthogonal(d, this->rng), std::vector<long double>(d, -1.0L), d));
  }
  auto d_a = this->to_device(a);
  Array<T> l(*this->gpu, d * d * count);
  EXPECT_EQ(cholesky<T>(*this->gpu, d_a.view, l.matrices(d, d, count)), 3);
  EXPECT_EQ(cholesky<T>(this->cpu, a.cview(), a.view), 3);
}

TYPED_TEST(CudaEdgeCases, BorrowedStreamAndOtherDevices) {
  using T = TypeParam;
  const std::int64_t d = 5, count = 3;
  HostBatch<T> a(d, d, count);
  this->random_symmetric(a, geometric_spectrum(d, 2.0L, 10.0L));
  HostBatch<T> root_cpu(d, d, count);
  sqrtm<T>(this->cpu, a.cview(), root_cpu.view);
  const auto check_on = [&](Context& ctx, const std::string& what) {
    Array<T> in(ctx, d * d * count), out(ctx, d * d * count);
    copy<T>(ctx, a.cview(), in.matrices(d, d, count));
    sqrtm<T>(ctx, in.matrices(d, d, count), out.matrices(d, d, count));
    HostBatch<T> root(d, d, count);
    copy<T>(ctx, out.matrices(d, d, count), root.view);
    for (std::int64_t i = 0; i < count; ++i)
      EXPECT_LE(relative_distance(root, root_cpu, i), 1e3L * eps<T>()) << what;
  };
  {
    // A context on another context's stream: the work is ordered on it, and destroying the
    // borrower leaves the stream to its owner.
    Context borrower = Context::cuda(0, this->gpu->stream());
    EXPECT_EQ(borrower.stream(), this->gpu->stream());
    check_on(borrower, "borrowed stream");
  }
  check_on(*this->gpu, "the owner after the borrower is gone");
  const int devices = cuda_device_count();
  if (devices < 2) {
    std::cout << "note: one CUDA device: the device != 0 part of this test did not run\n";
    return;
  }
  // A context on the last device leaves the caller's current device (0) as it was, and device
  // 0's context leaves the caller's current device (the last) as it was.
  const int last = devices - 1;
  Context other = Context::cuda(last);
  set_current_device(0);
  check_on(other, "device " + std::to_string(last));
  EXPECT_EQ(current_device(), 0);
  set_current_device(last);
  check_on(*this->gpu, "device 0 called from device " + std::to_string(last));
  EXPECT_EQ(current_device(), last);
  set_current_device(0);
}

TYPED_TEST(CudaEdgeCases, SampleMomentsAreExactlySymmetric) {
  using T = TypeParam;
  const std::int64_t d = 37, n = 1001, count = 3;
  HostBatch<T> x(d, n, count);
  this->randomize(x);
  auto d_x = this->to_device(x);
  HostVectors<T> mean_cpu(d, count);
  HostBatch<T> cov_cpu(d, d, count);
  sample_moments<T>(this->cpu, x.cview(), mean_cpu.view, cov_cpu.view);
  for (const std::int64_t chunk : {0, 100}) {
    Array<T> mean(*this->gpu, d * count);
    HostBatch<T> like(d, d, count, 3, 0);
    auto d_cov = this->device_like(like);
    sample_moments<T>(*this->gpu, d_x.view, mean.vectors(d, count), d_cov.view, chunk);
    const HostBatch<T> cov = this->to_host(d_cov, like);
    for (std::int64_t i = 0; i < count; ++i) {
      EXPECT_LE(relative_distance(cov, cov_cpu, i), 100 * eps<T>() * 10) << "chunk " << chunk;
      for (std::int64_t c = 0; c < d; ++c)
        for (std::int64_t r = 0; r < c; ++r)
          ASSERT_EQ(cov.view.at(i, r, c), cov.view.at(i, c, r)) << "chunk " << chunk;
    }
  }
}

TYPED_TEST(CudaEdgeCases, OutOfMemoryInsideTheLibrariesLeavesTheContextUsable) {
  using T = TypeParam;
  // Hold (almost) all device memory, then run calls whose cuBLAS/cuSOLVER work needs some: each
  // either succeeds or throws OutOfMemory (never another error), and once the memory is free
  // again the same context gives the CPU's answers.
  const std::int64_t d = 100, count = 50;
  HostBatch<T> a(d, d, count);
  this->random_symmetric(a, geometric_spectrum(d, 2.0L, 10.0L));
  HostBatch<T> root_cpu(d, d, count), l_cpu(d, d, count);
  sqrtm<T>(this->cpu, a.cview(), root_cpu.view);
  ASSERT_EQ(cholesky<T>(this->cpu, a.cview(), l_cpu.view), -1);
  auto d_a = this->to_device(a);
  HostBatch<T> like(d, d, count);
  auto d_out = this->device_like(like);
  int out_of_memory = 0;
  {
    std::vector<std::unique_ptr<Array<T>>> hog;
    for (std::int64_t bytes = std::int64_t(1) << 36; bytes >= (std::int64_t(1) << 16);) {
      try {
        hog.push_back(std::make_unique<Array<T>>(*this->gpu, bytes / std::int64_t(sizeof(T))));
      } catch (const OutOfMemory&) {
        bytes /= 2;
      }
    }
    const auto attempt = [&](auto&& call) {
      try {
        call();
      } catch (const OutOfMemory&) {
        ++out_of_memory;
      }
    };
    attempt([&] { sqrtm<T>(*this->gpu, d_a.view, d_out.view); });
    attempt([&] { cholesky<T>(*this->gpu, d_a.view, d_out.view); });
    attempt([&] {
      gemm<T>(*this->gpu, Transpose::no, Transpose::yes, T(1), d_a.view, d_a.view, T(0),
              d_out.view);
    });
  }
  std::cout << "note: " << out_of_memory << " of 3 calls ran out of device memory\n";
  sqrtm<T>(*this->gpu, d_a.view, d_out.view);
  const HostBatch<T> root = this->to_host(d_out, like);
  ASSERT_EQ(cholesky<T>(*this->gpu, d_a.view, d_out.view), -1);
  const HostBatch<T> l = this->to_host(d_out, like);
  for (std::int64_t i = 0; i < count; ++i) {
    EXPECT_LE(relative_distance(root, root_cpu, i), 1e3L * eps<T>() * 10);
    EXPECT_LE(relative_distance(l, l_cpu, i), 1e3L * eps<T>() * 10);
  }
}

}  // namespace
}  // namespace gaussot::test
