// SPDX-License-Identifier: Apache-2.0
// The numerical rules of src/shared_rules.hpp, written once for the CPU backend and the CUDA
// kernels, checked here on the host (no GPU needed): combine's NaN-keeping floor (also through
// the CPU backend), the scale-free pivot test of the CUDA QR retraction, and the online
// log-sum-exp of the CUDA Sinkhorn with −∞ terms.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backend.hpp"
#include "shared_rules.hpp"
#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
class SharedRules : public ::testing::Test {};
using RulePrecisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SharedRules, RulePrecisions);

TYPED_TEST(SharedRules, FloorKeepsNan) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  EXPECT_TRUE(std::isnan(shared_rule::at_least(nan, T(0))));
  EXPECT_EQ(shared_rule::at_least(T(-1), T(0)), T(0));
  EXPECT_EQ(shared_rule::at_least(T(2), T(0)), T(2));
  EXPECT_EQ(shared_rule::at_least(-std::numeric_limits<T>::infinity(), T(0)), T(0));
  EXPECT_EQ(shared_rule::at_least(std::numeric_limits<T>::infinity(), T(0)),
            std::numeric_limits<T>::infinity());
  // Through the CPU backend's combine: an overflowing sum (inf − inf = NaN) stays NaN.
  Context ctx = Context::cpu();
  const T big = std::numeric_limits<T>::infinity();
  const std::vector<T> a = {big, T(1), T(-3), T(4)}, b = {big, T(1), T(1), T(1)};
  std::vector<T> out(4);
  LinearCombination<T> combination;
  combination.count = 2;
  combination.coefficients[0] = T(1);
  combination.coefficients[1] = T(-1);
  combination.terms[0] = square_matrices<const T>(a.data(), 2, 1);
  combination.terms[1] = square_matrices<const T>(b.data(), 2, 1);
  combination.has_floor = true;
  combination.floor = T(0);
  cpu::combine<T>(ctx, combination, square_matrices(out.data(), 2, 1));
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], T(0));
  EXPECT_EQ(out[2], T(0));  // −4 floored
  EXPECT_EQ(out[3], T(3));
}

/// Whether the CUDA retraction's test accepts x (host, m x r, column-major): the Cholesky factor
/// of XᵀX, formed in T by the CPU backend as the CUDA backend forms it, exists and passes
/// cholesky_qr_pivots_ok.
template <typename T>
bool accepted(Context& ctx, const std::vector<T>& x, std::int64_t m, std::int64_t r) {
  std::vector<T> gram(static_cast<std::size_t>(r * r)), l(gram.size());
  gemm<T>(ctx, Transpose::yes, Transpose::no, T(1), matrices<const T>(x.data(), m, r, 1),
          matrices<const T>(x.data(), m, r, 1), T(0), square_matrices(gram.data(), r, 1));
  return cholesky<T>(ctx, square_matrices<const T>(gram.data(), r, 1),
                     square_matrices(l.data(), r, 1)) == -1 &&
         shared_rule::cholesky_qr_pivots_ok(l.data(), r, r);
}

TYPED_TEST(SharedRules, CholeskyQrPivotTestIsScaleFree) {
  using T = TypeParam;
  // The rule on given factors: pivots (1, 0.5, p) pass when p > √ε (3.5e-4 in float, 1.5e-8 in
  // double), whatever the scale; a NaN pivot fails.
  for (const T scale : {T(1), T(1e-20), T(1e20)}) {
    for (const T p : {T(1e-3), T(1e-4), T(1e-9)}) {
      std::vector<T> l(9, T(0.25) * scale);
      l[0] = scale;
      l[4] = T(0.5) * scale;
      l[8] = p * scale;
      const bool expected = p > std::sqrt(std::numeric_limits<T>::epsilon());
      EXPECT_EQ(shared_rule::cholesky_qr_pivots_ok(l.data(), 3, 3), expected)
          << "pivot " << p << " scale " << scale;
      for (const std::size_t at : {std::size_t(0), std::size_t(4)}) {
        std::vector<T> with_nan = l;
        with_nan[at] = std::numeric_limits<T>::quiet_NaN();
        EXPECT_FALSE(shared_rule::cholesky_qr_pivots_ok(with_nan.data(), 3, 3));
      }
    }
  }
  // On computed factors. m·r ≈ 4e6: in float, √(8·m·ε)·‖X‖_F (the earlier rule) is 2.0 here,
  // above every pivot of an orthonormal X (all ≈ 1), which that rule therefore refused.
  Context ctx = Context::cpu();
  std::mt19937_64 rng(17);
  const std::int64_t m = 32768, r = 128;
  HostBatch<T> g(m, r, 1);
  fill_gaussian(g, rng);
  std::vector<T> q(static_cast<std::size_t>(m * r));
  qr_retraction<T>(ctx, g.cview(), matrices(q.data(), m, r, 1));
  EXPECT_TRUE(accepted(ctx, q, m, r));
  for (const T scale : {T(1e-15), T(1e15)}) {
    std::vector<T> scaled = q;
    for (T& e : scaled) e *= scale;
    EXPECT_TRUE(accepted(ctx, scaled, m, r)) << "scale " << scale;
  }
  // cond(X) = 100 passes; a last column 1e-5 away from the first (cond ≈ 1e5, beyond ε^-½ in
  // float, not in double) is refused in float only.
  std::vector<T> conditioned = q;
  for (std::int64_t i = 0; i < m; ++i) conditioned[i + (r - 1) * m] *= T(0.01);
  EXPECT_TRUE(accepted(ctx, conditioned, m, r));
  std::vector<T> nearly_dependent = q;
  for (std::int64_t i = 0; i < m; ++i)
    nearly_dependent[i + (r - 1) * m] = q[i] + T(1e-5) * q[i + (r - 1) * m];
  EXPECT_EQ(accepted(ctx, nearly_dependent, m, r), sizeof(T) == 8);
}

/// log Σ e^v and Σ e^v·c / Σ e^v in long double, over the finite v.
struct Reference {
  long double log_sum, weighted_mean;
};
template <typename T>
Reference direct(const std::vector<T>& v, const std::vector<T>& c) {
  long double largest = -std::numeric_limits<long double>::infinity();
  for (const T x : v) largest = std::max<long double>(largest, x);
  long double sum = 0, weighted = 0;
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (std::isinf(v[k])) continue;
    sum += std::exp((long double)v[k] - largest);
    weighted += std::exp((long double)v[k] - largest) * c[k];
  }
  return {largest + std::log(sum), weighted / sum};
}

TYPED_TEST(SharedRules, OnlineLogSumExpSkipsMinusInfinity) {
  using T = TypeParam;
  const T minus_infinity = -std::numeric_limits<T>::infinity();
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 30.0);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<T> v(64), c(64);
    for (std::size_t k = 0; k < v.size(); ++k) {
      v[k] = (k % 3 == 0 || k < 4) ? minus_infinity : T(normal(rng));  // the first terms −∞
      c[k] = T(std::abs(normal(rng)));
    }
    // As the CUDA kernel does: lanes take every 32nd term, then merge pairwise.
    std::vector<shared_rule::OnlineLogSumExp<T>> lanes(32);
    for (std::size_t k = 0; k < v.size(); ++k) lanes[k % 32].template add<true>(v[k], c[k]);
    for (std::size_t offset = 16; offset > 0; offset /= 2) {
      for (std::size_t lane = 0; lane < offset; ++lane) {
        const auto& o = lanes[lane + offset];
        lanes[lane].merge(o.largest, o.sum, o.weighted);
      }
    }
    const Reference expected = direct(v, c);
    const long double tolerance = 100 * eps<T>();
    ASSERT_TRUE(std::isfinite(lanes[0].log_sum_exp())) << "trial " << trial;
    EXPECT_NEAR(lanes[0].log_sum_exp(), expected.log_sum,
                tolerance * (1 + std::abs(expected.log_sum)));
    EXPECT_NEAR(lanes[0].weighted / lanes[0].sum, expected.weighted_mean,
                tolerance * (1 + expected.weighted_mean));
  }
  // No finite term: −∞, not NaN; merging two empty states keeps it so.
  shared_rule::OnlineLogSumExp<T> empty, other;
  empty.template add<true>(minus_infinity, T(1));
  other.template add<true>(minus_infinity, T(2));
  empty.merge(other.largest, other.sum, other.weighted);
  EXPECT_EQ(empty.log_sum_exp(), minus_infinity);
  EXPECT_EQ(empty.sum, T(0));
}

}  // namespace
}  // namespace gaussot::test
