// SPDX-License-Identifier: Apache-2.0
// QR retraction: orthonormal columns, R = QᵀX upper triangular with a positive diagonal (which
// makes Q unique), agreement with an independent Gram–Schmidt in long double, rank deficiency.
#include <cmath>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
class Retraction : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{31};
  void randomize(HostBatch<T>& m) { fill_gaussian(m, rng); }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Retraction, Precisions);

TYPED_TEST(Retraction, QIsTheSignFixedThinQrFactor) {
  using T = TypeParam;
  for (const auto& [m, r] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {1, 1}, {4, 4}, {9, 3}, {30, 1}, {65, 64}}) {
    const std::int64_t count = 5;
    HostBatch<T> x(m, r, count, 1, 2), q(m, r, count, 2, 0);
    this->randomize(x);
    qr_retraction<T>(this->ctx, x.cview(), q.view);
    for (std::int64_t i = 0; i < count; ++i) {
      const Dense qi = q.item(i);
      const Dense qtq = multiply(transpose(qi, m, r), qi, r, m, r);
      EXPECT_LE(frobenius_distance(qtq, identity(r)), 20 * m * eps<T>()) << m << "x" << r;
      const Dense rfactor = multiply(transpose(qi, m, r), x.item(i), r, m, r);
      for (std::int64_t c = 0; c < r; ++c) {
        EXPECT_GT(rfactor[c + c * r], 0) << "diag(R) must be positive";
        for (std::int64_t row = c + 1; row < r; ++row) {
          EXPECT_NEAR(rfactor[row + c * r], 0, 20 * m * eps<T>() * frobenius(x.item(i)));
        }
      }
      // Condition numbers of Gaussian matrices stay modest here, so the unique Q is determined
      // to about κ·ε.
      EXPECT_LE(frobenius_distance(qi, gram_schmidt(x.item(i), m, r)), 5e3L * m * eps<T>())
          << m << "x" << r;
    }
  }
}

TYPED_TEST(Retraction, RetractingAStepFromAnOrthonormalBasisStaysClose) {
  using T = TypeParam;
  const std::int64_t m = 12, r = 5;
  HostBatch<T> v(m, r, 1), step(m, r, 1), q(m, r, 1);
  this->randomize(v);
  HostBatch<T> basis(m, r, 1);
  qr_retraction<T>(this->ctx, v.cview(), basis.view);
  this->randomize(step);
  const long double t = 1e-3L;
  for (std::int64_t c = 0; c < r; ++c)
    for (std::int64_t row = 0; row < m; ++row)
      step.view.at(0, row, c) = T(basis.view.at(0, row, c) + t * step.view.at(0, row, c));
  qr_retraction<T>(this->ctx, step.cview(), q.view);
  // A retraction is a first-order approximation of the step: ‖qf(V + tξ) − V‖ = O(t).
  EXPECT_LE(frobenius_distance(q.item(0), basis.item(0)), 10 * t * std::sqrt(m * r));
  EXPECT_GE(frobenius_distance(q.item(0), basis.item(0)), t / 100);
}

TYPED_TEST(Retraction, DependentColumnsAreReportedWithTheItem) {
  using T = TypeParam;
  const std::int64_t m = 6, r = 3;
  HostBatch<T> x(m, r, 4), q(m, r, 4);
  this->randomize(x);
  for (std::int64_t row = 0; row < m; ++row) x.view.at(2, row, 2) = T(2) * x.view.at(2, row, 0);
  try {
    qr_retraction<T>(this->ctx, x.cview(), q.view);
    ADD_FAILURE() << "no exception";
  } catch (const ConvergenceError& e) {
    EXPECT_EQ(e.batch_index(), 2);
    EXPECT_NE(std::string(e.what()).find("batch item 2"), std::string::npos) << e.what();
  }
  HostBatch<T> wide(3, 4, 1), wide_q(3, 4, 1);
  EXPECT_THROW(qr_retraction<T>(this->ctx, wide.cview(), wide_q.view), InvalidArgument);
  EXPECT_THROW(qr_retraction<T>(this->ctx, x.cview(), x.view), InvalidArgument);
}

// Cholesky: L Lᵀ = A with L lower triangular and a positive diagonal (unique), against a long
// double factorisation; the first non-positive-definite item is reported; Eigen and LAPACK paths.
TYPED_TEST(Retraction, CholeskyFactorsAndReportsTheFirstFailure) {
  using T = TypeParam;
  for (const std::int64_t d : {1, 5, 64, 200}) {
    const std::int64_t count = d <= 64 ? 6 : 2;
    HostBatch<T> a(d, d, count, 2, 1), l(d, d, count, 0, 3);
    for (std::int64_t i = 0; i < count; ++i) {
      a.set_item(i,
                 with_spectrum(random_orthogonal(d, this->rng), geometric_spectrum(d, 4, 1e3), d));
    }
    EXPECT_EQ(cholesky<T>(this->ctx, a.cview(), l.view), -1) << "d " << d;
    for (std::int64_t i = 0; i < count; ++i) {
      const Dense li = l.item(i), ai = a.item(i);
      const Dense ref = cholesky_reference(ai, d);
      EXPECT_LE(frobenius_distance(li, ref) / frobenius(ref), 1e3L * d * eps<T>()) << "d " << d;
      for (std::int64_t c = 0; c < d; ++c)
        for (std::int64_t r = 0; r < c; ++r) EXPECT_EQ(li[r + c * d], 0) << "upper triangle";
    }
    // Item 1 indefinite: reported.
    a.set_item(
        1, with_spectrum(random_orthogonal(d, this->rng), std::vector<long double>(d, -1.0L), d));
    EXPECT_EQ(cholesky<T>(this->ctx, a.cview(), l.view), count > 1 ? 1 : -1);
  }
  HostBatch<T> inplace(3, 3, 1);
  inplace.set_item(0, {4, 2, 0, 2, 5, 1, 0, 1, 3});
  EXPECT_EQ(cholesky<T>(this->ctx, inplace.cview(), inplace.view), -1);
  EXPECT_EQ(inplace.view.at(0, 0, 0), T(2));
  EXPECT_EQ(inplace.view.at(0, 1, 0), T(1));
  EXPECT_EQ(inplace.view.at(0, 0, 1), T(0));
}

}  // namespace
}  // namespace gaussot::test
