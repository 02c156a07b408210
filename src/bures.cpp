// SPDX-License-Identifier: Apache-2.0
// The Bures–Wasserstein algorithms of bures.hpp, written once over the primitives.
#include "gaussot/bures.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "barycenter_fixed_point.hpp"
#include "compose.hpp"
#include "gaussian_batches.hpp"
#include "gaussot/statistics.hpp"
#include "moments.hpp"
#include "polar_factor.hpp"
#include "spectral_internal.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

/// Scratch space of w2_from_roots for `count` pairs in dimension d, allocated once per call.
template <typename T>
struct W2Scratch {
  Scratch<T> middle, trace_root, diff, mean_squared;
  W2Scratch(Context& ctx, std::int64_t d, std::int64_t count)
      : middle(ctx, d, d, count),
        trace_root(ctx, 1, 1, count),
        diff(ctx, d, 1, count),
        mean_squared(ctx, 1, 1, count) {}
};

/// The squared-distance core: out_i = max(0, ‖m_a − m_b‖² + tr S_a + tr S_b − 2 tr(F_iᵀ S_b F_i)^½)
/// with F_i a factor of S_a (covariance_factor; `root_a`, packed, may broadcast) and the traces
/// given. With `factors` (pair_factors: none, or one per pair), F_i is scaled by factor_i for the
/// product and the trace of its square root scaled back.
template <typename T>
void w2_from_roots(Context& ctx, const ArgumentChecker& check, MatrixBatch<const T> root_a,
                   VectorBatch<const T> trace_a, GaussianBatch<const T> a, GaussianBatch<const T> b,
                   VectorBatch<const T> trace_b, VectorBatch<T> out, const BuresOptions& options,
                   W2Scratch<T>& scratch, const std::vector<double>& factors = {}) {
  scaled_sandwich<T>(ctx, root_a, b.covariances, factors, scratch.middle.view);
  run_spectral_trace<T>(
      ctx, check, "b.covariances", scratch.middle.cview(), SpectralFunction::sqrt(),
      scratch.trace_root.vectors(),
      factors.empty() ? options.spectral : normalised_product_rule(options.spectral),
      "S_a^1/2 S_b S_a^1/2");
  unscale<T>(ctx, factors, scratch.trace_root.view);  // tr (g² M)^½ = g tr M^½
  mean_difference<T>(ctx, a, b, scratch.diff.view);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, scratch.diff.cview(), scratch.diff.cview(),
                   scratch.mean_squared.vectors());
  combine<T>(ctx,
             {{T(1), scratch.mean_squared.cview()},
              {T(1), trace_a.as_matrices()},
              {T(1), trace_b.as_matrices()},
              {T(-2), scratch.trace_root.cview()}},
             out.as_matrices(), T(0));
  // Finite inputs can still have a W2² (or a trace, or ‖m_a − m_b‖²) beyond the range of T.
  check.result_in_range<T>(ctx, "b.covariances", out.as_matrices(),
                           "W2² (or one of its terms tr S_a, tr S_b, ‖m_a − m_b‖²)");
}

/// A = S_a^-½ (S_a^½ S_b S_a^½)^½ S_a^-½ for each pair (a's covariances positive definite).
template <typename T>
void brenier_matrix(Context& ctx, const ArgumentChecker& check, GaussianBatch<const T> a,
                    GaussianBatch<const T> b, const char* a_name, const char* b_name,
                    MatrixBatch<T> out, const BuresOptions& options) {
  const std::int64_t count = out.count, d = out.rows;
  Scratch<T> root(ctx, d, d, count), inverse_root(ctx, d, d, count), middle(ctx, d, d, count);
  run_spectral<T>(
      ctx, check, a_name, a.covariances,
      {{SpectralFunction::sqrt(), root.view}, {SpectralFunction::inv_sqrt(), inverse_root.view}},
      options.spectral);
  // Pairs whose product S_a^½ S_b S_a^½ would leave the range of T: S_a^½ scaled by g for the
  // product, its square root (g times too large) scaled back before the outer sandwich.
  const std::vector<double> factors =
      pair_factors<T>(host_traces<T>(ctx, a.covariances), host_traces<T>(ctx, b.covariances), d);
  scaled_sandwich<T>(ctx, root.cview(), b.covariances, factors, middle.view);
  run_spectral<T>(ctx, check, b_name, middle.cview(), {{SpectralFunction::sqrt(), middle.view}},
                  options.spectral, "S_a^1/2 S_b S_a^1/2");
  unscale<T>(ctx, factors, middle.view);  // (g² M)^½ = g M^½
  GAUSSOT_DISPATCH(ctx, sandwich<T>, inverse_root.cview(), middle.cview(), out);
  // S_b/S_a beyond the range of T gives a map beyond it.
  check.result_in_range<T>(ctx, b_name, out,
                           "the Brenier map (the covariances differ in scale by too much)");
}

/// The pair of sample sets of frechet_distance and its gradient: same d and count, n >= 2 each.
template <typename T>
void check_sample_pair(const ArgumentChecker& check, MatrixBatch<const T> samples_a,
                       MatrixBatch<const T> samples_b) {
  check.input("samples_a", samples_a);
  check.input("samples_b", samples_b);
  check.expect(samples_b.rows == samples_a.rows, "samples_b",
               "holds samples of dimension " + std::to_string(samples_b.rows) +
                   ", samples_a of dimension " + std::to_string(samples_a.rows));
  check.count("samples_b", samples_b.count, samples_a.count);
  check.expect(samples_a.cols >= 2, "samples_a",
               "needs at least 2 samples, got " + std::to_string(samples_a.cols));
  check.expect(samples_b.cols >= 2, "samples_b",
               "needs at least 2 samples, got " + std::to_string(samples_b.cols));
}

/// Whether frechet_distance takes the samples path (FrechetMethod).
bool by_samples_method(FrechetMethod method, std::int64_t n_a, std::int64_t n_b, std::int64_t d) {
  return method == FrechetMethod::samples ||
         (method == FrechetMethod::automatic && std::min(n_a, n_b) < d);
}

/// Sample sets (d x n per item, columns are samples), their means and the centred samples.
template <typename T>
struct CentredSamples {
  Scratch<T> ones, mean, centred;
  CentredSamples(Context& ctx, MatrixBatch<const T> x)
      : ones(on_context<T>(ctx, std::vector<double>(static_cast<std::size_t>(x.cols), 1.0), x.cols,
                           1, 1)),
        mean(ctx, x.rows, 1, x.count),
        centred(ctx, x.rows, x.cols, x.count) {
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1) / T(x.cols), x,
                     broadcast(ones.cview(), x.count), T(0), mean.view);
    copy<T>(ctx, x, centred.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-1), mean.cview(),
                     broadcast(ones.cview(), x.count), T(1), centred.view);
  }
};

}  // namespace

template <typename T>
void w2_squared(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                VectorBatch<T> out, const BuresOptions& options) {
  const ArgumentChecker check("w2_squared", &ctx);
  check.output("out", out);
  check.vector_size("out", out, 1);
  const auto [count, d] = check_pair(ctx, check, a, b);
  check.count("out", out.count, count);
  if (count == 0) return;
  // One factor per distinct a: a broadcast a (one-versus-many) is factorised once.
  const MatrixBatch<const T> distinct = a.covariances.distinct();
  Scratch<T> root(ctx, d, d, distinct.count);
  covariance_factor<T>(ctx, check, "a.covariances", distinct, root.view, options.spectral);
  Scratch<T> trace_a(ctx, 1, 1, count), trace_b(ctx, 1, 1, count);
  GAUSSOT_DISPATCH(ctx, trace<T>, a.covariances, trace_a.vectors());
  GAUSSOT_DISPATCH(ctx, trace<T>, b.covariances, trace_b.vectors());
  const MatrixBatch<const T> roots =
      distinct.count < count ? broadcast(root.cview(), count) : root.cview();
  W2Scratch<T> scratch(ctx, d, count);
  const std::vector<double> factors = pair_factors<T>(to_host<T>(ctx, trace_a.vectors()),
                                                      to_host<T>(ctx, trace_b.vectors()), d, true);
  w2_from_roots<T>(ctx, check, roots, trace_a.vectors(), a, b, trace_b.vectors(), out, options,
                   scratch, factors);
}

template <typename T>
void w2_squared_all_pairs(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          MatrixBatch<T> out, const BuresOptions& options) {
  const ArgumentChecker check("w2_squared_all_pairs", &ctx);
  const std::int64_t d = a.dimension();
  check_shape(check, Names("a"), a, a.count(), d);
  check_shape(check, Names("b"), b, b.count(), d);
  check.output("out", out);
  check.matrix_shape("out", out, a.count(), b.count());
  check.count("out", out.count, 1);
  check_values(ctx, check, Names("a"), a);
  check_values(ctx, check, Names("b"), b);
  if (a.count() == 0 || b.count() == 0) return;
  Scratch<T> root(ctx, d, d, a.count());
  covariance_factor<T>(ctx, check, "a.covariances", a.covariances, root.view, options.spectral);
  Scratch<T> trace_a(ctx, 1, 1, a.count()), trace_b(ctx, 1, 1, b.count());
  GAUSSOT_DISPATCH(ctx, trace<T>, a.covariances, trace_a.vectors());
  GAUSSOT_DISPATCH(ctx, trace<T>, b.covariances, trace_b.vectors());
  W2Scratch<T> scratch(ctx, d, b.count());
  const std::vector<double> host_trace_a = to_host<T>(ctx, trace_a.vectors());
  const std::vector<double> host_trace_b = to_host<T>(ctx, trace_b.vectors());
  for (std::int64_t i = 0; i < a.count(); ++i) {  // row i: a_i against every b_j
    const VectorBatch<T> row(out.data + i, 1, out.ld, b.count(), out.space);
    const VectorBatch<const T> trace_a_i(trace_a.view.data + i, 1, 0, b.count(),
                                         ctx.memory_space());
    const std::vector<double> factors =
        pair_factors<T>(std::vector<double>(static_cast<std::size_t>(b.count()), host_trace_a[i]),
                        host_trace_b, d, true);
    w2_from_roots<T>(ctx, check, broadcast(root.cview().slice(i, i + 1), b.count()), trace_a_i,
                     broadcast(a.slice(i, i + 1), b.count()), b, trace_b.vectors(), row, options,
                     scratch, factors);
  }
}

template <typename T>
void brenier_map(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                 MatrixBatch<T> matrix, VectorBatch<T> bias, const BuresOptions& options) {
  const ArgumentChecker check("brenier_map", &ctx);
  const auto [count, d] = check_pair(ctx, check, a, b);
  check.output("matrix", matrix);
  check.matrix_shape("matrix", matrix, d, d);
  check.count("matrix", matrix.count, count);
  check.output("bias", bias);
  check.vector_size("bias", bias, d);
  check.count("bias", bias.count, count);
  if (count == 0) return;
  brenier_matrix<T>(ctx, check, a, b, "a.covariances", "b.covariances", matrix, options);
  map_bias<T>(ctx, matrix, a, b, bias);
}

template <typename T>
void mccann_interpolant(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b, double t,
                        GaussianBatch<T> out, const BuresOptions& options) {
  const ArgumentChecker check("mccann_interpolant", &ctx);
  check.in_interval("t", t, 0, 1, /*open_low=*/false, /*open_high=*/false);
  const auto [count, d] = check_pair(ctx, check, a, b);
  check_output(check, Names("out"), out, count, d, /*means_required=*/true);
  if (count == 0) return;
  Scratch<T> map(ctx, d, d, count), step(ctx, d, d, count);
  brenier_matrix<T>(ctx, check, a, b, "a.covariances", "b.covariances", map.view, options);
  const Scratch<T> eye = identity<T>(ctx, d);
  // B_t = (1 − t) I + t A;  covariance B_t S_a B_t;  mean (1 − t) m_a + t m_b.
  combine<T>(ctx, {{T(1 - t), broadcast(eye.cview(), count)}, {T(t), map.cview()}}, step.view);
  GAUSSOT_DISPATCH(ctx, sandwich<T>, step.cview(), a.covariances, out.covariances);
  Scratch<T> zero(ctx, d, 1, 1);
  combine<T>(ctx, {}, zero.view);
  const MatrixBatch<const T> mean_a =
      a.centered() ? broadcast(zero.cview(), count) : mean_columns(a);
  const MatrixBatch<const T> mean_b =
      b.centered() ? broadcast(zero.cview(), count) : mean_columns(b);
  combine<T>(ctx, {{T(1 - t), mean_a}, {T(t), mean_b}}, out.means.as_matrices());
}

template <typename T>
void w2_squared_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                         GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                         const BuresOptions& options) {
  const ArgumentChecker check("w2_squared_gradient", &ctx);
  const auto [count, d] = check_pair(ctx, check, a, b);
  // An empty side (count 0) is skipped; the other side's gradient needs only its own covariance
  // positive definite.
  const bool with_a = grad_a.count() > 0 || count == 0, with_b = grad_b.count() > 0 || count == 0;
  if (with_a) check_output(check, Names("grad_a"), grad_a, count, d, /*means_required=*/true);
  if (with_b) check_output(check, Names("grad_b"), grad_b, count, d, /*means_required=*/true);
  check.expect(with_a || with_b, "grad_a", "and grad_b are both empty: no side to compute");
  if (count == 0) return;
  Scratch<T> diff(ctx, d, 1, count);
  mean_difference<T>(ctx, a, b, diff.view);
  const Scratch<T> eye = identity<T>(ctx, d);
  Scratch<T> map(ctx, d, d, count);
  for (const bool side_a : {true, false}) {
    if (!(side_a ? with_a : with_b)) continue;
    const GaussianBatch<T>& grad = side_a ? grad_a : grad_b;
    combine<T>(ctx, {{T(side_a ? 2 : -2), diff.cview()}}, grad.means.as_matrices());
    brenier_matrix<T>(ctx, check, side_a ? a : b, side_a ? b : a,
                      side_a ? "a.covariances" : "b.covariances",
                      side_a ? "b.covariances" : "a.covariances", map.view, options);
    combine<T>(ctx, {{T(1), broadcast(eye.cview(), count)}, {T(-1), map.cview()}},
               grad.covariances);
  }
}

template <typename T>
BarycenterReport w2_barycenter(Context& ctx, GaussianBatch<const T> inputs,
                               VectorBatch<const T> weights, GaussianBatch<T> out,
                               const BarycenterOptions& options) {
  const ArgumentChecker check("w2_barycenter", &ctx);
  const std::int64_t k = inputs.count(), d = inputs.dimension();
  check_shape(check, Names("inputs"), inputs, k, d);
  check.expect(k >= 1, "inputs", "must hold at least one Gaussian");
  check_output(check, Names("out"), out, 1, d, /*means_required=*/true);
  check.at_least("options.max_iterations", options.max_iterations, 1);
  const double tolerance = options.tolerance.value_or(default_barycenter_tolerance<T>());
  check.non_negative("options.tolerance", tolerance);
  const std::vector<T> rho = normalized_weights<T>(ctx, check, weights, k);
  check_values(ctx, check, Names("inputs"), inputs);
  if (d == 0) return {};  // Gaussians on R^0: nothing to average, nothing to write
  // An indefinite input would otherwise surface as "the barycenter iterate B^½ S_i B^½" failing
  // its clamping rule, blaming the iterate; one eigvalsh per input names the input instead.
  Scratch<T> input_traces(ctx, 1, 1, k);
  run_spectral_trace<T>(ctx, check, "inputs.covariances", inputs.covariances,
                        SpectralFunction::sqrt(), input_traces.vectors(), options.spectral);
  Scratch<T> weight(ctx, k, 1, 1);
  copy<T>(ctx, matrices<const T>(rho.data(), k, 1, 1), weight.view);

  // Packed copies: the weighted sums are GEMMs of the (d², k) and (d, k) matrices by ρ.
  Scratch<T> covariances(ctx, d, d, k);
  copy<T>(ctx, inputs.covariances, covariances.view);
  // The iteration forms B^½ S_i B^½ and ‖B‖_F², of the magnitude of s² for covariances of trace
  // s: outside the window of pair_factors they underflow or overflow. The barycenter of c·S_i is
  // c·B, so the covariances are scaled by one power of two c (c·max s ≈ 1) and B scaled back.
  double scale = 1;
  {
    const std::vector<double> traces = host_traces<T>(ctx, covariances.cview());
    const double largest = *std::max_element(traces.begin(), traces.end());
    const std::vector<double> factor = pair_factors<T>({largest}, {largest}, d);
    if (!factor.empty()) {  // g² s² ≈ 1: c = g
      scale = factor[0];
      combine<T>(ctx, {{T(scale), covariances.cview()}}, covariances.view);
    }
  }
  if (inputs.centered()) {
    combine<T>(ctx, {}, out.means.as_matrices());
  } else {
    Scratch<T> means(ctx, d, 1, k);
    copy<T>(ctx, mean_columns(inputs), means.view);
    Scratch<T> mean(ctx, d, 1, 1);
    weighted_sum<T>(ctx, means.cview(), weight.cview(), mean.view);
    copy<T>(ctx, mean.cview(), out.means.as_matrices());
  }
  const BarycenterReport report = barycenter_fixed_point<T>(
      ctx, check, covariances.cview(), weight.cview(), out.covariances, options,
      [&](const BarycenterIterate<T>& iterate) {
        if (iterate.residual <= tolerance) return true;
        if (iterate.iteration == options.max_iterations) {
          throw ConvergenceError("w2_barycenter: the fixed point did not converge in " +
                                     std::to_string(options.max_iterations) + " iteration" +
                                     (options.max_iterations == 1 ? "" : "s") + " (residual " +
                                     format_number(iterate.residual) + ", tolerance " +
                                     format_number(tolerance) + ")",
                                 -1, 0, __FILE__, __LINE__);
        }
        return false;
      });
  if (scale != 1) {
    combine<T>(ctx, {{T(1 / scale), MatrixBatch<const T>(out.covariances)}}, out.covariances);
  }
  return report;
}

template <typename T>
BarycenterReport barycenter_fixed_point(
    Context& ctx, const ArgumentChecker& check, MatrixBatch<const T> covariances,
    MatrixBatch<const T> weights, MatrixBatch<T> out, const BarycenterOptions& options,
    const std::function<bool(const BarycenterIterate<T>&)>& stop) {
  const std::int64_t k = covariances.count, d = covariances.rows;
  Scratch<T> current(ctx, d, d, 1), root(ctx, d, d, 1), inverse_root(ctx, d, d, 1),
      middle(ctx, d, d, k), average(ctx, d, d, 1), square(ctx, d, d, 1);
  Scratch<T> norms(ctx, 1, 1, 2);
  weighted_sum<T>(ctx, covariances, weights, current.view);  // B_0 = Σ ρ_i S_i
  BarycenterReport report;
  for (int iteration = 0;; ++iteration) {
    run_spectral<T>(
        ctx, check, "inputs.covariances", current.cview(),
        {{SpectralFunction::sqrt(), root.view}, {SpectralFunction::inv_sqrt(), inverse_root.view}},
        options.spectral,
        "the barycenter iterate (the weighted mean of the covariances must be positive definite)");
    GAUSSOT_DISPATCH(ctx, sandwich<T>, broadcast(root.cview(), k), covariances, middle.view);
    run_spectral<T>(ctx, check, "inputs.covariances", middle.cview(),
                    {{SpectralFunction::sqrt(), middle.view}}, options.spectral, "B^1/2 S_i B^1/2");
    weighted_sum<T>(ctx, middle.cview(), weights, average.view);  // Σ ρ_i (B^½ S_i B^½)^½
    // Fixed-point residual ‖average − B‖_F / ‖B‖_F, read on the host.
    combine<T>(ctx, {{T(1), average.cview()}, {T(-1), current.cview()}}, square.view);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, square.cview(), square.cview(),
                     norms.vectors().slice(0, 1));
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, current.cview(), current.cview(),
                     norms.vectors().slice(1, 2));
    T host_norms[2];
    copy<T>(ctx, norms.vectors(), vectors(host_norms, 1, 2));
    report.iterations = iteration;
    report.residual = std::sqrt(double(host_norms[0]) / double(host_norms[1]));
    if (stop({iteration, report.residual, current.cview(), inverse_root.cview(), middle.cview()})) {
      break;
    }
    // B ← B^-½ (Σ ρ_i (B^½ S_i B^½)^½)² B^-½
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), average.cview(),
                     average.cview(), T(0), square.view);
    GAUSSOT_DISPATCH(ctx, sandwich<T>, inverse_root.cview(), square.cview(), current.view);
  }
  copy<T>(ctx, current.cview(), out);
  return report;
}

template <typename T>
void frechet_distance(Context& ctx, MatrixBatch<const T> samples_a, MatrixBatch<const T> samples_b,
                      VectorBatch<T> out, const FrechetOptions& options) {
  const ArgumentChecker check("frechet_distance", &ctx);
  const std::int64_t d = samples_a.rows, count = samples_a.count;
  const std::int64_t n_a = samples_a.cols, n_b = samples_b.cols;
  check_sample_pair(check, samples_a, samples_b);
  check.output("out", out);
  check.vector_size("out", out, 1);
  check.count("out", out.count, count);
  if (count == 0) return;
  if (d == 0) {  // Gaussians on R^0: the distance is 0
    combine<T>(ctx, {}, out.as_matrices());
    return;
  }
  check.finite(ctx, "samples_a", samples_a, false);
  check.finite(ctx, "samples_b", samples_b, false);
  bool by_samples = by_samples_method(options.method, n_a, n_b, d);
  if (by_samples) {
    // tr (S_a^½ S_b S_a^½)^½ = ‖X̃ᵀ Ỹ‖_* / √((n_a − 1)(n_b − 1)) with X̃, Ỹ the centred samples
    // (columns), and ‖K‖_* = tr (K Kᵀ)^½ on the smaller side.
    const CentredSamples<T> a(ctx, samples_a), b(ctx, samples_b);
    const Scratch<T>&mean_a = a.mean, &mean_b = b.mean, &centred_a = a.centred,
          &centred_b = b.centred;
    Scratch<T> nuclear(ctx, 1, 1, count), scatter_a(ctx, 1, 1, count), scatter_b(ctx, 1, 1, count),
        diff(ctx, d, 1, count), mean_squared(ctx, 1, 1, count);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, centred_a.cview(), centred_a.cview(),
                     scatter_a.vectors());
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, centred_b.cview(), centred_b.cview(),
                     scatter_b.vectors());
    // The Gram matrix has the magnitude of scatter_a·scatter_b: outside the range of T (samples
    // beyond about 1e±77 in float64) the covariances method, which rescales, takes over.
    const std::int64_t m = std::min(n_a, n_b);
    by_samples = pair_factors<T>(to_host<T>(ctx, scatter_a.vectors()),
                                 to_host<T>(ctx, scatter_b.vectors()), m)
                     .empty();
    if (by_samples) {
      Scratch<T> cross(ctx, n_a, n_b, count);
      GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), centred_a.cview(),
                       centred_b.cview(), T(0), cross.view);
      Scratch<T> gram(ctx, m, m, count);
      GAUSSOT_DISPATCH(ctx, gemm<T>, n_a <= n_b ? Transpose::no : Transpose::yes,
                       n_a <= n_b ? Transpose::yes : Transpose::no, T(1), cross.cview(),
                       cross.cview(), T(0), gram.view);
      run_spectral_trace<T>(ctx, check, "samples_b", gram.cview(), SpectralFunction::sqrt(),
                            nuclear.vectors(), options.bures.spectral, "the cross Gram matrix");
      combine<T>(ctx, {{T(1), mean_a.cview()}, {T(-1), mean_b.cview()}}, diff.view);
      GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, diff.cview(), diff.cview(), mean_squared.vectors());
      combine<T>(ctx,
                 {{T(1), mean_squared.cview()},
                  {T(1) / T(n_a - 1), scatter_a.cview()},
                  {T(1) / T(n_b - 1), scatter_b.cview()},
                  {T(-2) / std::sqrt(T(n_a - 1) * T(n_b - 1)), nuclear.cview()}},
                 out.as_matrices(), T(0));
      check.result_in_range<T>(ctx, "samples_a", out.as_matrices(), "the Fréchet distance",
                               "the samples");
      return;
    }
  }
  Scratch<T> mean_a(ctx, d, 1, count), mean_b(ctx, d, 1, count), cov_a(ctx, d, d, count),
      cov_b(ctx, d, d, count);
  fit_moments<T>(ctx, check, "samples_a", samples_a, mean_a.vectors(), cov_a.view);
  fit_moments<T>(ctx, check, "samples_b", samples_b, mean_b.vectors(), cov_b.view);
  w2_squared<T>(ctx, {mean_a.vectors(), cov_a.cview()}, {mean_b.vectors(), cov_b.cview()}, out,
                options.bures);
}

template <typename T>
void frechet_distance_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                               MatrixBatch<const T> samples_b, MatrixBatch<T> grad_a,
                               MatrixBatch<T> grad_b, const FrechetOptions& options) {
  const ArgumentChecker check("frechet_distance_gradient", &ctx);
  check_sample_pair(check, samples_a, samples_b);
  const std::int64_t d = samples_a.rows, count = samples_a.count;
  const std::int64_t n_a = samples_a.cols, n_b = samples_b.cols;
  check.output("grad_a", grad_a, d, n_a, count);
  check.output("grad_b", grad_b, d, n_b, count);
  if (count == 0 || d == 0) return;
  check.finite(ctx, "samples_a", samples_a, false);
  check.finite(ctx, "samples_b", samples_b, false);
  const CentredSamples<T> a(ctx, samples_a), b(ctx, samples_b);
  // The means' term: ±2 (μ_a − μ_b) 1ᵀ / n, written first (beta 0).
  Scratch<T> diff(ctx, d, 1, count);
  combine<T>(ctx, {{T(1), a.mean.cview()}, {T(-1), b.mean.cview()}}, diff.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(2) / T(n_a), diff.cview(),
                   broadcast(a.ones.cview(), count), T(0), grad_a);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-2) / T(n_b), diff.cview(),
                   broadcast(b.ones.cview(), count), T(0), grad_b);
  if (by_samples_method(options.method, n_a, n_b, d)) {
    // + 2 X̃/(n − 1) from the traces; − 2 (Ỹ Pᵀ, X̃ P)/√((n_a − 1)(n_b − 1)) from ‖X̃ᵀỸ‖_*.
    combine<T>(ctx, {{T(1), grad_a}, {T(2) / T(n_a - 1), a.centred.cview()}}, grad_a);
    combine<T>(ctx, {{T(1), grad_b}, {T(2) / T(n_b - 1), b.centred.cview()}}, grad_b);
    Scratch<T> cross(ctx, n_a, n_b, count), polar(ctx, n_a, n_b, count);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), a.centred.cview(),
                     b.centred.cview(), T(0), cross.view);
    polar_factor<T>(ctx, cross.cview(), polar.view, options.bures.spectral);
    const T c = T(-2) / std::sqrt(T(n_a - 1) * T(n_b - 1));
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, c, b.centred.cview(),
                     polar.cview(), T(1), grad_a);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, c, a.centred.cview(),
                     polar.cview(), T(1), grad_b);
    return;
  }
  // + 2 (I − A) X̃/(n_a − 1), A the Brenier matrix from a to b (and from b to a for b): the
  // covariance gradient of W2² pulled back through S = X̃X̃ᵀ/(n − 1).
  Scratch<T> cov_a(ctx, d, d, count), cov_b(ctx, d, d, count), map(ctx, d, d, count),
      gradient(ctx, d, d, count);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1) / T(n_a - 1),
                   a.centred.cview(), a.centred.cview(), T(0), cov_a.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1) / T(n_b - 1),
                   b.centred.cview(), b.centred.cview(), T(0), cov_b.view);
  const GaussianBatch<const T> fitted_a({}, cov_a.cview()), fitted_b({}, cov_b.cview());
  const Scratch<T> eye = identity<T>(ctx, d);
  for (const bool side_a : {true, false}) {
    brenier_matrix<T>(ctx, check, side_a ? fitted_a : fitted_b, side_a ? fitted_b : fitted_a,
                      side_a ? "samples_a" : "samples_b", side_a ? "samples_b" : "samples_a",
                      map.view, options.bures);
    combine<T>(ctx, {{T(1), broadcast(eye.cview(), count)}, {T(-1), map.cview()}}, gradient.view);
    const CentredSamples<T>& x = side_a ? a : b;
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(2) / T((side_a ? n_a : n_b) - 1),
                     gradient.cview(), x.centred.cview(), T(1), side_a ? grad_a : grad_b);
  }
}

template <typename T>
void validate_gaussians(Context& ctx, GaussianBatch<const T> gaussians, const char* name,
                        const SpectralOptions& spectral) {
  const ArgumentChecker check("validate_gaussians", &ctx);
  const Names names(name);
  const std::int64_t d = gaussians.dimension();
  check_shape(check, names, gaussians, gaussians.count(), d);
  check_values(ctx, check, names, gaussians);
  if (gaussians.count() == 0 || d == 0) return;
  // The clamping rule refuses S when λ_min(S) < −τ·s with s >= λ_max(S) >= tr S / d and s >= the
  // scale floor. A Cholesky factorisation of S + ρI with ρ = τ·max(min_i tr S_i / d, floor) <=
  // τ·s_i succeeds when λ_min(S) > −ρ, up to its rounding (about d·ε·‖S‖, the same as that of the
  // eigenvalues the rule reads): then every item passes, at a third of the cost of one eigvalsh.
  // When any item fails, the eigenvalues of all decide, as the rule states.
  const MatrixBatch<const T> distinct = gaussians.covariances.distinct();
  double smallest_scale = std::numeric_limits<double>::infinity();
  for (double trace : host_traces<T>(ctx, distinct)) {
    smallest_scale = std::min(smallest_scale, trace / double(d));
  }
  const double tau = spectral.psd_tolerance.value_or(default_psd_tolerance<T>(d));
  const T shift = T(tau * std::max(smallest_scale, spectral.scale_floor));
  if (std::isfinite(double(shift)) && shift >= T(0)) {
    Scratch<T> shifted(ctx, d, d, distinct.count);
    const Scratch<T> eye = identity<T>(ctx, d);
    combine<T>(ctx, {{T(1), distinct}, {shift, broadcast(eye.cview(), distinct.count)}},
               shifted.view);
    if (GAUSSOT_DISPATCH(ctx, cholesky<T>, shifted.cview(), shifted.view) < 0) return;
  }
  Scratch<T> traces(ctx, 1, 1, distinct.count);
  run_spectral_trace<T>(ctx, check, names.covariances.c_str(), distinct, SpectralFunction::sqrt(),
                        traces.vectors(), spectral);
}

#define GAUSSOT_INSTANTIATE(T)                                                                     \
  template void w2_squared<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,            \
                              VectorBatch<T>, const BuresOptions&);                                \
  template void w2_squared_all_pairs<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,  \
                                        MatrixBatch<T>, const BuresOptions&);                      \
  template void brenier_map<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,           \
                               MatrixBatch<T>, VectorBatch<T>, const BuresOptions&);               \
  template void mccann_interpolant<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,    \
                                      double, GaussianBatch<T>, const BuresOptions&);              \
  template void w2_squared_gradient<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,   \
                                       GaussianBatch<T>, GaussianBatch<T>, const BuresOptions&);   \
  template BarycenterReport w2_barycenter<T>(Context&, GaussianBatch<const T>,                     \
                                             VectorBatch<const T>, GaussianBatch<T>,               \
                                             const BarycenterOptions&);                            \
  template void frechet_distance<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>,          \
                                    VectorBatch<T>, const FrechetOptions&);                        \
  template void frechet_distance_gradient<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>, \
                                             MatrixBatch<T>, MatrixBatch<T>,                       \
                                             const FrechetOptions&);                               \
  template void validate_gaussians<T>(Context&, GaussianBatch<const T>, const char*,               \
                                      const SpectralOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
template BarycenterReport barycenter_fixed_point<float>(
    Context&, const ArgumentChecker&, MatrixBatch<const float>, MatrixBatch<const float>,
    MatrixBatch<float>, const BarycenterOptions&,
    const std::function<bool(const BarycenterIterate<float>&)>&);
template BarycenterReport barycenter_fixed_point<double>(
    Context&, const ArgumentChecker&, MatrixBatch<const double>, MatrixBatch<const double>,
    MatrixBatch<double>, const BarycenterOptions&,
    const std::function<bool(const BarycenterIterate<double>&)>&);
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
