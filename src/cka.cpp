// SPDX-License-Identifier: Apache-2.0
// Linear and debiased linear CKA of cka.hpp, written once over the primitives (GEMMs, Frobenius
// inner products, copies); the per-item ratios are formed on the host.
#include "gaussot/cka.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussot/array.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

/// A number as %g would print it (std::to_string prints 1e-12 as 0.000000).
std::string format_number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

/// The items of a packed batch seen as (rows·cols) x 1 columns, so that a GEMM with a 1 x 1
/// factor per item scales each item by its own number.
template <typename T>
MatrixBatch<T> as_columns(MatrixBatch<T> packed) {
  const std::int64_t m = packed.rows * packed.cols;
  return {packed.data,  m,           1, std::max<std::int64_t>(m, 1), packed.stride,
          packed.count, packed.space};
}

/// out_i = factor_i · items_i for packed batches of the same shape; factor holds 1 x 1 items.
template <typename T>
void scale_items(Context& ctx, MatrixBatch<const T> items, MatrixBatch<const T> factor,
                 MatrixBatch<T> out) {
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), as_columns(items), factor,
                   T(0), as_columns(out));
}

/// One side of the computation: the distinct sample sets of an argument, centred.
template <typename T>
struct CentredSide {
  std::int64_t d, n, count;  // count: distinct items (1 for a broadcast argument)
  Scratch<T> centred;        // d x n per item
  CentredSide(Context& ctx, MatrixBatch<const T> samples, MatrixBatch<const T> ones)
      : d(samples.rows), n(samples.cols), count(samples.count), centred(ctx, d, n, count) {
    const MatrixBatch<const T> all_ones = broadcast(ones, count);
    // Shift by the first sample (exact zeros for constant features, smaller numbers for the mean),
    // then subtract the mean of the shifted samples.
    copy<T>(ctx, samples, centred.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-1), samples.columns(0, 1),
                     all_ones, T(1), centred.view);
    Scratch<T> mean(ctx, d, 1, count);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1) / T(n), centred.cview(),
                     all_ones, T(0), mean.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-1), mean.cview(), all_ones,
                     T(1), centred.view);
  }
  /// The samples of every item as a batch of n·count columns of length d (packed storage).
  MatrixBatch<const T> samples() const {
    return {centred.view.data, d, 1, d, d, n * count, centred.view.space};
  }
  /// The item paired with pair i.
  std::int64_t item(std::int64_t i) const { return count == 1 ? 0 : i; }
};

/// ν = ‖X̃‖_F² of every distinct item, read on the host, after checking that each is a positive
/// normal number of T: zero means every sample is the same (constant features); otherwise CKA's
/// scaling by 1/ν could not be represented.
template <typename T>
std::vector<double> squared_norms(Context& ctx, const ArgumentChecker& check, const char* name,
                                  const CentredSide<T>& side) {
  Scratch<T> norms(ctx, 1, 1, side.count);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, side.centred.cview(), side.centred.cview(),
                   norms.vectors());
  std::vector<T> host(static_cast<std::size_t>(side.count));
  copy<T>(ctx, norms.vectors(), scalars(host.data(), side.count));
  for (std::int64_t i = 0; i < side.count; ++i) {
    const T nu = host[i];
    if (nu == T(0)) {
      check.fail(name,
                 "batch item " + std::to_string(i) +
                     " has constant features (every sample is the same): CKA is undefined",
                 i);
    }
    if (!(std::isfinite(nu) && nu >= std::numeric_limits<T>::min())) {
      check.fail(name,
                 "batch item " + std::to_string(i) +
                     ": the squared norm of its centred samples is outside the range of " +
                     (sizeof(T) == 4 ? "float" : "double") + "; rescale the samples",
                 i);
    }
  }
  return {host.begin(), host.end()};
}

}  // namespace

template <typename T>
void linear_cka(Context& ctx, MatrixBatch<const T> samples_a, MatrixBatch<const T> samples_b,
                VectorBatch<T> cka, VectorBatch<T> debiased) {
  const ArgumentChecker check("linear_cka", &ctx);
  check.input("samples_a", samples_a);
  check.input("samples_b", samples_b);
  const std::int64_t count = samples_a.count, n = samples_a.cols;
  const std::int64_t d_a = samples_a.rows, d_b = samples_b.rows;
  check.count("samples_b", samples_b.count, count);
  check.expect(samples_b.cols == n, "samples_b",
               "holds sets of " + std::to_string(samples_b.cols) + " samples, samples_a of " +
                   std::to_string(n) + " (CKA compares the same samples in two feature spaces)");
  check.expect(d_a >= 1, "samples_a", "has no features (0 rows)");
  check.expect(d_b >= 1, "samples_b", "has no features (0 rows)");
  const bool with_debiased = debiased.count > 0;
  check.expect(n >= 2, "samples_a", "needs at least 2 samples, got " + std::to_string(n));
  check.expect(
      !with_debiased || n >= 4, "samples_a",
      "needs at least 4 samples for the debiased CKA (unbiased HSIC), got " + std::to_string(n));
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

  std::vector<T> host_ones(static_cast<std::size_t>(n), T(1));
  Scratch<T> ones(ctx, n, 1, 1);
  copy<T>(ctx, matrices<const T>(host_ones.data(), n, 1, 1), ones.view);
  // A broadcast argument is one set: centred once, its own products formed once.
  const CentredSide<T> a(ctx, samples_a.distinct(), ones.cview());
  const CentredSide<T> b(ctx, samples_b.distinct(), ones.cview());
  const std::vector<double> nu_a = squared_norms(ctx, check, "samples_a", a);
  const std::vector<double> nu_b = squared_norms(ctx, check, "samples_b", b);
  auto paired = [count](const Scratch<T>& items, const CentredSide<T>& side) {
    return side.count == count ? items.cview() : broadcast(items.cview(), count);
  };

  // The scaling factors, one 1 x 1 item each: 1/ν_a, 1/ν_b, then 1/√(ν_a ν_b) per pair.
  Scratch<T> factors(ctx, 1, 1, a.count + b.count + count);
  {
    std::vector<T> host;
    for (double nu : nu_a) host.push_back(T(1 / nu));
    for (double nu : nu_b) host.push_back(T(1 / nu));
    for (std::int64_t i = 0; i < count; ++i) {
      host.push_back(T(1 / (std::sqrt(nu_a[a.item(i)]) * std::sqrt(nu_b[b.item(i)]))));
    }
    copy<T>(ctx, matrices<const T>(host.data(), 1, 1, static_cast<std::int64_t>(host.size())),
            factors.view);
  }
  const MatrixBatch<const T> factor_a = factors.cview().slice(0, a.count);
  const MatrixBatch<const T> factor_b = factors.cview().slice(a.count, a.count + b.count);
  const MatrixBatch<const T> factor_ab =
      factors.cview().slice(a.count + b.count, a.count + b.count + count);

  // The sums read back, one scalar per item: ‖Ĉ‖² (per pair), ‖Â‖², ‖B̂‖² (per distinct set),
  // then for the debiased value Σ r̂ŝ, Σ r̂², Σ ŝ² (hats: divided by ν, or √(ν_a ν_b) for C).
  const std::int64_t sums_count = (count + a.count + b.count) * (with_debiased ? 2 : 1);
  Scratch<T> sums(ctx, 1, 1, sums_count);
  enum Part { cross, gram_a, gram_b, r_cross, r_a, r_b };
  const std::int64_t part_count[] = {count, a.count, b.count, count, a.count, b.count};
  auto offset = [&](Part part) {
    std::int64_t o = 0;
    for (int p = 0; p < part; ++p) o += part_count[p];
    return o;
  };
  auto sum = [&](Part part) {
    return sums.vectors().slice(offset(part), offset(part) + part_count[part]);
  };
  {
    // C = X̃ Ỹᵀ (d_a x d_b per pair), then A = X̃ X̃ᵀ and B = Ỹ Ỹᵀ (per distinct set), each
    // scaled before its squares are summed. The scratch is freed before the debiased part.
    Scratch<T> product(ctx, d_a, d_b, count), scaled(ctx, d_a, d_b, count);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), paired(a.centred, a),
                     paired(b.centred, b), T(0), product.view);
    scale_items<T>(ctx, product.cview(), factor_ab, scaled.view);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, scaled.cview(), scaled.cview(), sum(cross));
  }
  auto gram_sum = [&](const CentredSide<T>& side, MatrixBatch<const T> factor, Part part) {
    Scratch<T> gram(ctx, side.d, side.d, side.count), scaled(ctx, side.d, side.d, side.count);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), side.centred.cview(),
                     side.centred.cview(), T(0), gram.view);
    scale_items<T>(ctx, gram.cview(), factor, scaled.view);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, scaled.cview(), scaled.cview(), sum(part));
  };
  gram_sum(a, factor_a, gram_a);
  gram_sum(b, factor_b, gram_b);
  if (with_debiased) {
    // r_j = ‖x̃_j‖² per sample, an n x 1 item per set, scaled by 1/ν (so that Σ r̂ = 1).
    auto sample_norms = [&](const CentredSide<T>& side, MatrixBatch<const T> factor) {
      Scratch<T> r(ctx, n, 1, side.count), scaled(ctx, n, 1, side.count);
      GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, side.samples(), side.samples(),
                       scalars(r.view.data, n * side.count, r.view.space));
      scale_items<T>(ctx, r.cview(), factor, scaled.view);
      return scaled;
    };
    const Scratch<T> rhat_a = sample_norms(a, factor_a), rhat_b = sample_norms(b, factor_b);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, paired(rhat_a, a), paired(rhat_b, b), sum(r_cross));
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, rhat_a.cview(), rhat_a.cview(), sum(r_a));
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, rhat_b.cview(), rhat_b.cview(), sum(r_b));
  }
  std::vector<T> host_sums(static_cast<std::size_t>(sums_count));
  copy<T>(ctx, sums.vectors(), scalars(host_sums.data(), sums_count));
  auto at = [&](Part part, std::int64_t i) {
    return double(host_sums[static_cast<std::size_t>(offset(part) + i)]);
  };

  // The ratios, in double on the host. With the hats, Σ r̂ = Σ ŝ = 1:
  // ĥ(X, Y) = ‖Ĉ‖² − n/(n − 2) Σ r̂ŝ + 1/((n − 1)(n − 2)), ĥ(X, X) likewise with Â and r̂ twice.
  std::vector<T> host_cka(static_cast<std::size_t>(count)), host_debiased;
  for (std::int64_t i = 0; i < count; ++i) {
    host_cka[i] = T(at(cross, i) / std::sqrt(at(gram_a, a.item(i)) * at(gram_b, b.item(i))));
  }
  if (with_debiased) {
    const double nd = double(n);
    const double weight = nd / (nd - 2), offset_term = 1 / ((nd - 1) * (nd - 2));
    // ĥ(X, X) at or below the rounding level of its terms counts as not positive.
    const double rounding = 16 * double(std::numeric_limits<T>::epsilon());
    auto self_hsic = [&](const char* name, Part gram, Part r, std::int64_t items) {
      std::vector<double> h(static_cast<std::size_t>(items));
      for (std::int64_t i = 0; i < items; ++i) {
        const double squares = at(gram, i), r_squares = weight * at(r, i);
        h[i] = squares - r_squares + offset_term;
        if (!(h[i] > rounding * (squares + r_squares + offset_term))) {
          check.fail(
              name,
              "batch item " + std::to_string(i) +
                  ": the debiased HSIC of its samples with themselves is not positive beyond "
                  "rounding (" +
                  format_number(h[i] / squares) +
                  " of its first term), so the debiased CKA is undefined (this happens with few "
                  "samples, e.g. when all samples but one are equal)",
              i);
        }
      }
      return h;
    };
    const std::vector<double> h_a = self_hsic("samples_a", gram_a, r_a, a.count);
    const std::vector<double> h_b = self_hsic("samples_b", gram_b, r_b, b.count);
    host_debiased.resize(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) {
      const double h = at(cross, i) - weight * at(r_cross, i) + offset_term;
      host_debiased[i] = T(h / std::sqrt(h_a[a.item(i)] * h_b[b.item(i)]));
    }
  }
  // Every check has passed: write the results.
  copy<T>(ctx, scalars<const T>(host_cka.data(), count), cka);
  if (with_debiased) copy<T>(ctx, scalars<const T>(host_debiased.data(), count), debiased);
}

#define GAUSSOT_INSTANTIATE(T)                                                      \
  template void linear_cka<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>, \
                              VectorBatch<T>, VectorBatch<T>);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
