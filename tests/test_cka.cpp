// SPDX-License-Identifier: Apache-2.0
// Linear and debiased linear CKA (cka.hpp) on the CPU: both values against the n x n Gram-matrix
// definitions computed here in long double (centred HSIC with H = I − 11ᵀ/n; Song et al.'s
// unbiased HSIC_1 on uncentred Gram matrices with zeroed diagonals), invariances, self-similarity,
// batches and broadcasting against pairs one by one, the float range, bad input; and the CUDA
// backend against the CPU (skipped without a device).
#include <array>
#include <cmath>
#include <optional>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

/// K = XᵀX (n x n) for the column-major d x n sample matrix x (columns are samples).
Dense gram(const Dense& x, std::int64_t d, std::int64_t n) {
  return multiply(transpose(x, d, n), x, n, d, n);
}

/// H K H with H = I − 11ᵀ/n.
Dense centre_gram(const Dense& k, std::int64_t n) {
  std::vector<long double> row(static_cast<std::size_t>(n), 0.0L);
  long double all = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) row[i] += k[i + j * n] / n;
    all += row[i] / n;
  }
  Dense c(k.size());
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t i = 0; i < n; ++i) c[i + j * n] = k[i + j * n] - row[i] - row[j] + all;
  return c;
}

/// Σ_ij a_ij b_ij.
long double inner(const Dense& a, const Dense& b) {
  long double s = 0;
  for (std::size_t e = 0; e < a.size(); ++e) s += a[e] * b[e];
  return s;
}

/// Song et al. (2012)'s unbiased HSIC_1 of the Gram matrices k and l (n x n, n >= 4): their
/// diagonals are zeroed, nothing is centred.
long double unbiased_hsic(Dense k, Dense l, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) k[i + i * n] = l[i + i * n] = 0;
  long double trace_kl = 0, sum_k = 0, sum_l = 0, sum_kl = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    long double k_row = 0, l_row = 0;  // (K̂1)_i, (L̂1)_i
    for (std::int64_t j = 0; j < n; ++j) {
      trace_kl += k[i + j * n] * l[j + i * n];
      k_row += k[i + j * n];
      l_row += l[i + j * n];
    }
    sum_k += k_row;
    sum_l += l_row;
    sum_kl += k_row * l_row;  // 1ᵀK̂L̂1 = Σ_i (K̂1)_i (L̂1)_i for symmetric K̂
  }
  const long double m = n;
  return (trace_kl + sum_k * sum_l / ((m - 1) * (m - 2)) - 2 / (m - 2) * sum_kl) / (m * (m - 3));
}

/// The two values of one pair by their n x n definitions, and the size of the debiased value's
/// terms relative to its denominator (its condition: cancellation in h magnifies rounding).
struct Reference {
  long double cka = 0, debiased = 0, condition = 1;
};

Reference reference(const Dense& x, std::int64_t d_a, const Dense& y, std::int64_t d_b,
                    std::int64_t n) {
  const Dense k = gram(x, d_a, n), l = gram(y, d_b, n);
  const Dense kc = centre_gram(k, n), lc = centre_gram(l, n);
  Reference r;
  r.cka = inner(kc, lc) / std::sqrt(inner(kc, kc) * inner(lc, lc));
  if (n >= 4) {
    const long double hxx = unbiased_hsic(k, k, n), hyy = unbiased_hsic(l, l, n);
    r.debiased = unbiased_hsic(k, l, n) / std::sqrt(hxx * hyy);
    // The library's terms: ‖X̃ᵀỸ‖² = tr(K̃L̃), n/(n − 2) Σ r_i s_i, Σr Σs / ((n − 1)(n − 2)),
    // with r_i = K̃_ii, against √(h(X, X) h(Y, Y)) = n(n − 3) √(HSIC_1(K, K) HSIC_1(L, L)).
    long double rs = 0, sum_r = 0, sum_s = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      rs += kc[i + i * n] * lc[i + i * n];
      sum_r += kc[i + i * n];
      sum_s += lc[i + i * n];
    }
    const long double m = n;
    const long double terms =
        inner(kc, lc) + m / (m - 2) * rs + sum_r * sum_s / ((m - 1) * (m - 2));
    r.condition = std::max(1.0L, terms / (m * (m - 3) * std::sqrt(hxx * hyy)));
  }
  return r;
}

template <typename T>
class Cka : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  std::mt19937_64 rng{1999};

  /// `count` pairs of related sets: x Gaussian with shifted means, y = M x + noise (M random
  /// d_b x d_a), so that both values are far from 0 and from 1.
  std::pair<HostBatch<T>, HostBatch<T>> random_pairs(std::int64_t d_a, std::int64_t d_b,
                                                     std::int64_t n, std::int64_t count,
                                                     std::int64_t ld_pad = 0,
                                                     std::int64_t stride_pad = 0) {
    HostBatch<T> x(d_a, n, count, ld_pad, stride_pad), y(d_b, n, count, ld_pad + 1, stride_pad);
    fill_gaussian(x, rng);
    fill_gaussian(y, rng);
    std::normal_distribution<double> normal;
    for (std::int64_t i = 0; i < count; ++i) {
      Dense m(static_cast<std::size_t>(d_b * d_a));
      for (auto& e : m) e = normal(rng);
      const Dense mx = multiply(m, x.item(i), d_b, d_a, n);
      for (std::int64_t j = 0; j < n; ++j) {
        for (std::int64_t r = 0; r < d_b; ++r) y.view.at(i, r, j) += T(mx[r + j * d_b] - 3);
        for (std::int64_t r = 0; r < d_a; ++r) x.view.at(i, r, j) += T(2 * r + 1);
      }
    }
    return {x, y};
  }

  /// Both values for every pair.
  std::pair<std::vector<T>, std::vector<T>> run(MatrixBatch<const T> x, MatrixBatch<const T> y) {
    const std::int64_t count = std::max(x.count, y.count);
    std::vector<T> cka(count), debiased(count);
    linear_cka<T>(ctx, x, y, scalars(cka.data(), count), scalars(debiased.data(), count));
    return {cka, debiased};
  }

  /// A tolerance for values of magnitude <= 1 computed from n samples in d_a + d_b features:
  /// the rounding of dot products of length n and sums of the squares of the products.
  static long double bar(std::int64_t d_a, std::int64_t d_b, std::int64_t n,
                         long double condition = 1) {
    return 4 * static_cast<long double>(n + d_a + d_b) * eps<T>() * condition;
  }
};
using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Cka, Precisions);

/// linear_cka_gradient against central differences of the n x n definitions (reference, long
/// double), entry by entry, for the linear and the debiased value; returns the largest error
/// relative to the largest gradient entry.
long double cka_gradient_error(Context& ctx, const Dense& x, std::int64_t d_a, const Dense& y,
                               std::int64_t d_b, std::int64_t n, bool debiased) {
  const std::vector<double> xs(x.begin(), x.end()), ys(y.begin(), y.end());
  std::vector<double> grad_a(d_a * n), grad_b(d_b * n);
  linear_cka_gradient<double>(ctx, matrices<const double>(xs.data(), d_a, n, 1),
                              matrices<const double>(ys.data(), d_b, n, 1),
                              matrices(grad_a.data(), d_a, n, 1),
                              matrices(grad_b.data(), d_b, n, 1), debiased);
  auto value = [&](const Dense& p, const Dense& q) {
    const Reference r = reference(p, d_a, q, d_b, n);
    return debiased ? r.debiased : r.cka;
  };
  return relative_gradient_error(x, y, grad_a, grad_b, value, 1e-6L);
}

TEST(CkaGradient, LinearAndDebiasedMatchCentralDifferencesInLongDouble) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(31);
  std::normal_distribution<double> normal;
  for (const auto& [d_a, d_b, n] :
       std::vector<std::array<std::int64_t, 3>>{{3, 4, 9}, {5, 2, 6}, {1, 3, 12}, {4, 4, 5}}) {
    Dense x(d_a * n), y(d_b * n);
    for (auto& v : x) v = 0.7L + normal(rng);
    // y related to x: y = M x + noise, one feature offset and one scaled. (The reference reads
    // uncentred Gram matrices: large offsets would cost it the digits the differences need.)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t r = 0; r < d_b; ++r) {
        long double v = 0.5L * normal(rng) + (r == 0 ? 3 : 0);
        for (std::int64_t c = 0; c < d_a; ++c) v += (r + c % 2 + 0.3L) * x[c + j * d_a];
        y[r + j * d_b] = (r == d_b - 1 ? 0.05L : 1.0L) * v;
      }
    EXPECT_LT(cka_gradient_error(ctx, x, d_a, y, d_b, n, false), 1e-7L) << d_a << " " << d_b;
    // The debiased value's cancellation magnifies rounding by its condition (Reference).
    const long double condition = reference(x, d_a, y, d_b, n).condition;
    EXPECT_LT(cka_gradient_error(ctx, x, d_a, y, d_b, n, true), 1e-7L * condition)
        << d_a << " " << d_b << " condition " << condition;
  }
}

TEST(CkaGradient, BatchItemsEqualSingleCallsAndBadInputIsNamed) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(5);
  const std::int64_t d_a = 3, d_b = 2, n = 8;
  HostBatch<double> x(d_a, n, 2), y(d_b, n, 2), grad_a(d_a, n, 2), grad_b(d_b, n, 2);
  fill_gaussian(x, rng);
  fill_gaussian(y, rng);
  for (const bool debiased : {false, true}) {
    linear_cka_gradient<double>(ctx, x.cview(), y.cview(), grad_a.view, grad_b.view, debiased);
    for (std::int64_t i = 0; i < 2; ++i) {
      HostBatch<double> one_a(d_a, n, 1), one_b(d_b, n, 1);
      linear_cka_gradient<double>(ctx, x.cview().slice(i, i + 1), y.cview().slice(i, i + 1),
                                  one_a.view, one_b.view, debiased);
      for (std::int64_t e = 0; e < d_a * n; ++e)
        EXPECT_DOUBLE_EQ(one_a.view.data[e], grad_a.view.data[i * d_a * n + e]);
      for (std::int64_t e = 0; e < d_b * n; ++e)
        EXPECT_DOUBLE_EQ(one_b.view.data[e], grad_b.view.data[i * d_b * n + e]);
    }
  }
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t r = 0; r < d_b; ++r) y.view.at(1, r, j) = 2.0;  // item 1 constant
  expect_invalid(
      [&] { linear_cka_gradient<double>(ctx, x.cview(), y.cview(), grad_a.view, grad_b.view); },
      "'samples_b' batch item 1 has constant features");
  expect_invalid(
      [&] {
        linear_cka_gradient<double>(ctx, x.cview().slice(0, 1).columns(0, 3),
                                    y.cview().slice(0, 1).columns(0, 3), grad_a.view, grad_b.view,
                                    true);
      },
      "needs at least 4 samples");
}

/// Rows of the column-major d x n sample matrix x less their means over the n samples.
Dense centred_rows(Dense x, std::int64_t d, std::int64_t n) {
  for (std::int64_t r = 0; r < d; ++r) {
    long double mean = 0;
    for (std::int64_t j = 0; j < n; ++j) mean += x[r + j * d] / n;
    for (std::int64_t j = 0; j < n; ++j) x[r + j * d] -= mean;
  }
  return x;
}

/// NBS in long double from its definition: ‖X̃Ỹᵀ‖_* / (‖X̃‖_F ‖Ỹ‖_F), the singular values as
/// square roots of the eigenvalues of the smaller Gram matrix of X̃Ỹᵀ (Jacobi, test_utils.hpp).
long double reference_nbs(const Dense& x, std::int64_t d_a, const Dense& y, std::int64_t d_b,
                          std::int64_t n) {
  const Dense xc = centred_rows(x, d_a, n), yc = centred_rows(y, d_b, n);
  const Dense c = multiply(xc, transpose(yc, d_b, n), d_a, n, d_b);
  const Dense ct = transpose(c, d_a, d_b);
  const std::int64_t k = std::min(d_a, d_b);
  const Dense g = d_a <= d_b ? multiply(c, ct, d_a, d_b, d_a) : multiply(ct, c, d_b, d_a, d_b);
  long double nuclear = 0;
  for (const long double w : symmetric_eigenvalues(g, k)) nuclear += std::sqrt(std::max(w, 0.0L));
  return nuclear / (frobenius(xc) * frobenius(yc));
}

/// A set x (d_a x n) and a related set y = M x + noise (d_b x n), offsets included.
std::pair<Dense, Dense> related_sets(std::mt19937_64& rng, std::int64_t d_a, std::int64_t d_b,
                                     std::int64_t n, long double noise = 0.5L) {
  std::normal_distribution<double> normal;
  Dense x(d_a * n), y(d_b * n);
  for (auto& v : x) v = 0.7L + normal(rng);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t r = 0; r < d_b; ++r) {
      long double v = noise * normal(rng) + (r == 0 ? 3 : 0);
      for (std::int64_t c = 0; c < d_a; ++c) v += (r + c % 2 + 0.3L) * x[c + j * d_a];
      y[r + j * d_b] = v;
    }
  return {x, y};
}

TEST(ShapeMetric, ValuesMatchTheLongDoubleDefinitionAndCompare) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(41);
  for (const auto& dims :
       std::vector<std::array<std::int64_t, 3>>{{3, 4, 9}, {5, 2, 6}, {1, 3, 12}, {4, 4, 5}}) {
    const std::int64_t d_a = dims[0], d_b = dims[1], n = dims[2];  // captured below
    const auto [x, y] = related_sets(rng, d_a, d_b, n);
    const std::vector<double> xs(x.begin(), x.end()), ys(y.begin(), y.end());
    const long double want = reference_nbs(x, d_a, y, d_b, n);
    double nbs = 0, procrustes = 0;
    shape_metric<double>(ctx, matrices<const double>(xs.data(), d_a, n, 1),
                         matrices<const double>(ys.data(), d_b, n, 1), ShapeMetric::nbs,
                         scalars(&nbs, 1));
    shape_metric<double>(ctx, matrices<const double>(xs.data(), d_a, n, 1),
                         matrices<const double>(ys.data(), d_b, n, 1), ShapeMetric::procrustes,
                         scalars(&procrustes, 1));
    EXPECT_NEAR(nbs, double(want), 1e-13) << d_a << " " << d_b << " " << n;
    EXPECT_NEAR(procrustes, double(std::acos(want)), 1e-12);
    // compare_representations' table entry for the same pair (its own product path).
    CompareOptions options;
    options.igw = options.bw = options.cka = false;
    options.nbs = true;
    const std::vector<ActivationSet<double>> sets{
        {"x", n, d_a, [&] { return matrices<const double>(xs.data(), d_a, n, 1); }},
        {"y", n, d_b, [&] { return matrices<const double>(ys.data(), d_b, n, 1); }}};
    const Comparison c = compare_representations<double>(ctx, sets, options);
    EXPECT_NEAR(c.nbs[1], nbs, 1e-14);
  }
}

/// shape_metric_gradient against central differences, entry by entry: of reference_nbs in long
/// double, or (`long_double` false: where X̃Ỹᵀ is rank-deficient, the reference's Gram matrix loses
/// the zero singular values to rounding) of shape_metric in double, whose SVD keeps them at
/// ε·σ_max. Returns the largest error relative to the largest gradient entry.
long double shape_gradient_error(Context& ctx, const Dense& x, std::int64_t d_a, const Dense& y,
                                 std::int64_t d_b, std::int64_t n, ShapeMetric metric,
                                 bool long_double = true) {
  const std::vector<double> xs(x.begin(), x.end()), ys(y.begin(), y.end());
  std::vector<double> grad_a(d_a * n), grad_b(d_b * n);
  shape_metric_gradient<double>(ctx, matrices<const double>(xs.data(), d_a, n, 1),
                                matrices<const double>(ys.data(), d_b, n, 1), metric,
                                matrices(grad_a.data(), d_a, n, 1),
                                matrices(grad_b.data(), d_b, n, 1));
  auto value = [&](const Dense& p, const Dense& q) -> long double {
    if (!long_double) {
      const std::vector<double> ps(p.begin(), p.end()), qs(q.begin(), q.end());
      double out = 0;
      shape_metric<double>(ctx, matrices<const double>(ps.data(), d_a, n, 1),
                           matrices<const double>(qs.data(), d_b, n, 1), metric, scalars(&out, 1));
      return out;
    }
    const long double nbs = reference_nbs(p, d_a, q, d_b, n);
    return metric == ShapeMetric::nbs ? nbs : std::acos(nbs);
  };
  return relative_gradient_error(x, y, grad_a, grad_b, value, long_double ? 1e-6L : 1e-5L);
}

TEST(ShapeMetric, GradientsMatchCentralDifferencesInLongDouble) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(43);
  // Widths below and equal to n − 1; in the last two, n − 1 < min(d_a, d_b): X̃Ỹᵀ has rank
  // n − 1 for every perturbation, its generic rank, and the metrics are differentiable.
  for (const auto& [d_a, d_b, n] : std::vector<std::array<std::int64_t, 3>>{
           {3, 4, 9}, {5, 2, 6}, {1, 3, 12}, {4, 4, 5}, {6, 5, 4}, {8, 3, 3}}) {
    const auto [x, y] = related_sets(rng, d_a, d_b, n, 2.0L);
    const bool full_rank = n - 1 >= std::min(d_a, d_b);
    for (const ShapeMetric metric : {ShapeMetric::nbs, ShapeMetric::procrustes}) {
      EXPECT_LT(shape_gradient_error(ctx, x, d_a, y, d_b, n, metric, full_rank),
                full_rank ? 1e-7L : 1e-6L)
          << d_a << " " << d_b << " " << n << " metric " << int(metric);
    }
  }
}

TEST(ShapeMetric, SameShapeGivesOneZeroAndZeroGradientsAndBatchesEqualSingleCalls) {
  Context ctx = Context::cpu();
  std::mt19937_64 rng(47);
  const std::int64_t d = 4, n = 10;
  // y = 3 Q x + shift: the same shape (NBS 1, procrustes 0, both at an extremum).
  const Dense q = random_orthogonal(d, rng);
  HostBatch<double> x(d, n, 2), y(d, n, 2), grad_a(d, n, 2), grad_b(d, n, 2);
  fill_gaussian(x, rng);
  fill_gaussian(y, rng);
  const Dense qx = multiply(q, x.item(0), d, d, n);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t r = 0; r < d; ++r) y.view.at(0, r, j) = double(3 * qx[r + j * d] + r);
  std::vector<double> values(2);
  for (const ShapeMetric metric : {ShapeMetric::nbs, ShapeMetric::procrustes}) {
    shape_metric<double>(ctx, x.cview(), y.cview(), metric, scalars(values.data(), 2));
    EXPECT_NEAR(values[0], metric == ShapeMetric::nbs ? 1.0 : 0.0,
                metric == ShapeMetric::nbs ? 1e-14 : 3e-7);
    shape_metric_gradient<double>(ctx, x.cview(), y.cview(), metric, grad_a.view, grad_b.view);
    for (std::int64_t e = 0; e < d * n; ++e) {
      EXPECT_NEAR(grad_a.view.data[e], 0.0, 1e-7) << int(metric);
      EXPECT_NEAR(grad_b.view.data[e], 0.0, 1e-7) << int(metric);
    }
    for (std::int64_t i = 0; i < 2; ++i) {
      HostBatch<double> one_a(d, n, 1), one_b(d, n, 1);
      shape_metric_gradient<double>(ctx, x.cview().slice(i, i + 1), y.cview().slice(i, i + 1),
                                    metric, one_a.view, one_b.view);
      for (std::int64_t e = 0; e < d * n; ++e) {
        EXPECT_DOUBLE_EQ(one_a.view.data[e], grad_a.view.data[i * d * n + e]);
        EXPECT_DOUBLE_EQ(one_b.view.data[e], grad_b.view.data[i * d * n + e]);
      }
    }
  }
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t r = 0; r < d; ++r) y.view.at(1, r, j) = 2.0;  // item 1 constant
  expect_invalid(
      [&] {
        shape_metric<double>(ctx, x.cview(), y.cview(), ShapeMetric::nbs,
                             scalars(values.data(), 2));
      },
      "'samples_b' batch item 1 has constant features");
  expect_invalid(
      [&] {
        shape_metric_gradient<double>(ctx, x.cview(), y.cview().columns(0, n - 1), ShapeMetric::nbs,
                                      grad_a.view, grad_b.view);
      },
      "'samples_b'");
}

TYPED_TEST(Cka, AgreesWithGramMatrixDefinitions) {
  using T = TypeParam;
  // {d_a, d_b, n, count}: d_a != d_b, fewer samples than features, n = 4 (the least for the
  // debiased value), one feature.
  for (const auto& [d_a, d_b, n, count] : std::vector<std::array<std::int64_t, 4>>{
           {4, 3, 9, 3}, {1, 5, 4, 2}, {6, 2, 30, 2}, {7, 9, 5, 1}, {3, 1, 12, 2}}) {
    auto pairs = this->random_pairs(d_a, d_b, n, count, 2, 3);
    HostBatch<T>& x = pairs.first;
    HostBatch<T>& y = pairs.second;
    HostVectors<T> cka(1, count, 2), debiased(1, count, 1);  // padded outputs
    linear_cka<T>(this->ctx, x.cview(), y.cview(), cka.view, debiased.view);
    for (std::int64_t i = 0; i < count; ++i) {
      const Reference r = reference(x.item(i), d_a, y.item(i), d_b, n);
      EXPECT_NEAR(cka.view.at(i, 0), r.cka, this->bar(d_a, d_b, n))
          << d_a << " " << d_b << " " << n << " item " << i;
      EXPECT_NEAR(debiased.view.at(i, 0), r.debiased, this->bar(d_a, d_b, n, r.condition))
          << d_a << " " << d_b << " " << n << " item " << i;
      EXPECT_GE(cka.view.at(i, 0), T(0));
    }
    // The padding between outputs is untouched.
    for (std::int64_t i = 0; i + 1 < count; ++i) EXPECT_TRUE(std::isnan(cka.view.item(i)[1]));
    // Without the debiased value: the same CKA.
    std::vector<T> alone(count);
    linear_cka<T>(this->ctx, x.cview(), y.cview(), scalars(alone.data(), count));
    for (std::int64_t i = 0; i < count; ++i) EXPECT_EQ(alone[i], cka.view.at(i, 0));
  }
}

TYPED_TEST(Cka, InvariantToOrthogonalMapsScalingAndTranslation) {
  using T = TypeParam;
  const std::int64_t d_a = 5, d_b = 3, n = 14;
  auto pairs = this->random_pairs(d_a, d_b, n, 1);
  HostBatch<T>& x = pairs.first;
  HostBatch<T>& y = pairs.second;
  const auto [cka, debiased] = this->run(x.cview(), y.cview());
  const Reference r = reference(x.item(0), d_a, y.item(0), d_b, n);
  // X' = 3.5 Q_a X + t 1ᵀ, Y' = 0.25 Q_b Y − u 1ᵀ.
  const Dense qx = multiply(random_orthogonal(d_a, this->rng), x.item(0), d_a, d_a, n);
  const Dense qy = multiply(random_orthogonal(d_b, this->rng), y.item(0), d_b, d_b, n);
  HostBatch<T> x2(d_a, n, 1), y2(d_b, n, 1);
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t k = 0; k < d_a; ++k) x2.view.at(0, k, j) = T(3.5L * qx[k + j * d_a] + k - 2);
    for (std::int64_t k = 0; k < d_b; ++k) y2.view.at(0, k, j) = T(0.25L * qy[k + j * d_b] - 7);
  }
  const auto [cka2, debiased2] = this->run(x2.cview(), y2.cview());
  // Each side of the comparison carries its own rounding (the transformed inputs are rounded too).
  EXPECT_NEAR(cka2[0], cka[0], 2 * this->bar(d_a, d_b, n));
  EXPECT_NEAR(debiased2[0], debiased[0], 2 * this->bar(d_a, d_b, n, r.condition));
  // Each transformation alone, on side a.
  for (int which = 0; which < 3; ++which) {
    HostBatch<T> x3(d_a, n, 1);
    for (std::int64_t j = 0; j < n; ++j) {
      for (std::int64_t k = 0; k < d_a; ++k) {
        const long double v = x.view.at(0, k, j);
        x3.view.at(0, k, j) = T(which == 0 ? qx[k + j * d_a] : which == 1 ? 1e3L * v : v + 50);
      }
    }
    const auto [cka3, debiased3] = this->run(x3.cview(), y.cview());
    // A translation by 50 loses the digits of the data below 50·ε.
    const long double loss = which == 2 ? 50 : 1;
    EXPECT_NEAR(cka3[0], cka[0], 2 * loss * this->bar(d_a, d_b, n)) << which;
    EXPECT_NEAR(debiased3[0], debiased[0], 2 * loss * this->bar(d_a, d_b, n, r.condition)) << which;
  }
}

TYPED_TEST(Cka, SetAgainstItselfOrAnIsometricCopyIsOne) {
  using T = TypeParam;
  for (const auto& [d, n] : std::vector<std::array<std::int64_t, 2>>{{1, 4}, {3, 10}, {8, 6}}) {
    HostBatch<T> x(d, n, 1);
    fill_gaussian(x, this->rng);
    const auto [cka, debiased] = this->run(x.cview(), x.cview());
    const Reference r = reference(x.item(0), d, x.item(0), d, n);
    EXPECT_NEAR(cka[0], T(1), this->bar(d, d, n)) << d << " " << n;
    EXPECT_NEAR(debiased[0], T(1), this->bar(d, d, n, r.condition)) << d << " " << n;
    // Q X with Q orthogonal in a larger space (d + 2 features): still 1.
    const std::int64_t e = d + 2;
    Dense embedded(static_cast<std::size_t>(e * n), 0.0L);
    const Dense xi = x.item(0);
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t k = 0; k < d; ++k) embedded[k + j * e] = xi[k + j * d];
    HostBatch<T> y(e, n, 1);
    y.set_item(0, multiply(random_orthogonal(e, this->rng), embedded, e, e, n));
    const auto [cka2, debiased2] = this->run(x.cview(), y.cview());
    EXPECT_NEAR(cka2[0], T(1), 2 * this->bar(d, e, n));
    EXPECT_NEAR(debiased2[0], T(1), 2 * this->bar(d, e, n, r.condition));
  }
}

TYPED_TEST(Cka, BatchesAndBroadcastsEqualPairsOneByOne) {
  using T = TypeParam;
  const std::int64_t d_a = 4, d_b = 6, n = 11, k = 5;
  auto pairs = this->random_pairs(d_a, d_b, n, k, 1, 2);
  HostBatch<T>& x = pairs.first;
  HostBatch<T>& y = pairs.second;
  const auto [cka, debiased] = this->run(x.cview(), y.cview());
  for (std::int64_t i = 0; i < k; ++i) {
    const auto [one_cka, one_debiased] =
        this->run(x.cview().slice(i, i + 1), y.cview().slice(i, i + 1));
    EXPECT_EQ(one_cka[0], cka[i]) << i;  // items are independent: bit for bit
    EXPECT_EQ(one_debiased[0], debiased[i]) << i;
  }
  // One set against many, on either side.
  for (int side = 0; side < 2; ++side) {
    const MatrixBatch<const T> one_x = broadcast(x.cview().slice(2, 3), k);
    const MatrixBatch<const T> one_y = broadcast(y.cview().slice(2, 3), k);
    const auto [many_cka, many_debiased] =
        side == 0 ? this->run(one_x, y.cview()) : this->run(x.cview(), one_y);
    for (std::int64_t i = 0; i < k; ++i) {
      const auto [one_cka, one_debiased] =
          side == 0 ? this->run(x.cview().slice(2, 3), y.cview().slice(i, i + 1))
                    : this->run(x.cview().slice(i, i + 1), y.cview().slice(2, 3));
      EXPECT_EQ(many_cka[i], one_cka[0]) << side << " " << i;
      EXPECT_EQ(many_debiased[i], one_debiased[0]) << side << " " << i;
    }
  }
  // An empty batch is fine and writes nothing.
  std::vector<T> none(1, T(-7));
  EXPECT_NO_THROW(linear_cka<T>(this->ctx, x.cview().slice(0, 0), y.cview().slice(0, 0),
                                scalars(none.data(), 0), scalars(none.data() + 1, 0)));
  EXPECT_EQ(none[0], T(-7));
}

TYPED_TEST(Cka, LargeValuesDoNotOverflowAndTooLargeAreRefused) {
  using T = TypeParam;
  const std::int64_t d_a = 6, d_b = 5, n = 20;
  auto pairs = this->random_pairs(d_a, d_b, n, 1);
  HostBatch<T>& x = pairs.first;
  HostBatch<T>& y = pairs.second;
  const auto [cka, debiased] = this->run(x.cview(), y.cview());
  const Reference r = reference(x.item(0), d_a, y.item(0), d_b, n);
  // Entries of size max^0.3: their products' squares (max^1.2 · n²) would overflow unscaled.
  const T large = T(std::pow(static_cast<long double>(std::numeric_limits<T>::max()), 0.3L));
  HostBatch<T> big(d_a, n, 1);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t k = 0; k < d_a; ++k) big.view.at(0, k, j) = x.view.at(0, k, j) * large;
  const auto [cka2, debiased2] = this->run(big.cview(), y.cview());
  EXPECT_NEAR(cka2[0], cka[0], 2 * this->bar(d_a, d_b, n));
  EXPECT_NEAR(debiased2[0], debiased[0], 2 * this->bar(d_a, d_b, n, r.condition));
  // Entries of size √max: the squared norm itself overflows.
  const T huge = std::sqrt(std::numeric_limits<T>::max());
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t k = 0; k < d_a; ++k) big.view.at(0, k, j) = x.view.at(0, k, j) * huge;
  std::vector<T> out(1, T(-7));
  expect_invalid(
      [&] { linear_cka<T>(this->ctx, y.cview(), big.cview(), scalars(out.data(), 1)); },
      "'samples_b' batch item 0: the squared norm of its centred samples is outside the range");
  EXPECT_EQ(out[0], T(-7));  // nothing written
}

TYPED_TEST(Cka, RefusesBadInputNamingTheArgument) {
  using T = TypeParam;
  const std::int64_t d_a = 3, d_b = 2, n = 8, k = 4;
  auto pairs = this->random_pairs(d_a, d_b, n, k);
  HostBatch<T>& x = pairs.first;
  HostBatch<T>& y = pairs.second;
  std::vector<T> cka(k, T(-7)), debiased(k, T(-7));
  auto call = [&](MatrixBatch<const T> a, MatrixBatch<const T> b) {
    return [&, a, b] {
      linear_cka<T>(this->ctx, a, b, scalars(cka.data(), k), scalars(debiased.data(), k));
    };
  };
  // Different n, different counts.
  HostBatch<T> short_y(d_b, n - 1, k);
  fill_gaussian(short_y, this->rng);
  expect_invalid(call(x.cview(), short_y.cview()), "'samples_b' holds sets of 7 samples");
  expect_invalid(call(x.cview(), y.cview().slice(0, 3)), "'samples_b' has 3 batch items");
  // NaN in item 1 of b.
  HostBatch<T> bad = y;
  bad.view.at(1, 1, 5) = std::numeric_limits<T>::quiet_NaN();
  expect_invalid(call(x.cview(), bad.cview()),
                 "'samples_b' has a NaN or infinite entry in batch item 1");
  // Constant features in item 2 of a (every sample equal): CKA is undefined.
  HostBatch<T> constant = x;
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t r = 0; r < d_a; ++r) constant.view.at(2, r, j) = T(0.1) * T(r + 1);
  expect_invalid(call(constant.cview(), y.cview()),
                 "'samples_a' batch item 2 has constant features");
  try {  // the same failure, for programs: the argument and the item as fields
    call(constant.cview(), y.cview())();
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "samples_a");
    EXPECT_EQ(e.batch_index(), 2);
  }
  // Too few samples: 3 are enough for CKA, not for the debiased value (n >= 4).
  HostBatch<T> three_a(d_a, 3, k), three_b(d_b, 3, k);
  fill_gaussian(three_a, this->rng);
  fill_gaussian(three_b, this->rng);
  expect_invalid(call(three_a.cview(), three_b.cview()),
                 "'samples_a' needs at least 4 samples for the debiased CKA");
  EXPECT_NO_THROW(
      linear_cka<T>(this->ctx, three_a.cview(), three_b.cview(), scalars(cka.data(), k)));
  HostBatch<T> one_a(d_a, 1, k), one_b(d_b, 1, k);
  expect_invalid(
      [&] { linear_cka<T>(this->ctx, one_a.cview(), one_b.cview(), scalars(cka.data(), k)); },
      "'samples_a' needs at least 2 samples");
  // The debiased HSIC of a set with itself is 0 when all its samples but one are equal.
  HostBatch<T> outlier = y;
  for (std::int64_t j = 0; j + 1 < n; ++j)
    for (std::int64_t r = 0; r < d_b; ++r) outlier.view.at(3, r, j) = outlier.view.at(3, r, 0);
  std::fill(cka.begin(), cka.end(), T(-7));
  expect_invalid(call(x.cview(), outlier.cview()),
                 "'samples_b' batch item 3: the debiased HSIC of its samples with themselves is "
                 "not positive");
  for (std::int64_t i = 0; i < k; ++i) EXPECT_EQ(cka[i], T(-7));  // nothing half-written
  // Its CKA alone is defined.
  EXPECT_NO_THROW(linear_cka<T>(this->ctx, x.cview(), outlier.cview(), scalars(cka.data(), k)));
  // Outputs of the wrong count, overlapping outputs.
  expect_invalid(
      [&] { linear_cka<T>(this->ctx, x.cview(), y.cview(), scalars(cka.data(), k - 1)); },
      "'cka' has 3 batch items, expected 4");
  expect_invalid(
      [&] {
        linear_cka<T>(this->ctx, x.cview(), y.cview(), scalars(cka.data(), k),
                      scalars(debiased.data(), k + 1));
      },
      "'debiased' has 5 batch items, expected 4");
  expect_invalid(
      [&] {
        linear_cka<T>(this->ctx, x.cview(), y.cview(), scalars(cka.data(), k),
                      scalars(cka.data(), k));
      },
      "'debiased' must not share memory with 'cka'");
  expect_invalid(
      [&] {
        linear_cka<T>(this->ctx, x.cview(), y.cview(),
                      VectorBatch<T>(cka.data(), 1, 0, k, MemorySpace::host));
      },
      "'cka' batch items overlap");
}

// ---- CUDA against CPU --------------------------------------------------------------------------

template <typename T>
class CkaCudaVsCpu : public Cka<T> {
 protected:
  void SetUp() override {
    GAUSSOT_REQUIRE_CUDA();
    gpu.emplace(Context::cuda(0));
  }
  /// A device copy of a host batch with the same (padded) layout.
  std::pair<Array<T>, MatrixBatch<const T>> to_device(const HostBatch<T>& h) {
    const std::int64_t size = static_cast<std::int64_t>(h.storage.size());
    Array<T> array(*gpu, size);
    copy<T>(*gpu, VectorBatch<const T>(h.storage.data(), size, size, 1), array.vectors(size, 1));
    MatrixBatch<const T> view = h.view;
    view.data = array.data();
    view.space = MemorySpace::device;
    return {std::move(array), view};
  }
  std::optional<Context> gpu;
};
TYPED_TEST_SUITE(CkaCudaVsCpu, Precisions);

TYPED_TEST(CkaCudaVsCpu, AgreesWithTheCpuOnPaddedAndBroadcastBatches) {
  using T = TypeParam;
  Context& gpu = *this->gpu;
  for (const auto& [d_a, d_b, n, k] : std::vector<std::array<std::int64_t, 4>>{
           {4, 3, 9, 3}, {12, 7, 40, 5}, {33, 65, 20, 2}, {1, 2, 4, 1}}) {
    auto pairs = this->random_pairs(d_a, d_b, n, k, 3, 5);
    HostBatch<T>& x = pairs.first;
    HostBatch<T>& y = pairs.second;
    for (int broadcast_a = 0; broadcast_a < 2; ++broadcast_a) {
      const MatrixBatch<const T> host_x =
          broadcast_a ? broadcast(x.cview().slice(1 % k, 1 % k + 1), k) : x.cview();
      const auto [cpu_cka, cpu_debiased] = this->run(host_x, y.cview());
      auto [dx_array, dx] = this->to_device(x);
      auto [dy_array, dy] = this->to_device(y);
      const MatrixBatch<const T> device_x =
          broadcast_a ? broadcast(dx.slice(1 % k, 1 % k + 1), k) : dx;
      Array<T> out(gpu, 2 * k);
      linear_cka<T>(gpu, device_x, dy, out.vectors(1, 2 * k).slice(0, k),
                    out.vectors(1, 2 * k).slice(k, 2 * k));
      std::vector<T> host(2 * k);
      copy<T>(gpu, out.vectors(1, 2 * k), scalars(host.data(), 2 * k));
      for (std::int64_t i = 0; i < k; ++i) {
        const Reference r = reference(x.item(broadcast_a ? 1 % k : i), d_a, y.item(i), d_b, n);
        EXPECT_NEAR(host[i], cpu_cka[i], 2 * this->bar(d_a, d_b, n)) << d_a << " " << i;
        EXPECT_NEAR(host[k + i], cpu_debiased[i], 2 * this->bar(d_a, d_b, n, r.condition))
            << d_a << " " << i;
      }
    }
  }
  // The checks read device memory: a NaN and a constant set are named as on the CPU.
  auto pairs = this->random_pairs(3, 2, 6, 2);
  HostBatch<T>& x = pairs.first;
  HostBatch<T>& y = pairs.second;
  for (std::int64_t j = 0; j < 6; ++j) y.view.at(1, 0, j) = y.view.at(1, 1, j) = T(4);
  const auto dx = this->to_device(x), dy = this->to_device(y);
  Array<T> out(gpu, 2);
  expect_invalid([&] { linear_cka<T>(gpu, dx.second, dy.second, out.vectors(1, 2)); },
                 "'samples_b' batch item 1 has constant features");
}

}  // namespace
}  // namespace gaussot::test
