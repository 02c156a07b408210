// SPDX-License-Identifier: Apache-2.0
// CPU eigh/eigvalsh against known answers: diagonal matrices, 2x2 closed forms, Q diag(w) Qᵀ with
// known spectra (repeated and zero eigenvalues included), d = 1, hostile batches and layouts, and
// the accuracy bars of the foundation issue. Eigenvectors are checked through invariants only.
#include <algorithm>
#include <cmath>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
class Eigh : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{20261124};
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Eigh, Precisions);

/// Backward error ‖A V − V Λ‖_F / (d ‖A‖_F) and orthogonality ‖VᵀV − I‖_F / d of item i.
template <typename T>
std::pair<long double, long double> invariants(const HostBatch<T>& a, const HostVectors<T>& w,
                                               const HostBatch<T>& v, std::int64_t i) {
  const std::int64_t d = a.view.rows;
  const Dense ai = a.item(i);
  const Dense vi = v.item(i);
  Dense av = multiply(ai, vi, d, d, d);
  for (std::int64_t c = 0; c < d; ++c)
    for (std::int64_t r = 0; r < d; ++r) av[r + c * d] -= vi[r + c * d] * w.view.at(i, c);
  const long double a_norm = std::max(frobenius(ai), std::numeric_limits<long double>::min());
  const long double residual = frobenius(av) / (d * a_norm);
  const Dense vtv = multiply(transpose(vi, d, d), vi, d, d, d);
  const long double orthogonality = frobenius_distance(vtv, identity(d)) / d;
  return {residual, orthogonality};
}

/// Fills `a` with Q_i diag(w) Q_iᵀ for fresh random Q_i; returns the spectra, sorted decreasing.
template <typename T>
std::vector<std::vector<long double>> fill_known_spectra(HostBatch<T>& a, std::mt19937_64& rng,
                                                         const std::vector<long double>& spectrum) {
  std::vector<std::vector<long double>> sorted;
  const std::int64_t d = a.view.rows;
  for (std::int64_t i = 0; i < a.view.count; ++i) {
    a.set_item(i, with_spectrum(random_orthogonal(d, rng), spectrum, d));
    std::vector<long double> s = spectrum;
    std::sort(s.begin(), s.end(), std::greater<>());
    sorted.push_back(s);
  }
  return sorted;
}

TYPED_TEST(Eigh, DiagonalMatrixGivesItsDiagonalInDecreasingOrder) {
  using T = TypeParam;
  HostBatch<T> a(4, 4, 1);
  const T diagonal[4] = {3, -1, 2, 0};
  for (int j = 0; j < 4; ++j) a.view.at(0, j, j) = diagonal[j];
  HostVectors<T> w(4, 1);
  HostBatch<T> v(4, 4, 1);
  eigh<T>(this->ctx, a.cview(), w.view, v.view);
  const T expected[4] = {3, 2, 0, -1};
  const int source_index[4] = {0, 2, 3, 1};  // where each eigenvalue sits on the diagonal
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(w.view.at(0, j), expected[j]);
    EXPECT_NEAR(std::abs(v.view.at(0, source_index[j], j)), 1.0, 10 * eps<T>());
  }
}

TYPED_TEST(Eigh, TwoByTwoClosedForm) {
  using T = TypeParam;
  std::uniform_real_distribution<double> u(-5, 5);
  const std::int64_t count = 200;
  HostBatch<T> a(2, 2, count);
  for (std::int64_t i = 0; i < count; ++i) {
    a.view.at(i, 0, 0) = T(u(this->rng));
    a.view.at(i, 1, 1) = T(u(this->rng));
    a.view.at(i, 1, 0) = a.view.at(i, 0, 1) = T(u(this->rng));
  }
  HostVectors<T> w(2, count);
  eigvalsh<T>(this->ctx, a.cview(), w.view);
  for (std::int64_t i = 0; i < count; ++i) {
    const long double p = a.view.at(i, 0, 0), q = a.view.at(i, 1, 1), b = a.view.at(i, 1, 0);
    const long double centre = (p + q) / 2;
    const long double radius = std::sqrt((p - q) * (p - q) / 4 + b * b);
    const long double scale = std::abs(centre) + radius;
    EXPECT_NEAR(w.view.at(i, 0), centre + radius, 8 * eps<T>() * scale) << "item " << i;
    EXPECT_NEAR(w.view.at(i, 1), centre - radius, 8 * eps<T>() * scale) << "item " << i;
  }
}

TYPED_TEST(Eigh, OrderOneIsTheScalar) {
  using T = TypeParam;
  HostBatch<T> a(1, 1, 3);
  a.view.at(0, 0, 0) = T(-2.5);
  a.view.at(1, 0, 0) = T(0);
  a.view.at(2, 0, 0) = T(7);
  HostVectors<T> w(1, 3);
  HostBatch<T> v(1, 1, 3);
  eigh<T>(this->ctx, a.cview(), w.view, v.view);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.view.at(i, 0), a.view.at(i, 0, 0));
    EXPECT_EQ(std::abs(v.view.at(i, 0, 0)), T(1));
  }
}

// The accuracy bars of the foundation issue, for d <= 256: in double, backward error and loss of
// orthogonality at most 50 ε (the same multiple of float ε in float).
TYPED_TEST(Eigh, KnownSpectraMeetTheAccuracyBars) {
  using T = TypeParam;
  for (const std::int64_t d : {2, 3, 5, 16, 64, 256}) {
    for (const long double condition : {1.0L, 1e4L, 1e12L}) {
      const std::int64_t count = d <= 16 ? 7 : 2;
      HostBatch<T> a(d, d, count);
      std::vector<long double> spectrum = geometric_spectrum(d, 10.0L, condition);
      for (std::int64_t j = 1; j < d; j += 3) spectrum[j] = -spectrum[j];  // indefinite too
      const auto expected = fill_known_spectra(a, this->rng, spectrum);
      HostVectors<T> w(d, count);
      HostBatch<T> v(d, d, count);
      eigh<T>(this->ctx, a.cview(), w.view, v.view);
      for (std::int64_t i = 0; i < count; ++i) {
        const auto [residual, orthogonality] = invariants(a, w, v, i);
        EXPECT_LE(residual, 50 * eps<T>()) << "d " << d << " condition " << condition;
        EXPECT_LE(orthogonality, 50 * eps<T>()) << "d " << d << " condition " << condition;
        // Weyl: each eigenvalue moves by at most ‖E‖₂ <= ‖E‖_F for a backward error E, and the
        // input itself was rounded to T (relative ε per entry).
        std::vector<long double> computed(d);
        for (std::int64_t j = 0; j < d; ++j) computed[j] = w.view.at(i, j);
        for (std::int64_t j = 0; j < d; ++j) {
          EXPECT_NEAR(computed[j], expected[i][j], 4 * d * eps<T>() * 10.0L)
              << "d " << d << " eigenvalue " << j;
        }
        EXPECT_TRUE(std::is_sorted(computed.begin(), computed.end(), std::greater<>()));
      }
    }
  }
}

// The CPU backend's two solvers (gaussot's implicit QR, LAPACK ?syevd) both meet the bars on the
// same inputs, on both sides of the order where `automatic` switches between them (160).
TYPED_TEST(Eigh, BothCpuSolversMeetTheBars) {
  using T = TypeParam;
  for (const std::int64_t d : {7, 64, 159, 160}) {
    const std::int64_t count = 5;  // four in lockstep, then one alone
    HostBatch<T> a(d, d, count, 1, 0);
    std::vector<long double> spectrum = geometric_spectrum(d, 1.0L, 1e6L);
    spectrum[d / 2] = spectrum[d / 2 + 1];  // a repeated pair
    spectrum[d - 1] = 0;
    const auto expected = fill_known_spectra(a, this->rng, spectrum);
    for (const EighAlgorithm algorithm : {EighAlgorithm::automatic, EighAlgorithm::implicit_qr,
                                          EighAlgorithm::divide_and_conquer}) {
      HostVectors<T> w(d, count), values(d, count);
      HostBatch<T> v(d, d, count);
      eigh<T>(this->ctx, a.cview(), w.view, v.view, EighOptions{algorithm});
      eigvalsh<T>(this->ctx, a.cview(), values.view, EighOptions{algorithm});
      for (std::int64_t i = 0; i < count; ++i) {
        const auto [residual, orthogonality] = invariants(a, w, v, i);
        EXPECT_LE(residual, 50 * eps<T>()) << "d " << d << " algorithm " << int(algorithm);
        EXPECT_LE(orthogonality, 50 * eps<T>()) << "d " << d << " algorithm " << int(algorithm);
        for (std::int64_t j = 0; j < d; ++j) {
          ASSERT_NEAR(w.view.at(i, j), expected[i][j], 4 * d * eps<T>()) << "d " << d;
          ASSERT_NEAR(values.view.at(i, j), expected[i][j], 4 * d * eps<T>()) << "d " << d;
        }
      }
    }
  }
  HostBatch<T> a(3, 3, 1);
  HostVectors<T> w(3, 1);
  EXPECT_THROW(eigvalsh<T>(this->ctx, a.cview(), w.view, EighOptions{EighAlgorithm::jacobi}),
               InvalidArgument);
}

// Eigenvalues alone from order 1024 come from LAPACK's two-stage ?syevd_2stage, the eigenvectors
// from ?syevd: both meet the bar on a known spectrum (repeated and zero eigenvalues included).
TYPED_TEST(Eigh, TwoStageEigenvaluesOfALargeOrderMeetTheBar) {
  using T = TypeParam;
  const std::int64_t d = 1024;  // kTwoStageMinOrder
  HostBatch<T> a(d, d, 1);
  std::vector<long double> spectrum = geometric_spectrum(d, 1.0L, 1e6L);
  spectrum[d / 2] = spectrum[d / 2 + 1];
  spectrum[d - 1] = 0;
  const auto expected = fill_known_spectra(a, this->rng, spectrum);
  HostVectors<T> w(d, 1), values(d, 1);
  HostBatch<T> v(d, d, 1);
  eigh<T>(this->ctx, a.cview(), w.view, v.view);
  eigvalsh<T>(this->ctx, a.cview(), values.view);
  for (std::int64_t j = 0; j < d; ++j) {
    ASSERT_NEAR(values.view.at(0, j), expected[0][j], 4 * d * eps<T>()) << j;
    ASSERT_NEAR(w.view.at(0, j), expected[0][j], 4 * d * eps<T>()) << j;
  }
}

TYPED_TEST(Eigh, RepeatedAndZeroEigenvalues) {
  using T = TypeParam;
  const std::int64_t d = 12;
  const std::vector<long double> spectrum = {4, 4, 4, 4, 1, 1, 1, 0, 0, 0, 0, -2};
  HostBatch<T> a(d, d, 5);
  const auto expected = fill_known_spectra(a, this->rng, spectrum);
  HostVectors<T> w(d, 5);
  HostBatch<T> v(d, d, 5);
  eigh<T>(this->ctx, a.cview(), w.view, v.view);
  for (std::int64_t i = 0; i < 5; ++i) {
    const auto [residual, orthogonality] = invariants(a, w, v, i);
    EXPECT_LE(residual, 50 * eps<T>());
    EXPECT_LE(orthogonality, 50 * eps<T>());
    for (std::int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR(w.view.at(i, j), expected[i][j], 8 * d * eps<T>() * 4);
    }
  }
}

TYPED_TEST(Eigh, BatchSizesZeroOneSevenAndAThousand) {
  using T = TypeParam;
  const std::int64_t d = 6;
  for (const std::int64_t count : {0, 1, 7, 1000}) {
    HostBatch<T> a(d, d, count);
    const auto expected = fill_known_spectra(a, this->rng, {6, 5, 4, 3, 2, 1});
    HostVectors<T> w(d, count);
    HostBatch<T> v(d, d, count);
    eigh<T>(this->ctx, a.cview(), w.view, v.view);
    for (std::int64_t i = 0; i < count; ++i) {
      for (std::int64_t j = 0; j < d; ++j) {
        ASSERT_NEAR(w.view.at(i, j), expected[i][j], 16 * d * eps<T>() * 6) << "item " << i;
      }
      const auto [residual, orthogonality] = invariants(a, w, v, i);
      ASSERT_LE(residual, 50 * eps<T>()) << "item " << i;
      ASSERT_LE(orthogonality, 50 * eps<T>()) << "item " << i;
    }
  }
}

TYPED_TEST(Eigh, PaddedStridesAreRespectedAndPaddingIsNotWritten) {
  using T = TypeParam;
  const std::int64_t d = 5, count = 4;
  HostBatch<T> a(d, d, count, /*ld_pad=*/2, /*stride_pad=*/3);
  const auto expected = fill_known_spectra(a, this->rng, {3, 1, 0.5, -1, -2});
  HostVectors<T> w(d, count, /*pad=*/2);
  HostBatch<T> v(d, d, count, 1, 4);
  eigh<T>(this->ctx, a.cview(), w.view, v.view);
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t j = 0; j < d; ++j)
      EXPECT_NEAR(w.view.at(i, j), expected[i][j], 100 * eps<T>());
    const auto [residual, orthogonality] = invariants(a, w, v, i);
    EXPECT_LE(residual, 50 * eps<T>());
    EXPECT_LE(orthogonality, 50 * eps<T>());
  }
  // Every element outside the views is still the NaN the helpers filled it with.
  std::size_t finite_w = 0, finite_v = 0;
  for (T x : w.storage) finite_w += std::isfinite(x);
  for (T x : v.storage) finite_v += std::isfinite(x);
  EXPECT_EQ(finite_w, std::size_t(d * count));
  EXPECT_EQ(finite_v, std::size_t(d * d * count));
}

TYPED_TEST(Eigh, ReadsOnlyTheLowerTriangle) {
  using T = TypeParam;
  const std::int64_t d = 6;
  HostBatch<T> a(d, d, 1);
  fill_known_spectra(a, this->rng, {5, 4, 3, 2, 1, 0.5});
  HostVectors<T> reference(d, 1);
  eigvalsh<T>(this->ctx, a.cview(), reference.view);
  for (std::int64_t c = 1; c < d; ++c)
    for (std::int64_t r = 0; r < c; ++r) a.view.at(0, r, c) = std::numeric_limits<T>::quiet_NaN();
  HostVectors<T> w(d, 1);
  eigvalsh<T>(this->ctx, a.cview(), w.view);
  for (std::int64_t j = 0; j < d; ++j) EXPECT_EQ(w.view.at(0, j), reference.view.at(0, j));
}

TYPED_TEST(Eigh, EigvalshAgreesWithEighAndBroadcastRepeatsOneMatrix) {
  using T = TypeParam;
  const std::int64_t d = 9, count = 3;
  HostBatch<T> one(d, d, 1);
  fill_known_spectra(one, this->rng, geometric_spectrum(d, 2, 100));
  const MatrixBatch<const T> repeated = broadcast(one.cview(), count);
  HostVectors<T> values(d, count), w(d, count);
  HostBatch<T> v(d, d, count);
  eigvalsh<T>(this->ctx, repeated, values.view);
  eigh<T>(this->ctx, repeated, w.view, v.view);
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t j = 0; j < d; ++j) {
      EXPECT_NEAR(values.view.at(i, j), w.view.at(i, j), 8 * d * eps<T>() * 2);
      EXPECT_EQ(values.view.at(i, j), values.view.at(0, j));
    }
  }
}

TYPED_TEST(Eigh, RefusesBadArgumentsNamingThem) {
  using T = TypeParam;
  HostBatch<T> a(3, 3, 4), rectangular(3, 2, 4);
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 3; ++j) a.view.at(i, j, j) = T(1);
  HostVectors<T> w(3, 4), short_w(2, 4), few_w(3, 3);
  HostBatch<T> v(3, 3, 4);
  expect_invalid([&] { eigh<T>(this->ctx, rectangular.cview(), w.view, v.view); }, "'a'");
  expect_invalid([&] { eigvalsh<T>(this->ctx, a.cview(), short_w.view); }, "'eigenvalues'");
  expect_invalid([&] { eigvalsh<T>(this->ctx, a.cview(), few_w.view); }, "batch items");
  MatrixBatch<T> on_device = v.view;
  on_device.space = MemorySpace::device;
  expect_invalid([&] { eigh<T>(this->ctx, a.cview(), w.view, on_device); }, "device memory");
  expect_invalid([&] { eigh<T>(this->ctx, a.cview(), w.view, a.view); }, "share memory");
  a.view.at(2, 1, 0) = std::numeric_limits<T>::infinity();
  expect_invalid([&] { eigh<T>(this->ctx, a.cview(), w.view, v.view); }, "batch item 2");
  a.view.at(2, 1, 0) = T(0);
  a.view.at(1, 2, 2) = std::numeric_limits<T>::quiet_NaN();
  expect_invalid([&] { eigvalsh<T>(this->ctx, a.cview(), w.view); }, "batch item 1");
}

}  // namespace
}  // namespace gaussot::test
