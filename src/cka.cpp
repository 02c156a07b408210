// SPDX-License-Identifier: Apache-2.0
// Linear and debiased linear CKA of cka.hpp, written once over the primitives (GEMMs, Frobenius
// inner products, copies); the per-item ratios are formed on the host.
#include "gaussot/cka.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "backend.hpp"
#include "cka_sets.hpp"
#include "compose.hpp"
#include "gaussot/array.hpp"
#include "nuclear_norm.hpp"
#include "polar_factor.hpp"
#include "validate.hpp"

namespace gaussot {
template <typename T>
UnitSampleSets<T>::UnitSampleSets(Context& ctx, const ArgumentChecker& check,
                                  const std::string& name, MatrixBatch<const T> samples,
                                  std::int64_t first_item)
    : d(samples.rows), n(samples.cols), count(samples.count), unit(ctx, d, n, count) {
  std::vector<T> host_ones(static_cast<std::size_t>(n), T(1));
  Scratch<T> ones(ctx, n, 1, 1);
  copy<T>(ctx, matrices<const T>(host_ones.data(), n, 1, 1), ones.view);
  const MatrixBatch<const T> all_ones = broadcast(ones.cview(), count);
  // Shift by the first sample (exact zeros for constant features, smaller numbers for the mean),
  // then subtract the mean of the shifted samples.
  Scratch<T> centred(ctx, d, n, count);
  copy<T>(ctx, samples, centred.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-1), samples.columns(0, 1),
                   all_ones, T(1), centred.view);
  Scratch<T> mean(ctx, d, 1, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1) / T(n), centred.cview(),
                   all_ones, T(0), mean.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-1), mean.cview(), all_ones, T(1),
                   centred.view);
  // ν per item, checked on the host, then X̂ = X̃ / √ν: each item seen as one (d·n) x 1 column
  // times its own 1 x 1 factor.
  Scratch<T> norms(ctx, 1, 1, count);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, centred.cview(), centred.cview(), norms.vectors());
  std::vector<T> nu(static_cast<std::size_t>(count));
  copy<T>(ctx, norms.vectors(), scalars(nu.data(), count));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::string item = "batch item " + std::to_string(first_item + i);
    if (nu[i] == T(0)) {
      check.fail(name.c_str(),
                 item + " has constant features (every sample is the same): CKA is undefined",
                 first_item + i);
    }
    if (!(std::isfinite(nu[i]) && nu[i] >= std::numeric_limits<T>::min())) {
      check.fail(name.c_str(),
                 item + ": the squared norm of its centred samples is outside the range of " +
                     (sizeof(T) == 4 ? "float" : "double") + "; rescale the samples",
                 first_item + i);
    }
    nu[i] = T(1 / std::sqrt(double(nu[i])));
    inverse_roots.push_back(double(nu[i]));
  }
  copy<T>(ctx, scalars<const T>(nu.data(), count), norms.vectors());
  const std::int64_t m = d * n;
  const MatrixBatch<T> as_column{unit.view.data, m, 1, m, m, count, unit.view.space};
  const MatrixBatch<const T> centred_column{centred.view.data, m, 1, m, m, count,
                                            centred.view.space};
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), centred_column, norms.cview(),
                   T(0), as_column);
}

template <typename T>
void cross_squares(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y,
                   VectorBatch<T> out) {
  Scratch<T> product(ctx, x.rows, y.rows, out.count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), x, y, T(0), product.view);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, product.cview(), product.cview(), out);
}

template <typename T>
Scratch<T> sample_norms(Context& ctx, const UnitSampleSets<T>& sets) {
  Scratch<T> r(ctx, sets.n, 1, sets.count);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, sets.columns(), sets.columns(),
                   scalars(r.view.data, sets.n * sets.count, r.view.space));
  return r;
}

double checked_self_hsic(const ArgumentChecker& check, const std::string& name, std::int64_t item,
                         double squares, double norm_squares, std::int64_t n, double epsilon) {
  const double h = debiased_hsic(squares, norm_squares, n);
  const double nd = double(n);
  const double magnitude = squares + nd / (nd - 2) * norm_squares + 1 / ((nd - 1) * (nd - 2));
  if (!(h > 16 * epsilon * magnitude)) {
    check.fail(name.c_str(),
               "batch item " + std::to_string(item) +
                   ": the debiased HSIC of its samples with themselves is not positive beyond "
                   "rounding (" +
                   format_number(h / squares) +
                   " of its first term), so the debiased CKA is undefined (this happens with few "
                   "samples, e.g. when all samples but one are equal)",
               item);
  }
  return h;
}

namespace {

/// The checks of two sample-set arguments that hold the same n samples in their own feature
/// spaces (every function of cka.hpp): shapes, counts, the same n, at least one feature, at least
/// `min_samples` samples (`what_for` says what needs them, e.g. " for the debiased CKA").
template <typename T>
void check_same_samples(const ArgumentChecker& check, MatrixBatch<const T> samples_a,
                        MatrixBatch<const T> samples_b, std::int64_t min_samples,
                        const std::string& what_for) {
  check.input("samples_a", samples_a);
  check.input("samples_b", samples_b);
  const std::int64_t n = samples_a.cols;
  check.count("samples_b", samples_b.count, samples_a.count);
  check.expect(samples_b.cols == n, "samples_b",
               "holds sets of " + std::to_string(samples_b.cols) + " samples, samples_a of " +
                   std::to_string(n) +
                   " (the metric compares the same samples in two feature "
                   "spaces)");
  check.expect(samples_a.rows >= 1, "samples_a", "has no features (0 rows)");
  check.expect(samples_b.rows >= 1, "samples_b", "has no features (0 rows)");
  check.expect(n >= min_samples, "samples_a",
               "needs at least " + std::to_string(min_samples) + " samples" + what_for + ", got " +
                   std::to_string(n));
}

}  // namespace

template <typename T>
void linear_cka(Context& ctx, MatrixBatch<const T> samples_a, MatrixBatch<const T> samples_b,
                VectorBatch<T> cka, VectorBatch<T> debiased) {
  const ArgumentChecker check("linear_cka", &ctx);
  const bool with_debiased = debiased.count > 0;
  check_same_samples(check, samples_a, samples_b, with_debiased ? 4 : 2,
                     with_debiased ? " for the debiased CKA (unbiased HSIC)" : "");
  const std::int64_t count = samples_a.count, n = samples_a.cols;
  check.output("cka", cka);
  check.vector_size("cka", cka, 1);
  check.count("cka", cka.count, count);
  if (with_debiased) {
    check.output("debiased", debiased);
    check.vector_size("debiased", debiased, 1);
    check.count("debiased", debiased.count, count);
    check.no_alias("cka", cka.as_matrices(), "debiased", debiased.as_matrices());
  }
  if (count == 0) return;
  check.finite(ctx, "samples_a", samples_a, false);
  check.finite(ctx, "samples_b", samples_b, false);

  // A broadcast argument is one set: centred once, its own products formed once.
  const UnitSampleSets<T> a(ctx, check, "samples_a", samples_a.distinct());
  const UnitSampleSets<T> b(ctx, check, "samples_b", samples_b.distinct());
  auto paired = [count](const Scratch<T>& items, std::int64_t distinct) {
    return distinct == count ? items.cview() : broadcast(items.cview(), count);
  };
  auto item = [count](std::int64_t i, std::int64_t distinct) { return distinct == count ? i : 0; };

  // The sums read back, one scalar per item: ‖X̂Ŷᵀ‖² (per pair), ‖X̂X̂ᵀ‖², ‖ŶŶᵀ‖² (per distinct
  // set), then for the debiased value Σ r̂ŝ, Σ r̂², Σ ŝ².
  enum Part { cross, gram_a, gram_b, r_cross, r_a, r_b };
  const std::int64_t part_count[] = {count, a.count, b.count, count, a.count, b.count};
  const std::int64_t parts = with_debiased ? 6 : 3;
  std::int64_t sums_count = 0;
  for (int p = 0; p < parts; ++p) sums_count += part_count[p];
  Scratch<T> sums(ctx, 1, 1, sums_count);
  auto offset = [&](Part part) {
    std::int64_t o = 0;
    for (int p = 0; p < part; ++p) o += part_count[p];
    return o;
  };
  auto sum = [&](Part part) {
    return sums.vectors().slice(offset(part), offset(part) + part_count[part]);
  };
  cross_squares<T>(ctx, paired(a.unit, a.count), paired(b.unit, b.count), sum(cross));
  cross_squares<T>(ctx, a.unit.cview(), a.unit.cview(), sum(gram_a));
  cross_squares<T>(ctx, b.unit.cview(), b.unit.cview(), sum(gram_b));
  if (with_debiased) {
    const Scratch<T> rhat_a = sample_norms(ctx, a), rhat_b = sample_norms(ctx, b);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, paired(rhat_a, a.count), paired(rhat_b, b.count),
                     sum(r_cross));
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, rhat_a.cview(), rhat_a.cview(), sum(r_a));
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, rhat_b.cview(), rhat_b.cview(), sum(r_b));
  }
  std::vector<T> host_sums(static_cast<std::size_t>(sums_count));
  copy<T>(ctx, sums.vectors(), scalars(host_sums.data(), sums_count));
  auto at = [&](Part part, std::int64_t i) {
    return double(host_sums[static_cast<std::size_t>(offset(part) + i)]);
  };

  std::vector<T> host_cka(static_cast<std::size_t>(count)), host_debiased;
  for (std::int64_t i = 0; i < count; ++i) {
    host_cka[i] =
        T(cka_ratio(at(cross, i), at(gram_a, item(i, a.count)), at(gram_b, item(i, b.count))));
  }
  if (with_debiased) {
    const double epsilon = double(std::numeric_limits<T>::epsilon());
    auto self_hsic = [&](const char* name, Part gram, Part r, std::int64_t items) {
      std::vector<double> h(static_cast<std::size_t>(items));
      for (std::int64_t i = 0; i < items; ++i) {
        h[i] = checked_self_hsic(check, name, i, at(gram, i), at(r, i), n, epsilon);
      }
      return h;
    };
    const std::vector<double> h_a = self_hsic("samples_a", gram_a, r_a, a.count);
    const std::vector<double> h_b = self_hsic("samples_b", gram_b, r_b, b.count);
    host_debiased.resize(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
      const double h = debiased_hsic(at(cross, i), at(r_cross, i), n);
      host_debiased[i] = T(h / std::sqrt(h_a[item(i, a.count)] * h_b[item(i, b.count)]));
    }
  }
  // Every check has passed: write the results.
  copy<T>(ctx, scalars<const T>(host_cka.data(), count), cka);
  if (with_debiased) copy<T>(ctx, scalars<const T>(host_debiased.data(), count), debiased);
}

namespace {

/// One side's CKA gradient (linear_cka_gradient): out = (∂/∂U) / √ν with the samples' mean
/// removed, from the terms P = C V (or Cᵀ U), Q = A U (or B V), the unit set U, and per item the
/// coefficients (p, q, u) of P, Q, U and the weights w_j of the columns of U (empty: none).
template <typename T>
void side_gradient(Context& ctx, const UnitSampleSets<T>& set, const Scratch<T>& p,
                   const Scratch<T>& q, const std::vector<std::array<double, 3>>& coefficients,
                   const std::vector<double>& weights, MatrixBatch<T> out) {
  const std::int64_t d = set.d, n = set.n, count = set.count;
  std::optional<Scratch<T>> weighted;
  if (!weights.empty()) {  // U diag(w / √ν): each column by its own factor (n·count items)
    weighted.emplace(ctx, d, n, count);
    std::vector<double> factors(weights);
    for (std::int64_t i = 0; i < count; ++i)
      for (std::int64_t j = 0; j < n; ++j) factors[i * n + j] *= set.inverse_roots[i];
    const Scratch<T> on = on_context<T>(ctx, factors, 1, 1, n * count);
    const MatrixBatch<const T> u = set.unit.cview();
    scale_items<T>(ctx, MatrixBatch<const T>(u.data, d, 1, d, d, n * count, u.space), on.cview(),
                   MatrixBatch<T>(weighted->view.data, d, 1, d, d, n * count, u.space));
  }
  for (std::int64_t i = 0; i < count; ++i) {
    const double scale = set.inverse_roots[i];
    const auto& [cp, cq, cu] = coefficients[i];
    const MatrixBatch<const T> pi = p.cview().slice(i, i + 1), qi = q.cview().slice(i, i + 1),
                               ui = set.unit.cview().slice(i, i + 1);
    if (weighted) {
      combine<T>(ctx,
                 {{T(cp * scale), pi},
                  {T(cq * scale), qi},
                  {T(cu * scale), ui},
                  {T(1), weighted->cview().slice(i, i + 1)}},
                 out.slice(i, i + 1));
    } else {
      combine<T>(ctx, {{T(cp * scale), pi}, {T(cq * scale), qi}, {T(cu * scale), ui}},
                 out.slice(i, i + 1));
    }
  }
  // The adjoint of the centring: subtract the mean over the samples.
  const Scratch<T> ones =
      on_context<T>(ctx, std::vector<double>(static_cast<std::size_t>(n), 1.0), n, 1, 1);
  Scratch<T> mean(ctx, d, 1, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1) / T(n),
                   MatrixBatch<const T>(out), broadcast(ones.cview(), count), T(0), mean.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-1), mean.cview(),
                   broadcast(ones.cview(), count), T(1), out);
}

}  // namespace

template <typename T>
void linear_cka_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                         MatrixBatch<const T> samples_b, MatrixBatch<T> grad_a,
                         MatrixBatch<T> grad_b, bool debiased) {
  const ArgumentChecker check("linear_cka_gradient", &ctx);
  check_same_samples(check, samples_a, samples_b, debiased ? 4 : 2,
                     debiased ? " for the debiased CKA (unbiased HSIC)" : "");
  const std::int64_t count = samples_a.count, n = samples_a.cols;
  const std::int64_t d_a = samples_a.rows, d_b = samples_b.rows;
  check.output("grad_a", grad_a, d_a, n, count);
  check.output("grad_b", grad_b, d_b, n, count);
  if (count == 0) return;
  check.finite(ctx, "samples_a", samples_a, false);
  check.finite(ctx, "samples_b", samples_b, false);
  // In the unit coordinates U = X̃/√ν_a, V = Ỹ/√ν_b (cka_sets.hpp), with C = UVᵀ, A = UUᵀ,
  // B = VVᵀ (the values are in cka.hpp's file comment):
  //   linear:   f = ‖C‖²/(‖A‖‖B‖),  ∂f/∂U = 2 C V/(‖A‖‖B‖) − 2 f A U/‖A‖²;
  //   debiased: h(U, V) = ‖C‖² − k₁ Σ r_j s_j + k₂ Σr Σs with k₁ = n/(n − 2), k₂ = 1/((n − 1)(n −
  //   2)),
  //             r_j = ‖u_j‖², s_j = ‖v_j‖²; ∂h(U, V)/∂U = 2 C V − 2k₁ U diag(s) + 2k₂ Σs U and
  //             ∂h(U, U)/∂U = 4 A U − 4k₁ U diag(r) + 4k₂ Σr U; for g = h_UV/√(h_UU h_VV),
  //             ∂g/∂U = ∂h_UV/∂U / √(h_UU h_VV) − g ∂h_UU/∂U / (2 h_UU);
  // V likewise with the roles exchanged. Both values are invariant to scaling either set, so
  // ⟨∂/∂U, U⟩ = 0 and ∂/∂X̃ = (∂/∂U)/√ν; ∂/∂X is ∂/∂X̃ less its mean over the samples.
  const UnitSampleSets<T> a(ctx, check, "samples_a", samples_a),
      b(ctx, check, "samples_b", samples_b);
  Scratch<T> cross(ctx, d_a, d_b, count), gram_a(ctx, d_a, d_a, count),
      gram_b(ctx, d_b, d_b, count);
  const MatrixBatch<const T> u = a.unit.cview(), v = b.unit.cview();
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), u, v, T(0), cross.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), u, u, T(0), gram_a.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), v, v, T(0), gram_b.view);
  Scratch<T> cv(ctx, d_a, n, count), au(ctx, d_a, n, count), cu(ctx, d_b, n, count),
      bv(ctx, d_b, n, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), cross.cview(), v, T(0),
                   cv.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), gram_a.cview(), u, T(0),
                   au.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), cross.cview(), u, T(0),
                   cu.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), gram_b.cview(), v, T(0),
                   bv.view);
  Scratch<T> sums(ctx, 1, 1, 3 * count);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, cross.cview(), cross.cview(),
                   sums.vectors().slice(0, count));
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, gram_a.cview(), gram_a.cview(),
                   sums.vectors().slice(count, 2 * count));
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, gram_b.cview(), gram_b.cview(),
                   sums.vectors().slice(2 * count, 3 * count));
  const std::vector<double> host = to_host<T>(ctx, sums.vectors());
  std::vector<double> r, s, weights_a, weights_b;
  if (debiased) {
    r = to_host<T>(ctx, sample_norms(ctx, a).vectors());
    s = to_host<T>(ctx, sample_norms(ctx, b).vectors());
    weights_a.resize(r.size());
    weights_b.resize(s.size());
  }
  std::vector<std::array<double, 3>> coef_a(count), coef_b(count);
  const double nd = double(n), k1 = nd / (nd - 2), k2 = 1 / ((nd - 1) * (nd - 2));
  const double epsilon = double(std::numeric_limits<T>::epsilon());
  for (std::int64_t i = 0; i < count; ++i) {
    const double c2 = host[i], a2 = host[count + i], b2 = host[2 * count + i];
    if (!debiased) {
      const double ab = std::sqrt(a2 * b2), f = c2 / ab;
      coef_a[i] = {2 / ab, -2 * f / a2, 0};
      coef_b[i] = {2 / ab, -2 * f / b2, 0};
      continue;
    }
    double sum_r = 0, sum_s = 0, rs = 0, rr = 0, ss = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double rj = r[i * n + j], sj = s[i * n + j];
      sum_r += rj, sum_s += sj, rs += rj * sj, rr += rj * rj, ss += sj * sj;
    }
    const double h_uu = checked_self_hsic(check, "samples_a", i, a2, rr, n, epsilon);
    const double h_vv = checked_self_hsic(check, "samples_b", i, b2, ss, n, epsilon);
    const double root = std::sqrt(h_uu * h_vv), g = (c2 - k1 * rs + k2 * sum_r * sum_s) / root;
    coef_a[i] = {2 / root, -2 * g / h_uu, 2 * k2 * (sum_s / root - g * sum_r / h_uu)};
    coef_b[i] = {2 / root, -2 * g / h_vv, 2 * k2 * (sum_r / root - g * sum_s / h_vv)};
    for (std::int64_t j = 0; j < n; ++j) {  // the U diag(·) terms: −2k₁ s_j/root + 2k₁ g r_j/h_UU
      weights_a[i * n + j] = 2 * k1 * (g * r[i * n + j] / h_uu - s[i * n + j] / root);
      weights_b[i * n + j] = 2 * k1 * (g * s[i * n + j] / h_vv - r[i * n + j] / root);
    }
  }
  side_gradient<T>(ctx, a, cv, au, coef_a, weights_a, grad_a);
  side_gradient<T>(ctx, b, cu, bv, coef_b, weights_b, grad_b);
}

namespace {

/// The nuclear norms ‖C_i‖_* of the d_a x d_b products C_i = X̂_i Ŷ_iᵀ, on the host
/// (host/nuclear_norm.hpp): NBS of each pair.
template <typename T>
std::vector<double> cross_nuclear_norms(Context& ctx, MatrixBatch<const T> cross) {
  const std::int64_t size = cross.rows * cross.cols;
  const std::vector<double> host =
      to_host<T>(ctx, VectorBatch<const T>(cross.data, size * cross.count, 0, 1, cross.space));
  std::vector<host::HostMatrix> blocks;
  for (std::int64_t i = 0; i < cross.count; ++i) {
    blocks.push_back({host.data() + i * size, cross.rows, cross.cols, cross.rows});
  }
  return host::nuclear_norms(blocks, host_threads(ctx));
}

double shape_value(ShapeMetric metric, double nbs) {
  return metric == ShapeMetric::nbs ? nbs : std::acos(std::min(1.0, nbs));
}

}  // namespace

template <typename T>
void shape_metric(Context& ctx, MatrixBatch<const T> samples_a, MatrixBatch<const T> samples_b,
                  ShapeMetric metric, VectorBatch<T> out) {
  const ArgumentChecker check("shape_metric", &ctx);
  check_same_samples(check, samples_a, samples_b, 2, "");
  const std::int64_t count = samples_a.count;
  check.output("out", out);
  check.vector_size("out", out, 1);
  check.count("out", out.count, count);
  if (count == 0) return;
  check.finite(ctx, "samples_a", samples_a, false);
  check.finite(ctx, "samples_b", samples_b, false);
  const UnitSampleSets<T> a(ctx, check, "samples_a", samples_a.distinct());
  const UnitSampleSets<T> b(ctx, check, "samples_b", samples_b.distinct());
  Scratch<T> cross(ctx, a.d, b.d, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1),
                   a.count == count ? a.unit.cview() : broadcast(a.unit.cview(), count),
                   b.count == count ? b.unit.cview() : broadcast(b.unit.cview(), count), T(0),
                   cross.view);
  const std::vector<double> nbs = cross_nuclear_norms<T>(ctx, cross.cview());
  std::vector<T> values(nbs.size());
  for (std::size_t i = 0; i < nbs.size(); ++i) values[i] = T(shape_value(metric, nbs[i]));
  copy<T>(ctx, scalars<const T>(values.data(), count), out);
}

template <typename T>
void shape_metric_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                           MatrixBatch<const T> samples_b, ShapeMetric metric,
                           MatrixBatch<T> grad_a, MatrixBatch<T> grad_b,
                           const SpectralOptions& spectral) {
  const ArgumentChecker check("shape_metric_gradient", &ctx);
  check_same_samples(check, samples_a, samples_b, 2, "");
  const std::int64_t count = samples_a.count, n = samples_a.cols;
  const std::int64_t d_a = samples_a.rows, d_b = samples_b.rows;
  check.output("grad_a", grad_a, d_a, n, count);
  check.output("grad_b", grad_b, d_b, n, count);
  if (count == 0) return;
  check.finite(ctx, "samples_a", samples_a, false);
  check.finite(ctx, "samples_b", samples_b, false);
  const UnitSampleSets<T> a(ctx, check, "samples_a", samples_a),
      b(ctx, check, "samples_b", samples_b);
  const MatrixBatch<const T> u = a.unit.cview(), v = b.unit.cview();
  Scratch<T> cross(ctx, d_a, d_b, count), polar(ctx, d_a, d_b, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), u, v, T(0), cross.view);
  const std::vector<double> nbs = cross_nuclear_norms<T>(ctx, cross.cview());
  polar_factor<T>(ctx, cross.cview(), polar.view, spectral);
  Scratch<T> pv(ctx, d_a, n, count), pu(ctx, d_b, n, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), polar.cview(), v, T(0),
                   pv.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), polar.cview(), u, T(0),
                   pu.view);
  // Per item, ∂metric/∂X = s (P Ŷ − NBS X̂)/‖X̃‖_F with s = dmetric/dNBS (side_gradient divides
  // by ‖X̃‖_F; its second term is unused here).
  std::vector<std::array<double, 3>> coefficients(count);
  for (std::int64_t i = 0; i < count; ++i) {
    double slope = 1;
    if (metric == ShapeMetric::procrustes) {
      slope = nbs[i] < 1 ? -1 / std::sqrt((1 - nbs[i]) * (1 + nbs[i])) : 0;
    }
    coefficients[i] = {slope, 0, -slope * nbs[i]};
  }
  side_gradient<T>(ctx, a, pv, pv, coefficients, {}, grad_a);
  side_gradient<T>(ctx, b, pu, pu, coefficients, {}, grad_b);
}

#define GAUSSOT_INSTANTIATE(T)                                                                     \
  template struct UnitSampleSets<T>;                                                               \
  template void cross_squares<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>,             \
                                 VectorBatch<T>);                                                  \
  template Scratch<T> sample_norms<T>(Context&, const UnitSampleSets<T>&);                         \
  template void linear_cka<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>,                \
                              VectorBatch<T>, VectorBatch<T>);                                     \
  template void linear_cka_gradient<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>,       \
                                       MatrixBatch<T>, MatrixBatch<T>, bool);                      \
  template void shape_metric<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>, ShapeMetric, \
                                VectorBatch<T>);                                                   \
  template void shape_metric_gradient<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>,     \
                                         ShapeMetric, MatrixBatch<T>, MatrixBatch<T>,              \
                                         const SpectralOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
