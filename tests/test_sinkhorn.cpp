// SPDX-License-Identifier: Apache-2.0
// The Sinkhorn of sinkhorn.hpp on the CPU, both algorithms (log domain and scaling with
// absorption) through the same tests: against an independent long-double Sinkhorn
// written here (value, transport cost, mass, potentials), the value against the primal objective
// of the returned potentials' plan evaluated here entry by entry (converged or not), balanced
// marginals, symmetry, the limits ε → ∞ (independent coupling) and ε → 0 (the assignment found
// by brute force), the one-point unbalanced problem in closed form, γ → ∞, batched against one by
// one, broadcast and padded inputs, bad input; the scaling algorithm against the log domain
// iterate by iterate at every ε (absorptions exercised at small ε); CUDA (log domain) against
// both CPU algorithms (skipped without a device).
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <optional>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

using LongVector = std::vector<long double>;

/// One problem on the host in long double: points x (d x n) and y (d x m), column-major, and
/// weights a (n) and b (m).
struct Problem {
  std::int64_t d = 0, n = 0, m = 0;
  Dense x, y;
  LongVector a, b;
  long double cost(std::int64_t i, std::int64_t j) const {
    long double c = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      const long double diff = x[k + i * d] - y[k + j * d];
      c += diff * diff;
    }
    return c;
  }
  Problem swapped() const { return {d, m, n, y, x, b, a}; }
};

/// Random points (standard normal, shifted by `shift` for y) and weights in [0.5, 1.5] scaled to
/// the totals asked for.
Problem random_problem(std::int64_t d, std::int64_t n, std::int64_t m, std::uint64_t seed,
                       long double total_a = 1, long double total_b = 1, long double shift = 0.5) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.5, 1.5);
  Problem p{d, n, m, Dense(d * n), Dense(d * m), LongVector(n), LongVector(m)};
  for (auto& v : p.x) v = normal(rng);
  for (auto& v : p.y) v = normal(rng) + shift;
  for (auto& v : p.a) v = uniform(rng);
  for (auto& v : p.b) v = uniform(rng);
  const long double sa = std::accumulate(p.a.begin(), p.a.end(), 0.0L);
  const long double sb = std::accumulate(p.b.begin(), p.b.end(), 0.0L);
  for (auto& v : p.a) v *= total_a / sa;
  for (auto& v : p.b) v *= total_b / sb;
  return p;
}

/// The primal objective of the plan π_ij = a_i b_j exp((f_i + g_j − C_ij)/ε), entry by entry:
/// ⟨π, C⟩ + ε KL(π ‖ a⊗b) [+ γ KL(π1 ‖ a) + γ KL(πᵀ1 ‖ b)], with the plan's marginals.
struct Evaluation {
  long double value = 0, transport = 0, mass = 0;
  LongVector rows, columns;
};

Evaluation evaluate(const Problem& p, long double epsilon, std::optional<long double> gamma,
                    const LongVector& f, const LongVector& g) {
  Evaluation e;
  e.rows.assign(p.n, 0);
  e.columns.assign(p.m, 0);
  long double kl = 0;
  for (std::int64_t i = 0; i < p.n; ++i) {
    for (std::int64_t j = 0; j < p.m; ++j) {
      const long double c = p.cost(i, j), ab = p.a[i] * p.b[j];
      const long double log_ratio = (f[i] + g[j] - c) / epsilon;  // log(π_ij / (a_i b_j))
      const long double pi = ab * std::exp(log_ratio);
      e.transport += pi * c;
      kl += pi * log_ratio - pi + ab;
      e.rows[i] += pi;
      e.columns[j] += pi;
      e.mass += pi;
    }
  }
  e.value = e.transport + epsilon * kl;
  if (gamma) {
    auto marginal_kl = [](const LongVector& r, const LongVector& w) {
      long double s = 0;
      for (std::size_t i = 0; i < r.size(); ++i) s += r[i] * std::log(r[i] / w[i]) - r[i] + w[i];
      return s;
    };
    e.value += *gamma * (marginal_kl(e.rows, p.a) + marginal_kl(e.columns, p.b));
  }
  return e;
}

/// An independent Sinkhorn in long double: the textbook log-domain updates (max-shifted sums),
/// iterated until the potentials move by less than 1e-16·ε, then the plan evaluated entry by
/// entry. When balanced, the movement is measured on f − f_0 and g + f_0: weights rounded to the
/// element type have totals that differ in the last bit, and then f and g drift by opposite
/// constants.
struct ReferenceSolution {
  LongVector f, g;
  Evaluation plan;
};

ReferenceSolution reference_sinkhorn(const Problem& p, long double epsilon,
                                     std::optional<long double> gamma) {
  const long double tau = gamma ? *gamma / (*gamma + epsilon) : 1.0L;
  LongVector f(p.n, 0), g(p.m, 0), terms;
  // −τε LSE_k(log w_k + (h_k − C(row, k))/ε) over the other side's points k.
  auto update = [&](const LongVector& w, const LongVector& h, auto cost) {
    terms.clear();
    for (std::size_t k = 0; k < w.size(); ++k)
      terms.push_back(std::log(w[k]) + (h[k] - cost(k)) / epsilon);
    const long double top = *std::max_element(terms.begin(), terms.end());
    long double sum = 0;
    for (long double t : terms) sum += std::exp(t - top);
    return -tau * epsilon * (top + std::log(sum));
  };
  for (int iteration = 0; iteration < 1000000; ++iteration) {
    const LongVector f_before = f, g_before = g;
    for (std::int64_t i = 0; i < p.n; ++i)
      f[i] = update(p.b, g, [&](std::size_t j) { return p.cost(i, j); });
    for (std::int64_t j = 0; j < p.m; ++j)
      g[j] = update(p.a, f, [&](std::size_t i) { return p.cost(i, j); });
    const long double gauge = gamma ? 0.0L : f[0] - f_before[0];
    long double change = 0;
    for (std::int64_t i = 0; i < p.n; ++i)
      change = std::max(change, std::fabs(f[i] - f_before[i] - gauge));
    for (std::int64_t j = 0; j < p.m; ++j)
      change = std::max(change, std::fabs(g[j] - g_before[j] + gauge));
    if (change < 1e-16L * epsilon) break;
  }
  return {f, g, evaluate(p, epsilon, gamma, f, g)};
}

/// gaussot's answer for a batch of problems of one shape (host views, optionally padded).
template <typename T>
struct Solved {
  SinkhornReport report;
  std::vector<T> value, transport, mass, f, g;
  LongVector f_of(std::int64_t i, std::int64_t n) const {
    return LongVector(f.begin() + i * n, f.begin() + (i + 1) * n);
  }
  LongVector g_of(std::int64_t i, std::int64_t m) const {
    return LongVector(g.begin() + i * m, g.begin() + (i + 1) * m);
  }
};

SinkhornOptions options_for(double sigma, std::optional<double> gamma, double tolerance,
                            int max_iterations = 100000, int check_every = 10) {
  SinkhornOptions o;
  o.sigma = sigma;
  o.gamma = gamma;
  o.tolerance = tolerance;
  o.max_iterations = max_iterations;
  o.check_every = check_every;
  return o;
}

template <typename T>
Solved<T> run(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y, VectorBatch<const T> wx,
              VectorBatch<const T> wy, const SinkhornOptions& options) {
  const std::int64_t k = x.count, n = x.cols, m = y.cols;
  Solved<T> s;
  s.value.assign(k, T(0));
  s.transport.assign(k, T(0));
  s.mass.assign(k, T(0));
  s.f.assign(k * n, T(0));
  s.g.assign(k * m, T(0));
  s.report =
      sinkhorn<T>(ctx, x, y, wx, wy,
                  {scalars(s.value.data(), k), scalars(s.transport.data(), k),
                   scalars(s.mass.data(), k), vectors(s.f.data(), n, k), vectors(s.g.data(), m, k)},
                  options);
  return s;
}

/// Host batches of a list of problems of one shape, with optional padding.
template <typename T>
struct Batch {
  HostBatch<T> x, y;
  HostVectors<T> a, b;
  Batch(const std::vector<Problem>& problems, std::int64_t pad = 0)
      : x(problems[0].d, problems[0].n, std::int64_t(problems.size()), pad, pad),
        y(problems[0].d, problems[0].m, std::int64_t(problems.size()), pad, 2 * pad),
        a(problems[0].n, std::int64_t(problems.size()), pad),
        b(problems[0].m, std::int64_t(problems.size()), 3 * pad) {
    for (std::size_t i = 0; i < problems.size(); ++i) {
      x.set_item(i, problems[i].x);
      y.set_item(i, problems[i].y);
      for (std::int64_t j = 0; j < problems[i].n; ++j) a.view.at(i, j) = T(problems[i].a[j]);
      for (std::int64_t j = 0; j < problems[i].m; ++j) b.view.at(i, j) = T(problems[i].b[j]);
    }
  }
  Solved<T> solve(Context& ctx, const SinkhornOptions& options) const {
    return run<T>(ctx, x.cview(), y.cview(), a.view, b.view, options);
  }
};

/// The problem as the element type sees it (rounded points and weights), for the references.
template <typename T>
Problem rounded(Problem p) {
  for (auto* v : {&p.x, &p.y, &p.a, &p.b})
    for (auto& e : *v) e = static_cast<long double>(static_cast<T>(e));
  return p;
}

/// Stopping tolerance and agreement bound of the element type.
template <typename T>
class SinkhornTest : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  static double tolerance() { return std::is_same_v<T, double> ? 1e-12 : 1e-5; }
  static double bar() { return std::is_same_v<T, double> ? 1e-10 : 2e-4; }
};

/// An element type and an algorithm: the tests below run for both algorithms.
template <typename T, SinkhornAlgorithm A>
struct Setup {
  using type = T;
  static constexpr SinkhornAlgorithm algorithm = A;
};

template <typename P>
class Sinkhorn : public SinkhornTest<typename P::type> {
 protected:
  static SinkhornOptions options(double sigma, std::optional<double> gamma, double tolerance,
                                 int max_iterations = 100000, int check_every = 10) {
    SinkhornOptions o = options_for(sigma, gamma, tolerance, max_iterations, check_every);
    o.algorithm = P::algorithm;
    return o;
  }
};
using Setups = ::testing::Types<
    Setup<float, SinkhornAlgorithm::log_domain>, Setup<float, SinkhornAlgorithm::scaling>,
    Setup<double, SinkhornAlgorithm::log_domain>, Setup<double, SinkhornAlgorithm::scaling>>;
struct SetupNames {
  template <typename P>
  static std::string GetName(int) {
    return std::string(std::is_same_v<typename P::type, double> ? "f64_" : "f32_") +
           (P::algorithm == SinkhornAlgorithm::scaling ? "scaling" : "log_domain");
  }
};
TYPED_TEST_SUITE(Sinkhorn, Setups, SetupNames);
using Precisions = ::testing::Types<float, double>;

TYPED_TEST(Sinkhorn, AgreesWithAnIndependentLongDoubleSinkhorn) {
  using T = typename TypeParam::type;
  struct Case {
    std::int64_t d, n, m;
    double sigma;
    std::optional<double> gamma;
    long double total_a, total_b;
  };
  for (const Case& c : {Case{3, 5, 7, 0.6, std::nullopt, 1, 1}, Case{2, 6, 4, 1.0, 2.0, 1.5, 0.7},
                        Case{1, 3, 3, 0.3, std::nullopt, 2, 2}, Case{4, 8, 5, 0.8, 0.5, 1, 1}}) {
    SCOPED_TRACE(::testing::Message() << "d " << c.d << " n " << c.n << " m " << c.m << " gamma "
                                      << c.gamma.value_or(-1));
    const Problem p =
        rounded<T>(random_problem(c.d, c.n, c.m, 17 + c.n, c.total_a, c.total_b, 0.4L));
    const long double epsilon = 2.0L * c.sigma * c.sigma;
    const ReferenceSolution ref = reference_sinkhorn(p, epsilon, c.gamma);
    const Batch<T> batch({p});
    const Solved<T> s = batch.solve(this->ctx, this->options(c.sigma, c.gamma, this->tolerance()));
    ASSERT_TRUE(s.report.converged[0]) << s.report.marginal_error[0];
    const double scale = double(std::fabs(ref.plan.value)) + double(ref.plan.transport);
    EXPECT_NEAR(s.value[0], double(ref.plan.value), this->bar() * scale);
    EXPECT_NEAR(s.transport[0], double(ref.plan.transport), this->bar() * scale);
    EXPECT_NEAR(s.mass[0], double(ref.plan.mass), this->bar() * double(ref.plan.mass));
    // Potentials: unique when unbalanced; up to (f + κ, g − κ) when balanced, so compare f − f₀
    // and g + f₀.
    const LongVector f = s.f_of(0, p.n), g = s.g_of(0, p.m);
    const long double shift = c.gamma ? 0.0L : f[0] - ref.f[0];
    const double potential_bar = this->bar() * (1 + double(epsilon)) * 10;
    for (std::int64_t i = 0; i < p.n; ++i)
      EXPECT_NEAR(double(f[i] - shift), double(ref.f[i]), potential_bar) << i;
    for (std::int64_t j = 0; j < p.m; ++j)
      EXPECT_NEAR(double(g[j] + shift), double(ref.g[j]), potential_bar) << j;
  }
}

TYPED_TEST(Sinkhorn, ValueIsThePrimalObjectiveOfTheReturnedPlanConvergedOrNot) {
  using T = typename TypeParam::type;
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(0.7)}) {
    const Problem p = rounded<T>(random_problem(3, 9, 6, 5, 1, gamma ? 2.0L : 1.0L));
    const Batch<T> batch({p});
    for (int iterations : {1, 3, 12}) {
      SCOPED_TRACE(::testing::Message()
                   << iterations << " iterations, gamma " << gamma.value_or(-1));
      const Solved<T> s = batch.solve(this->ctx, this->options(0.5, gamma, 0.0, iterations, 1));
      EXPECT_FALSE(s.report.converged[0]);  // tolerance 0 is not reached
      EXPECT_EQ(s.report.iterations[0], iterations);
      const Evaluation e = evaluate(p, 0.5L, gamma, s.f_of(0, p.n), s.g_of(0, p.m));
      const double scale = double(std::fabs(e.value) + e.transport);
      EXPECT_NEAR(s.value[0], double(e.value), this->bar() * scale);
      EXPECT_NEAR(s.transport[0], double(e.transport), this->bar() * scale);
      EXPECT_NEAR(s.mass[0], double(e.mass), this->bar() * double(e.mass));
      // The reported stopping quantity is that of the returned plan.
      if (!gamma) {
        long double l1 = 0;
        for (std::int64_t i = 0; i < p.n; ++i) l1 += std::fabs(e.rows[i] - p.a[i]);
        EXPECT_NEAR(s.report.marginal_error[0], double(l1), 20 * this->bar() * (1 + double(l1)));
      }
    }
  }
}

TYPED_TEST(Sinkhorn, BalancedMarginalsMeetTheTolerance) {
  using T = typename TypeParam::type;
  const Problem p = rounded<T>(random_problem(2, 30, 20, 8));
  const double tolerance = std::is_same_v<T, double> ? 1e-9 : 1e-4;
  const Solved<T> s = Batch<T>({p}).solve(this->ctx, this->options(0.3, std::nullopt, tolerance));
  ASSERT_TRUE(s.report.converged[0]);
  EXPECT_LE(s.report.marginal_error[0], tolerance);
  EXPECT_EQ(s.report.iterations[0] % 10, 0);
  const Evaluation e = evaluate(p, 0.18L, std::nullopt, s.f_of(0, p.n), s.g_of(0, p.m));
  long double row_error = 0, column_error = 0;
  for (std::int64_t i = 0; i < p.n; ++i) row_error += std::fabs(e.rows[i] - p.a[i]);
  for (std::int64_t j = 0; j < p.m; ++j) column_error += std::fabs(e.columns[j] - p.b[j]);
  EXPECT_LE(double(row_error), tolerance * 1.01 + 10 * eps<T>());
  // The y-marginal is exact after the g-update, up to rounding.
  EXPECT_LE(double(column_error), 100 * double(eps<T>()) * p.m);
}

TYPED_TEST(Sinkhorn, ValueIsSymmetricInTheTwoSides) {
  using T = typename TypeParam::type;
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(1.3)}) {
    const Problem p = rounded<T>(random_problem(3, 7, 11, 23, 1, gamma ? 0.6L : 1.0L));
    const Solved<T> forward =
        Batch<T>({p}).solve(this->ctx, this->options(0.7, gamma, this->tolerance()));
    const Solved<T> backward =
        Batch<T>({p.swapped()}).solve(this->ctx, this->options(0.7, gamma, this->tolerance()));
    EXPECT_NEAR(forward.value[0], backward.value[0], this->bar() * std::fabs(forward.value[0]));
    EXPECT_NEAR(forward.transport[0], backward.transport[0], this->bar() * forward.transport[0]);
    EXPECT_NEAR(forward.mass[0], backward.mass[0], this->bar() * forward.mass[0]);
  }
}

TYPED_TEST(Sinkhorn, LargeEpsilonGivesTheIndependentCoupling) {
  using T = typename TypeParam::type;
  const Problem p = rounded<T>(random_problem(2, 6, 9, 31));
  long double independent = 0;
  for (std::int64_t i = 0; i < p.n; ++i)
    for (std::int64_t j = 0; j < p.m; ++j) independent += p.a[i] * p.b[j] * p.cost(i, j);
  // The plan differs from a⊗b by O(C/ε) and OT_ε from Σ a_i b_j C_ij by about Var(C)/(2ε) (a⊗b is
  // feasible, so OT_ε is below it). ε = 2·10⁶ in double; in float the log-weights' rounding
  // (~1e-7) must stay small against C/ε, so ε = 5·10³ there.
  const bool is_double = std::is_same_v<T, double>;
  const double sigma = is_double ? 1e3 : 50.0;
  const double bar = (is_double ? 1e-5 : 2e-3) * double(independent);
  const Solved<T> s =
      Batch<T>({p}).solve(this->ctx, this->options(sigma, std::nullopt, this->tolerance()));
  ASSERT_TRUE(s.report.converged[0]);
  EXPECT_NEAR(s.transport[0], double(independent), bar);
  EXPECT_NEAR(s.value[0], double(independent), bar);
  if (is_double) {
    EXPECT_LE(s.value[0], double(independent) * (1 + 1e-12));
  }
}

/// Limits, for both algorithms.
class SinkhornLimits : public ::testing::TestWithParam<SinkhornAlgorithm> {
 protected:
  SinkhornOptions options(double sigma, std::optional<double> gamma, double tolerance,
                          int max_iterations) const {
    SinkhornOptions o = options_for(sigma, gamma, tolerance, max_iterations);
    o.algorithm = GetParam();
    return o;
  }
};
INSTANTIATE_TEST_SUITE_P(Algorithms, SinkhornLimits,
                         ::testing::Values(SinkhornAlgorithm::log_domain,
                                           SinkhornAlgorithm::scaling),
                         [](const auto& info) {
                           return info.param == SinkhornAlgorithm::scaling ? "scaling"
                                                                           : "log_domain";
                         });

TEST_P(SinkhornLimits, SmallEpsilonApproachesTheAssignmentFoundByBruteForce) {
  Context ctx = Context::cpu();
  Problem p = random_problem(2, 4, 4, 41);
  for (auto& v : p.x)
    v *= 0.5L;  // costs of order 1: Sinkhorn converges in well under 10⁶ iterations
  for (auto& v : p.y) v *= 0.5L;
  p.a.assign(4, 0.25L);
  p.b.assign(4, 0.25L);
  std::array<int, 4> perm = {0, 1, 2, 3};
  long double best = INFINITY;
  do {
    long double c = 0;
    for (int i = 0; i < 4; ++i) c += 0.25L * p.cost(i, perm[i]);
    best = std::min(best, c);
  } while (std::next_permutation(perm.begin(), perm.end()));
  double previous_gap = INFINITY;
  const double tolerance = 1e-9;
  for (double sigma : {0.5, 0.3, 0.2, 0.15}) {
    const double epsilon = 2 * sigma * sigma;
    const Solved<double> s =
        Batch<double>({p}).solve(ctx, options(sigma, std::nullopt, tolerance, 2000000));
    ASSERT_TRUE(s.report.converged[0]) << sigma;
    // OT_0 <= ⟨π, C⟩ <= OT_ε <= OT_0 + ε log n: the assignment plan P is feasible with
    // KL(P ‖ a⊗b) = log n. (Up to the marginal error times the largest cost, < 1e-8 here.)
    const double gap = s.value[0] - double(best);
    EXPECT_GE(s.transport[0], double(best) - 1e-8) << sigma;
    EXPECT_GE(s.value[0], s.transport[0] - 1e-8) << sigma;
    EXPECT_LE(gap, epsilon * std::log(4.0) + 1e-8) << sigma;
    EXPECT_LT(gap, previous_gap) << sigma;
    previous_gap = gap;
  }
}

TYPED_TEST(Sinkhorn, OnePointUnbalancedProblemInClosedForm) {
  using T = typename TypeParam::type;
  // min_m m C + ε(m log(m/(ab)) − m + ab) + γ(m log(m/a) − m + a) + γ(m log(m/b) − m + b):
  // log m = (ε log(ab) + γ log a + γ log b − C)/(ε + 2γ).
  struct Case {
    double a, b, x, y, sigma, gamma;
  };
  for (const Case& c : {Case{1.0, 1.0, 0.0, 1.0, 0.7, 1.0}, Case{2.0, 0.5, -1.0, 0.5, 0.4, 3.0},
                        Case{0.3, 4.0, 2.0, 2.5, 1.2, 0.2}}) {
    const long double epsilon = 2.0L * c.sigma * c.sigma, cost = (c.x - c.y) * (c.x - c.y);
    const long double log_m =
        (epsilon * std::log((long double)c.a * c.b) + c.gamma * std::log((long double)c.a) +
         c.gamma * std::log((long double)c.b) - cost) /
        (epsilon + 2 * c.gamma);
    const long double mass = std::exp(log_m);
    const long double value = mass * cost +
                              epsilon * (mass * std::log(mass / (c.a * c.b)) - mass + c.a * c.b) +
                              c.gamma * (mass * std::log(mass / c.a) - mass + c.a) +
                              c.gamma * (mass * std::log(mass / c.b) - mass + c.b);
    const T x = T(c.x), y = T(c.y), a = T(c.a), b = T(c.b);
    const Solved<T> s =
        run<T>(this->ctx, matrices(&x, 1, 1, 1), matrices(&y, 1, 1, 1), vectors(&a, 1, 1),
               vectors(&b, 1, 1), this->options(c.sigma, c.gamma, this->tolerance()));
    ASSERT_TRUE(s.report.converged[0]);
    EXPECT_NEAR(s.mass[0], double(mass), this->bar() * double(mass)) << c.a;
    EXPECT_NEAR(s.value[0], double(value), this->bar() * (1 + std::fabs(double(value)))) << c.a;
    EXPECT_NEAR(s.transport[0], double(mass * cost), this->bar() * (1 + double(cost))) << c.a;
  }
}

TEST_P(SinkhornLimits, LargeGammaApproachesTheBalancedValue) {
  Context ctx = Context::cpu();
  const Problem p = random_problem(2, 8, 6, 53);
  const Batch<double> batch({p});
  const double balanced = batch.solve(ctx, options(0.5, std::nullopt, 1e-12, 100000)).value[0];
  // UOT_γ = OT + O(1/γ); the translation mode of the potentials contracts by about 1 − 2ε/γ per
  // iteration, so large γ needs ~γ/ε iterations.
  std::vector<double> gaps;
  for (double gamma : {1e1, 1e2, 1e3, 1e4}) {
    const Solved<double> s = batch.solve(ctx, options(0.5, gamma, 1e-10, 1000000));
    ASSERT_TRUE(s.report.converged[0]) << gamma;
    gaps.push_back(std::fabs(s.value[0] - balanced));
    EXPECT_LT(s.value[0], balanced) << gamma;  // the balanced plan is feasible with zero penalty
    EXPECT_NEAR(s.mass[0], 1.0, 50 / gamma) << gamma;
  }
  for (std::size_t i = 1; i < gaps.size(); ++i) {
    EXPECT_LT(gaps[i], gaps[i - 1] / 5) << i;  // about 1/γ
  }
  EXPECT_LT(gaps.back(), 1e-3 * std::fabs(balanced));
}

TYPED_TEST(Sinkhorn, BatchedAgreesWithOneByOneOnPaddedBatches) {
  using T = typename TypeParam::type;
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(0.9)}) {
    std::vector<Problem> problems;
    for (int i = 0; i < 5; ++i) {
      problems.push_back(
          rounded<T>(random_problem(3, 40, 33, 100 + i, 1, gamma ? 1.5L : 1.0L, 0.3L * i)));
    }
    // Different scales converge at different checks: each problem stops on its own.
    const SinkhornOptions options = this->options(0.45, gamma, this->tolerance(), 100000, 7);
    const Solved<T> batched = Batch<T>(problems, 3).solve(this->ctx, options);
    for (std::size_t i = 0; i < problems.size(); ++i) {
      const Solved<T> single = Batch<T>({problems[i]}).solve(this->ctx, options);
      EXPECT_EQ(batched.report.iterations[i], single.report.iterations[0]) << i;
      EXPECT_EQ(batched.report.converged[i], single.report.converged[0]) << i;
      EXPECT_EQ(batched.report.marginal_error[i], single.report.marginal_error[0]) << i;
      EXPECT_EQ(batched.value[i], single.value[0]) << i;
      EXPECT_EQ(batched.transport[i], single.transport[0]) << i;
      EXPECT_EQ(batched.mass[i], single.mass[0]) << i;
      for (std::int64_t j = 0; j < problems[i].n; ++j)
        EXPECT_EQ(batched.f[i * problems[i].n + j], single.f[j]) << i << " " << j;
      for (std::int64_t j = 0; j < problems[i].m; ++j)
        EXPECT_EQ(batched.g[i * problems[i].m + j], single.g[j]) << i << " " << j;
    }
  }
}

TYPED_TEST(Sinkhorn, BroadcastInputsAndDefaultWeights) {
  using T = typename TypeParam::type;
  const std::int64_t k = 3;
  std::vector<Problem> problems;
  for (int i = 0; i < k; ++i) problems.push_back(rounded<T>(random_problem(2, 12, 10, 60 + i)));
  const Batch<T> batch(problems);
  const SinkhornOptions options = this->options(0.6, std::nullopt, this->tolerance());
  // x broadcast (item 1 repeated), y and the weights per problem.
  const Solved<T> broadcast_x = run<T>(this->ctx, broadcast(batch.x.cview().slice(1, 2), k),
                                       batch.y.cview(), batch.a.view, batch.b.view, options);
  // x and y both broadcast, the weights per problem: one cost matrix for all.
  const Solved<T> broadcast_both =
      run<T>(this->ctx, broadcast(batch.x.cview().slice(1, 2), k),
             broadcast(batch.y.cview().slice(1, 2), k), batch.a.view, batch.b.view, options);
  // Default (uniform) weights against explicit uniform weights, broadcast.
  std::vector<T> uniform_a(12, T(1) / T(12)), uniform_b(10, T(1) / T(10));
  const Solved<T> defaults = run<T>(this->ctx, batch.x.cview(), batch.y.cview(),
                                    VectorBatch<const T>(), VectorBatch<const T>(), options);
  const Solved<T> explicit_uniform = run<T>(
      this->ctx, batch.x.cview(), batch.y.cview(), VectorBatch<const T>(uniform_a.data(), 12, 0, k),
      VectorBatch<const T>(uniform_b.data(), 10, 0, k), options);
  for (std::int64_t i = 0; i < k; ++i) {
    Problem with_x1 = problems[i];
    with_x1.x = problems[1].x;
    const Solved<T> single_x = Batch<T>({with_x1}).solve(this->ctx, options);
    EXPECT_EQ(broadcast_x.value[i], single_x.value[0]) << i;
    Problem both = with_x1;
    both.y = problems[1].y;
    const Solved<T> single_both = Batch<T>({both}).solve(this->ctx, options);
    EXPECT_EQ(broadcast_both.value[i], single_both.value[0]) << i;
    EXPECT_EQ(broadcast_both.transport[i], single_both.transport[0]) << i;
    // log(1/n) rounded differs from −log n rounded by an ulp: the same problem, not the same bits.
    EXPECT_NEAR(defaults.value[i], explicit_uniform.value[i], this->bar() * defaults.value[i]) << i;
    Problem uniform = problems[i];
    uniform.a.assign(12, 1.0L / 12);
    uniform.b.assign(10, 1.0L / 10);
    const ReferenceSolution ref = reference_sinkhorn(rounded<T>(uniform), 0.72L, std::nullopt);
    EXPECT_NEAR(defaults.value[i], double(ref.plan.value), this->bar() * double(ref.plan.value));
  }
}

TYPED_TEST(Sinkhorn, OutputsAreOptional) {
  using T = typename TypeParam::type;
  const Problem p = rounded<T>(random_problem(2, 5, 4, 77));
  const Batch<T> batch({p});
  const SinkhornOptions options = this->options(0.5, 1.0, this->tolerance());
  const Solved<T> all = batch.solve(this->ctx, options);
  T value = 0;
  SinkhornOutputs<T> only_value;
  only_value.value = scalars(&value, 1);
  const SinkhornReport report = sinkhorn<T>(this->ctx, batch.x.cview(), batch.y.cview(),
                                            batch.a.view, batch.b.view, only_value, options);
  EXPECT_EQ(value, all.value[0]);
  EXPECT_EQ(report.iterations[0], all.report.iterations[0]);
  // count 0: an empty report, nothing read.
  const SinkhornReport empty =
      sinkhorn<T>(this->ctx, MatrixBatch<const T>(nullptr, 2, 5, 2, 10, 0),
                  MatrixBatch<const T>(nullptr, 2, 4, 2, 8, 0), VectorBatch<const T>(),
                  VectorBatch<const T>(), {}, options);
  EXPECT_TRUE(empty.iterations.empty());
}

// ---- the scaling algorithm against the log domain ------------------------------------------

template <typename T>
class SinkhornScaling : public SinkhornTest<T> {
 protected:
  Solved<T> solve(const Batch<T>& batch, SinkhornOptions o, SinkhornAlgorithm algorithm) {
    o.algorithm = algorithm;
    return batch.solve(this->ctx, o);
  }
};
TYPED_TEST_SUITE(SinkhornScaling, Precisions);

/// Both algorithms make the same iterates: after the same number of iterations (tolerance 0), the
/// same potentials, value, transport cost, mass and stopping quantity, at every ε; at small ε the
/// kernel of the potentials 0, exp(−C/ε), underflows (C/ε up to ~10⁴ here, beyond e^−700 in
/// double and e^−80 in float), so the scaling algorithm is right only through its absorptions
/// (counted in the report). Balanced and unbalanced, weights of unequal totals, a batch of three
/// problems at different scales (each absorbs on its own), several check intervals.
TYPED_TEST(SinkhornScaling, MakesTheIteratesOfTheLogDomainAtEveryEpsilon) {
  using T = TypeParam;
  const bool is_double = std::is_same_v<T, double>;
  // Float's exponents (f + g − C)/ε carry rounding of ~1e-7·C/ε: it stops at ε ~ 1e-2.
  const std::vector<double> sigmas = is_double ? std::vector<double>{2.0, 0.5, 0.1, 0.03, 0.01}
                                               : std::vector<double>{2.0, 0.5, 0.1};
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(0.3)}) {
    std::vector<Problem> problems;
    for (int i = 0; i < 3; ++i)
      problems.push_back(
          rounded<T>(random_problem(2, 37, 29, 300 + i, 1.3L, gamma ? 0.8L : 1.3L, 0.5L * i)));
    for (std::int64_t j = 0; j < problems[2].d * problems[2].n; ++j) problems[2].x[j] *= 2;
    const Batch<T> batch(problems, 1);
    for (double sigma : sigmas) {
      for (int iterations : {1, 7, 60}) {
        SCOPED_TRACE(::testing::Message() << "sigma " << sigma << " gamma " << gamma.value_or(-1)
                                          << " iterations " << iterations);
        const SinkhornOptions o = options_for(sigma, gamma, 0.0, iterations, 3);
        const Solved<T> log = this->solve(batch, o, SinkhornAlgorithm::log_domain);
        const Solved<T> scaled = this->solve(batch, o, SinkhornAlgorithm::scaling);
        const double epsilon = 2 * sigma * sigma;
        for (std::size_t i = 0; i < problems.size(); ++i) {
          const std::int64_t n = problems[i].n, m = problems[i].m;
          // At large ε the log domain may reach a marginal error or change of exactly 0 early
          // (tolerance 0): both are converged to rounding then.
          EXPECT_LE(scaled.report.iterations[i], iterations) << i;
          EXPECT_LE(log.report.iterations[i], iterations) << i;
          EXPECT_EQ(log.report.absorptions[i], 0) << i;
          if (sigma <= (is_double ? 0.03 : 0.1) && iterations > 1) {
            EXPECT_GT(scaled.report.absorptions[i], 0) << i;
          }
          const double scale = std::fabs(double(log.value[i])) + double(log.transport[i]);
          EXPECT_NEAR(scaled.value[i], log.value[i], this->bar() * scale) << i;
          EXPECT_NEAR(scaled.transport[i], log.transport[i], this->bar() * scale) << i;
          EXPECT_NEAR(scaled.mass[i], log.mass[i], this->bar() * double(log.mass[i])) << i;
          EXPECT_NEAR(scaled.report.marginal_error[i], log.report.marginal_error[i],
                      this->bar() * (1 + log.report.marginal_error[i]))
              << i;
          // The potentials to rounding of the exponents: ε·(bar relative to C/ε ~ 10⁴).
          const double potential_bar = 100 * this->bar() * (1 + epsilon);
          for (std::int64_t j = 0; j < n; ++j)
            EXPECT_NEAR(scaled.f[i * n + j], log.f[i * n + j], potential_bar) << i << " " << j;
          for (std::int64_t j = 0; j < m; ++j)
            EXPECT_NEAR(scaled.g[i * m + j], log.g[i * m + j], potential_bar) << i << " " << j;
        }
      }
    }
  }
}

/// At small ε, where an exp-domain Sinkhorn without absorption breaks down (clouds 2 apart: the
/// potentials reach ~C_min ≫ 700ε in double, 80ε in float, so POT's ot.sinkhorn overflows its
/// scalings and returns NaN), the scaling algorithm converges to the plan of the log domain in
/// the same number of iterations, through absorptions; balanced and unbalanced, a batch of two
/// with y broadcast.
TYPED_TEST(SinkhornScaling, ConvergesWithTheLogDomainAtSmallEpsilon) {
  using T = TypeParam;
  const bool is_double = std::is_same_v<T, double>;
  const double sigma = is_double ? 0.06 : 0.15, tolerance = is_double ? 1e-8 : 1e-4;
  std::vector<Problem> problems = {rounded<T>(random_problem(2, 80, 70, 73, 1, 1, 2.0L)),
                                   rounded<T>(random_problem(2, 80, 70, 75, 1, 1, 2.0L))};
  problems[1].y = problems[0].y;
  Batch<T> batch(problems);
  const MatrixBatch<const T> y = broadcast(batch.y.cview().slice(0, 1), 2);
  SinkhornOptions o = options_for(sigma, std::nullopt, tolerance, 50000);
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(1.0)}) {
    SCOPED_TRACE(::testing::Message() << "gamma " << gamma.value_or(-1));
    o.gamma = gamma;
    o.algorithm = SinkhornAlgorithm::log_domain;
    const Solved<T> log = run<T>(this->ctx, batch.x.cview(), y, batch.a.view, batch.b.view, o);
    o.algorithm = SinkhornAlgorithm::scaling;
    const Solved<T> scaled = run<T>(this->ctx, batch.x.cview(), y, batch.a.view, batch.b.view, o);
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(log.report.converged[i]) << i;
      ASSERT_TRUE(scaled.report.converged[i]) << i;
      EXPECT_NEAR(scaled.report.iterations[i], log.report.iterations[i], o.check_every) << i;
      EXPECT_GT(scaled.report.absorptions[i], 0) << i;
      const double scale = std::fabs(double(log.value[i])) + double(log.transport[i]);
      EXPECT_NEAR(scaled.value[i], log.value[i], 10 * this->bar() * scale) << i;
      EXPECT_NEAR(scaled.transport[i], log.transport[i], 10 * this->bar() * scale) << i;
      EXPECT_NEAR(scaled.mass[i], log.mass[i], 10 * this->bar() * double(log.mass[i])) << i;
    }
  }
}

TEST(SinkhornErrors, AlgorithmIsChecked) {
  Context ctx = Context::cpu();
  const Batch<double> batch({random_problem(2, 4, 3, 1)});
  SinkhornOptions o = options_for(0.5, std::nullopt, 1e-9);
  o.algorithm = static_cast<SinkhornAlgorithm>(7);
  expect_invalid([&] { batch.solve(ctx, o); }, "'options.algorithm' is not a SinkhornAlgorithm");
}

TEST(SinkhornErrors, BadInputNamesTheArgumentAndItem) {
  Context ctx = Context::cpu();
  std::vector<Problem> problems = {random_problem(2, 4, 3, 1), random_problem(2, 4, 3, 2)};
  Batch<double> batch(problems);
  const SinkhornOptions ok = options_for(0.5, std::nullopt, 1e-9);
  auto call = [&](MatrixBatch<const double> x, MatrixBatch<const double> y,
                  VectorBatch<const double> a, VectorBatch<const double> b,
                  const SinkhornOptions& o, SinkhornOutputs<double> out = {}) {
    return [=, &ctx] { sinkhorn<double>(ctx, x, y, a, b, out, o); };
  };
  const auto x = batch.x.cview(), y = batch.y.cview();
  const VectorBatch<const double> a = batch.a.view, b = batch.b.view;
  // Points whose squared distances overflow: the breakdown is refused, naming 'x' and the problem.
  Batch<double> far(problems);
  for (std::int64_t j = 0; j < problems[1].n; ++j) far.x.view.at(1, 0, j) *= 1e160;
  expect_invalid(call(far.x.cview(), y, a, b, ok), "'x' batch item 1: the iterations produced");
  // Options.
  for (double sigma : {0.0, -1.0, double(NAN), double(INFINITY)}) {
    SinkhornOptions o = ok;
    o.sigma = sigma;
    expect_invalid(call(x, y, a, b, o), "'options.sigma'");
  }
  for (double gamma : {0.0, -2.0, double(NAN), double(INFINITY)}) {
    SinkhornOptions o = ok;
    o.gamma = gamma;
    expect_invalid(call(x, y, a, b, o), "'options.gamma'");
  }
  {
    SinkhornOptions o = ok;
    o.tolerance = -1;
    expect_invalid(call(x, y, a, b, o), "'options.tolerance'");
    o = ok;
    o.max_iterations = 0;
    expect_invalid(call(x, y, a, b, o), "'options.max_iterations'");
    o = ok;
    o.check_every = 0;
    expect_invalid(call(x, y, a, b, o), "'options.check_every'");
  }
  // Shapes.
  HostBatch<double> y3(3, 3, 2);
  expect_invalid(call(x, y3.cview(), a, b, ok), "'y' has points of dimension 3");
  expect_invalid(call(x, y.slice(0, 1), a, b, ok), "'y' has 1 batch items, expected 2");
  expect_invalid(call(x, y, a.slice(0, 1), b, ok), "'weights_x' has 1 batch items");
  HostVectors<double> b5(5, 2);
  expect_invalid(call(x, y, a, b5.view, ok), "'weights_y' has length 5, expected 3");
  MatrixBatch<const double> on_device = x;
  on_device.space = MemorySpace::device;
  expect_invalid(call(on_device, y, a, b, ok), "'x' is in device memory");
  std::vector<double> small(2);
  SinkhornOutputs<double> bad_f;
  bad_f.f = vectors(small.data(), 1, 2);
  expect_invalid(call(x, y, a, b, ok, bad_f), "'out.f' has length 1, expected 4");
  std::vector<double> values(4);
  SinkhornOutputs<double> overlapping;
  overlapping.value = scalars(values.data(), 2);
  overlapping.plan_mass = scalars(values.data() + 1, 2);
  expect_invalid(call(x, y, a, b, ok, overlapping), "'out.plan_mass' must not share memory");
  // Values, naming the item.
  Batch<double> nan_batch(problems);
  nan_batch.y.view.at(1, 0, 2) = NAN;
  expect_invalid(call(x, nan_batch.y.cview(), a, b, ok),
                 "'y' has a NaN or infinite entry in batch item 1");
  nan_batch.x.view.at(0, 1, 1) = INFINITY;
  expect_invalid(call(nan_batch.x.cview(), y, a, b, ok),
                 "'x' has a NaN or infinite entry in batch item 0");
  Batch<double> weights(problems);
  weights.a.view.at(1, 2) = 0;
  expect_invalid(call(x, y, weights.a.view, b, ok),
                 "'weights_x' must be finite and > 0: batch item 1, entry 2");
  weights.b.view.at(0, 0) = NAN;
  expect_invalid(call(x, y, a, weights.b.view, ok),
                 "'weights_y' must be finite and > 0: batch item 0");
  Batch<double> unequal(problems);
  unequal.b.view.at(1, 0) *= 1.01;
  expect_invalid(call(x, y, a, unequal.b.view, ok), "'weights_y' must have the total of weights_x");
  try {
    sinkhorn<double>(ctx, x, y, a, unequal.b.view, {}, ok);
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "weights_y");
    EXPECT_EQ(e.batch_index(), 1);
  }
  // Unbalanced problems take any totals.
  SinkhornOptions unbalanced = ok;
  unbalanced.gamma = 1.0;
  EXPECT_NO_THROW(sinkhorn<double>(ctx, x, y, a, unequal.b.view, {}, unbalanced));
  // Within 1e-10 relative the totals count as equal.
  Batch<double> nearly(problems);
  nearly.b.view.at(1, 0) *= 1 + 1e-12;
  EXPECT_NO_THROW(sinkhorn<double>(ctx, x, y, a, nearly.b.view, {}, ok));
}

TEST(SinkhornErrors, NotConvergingIsReportedNotThrown) {
  Context ctx = Context::cpu();
  const Problem p = random_problem(2, 20, 20, 3);
  const Solved<double> s =
      Batch<double>({p}).solve(ctx, options_for(0.05, std::nullopt, 1e-14, 25, 10));
  EXPECT_FALSE(s.report.converged[0]);
  EXPECT_EQ(s.report.iterations[0], 25);  // checked at 10, 20 and the last iteration
  EXPECT_GT(s.report.marginal_error[0], 1e-14);
  EXPECT_TRUE(std::isfinite(s.value[0]));
}

// ---- CUDA against CPU --------------------------------------------------------------------------

template <typename P>
class SinkhornCudaVsCpu : public Sinkhorn<P> {
 protected:
  using T = typename P::type;
  void SetUp() override {
    GAUSSOT_REQUIRE_CUDA();
    gpu.emplace(Context::cuda(0));
  }
  /// A device copy of host storage; returns the array and the view moved onto it.
  template <typename View>
  std::pair<Array<T>, View> to_device(const std::vector<T>& storage, View view) {
    const std::int64_t size = static_cast<std::int64_t>(storage.size());
    Array<T> array(*gpu, size);
    copy<T>(*gpu, VectorBatch<const T>(storage.data(), size, size, 1), array.vectors(size, 1));
    view.data = array.data() + (view.data - storage.data());
    view.space = MemorySpace::device;
    return {std::move(array), view};
  }
  std::optional<Context> gpu;
};
TYPED_TEST_SUITE(SinkhornCudaVsCpu, Setups, SetupNames);

TYPED_TEST(SinkhornCudaVsCpu, ScalingIsRefusedOnCuda) {
  using T = typename TypeParam::type;
  std::vector<T> host(4, T(1));
  Array<T> device(*this->gpu, 4);
  copy<T>(*this->gpu, VectorBatch<const T>(host.data(), 4, 4, 1), device.vectors(4, 1));
  const MatrixBatch<const T> points(device.data(), 2, 2, 2, 4, 1, MemorySpace::device);
  SinkhornOptions o = this->options(0.5, std::nullopt, 1e-5);
  o.algorithm = SinkhornAlgorithm::scaling;
  expect_invalid([&] { sinkhorn<T>(*this->gpu, points, points, {}, {}, {}, o); },
                 "'options.algorithm' 'scaling' runs on the CPU backend only");
}

TYPED_TEST(SinkhornCudaVsCpu, AgreesWithTheCpuOnPaddedAndBroadcastBatches) {
  using T = typename TypeParam::type;
  Context& gpu = *this->gpu;
  for (std::optional<double> gamma : {std::optional<double>(), std::optional<double>(0.8)}) {
    for (const auto& [d, n, m, k] : std::vector<std::array<std::int64_t, 4>>{
             {2, 37, 29, 4}, {5, 300, 257, 2}, {1, 1, 3, 3}, {64, 100, 120, 1}}) {
      SCOPED_TRACE(::testing::Message()
                   << d << " " << n << " " << m << " " << k << " gamma " << gamma.value_or(-1));
      std::vector<Problem> problems;
      for (std::int64_t i = 0; i < k; ++i)
        problems.push_back(
            rounded<T>(random_problem(d, n, m, 900 + i, 1, gamma ? 2.0L : 1.0L, 0.2L * i)));
      const Batch<T> batch(problems, 2);
      const double sigma = d > 10 ? 4.0 : 0.5;
      // The CPU runs the algorithm of the setup; CUDA its automatic choice (the log domain).
      const SinkhornOptions options = this->options(sigma, gamma, this->tolerance(), 5000, 5);
      SinkhornOptions gpu_options = options;
      gpu_options.algorithm = SinkhornAlgorithm::automatic;
      for (int broadcast_x = 0; broadcast_x < 2; ++broadcast_x) {
        const MatrixBatch<const T> hx =
            broadcast_x ? broadcast(batch.x.cview().slice(0, 1), k) : batch.x.cview();
        const Solved<T> cpu =
            run<T>(this->ctx, hx, batch.y.cview(), batch.a.view, batch.b.view, options);
        auto [dx_array, dx] = this->to_device(batch.x.storage, hx);
        auto [dy_array, dy] = this->to_device(batch.y.storage, batch.y.cview());
        auto [da_array, da] = this->to_device(batch.a.storage, VectorBatch<const T>(batch.a.view));
        auto [db_array, db] = this->to_device(batch.b.storage, VectorBatch<const T>(batch.b.view));
        Array<T> out(gpu, 3 * k + k * n + k * m);
        T* base = out.data();
        const SinkhornOutputs<T> views{scalars(base, k, MemorySpace::device),
                                       scalars(base + k, k, MemorySpace::device),
                                       scalars(base + 2 * k, k, MemorySpace::device),
                                       vectors(base + 3 * k, n, k, MemorySpace::device),
                                       vectors(base + 3 * k + k * n, m, k, MemorySpace::device)};
        const SinkhornReport report = sinkhorn<T>(gpu, dx, dy, da, db, views, gpu_options);
        std::vector<T> host(static_cast<std::size_t>(out.size()));
        copy<T>(gpu, VectorBatch<const T>(out.vectors(out.size(), 1)),
                vectors(host.data(), out.size(), 1));
        for (std::int64_t i = 0; i < k; ++i) {
          EXPECT_EQ(report.converged[i], cpu.report.converged[i]) << i;
          EXPECT_NEAR(report.iterations[i], cpu.report.iterations[i], options.check_every) << i;
          const double scale = std::fabs(double(cpu.value[i])) + double(cpu.transport[i]);
          EXPECT_NEAR(host[i], cpu.value[i], 10 * this->bar() * scale) << i;
          EXPECT_NEAR(host[k + i], cpu.transport[i], 10 * this->bar() * scale) << i;
          EXPECT_NEAR(host[2 * k + i], cpu.mass[i], 10 * this->bar() * double(cpu.mass[i])) << i;
          // Potentials up to a constant when balanced.
          const double shift = gamma ? 0.0 : double(host[3 * k + i * n]) - double(cpu.f[i * n]);
          for (std::int64_t j = 0; j < n; ++j)
            EXPECT_NEAR(host[3 * k + i * n + j] - shift, cpu.f[i * n + j],
                        100 * this->bar() * (1 + sigma * sigma))
                << i << " " << j;
          for (std::int64_t j = 0; j < m; ++j)
            EXPECT_NEAR(host[3 * k + k * n + i * m + j] + shift, cpu.g[i * m + j],
                        100 * this->bar() * (1 + sigma * sigma))
                << i << " " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace gaussot::test
