// SPDX-License-Identifier: Apache-2.0
// IGW between Gaussians on the CPU: the reference vectors of formulas-bures-igw-mmot.md §9, the
// 1-D formula, lower <= value <= upper on random pairs, the returned plan evaluated by the raw
// cross-moment form of §3.1 (an independent formula) and by Monte Carlo of the pairwise
// distortion, invariance under rotations of either space, a brute-force optimum in the plane,
// the map's push-forward, all pairs against pairs one by one, the barycenter, bad input.
#include <algorithm>
#include <array>
#include <cmath>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

/// Dense column-major helpers in long double.
long double dot(const std::vector<long double>& x, const std::vector<long double>& y) {
  long double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}
std::vector<long double> apply(const Dense& m, const std::vector<long double>& x,
                               std::int64_t rows) {
  std::vector<long double> y(rows, 0);
  const auto cols = static_cast<std::int64_t>(x.size());
  for (std::int64_t c = 0; c < cols; ++c) {
    for (std::int64_t r = 0; r < rows; ++r) y[r] += m[r + c * rows] * x[c];
  }
  return y;
}

/// IGW² of a coupling with cross-covariance K (d1 x d2), by the raw form of §3.1:
/// I1 + I2 − 2 I3 with I_k = tr(S_k²) + 2 m_kᵀ S_k m_k + ‖m_k‖⁴ and
/// I3 = ‖K‖_F² + 2 m1ᵀ K m2 + ‖m1‖² ‖m2‖².
long double coupling_cost(const Dense& s1, const std::vector<long double>& m1, const Dense& s2,
                          const std::vector<long double>& m2, const Dense& k) {
  const auto d1 = static_cast<std::int64_t>(m1.size()), d2 = static_cast<std::int64_t>(m2.size());
  auto moment = [](const Dense& s, const std::vector<long double>& m, std::int64_t d) {
    const long double n2 = dot(m, m);
    return frobenius(s) * frobenius(s) + 2 * dot(m, apply(s, m, d)) + n2 * n2;
  };
  const long double i3 =
      frobenius(k) * frobenius(k) + 2 * dot(m1, apply(k, m2, d1)) + dot(m1, m1) * dot(m2, m2);
  return moment(s1, m1, d1) + moment(s2, m2, d2) - 2 * i3;
}

/// One Gaussian on the host, in long double.
struct Gaussian {
  std::vector<long double> mean;
  Dense cov;
  std::int64_t d() const { return static_cast<std::int64_t>(mean.size()); }
};

template <typename T>
class Igw : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{2025};

  /// A random Gaussian in dimension d: mean N(0, scale² I), spectrum geometric in [3/κ, 3].
  Gaussian random(std::int64_t d, long double mean_scale = 1, long double condition = 20) {
    std::normal_distribution<double> normal;
    Gaussian g{std::vector<long double>(d), {}};
    for (auto& m : g.mean) m = mean_scale * normal(rng);
    g.cov = with_spectrum(random_orthogonal(d, rng), geometric_spectrum(d, 3, condition), d);
    return g;
  }
  static HostGaussians<T> batch(const std::vector<Gaussian>& items) {
    HostGaussians<T> h(items.front().d(), static_cast<std::int64_t>(items.size()));
    for (std::size_t i = 0; i < items.size(); ++i) h.set(i, items[i].mean, items[i].cov);
    return h;
  }
  struct Values {
    T squared, lower, upper;
    IgwReport report;
  };
  Values igw(const Gaussian& a, const Gaussian& b, const IgwOptions& options = {}) {
    const HostGaussians<T> ha = batch({a}), hb = batch({b});
    Values v{};
    const std::vector<IgwReport> reports = igw_squared<T>(
        ctx, ha.cview(), hb.cview(),
        {scalars(&v.squared, 1), scalars(&v.lower, 1), scalars(&v.upper, 1)}, options);
    v.report = reports.at(0);
    return v;
  }
  Dense plan(const Gaussian& a, const Gaussian& b, const IgwOptions& options = {}) {
    const HostGaussians<T> ha = batch({a}), hb = batch({b});
    std::vector<T> k(a.d() * b.d());
    igw_plan<T>(ctx, ha.cview(), hb.cview(), matrices(k.data(), a.d(), b.d(), 1), options);
    return Dense(k.begin(), k.end());
  }
  /// Relative tolerance of values computed through eigendecompositions of order d.
  static long double tolerance(std::int64_t d) { return 200 * d * eps<T>(); }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Igw, Precisions);

Gaussian diagonal(const std::vector<long double>& variances, const std::vector<long double>& mean) {
  const auto d = static_cast<std::int64_t>(variances.size());
  Gaussian g{mean, Dense(d * d, 0)};
  for (std::int64_t i = 0; i < d; ++i) g.cov[i + i * d] = variances[i];
  return g;
}

TYPED_TEST(Igw, OneCenteredReferenceVector) {
  // §9 / §3.3: S1 = diag(3, 1, 0), S2 = diag(2, 0, 0), m1 = (0, 0, 4), m2 = 0: IGW² = 2 + 256.
  const auto v = this->igw(diagonal({3, 1, 0}, {0, 0, 4}), diagonal({2, 0, 0}, {0, 0, 0}));
  EXPECT_NEAR(v.squared, 258, 258 * this->tolerance(3));
  EXPECT_EQ(v.lower, v.upper);
  EXPECT_EQ(v.squared, v.upper);
  EXPECT_TRUE(v.report.exact);
  EXPECT_EQ(v.report.iterations, 0);
}

TYPED_TEST(Igw, UnivariateReferenceVectorsAndFormula) {
  // §5 vectors (a, b, u, v) -> IGW², a and b standard deviations.
  const std::array<std::array<long double, 5>, 3> cases = {
      {{2, 3, -1, 4, 450}, {0, 2, 3, 0, 97}, {1, 1, 0.5, -0.5, 0}}};
  for (const auto& [a, b, u, v, expected] : cases) {
    EXPECT_DOUBLE_EQ(igw_squared_univariate(double(u), double(a), double(v), double(b)),
                     double(expected));
    const auto value = this->igw(diagonal({a * a}, {u}), diagonal({b * b}, {v}));
    EXPECT_NEAR(value.squared, expected, 450 * this->tolerance(1)) << a << " " << b;
    EXPECT_TRUE(value.report.exact);
  }
  std::uniform_real_distribution<double> uniform(-2, 2);
  for (int trial = 0; trial < 20; ++trial) {
    const double a = std::fabs(uniform(this->rng)), b = std::fabs(uniform(this->rng));
    const double u = uniform(this->rng), v = uniform(this->rng);
    const auto value = this->igw(diagonal({a * a}, {u}), diagonal({b * b}, {v}));
    const double expected = igw_squared_univariate(u, a, v, b);
    EXPECT_NEAR(value.squared, expected, (1 + expected) * this->tolerance(1) * 10);
  }
}

/// §9 planar pair: S1 = R(−π/6) diag(10, 1) R(−π/6)ᵀ, S2 = R(π/4) diag(10, 1) R(π/4)ᵀ.
std::pair<Gaussian, Gaussian> planar(long double y1, long double y2) {
  const long double pi = 3.14159265358979323846264338327950288L;
  auto rotated = [](long double angle) {
    const long double c = std::cos(angle), s = std::sin(angle);
    const Dense r = {c, s, -s, c};
    return multiply(multiply(r, {10, 0, 0, 1}, 2, 2, 2), transpose(r, 2, 2), 2, 2, 2);
  };
  return {Gaussian{{10, y1}, rotated(-pi / 6)}, Gaussian{{-10, y2}, rotated(pi / 4)}};
}

TYPED_TEST(Igw, PlanarReferenceVectors) {
  // §9: lower / global estimate (200 restarts in the reference) / upper, as distances.
  const std::array<std::array<long double, 5>, 2> cases = {
      {{10, 10, 5.321024, 9.184321, 16.383333}, {-10, -10, 1.936127, 2.203950, 5.607060}}};
  IgwOptions options;
  options.restarts = 20;
  for (const auto& [y1, y2, lower, value, upper] : cases) {
    const auto [a, b] = planar(y1, y2);
    const auto v = this->igw(a, b, options);
    const long double tol = 1e-6L + 1e3L * eps<TypeParam>();
    EXPECT_NEAR(std::sqrt(v.lower), lower, lower * tol);
    EXPECT_NEAR(std::sqrt(v.upper), upper, upper * tol);
    EXPECT_NEAR(std::sqrt(v.squared), value, value * tol);
    EXPECT_FALSE(v.report.exact);
  }
}

TYPED_TEST(Igw, PlanarAscentFindsTheBruteForceOptimum) {
  // O(2) is two circles: X = rotation(θ) or reflection(θ). Γ over a fine grid, refined by golden
  // section, must not beat the ascent with restarts.
  const auto [a, b] = planar(10, 10);
  const auto v = this->igw(a, b, [] {
    IgwOptions o;
    o.restarts = 20;
    return o;
  }());
  long double best = 1e300;
  for (int reflect = 0; reflect < 2; ++reflect) {
    for (int step = 0; step < 20000; ++step) {
      const long double theta = 2 * 3.14159265358979323846L * step / 20000;
      const long double c = std::cos(theta), s = std::sin(theta);
      const Dense x = reflect ? Dense{c, s, s, -c} : Dense{c, s, -s, c};
      // K = S1^½ X S2^½ over all orthogonal X (both square roots symmetric).
      auto root = [](const Dense& m) {
        const long double t = m[0] + m[3], det = m[0] * m[3] - m[1] * m[2];
        const long double sd = std::sqrt(det), norm = std::sqrt(t + 2 * sd);
        return Dense{(m[0] + sd) / norm, m[1] / norm, m[2] / norm, (m[3] + sd) / norm};
      };
      const Dense k = multiply(multiply(root(a.cov), x, 2, 2, 2), root(b.cov), 2, 2, 2);
      best = std::min(best, coupling_cost(a.cov, a.mean, b.cov, b.mean, k));
    }
  }
  // The grid's resolution bounds how much lower `best` can be than the true minimum.
  EXPECT_LE(v.squared, best * (1 + 1e-6L) + 1e3L * eps<TypeParam>() * best);
  EXPECT_GE(v.squared, best * (1 - 1e-4L));
}

TYPED_TEST(Igw, BoundsBracketTheValueAndThePlanAchievesIt) {
  for (const auto& [d1, d2] :
       {std::pair{5, 3}, std::pair{3, 5}, std::pair{6, 6}, std::pair{1, 4}}) {
    const Gaussian a = this->random(d1, 1.5), b = this->random(d2, 1.5);
    IgwOptions converged;  // the default stops after 100 steps; here: to a stationary point
    converged.max_iterations = 20000;
    converged.tolerance = 1e-7;
    const auto v = this->igw(a, b, converged);
    const long double scale = v.upper + 1;
    EXPECT_LE(v.lower, v.squared + scale * this->tolerance(6));
    EXPECT_LE(v.squared, v.upper + scale * this->tolerance(6));
    EXPECT_FALSE(v.report.exact);
    EXPECT_LE(v.report.gradient_norm, 1e-7);
    // The plan's cost by the raw cross-moment form equals the reported value.
    const Dense k = this->plan(a, b, converged);
    EXPECT_NEAR(coupling_cost(a.cov, a.mean, b.cov, b.mean, k), v.squared,
                scale * this->tolerance(6) * 10)
        << d1 << " x " << d2;
    // With the default (truncated) ascent too, the plan achieves the reported value: both calls
    // run the same search, whatever the eigenvector signs.
    EXPECT_NEAR(coupling_cost(a.cov, a.mean, b.cov, b.mean, this->plan(a, b)),
                this->igw(a, b).squared, scale * this->tolerance(6) * 10);
    // And the coupling is feasible: [[S1, K], [Kᵀ, S2]] is positive semidefinite.
    const std::int64_t n = d1 + d2;
    std::vector<double> joint(n * n);
    for (std::int64_t c = 0; c < n; ++c) {
      for (std::int64_t r = 0; r < n; ++r) {
        long double x;
        if (r < d1 && c < d1)
          x = a.cov[r + c * d1];
        else if (r >= d1 && c >= d1)
          x = b.cov[(r - d1) + (c - d1) * d2];
        else if (r < d1)
          x = k[r + (c - d1) * d1];
        else
          x = k[c + (r - d1) * d1];
        joint[r + c * n] = double(x);
      }
    }
    std::vector<double> w(n);
    eigvalsh<double>(this->ctx, square_matrices<const double>(joint.data(), n, 1),
                     vectors(w.data(), n, 1));
    EXPECT_GE(w.back(), -1e3 * w.front() * eps<TypeParam>());
  }
}

TYPED_TEST(Igw, CenteredClosedFormAndSignChoices) {
  const Gaussian a = this->random(6, 0), b = this->random(4, 0);
  const auto v = this->igw(a, b);
  // Σ (α_i − β_i)² with zero padding, from a second route: ‖S1‖² + ‖S2‖² − 2 Σ α_i β_i.
  std::vector<double> wa(6), wb(4);
  std::vector<double> ca(a.cov.begin(), a.cov.end()), cb(b.cov.begin(), b.cov.end());
  eigvalsh<double>(this->ctx, square_matrices<const double>(ca.data(), 6, 1),
                   vectors(wa.data(), 6, 1));
  eigvalsh<double>(this->ctx, square_matrices<const double>(cb.data(), 4, 1),
                   vectors(wb.data(), 4, 1));
  long double cross = 0;
  for (int i = 0; i < 4; ++i) cross += (long double)wa[i] * wb[i];
  const long double expected =
      frobenius(a.cov) * frobenius(a.cov) + frobenius(b.cov) * frobenius(b.cov) - 2 * cross;
  EXPECT_NEAR(v.squared, expected, expected * this->tolerance(6));
  EXPECT_TRUE(v.report.exact);
  // Every sign choice is an optimal plan: same cost, different cross-covariance.
  IgwOptions flipped;
  flipped.signs = {1, -1, 1, -1};
  const Dense k_default = this->plan(a, b), k_flipped = this->plan(a, b, flipped);
  EXPECT_NEAR(coupling_cost(a.cov, a.mean, b.cov, b.mean, k_default), expected,
              expected * this->tolerance(6) * 10);
  EXPECT_NEAR(coupling_cost(a.cov, a.mean, b.cov, b.mean, k_flipped), expected,
              expected * this->tolerance(6) * 10);
  EXPECT_GT(frobenius_distance(k_default, k_flipped), 0.1);
}

TYPED_TEST(Igw, InvariantUnderRotationsOfEitherSpace) {
  const Gaussian a = this->random(5, 1.5), b = this->random(3, 1.5);
  auto rotate = [&](const Gaussian& g) {
    const Dense q = random_orthogonal(g.d(), this->rng);
    return Gaussian{apply(q, g.mean, g.d()),
                    multiply(multiply(q, g.cov, g.d(), g.d(), g.d()), transpose(q, g.d(), g.d()),
                             g.d(), g.d(), g.d())};
  };
  IgwOptions options;
  options.restarts = 4;
  const auto v = this->igw(a, b, options), w = this->igw(rotate(a), rotate(b), options);
  const long double scale = v.upper + 1;
  EXPECT_NEAR(v.lower, w.lower, scale * this->tolerance(5));
  EXPECT_NEAR(v.upper, w.upper, scale * this->tolerance(5));
  // The ascent's value is invariant only up to where it stops (relative gradient norm 1e-6, at
  // most 100 steps): rounding that differs between the two problems takes it along another path.
  // With clang (which fuses a·b + c into FMAs by default; GCC in ISO mode does not) the values
  // differed by 2.3e-11 relative (1.1e-9 on 46.7), above 10 * tolerance(5) = 2.2e-12.
  EXPECT_NEAR(v.squared, w.squared, scale * std::max<long double>(this->tolerance(5) * 10, 1e-10L));
}

TEST(IgwMonteCarlo, PairwiseDistortionOfTheReturnedCouplingMatchesTheValue) {
  // Draw (X, Y) from N((m1, m2), [[S1, K], [Kᵀ, S2]]) and average (⟨X, X'⟩ − ⟨Y, Y'⟩)² over
  // independent pairs: an estimate of the plan's cost with a known standard error.
  Context ctx = Context::cpu();
  std::mt19937_64 rng(77);
  std::normal_distribution<double> normal;
  const std::int64_t d1 = 3, d2 = 2;
  Gaussian a{{1.0, -0.5, 0.8}, with_spectrum(random_orthogonal(d1, rng), {2.0, 1.0, 0.5}, d1)};
  Gaussian b{{-0.7, 0.9}, with_spectrum(random_orthogonal(d2, rng), {1.5, 0.4}, d2)};
  HostGaussians<double> ha(d1, 1), hb(d2, 1);
  ha.set(0, a.mean, a.cov);
  hb.set(0, b.mean, b.cov);
  double value = 0;
  igw_squared<double>(ctx, ha.cview(), hb.cview(), {scalars(&value, 1), {}, {}});
  std::vector<double> k(d1 * d2);
  igw_plan<double>(ctx, ha.cview(), hb.cview(), matrices(k.data(), d1, d2, 1));
  // Joint covariance and its Cholesky factor.
  const std::int64_t n = d1 + d2;
  std::vector<double> joint(n * n), factor(n * n);
  for (std::int64_t c = 0; c < n; ++c) {
    for (std::int64_t r = 0; r < n; ++r) {
      double x;
      if (r < d1 && c < d1)
        x = double(a.cov[r + c * d1]);
      else if (r >= d1 && c >= d1)
        x = double(b.cov[(r - d1) + (c - d1) * d2]);
      else if (r < d1)
        x = k[r + (c - d1) * d1];
      else
        x = k[c + (r - d1) * d1];
      joint[r + c * n] = x + (r == c ? 1e-12 : 0);  // the optimal plan is singular
    }
  }
  ASSERT_LT(cholesky<double>(ctx, square_matrices<const double>(joint.data(), n, 1),
                             square_matrices(factor.data(), n, 1)),
            0);
  const int samples = 400000;
  auto draw = [&] {
    std::vector<double> z(n), x(n, 0);
    for (auto& e : z) e = normal(rng);
    for (std::int64_t c = 0; c < n; ++c) {
      for (std::int64_t r = c; r < n; ++r) x[r] += factor[r + c * n] * z[c];
    }
    for (std::int64_t r = 0; r < d1; ++r) x[r] += double(a.mean[r]);
    for (std::int64_t r = 0; r < d2; ++r) x[d1 + r] += double(b.mean[r]);
    return x;
  };
  double sum = 0, sum2 = 0;
  for (int s = 0; s < samples; ++s) {
    const std::vector<double> p = draw(), q = draw();
    double xx = 0, yy = 0;
    for (std::int64_t r = 0; r < d1; ++r) xx += p[r] * q[r];
    for (std::int64_t r = 0; r < d2; ++r) yy += p[d1 + r] * q[d1 + r];
    const double cost = (xx - yy) * (xx - yy);
    sum += cost;
    sum2 += cost * cost;
  }
  const double mean = sum / samples, variance = sum2 / samples - mean * mean;
  const double standard_error = std::sqrt(variance / samples);
  EXPECT_NEAR(mean, value, 5 * standard_error) << "standard error " << standard_error;
}

TYPED_TEST(Igw, MapPushesForwardAndInducesThePlan) {
  for (const bool centered : {true, false}) {
    const Gaussian a = this->random(5, centered ? 0 : 1.5), b = this->random(3, centered ? 0 : 1);
    const HostGaussians<TypeParam> ha = this->batch({a}), hb = this->batch({b});
    std::vector<TypeParam> matrix(3 * 5), bias(3);
    const auto reports =
        igw_map<TypeParam>(this->ctx, ha.cview(), hb.cview(), matrices(matrix.data(), 3, 5, 1),
                           vectors(bias.data(), 3, 1));
    EXPECT_EQ(reports.at(0).exact, centered);
    const Dense m(matrix.begin(), matrix.end());
    // A S1 Aᵀ = S2 and A m1 + bias = m2.
    const Dense pushed = multiply(multiply(m, a.cov, 3, 5, 5), transpose(m, 3, 5), 3, 5, 3);
    EXPECT_LT(frobenius_distance(pushed, b.cov), 3 * this->tolerance(5) * 100);
    const std::vector<long double> image = apply(m, a.mean, 3);
    for (int r = 0; r < 3; ++r) {
      EXPECT_NEAR(image[r] + bias[r], b.mean[r], 5 * this->tolerance(5) * 100);
    }
    // The coupling (X, A X + bias) has cross-covariance S1 Aᵀ: the plan of igw_plan.
    const Dense induced = multiply(a.cov, transpose(m, 3, 5), 5, 5, 3);
    EXPECT_LT(frobenius_distance(induced, this->plan(a, b)), 3 * this->tolerance(5) * 100);
  }
}

TYPED_TEST(Igw, AllPairsEqualPairsOneByOne) {
  for (const long double mean_scale : {0.0L, 1.0L}) {
    std::vector<Gaussian> as, bs;
    for (int i = 0; i < 3; ++i) as.push_back(this->random(4, mean_scale));
    for (int j = 0; j < 2; ++j) bs.push_back(this->random(6, mean_scale));
    const HostGaussians<TypeParam> ha = this->batch(as), hb = this->batch(bs);
    std::vector<TypeParam> squared(6), lower(6), upper(6);
    const GaussianBatch<const TypeParam> a_view =
        mean_scale == 0 ? GaussianBatch<const TypeParam>({}, ha.cview().covariances) : ha.cview();
    const GaussianBatch<const TypeParam> b_view =
        mean_scale == 0 ? GaussianBatch<const TypeParam>({}, hb.cview().covariances) : hb.cview();
    const auto reports = igw_squared_all_pairs<TypeParam>(
        this->ctx, a_view, b_view,
        {matrices(squared.data(), 3, 2, 1), matrices(lower.data(), 3, 2, 1),
         matrices(upper.data(), 3, 2, 1)});
    ASSERT_EQ(reports.size(), 6u);
    for (int j = 0; j < 2; ++j) {
      for (int i = 0; i < 3; ++i) {
        const auto v = this->igw(as[i], bs[j]);
        const long double scale = v.upper + 1;
        EXPECT_NEAR(squared[i + 3 * j], v.squared, scale * this->tolerance(6) * 10);
        EXPECT_NEAR(lower[i + 3 * j], v.lower, scale * this->tolerance(6));
        EXPECT_NEAR(upper[i + 3 * j], v.upper, scale * this->tolerance(6));
        EXPECT_EQ(reports[i + 3 * j].exact, mean_scale == 0);
      }
    }
  }
}

// One set against itself (the same views on both sides: decomposed once, the ascent run for
// i <= j only) gives a symmetric table whose pairs i <= j are those of the same set passed as two
// separate copies (pairs i > j there come from their own ascent, equal to the mirror's only to
// the ascent's tolerance).
TYPED_TEST(Igw, AllPairsOfOneSetEqualTwoCopiesAndAreSymmetric) {
  const std::int64_t k = 4, d = 5;
  for (const long double mean_scale : {0.0L, 1.0L}) {
    std::vector<Gaussian> set;
    for (int i = 0; i < k; ++i) set.push_back(this->random(d, mean_scale));
    const HostGaussians<TypeParam> one = this->batch(set), copy = this->batch(set);
    auto view = [&](const HostGaussians<TypeParam>& h) {
      return mean_scale == 0 ? GaussianBatch<const TypeParam>({}, h.cview().covariances)
                             : h.cview();
    };
    auto table = [&](GaussianBatch<const TypeParam> a, GaussianBatch<const TypeParam> b,
                     std::vector<IgwReport>& reports) {
      std::vector<TypeParam> squared(k * k), lower(k * k), upper(k * k);
      reports = igw_squared_all_pairs<TypeParam>(
          this->ctx, a, b,
          {matrices(squared.data(), k, k, 1), matrices(lower.data(), k, k, 1),
           matrices(upper.data(), k, k, 1)});
      squared.insert(squared.end(), lower.begin(), lower.end());
      squared.insert(squared.end(), upper.begin(), upper.end());
      return squared;  // squared, then lower, then upper
    };
    std::vector<IgwReport> same_reports, copy_reports;
    const std::vector<TypeParam> same = table(view(one), view(one), same_reports);
    const std::vector<TypeParam> copies = table(view(one), view(copy), copy_reports);
    for (std::int64_t t = 0; t < 3; ++t) {
      for (std::int64_t j = 0; j < k; ++j) {
        for (std::int64_t i = 0; i < k; ++i) {
          const std::int64_t p = t * k * k + i + j * k, mirror = t * k * k + j + i * k;
          EXPECT_EQ(same[p], same[mirror]) << "table " << t << ", pair " << i << ", " << j;
          const std::int64_t solved = i <= j ? p : mirror;
          const long double scale = copies[2 * k * k + solved % (k * k)] + 1;  // upper bound + 1
          EXPECT_NEAR(same[p], copies[solved], scale * this->tolerance(d) * 10)
              << "table " << t << ", pair " << i << ", " << j;
        }
      }
    }
    for (std::int64_t p = 0; p < k * k; ++p) {
      const std::int64_t mirror = (p % k) * k + p / k;
      EXPECT_EQ(same_reports[p].exact, copy_reports[p].exact);
      EXPECT_EQ(same_reports[p].iterations, same_reports[mirror].iterations);
    }
  }
}
TYPED_TEST(Igw, BarycenterMinimisesTheWeightedCost) {
  const std::vector<Gaussian> inputs = {this->random(3, 0), this->random(5, 0), this->random(4, 0)};
  std::vector<HostGaussians<TypeParam>> batches;
  std::vector<MatrixBatch<const TypeParam>> views;
  for (const Gaussian& g : inputs) batches.push_back(this->batch({g}));
  for (const auto& h : batches) views.push_back(h.cview().covariances);
  const std::vector<TypeParam> weights = {0.2, 0.5, 0.3};
  std::vector<TypeParam> eigenvalues(5), cov(25);
  const double value = igw_barycenter<TypeParam>(
      this->ctx, views, vectors<const TypeParam>(weights.data(), 3, 1),
      vectors(eigenvalues.data(), 5, 1), square_matrices(cov.data(), 5, 1));
  EXPECT_TRUE(std::is_sorted(eigenvalues.rbegin(), eigenvalues.rend()));
  // The value is Σ w_k IGW²(barycenter, input k), computed by igw_squared.
  auto objective = [&](const std::vector<long double>& spectrum) {
    long double total = 0;
    for (int k = 0; k < 3; ++k) {
      total += weights[k] *
               this->igw(diagonal(spectrum, std::vector<long double>(5, 0)), inputs[k]).squared;
    }
    return total;
  };
  const std::vector<long double> spectrum(eigenvalues.begin(), eigenvalues.end());
  for (int r = 0; r < 5; ++r) EXPECT_EQ(cov[r + 5 * r], eigenvalues[r]);
  EXPECT_NEAR(objective(spectrum), value, (1 + value) * this->tolerance(5) * 10);
  // Moving any eigenvalue (keeping the order) raises it.
  for (int r = 0; r < 5; ++r) {
    for (const long double delta : {-0.05L, 0.05L}) {
      std::vector<long double> moved = spectrum;
      moved[r] = std::max(0.0L, moved[r] + delta);
      std::sort(moved.rbegin(), moved.rend());
      EXPECT_GT(objective(moved), value);
    }
  }
}

TYPED_TEST(Igw, BadInputNamesTheArgument) {
  const Gaussian a = this->random(3, 1), b = this->random(2, 1);
  HostGaussians<TypeParam> ha = this->batch({a}), hb = this->batch({b});
  TypeParam out = 0;
  auto call = [&] {
    igw_squared<TypeParam>(this->ctx, ha.cview(), hb.cview(), {scalars(&out, 1), {}, {}});
  };
  hb.covariances[0] = -5;  // indefinite
  expect_invalid(call, "argument 'b.covariances'");
  hb = this->batch({b});
  ha.means[1] = std::numeric_limits<TypeParam>::quiet_NaN();
  expect_invalid(call, "argument 'a.means'");
  ha = this->batch({a});
  std::vector<TypeParam> matrix(6), bias(3);
  // A map from the smaller space to the larger one does not exist.
  expect_invalid(
      [&] {
        igw_map<TypeParam>(this->ctx, hb.cview(), ha.cview(), matrices(matrix.data(), 3, 2, 1),
                           vectors(bias.data(), 3, 1));
      },
      "argument 'b'");
  // The map needs S_a positive definite.
  const Gaussian singular = diagonal({1, 1, 0}, {0, 0, 0});
  const HostGaussians<TypeParam> hs = this->batch({singular});
  expect_invalid(
      [&] {
        igw_map<TypeParam>(this->ctx, hs.cview(), hb.cview(), matrices(matrix.data(), 2, 3, 1),
                           vectors(bias.data(), 2, 1));
      },
      "argument 'a.covariances'");
  IgwOptions bad_signs;
  bad_signs.signs = {1, 0};
  std::vector<TypeParam> k(6);
  expect_invalid(
      [&] {
        igw_plan<TypeParam>(this->ctx, ha.cview(), hb.cview(), matrices(k.data(), 3, 2, 1),
                            bad_signs);
      },
      "argument 'options.signs'");
  // One sign per eigenpair of the smaller side (d_b = 2 here), for the value as for the plan.
  IgwOptions three_signs;
  three_signs.signs = {1, 1, 1};
  std::vector<TypeParam> value(1);
  expect_invalid(
      [&] {
        igw_squared<TypeParam>(this->ctx, ha.cview(), hb.cview(),
                               IgwValues<TypeParam>{vectors(value.data(), 1, 1), {}, {}},
                               three_signs);
      },
      "must hold min(d_a, d_b) = 2 signs or none, got 3");
  std::vector<TypeParam> weights = {1, -1};
  std::vector<TypeParam> eigenvalues(3);
  expect_invalid(
      [&] {
        igw_barycenter<TypeParam>(this->ctx, {ha.cview().covariances, hb.cview().covariances},
                                  vectors<const TypeParam>(weights.data(), 2, 1),
                                  vectors(eigenvalues.data(), 3, 1), {});
      },
      "argument 'weights'");
}

TEST(IgwCudaVsCpu, ValuesBoundsPlansAndAllPairsAgree) {
  GAUSSOT_REQUIRE_CUDA();
  Context cpu = Context::cpu(), gpu = Context::cuda(0);
  std::mt19937_64 rng(31);
  std::normal_distribution<double> normal;
  const std::int64_t da = 7, db = 4, k = 3;
  HostGaussians<double> a(da, k), b(db, k);
  for (std::int64_t i = 0; i < k; ++i) {
    std::vector<long double> ma(da), mb(db);
    for (auto& m : ma) m = normal(rng);
    for (auto& m : mb) m = normal(rng);
    a.set(i, ma, with_spectrum(random_orthogonal(da, rng), geometric_spectrum(da, 3, 50), da));
    b.set(i, mb, with_spectrum(random_orthogonal(db, rng), geometric_spectrum(db, 2, 20), db));
  }
  // Device copies of both batches.
  auto to_device = [&](const HostGaussians<double>& h, Array<double>& means, Array<double>& covs) {
    copy<double>(gpu, vectors<const double>(h.means.data(), h.d * h.k, 1),
                 means.vectors(h.d * h.k, 1));
    copy<double>(gpu, vectors<const double>(h.covariances.data(), h.d * h.d * h.k, 1),
                 covs.vectors(h.d * h.d * h.k, 1));
    return GaussianBatch<const double>(means.vectors(h.d, h.k), covs.matrices(h.d, h.d, h.k));
  };
  Array<double> am(gpu, da * k), ac(gpu, da * da * k), bm(gpu, db * k), bc(gpu, db * db * k);
  const GaussianBatch<const double> ga = to_device(a, am, ac), gb = to_device(b, bm, bc);
  // Paired values and bounds.
  std::vector<double> host_out(3 * k), device_out(3 * k);
  Array<double> out(gpu, 3 * k);
  auto views = [k](double* p, MemorySpace space) {
    return IgwValues<double>{scalars(p, k, space), scalars(p + k, k, space),
                             scalars(p + 2 * k, k, space)};
  };
  igw_squared<double>(cpu, a.cview(), b.cview(), views(host_out.data(), MemorySpace::host));
  igw_squared<double>(gpu, ga, gb, views(out.data(), MemorySpace::device));
  copy<double>(gpu, out.vectors(3 * k, 1), vectors(device_out.data(), 3 * k, 1));
  for (std::int64_t i = 0; i < 3 * k; ++i) {
    EXPECT_NEAR(device_out[i], host_out[i], 1e-9 * (1 + std::fabs(host_out[i])));
  }
  // Plans.
  std::vector<double> host_plan(da * db * k), device_plan(da * db * k);
  Array<double> plan(gpu, da * db * k);
  igw_plan<double>(cpu, a.cview(), b.cview(), matrices(host_plan.data(), da, db, k));
  igw_plan<double>(gpu, ga, gb, plan.matrices(da, db, k));
  copy<double>(gpu, plan.vectors(da * db * k, 1), vectors(device_plan.data(), da * db * k, 1));
  for (std::int64_t i = 0; i < da * db * k; ++i) {
    EXPECT_NEAR(device_plan[i], host_plan[i], 1e-7);
  }
  // All pairs.
  std::vector<double> host_all(k * k), device_all(k * k);
  Array<double> all(gpu, k * k);
  igw_squared_all_pairs<double>(cpu, a.cview(), b.cview(),
                                {matrices(host_all.data(), k, k, 1), {}, {}});
  igw_squared_all_pairs<double>(gpu, ga, gb, {all.matrices(k, k, 1), {}, {}});
  copy<double>(gpu, all.vectors(k * k, 1), vectors(device_all.data(), k * k, 1));
  for (std::int64_t i = 0; i < k * k; ++i) {
    EXPECT_NEAR(device_all[i], host_all[i], 1e-9 * (1 + std::fabs(host_all[i])));
  }
}

/// The centered IGW² Σ (α_i − β_i)² of the zero-padded decreasing spectra, in long double.
long double centered_igw_reference(const Dense& a, std::int64_t d_a, const Dense& b,
                                   std::int64_t d_b) {
  std::vector<long double> alpha = symmetric_eigenvalues(a, d_a),
                           beta = symmetric_eigenvalues(b, d_b);
  std::sort(alpha.rbegin(), alpha.rend());
  std::sort(beta.rbegin(), beta.rend());
  long double value = 0;
  for (std::int64_t i = 0; i < std::max(d_a, d_b); ++i) {
    const long double x = i < d_a ? alpha[i] : 0, y = i < d_b ? beta[i] : 0;
    value += (x - y) * (x - y);
  }
  return value;
}

TEST(IgwGradient, CenteredGradientMatchesCentralDifferencesInLongDouble) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(99);
  // Different dimensions both ways, and a rank-deficient covariance (a simple zero eigenvalue).
  for (const auto& [d_a, d_b, rank_a] :
       std::vector<std::array<std::int64_t, 3>>{{4, 3, 4}, {2, 5, 2}, {3, 3, 2}}) {
    std::vector<long double> spectrum_a = geometric_spectrum(d_a, 3, 20);
    if (rank_a < d_a) spectrum_a.back() = 0;
    const Dense a = with_spectrum(random_orthogonal(d_a, rng), spectrum_a, d_a);
    const Dense b = with_spectrum(random_orthogonal(d_b, rng), geometric_spectrum(d_b, 2, 7), d_b);
    const std::vector<double> as(a.begin(), a.end()), bs(b.begin(), b.end());
    std::vector<double> grad_a(d_a * d_a), grad_b(d_b * d_b);
    igw_squared_gradient<double>(
        ctx, {VectorBatch<const double>(), square_matrices<const double>(as.data(), d_a, 1)},
        {VectorBatch<const double>(), square_matrices<const double>(bs.data(), d_b, 1)},
        square_matrices(grad_a.data(), d_a, 1), square_matrices(grad_b.data(), d_b, 1));
    const long double h = 1e-7L;
    for (const bool side_a : {true, false}) {
      const std::int64_t d = side_a ? d_a : d_b;
      const Dense& base = side_a ? a : b;
      const std::vector<double>& grad = side_a ? grad_a : grad_b;
      for (std::int64_t r = 0; r < d; ++r) {
        for (std::int64_t c = 0; c <= r; ++c) {  // symmetric perturbation E_rc + E_cr
          Dense plus = base, minus = base;
          plus[r + c * d] += h;
          minus[r + c * d] -= h;
          if (r != c) {
            plus[c + r * d] += h;
            minus[c + r * d] -= h;
          }
          const long double numeric = (side_a ? centered_igw_reference(plus, d_a, b, d_b) -
                                                    centered_igw_reference(minus, d_a, b, d_b)
                                              : centered_igw_reference(a, d_a, plus, d_b) -
                                                    centered_igw_reference(a, d_a, minus, d_b)) /
                                      (2 * h);
          const long double analytic = r == c ? grad[r + r * d] : grad[r + c * d] + grad[c + r * d];
          EXPECT_NEAR(double(analytic), double(numeric), 1e-7 * (1 + std::abs(double(numeric))))
              << d_a << " " << d_b << (side_a ? " a " : " b ") << r << "," << c;
          EXPECT_NEAR(grad[r + c * d], grad[c + r * d], 1e-13);
        }
      }
    }
  }
  const std::vector<double> eye = {1, 0, 0, 1}, mean = {1, 2};
  std::vector<double> ga(4), gb(4);
  expect_invalid(
      [&] {
        igw_squared_gradient<double>(
            ctx,
            {vectors<const double>(mean.data(), 2, 1),
             square_matrices<const double>(eye.data(), 2, 1)},
            {VectorBatch<const double>(), square_matrices<const double>(eye.data(), 2, 1)},
            square_matrices(ga.data(), 2, 1), square_matrices(gb.data(), 2, 1));
      },
      "'a.means'");
}

/// The centered IGW² of the covariances (divisor n − 1) of column sample sets, in long double.
long double samples_igw_reference(const Dense& x, std::int64_t d_a, std::int64_t n_a,
                                  const Dense& y, std::int64_t d_b, std::int64_t n_b) {
  const auto covariance = [](const Dense& s, std::int64_t d, std::int64_t n) {
    Dense centred = s;
    for (std::int64_t r = 0; r < d; ++r) {
      long double mean = 0;
      for (std::int64_t j = 0; j < n; ++j) mean += s[r + j * d] / n;
      for (std::int64_t j = 0; j < n; ++j) centred[r + j * d] -= mean;
    }
    Dense cov = multiply(centred, transpose(centred, d, n), d, n, d);
    for (auto& e : cov) e /= (n - 1);
    return cov;
  };
  return centered_igw_reference(covariance(x, d_a, n_a), d_a, covariance(y, d_b, n_b), d_b);
}

TEST(IgwGradient, SampleSetGradientMatchesCentralDifferencesInLongDouble) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(101);
  std::normal_distribution<double> normal;
  // Widths and sample counts that differ; n_a < d_a (a rank-deficient fitted covariance) last.
  for (const auto& dims :
       std::vector<std::array<std::int64_t, 4>>{{4, 12, 3, 9}, {2, 7, 5, 11}, {5, 4, 3, 8}}) {
    const std::int64_t d_a = dims[0], n_a = dims[1], d_b = dims[2], n_b = dims[3];
    Dense x(d_a * n_a), y(d_b * n_b);
    for (auto& v : x) v = 1 + normal(rng);
    for (std::size_t e = 0; e < y.size(); ++e) y[e] = (1 + e % 3) * normal(rng) - 2;
    const std::vector<double> xs(x.begin(), x.end()), ys(y.begin(), y.end());
    std::vector<double> grad_a(d_a * n_a), grad_b(d_b * n_b);
    igw_squared_samples_gradient<double>(ctx, matrices<const double>(xs.data(), d_a, n_a, 1),
                                         matrices<const double>(ys.data(), d_b, n_b, 1),
                                         matrices(grad_a.data(), d_a, n_a, 1),
                                         matrices(grad_b.data(), d_b, n_b, 1));
    const long double error = relative_gradient_error(
        x, y, grad_a, grad_b,
        [&](const Dense& p, const Dense& q) {
          return samples_igw_reference(p, d_a, n_a, q, d_b, n_b);
        },
        1e-6L);
    EXPECT_LT(error, 1e-7L) << d_a << " " << n_a << " " << d_b << " " << n_b;
  }
  std::vector<double> one(3 * 1, 1.0), grad(3);
  expect_invalid(
      [&] {
        igw_squared_samples_gradient<double>(ctx, matrices<const double>(one.data(), 3, 1, 1),
                                             matrices<const double>(one.data(), 3, 1, 1),
                                             matrices(grad.data(), 3, 1, 1),
                                             matrices(grad.data(), 3, 1, 1));
      },
      "needs at least 2 samples");
}

TEST(IgwGradient, UncenteredEnvelopeGradientMatchesCentralDifferencesOfTheValue) {
  // Uncentered pairs of both dimension orders: the gradient against central differences of
  // igw_squared itself (the ascent run to convergence from each perturbed input).
  Context ctx = Context::cpu();
  std::mt19937_64 rng(103);
  std::normal_distribution<double> normal;
  IgwOptions options;
  options.max_iterations = 20000;
  options.tolerance = 1e-13;
  for (const auto& dims : std::vector<std::array<std::int64_t, 2>>{{3, 2}, {2, 3}, {3, 3}}) {
    const std::int64_t d_a = dims[0], d_b = dims[1];
    HostGaussians<double> a(d_a, 1), b(d_b, 1), grad_a(d_a, 1), grad_b(d_b, 1);
    std::vector<long double> ma(d_a), mb(d_b);
    for (auto& v : ma) v = normal(rng);
    for (auto& v : mb) v = 0.7 * normal(rng);
    a.set(0, ma, with_spectrum(random_orthogonal(d_a, rng), geometric_spectrum(d_a, 1, 4), d_a));
    b.set(0, mb, with_spectrum(random_orthogonal(d_b, rng), geometric_spectrum(d_b, 0.5, 3), d_b));
    igw_squared_gradient<double>(ctx, a.cview(), b.cview(), grad_a.view(), grad_b.view(), options);
    const auto value = [&](const HostGaussians<double>& x, const HostGaussians<double>& y) {
      double v = 0;
      igw_squared<double>(ctx, x.cview(), y.cview(), {scalars(&v, 1), {}, {}}, options);
      return v;
    };
    const double h = 1e-5;
    double worst = 0, largest = 0;
    for (const bool side_a : {true, false}) {
      const HostGaussians<double>& base = side_a ? a : b;
      const HostGaussians<double>& grad = side_a ? grad_a : grad_b;
      const std::int64_t d = base.d;
      for (std::int64_t r = 0; r < d; ++r) {
        for (std::int64_t c = 0; c <= r; ++c) {  // symmetric perturbations E_rc + E_cr
          HostGaussians<double> plus = base, minus = base;
          plus.covariances[r + c * d] += h, minus.covariances[r + c * d] -= h;
          if (r != c) plus.covariances[c + r * d] += h, minus.covariances[c + r * d] -= h;
          const double numeric =
              (side_a ? value(plus, b) - value(minus, b) : value(a, plus) - value(a, minus)) /
              (2 * h);
          const double analytic = r == c
                                      ? grad.covariances[r + r * d]
                                      : grad.covariances[r + c * d] + grad.covariances[c + r * d];
          worst = std::max(worst, std::abs(analytic - numeric));
          largest = std::max(largest, std::abs(numeric));
        }
        HostGaussians<double> plus = base, minus = base;
        plus.means[r] += h, minus.means[r] -= h;
        const double numeric =
            (side_a ? value(plus, b) - value(minus, b) : value(a, plus) - value(a, minus)) /
            (2 * h);
        worst = std::max(worst, std::abs(grad.means[r] - numeric));
        largest = std::max(largest, std::abs(numeric));
      }
    }
    EXPECT_LT(worst / largest, 1e-6) << d_a << " " << d_b;
  }
}

TEST(IgwGradient, OneCenteredPairMatchesItsClosedFormAndSingularIsRefused) {
  // m2 = 0: IGW² = Σ (α_i − β_i)² + 2 m1ᵀS1m1 + ‖m1‖⁴ (§3.3), so ∂/∂S1 = 2 Q1 diag(α − β̃) Q1ᵀ +
  // 2 m1m1ᵀ and ∂/∂m1 = 4 S1 m1 + 4‖m1‖² m1; the covariances' parts against the centered gradient.
  Context ctx = Context::cpu();
  std::mt19937_64 rng(107);
  const std::int64_t d_a = 3, d_b = 2;
  HostGaussians<double> a(d_a, 1), b(d_b, 1), grad_a(d_a, 1), grad_b(d_b, 1), centered_a(d_a, 1),
      centered_b(d_b, 1);
  const std::vector<long double> m1 = {0.5, -1, 2};
  a.set(0, m1, with_spectrum(random_orthogonal(d_a, rng), {4, 2, 1}, d_a));
  b.set(0, {0, 0}, with_spectrum(random_orthogonal(d_b, rng), {3, 0.5}, d_b));
  igw_squared_gradient<double>(ctx, a.cview(), b.cview(), grad_a.view(), grad_b.view());
  GaussianBatch<const double> ca = a.cview(), cb = b.cview();
  ca.means = cb.means = VectorBatch<const double>();
  igw_squared_gradient<double>(ctx, ca, cb, centered_a.view().covariances,
                               centered_b.view().covariances);
  const Dense s1 = a.cov(0);
  long double norm = 0;
  for (long double v : m1) norm += v * v;
  for (std::int64_t r = 0; r < d_a; ++r) {
    long double s1m1 = 0;
    for (std::int64_t c = 0; c < d_a; ++c) {
      s1m1 += s1[r + c * d_a] * m1[c];
      EXPECT_NEAR(grad_a.covariances[r + c * d_a],
                  double(centered_a.covariances[r + c * d_a] + 2 * m1[r] * m1[c]), 1e-11);
    }
    EXPECT_NEAR(grad_a.means[r], double(4 * s1m1 + 4 * norm * m1[r]), 1e-11);
  }
  for (std::int64_t e = 0; e < d_b * d_b; ++e) {
    EXPECT_NEAR(grad_b.covariances[e], centered_b.covariances[e], 1e-11) << e;
  }
  // Uncentered with a singular covariance: refused naming it.
  b.set(0, {1, 1}, with_spectrum(random_orthogonal(d_b, rng), {3, 0}, d_b));
  expect_invalid(
      [&] {
        igw_squared_gradient<double>(ctx, a.cview(), b.cview(), grad_a.view(), grad_b.view());
      },
      "'b.covariances'");
}

}  // namespace
}  // namespace gaussot::test
