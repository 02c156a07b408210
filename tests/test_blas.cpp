// SPDX-License-Identifier: Apache-2.0
// CPU gemm, sandwich, trace and Frobenius inner products against long double loops.
#include <cmath>
#include <functional>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
class Blas : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{99};
  void randomize(HostBatch<T>& m) { fill_gaussian(m, rng); }
  void symmetrize(HostBatch<T>& m) {
    for (std::int64_t i = 0; i < m.view.count; ++i)
      for (std::int64_t c = 0; c < m.view.cols; ++c)
        for (std::int64_t r = 0; r < c; ++r) m.view.at(i, r, c) = m.view.at(i, c, r);
  }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Blas, Precisions);

TYPED_TEST(Blas, GemmAllTransposesAlphaBetaAndPadding) {
  using T = TypeParam;
  const std::int64_t m = 3, k = 5, n = 4, count = 7;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      HostBatch<T> a(ta ? k : m, ta ? m : k, count, 1, 2);
      HostBatch<T> b(tb ? n : k, tb ? k : n, count, 0, 3);
      HostBatch<T> c(m, n, count, 2, 1);
      this->randomize(a);
      this->randomize(b);
      this->randomize(c);
      const HostBatch<T> c_before = c;
      const T alpha = T(0.75), beta = T(-1.5);
      gemm<T>(this->ctx, ta ? Transpose::yes : Transpose::no, tb ? Transpose::yes : Transpose::no,
              alpha, a.cview(), b.cview(), beta, c.view);
      for (std::int64_t i = 0; i < count; ++i) {
        const Dense op_a = ta ? transpose(a.item(i), k, m) : a.item(i);
        const Dense op_b = tb ? transpose(b.item(i), n, k) : b.item(i);
        Dense expected = multiply(op_a, op_b, m, k, n);
        const Dense before = c_before.item(i);
        for (std::size_t e = 0; e < expected.size(); ++e)
          expected[e] = alpha * expected[e] + beta * before[e];
        EXPECT_LE(frobenius_distance(c.item(i), expected),
                  10 * k * eps<T>() * (frobenius(expected) + 1))
            << "ta " << ta << " tb " << tb << " item " << i;
      }
      std::size_t finite = 0;
      for (T x : c.storage) finite += std::isfinite(x);
      EXPECT_EQ(finite, std::size_t(m * n * count)) << "padding of c was written";
    }
  }
}

TYPED_TEST(Blas, GemmWithZeroBetaIgnoresNanInTheOutputAndBroadcasts) {
  using T = TypeParam;
  const std::int64_t d = 4, count = 3;
  HostBatch<T> one(d, d, 1), b(d, d, count), c(d, d, count);
  this->randomize(one);
  this->randomize(b);
  for (auto& x : c.storage) x = std::numeric_limits<T>::quiet_NaN();
  gemm<T>(this->ctx, Transpose::no, Transpose::no, T(1), broadcast(one.cview(), count), b.cview(),
          T(0), c.view);
  for (std::int64_t i = 0; i < count; ++i) {
    const Dense expected = multiply(one.item(0), b.item(i), d, d, d);
    EXPECT_LE(frobenius_distance(c.item(i), expected), 10 * d * eps<T>() * frobenius(expected));
  }
}

TYPED_TEST(Blas, SandwichIsExactlySymmetricAndMatchesStBS) {
  using T = TypeParam;
  const std::int64_t d = 9, count = 5;
  HostBatch<T> s(d, d, count, 1, 0), b(d, d, count), out(d, d, count, 0, 2);
  this->randomize(s);
  this->randomize(b);
  this->symmetrize(s);
  this->symmetrize(b);
  sandwich<T>(this->ctx, s.cview(), b.cview(), out.view);
  for (std::int64_t i = 0; i < count; ++i) {
    const Dense expected = multiply(multiply(s.item(i), b.item(i), d, d, d), s.item(i), d, d, d);
    EXPECT_LE(frobenius_distance(out.item(i), expected), 20 * d * eps<T>() * frobenius(expected));
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r < c; ++r) EXPECT_EQ(out.view.at(i, r, c), out.view.at(i, c, r));
  }
  // One-versus-many: S broadcast against a batch of B.
  HostBatch<T> many(d, d, count);
  sandwich<T>(this->ctx, broadcast(s.cview().slice(0, 1), count), b.cview(), many.view);
  const Dense last = multiply(multiply(s.item(0), b.item(count - 1), d, d, d), s.item(0), d, d, d);
  EXPECT_LE(frobenius_distance(many.item(count - 1), last), 20 * d * eps<T>() * frobenius(last));
  // A non-symmetric factor S: out = Sᵀ B S.
  HostBatch<T> factor(d, d, count);
  this->randomize(factor);
  sandwich<T>(this->ctx, factor.cview(), b.cview(), out.view);
  for (std::int64_t i = 0; i < count; ++i) {
    const Dense expected = multiply(multiply(transpose(factor.item(i), d, d), b.item(i), d, d, d),
                                    factor.item(i), d, d, d);
    EXPECT_LE(frobenius_distance(out.item(i), expected), 20 * d * eps<T>() * frobenius(expected));
  }
}

TYPED_TEST(Blas, TraceAndFrobeniusInnerProduct) {
  using T = TypeParam;
  const std::int64_t d = 6;
  for (const std::int64_t count : {0, 1, 7}) {
    HostBatch<T> a(d, d, count, 3, 1), b(d, d, count);
    this->randomize(a);
    this->randomize(b);
    HostVectors<T> traces(1, count, 2), inner(1, count);
    trace<T>(this->ctx, a.cview(), traces.view);
    frobenius_inner<T>(this->ctx, a.cview(), b.cview(), inner.view);
    for (std::int64_t i = 0; i < count; ++i) {
      long double tr = 0, dot = 0, scale = 0;
      const Dense ai = a.item(i), bi = b.item(i);
      for (std::int64_t j = 0; j < d; ++j) tr += ai[j + j * d];
      for (std::size_t e = 0; e < ai.size(); ++e) {
        dot += ai[e] * bi[e];
        scale += std::abs(ai[e] * bi[e]);
      }
      EXPECT_NEAR(traces.view.at(i, 0), tr, 4 * d * eps<T>() * (std::abs(tr) + d));
      EXPECT_NEAR(inner.view.at(i, 0), dot, 4 * d * d * eps<T>() * scale);
    }
  }
  // ⟨A, A⟩ = ‖A‖², also for a rectangular broadcast input.
  HostBatch<T> r(3, 5, 1);
  this->randomize(r);
  HostVectors<T> norms(1, 4);
  frobenius_inner<T>(this->ctx, broadcast(r.cview(), 4), broadcast(r.cview(), 4), norms.view);
  const long double f = frobenius(r.item(0));
  EXPECT_NEAR(norms.view.at(3, 0), f * f, 60 * eps<T>() * f * f);
}

TYPED_TEST(Blas, RefusesBadArguments) {
  using T = TypeParam;
  HostBatch<T> a(3, 4, 2), b(5, 2, 2), c(3, 2, 2), square(3, 3, 2);
  HostVectors<T> out(1, 2), wide(2, 2);
  expect_invalid(
      [&] {
        gemm<T>(this->ctx, Transpose::no, Transpose::no, T(1), a.cview(), b.cview(), T(0), c.view);
      },
      "'b'");
  HostBatch<T> b_ok(4, 2, 2), c_wrong(2, 2, 2);
  expect_invalid(
      [&] {
        gemm<T>(this->ctx, Transpose::no, Transpose::no, T(1), a.cview(), b_ok.cview(), T(0),
                c_wrong.view);
      },
      "'c'");
  expect_invalid(
      [&] {
        gemm<T>(this->ctx, Transpose::no, Transpose::no, T(1), a.cview(), b_ok.cview(), T(0),
                broadcast(c.view, 2));
      },
      "overlap");
  expect_invalid([&] { trace<T>(this->ctx, a.cview(), out.view); }, "square");
  expect_invalid([&] { trace<T>(this->ctx, square.cview(), wide.view); }, "'out'");
  expect_invalid([&] { sandwich<T>(this->ctx, square.cview(), square.cview(), square.view); },
                 "share memory");
  expect_invalid([&] { frobenius_inner<T>(this->ctx, a.cview(), square.cview(), out.view); },
                 "'b'");
}

}  // namespace
}  // namespace gaussot::test
