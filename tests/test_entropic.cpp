// SPDX-License-Identifier: Apache-2.0
// Entropic OT closed forms (entropic.hpp) against the reference test cases T1–T6 of
// formulas-entropic.md §6, long-double computations of the primal objective and densities,
// the σ → 0 and γ → ∞ limits, and the library's own W2 functions.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gaussot/gaussot.hpp"
#include "test_utils.hpp"

namespace gaussot::test {
namespace {

/// Everything entropic_ot returns for a batch, on the host.
struct Solution {
  std::vector<double> value, transport, mass, plan_mean, plan_cov;
};

template <typename T>
Solution solve(Context& ctx, const HostGaussians<T>& a, const HostGaussians<T>& b,
               const EntropicOptions& options, const std::vector<T>& mass_a = {},
               const std::vector<T>& mass_b = {}, bool centered = false) {
  const std::int64_t k = a.k, d = a.d, n = 2 * d;
  std::vector<T> value(k), transport(k), mass(k), mean(k * n), cov(k * n * n);
  GaussianBatch<const T> ga = a.cview(), gb = b.cview();
  if (centered) ga.means = gb.means = VectorBatch<const T>();
  Masses<T> masses;
  if (!mass_a.empty()) masses.a = scalars(mass_a.data(), k);
  if (!mass_b.empty()) masses.b = scalars(mass_b.data(), k);
  entropic_ot<T>(ctx, ga, gb,
                 {scalars(value.data(), k), scalars(transport.data(), k), scalars(mass.data(), k),
                  vectors(mean.data(), n, k), square_matrices(cov.data(), n, k)},
                 options, masses);
  const auto widen = [](const std::vector<T>& v) {
    return std::vector<double>(v.begin(), v.end());
  };
  return {widen(value), widen(transport), widen(mass), widen(mean), widen(cov)};
}

/// Outputs with the value only.
template <typename T>
EntropicOutputs<T> value_only(VectorBatch<T> value) {
  EntropicOutputs<T> out;
  out.value = value;
  return out;
}

/// Outputs with the plan covariance only.
template <typename T>
EntropicOutputs<T> plan_only(MatrixBatch<T> plan_cov) {
  EntropicOutputs<T> out;
  out.plan_cov = plan_cov;
  return out;
}

EntropicOptions sigma_options(double sigma, std::optional<double> gamma = std::nullopt) {
  EntropicOptions o;
  o.sigma = sigma;
  o.gamma = gamma;
  return o;
}

/// One Gaussian pair as HostGaussians with k = 1.
template <typename T>
std::pair<HostGaussians<T>, HostGaussians<T>> pair_of(const std::vector<long double>& ma,
                                                      const Dense& a,
                                                      const std::vector<long double>& mb,
                                                      const Dense& b) {
  const std::int64_t d = std::int64_t(ma.size());
  HostGaussians<T> ga(d, 1), gb(d, 1);
  ga.set(0, ma, a);
  gb.set(0, mb, b);
  return {ga, gb};
}

// ---- long-double references ------------------------------------------------------------------

long double log_det(const Dense& a, std::int64_t n) {
  const Dense l = cholesky_reference(a, n);
  long double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += 2 * std::log(l[i + i * n]);
  return s;
}

/// xᵀ a^-1 x for symmetric positive definite a.
long double inverse_quadratic(const Dense& a, const std::vector<long double>& x, std::int64_t n) {
  const Dense l = cholesky_reference(a, n);
  std::vector<long double> y(x);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t k = 0; k < i; ++k) y[i] -= l[i + k * n] * y[k];
    y[i] /= l[i + i * n];
  }
  long double s = 0;
  for (long double v : y) s += v * v;
  return s;
}

/// The primal objective of a Gaussian coupling with cross-covariance C (§1.1):
/// ‖a − b‖² + tr A + tr B − 2 tr C + σ² log(det A det B / det Σ), Σ = [[A, C], [Cᵀ, B]].
long double gaussian_objective(const Dense& a, const Dense& b, const Dense& c,
                               long double mean_squared, long double s2, std::int64_t d) {
  const std::int64_t n = 2 * d;
  Dense joint(static_cast<std::size_t>(n * n));
  long double traces = mean_squared;
  for (std::int64_t j = 0; j < d; ++j) {
    for (std::int64_t i = 0; i < d; ++i) {
      joint[i + j * n] = a[i + j * d];
      joint[(i + d) + (j + d) * n] = b[i + j * d];
      joint[i + (j + d) * n] = c[i + j * d];
      joint[(j + d) + i * n] = c[i + j * d];
    }
    traces += a[j + j * d] + b[j + j * d] - 2 * c[j + j * d];
  }
  return traces + s2 * (log_det(a, d) + log_det(b, d) - log_det(joint, n));
}

/// Block (r, c) of a packed 2d x 2d matrix of a solution.
Dense plan_block(const Solution& s, std::int64_t item, std::int64_t d, int r, int c) {
  const std::int64_t n = 2 * d;
  Dense m(static_cast<std::size_t>(d * d));
  for (std::int64_t j = 0; j < d; ++j)
    for (std::int64_t i = 0; i < d; ++i)
      m[i + j * d] = s.plan_cov[item * n * n + (i + r * d) + (j + c * d) * n];
  return m;
}

Dense random_covariance(std::int64_t d, std::mt19937_64& rng, long double condition = 10) {
  return with_spectrum(random_orthogonal(d, rng), geometric_spectrum(d, 2.0L, condition), d);
}

std::vector<long double> random_mean(std::int64_t d, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<long double> m(static_cast<std::size_t>(d));
  for (auto& v : m) v = normal(rng);
  return m;
}

class Entropic : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
};

// ---- the reference test cases ----------------------------------------------------------------

TEST_F(Entropic, T1OneDimensionalBalanced) {
  auto [a, b] = pair_of<double>({0}, {1}, {1}, {4});
  const Solution s = solve(ctx, a, b, sigma_options(std::sqrt(3.0)));
  EXPECT_NEAR(s.value[0], 4.8630462173553428, 1e-12 * 4.86);  // 4 + 3 ln(4/3)
  EXPECT_NEAR(s.transport[0], 4.0, 1e-12);
  EXPECT_EQ(s.mass[0], 1.0);
  const std::vector<double> plan_cov = {1, 1, 1, 4}, plan_mean = {0, 1};
  for (int e = 0; e < 4; ++e) EXPECT_NEAR(s.plan_cov[e], plan_cov[e], 1e-13) << e;
  for (int e = 0; e < 2; ++e) EXPECT_EQ(s.plan_mean[e], plan_mean[e]) << e;
  // π(y | x) = N(1 + x, 3)
  double matrix = 0, bias = 0, conditional = 0;
  entropic_map<double>(ctx, a.cview(), b.cview(), std::sqrt(3.0), square_matrices(&matrix, 1, 1),
                       vectors(&bias, 1, 1), square_matrices(&conditional, 1, 1));
  EXPECT_NEAR(matrix, 1.0, 1e-13);
  EXPECT_NEAR(bias, 1.0, 1e-13);
  EXPECT_NEAR(conditional, 3.0, 1e-12);
  double divergence = 0;
  sinkhorn_divergence<double>(ctx, a.cview(), b.cview(), std::sqrt(3.0), scalars(&divergence, 1));
  EXPECT_NEAR(divergence, 1.8119873197947271, 1e-12 * 1.81);
}

TEST_F(Entropic, T2RotatedCommuting) {
  const long double c = std::sqrt(3.0L) / 4;
  auto [a, b] = pair_of<double>({0, 0}, {1.75L, -3 * c, -3 * c, 3.25L}, {1, -1},
                                {3.25L, 3 * c, 3 * c, 1.75L});
  const Solution s = solve(ctx, a, b, sigma_options(std::sqrt(3.0)));
  EXPECT_NEAR(s.value[0], 9.7260924347106856, 1e-12 * 9.73);
  // C_σ = I: the off-diagonal block of the plan.
  const Dense cross = plan_block(s, 0, 2, 0, 1);
  EXPECT_NEAR(frobenius_distance(cross, identity(2)), 0.0L, 1e-13L);
  double divergence = 0;
  sinkhorn_divergence<double>(ctx, a.cview(), b.cview(), std::sqrt(3.0), scalars(&divergence, 1));
  EXPECT_NEAR(divergence, 3.6239746395894541, 1e-12 * 3.62);
}

TEST_F(Entropic, T3DegenerateCovariance) {
  auto [a, b] = pair_of<double>({0, 0}, {1, 0, 0, 0}, {0, 0}, {4, 0, 0, 1});
  const double sigma = std::sqrt(3.0);
  const Solution s = solve(ctx, a, b, sigma_options(sigma));
  EXPECT_NEAR(s.value[0], 4.8630462173553428, 1e-12 * 4.86);
  const Dense cross = plan_block(s, 0, 2, 0, 1);  // C_σ = diag(1, 0), inverse-free
  EXPECT_NEAR(frobenius_distance(cross, Dense{1, 0, 0, 0}), 0.0L, 1e-13L);
  // Potentials: quadratic parts I − A^-1 C_σ = ∇_A = diag(0, 2/3) and ∇_B = diag(0.75, 1).
  std::vector<double> qf(4), qg(4), lf(2), lg(2), cf(1), cg(1);
  entropic_potentials<double>(
      ctx, a.cview(), b.cview(), sigma,
      {square_matrices(qf.data(), 2, 1), vectors(lf.data(), 2, 1), scalars(cf.data(), 1)},
      {square_matrices(qg.data(), 2, 1), vectors(lg.data(), 2, 1), scalars(cg.data(), 1)});
  const std::vector<double> want_f = {0, 0, 0, 2.0 / 3}, want_g = {0.75, 0, 0, 1};
  for (int e = 0; e < 4; ++e) {
    EXPECT_NEAR(qf[e], want_f[e], 1e-13) << e;
    EXPECT_NEAR(qg[e], want_g[e], 1e-13) << e;
  }
  // Dirac source: A = 0 gives ‖a − b‖² + tr B = 10 for every σ.
  auto [dirac, target] = pair_of<double>({1, 2}, {0, 0, 0, 0}, {0, 0}, {4, 0, 0, 1});
  for (double sigma_dirac : {1e-3, 0.5, 30.0}) {
    EXPECT_NEAR(solve(ctx, dirac, target, sigma_options(sigma_dirac)).value[0], 10.0, 1e-12)
        << sigma_dirac;
  }
}

TEST_F(Entropic, T4OneDimensionalUnbalanced) {
  auto [a, b] = pair_of<double>({0}, {1}, {1}, {3});
  const Solution s = solve(ctx, a, b, sigma_options(std::sqrt(0.5), 1.0), {1.0}, {2.0});
  EXPECT_NEAR(s.mass[0], 0.98145446993284052, 1e-12);  // (4/3)^{1/6} e^{-1/15}
  EXPECT_NEAR(s.value[0], 2.0556365902014784, 1e-12 * 2.06);
  const std::vector<double> plan_cov = {1, 1, 1, 1.5}, plan_mean = {0.2, 0.4};
  for (int e = 0; e < 4; ++e) EXPECT_NEAR(s.plan_cov[e], plan_cov[e], 1e-13) << e;
  for (int e = 0; e < 2; ++e) EXPECT_NEAR(s.plan_mean[e], plan_mean[e], 1e-14) << e;
  // T4b: b = 0
  auto [a0, b0] = pair_of<double>({0}, {1}, {0}, {3});
  const Solution s0 = solve(ctx, a0, b0, sigma_options(std::sqrt(0.5), 1.0), {1.0}, {2.0});
  EXPECT_NEAR(s0.mass[0], 1.0491150634216482, 1e-12);
  EXPECT_NEAR(s0.value[0], 1.8526548097350554, 1e-12 * 1.85);
}

TEST_F(Entropic, T5NonCommutingBalanced) {
  auto [a, b] = pair_of<double>({0, 0}, {2, 1, 1, 2}, {1, 2}, {1, 0, 0, 3});
  const Solution s = solve(ctx, a, b, sigma_options(1.0));
  EXPECT_NEAR(s.value[0], 8.9236661258311306, 1e-12 * 8.92);
  // C_σ (not symmetric), column-major.
  const Dense want = {0.93248288500714613, 0.25689997026184034, 0.77069991078552102,
                      1.9600827660545075};
  EXPECT_NEAR(frobenius_distance(plan_block(s, 0, 2, 0, 1), want), 0.0L, 1e-13L);
  double divergence = 0;
  sinkhorn_divergence<double>(ctx, a.cview(), b.cview(), 1.0, scalars(&divergence, 1));
  EXPECT_NEAR(divergence, 5.4967679696321257, 1e-12 * 5.5);
  // ∇_B OT = I − K(A, B) = I − C_σ B^-1 (§4): the quadratic part of g, from the reference C_σ.
  // (The reference's ten-digit ∇_B lists 0.3466390773 for the last entry; I − C_σ B^-1 from its
  // own 17-digit C_σ gives 0.34663907798183, which is what we check.)
  std::vector<double> qf(4), qg(4), lf(2), lg(2), cf(1), cg(1);
  entropic_potentials<double>(
      ctx, a.cview(), b.cview(), 1.0,
      {square_matrices(qf.data(), 2, 1), vectors(lf.data(), 2, 1), scalars(cf.data(), 1)},
      {square_matrices(qg.data(), 2, 1), vectors(lg.data(), 2, 1), scalars(cg.data(), 1)});
  const std::vector<double> grad_b = {1 - double(want[0]), -double(want[1]), -double(want[2]) / 3,
                                      1 - double(want[3]) / 3};
  for (int e = 0; e < 4; ++e) EXPECT_NEAR(qg[e], grad_b[e], 1e-14) << e;
}

TEST_F(Entropic, T6NonCommutingUnbalanced) {
  auto [a, b] = pair_of<double>({0, 0}, {2, 1, 1, 2}, {1, 2}, {1, 0, 0, 3});
  const Solution s = solve(ctx, a, b, sigma_options(1.0, 1.0), {1.0}, {2.0});
  EXPECT_NEAR(s.value[0], 4.7708328580201224, 1e-12 * 4.77);
  EXPECT_NEAR(s.mass[0], 0.55729178549496939, 1e-12);
  const std::vector<double> mean = {68.0 / 113, 82.0 / 113, 95.0 / 113, 130.0 / 113};
  for (int e = 0; e < 4; ++e) EXPECT_NEAR(s.plan_mean[e], mean[e], 1e-13) << e;
  const Dense h11 = {1.17352495275062, 0.47691871634834, 0.47691871634834, 1.46718491780771};
  const Dense h12 = {0.608590547327064, 0.220244973792822, 0.367074956321371, 1.19591047744126};
  const Dense h22 = {0.843436218930825, 0.146829982528548, 0.146829982528548, 1.7972736516275};
  EXPECT_NEAR(frobenius_distance(plan_block(s, 0, 2, 0, 0), h11), 0.0L, 1e-13L);
  EXPECT_NEAR(frobenius_distance(plan_block(s, 0, 2, 0, 1), h12), 0.0L, 1e-13L);
  EXPECT_NEAR(frobenius_distance(plan_block(s, 0, 2, 1, 1), h22), 0.0L, 1e-13L);
  // Float agrees to about 1e-5 relative.
  auto [af, bf] = pair_of<float>({0, 0}, {2, 1, 1, 2}, {1, 2}, {1, 0, 0, 3});
  const Solution f = solve(ctx, af, bf, sigma_options(1.0, 1.0), {1.0f}, {2.0f});
  EXPECT_NEAR(f.value[0], s.value[0], 1e-5 * s.value[0]);
  EXPECT_NEAR(f.mass[0], s.mass[0], 1e-5);
  auto [a5, b5] = pair_of<float>({0, 0}, {2, 1, 1, 2}, {1, 2}, {1, 0, 0, 3});
  EXPECT_NEAR(solve(ctx, a5, b5, sigma_options(1.0)).value[0], 8.9236661258311306, 1e-5 * 8.92);
}

// ---- independent checks on random, non-commuting pairs ----------------------------------------

/// Random pairs in dimension d with means.
struct RandomPairs {
  HostGaussians<double> a, b;
  RandomPairs(std::int64_t d, std::int64_t k, std::uint64_t seed, long double condition = 10)
      : a(d, k), b(d, k) {
    std::mt19937_64 rng(seed);
    for (std::int64_t i = 0; i < k; ++i) {
      a.set(i, random_mean(d, rng), random_covariance(d, rng, condition));
      b.set(i, random_mean(d, rng), random_covariance(d, rng, condition));
    }
  }
};

long double mean_squared(const HostGaussians<double>& a, const HostGaussians<double>& b,
                         std::int64_t i) {
  long double s = 0;
  for (std::int64_t r = 0; r < a.d; ++r) {
    const long double t = (long double)a.means[i * a.d + r] - b.means[i * a.d + r];
    s += t * t;
  }
  return s;
}

TEST_F(Entropic, PlanMinimisesThePrimalAmongGaussianCouplings) {
  const std::int64_t d = 4, k = 3;
  const RandomPairs p(d, k, 11);
  for (double sigma : {0.3, 1.0, 3.0}) {
    const long double s2 = (long double)sigma * sigma;
    const Solution s = solve(ctx, p.a, p.b, sigma_options(sigma));
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    for (std::int64_t i = 0; i < k; ++i) {
      const Dense a = p.a.cov(i), b = p.b.cov(i), c = plan_block(s, i, d, 0, 1);
      // The plan's marginals are the inputs; the value is the objective at the plan.
      EXPECT_LT(frobenius_distance(plan_block(s, i, d, 0, 0), a), 1e-13L);
      EXPECT_LT(frobenius_distance(plan_block(s, i, d, 1, 1), b), 1e-13L);
      const long double at_plan = gaussian_objective(a, b, c, mean_squared(p.a, p.b, i), s2, d);
      EXPECT_NEAR(s.value[i], double(at_plan), 1e-11 * double(at_plan)) << sigma;
      // ... and it is a minimum: any small change of C increases it, to second order.
      for (int trial = 0; trial < 5; ++trial) {
        Dense e(static_cast<std::size_t>(d * d));
        for (auto& v : e) v = 1e-3L * normal(rng);
        Dense plus(c), minus(c);
        for (std::size_t q = 0; q < c.size(); ++q) plus[q] += e[q], minus[q] -= e[q];
        const long double m2 = mean_squared(p.a, p.b, i);
        EXPECT_GT(gaussian_objective(a, b, plus, m2, s2, d), at_plan);
        EXPECT_GT(gaussian_objective(a, b, minus, m2, s2, d), at_plan);
      }
      // Transport part ‖a − b‖² + tr A + tr B − 2 tr C_σ.
      long double transport = mean_squared(p.a, p.b, i);
      for (std::int64_t j = 0; j < d; ++j)
        transport += a[j * (d + 1)] + b[j * (d + 1)] - 2 * c[j * (d + 1)];
      EXPECT_NEAR(s.transport[i], double(transport), 1e-12 * double(transport));
    }
  }
}

TEST_F(Entropic, SymmetricInTheTwoMeasures) {
  const RandomPairs p(5, 4, 21);
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(2.0)}) {
    const std::vector<double> ma = {0.5, 1, 2, 3}, mb = {1.5, 0.7, 2, 0.1};
    const Solution ab = gamma ? solve(ctx, p.a, p.b, sigma_options(0.7, gamma), ma, mb)
                              : solve(ctx, p.a, p.b, sigma_options(0.7));
    const Solution ba = gamma ? solve(ctx, p.b, p.a, sigma_options(0.7, gamma), mb, ma)
                              : solve(ctx, p.b, p.a, sigma_options(0.7));
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(ab.value[i], ba.value[i], 1e-12 * std::fabs(ab.value[i]));
      EXPECT_NEAR(ab.mass[i], ba.mass[i], 1e-12 * ab.mass[i]);
      EXPECT_NEAR(ab.transport[i], ba.transport[i], 1e-11 * ab.transport[i]);
    }
  }
}

TEST_F(Entropic, PotentialsGiveThePlanDensity) {
  // dπ*/d(α⊗β) = exp((f(x) + g(y) − ‖x − y‖²)/2σ²), with the density of π* = N((a, b), Σ) and
  // of α⊗β evaluated in long double; and E_α f + E_β g = OT_σ.
  const std::int64_t d = 3, k = 2;
  const RandomPairs p(d, k, 31);
  const double sigma = 0.8;
  const long double s2 = (long double)sigma * sigma;
  const Solution s = solve(ctx, p.a, p.b, sigma_options(sigma));
  std::vector<double> qf(k * d * d), qg(k * d * d), lf(k * d), lg(k * d), cf(k), cg(k);
  entropic_potentials<double>(
      ctx, p.a.cview(), p.b.cview(), sigma,
      {square_matrices(qf.data(), d, k), vectors(lf.data(), d, k), scalars(cf.data(), k)},
      {square_matrices(qg.data(), d, k), vectors(lg.data(), d, k), scalars(cg.data(), k)});
  const auto quadratic = [&](const std::vector<double>& q, const std::vector<double>& l, double c,
                             std::int64_t i, const std::vector<long double>& x) {
    long double v = c;
    for (std::int64_t r = 0; r < d; ++r) {
      v += l[i * d + r] * x[r];
      for (std::int64_t col = 0; col < d; ++col) v += x[r] * q[i * d * d + r + col * d] * x[col];
    }
    return v;
  };
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  for (std::int64_t i = 0; i < k; ++i) {
    Dense joint(static_cast<std::size_t>(4 * d * d));
    for (std::int64_t e = 0; e < 4 * d * d; ++e) joint[e] = s.plan_cov[i * 4 * d * d + e];
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<long double> x(d), y(d), xy, dx(d), dy(d);
      long double cost = 0;
      for (std::int64_t r = 0; r < d; ++r) {
        x[r] = p.a.means[i * d + r] + normal(rng);
        y[r] = p.b.means[i * d + r] + normal(rng);
        dx[r] = x[r] - p.a.means[i * d + r];
        dy[r] = y[r] - p.b.means[i * d + r];
        cost += (x[r] - y[r]) * (x[r] - y[r]);
      }
      xy = dx;
      xy.insert(xy.end(), dy.begin(), dy.end());
      // log N(xy; Σ) − log N(x; A) − log N(y; B), the 2π terms cancel
      const long double log_ratio =
          -0.5L * (inverse_quadratic(joint, xy, 2 * d) + log_det(joint, 2 * d)) +
          0.5L * (inverse_quadratic(p.a.cov(i), dx, d) + log_det(p.a.cov(i), d)) +
          0.5L * (inverse_quadratic(p.b.cov(i), dy, d) + log_det(p.b.cov(i), d));
      const long double potentials =
          (quadratic(qf, lf, cf[i], i, x) + quadratic(qg, lg, cg[i], i, y) - cost) / (2 * s2);
      EXPECT_NEAR(double(potentials), double(log_ratio), 1e-9 * (1 + std::fabs(double(log_ratio))));
    }
    // E_α f = tr(Q_f A) + mᵀQ_f m + l_fᵀm + c_f
    long double expectation = cf[i] + cg[i];
    for (std::int64_t r = 0; r < d; ++r) {
      expectation += lf[i * d + r] * p.a.means[i * d + r] + lg[i * d + r] * p.b.means[i * d + r];
      for (std::int64_t col = 0; col < d; ++col) {
        const std::int64_t e = i * d * d + r + col * d;
        expectation += qf[e] * ((long double)p.a.covariances[e] +
                                (long double)p.a.means[i * d + r] * p.a.means[i * d + col]);
        expectation += qg[e] * ((long double)p.b.covariances[e] +
                                (long double)p.b.means[i * d + r] * p.b.means[i * d + col]);
      }
    }
    EXPECT_NEAR(double(expectation), s.value[i], 1e-11 * s.value[i]);
  }
}

TEST_F(Entropic, EntropicMapIsTheConditionalLaw) {
  // B − C_σᵀ A^-1 C_σ = σ² S and S = A^-1 C_σ (§1.2), from the plan; and S → the Brenier map.
  const std::int64_t d = 4, k = 2;
  const RandomPairs p(d, k, 41);
  for (double sigma : {0.5, 2.0}) {
    const Solution s = solve(ctx, p.a, p.b, sigma_options(sigma));
    std::vector<double> matrix(k * d * d), bias(k * d), conditional(k * d * d);
    entropic_map<double>(ctx, p.a.cview(), p.b.cview(), sigma, square_matrices(matrix.data(), d, k),
                         vectors(bias.data(), d, k), square_matrices(conditional.data(), d, k));
    for (std::int64_t i = 0; i < k; ++i) {
      const Dense slope(matrix.begin() + i * d * d, matrix.begin() + (i + 1) * d * d);
      const Dense a = p.a.cov(i);
      // A S = C_σ
      EXPECT_LT(frobenius_distance(multiply(a, slope, d, d, d), plan_block(s, i, d, 0, 1)), 1e-12L);
      // conditional covariance = B − Cᵀ S = σ² S
      const Dense reduced = multiply(transpose(plan_block(s, i, d, 0, 1), d, d), slope, d, d, d);
      for (std::int64_t e = 0; e < d * d; ++e) {
        EXPECT_NEAR(conditional[i * d * d + e], double(p.b.cov(i)[e] - reduced[e]), 1e-12);
        EXPECT_NEAR(conditional[i * d * d + e], sigma * sigma * slope[e], 1e-12);
      }
      // the mean of a maps to the mean of b
      for (std::int64_t r = 0; r < d; ++r) {
        long double image = bias[i * d + r];
        for (std::int64_t c = 0; c < d; ++c) image += slope[r + c * d] * p.a.means[i * d + c];
        EXPECT_NEAR(double(image), p.b.means[i * d + r], 1e-12);
      }
    }
  }
  // σ → 0: the Brenier map of bures.hpp.
  std::vector<double> entropic(k * d * d), brenier(k * d * d), bias(k * d);
  entropic_map<double>(ctx, p.a.cview(), p.b.cview(), 1e-4, square_matrices(entropic.data(), d, k),
                       VectorBatch<double>(), MatrixBatch<double>());
  brenier_map<double>(ctx, p.a.cview(), p.b.cview(), square_matrices(brenier.data(), d, k),
                      vectors(bias.data(), d, k));
  for (std::size_t e = 0; e < entropic.size(); ++e) EXPECT_NEAR(entropic[e], brenier[e], 1e-6);
}

TEST_F(Entropic, SmallSigmaRecoversW2) {
  const std::int64_t d = 3, k = 3;
  const RandomPairs p(d, k, 51);
  std::vector<double> w2(k);
  w2_squared<double>(ctx, p.a.cview(), p.b.cview(), scalars(w2.data(), k));
  double previous_gap = 1e300;
  for (double sigma : {0.3, 0.1, 0.03, 0.01, 1e-3}) {
    const Solution s = solve(ctx, p.a, p.b, sigma_options(sigma));
    std::vector<double> divergence(k);
    sinkhorn_divergence<double>(ctx, p.a.cview(), p.b.cview(), sigma,
                                scalars(divergence.data(), k));
    const double eps = 2 * sigma * sigma;
    double gap = 0;
    for (std::int64_t i = 0; i < k; ++i) {
      // OT_σ − W2² = O(ε log(1/ε)) (§5): below d·ε·(1 + log(1/ε)) here; S_σ − W2² = O(σ⁴).
      EXPECT_NEAR(s.value[i], w2[i], d * eps * (1 + std::log(1 / eps))) << sigma;
      EXPECT_NEAR(divergence[i], w2[i], 50 * std::pow(sigma, 4) + 1e-11) << sigma;
      gap = std::max(gap, std::fabs(s.value[i] - w2[i]));
    }
    EXPECT_LT(gap, previous_gap);
    previous_gap = gap;
  }
}

TEST_F(Entropic, LargeSigmaKeepsItsDigits) {
  // OT_σ = ‖a − b‖² + tr A + tr B − tr(AB)/σ² + O(σ⁻⁶) (§5): at σ = 1000 the last term is ~1e-6
  // while the value is ~10; the Theorem-1 expression loses 5e-9 absolute there (§1.3), i.e. 1e-3
  // of the term, the spectral form keeps it to rounding.
  const std::int64_t d = 3, k = 3;
  const RandomPairs p(d, k, 57);
  for (double sigma : {1e2, 1e3, 1e4}) {
    const Solution s = solve(ctx, p.a, p.b, sigma_options(sigma));
    for (std::int64_t i = 0; i < k; ++i) {
      const Dense a = p.a.cov(i), b = p.b.cov(i), ab = multiply(a, b, d, d, d);
      long double independent = mean_squared(p.a, p.b, i), trace_ab = 0;
      for (std::int64_t j = 0; j < d; ++j) {
        independent += a[j * (d + 1)] + b[j * (d + 1)];
        trace_ab += ab[j * (d + 1)];
      }
      const long double term = trace_ab / ((long double)sigma * sigma);
      EXPECT_NEAR(s.value[i] - double(independent), -double(term),
                  1e-6 * double(term) + 4e-15 * double(independent))
          << sigma;
    }
  }
}

TEST_F(Entropic, LargeGammaApproachesBalanced) {
  const RandomPairs p(3, 2, 61);
  const Solution balanced = solve(ctx, p.a, p.b, sigma_options(0.9));
  std::vector<double> gaps;
  for (double gamma : {1.0, 1e1, 1e2, 1e3, 1e4}) {
    const Solution u = solve(ctx, p.a, p.b, sigma_options(0.9, gamma));
    double gap = 0;
    for (int i = 0; i < 2; ++i) gap = std::max(gap, std::fabs(u.value[i] - balanced.value[i]));
    gaps.push_back(gap);
  }
  for (std::size_t j = 1; j < gaps.size(); ++j) EXPECT_LT(gaps[j], gaps[j - 1]) << j;
  EXPECT_LT(gaps.back(), 0.05 * balanced.value[0]);
}

TEST_F(Entropic, UnbalancedPlanIsTheBalancedPlanOfItsMarginals) {
  // With its marginals fixed, π*/m_π minimises ∫‖x − y‖² + 2σ² KL(·‖π1⊗π2) (the remaining terms
  // depend on the marginals only), so H12 = C_σ(H11, H22): the balanced path on the unbalanced
  // plan's marginals.
  const std::int64_t d = 3, k = 2;
  const RandomPairs p(d, k, 71);
  const double sigma = 0.6;
  const Solution u = solve(ctx, p.a, p.b, sigma_options(sigma, 1.5), {1.0, 2.0}, {0.5, 3.0});
  HostGaussians<double> left(d, k), right(d, k);
  for (std::int64_t i = 0; i < k; ++i) {
    std::vector<long double> mx(d), my(d);
    for (std::int64_t r = 0; r < d; ++r) {
      mx[r] = u.plan_mean[i * 2 * d + r];
      my[r] = u.plan_mean[i * 2 * d + d + r];
    }
    left.set(i, mx, plan_block(u, i, d, 0, 0));
    right.set(i, my, plan_block(u, i, d, 1, 1));
  }
  const Solution b = solve(ctx, left, right, sigma_options(sigma));
  for (std::int64_t i = 0; i < k; ++i) {
    EXPECT_LT(frobenius_distance(plan_block(b, i, d, 0, 1), plan_block(u, i, d, 0, 1)), 1e-12L);
    // and the unbalanced transport part is m_π times the balanced one between the marginals
    EXPECT_NEAR(u.transport[i], u.mass[i] * b.transport[i], 1e-11 * u.transport[i]);
  }
}

TEST_F(Entropic, SingularCovariancesAreTheLimitOfRegularOnes) {
  // Rank-2 covariances in d = 4: finite, and continuous in a ridge ηI as η → 0.
  const std::int64_t d = 4;
  std::mt19937_64 rng(81);
  const Dense q = random_orthogonal(d, rng), r = random_orthogonal(d, rng);
  const std::vector<long double> spectrum = {2, 0.5, 0, 0};
  const Dense a = with_spectrum(q, spectrum, d), b = with_spectrum(r, spectrum, d);
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(1.0)}) {
    std::vector<double> values;
    for (long double ridge : {0.0L, 1e-10L, 1e-8L}) {
      Dense ar(a), br(b);
      for (std::int64_t j = 0; j < d; ++j) ar[j * (d + 1)] += ridge, br[j * (d + 1)] += ridge;
      auto [ga, gb] = pair_of<double>({1, 0, 0, 0}, ar, {0, 0, 1, 0}, br);
      const Solution s = solve(ctx, ga, gb, sigma_options(0.5, gamma));
      ASSERT_TRUE(std::isfinite(s.value[0]));
      for (double v : s.plan_cov) ASSERT_TRUE(std::isfinite(v));
      values.push_back(s.value[0]);
    }
    EXPECT_NEAR(values[0], values[1], 1e-8);
    EXPECT_NEAR(values[1], values[2], 1e-6);
  }
}

TEST_F(Entropic, SinkhornDivergenceIsTheDebiasedValue) {
  // S_σ from spectra equals OT_σ(α, β) − ½ OT_σ(α, α) − ½ OT_σ(β, β) from entropic_ot, and
  // tends to ‖a − b‖² + ‖A − B‖²_F / 2σ² for large σ (§5).
  const std::int64_t d = 4, k = 3;
  const RandomPairs p(d, k, 91);
  for (double sigma : {0.4, 1.5, 100.0}) {
    std::vector<double> divergence(k);
    sinkhorn_divergence<double>(ctx, p.a.cview(), p.b.cview(), sigma,
                                scalars(divergence.data(), k));
    const Solution ab = solve(ctx, p.a, p.b, sigma_options(sigma));
    const Solution aa = solve(ctx, p.a, p.a, sigma_options(sigma));
    const Solution bb = solve(ctx, p.b, p.b, sigma_options(sigma));
    for (std::int64_t i = 0; i < k; ++i) {
      EXPECT_NEAR(divergence[i], ab.value[i] - 0.5 * aa.value[i] - 0.5 * bb.value[i],
                  1e-11 * ab.value[i]);
      EXPECT_GT(divergence[i], 0);
      if (sigma == 100.0) {
        const long double frob = frobenius_distance(p.a.cov(i), p.b.cov(i));
        const double limit = double(mean_squared(p.a, p.b, i) + frob * frob / (2e4L));
        EXPECT_NEAR(divergence[i], limit, 1e-7 * limit);
      }
    }
  }
}

TEST_F(Entropic, BatchedBroadcastAndCenteredAgreeWithOneByOne) {
  const std::int64_t d = 3, k = 4;
  const RandomPairs p(d, k, 101);
  const std::vector<double> ma = {1, 2, 0.5, 1.5}, mb = {0.3, 1, 4, 1};
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(0.7)}) {
    const Solution all = gamma ? solve(ctx, p.a, p.b, sigma_options(0.8, gamma), ma, mb)
                               : solve(ctx, p.a, p.b, sigma_options(0.8));
    for (std::int64_t i = 0; i < k; ++i) {
      HostGaussians<double> a(d, 1), b(d, 1);
      std::vector<long double> mean_a(d), mean_b(d);
      for (std::int64_t r = 0; r < d; ++r) {
        mean_a[r] = p.a.means[i * d + r];
        mean_b[r] = p.b.means[i * d + r];
      }
      a.set(0, mean_a, p.a.cov(i));
      b.set(0, mean_b, p.b.cov(i));
      const Solution one = gamma ? solve(ctx, a, b, sigma_options(0.8, gamma), {ma[i]}, {mb[i]})
                                 : solve(ctx, a, b, sigma_options(0.8));
      EXPECT_NEAR(all.value[i], one.value[0], 1e-13 * std::fabs(one.value[0]));
      for (std::int64_t e = 0; e < 4 * d * d; ++e) {
        EXPECT_NEAR(all.plan_cov[i * 4 * d * d + e], one.plan_cov[e], 1e-13);
      }
    }
    // One a against every b (broadcast) equals the explicit copies.
    HostGaussians<double> repeated(d, k);
    std::vector<long double> mean0(d);
    for (std::int64_t r = 0; r < d; ++r) mean0[r] = p.a.means[r];
    for (std::int64_t i = 0; i < k; ++i) repeated.set(i, mean0, p.a.cov(0));
    std::vector<double> broadcast_values(k);
    GaussianBatch<const double> one_a = p.a.cview().slice(0, 1);
    entropic_ot<double>(
        ctx, broadcast(one_a, k), p.b.cview(), value_only(scalars(broadcast_values.data(), k)),
        sigma_options(0.8, gamma),
        gamma ? Masses<double>{VectorBatch<const double>(ma.data(), 1, 0, k, MemorySpace::host),
                               scalars(mb.data(), k)}
              : Masses<double>{});
    if (gamma) {  // mass_a broadcast too
      std::vector<double> ma0(k, ma[0]);
      const Solution explicit_copies =
          solve(ctx, repeated, p.b, sigma_options(0.8, gamma), ma0, mb);
      for (std::int64_t i = 0; i < k; ++i)
        EXPECT_NEAR(broadcast_values[i], explicit_copies.value[i], 1e-12);
    } else {
      const Solution explicit_copies = solve(ctx, repeated, p.b, sigma_options(0.8));
      for (std::int64_t i = 0; i < k; ++i)
        EXPECT_NEAR(broadcast_values[i], explicit_copies.value[i], 1e-12);
    }
  }
  // Centered = zero means.
  HostGaussians<double> za(p.a), zb(p.b);
  std::fill(za.means.begin(), za.means.end(), 0.0);
  std::fill(zb.means.begin(), zb.means.end(), 0.0);
  const Solution zero = solve(ctx, za, zb, sigma_options(0.8, 0.7), ma, mb);
  const Solution centered = solve(ctx, p.a, p.b, sigma_options(0.8, 0.7), ma, mb, true);
  for (std::int64_t i = 0; i < k; ++i) EXPECT_NEAR(zero.value[i], centered.value[i], 1e-14);
}

/// OT_σ of N(ma, A) and N(mb, B) in long double by §1.1, from the eigenvalues λ of LᵀBL (A = LLᵀ,
/// positive definite): ‖ma − mb‖² + tr A + tr B − Σ √(4λ + σ⁴) + dσ²(1 − log 2σ²)
/// + σ² Σ log(√(4λ + σ⁴) + σ²).
long double entropic_reference(const std::vector<long double>& ma, const Dense& a,
                               const std::vector<long double>& mb, const Dense& b, std::int64_t d,
                               long double sigma) {
  const Dense l = cholesky_reference(a, d);
  const Dense m = multiply(multiply(transpose(l, d, d), b, d, d, d), l, d, d, d);
  const long double s2 = sigma * sigma;
  long double value = d * s2 * (1 - std::log(2 * s2));
  for (std::int64_t i = 0; i < d; ++i) {
    value += (ma[i] - mb[i]) * (ma[i] - mb[i]) + a[i + i * d] + b[i + i * d];
  }
  for (long double lambda : symmetric_eigenvalues(m, d)) {
    const long double root = std::sqrt(4 * lambda + s2 * s2);
    value += -root + s2 * std::log(root + s2);
  }
  return value;
}

/// The arguments of the long-double references: N(ma, a) and N(mb, b).
struct ReferencePair {
  std::vector<long double> ma;
  Dense a;
  std::vector<long double> mb;
  Dense b;
};

/// grad_a, grad_b (a gradient function's outputs for the pair) against central differences of
/// `value` (a long-double reference of the pair) with step h, along every symmetric covariance
/// perturbation E_rc + E_cr and every mean coordinate of both sides, to 1e-7 relative.
template <typename Value>
void expect_central_differences(const ReferencePair& pair, std::int64_t d,
                                const HostGaussians<double>& grad_a,
                                const HostGaussians<double>& grad_b, Value value, long double h,
                                const std::string& label) {
  for (const bool side_a : {true, false}) {
    const HostGaussians<double>& grad = side_a ? grad_a : grad_b;
    const auto difference = [&](const auto& perturb) {
      ReferencePair plus = pair, minus = pair;
      perturb(plus, h);
      perturb(minus, -h);
      return (value(plus) - value(minus)) / (2 * h);
    };
    for (std::int64_t r = 0; r < d; ++r) {
      for (std::int64_t c = 0; c <= r; ++c) {
        const long double numeric = difference([&](ReferencePair& p, long double step) {
          Dense& cov = side_a ? p.a : p.b;
          cov[r + c * d] += step;
          if (r != c) cov[c + r * d] += step;
        });
        const double analytic = r == c ? grad.covariances[r + r * d]
                                       : grad.covariances[r + c * d] + grad.covariances[c + r * d];
        EXPECT_NEAR(analytic, double(numeric), 1e-7 * (1 + std::abs(double(numeric))))
            << label << (side_a ? " a " : " b ") << r << "," << c;
      }
      const long double numeric = difference(
          [&](ReferencePair& p, long double step) { (side_a ? p.ma : p.mb)[r] += step; });
      EXPECT_NEAR(grad.means[r], double(numeric), 1e-7 * (1 + std::abs(double(numeric))))
          << label << (side_a ? " a mean " : " b mean ") << r;
    }
  }
}

TEST_F(Entropic, GradientMatchesCentralDifferencesInLongDouble) {
  std::mt19937_64 rng(77);
  std::normal_distribution<double> normal;
  const std::int64_t d = 4;
  for (const double sigma : {0.3, 1.0, 4.0}) {
    const Dense a = random_covariance(d, rng, 50), b = random_covariance(d, rng);
    std::vector<long double> ma(d), mb(d);
    for (auto* m : {&ma, &mb})
      for (auto& v : *m) v = normal(rng);
    auto [ga, gb] = pair_of<double>(ma, a, mb, b);
    HostGaussians<double> grad_a(d, 1), grad_b(d, 1);
    entropic_ot_gradient<double>(ctx, ga.cview(), gb.cview(), sigma, grad_a.view(), grad_b.view());
    expect_central_differences(
        {ma, a, mb, b}, d, grad_a, grad_b,
        [&](const ReferencePair& p) { return entropic_reference(p.ma, p.a, p.mb, p.b, d, sigma); },
        1e-7L, "sigma " + std::to_string(sigma));
  }
  // Singular A (T3): finite, the values of §4: ∇_A = diag(0, 2/3), ∇_B = diag(0.75, 1).
  auto [a, b] = pair_of<double>({0, 0}, {1, 0, 0, 0}, {0, 0}, {4, 0, 0, 1});
  HostGaussians<double> grad_a(2, 1), grad_b(2, 1);
  entropic_ot_gradient<double>(ctx, a.cview(), b.cview(), std::sqrt(3.0), grad_a.view(),
                               grad_b.view());
  const std::vector<double> want_a = {0, 0, 0, 2.0 / 3}, want_b = {0.75, 0, 0, 1};
  for (int e = 0; e < 4; ++e) {
    EXPECT_NEAR(grad_a.covariances[e], want_a[e], 1e-13) << e;
    EXPECT_NEAR(grad_b.covariances[e], want_b[e], 1e-13) << e;
  }
}

/// a^-1 for symmetric positive definite a, by Gauss–Jordan elimination in long double.
Dense inverse_reference(Dense a, std::int64_t n) {
  Dense inv = identity(n);
  for (std::int64_t c = 0; c < n; ++c) {
    const long double pivot = a[c + c * n];
    for (std::int64_t j = 0; j < n; ++j) a[c + j * n] /= pivot, inv[c + j * n] /= pivot;
    for (std::int64_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const long double f = a[r + c * n];
      for (std::int64_t j = 0; j < n; ++j) {
        a[r + j * n] -= f * a[c + j * n];
        inv[r + j * n] -= f * inv[c + j * n];
      }
    }
  }
  return inv;
}

/// UOT_σ,γ(m_a N(ma, a), m_b N(mb, b)) in long double from the paper's direct plan mass (Eq. 41,
/// formulas-entropic.md §2: det C, det(ÃB̃), det(AB)), not the stable form the library uses;
/// a and b positive definite.
long double unbalanced_reference(const std::vector<long double>& ma, const Dense& a,
                                 const std::vector<long double>& mb, const Dense& b, std::int64_t d,
                                 long double sigma, long double gamma, long double mass_a,
                                 long double mass_b) {
  const long double s2 = sigma * sigma, lambda = s2 + gamma / 2, tau = gamma / (gamma + 2 * s2);
  const auto shrunk = [&](const Dense& s) {  // (γ/2)(I − λ (S + λI)^-1)
    Dense shifted = s;
    for (std::int64_t i = 0; i < d; ++i) shifted[i + i * d] += lambda;
    const Dense inv = inverse_reference(shifted, d);
    Dense out(static_cast<std::size_t>(d * d));
    for (std::int64_t e = 0; e < d * d; ++e)
      out[e] = gamma / 2 * ((e % (d + 1) == 0 ? 1 : 0) - lambda * inv[e]);
    return out;
  };
  const Dense at = shrunk(a), bt = shrunk(b), l = cholesky_reference(at, d);
  const Dense middle = multiply(multiply(transpose(l, d, d), bt, d, d, d), l, d, d, d);
  long double log_det_c = 0, log_det_ab_t = 0, log_det_gap = 0;
  for (const long double mu : symmetric_eigenvalues(middle, d)) {  // eig(ÃB̃)
    const long double c = std::sqrt(mu / tau + s2 * s2 / 4) - s2 / 2;
    log_det_c += std::log(c);
    log_det_ab_t += std::log(mu);
    log_det_gap += std::log(c - 2 * mu / gamma);
  }
  Dense x = a;
  std::vector<long double> diff(d);
  for (std::int64_t e = 0; e < d * d; ++e) x[e] += b[e];
  for (std::int64_t i = 0; i < d; ++i) x[i + i * d] += lambda, diff[i] = ma[i] - mb[i];
  const long double log_mass = d * s2 / (gamma + s2) * std::log(sigma) +
                               (std::log(mass_a * mass_b) + log_det_c +
                                (tau * log_det_ab_t - log_det(a, d) - log_det(b, d)) / 2) /
                                   (tau + 1) -
                               inverse_quadratic(x, diff, d) / (2 * (tau + 1)) - log_det_gap / 2;
  return gamma * (mass_a + mass_b) + 2 * s2 * mass_a * mass_b -
         2 * (s2 + gamma) * std::exp(log_mass);
}

TEST_F(Entropic, UnbalancedGradientMatchesCentralDifferencesInLongDouble) {
  std::mt19937_64 rng(79);
  std::normal_distribution<double> normal;
  const std::int64_t d = 3;
  for (const auto& parameters : std::vector<std::pair<double, double>>{{0.5, 0.7}, {1.5, 3.0}}) {
    const double sigma = parameters.first, gamma = parameters.second;  // captured below
    const Dense a = random_covariance(d, rng, 20), b = random_covariance(d, rng);
    std::vector<long double> ma(d), mb(d);
    for (auto* m : {&ma, &mb})
      for (auto& v : *m) v = normal(rng);
    const double mass_a = 1.3, mass_b = 0.6;
    auto [ga, gb] = pair_of<double>(ma, a, mb, b);
    HostGaussians<double> grad_a(d, 1), grad_b(d, 1);
    double grad_mass_a = 0, grad_mass_b = 0;
    entropic_ot_gradient<double>(
        ctx, ga.cview(), gb.cview(), sigma_options(sigma, gamma),
        {grad_a.view(), grad_b.view(), scalars(&grad_mass_a, 1), scalars(&grad_mass_b, 1)},
        {scalars(&mass_a, 1), scalars(&mass_b, 1)});
    // The library's value agrees with the direct formula first.
    EXPECT_NEAR(solve(ctx, ga, gb, sigma_options(sigma, gamma), {mass_a}, {mass_b}).value[0],
                double(unbalanced_reference(ma, a, mb, b, d, sigma, gamma, mass_a, mass_b)), 1e-12);
    const long double h = 1e-6L;
    const auto value = [&](const std::vector<long double>& pa, const Dense& ca,
                           const std::vector<long double>& pb, const Dense& cb, long double wa,
                           long double wb) {
      return unbalanced_reference(pa, ca, pb, cb, d, sigma, gamma, wa, wb);
    };
    expect_central_differences(
        {ma, a, mb, b}, d, grad_a, grad_b,
        [&](const ReferencePair& p) { return value(p.ma, p.a, p.mb, p.b, mass_a, mass_b); }, h,
        "sigma " + std::to_string(sigma));
    const long double numeric_a =
        (value(ma, a, mb, b, mass_a + h, mass_b) - value(ma, a, mb, b, mass_a - h, mass_b)) /
        (2 * h);
    const long double numeric_b =
        (value(ma, a, mb, b, mass_a, mass_b + h) - value(ma, a, mb, b, mass_a, mass_b - h)) /
        (2 * h);
    EXPECT_NEAR(grad_mass_a, double(numeric_a), 1e-7 * (1 + std::abs(double(numeric_a))));
    EXPECT_NEAR(grad_mass_b, double(numeric_b), 1e-7 * (1 + std::abs(double(numeric_b))));
  }
}

TEST_F(Entropic, UnbalancedGradientAtASingularCovarianceIsTheLimitAndFinite) {
  // A = diag(2, 0) (singular): the gradient is finite and the limit of the gradients at
  // A + εI; mass gradients need gamma.
  const auto gradient = [&](double epsilon) {
    auto [a, b] = pair_of<double>({0.5, 0}, {2 + epsilon, 0, 0, epsilon}, {1, 2}, {1, 0.3, 0.3, 3});
    HostGaussians<double> grad_a(2, 1), grad_b(2, 1);
    entropic_ot_gradient<double>(ctx, a.cview(), b.cview(), sigma_options(0.8, 1.5),
                                 {grad_a.view(), grad_b.view(), {}, {}});
    std::vector<double> all(grad_a.covariances.begin(), grad_a.covariances.end());
    all.insert(all.end(), grad_b.covariances.begin(), grad_b.covariances.end());
    all.insert(all.end(), grad_a.means.begin(), grad_a.means.end());
    return all;
  };
  const std::vector<double> at_zero = gradient(0), near = gradient(1e-9);
  for (std::size_t e = 0; e < at_zero.size(); ++e) {
    EXPECT_TRUE(std::isfinite(at_zero[e])) << e;
    EXPECT_NEAR(at_zero[e], near[e], 1e-7 * (1 + std::abs(near[e]))) << e;
  }
  const auto a_and_b = pair_of<double>({0, 0}, {2, 1, 1, 2}, {1, 2}, {1, 0, 0, 3});
  const auto& a = a_and_b.first;  // not bindings: the lambda below uses them
  const auto& b = a_and_b.second;
  HostGaussians<double> grad_a(2, 1), grad_b(2, 1);
  double mass = 0;
  expect_invalid(
      [&] {
        entropic_ot_gradient<double>(ctx, a.cview(), b.cview(), sigma_options(1.0),
                                     {grad_a.view(), grad_b.view(), scalars(&mass, 1), {}});
      },
      "'out.mass_a'");
}

/// S_σ = OT_σ(α, β) − ½ OT_σ(α, α) − ½ OT_σ(β, β) from entropic_reference (long double).
long double divergence_reference(const std::vector<long double>& ma, const Dense& a,
                                 const std::vector<long double>& mb, const Dense& b, std::int64_t d,
                                 long double sigma) {
  return entropic_reference(ma, a, mb, b, d, sigma) -
         (entropic_reference(ma, a, ma, a, d, sigma) + entropic_reference(mb, b, mb, b, d, sigma)) /
             2;
}

TEST_F(Entropic, SinkhornDivergenceGradientMatchesCentralDifferencesInLongDouble) {
  std::mt19937_64 rng(83);
  std::normal_distribution<double> normal;
  const std::int64_t d = 3;
  for (const double sigma : {0.4, 2.0}) {
    const Dense a = random_covariance(d, rng, 30), b = random_covariance(d, rng);
    std::vector<long double> ma(d), mb(d);
    for (auto* m : {&ma, &mb})
      for (auto& v : *m) v = normal(rng);
    auto [ga, gb] = pair_of<double>(ma, a, mb, b);
    HostGaussians<double> grad_a(d, 1), grad_b(d, 1);
    sinkhorn_divergence_gradient<double>(ctx, ga.cview(), gb.cview(), sigma, grad_a.view(),
                                         grad_b.view());
    expect_central_differences(
        {ma, a, mb, b}, d, grad_a, grad_b,
        [&](const ReferencePair& p) {
          return divergence_reference(p.ma, p.a, p.mb, p.b, d, sigma);
        },
        1e-7L, "sigma " + std::to_string(sigma));
  }
  // The divergence is zero at α = β and so is its gradient there (its minimum).
  auto [a, b] = pair_of<double>({1, 2}, {2, 0.5, 0.5, 1}, {1, 2}, {2, 0.5, 0.5, 1});
  HostGaussians<double> grad_a(2, 1), grad_b(2, 1);
  sinkhorn_divergence_gradient<double>(ctx, a.cview(), b.cview(), 0.7, grad_a.view(),
                                       grad_b.view());
  for (int e = 0; e < 4; ++e) EXPECT_NEAR(grad_a.covariances[e], 0.0, 1e-14) << e;
}

TEST_F(Entropic, RefusesBadInputNamingTheArgument) {
  auto a_and_b = pair_of<double>({0, 0}, {2, 1, 1, 2}, {1, 2}, {1, 0, 0, 3});
  auto& a = a_and_b.first;  // not bindings: the lambdas below use them
  auto& b = a_and_b.second;
  double value = 0;
  const auto run = [&](const EntropicOptions& o, Masses<double> m = {}) {
    entropic_ot<double>(ctx, a.cview(), b.cview(), value_only(scalars(&value, 1)), o, m);
  };
  expect_invalid([&] { run(sigma_options(0)); }, "'sigma'");
  expect_invalid([&] { run(sigma_options(-1)); }, "'sigma'");
  expect_invalid([&] { run(sigma_options(std::nan(""))); }, "'sigma'");
  expect_invalid([&] { run(sigma_options(1e-200)); }, "'sigma'");
  expect_invalid([&] { run(sigma_options(1, 0.0)); }, "'gamma'");
  expect_invalid([&] { run(sigma_options(1, -2.0)); }, "'gamma'");
  const double two = 2, minus = -1;
  expect_invalid([&] { run(sigma_options(1), {scalars(&two, 1), {}}); }, "'masses'");
  expect_invalid([&] { run(sigma_options(1, 1.0), {scalars(&minus, 1), {}}); }, "'masses.a'");
  // A covariance that is not PSD, or not symmetric; NaN means; mismatched dimensions.
  auto bad_and_good = pair_of<double>({0, 0}, {1, 0, 0, -1}, {0, 0}, {1, 0, 0, 1});
  auto& bad = bad_and_good.first;  // not bindings: the lambdas below use them
  auto& good = bad_and_good.second;
  expect_invalid(
      [&] {
        entropic_ot<double>(ctx, good.cview(), bad.cview(), value_only(scalars(&value, 1)),
                            sigma_options(1));
      },
      "'b.covariances'");
  expect_invalid(
      [&] {
        entropic_ot<double>(ctx, bad.cview(), good.cview(), value_only(scalars(&value, 1)),
                            sigma_options(1, 1.0));
      },
      "'a.covariances'");
  auto asym_and_ok = pair_of<double>({0, 0}, {1, 0.5, 0, 1}, {0, 0}, {1, 0, 0, 1});
  auto& asym = asym_and_ok.first;  // not bindings: the lambdas below use them
  auto& ok = asym_and_ok.second;
  expect_invalid(
      [&] { sinkhorn_divergence<double>(ctx, asym.cview(), ok.cview(), 1.0, scalars(&value, 1)); },
      "'a.covariances'");
  auto nan_mean_and_ok2 = pair_of<double>({0, std::nanl("")}, {1, 0, 0, 1}, {0, 0}, {1, 0, 0, 1});
  auto& nan_mean = nan_mean_and_ok2.first;  // not bindings: the lambdas below use them
  auto& ok2 = nan_mean_and_ok2.second;
  expect_invalid(
      [&] {
        entropic_map<double>(ctx, nan_mean.cview(), ok2.cview(), 1.0, MatrixBatch<double>(),
                             VectorBatch<double>(), MatrixBatch<double>());
      },
      "'a.means'");
  HostGaussians<double> one_d(1, 1);
  one_d.set(0, {0}, {1});
  expect_invalid(
      [&] {
        entropic_ot<double>(ctx, one_d.cview(), b.cview(), value_only(scalars(&value, 1)),
                            sigma_options(1));
      },
      "'b.covariances'");
  std::vector<double> small_plan(4);
  expect_invalid(
      [&] {
        entropic_ot<double>(ctx, a.cview(), b.cview(),
                            plan_only(square_matrices(small_plan.data(), 2, 1)), sigma_options(1));
      },
      "'out.plan_cov'");
}

// ---- CUDA against CPU --------------------------------------------------------------------------

class EntropicCudaVsCpu : public Entropic {
 protected:
  void SetUp() override { GAUSSOT_REQUIRE_CUDA(); }
};

TEST_F(EntropicCudaVsCpu, ClosedFormsAgree) {
  Context gpu = Context::cuda(0);
  const std::int64_t d = 40, k = 6, n = 2 * d;  // d > 32: XsyevBatched on the GPU
  const RandomPairs p(d, k, 111);
  const std::vector<double> ma = {1, 2, 0.5, 1.5, 1, 1}, mb = {0.3, 1, 4, 1, 2, 1};
  Array<double> mean_a(gpu, k * d), mean_b(gpu, k * d), cov_a(gpu, k * d * d),
      cov_b(gpu, k * d * d), mass_a(gpu, k), mass_b(gpu, k), value(gpu, k), transport(gpu, k),
      mass(gpu, k), plan_mean(gpu, k * n), plan_cov(gpu, k * n * n);
  copy<double>(gpu, p.a.cview().means, mean_a.vectors(d, k));
  copy<double>(gpu, p.b.cview().means, mean_b.vectors(d, k));
  copy<double>(gpu, p.a.cview().covariances, cov_a.matrices(d, d, k));
  copy<double>(gpu, p.b.cview().covariances, cov_b.matrices(d, d, k));
  copy<double>(gpu, scalars(ma.data(), k), mass_a.vectors(1, k));
  copy<double>(gpu, scalars(mb.data(), k), mass_b.vectors(1, k));
  const GaussianBatch<const double> ga{mean_a.vectors(d, k), cov_a.matrices(d, d, k)},
      gb{mean_b.vectors(d, k), cov_b.matrices(d, d, k)};
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(1.3)}) {
    const Solution cpu = gamma ? solve(ctx, p.a, p.b, sigma_options(0.7, gamma), ma, mb)
                               : solve(ctx, p.a, p.b, sigma_options(0.7));
    entropic_ot<double>(
        gpu, ga, gb,
        {value.vectors(1, k), transport.vectors(1, k), mass.vectors(1, k), plan_mean.vectors(n, k),
         plan_cov.matrices(n, n, k)},
        sigma_options(0.7, gamma),
        gamma ? Masses<double>{mass_a.vectors(1, k), mass_b.vectors(1, k)} : Masses<double>{});
    std::vector<double> v(k), c(k * n * n);
    copy<double>(gpu, value.vectors(1, k), scalars(v.data(), k));
    copy<double>(gpu, plan_cov.matrices(n, n, k), square_matrices(c.data(), n, k));
    for (std::int64_t i = 0; i < k; ++i)
      EXPECT_NEAR(v[i], cpu.value[i], 1e-10 * std::fabs(cpu.value[i]));
    for (std::size_t e = 0; e < c.size(); ++e) EXPECT_NEAR(c[e], cpu.plan_cov[e], 1e-10) << e;
  }
  std::vector<double> div_cpu(k), div_gpu(k);
  sinkhorn_divergence<double>(ctx, p.a.cview(), p.b.cview(), 0.7, scalars(div_cpu.data(), k));
  sinkhorn_divergence<double>(gpu, ga, gb, 0.7, value.vectors(1, k));
  copy<double>(gpu, value.vectors(1, k), scalars(div_gpu.data(), k));
  for (std::int64_t i = 0; i < k; ++i) EXPECT_NEAR(div_gpu[i], div_cpu[i], 1e-10 * div_cpu[i]);
}

}  // namespace
}  // namespace gaussot::test
