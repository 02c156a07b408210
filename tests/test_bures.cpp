// SPDX-License-Identifier: Apache-2.0
// Bures–Wasserstein geometry on the CPU: the reference vectors of formulas-bures-igw-mmot.md §9,
// 1-D and commuting cases by hand, metric properties on random triples, the map's push-forward,
// the geodesic's constant speed, the gradient against finite differences, the barycenter's
// fixed-point equation and closed forms, the two FID methods against each other, bad input.
#include <array>
#include <cmath>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
class Bures : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{1789};

  /// k random Gaussians: means N(0, 4 I), covariances Q diag(w) Qᵀ with w geometric in [0.1, 3].
  HostGaussians<T> random(std::int64_t d, std::int64_t k, long double condition = 30) {
    HostGaussians<T> g(d, k);
    std::normal_distribution<double> normal;
    for (std::int64_t i = 0; i < k; ++i) {
      std::vector<long double> mean(d);
      for (auto& m : mean) m = 2 * normal(rng);
      g.set(i, mean,
            with_spectrum(random_orthogonal(d, rng), geometric_spectrum(d, 3, condition), d));
    }
    return g;
  }
  std::vector<T> w2(const HostGaussians<T>& a, const HostGaussians<T>& b) {
    std::vector<T> out(a.k);
    w2_squared<T>(ctx, a.cview(), b.cview(), scalars(out.data(), a.k));
    return out;
  }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Bures, Precisions);

/// The planar pair of §9: S1 = R(−π/6) diag(10, 1) R(−π/6)ᵀ, S2 = [[5.5, 4.5], [4.5, 5.5]].
Dense planar_s1() {
  const long double c = std::cos(-M_PIl / 6), s = std::sin(-M_PIl / 6);
  const Dense rotation = {c, s, -s, c};  // column-major R(θ)
  return with_spectrum(rotation, {10, 1}, 2);
}
const Dense kPlanarS2 = {5.5L, 4.5L, 4.5L, 5.5L};

TEST(BuresZeroDimension, DistancesOnR0AreZeroNotLeftUnwritten) {
  // Gaussians on R^0 (d = 0): W2² = 0. The output starts as NaN (HostVectors): the square-root
  // trace of the empty product used to be left unwritten and summed as garbage.
  Context ctx = Context::cpu(1);
  HostGaussians<double> a(0, 3), b(0, 3);
  HostVectors<double> out(1, 3);
  w2_squared<double>(ctx, a.cview(), b.cview(), out.view);
  for (std::int64_t i = 0; i < 3; ++i) EXPECT_EQ(out.view.at(i, 0), 0.0) << "pair " << i;
}

TYPED_TEST(Bures, PlanarReferenceVector) {
  using T = TypeParam;
  HostGaussians<T> a(2, 1), b(2, 1);
  a.set(0, {10, 10}, planar_s1());
  b.set(0, {-10, 10}, kPlanarS2);
  const long double tolerance = std::is_same_v<T, double> ? 1e-6L : 1e-3L;  // 7 digits given
  EXPECT_NEAR(this->w2(a, b)[0], 408.520242L, tolerance * 408);
  std::vector<T> matrix(4), bias(2);
  brenier_map<T>(this->ctx, a.cview(), b.cview(), square_matrices(matrix.data(), 2, 1),
                 vectors(bias.data(), 2, 1));
  const long double expected[4] = {1.298243L, 1.245885L, 1.245885L, 1.965911L};
  for (int e = 0; e < 4; ++e) EXPECT_NEAR(matrix[e], expected[e], 2e-6L + 10 * eps<T>());
  // T(m1) = m2: bias = m2 − A m1.
  EXPECT_NEAR(bias[0], -10 - (expected[0] * 10 + expected[2] * 10), 1e-4L);
  EXPECT_NEAR(bias[1], 10 - (expected[1] * 10 + expected[3] * 10), 1e-4L);
}

TYPED_TEST(Bures, OneDimensionalAndCommutingCasesByHand) {
  using T = TypeParam;
  // 1-D: W2² = (u − v)² + (σ_a − σ_b)².
  HostGaussians<T> a(1, 3), b(1, 3);
  const long double cases[3][4] = {{0, 1, 0, 1}, {-1, 2, 4, 3}, {2.5, 0, -1, 0.5}};  // u, σa, v, σb
  for (int i = 0; i < 3; ++i) {
    a.set(i, {cases[i][0]}, {cases[i][1] * cases[i][1]});
    b.set(i, {cases[i][2]}, {cases[i][3] * cases[i][3]});
  }
  const std::vector<T> one_d = this->w2(a, b);
  for (int i = 0; i < 3; ++i) {
    const long double du = cases[i][0] - cases[i][2], ds = cases[i][1] - cases[i][3];
    EXPECT_NEAR(one_d[i], du * du + ds * ds, 20 * eps<T>() * (du * du + ds * ds + 10)) << i;
  }
  // Commuting covariances (same eigenvectors, zeros included): W2² = ‖Δm‖² + Σ (√w1 − √w2)².
  const std::int64_t d = 6;
  const Dense q = random_orthogonal(d, this->rng);
  const std::vector<long double> w1 = {4, 2, 1, 0.5, 0, 0}, w2 = {1, 0, 9, 0.25, 2, 0};
  HostGaussians<T> c(d, 1), e(d, 1);
  c.set(0, {1, 0, 0, 0, 0, 0}, with_spectrum(q, w1, d));
  e.set(0, {0, 0, 0, 0, 0, 2}, with_spectrum(q, w2, d));
  long double expected = 1 + 4;
  for (int j = 0; j < d; ++j) expected += std::pow(std::sqrt(w1[j]) - std::sqrt(w2[j]), 2);
  // Zero eigenvalues: below the eigensolver's rounding level they are read as 0, so the square
  // root does not amplify rounding to sqrt(ε).
  EXPECT_NEAR(this->w2(c, e)[0], expected, 100 * d * eps<T>() * expected);
}

TYPED_TEST(Bures, MetricPropertiesOnRandomTriples) {
  using T = TypeParam;
  const std::int64_t d = 5, k = 40;
  const HostGaussians<T> a = this->random(d, k), b = this->random(d, k), c = this->random(d, k);
  const std::vector<T> ab = this->w2(a, b), ba = this->w2(b, a), bc = this->w2(b, c),
                       ac = this->w2(a, c), aa = this->w2(a, a);
  const long double slack = std::is_same_v<T, double> ? 1e-9L : 1e-3L;
  for (std::int64_t i = 0; i < k; ++i) {
    EXPECT_NEAR(ab[i], ba[i], slack * (ab[i] + 1)) << "symmetry, item " << i;
    EXPECT_LE(std::sqrt((long double)ac[i]),
              std::sqrt((long double)ab[i]) + std::sqrt((long double)bc[i]) + slack)
        << "triangle inequality, item " << i;
    EXPECT_GE(ab[i], T(0));
    EXPECT_LE(aa[i], 200 * eps<T>() * 30) << "W2(a, a) = 0, item " << i;
  }
}

TYPED_TEST(Bures, OneVersusManyAndAllPairsAgreeWithPairs) {
  using T = TypeParam;
  const std::int64_t d = 4, ka = 3, kb = 5;
  const HostGaussians<T> a = this->random(d, ka), b = this->random(d, kb);
  std::vector<T> matrix(ka * kb);
  w2_squared_all_pairs<T>(this->ctx, a.cview(), b.cview(), matrices(matrix.data(), ka, kb, 1));
  for (std::int64_t i = 0; i < ka; ++i) {
    std::vector<T> row(kb);
    w2_squared<T>(this->ctx, broadcast(a.cview().slice(i, i + 1), kb), b.cview(),
                  scalars(row.data(), kb));
    for (std::int64_t j = 0; j < kb; ++j) {
      HostGaussians<T> ai(d, 1), bj(d, 1);
      ai.set(0, std::vector<long double>(a.means.begin() + i * d, a.means.begin() + (i + 1) * d),
             a.cov(i));
      bj.set(0, std::vector<long double>(b.means.begin() + j * d, b.means.begin() + (j + 1) * d),
             b.cov(j));
      const T single = this->w2(ai, bj)[0];
      EXPECT_NEAR(matrix[i + j * ka], single, 50 * eps<T>() * (single + 1));
      EXPECT_NEAR(row[j], single, 50 * eps<T>() * (single + 1));
    }
  }
}

TYPED_TEST(Bures, MapPushesForwardAndGeodesicHasConstantSpeed) {
  using T = TypeParam;
  const std::int64_t d = 6, k = 5;
  const HostGaussians<T> a = this->random(d, k), b = this->random(d, k);
  std::vector<T> matrix(d * d * k), bias(d * k);
  brenier_map<T>(this->ctx, a.cview(), b.cview(), square_matrices(matrix.data(), d, k),
                 vectors(bias.data(), d, k));
  const std::vector<T> full = this->w2(a, b);
  for (std::int64_t i = 0; i < k; ++i) {
    const Dense m(matrix.begin() + i * d * d, matrix.begin() + (i + 1) * d * d);
    const Dense pushed = multiply(multiply(m, a.cov(i), d, d, d), m, d, d, d);
    EXPECT_LE(frobenius_distance(pushed, b.cov(i)) / frobenius(b.cov(i)), 500 * eps<T>()) << i;
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r < d; ++r) EXPECT_EQ(m[r + c * d], m[c + r * d]);
    // T(m_a) = m_b
    for (std::int64_t r = 0; r < d; ++r) {
      long double image = bias[i * d + r];
      for (std::int64_t c = 0; c < d; ++c) image += m[r + c * d] * a.means[i * d + c];
      EXPECT_NEAR(image, b.means[i * d + r], 200 * eps<T>() * 10);
    }
  }
  // The McCann interpolant: endpoints, and W2(a, γ_t) = t W2(a, b) (a constant-speed geodesic).
  for (const double t : {0.0, 0.3, 0.75, 1.0}) {
    HostGaussians<T> g(d, k);
    mccann_interpolant<T>(this->ctx, a.cview(), b.cview(), t, g.view());
    const std::vector<T> partial = this->w2(a, g);
    for (std::int64_t i = 0; i < k; ++i) {
      EXPECT_NEAR(std::sqrt((long double)partial[i]), t * std::sqrt((long double)full[i]),
                  (std::is_same_v<T, double> ? 1e-6L : 2e-2L))
          << "t " << t;
      for (std::int64_t r = 0; r < d; ++r) {
        EXPECT_NEAR(g.means[i * d + r], (1 - t) * a.means[i * d + r] + t * b.means[i * d + r],
                    20 * eps<T>() * 10);
      }
    }
    if (t == 0.0 || t == 1.0) {
      const HostGaussians<T>& end = t == 0.0 ? a : b;
      for (std::int64_t i = 0; i < k; ++i) {
        EXPECT_LE(frobenius_distance(g.cov(i), end.cov(i)) / frobenius(end.cov(i)), 500 * eps<T>());
      }
    }
  }
}

TYPED_TEST(Bures, GradientMatchesFiniteDifferences) {
  using T = TypeParam;
  if (!std::is_same_v<T, double>) GTEST_SKIP() << "finite differences need double precision";
  const std::int64_t d = 4;
  HostGaussians<T> a = this->random(d, 1), b = this->random(d, 1);
  HostGaussians<T> grad_a(d, 1), grad_b(d, 1);
  w2_squared_gradient<T>(this->ctx, a.cview(), b.cview(), grad_a.view(), grad_b.view());
  const long double h = 1e-6L;
  auto value = [&](const HostGaussians<T>& x, const HostGaussians<T>& y) {
    return (long double)this->w2(x, y)[0];
  };
  // Directional derivative along a random symmetric covariance perturbation and a mean shift.
  std::normal_distribution<double> normal;
  for (HostGaussians<T>* side : {&a, &b}) {
    const HostGaussians<T>& grad = side == &a ? grad_a : grad_b;
    Dense direction(d * d);
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r <= c; ++r)
        direction[r + c * d] = direction[c + r * d] = normal(this->rng);
    std::vector<long double> shift(d);
    for (auto& x : shift) x = normal(this->rng);
    HostGaussians<T> plus = *side, minus = *side;
    for (std::int64_t e = 0; e < d * d; ++e) {
      plus.covariances[e] += T(h * direction[e]);
      minus.covariances[e] -= T(h * direction[e]);
    }
    for (std::int64_t r = 0; r < d; ++r) {
      plus.means[r] += T(h * shift[r]);
      minus.means[r] -= T(h * shift[r]);
    }
    const long double numeric = side == &a ? (value(plus, b) - value(minus, b)) / (2 * h)
                                           : (value(a, plus) - value(a, minus)) / (2 * h);
    long double analytic = 0;
    for (std::int64_t e = 0; e < d * d; ++e) analytic += grad.covariances[e] * direction[e];
    for (std::int64_t r = 0; r < d; ++r) analytic += grad.means[r] * shift[r];
    EXPECT_NEAR(analytic, numeric, 1e-5L * (1 + std::abs(numeric))) << (side == &a ? "a" : "b");
  }
}

TYPED_TEST(Bures, OneSideGradientWithTheOtherCovarianceSingular) {
  using T = TypeParam;
  if (!std::is_same_v<T, double>) GTEST_SKIP() << "finite differences need double precision";
  // S_a positive definite, S_b = U Uᵀ of rank 2: W2² is differentiable in (m_a, S_a) (S_a^½ S_b
  // S_a^½ keeps rank 2 under every perturbation of S_a), not in S_b. The reference value in long
  // double avoids the square root of a singular matrix: the nonzero eigenvalues of S_a^½ S_b S_a^½
  // are those of the 2 x 2 matrix Uᵀ S_a U.
  const std::int64_t d = 4, r = 2;
  HostGaussians<T> a = this->random(d, 1), b(d, 1), grad_a(d, 1), grad_b(d, 1);
  std::normal_distribution<double> normal;
  Dense u(d * r);
  for (auto& e : u) e = normal(this->rng);
  const std::vector<long double> mean_b = {1, -2, 0.5L, 3};
  b.set(0, mean_b, multiply(u, transpose(u, d, r), d, r, d));
  w2_squared_gradient<T>(this->ctx, a.cview(), b.cview(), grad_a.view(), GaussianBatch<T>{});
  auto w2 = [&](const HostGaussians<T>& x) {
    const Dense s = x.cov(0),
                middle = multiply(multiply(transpose(u, d, r), s, r, d, d), u, r, d, r);
    long double value = 0;
    for (std::int64_t i = 0; i < d; ++i) {
      value += s[i + i * d] + b.covariances[i + i * d];
      value += (x.means[i] - mean_b[i]) * (x.means[i] - mean_b[i]);
    }
    for (const long double w : symmetric_eigenvalues(middle, r)) value -= 2 * std::sqrt(w);
    return value;
  };
  const long double h = 1e-6L;
  for (int trial = 0; trial < 3; ++trial) {
    Dense direction(d * d);
    for (std::int64_t c = 0; c < d; ++c)
      for (std::int64_t r = 0; r <= c; ++r)
        direction[r + c * d] = direction[c + r * d] = normal(this->rng);
    HostGaussians<T> plus = a, minus = a;
    for (std::int64_t e = 0; e < d * d; ++e) {
      plus.covariances[e] += T(h * direction[e]);
      minus.covariances[e] -= T(h * direction[e]);
    }
    plus.means[trial] += T(h);
    minus.means[trial] -= T(h);
    // The perturbed inputs hold rounded values (T), so the step is read back from them.
    const long double numeric = (w2(plus) - w2(minus)) / (2 * h);
    long double analytic = grad_a.means[trial] * (plus.means[trial] - minus.means[trial]) / (2 * h);
    for (std::int64_t e = 0; e < d * d; ++e) {
      analytic += grad_a.covariances[e] * (plus.covariances[e] - minus.covariances[e]) / (2 * h);
    }
    EXPECT_NEAR(analytic, numeric, 1e-7L * (1 + std::abs(numeric))) << trial;
  }
  // Side b alone (and both sides) need S_b positive definite: refused naming it.
  expect_invalid(
      [&] {
        w2_squared_gradient<T>(this->ctx, a.cview(), b.cview(), GaussianBatch<T>{}, grad_b.view());
      },
      "b.covariances");
  expect_invalid(
      [&] {
        w2_squared_gradient<T>(this->ctx, a.cview(), b.cview(), grad_a.view(), grad_b.view());
      },
      "b.covariances");
  expect_invalid(
      [&] {
        w2_squared_gradient<T>(this->ctx, a.cview(), b.cview(), GaussianBatch<T>{},
                               GaussianBatch<T>{});
      },
      "both empty");
}

TYPED_TEST(Bures, BarycenterClosedFormsAndFixedPoint) {
  using T = TypeParam;
  const long double tolerance = std::is_same_v<T, double> ? 1e-10L : 1e-4L;
  // Commuting covariances: B = (Σ ρ_i S_i^½)²; mean Σ ρ_i m_i (unnormalised weights given).
  const std::int64_t d = 5, k = 4;
  const Dense q = random_orthogonal(d, this->rng);
  HostGaussians<T> inputs(d, k);
  std::vector<std::vector<long double>> spectra;
  for (std::int64_t i = 0; i < k; ++i) {
    spectra.push_back(geometric_spectrum(d, 1 + i, 5 + i));
    inputs.set(i, std::vector<long double>(d, i), with_spectrum(q, spectra.back(), d));
  }
  const std::vector<T> weights = {1, 2, 3, 4};  // normalised to 0.1, 0.2, 0.3, 0.4
  HostGaussians<T> out(d, 1);
  const BarycenterReport report =
      w2_barycenter<T>(this->ctx, inputs.cview(), vectors(weights.data(), k, 1), out.view());
  EXPECT_LE(report.residual, (std::is_same_v<T, double> ? 1e-12 : 1e-5));
  EXPECT_GE(report.iterations, 1);
  std::vector<long double> root(d, 0);
  for (std::int64_t i = 0; i < k; ++i)
    for (std::int64_t j = 0; j < d; ++j) root[j] += weights[i] / 10.0L * std::sqrt(spectra[i][j]);
  for (auto& r : root) r *= r;
  const Dense expected = with_spectrum(q, root, d);
  EXPECT_LE(frobenius_distance(out.cov(0), expected) / frobenius(expected), tolerance * 10);
  for (std::int64_t r = 0; r < d; ++r) EXPECT_NEAR(out.means[r], 2.0L, 20 * eps<T>() * 4);

  // General position: B satisfies B = Σ ρ_i (B^½ S_i B^½)^½ (checked with gaussot's sqrtm), and
  // two equal-weight Gaussians give B = ¼ (I + A) S1 (I + A) with A the Brenier matrix (§1).
  const HostGaussians<T> pair = this->random(d, 2);
  HostGaussians<T> middle(d, 1);
  w2_barycenter<T>(this->ctx, pair.cview(), VectorBatch<const T>(), middle.view());
  std::vector<T> root_b(d * d), sandwiched(2 * d * d), roots(2 * d * d), matrix(2 * d * d),
      bias(2 * d);
  sqrtm<T>(this->ctx, square_matrices<const T>(middle.covariances.data(), d, 1),
           square_matrices(root_b.data(), d, 1));
  sandwich<T>(this->ctx, broadcast(square_matrices<const T>(root_b.data(), d, 1), 2),
              square_matrices<const T>(pair.covariances.data(), d, 2),
              square_matrices(sandwiched.data(), d, 2));
  sqrtm<T>(this->ctx, square_matrices<const T>(sandwiched.data(), d, 2),
           square_matrices(roots.data(), d, 2));
  Dense fixed(d * d);
  for (std::int64_t e = 0; e < d * d; ++e) fixed[e] = 0.5L * roots[e] + 0.5L * roots[d * d + e];
  EXPECT_LE(frobenius_distance(fixed, middle.cov(0)) / frobenius(middle.cov(0)), tolerance * 100);
  brenier_map<T>(this->ctx, pair.cview().slice(0, 1), pair.cview().slice(1, 2),
                 square_matrices(matrix.data(), d, 1), vectors(bias.data(), d, 1));
  Dense half_step(d * d);
  for (std::int64_t e = 0; e < d * d; ++e) half_step[e] = 0.5L * (matrix[e] + ((e % (d + 1)) == 0));
  const Dense two_point = multiply(multiply(half_step, pair.cov(0), d, d, d), half_step, d, d, d);
  EXPECT_LE(frobenius_distance(two_point, middle.cov(0)) / frobenius(two_point), tolerance * 1000);

  // Not converged within the budget: ConvergenceError with the residual.
  BarycenterOptions one_step;
  one_step.max_iterations = 1;
  one_step.tolerance = 0.0;
  EXPECT_THROW(
      w2_barycenter<T>(this->ctx, pair.cview(), VectorBatch<const T>(), middle.view(), one_step),
      ConvergenceError);
  const std::vector<T> negative = {1, -1};
  expect_invalid(
      [&] {
        w2_barycenter<T>(this->ctx, pair.cview(), vectors(negative.data(), 2, 1), middle.view());
      },
      "'weights'");
  // An indefinite input is named as such (it used to be blamed on the iterate B^½ S_i B^½).
  HostGaussians<T> indefinite = pair;
  for (std::int64_t e = 0; e < d * d; ++e) indefinite.covariances[d * d + e] = e % (d + 1) ? 0 : 1;
  indefinite.covariances[d * d] = -1;
  expect_invalid(
      [&] {
        w2_barycenter<T>(this->ctx, indefinite.cview(), VectorBatch<const T>(), middle.view());
      },
      "argument 'inputs.covariances' batch item 1 is not positive semidefinite");
}

TYPED_TEST(Bures, FrechetDistanceBothMethodsAgree) {
  using T = TypeParam;
  // Fewer samples than dimensions: singular covariances, the samples method by default.
  for (const auto& [d, n_a, n_b] :
       std::vector<std::array<std::int64_t, 3>>{{12, 5, 8}, {12, 9, 6}, {4, 30, 20}}) {
    HostBatch<T> x(d, n_a, 2), y(d, n_b, 2);
    fill_gaussian(x, this->rng);
    fill_gaussian(y, this->rng);
    for (std::int64_t j = 0; j < n_b; ++j) y.view.at(1, 0, j) += T(3);  // shift one mean
    std::vector<T> by_samples(2), by_covariances(2), fitted(2);
    frechet_distance<T>(this->ctx, x.cview(), y.cview(), scalars(by_samples.data(), 2),
                        {FrechetMethod::samples, {}});
    frechet_distance<T>(this->ctx, x.cview(), y.cview(), scalars(by_covariances.data(), 2),
                        {FrechetMethod::covariances, {}});
    // And by hand: fit the Gaussians, then W2².
    HostGaussians<T> ga(d, 2), gb(d, 2);
    sample_moments<T>(this->ctx, x.cview(), vectors(ga.means.data(), d, 2),
                      square_matrices(ga.covariances.data(), d, 2));
    sample_moments<T>(this->ctx, y.cview(), vectors(gb.means.data(), d, 2),
                      square_matrices(gb.covariances.data(), d, 2));
    w2_squared<T>(this->ctx, ga.cview(), gb.cview(), scalars(fitted.data(), 2));
    for (int i = 0; i < 2; ++i) {
      const long double bar = 1000 * eps<T>() * (fitted[i] + d);
      EXPECT_NEAR(by_samples[i], fitted[i], bar) << d << " " << n_a << " " << n_b;
      EXPECT_NEAR(by_covariances[i], fitted[i], bar);
      EXPECT_GE(by_samples[i], T(0));
    }
  }
}

/// The FID of sample sets x (d x n_a) and y (d x n_b), column-major, in long double, by the
/// samples identity (bures.hpp): ‖μ_a − μ_b‖² + ‖X̃‖²/(n_a − 1) + ‖Ỹ‖²/(n_b − 1) − 2 ‖X̃ᵀỸ‖_* /
/// √((n_a − 1)(n_b − 1)). The Gram matrix of M = X̃ᵀỸ has the zero eigenvalue of the centring
/// (rounding-level in long double): eigenvalues below 1e-12 of the largest count as 0, so that
/// its square root, ~3e-10, does not enter the central differences.
long double reference_fid(const Dense& x, const Dense& y, std::int64_t d, std::int64_t n_a,
                          std::int64_t n_b) {
  auto centred = [d](const Dense& s, std::int64_t n, std::vector<long double>& mean) {
    mean.assign(d, 0);
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t r = 0; r < d; ++r) mean[r] += s[r + j * d] / n;
    Dense c(s);
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t r = 0; r < d; ++r) c[r + j * d] -= mean[r];
    return c;
  };
  std::vector<long double> mean_a, mean_b;
  const Dense xc = centred(x, n_a, mean_a), yc = centred(y, n_b, mean_b);
  long double value = 0;
  for (std::int64_t r = 0; r < d; ++r) value += (mean_a[r] - mean_b[r]) * (mean_a[r] - mean_b[r]);
  value += frobenius(xc) * frobenius(xc) / (n_a - 1) + frobenius(yc) * frobenius(yc) / (n_b - 1);
  const Dense m = multiply(transpose(xc, d, n_a), yc, n_a, d, n_b);  // n_a x n_b
  const Dense gram = multiply(transpose(m, n_a, n_b), m, n_b, n_a, n_b);
  const std::vector<long double> w = symmetric_eigenvalues(gram, n_b);
  const long double largest = *std::max_element(w.begin(), w.end());
  long double nuclear = 0;
  for (long double v : w) nuclear += v > 1e-12L * largest ? std::sqrt(v) : 0;
  return value - 2 * nuclear / std::sqrt((long double)(n_a - 1) * (n_b - 1));
}

/// grad_a and grad_b of frechet_distance_gradient against central differences of reference_fid,
/// entry by entry; returns the largest relative error (against the largest gradient entry).
template <typename T>
long double fid_gradient_error(Context& ctx, const Dense& x, const Dense& y, std::int64_t d,
                               std::int64_t n_a, std::int64_t n_b, FrechetMethod method) {
  const std::vector<T> xs(x.begin(), x.end()), ys(y.begin(), y.end());
  std::vector<T> grad_a(d * n_a), grad_b(d * n_b);
  frechet_distance_gradient<T>(
      ctx, matrices<const T>(xs.data(), d, n_a, 1), matrices<const T>(ys.data(), d, n_b, 1),
      matrices(grad_a.data(), d, n_a, 1), matrices(grad_b.data(), d, n_b, 1), {method, {}});
  const long double h = 1e-5L;
  long double worst = 0, largest = 0;
  for (const bool side_a : {true, false}) {
    const Dense& base = side_a ? x : y;
    const std::vector<T>& grad = side_a ? grad_a : grad_b;
    for (std::size_t e = 0; e < base.size(); ++e) {
      Dense plus = base, minus = base;
      plus[e] += h;
      minus[e] -= h;
      const long double numeric =
          side_a ? (reference_fid(plus, y, d, n_a, n_b) - reference_fid(minus, y, d, n_a, n_b))
                 : (reference_fid(x, plus, d, n_a, n_b) - reference_fid(x, minus, d, n_a, n_b));
      worst = std::max(worst, std::abs(grad[e] - numeric / (2 * h)));
      largest = std::max(largest, std::abs(numeric / (2 * h)));
    }
  }
  return worst / largest;
}

TEST(FrechetGradient, BothPathsMatchCentralDifferencesInLongDouble) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> normal;
  auto samples = [&](std::int64_t d, std::int64_t n, std::vector<long double> scales,
                     long double shift) {
    Dense s(d * n);
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t r = 0; r < d; ++r)
        s[r + j * d] = shift + scales[r % scales.size()] * normal(rng);
    return s;
  };
  struct Case {
    std::int64_t d, n_a, n_b;
    std::vector<long double> scales;
    FrechetMethod method;
  };
  for (const Case& c : std::vector<Case>{
           {3, 9, 7, {1}, FrechetMethod::automatic},  // covariances
           {3, 9, 7, {1}, FrechetMethod::samples},    // the same sets by the samples path
           {4, 12, 15, {1, 0.05L, 3, 0.2L}, FrechetMethod::automatic},  // ill-conditioned
           {6, 3, 4, {1}, FrechetMethod::automatic},                    // n < d: samples
           {6, 5, 2, {2, 0.5L}, FrechetMethod::automatic},              // n < d, n_b = 2
       }) {
    const Dense x = samples(c.d, c.n_a, c.scales, 0.3L), y = samples(c.d, c.n_b, c.scales, -0.4L);
    const long double error = fid_gradient_error<double>(ctx, x, y, c.d, c.n_a, c.n_b, c.method);
    EXPECT_LT(error, 1e-7L) << c.d << " " << c.n_a << " " << c.n_b;
    if (c.method == FrechetMethod::automatic && c.scales.size() == 1) {  // well-conditioned
      EXPECT_LT(fid_gradient_error<float>(ctx, x, y, c.d, c.n_a, c.n_b, c.method), 2e-3L);
    }
  }
}

TEST(FrechetGradient, BatchItemsEqualSingleCallsAndDegenerateCovariancesAreRefused) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(7);
  const std::int64_t d = 4, n_a = 6, n_b = 9;
  HostBatch<double> x(d, n_a, 2), y(d, n_b, 2);
  fill_gaussian(x, rng);
  fill_gaussian(y, rng);
  for (const FrechetMethod method : {FrechetMethod::covariances, FrechetMethod::samples}) {
    HostBatch<double> grad_a(d, n_a, 2), grad_b(d, n_b, 2);
    frechet_distance_gradient<double>(ctx, x.cview(), y.cview(), grad_a.view, grad_b.view,
                                      {method, {}});
    for (std::int64_t i = 0; i < 2; ++i) {
      HostBatch<double> one_a(d, n_a, 1), one_b(d, n_b, 1);
      frechet_distance_gradient<double>(ctx, x.cview().slice(i, i + 1), y.cview().slice(i, i + 1),
                                        one_a.view, one_b.view, {method, {}});
      for (std::int64_t e = 0; e < d * n_a; ++e)
        EXPECT_NEAR(one_a.view.data[e], grad_a.view.data[i * d * n_a + e], 1e-12);
      for (std::int64_t e = 0; e < d * n_b; ++e)
        EXPECT_NEAR(one_b.view.data[e], grad_b.view.data[i * d * n_b + e], 1e-12);
    }
  }
  // Samples in a plane of R^4 (n > d): the covariance is singular, its path has no gradient.
  for (std::int64_t j = 0; j < n_b; ++j) y.view.at(0, 3, j) = 1.5;
  HostBatch<double> grad_a(d, n_a, 2), grad_b(d, n_b, 2);
  expect_invalid(
      [&] {
        frechet_distance_gradient<double>(ctx, x.cview(), y.cview(), grad_a.view, grad_b.view,
                                          {FrechetMethod::covariances, {}});
      },
      "samples_b");
  expect_invalid(
      [&] {
        frechet_distance_gradient<double>(ctx, x.cview(), y.cview().slice(0, 1), grad_a.view,
                                          grad_b.view);
      },
      "'samples_b'");
}

TYPED_TEST(Bures, ZeroDimensionalGaussiansGiveZeroAndWriteTheirOutputs) {
  using T = TypeParam;
  // Sample sets with no feature: the Fréchet distance is 0 and is written (not left as it was).
  HostBatch<T> x(0, 5, 2), y(0, 7, 2);
  std::vector<T> fid(2, std::numeric_limits<T>::quiet_NaN());
  frechet_distance<T>(this->ctx, x.cview(), y.cview(), scalars(fid.data(), 2));
  EXPECT_EQ(fid[0], T(0));
  EXPECT_EQ(fid[1], T(0));
  // A barycenter of Gaussians on R^0 needs no iteration.
  HostGaussians<T> inputs(0, 3), out(0, 1);
  const std::vector<T> weights{1, 2, 3};
  const BarycenterReport report =
      w2_barycenter<T>(this->ctx, inputs.cview(), vectors(weights.data(), 3, 1), out.view());
  EXPECT_EQ(report.iterations, 0);
  EXPECT_EQ(report.residual, 0.0);
}

TYPED_TEST(Bures, RefusesBadInputNamingTheArgument) {
  using T = TypeParam;
  const std::int64_t d = 3, k = 4;
  HostGaussians<T> a = this->random(d, k), b = this->random(d, k);
  std::vector<T> out(k), matrix(d * d * k), bias(d * k);
  a.covariances[2 * d * d + 1] += T(0.5);  // item 2 not symmetric
  expect_invalid([&] { w2_squared<T>(this->ctx, a.cview(), b.cview(), scalars(out.data(), k)); },
                 "'a.covariances' batch item 2 is not symmetric");
  a = this->random(d, k);
  b.set(3, {0, 0, 0}, with_spectrum(random_orthogonal(d, this->rng), {1, 1, -1}, d));
  expect_invalid([&] { w2_squared<T>(this->ctx, a.cview(), b.cview(), scalars(out.data(), k)); },
                 "'b.covariances' batch item 3 is not positive semidefinite");
  expect_invalid([&] { w2_squared<T>(this->ctx, b.cview(), a.cview(), scalars(out.data(), k)); },
                 "'a.covariances' batch item 3 is not positive semidefinite");
  try {  // the same failure, for programs: the argument and the item as fields
    w2_squared<T>(this->ctx, a.cview(), b.cview(), scalars(out.data(), k));
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "b.covariances");
    EXPECT_EQ(e.batch_index(), 3);
  }
  b.set(3, {0, 0, 0}, with_spectrum(random_orthogonal(d, this->rng), {1, 1, 0}, d));
  EXPECT_NO_THROW(w2_squared<T>(this->ctx, b.cview(), a.cview(), scalars(out.data(), k)));
  expect_invalid(
      [&] {
        brenier_map<T>(this->ctx, b.cview(), a.cview(), square_matrices(matrix.data(), d, k),
                       vectors(bias.data(), d, k));
      },
      "'a.covariances' batch item 3 is not positive definite");
  b.means[d + 1] = std::numeric_limits<T>::quiet_NaN();
  expect_invalid([&] { w2_squared<T>(this->ctx, a.cview(), b.cview(), scalars(out.data(), k)); },
                 "'b.means' has a NaN or infinite entry in batch item 1");
  const HostGaussians<T> other_d = this->random(d + 1, k);
  expect_invalid(
      [&] { w2_squared<T>(this->ctx, a.cview(), other_d.cview(), scalars(out.data(), k)); },
      "'b.covariances'");
  HostGaussians<T> g(d, k);
  expect_invalid([&] { mccann_interpolant<T>(this->ctx, a.cview(), a.cview(), 1.5, g.view()); },
                 "'t'");
  expect_invalid([&] { validate_gaussians<T>(this->ctx, b.cview(), "input"); }, "'input.means'");
}

// validate_gaussians decides by the clamping rule whichever way it takes (a Cholesky factorisation
// of the shifted covariances when every item passes it, the eigenvalues otherwise): spectra just
// inside −τ·s pass, just outside are refused with the item, and the scale floor sets s.
TYPED_TEST(Bures, ValidationAppliesTheClampingRule) {
  using T = TypeParam;
  const std::int64_t d = 3;
  const long double tau = default_psd_tolerance<T>(d);
  auto batch = [&](const std::vector<std::vector<long double>>& spectra) {
    HostGaussians<T> g(d, static_cast<std::int64_t>(spectra.size()));
    for (std::size_t i = 0; i < spectra.size(); ++i) {
      g.set(i, {0, 0, 0}, with_spectrum(random_orthogonal(d, this->rng), spectra[i], d));
    }
    return g;
  };
  const std::vector<long double> positive{3, 2, 1}, singular{1, 1, 0};
  for (const long double inside : {0.5L, 0.9L}) {  // Cholesky passes at 0.5τ, not at 0.9τ
    const HostGaussians<T> ok = batch({positive, singular, {1, 1, -inside * tau}});
    EXPECT_NO_THROW(validate_gaussians<T>(this->ctx, ok.cview(), "input")) << inside;
  }
  const HostGaussians<T> bad = batch({positive, positive, {1, 1, -2 * tau}});
  expect_invalid([&] { validate_gaussians<T>(this->ctx, bad.cview(), "input"); },
                 "'input.covariances' batch item 2 is not positive semidefinite");
  // s = max(max |w|, floor): the same small matrix passes against the floor 1, not against its
  // own scale 1e-3.
  const HostGaussians<T> small = batch({{1e-3L, 1e-3L, -0.5L * tau}});
  SpectralOptions floor_one;
  floor_one.scale_floor = 1;
  EXPECT_NO_THROW(validate_gaussians<T>(this->ctx, small.cview(), "input", floor_one));
  expect_invalid([&] { validate_gaussians<T>(this->ctx, small.cview(), "input"); },
                 "'input.covariances' batch item 0 is not positive semidefinite");
  // An order that goes to LAPACK's ?potrf: positive definite, accepted.
  EXPECT_NO_THROW(validate_gaussians<T>(this->ctx, this->random(200, 2).cview(), "input"));
}

}  // namespace
}  // namespace gaussot::test
