// SPDX-License-Identifier: Apache-2.0
// Private: what the functions that take Gaussian batches share (bures.cpp, igw.cpp): argument
// checks (shapes, finite values, symmetric covariances, output shapes, weights) and the bias of a
// map between two batches.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussot/array.hpp"
#include "gaussot/bures.hpp"
#include "spectral_internal.hpp"
#include "spectral_rule.hpp"
#include "validate.hpp"

namespace gaussot {

/// The names of a Gaussian argument's parts in messages: "a.covariances", "a.means".
struct Names {
  std::string covariances, means;
  explicit Names(const std::string& name)
      : covariances(name + ".covariances"), means(name + ".means") {}
};

/// Shapes and memory spaces of a Gaussian batch input with `count` items in dimension d: square
/// covariances of order d, means of length d (or none).
template <typename T>
void check_shape(const ArgumentChecker& check, const Names& names, GaussianBatch<const T> g,
                 std::int64_t count, std::int64_t d) {
  check.input(names.covariances.c_str(), g.covariances);
  check.square(names.covariances.c_str(), g.covariances);
  check.matrix_shape(names.covariances.c_str(), g.covariances, d, d);
  check.count(names.covariances.c_str(), g.count(), count);
  if (!g.centered()) {
    check.input(names.means.c_str(), g.means);
    check.vector_size(names.means.c_str(), g.means, d);
    check.count(names.means.c_str(), g.means.count, count);
  }
}

/// Finite means and covariances, symmetric covariances (positive semidefiniteness is checked by
/// the spectral steps that decompose them).
template <typename T>
void check_values(Context& ctx, const ArgumentChecker& check, const Names& names,
                  GaussianBatch<const T> g) {
  if (g.count() == 0 || g.dimension() == 0) return;
  check.finite(ctx, names.covariances.c_str(), g.covariances, /*lower_only=*/false);
  if (!g.centered()) check.finite(ctx, names.means.c_str(), g.means.as_matrices(), false);
  check.symmetric(ctx, names.covariances.c_str(), g.covariances);
}

/// Whether a and b are the same views of the same data (one set against itself).
template <typename T>
bool same_batch(GaussianBatch<const T> a, GaussianBatch<const T> b) {
  auto same = [](const auto& x, const auto& y) {
    return x.data == y.data && x.count == y.count && x.stride == y.stride;
  };
  return same(a.covariances, b.covariances) && a.covariances.ld == b.covariances.ld &&
         a.covariances.rows == b.covariances.rows && same(a.means, b.means) &&
         a.means.size == b.means.size;
}

/// Checks a two-sided call: a and b with the same count and dimension; returns (count, d).
template <typename T>
std::pair<std::int64_t, std::int64_t> check_pair(Context& ctx, const ArgumentChecker& check,
                                                 GaussianBatch<const T> a,
                                                 GaussianBatch<const T> b) {
  const std::int64_t count = a.count(), d = a.dimension();
  check_shape(check, Names("a"), a, count, d);
  check_shape(check, Names("b"), b, count, d);
  check_values(ctx, check, Names("a"), a);
  check_values(ctx, check, Names("b"), b);
  return {count, d};
}

/// The output shape of a Gaussian batch result.
template <typename T>
void check_output(const ArgumentChecker& check, const Names& names, GaussianBatch<T> g,
                  std::int64_t count, std::int64_t d, bool means_required) {
  check.output(names.covariances.c_str(), g.covariances);
  check.matrix_shape(names.covariances.c_str(), g.covariances, d, d);
  check.count(names.covariances.c_str(), g.count(), count);
  check.expect(!means_required || !g.centered(), names.means.c_str(), "must not be empty");
  if (!g.centered()) {
    check.output(names.means.c_str(), g.means);
    check.vector_size(names.means.c_str(), g.means, d);
    check.count(names.means.c_str(), g.means.count, count);
  }
}

/// The means of g as d x 1 matrices, for combine(); only for non-centered g.
template <typename T>
MatrixBatch<const T> mean_columns(GaussianBatch<const T> g) {
  return VectorBatch<const T>(g.means).as_matrices();
}

/// The k weights as given (checked: finite, >= 0, positive sum; InvalidArgument naming
/// 'weights' and the item otherwise), or `fallback` for every item when `weights` is empty.
template <typename T>
std::vector<T> checked_weights(Context& ctx, const ArgumentChecker& check,
                               VectorBatch<const T> weights, std::int64_t k, T fallback) {
  std::vector<T> rho(static_cast<std::size_t>(k), fallback);
  if (weights.count == 0) return rho;
  check.input("weights", weights);
  check.vector_size("weights", weights, k);
  check.count("weights", weights.count, 1);
  copy<T>(ctx, weights, vectors(rho.data(), k, 1));
  T sum = 0;
  for (std::int64_t i = 0; i < k; ++i) {
    if (!(std::isfinite(rho[i]) && rho[i] >= 0)) {
      check.fail(
          "weights",
          "must be finite and >= 0, item " + std::to_string(i) + " is " + format_number(rho[i]), i);
    }
    sum += rho[i];
  }
  check.expect(sum > 0, "weights", "must have a positive sum");
  return rho;
}

/// The weights normalised to sum 1 (uniform when `weights` is empty); checked as checked_weights.
template <typename T>
std::vector<T> normalized_weights(Context& ctx, const ArgumentChecker& check,
                                  VectorBatch<const T> weights, std::int64_t k) {
  std::vector<T> rho = checked_weights(ctx, check, weights, k, T(1));
  T sum = 0;
  for (T r : rho) sum += r;
  for (T& r : rho) r /= sum;
  return rho;
}

/// A packed d x d identity in the context's memory space.
template <typename T>
Scratch<T> identity(Context& ctx, std::int64_t d) {
  std::vector<T> host(static_cast<std::size_t>(d * d), T(0));
  for (std::int64_t i = 0; i < d; ++i) host[i + i * d] = T(1);
  Scratch<T> eye(ctx, d, d, 1);
  copy<T>(ctx, square_matrices<const T>(host.data(), d, 1), eye.view);
  return eye;
}

/// diff_i = mean(a_i) − mean(b_i) (zero for centered sides), as d x 1 matrices.
template <typename T>
void mean_difference(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                     MatrixBatch<T> diff) {
  if (a.centered() && b.centered()) {
    combine<T>(ctx, {}, diff);
  } else if (a.centered()) {
    combine<T>(ctx, {{T(-1), mean_columns(b)}}, diff);
  } else if (b.centered()) {
    combine<T>(ctx, {{T(1), mean_columns(a)}}, diff);
  } else {
    combine<T>(ctx, {{T(1), mean_columns(a)}, {T(-1), mean_columns(b)}}, diff);
  }
}

/// A factor F_i of each covariance, F_i F_iᵀ = S_i: the Cholesky factor when every item is
/// positive definite (cheaper than a square root), else the symmetric square root S_i^½ (with the
/// clamping rule, which names `name` for an item that is not positive semidefinite). Either way
/// F_iᵀ B F_i has the eigenvalues of S_i^½ B S_i^½.
template <typename T>
void covariance_factor(Context& ctx, const ArgumentChecker& check, const char* name,
                       MatrixBatch<const T> covariances, MatrixBatch<T> factor,
                       const SpectralOptions& options) {
  if (GAUSSOT_DISPATCH(ctx, cholesky<T>, covariances, factor) < 0) return;
  run_spectral<T>(ctx, check, name, covariances, {{SpectralFunction::sqrt(), factor}}, options);
}

/// bias_i = m_b,i − A_i m_a,i: the bias of the affine map x ↦ A_i x + bias_i that sends the mean
/// of a_i to the mean of b_i (a centered side has mean 0). `matrix`: count x (d_b x d_a).
template <typename T>
void map_bias(Context& ctx, MatrixBatch<const T> matrix, GaussianBatch<const T> a,
              GaussianBatch<const T> b, VectorBatch<T> bias) {
  if (a.centered()) {
    if (b.centered()) {
      combine<T>(ctx, {}, bias.as_matrices());
    } else {
      combine<T>(ctx, {{T(1), mean_columns(b)}}, bias.as_matrices());
    }
    return;
  }
  Scratch<T> image(ctx, matrix.rows, 1, matrix.count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), matrix, mean_columns(a), T(0),
                   image.view);
  if (b.centered()) {
    combine<T>(ctx, {{T(-1), image.cview()}}, bias.as_matrices());
  } else {
    combine<T>(ctx, {{T(1), mean_columns(b)}, {T(-1), image.cview()}}, bias.as_matrices());
  }
}

// ---- products of covariances scaled into the range of T (bures.cpp, entropic.cpp) ----

/// Per-pair power-of-two factors that keep the products S_a^½ S_b S_a^½ of pairs in the range of
/// T. Those products have the magnitude of s_a·s_b (s = tr S, the largest eigenvalue within a
/// factor d): below min/ε their eigenvalues lose their relative precision in subnormals or flush
/// to 0, above max/(4d) the products overflow, so that W2² of pairs scaled by 1e±200 in float64
/// came out wrong or infinite. Pair i whose product leaves that window is computed with the
/// factor F_i of S_a scaled by g_i = 2^e_i, g_i² s_a s_b ≈ 1 (exact: a power of two), and the
/// results that depend on g_i are scaled back by 1/g_i (powers of two: exact away from
/// subnormals). Without `always` (brenier_matrix, the barycenter and the Fréchet method choice)
/// it returns no factors when every pair is inside the window, and nothing is rescaled. With
/// `always` (the W2 distances), every pair with a nonzero product gets its factor, inside the
/// window too: the products are then normalised to a magnitude of about 1, which lets their
/// clamping rule use a fixed scale floor (normalised_product_rule). `trace_b` may have one value
/// for every pair (broadcast).
template <typename T>
std::vector<double> pair_factors(const std::vector<double>& trace_a,
                                 const std::vector<double>& trace_b, std::int64_t d,
                                 bool always = false) {
  using limits = std::numeric_limits<T>;
  const double lowest = std::log2(double(limits::min()) / double(limits::epsilon()));
  const double highest =
      std::log2(double(limits::max()) / (4.0 * double(std::max<std::int64_t>(d, 1))));
  const double largest = double(limits::max());
  const std::size_t count = trace_a.size();
  std::vector<double> factors(count, 1.0);
  bool needed = false;
  for (std::size_t i = 0; i < count; ++i) {
    const double sa = std::min(trace_a[i], largest);
    const double sb = std::min(trace_b[trace_b.size() == 1 ? 0 : i], largest);
    if (!(sa > 0 && sb > 0)) continue;  // a zero covariance: the product is exactly 0
    const double log_product = std::log2(sa) + std::log2(sb);
    if (!always && log_product >= lowest && log_product <= highest) continue;
    factors[i] = spectral_rule::normalising_factor<T>(sa, sb);
    needed = true;
  }
  if (!needed && !always) factors.clear();
  return factors;
}

/// The clamping rule of the normalised products g² F_iᵀ S_b F_i (pair_factors with `always`),
/// whose size is that of tr S_a·tr S_b·g² ≈ 1: their eigenvalues are refused as negative only
/// below −τ·max(largest, 1/4), not −τ·largest. Where the product is 0 in exact arithmetic
/// (singular S_a and S_b with orthogonal ranges), its computed eigenvalues are rounding noise of
/// either sign, as large as the largest one: refusing them against the largest refused W2² of
/// such pairs as "not positive semidefinite".
inline SpectralOptions normalised_product_rule(SpectralOptions options) {
  options.scale_floor = std::max(options.scale_floor, 0.25);
  return options;
}

/// The factors as count 1 x 1 items on the context (each to the power `power`: 1 or -1).
template <typename T>
Scratch<T> factors_on_context(Context& ctx, const std::vector<double>& factors, int power) {
  std::vector<double> values(factors);
  if (power < 0) {
    for (double& v : values) v = 1 / v;  // exact: powers of two
  }
  return on_context<T>(ctx, values, 1, 1, static_cast<std::int64_t>(values.size()));
}

/// out_i = (g_i F_i)ᵀ S_i (g_i F_i) for g = `factors` (pair_factors), the product of a pair formed
/// inside the range of T; with no factors, the plain sandwich F_iᵀ S_i F_i. F may broadcast.
template <typename T>
void scaled_sandwich(Context& ctx, MatrixBatch<const T> f, MatrixBatch<const T> s,
                     const std::vector<double>& factors, MatrixBatch<T> out) {
  if (factors.empty()) {
    GAUSSOT_DISPATCH(ctx, sandwich<T>, f, s, out);
    return;
  }
  const Scratch<T> g = factors_on_context<T>(ctx, factors, 1);
  Scratch<T> scaled(ctx, f.rows, f.cols, out.count);
  scale_items<T>(ctx, f, g.cview(), scaled.view);
  GAUSSOT_DISPATCH(ctx, sandwich<T>, scaled.cview(), s, out);
}

/// values_i /= g_i in place, for a result of scaled_sandwich's product that grows as g_i (its
/// square root, or the trace of that): (g² M)^½ = g M^½. Exact (powers of two); nothing to do
/// without factors. `values`: count packed items of any shape.
template <typename T>
void unscale(Context& ctx, const std::vector<double>& factors, MatrixBatch<T> values) {
  if (factors.empty()) return;
  const Scratch<T> inverse = factors_on_context<T>(ctx, factors, -1);
  Scratch<T> copied(ctx, values.rows, values.cols, values.count);
  copy<T>(ctx, MatrixBatch<const T>(values), copied.view);
  scale_items<T>(ctx, copied.cview(), inverse.cview(), values);
}

/// Host values of the traces of a batch of matrices (one synchronisation).
template <typename T>
std::vector<double> host_traces(Context& ctx, MatrixBatch<const T> a) {
  Scratch<T> traces(ctx, 1, 1, a.count);
  GAUSSOT_DISPATCH(ctx, trace<T>, a, traces.vectors());
  return to_host<T>(ctx, traces.vectors());
}

}  // namespace gaussot
