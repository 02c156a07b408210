// SPDX-License-Identifier: Apache-2.0
// CPU spectral functions against Q f(Λ) Qᵀ computed in long double, the square-root accuracy bar
// ‖S² − A‖/‖A‖ <= 100·ε·κ(A), identities between the functions, and the clamping rule.
#include <cfloat>
#include <cmath>
#include <functional>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
class Spectral : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{777};

  /// count matrices Q_i diag(spectrum) Q_iᵀ, and their eigenvector matrices.
  std::vector<Dense> fill(HostBatch<T>& a, const std::vector<long double>& spectrum) {
    std::vector<Dense> qs;
    const std::int64_t d = a.view.rows;
    for (std::int64_t i = 0; i < a.view.count; ++i) {
      qs.push_back(random_orthogonal(d, rng));
      a.set_item(i, with_spectrum(qs.back(), spectrum, d));
    }
    return qs;
  }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Spectral, Precisions);

template <typename T>
long double relative_error(const HostBatch<T>& out, std::int64_t i, const Dense& reference) {
  return frobenius_distance(out.item(i), reference) / frobenius(reference);
}

template <typename T>
bool exactly_symmetric(const HostBatch<T>& m, std::int64_t i) {
  for (std::int64_t c = 0; c < m.view.cols; ++c)
    for (std::int64_t r = 0; r < c; ++r)
      if (m.view.at(i, r, c) != m.view.at(i, c, r)) return false;
  return true;
}

// The foundation issue's bar for the square root of SPD A: ‖S² − A‖/‖A‖ <= 100·ε·κ(A).
TYPED_TEST(Spectral, SquareRootMeetsTheAccuracyBar) {
  using T = TypeParam;
  for (const std::int64_t d : {1, 2, 8, 64, 256}) {
    for (const long double condition : {1.0L, 1e3L, 1e6L}) {
      const std::int64_t count = d <= 8 ? 5 : 1;
      HostBatch<T> a(d, d, count);
      const auto spectrum = geometric_spectrum(d, 3.0L, condition);
      const auto qs = this->fill(a, spectrum);
      HostBatch<T> s(d, d, count);
      sqrtm<T>(this->ctx, a.cview(), s.view);
      for (std::int64_t i = 0; i < count; ++i) {
        const Dense si = s.item(i);
        const long double kappa = d == 1 ? 1.0L : condition;
        EXPECT_LE(frobenius_distance(multiply(si, si, d, d, d), a.item(i)) / frobenius(a.item(i)),
                  100 * eps<T>() * kappa)
            << "d " << d << " condition " << condition;
        // And against the exact root of the (rounded) input's construction.
        const Dense exact =
            spectral_matrix(qs[i], spectrum, d, [](long double x) { return std::sqrt(x); });
        EXPECT_LE(relative_error(s, i, exact), 100 * eps<T>() * std::sqrt(kappa))
            << "d " << d << " condition " << condition;
        EXPECT_TRUE(exactly_symmetric(s, i));
      }
    }
  }
}

TYPED_TEST(Spectral, FunctionsMatchTheirSpectralDefinition) {
  using T = TypeParam;
  const std::int64_t d = 16, count = 3;
  HostBatch<T> a(d, d, count);
  const auto spectrum = geometric_spectrum(d, 4.0L, 50.0L);
  const auto qs = this->fill(a, spectrum);
  struct Case {
    SpectralFunction f;
    long double (*scalar)(long double);
  };
  const Case cases[] = {
      {SpectralFunction::sqrt(), [](long double x) { return std::sqrt(x); }},
      {SpectralFunction::inv_sqrt(), [](long double x) { return 1 / std::sqrt(x); }},
      {SpectralFunction::log(), [](long double x) { return std::log(x); }},
      {SpectralFunction::power(2.0), [](long double x) { return x * x; }},
      {SpectralFunction::power(-1.0), [](long double x) { return 1 / x; }},
      {SpectralFunction::power(0.3), [](long double x) { return std::pow(x, 0.3L); }},
      // 1/(c_σ(w) + σ²) with c_σ(w) = (√(4w + σ⁴) − σ²)/2, here σ² = 0.7 (formulas-entropic §1.2)
      {SpectralFunction::entropic(0.7),
       [](long double x) { return 1 / ((std::sqrt(4 * x + 0.49L) - 0.7L) / 2 + 0.7L); }},
      {SpectralFunction::shrink(1.5), [](long double x) { return x / (x + 1.5L); }},
  };
  for (const Case& c : cases) {
    HostBatch<T> out(d, d, count);
    matrix_function<T>(this->ctx, a.cview(), c.f, out.view);
    for (std::int64_t i = 0; i < count; ++i) {
      const Dense exact = spectral_matrix(qs[i], spectrum, d, c.scalar);
      // κ = 50: the rounding of A moves f(A) by about κ·ε relatively.
      EXPECT_LE(relative_error(out, i, exact), 50 * 50 * eps<T>())
          << c.f.name() << " " << c.f.parameter;
      EXPECT_TRUE(exactly_symmetric(out, i)) << c.f.name();
    }
  }
}

TYPED_TEST(Spectral, NamedFunctionsAgreeWithMatrixFunctionAndEachOther) {
  using T = TypeParam;
  const std::int64_t d = 7, count = 4;
  HostBatch<T> a(d, d, count);
  this->fill(a, geometric_spectrum(d, 2.0L, 10.0L));
  HostBatch<T> root(d, d, count), inverse(d, d, count), both_root(d, d, count),
      both_inverse(d, d, count), half(d, d, count), logarithm(d, d, count), product(d, d, count);
  sqrtm<T>(this->ctx, a.cview(), root.view);
  inv_sqrtm<T>(this->ctx, a.cview(), inverse.view);
  sqrtm_and_inv_sqrtm<T>(this->ctx, a.cview(), both_root.view, both_inverse.view);
  powm<T>(this->ctx, a.cview(), 0.5, half.view);
  logm<T>(this->ctx, a.cview(), logarithm.view);
  for (std::int64_t i = 0; i < count; ++i) {
    EXPECT_EQ(root.item(i), both_root.item(i));
    EXPECT_EQ(inverse.item(i), both_inverse.item(i));
    EXPECT_LE(frobenius_distance(root.item(i), half.item(i)) / frobenius(root.item(i)),
              20 * eps<T>());
    const Dense should_be_identity = multiply(root.item(i), inverse.item(i), d, d, d);
    EXPECT_LE(frobenius_distance(should_be_identity, identity(d)) / d, 200 * eps<T>());
    // tr log A = log det A = Σ log w.
    long double trace_log = 0;
    for (std::int64_t j = 0; j < d; ++j) trace_log += logarithm.view.at(i, j, j);
    long double log_det = 0;
    for (long double w : geometric_spectrum(d, 2.0L, 10.0L)) log_det += std::log(w);
    EXPECT_NEAR(trace_log, log_det, 100 * eps<T>() * d);
  }
}

TYPED_TEST(Spectral, SingularPsdInputHasARealSquareRoot) {
  using T = TypeParam;
  const std::int64_t d = 10, count = 3;
  HostBatch<T> a(d, d, count);
  const std::vector<long double> spectrum = {5, 3, 3, 1, 0.5, 0, 0, 0, 0, 0};
  const auto qs = this->fill(a, spectrum);
  HostBatch<T> s(d, d, count);
  sqrtm<T>(this->ctx, a.cview(), s.view);
  for (std::int64_t i = 0; i < count; ++i) {
    const Dense exact = spectral_matrix(qs[i], spectrum, d,
                                        [](long double x) { return std::sqrt(std::max(x, 0.0L)); });
    // Eigenvalues below the rounding level are read as 0, so the zero eigenvalues do not amplify
    // rounding to sqrt(ε).
    EXPECT_LE(relative_error(s, i, exact), 100 * d * eps<T>());
    const Dense si = s.item(i);
    EXPECT_LE(frobenius_distance(multiply(si, si, d, d, d), a.item(i)) / frobenius(a.item(i)),
              100 * eps<T>() * d);
  }
}

TYPED_TEST(Spectral, ClampingRule) {
  using T = TypeParam;
  const std::int64_t d = 6;
  const double tau = default_psd_tolerance<T>(d);
  auto build = [&](long double smallest) {
    HostBatch<T> a(d, d, 3);
    this->fill(a, {2, 1, 1, 0.5, 0.25, 0.1});
    // Item 1 gets the chosen smallest eigenvalue, exactly representable after rounding.
    auto q = random_orthogonal(d, this->rng);
    a.set_item(1, with_spectrum(q, {2, 1, 1, 0.5, 0.25, smallest}, d));
    return a;
  };
  HostBatch<T> out(d, d, 3);
  {  // a tiny negative eigenvalue, well inside the tolerance, is clamped to zero
    HostBatch<T> a = build(-0.01L * tau * 2);
    sqrtm<T>(this->ctx, a.cview(), out.view);
    HostVectors<T> w(d, 3);
    eigvalsh<T>(this->ctx, out.cview(), w.view);
    EXPECT_GE(w.view.at(1, d - 1), -8 * eps<T>() * 2);
    EXPECT_LE(w.view.at(1, d - 1), 8 * std::sqrt(eps<T>()));
  }
  {  // clearly negative: refused, naming the item
    HostBatch<T> a = build(-0.1L);
    expect_invalid([&] { sqrtm<T>(this->ctx, a.cview(), out.view); },
                   "batch item 1 is not positive semidefinite");
    expect_invalid([&] { powm<T>(this->ctx, a.cview(), 2.0, out.view); }, "batch item 1");
    SpectralOptions loose;
    loose.psd_tolerance = 0.1;  // 0.1 >= 0.1 / 2: accepted and clamped
    EXPECT_NO_THROW(sqrtm<T>(this->ctx, a.cview(), out.view, loose));
  }
  {  // singular PSD: fine for sqrt, refused by the functions singular at 0
    HostBatch<T> a = build(0);
    EXPECT_NO_THROW(sqrtm<T>(this->ctx, a.cview(), out.view));
    EXPECT_NO_THROW(powm<T>(this->ctx, a.cview(), 1.5, out.view));
    for (const SpectralFunction f :
         {SpectralFunction::inv_sqrt(), SpectralFunction::log(), SpectralFunction::power(-2)}) {
      expect_invalid([&] { matrix_function<T>(this->ctx, a.cview(), f, out.view); },
                     "batch item 1 is not positive definite");
    }
  }
  {  // the scale floor: with λmax = 1e-3, λmin = -1e-3·τ/2·100 fails the relative rule but
     // passes CLI.md's rule -τ·max(1, λmax)
    HostBatch<T> a(d, d, 1);
    auto q = random_orthogonal(d, this->rng);
    a.set_item(0, with_spectrum(q, {1e-3L, 5e-4L, 2e-4L, 1e-4L, 5e-5L, -0.05L * tau}, d));
    expect_invalid([&] { sqrtm<T>(this->ctx, a.cview(), out.view.slice(0, 1)); },
                   "not positive semidefinite");
    SpectralOptions floor;
    floor.scale_floor = 1.0;
    EXPECT_NO_THROW(sqrtm<T>(this->ctx, a.cview(), out.view.slice(0, 1), floor));
  }
}

TYPED_TEST(Spectral, DefaultToleranceFollowsTheDocumentedFormula) {
  using T = TypeParam;
  const double base =
      std::is_same_v<T, double> ? 1e-10 : 1e-10 * std::sqrt(double(FLT_EPSILON) / DBL_EPSILON);
  EXPECT_DOUBLE_EQ(default_psd_tolerance<T>(1), std::max(base, 2.0 * double(eps<T>())));
  EXPECT_DOUBLE_EQ(default_psd_tolerance<T>(100000),
                   std::max(base, 2.0 * 100000 * double(eps<T>())));
}

TYPED_TEST(Spectral, InPlaceBatchesPaddingAndBroadcast) {
  using T = TypeParam;
  const std::int64_t d = 5;
  for (const std::int64_t count : {0, 1, 7}) {
    HostBatch<T> a(d, d, count, 2, 1);
    this->fill(a, {4, 3, 2, 1, 0.5});
    HostBatch<T> expected(d, d, count);
    sqrtm<T>(this->ctx, a.cview(), expected.view);
    sqrtm<T>(this->ctx, a.cview(), a.view);  // in place
    for (std::int64_t i = 0; i < count; ++i) EXPECT_EQ(a.item(i), expected.item(i));
    std::size_t finite = 0;
    for (T x : a.storage) finite += std::isfinite(x);
    EXPECT_EQ(finite, std::size_t(d * d * count)) << "padding written";
  }
  HostBatch<T> one(d, d, 1);
  this->fill(one, {4, 3, 2, 1, 0.5});
  HostBatch<T> out(d, d, 3);
  sqrtm<T>(this->ctx, broadcast(one.cview(), 3), out.view);
  EXPECT_EQ(out.item(0), out.item(2));
}

TYPED_TEST(Spectral, RefusesBadArguments) {
  using T = TypeParam;
  HostBatch<T> a(4, 4, 2), out(4, 4, 2), other(4, 4, 2), wrong(3, 3, 2);
  this->fill(a, {4, 3, 2, 1});
  expect_invalid([&] { sqrtm<T>(this->ctx, a.cview(), wrong.view); }, "'out'");
  expect_invalid([&] { sqrtm_and_inv_sqrtm<T>(this->ctx, a.cview(), out.view, out.view); },
                 "share memory");
  MatrixBatch<T> shifted = a.view;
  shifted.data += 1;
  expect_invalid([&] { sqrtm<T>(this->ctx, a.cview(), shifted); }, "share memory");
  SpectralOptions negative;
  negative.psd_tolerance = -1;
  expect_invalid([&] { sqrtm<T>(this->ctx, a.cview(), out.view, negative); }, "psd_tolerance");
  expect_invalid([&] { powm<T>(this->ctx, a.cview(), std::nan(""), out.view); }, "'p'");
  expect_invalid(
      [&] { matrix_function<T>(this->ctx, a.cview(), SpectralFunction::entropic(0), out.view); },
      "parameter of entropic must be > 0");
  expect_invalid(
      [&] { matrix_function<T>(this->ctx, a.cview(), SpectralFunction::shrink(-1), out.view); },
      "parameter of shrink must be > 0");
  a.view.at(1, 3, 0) = std::numeric_limits<T>::quiet_NaN();
  expect_invalid([&] { sqrtm<T>(this->ctx, a.cview(), other.view); }, "batch item 1");
}

}  // namespace
}  // namespace gaussot::test
