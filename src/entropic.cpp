// SPDX-License-Identifier: Apache-2.0
// The entropic closed forms of entropic.hpp (formulas-entropic.md), written once over the
// primitives: spectra and matrix products on the context, the scalar formulas on the host in
// double (O(count·d) numbers against the O(count·d³) of the eigendecompositions).
#include "gaussot/entropic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussian_batches.hpp"
#include "spectral_internal.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

/// δ(λ) = √(4λ + σ⁴) − σ² = 2 c_σ(λ), without cancellation (§1.3): 4λ / (√(4λ + σ⁴) + σ²).
double entropic_delta(double lambda, double s2) {
  return 4 * lambda / (std::sqrt(4 * lambda + s2 * s2) + s2);
}

/// The two spectral sums of the balanced value over one item's eigenvalues λ (§1.3):
/// Σ δ_i (the transport part subtracts it) and σ² Σ log1p(δ_i / 2σ²) = 2σ² KL(π* ‖ α⊗β).
struct SpectralSums {
  double delta = 0, entropy = 0;
};

/// `squared`: the item's λ are the squares of the given values (A^½ A A^½ = A²).
SpectralSums spectral_sums(const std::vector<double>& spectra, std::int64_t item, std::int64_t d,
                           double s2, bool squared = false) {
  SpectralSums sums;
  for (std::int64_t j = 0; j < d; ++j) {
    const double w = spectra[item * d + j];
    const double delta = entropic_delta(squared ? w * w : w, s2);
    sums.delta += delta;
    sums.entropy += s2 * std::log1p(delta / (2 * s2));
  }
  return sums;
}

/// σ > 0 with σ² a normal number of T, so that 1/σ² (the entropic function at 0) is finite.
template <typename T>
double checked_sigma_squared(const ArgumentChecker& check, double sigma) {
  const double s2 = sigma * sigma;
  check.expect(std::isfinite(sigma) && sigma > 0 && s2 >= double(std::numeric_limits<T>::min()) &&
                   std::isfinite(s2 * s2),
               "sigma",
               "must be finite and > 0 with sigma^4 finite and sigma^2 a normal number of the "
               "precision, got " +
                   format_number(sigma));
  return s2;
}

/// Block (r, c) of a batch of 2 x 2 block matrices with d x d blocks.
template <typename T>
MatrixBatch<T> block(MatrixBatch<T> m, std::int64_t d, int r, int c) {
  return {m.data + r * d + c * d * m.ld, d, d, m.ld, m.stride, m.count, m.space};
}

/// Halves [0, d) and [d, 2d) of a batch of vectors of length 2d, as d x 1 matrices.
template <typename T>
MatrixBatch<T> half(VectorBatch<T> v, std::int64_t d, int which) {
  return VectorBatch<T>(v.data + which * d, d, v.stride, v.count, v.space).as_matrices();
}

/// The means of g as d x 1 matrices, zeros for a centered side.
template <typename T>
void means_or_zero(Context& ctx, GaussianBatch<const T> g, MatrixBatch<T> out) {
  if (g.centered()) {
    combine<T>(ctx, {}, out);
  } else {
    combine<T>(ctx, {{T(1), mean_columns(g)}}, out);
  }
}

/// out = (h + hᵀ)/2 for a packed batch h of n x n matrices (the plan covariances are symmetric
/// in exact arithmetic; their products are not, to rounding).
template <typename T>
void symmetric_part(Context& ctx, MatrixBatch<const T> h, MatrixBatch<T> out) {
  const Scratch<T> eye = identity<T>(ctx, h.rows);
  GAUSSOT_DISPATCH(ctx, sandwich<T>, broadcast(eye.cview(), h.count), h, out);
}

/// Per pair on the host: ‖m_a − m_b‖², tr S_a, tr S_b.
struct PairScalars {
  std::vector<double> mean_squared, trace_a, trace_b;
};

template <typename T>
PairScalars pair_scalars(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b) {
  const std::int64_t count = a.count(), d = a.dimension();
  Scratch<T> values(ctx, 1, 1, 3 * count), diff(ctx, d, 1, count);
  const VectorBatch<T> all = values.vectors();
  mean_difference<T>(ctx, a, b, diff.view);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, diff.cview(), diff.cview(), all.slice(0, count));
  GAUSSOT_DISPATCH(ctx, trace<T>, a.covariances, all.slice(count, 2 * count));
  GAUSSOT_DISPATCH(ctx, trace<T>, b.covariances, all.slice(2 * count, 3 * count));
  const std::vector<double> host = to_host<T>(ctx, values.vectors());
  const auto part = [&](int k) {
    return std::vector<double>(host.begin() + k * count, host.begin() + (k + 1) * count);
  };
  return {part(0), part(1), part(2)};
}

/// The first check of σ, before the problem is rescaled (entropic_scale): finite and > 0, with
/// σ² finite and not 0 in double. checked_sigma_squared then checks the σ of the problem solved.
double positive_sigma_squared(const ArgumentChecker& check, double sigma) {
  const double s2 = sigma * sigma;
  check.expect(std::isfinite(sigma) && sigma > 0 && std::isfinite(s2) && s2 > 0, "sigma",
               "must be finite and > 0 with sigma^2 finite and not 0, got " + format_number(sigma));
  return s2;
}

/// The power of four c (1 when none is needed) by which a batch's entropic problem is solved
/// instead: covariances c·S, means √c·m, σ² → c·σ², γ → c·γ, whose value, transport cost and plan
/// covariance are c times, plan means √c times, the original ones (the plan pushed forward by
/// x ↦ √c x; its mass and the map's matrix do not change). The closed forms multiply numbers of
/// the problem's scale s = max(tr S_a, tr S_b, ‖m_a − m_b‖², σ², γ) (the eigenvalues of
/// S_a^½ S_b S_a^½, σ⁴, ...): outside the window of about [√(min/ε), √(max/4d)] the products lose
/// precision or overflow (σ = 1e-150 with covariances of 1e-300 gave a value 1.55 times the
/// true one in float64). The traces and mean gaps are read on the host (one synchronisation).
template <typename T>
double entropic_scale(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b, double s2,
                      double gamma) {
  const PairScalars scalars = pair_scalars<T>(ctx, a, b);
  const double largest_value = double(std::numeric_limits<T>::max());
  double scale = std::max(s2, gamma);
  for (const std::vector<double>* v : {&scalars.mean_squared, &scalars.trace_a, &scalars.trace_b}) {
    for (double x : *v) scale = std::max(scale, std::min(x, largest_value));  // inf: the largest
  }
  using limits = std::numeric_limits<T>;
  const double lowest = std::sqrt(double(limits::min()) / double(limits::epsilon()));
  const double highest =
      std::sqrt(largest_value / (4.0 * double(std::max<std::int64_t>(a.dimension(), 1))));
  if (scale >= lowest && scale <= highest) return 1;
  // c = 4^e with c·s within a factor 4 of 1; |2e| keeps c and 1/c normal in T.
  const int max_exponent = (limits::max_exponent - 4) / 2;
  const int e = std::clamp(int(std::lround(-std::log2(scale) / 2)), -max_exponent, max_exponent);
  return std::ldexp(1.0, 2 * e);
}

/// c·S and √c·m of both sides (packed; a broadcast side becomes count copies).
template <typename T>
struct ScaledPair {
  Scratch<T> a_cov, b_cov, a_mean, b_mean;
  GaussianBatch<const T> a, b;
  ScaledPair(Context& ctx, GaussianBatch<const T> a0, GaussianBatch<const T> b0, double c)
      : a_cov(ctx, a0.dimension(), a0.dimension(), a0.count()),
        b_cov(ctx, b0.dimension(), b0.dimension(), b0.count()),
        a_mean(ctx, a0.dimension(), 1, a0.centered() ? 0 : a0.count()),
        b_mean(ctx, b0.dimension(), 1, b0.centered() ? 0 : b0.count()) {
    const T root = T(std::sqrt(c));  // exact: c is a power of four
    combine<T>(ctx, {{T(c), a0.covariances}}, a_cov.view);
    combine<T>(ctx, {{T(c), b0.covariances}}, b_cov.view);
    a = GaussianBatch<const T>(VectorBatch<const T>(), a_cov.cview());
    b = GaussianBatch<const T>(VectorBatch<const T>(), b_cov.cview());
    if (!a0.centered()) {
      combine<T>(ctx, {{root, mean_columns(a0)}}, a_mean.view);
      a.means = a_mean.vectors();
    }
    if (!b0.centered()) {
      combine<T>(ctx, {{root, mean_columns(b0)}}, b_mean.view);
      b.means = b_mean.vectors();
    }
  }
};

/// out *= factor in place (nothing when out is empty).
template <typename T>
void rescale(Context& ctx, MatrixBatch<T> out, double factor) {
  if (out.count == 0) return;
  combine<T>(ctx, {{T(factor), MatrixBatch<const T>(out)}}, out);
}

/// σ of the rescaled problem, refusing one too small against the problem's scale.
template <typename T>
double scaled_sigma(const ArgumentChecker& check, double sigma, double c) {
  const double scaled = sigma * std::sqrt(c);
  check.expect(scaled * scaled >= double(std::numeric_limits<T>::min()), "sigma",
               "is too small against the scale of the covariances and means (sigma^2 / scale "
               "below the smallest normal number of the precision), got " +
                   format_number(sigma));
  return scaled;
}

/// The eigenvalues λ of P_i^½ Q_i P_i^½ (count x d, host, decreasing), from a factor of P_i
/// (Cholesky when positive definite; one per distinct P_i).
template <typename T>
std::vector<double> cross_spectra(Context& ctx, const ArgumentChecker& check,
                                  MatrixBatch<const T> p, MatrixBatch<const T> q,
                                  const char* p_name, const char* q_name,
                                  const SpectralOptions& spectral) {
  const std::int64_t count = q.count, d = q.rows;
  const MatrixBatch<const T> distinct = p.distinct();
  Scratch<T> root(ctx, d, d, distinct.count), middle(ctx, d, d, count);
  covariance_factor<T>(ctx, check, p_name, distinct, root.view, spectral);
  const MatrixBatch<const T> roots =
      distinct.count < count ? broadcast(root.cview(), count) : root.cview();
  // Each product is formed with the factor scaled by the power of two g_i that gives it the
  // magnitude 1 (pair_factors, always): it neither underflows nor overflows, and its clamping
  // rule is normalised_product_rule, so that the rounding noise of a product that is 0 in exact
  // arithmetic (singular P and Q with orthogonal ranges) is not refused as "not positive
  // semidefinite". λ_i = λ'_i / g_i², exactly, on the host.
  Scratch<T> traces(ctx, 1, 1, 2 * count);
  GAUSSOT_DISPATCH(ctx, trace<T>, p, traces.vectors().slice(0, count));
  GAUSSOT_DISPATCH(ctx, trace<T>, q, traces.vectors().slice(count, 2 * count));
  const std::vector<double> host = to_host<T>(ctx, traces.vectors());
  const std::vector<double> factors =
      pair_factors<T>({host.begin(), host.begin() + count}, {host.begin() + count, host.end()}, d,
                      /*always=*/true);
  scaled_sandwich<T>(ctx, roots, q, factors, middle.view);
  const SpectralOptions rule = normalised_product_rule(spectral);
  std::vector<double> spectra =
      checked_spectra<T>(ctx, check, q_name, middle.cview(), MatrixBatch<T>{}, rule,
                         /*positive_definite=*/false);
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t j = 0; j < d; ++j)
      spectra[i * d + j] = spectra[i * d + j] / factors[i] / factors[i];
  }
  return spectra;
}

/// K(P, Q) = P^½ g(P^½ Q P^½) P^½ with g(w) = 2/(√(4w + σ⁴) + σ²) (entropic.hpp): exactly
/// symmetric, no inverse. K(A, B)·B = C_σ(A, B) and K(B, A) = A^-1 C_σ(A, B).
/// Q must have been checked positive semidefinite by the caller (cross_spectra of the same pair,
/// or checked_spectra): the negative eigenvalues of P^½ Q P^½ are then rounding, clamped to 0,
/// never refused. (Refusing them against the product's own largest eigenvalue refused the plans
/// of singular P and Q with orthogonal ranges, whose product is pure rounding noise.)
template <typename T>
void entropic_kernel(Context& ctx, const ArgumentChecker& check, MatrixBatch<const T> p,
                     MatrixBatch<const T> q, const char* p_name, const char* q_name, double s2,
                     MatrixBatch<T> out, const SpectralOptions& spectral) {
  const std::int64_t count = out.count, d = out.rows;
  Scratch<T> root(ctx, d, d, count), middle(ctx, d, d, count);
  run_spectral<T>(ctx, check, p_name, p, {{SpectralFunction::sqrt(), root.view}}, spectral);
  GAUSSOT_DISPATCH(ctx, sandwich<T>, root.cview(), q, middle.view);
  SpectralOptions product_rule = spectral;
  product_rule.scale_floor = std::numeric_limits<double>::max();  // never refused (see above)
  run_spectral<T>(ctx, check, q_name, middle.cview(),
                  {{SpectralFunction::entropic(s2), middle.view}}, product_rule,
                  "the product P^1/2 Q P^1/2 of the entropic plan");
  GAUSSOT_DISPATCH(ctx, sandwich<T>, root.cview(), middle.cview(), out);
}

/// The balanced plan: means (a, b) and covariance [[A, C_σ], [C_σᵀ, B]], C_σ = K(A, B)·B.
template <typename T>
void balanced_plan(Context& ctx, const ArgumentChecker& check, GaussianBatch<const T> a,
                   GaussianBatch<const T> b, double s2, VectorBatch<T> plan_mean,
                   MatrixBatch<T> plan_cov, const SpectralOptions& spectral) {
  const std::int64_t count = a.count(), d = a.dimension();
  if (plan_mean.count > 0) {
    means_or_zero<T>(ctx, a, half(plan_mean, d, 0));
    means_or_zero<T>(ctx, b, half(plan_mean, d, 1));
  }
  if (plan_cov.count == 0) return;
  Scratch<T> kernel(ctx, d, d, count), blocks(ctx, 2 * d, 2 * d, count);
  entropic_kernel<T>(ctx, check, a.covariances, b.covariances, "a.covariances", "b.covariances", s2,
                     kernel.view, spectral);
  copy<T>(ctx, a.covariances, block(blocks.view, d, 0, 0));
  copy<T>(ctx, b.covariances, block(blocks.view, d, 1, 1));
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), kernel.cview(), b.covariances,
                   T(0), block(blocks.view, d, 0, 1));
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), b.covariances, kernel.cview(),
                   T(0), block(blocks.view, d, 1, 0));
  symmetric_part<T>(ctx, blocks.cview(), plan_cov);
}

/// Positive finite masses (count scalars, may broadcast), or 1 for every item when empty.
template <typename T>
std::vector<double> checked_masses(Context& ctx, const ArgumentChecker& check, const char* name,
                                   VectorBatch<const T> masses, std::int64_t count) {
  if (masses.count == 0) return std::vector<double>(static_cast<std::size_t>(count), 1.0);
  check.input(name, masses);
  check.vector_size(name, masses, 1);
  check.count(name, masses.count, count);
  std::vector<double> host = to_host<T>(ctx, masses);
  for (std::int64_t i = 0; i < count; ++i) {
    if (!(std::isfinite(host[i]) && host[i] > 0)) {
      check.fail(
          name,
          "must be finite and > 0, item " + std::to_string(i) + " is " + format_number(host[i]), i);
    }
  }
  return host;
}

/// The unbalanced problem (§2, §2.1): plan mass, value, and on request the plan and its
/// transport cost.
template <typename T>
void unbalanced(Context& ctx, const ArgumentChecker& check, GaussianBatch<const T> a,
                GaussianBatch<const T> b, const EntropicOutputs<T>& out, double s2, double gamma,
                const std::vector<double>& mass_a, const std::vector<double>& mass_b,
                const SpectralOptions& spectral) {
  const std::int64_t count = a.count(), d = a.dimension();
  const double lambda = s2 + gamma / 2, tau = gamma / (gamma + 2 * s2);
  // Ã = (γ/2) A (A + λI)^-1 and B̃/τ; C = C_σ(Ã, B̃/τ), whose eigenvalues are c_σ(μ_i/τ).
  Scratch<T> shrunk_a(ctx, d, d, count), shrunk_b(ctx, d, d, count);
  run_spectral<T>(ctx, check, "a.covariances", a.covariances,
                  {{SpectralFunction::shrink(lambda), shrunk_a.view}}, spectral);
  run_spectral<T>(ctx, check, "b.covariances", b.covariances,
                  {{SpectralFunction::shrink(lambda), shrunk_b.view}}, spectral);
  combine<T>(ctx, {{T(gamma / 2), shrunk_a.cview()}}, shrunk_a.view);
  combine<T>(ctx, {{T(gamma / (2 * tau)), shrunk_b.cview()}}, shrunk_b.view);
  const std::vector<double> mu_over_tau = cross_spectra<T>(
      ctx, check, shrunk_a.cview(), shrunk_b.cview(), "a.covariances", "b.covariances", spectral);
  const std::vector<double> w_a = checked_spectra<T>(ctx, check, "a.covariances", a.covariances,
                                                     MatrixBatch<T>{}, spectral, false);
  const std::vector<double> w_b = checked_spectra<T>(ctx, check, "b.covariances", b.covariances,
                                                     MatrixBatch<T>{}, spectral, false);
  // X^-1 = (A + B + λI)^-1 and the mean term (a − b)ᵀ X^-1 (a − b), when there are means or
  // the plan is asked for.
  const bool want_plan =
      out.plan_mean.count > 0 || out.plan_cov.count > 0 || out.transport_cost.count > 0;
  const Scratch<T> eye = identity<T>(ctx, d);
  Scratch<T> x_inverse(ctx, d, d, count), diff(ctx, d, 1, count), image(ctx, d, 1, count),
      mean_term(ctx, 1, 1, count);
  std::vector<double> quadratic(count, 0.0);
  if (want_plan || !a.centered() || !b.centered()) {
    combine<T>(
        ctx,
        {{T(1), a.covariances}, {T(1), b.covariances}, {T(lambda), broadcast(eye.cview(), count)}},
        x_inverse.view);
    run_spectral<T>(ctx, check, "b.covariances", x_inverse.cview(),
                    {{SpectralFunction::power(-1), x_inverse.view}}, spectral, "A + B + lambda I");
    mean_difference<T>(ctx, a, b, diff.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), x_inverse.cview(),
                     diff.cview(), T(0), image.view);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, diff.cview(), image.cview(), mean_term.vectors());
    quadratic = to_host<T>(ctx, mean_term.vectors());
  }

  // log m_π, the stable form of §2.1 (no det of A, C or ÃB̃, which vanish for singular A).
  std::vector<double> mass(count), value(count);
  for (std::int64_t i = 0; i < count; ++i) {
    double log_det_a = 0, log_det_b = 0, log_c = 0, log_gap = 0;
    for (std::int64_t j = 0; j < d; ++j) {
      const double c = entropic_delta(mu_over_tau[i * d + j], s2) / 2;
      log_det_a += std::log(w_a[i * d + j] + lambda);
      log_det_b += std::log(w_b[i * d + j] + lambda);
      log_c += std::log(c + s2);
      log_gap += std::log(gamma - 2 * c);
    }
    const double log_mass = (d * s2 / (2 * (s2 + gamma))) * std::log(s2) +
                            (std::log(mass_a[i] * mass_b[i]) + d * std::log(gamma / 2) -
                             0.5 * log_det_a - 0.5 * log_det_b) /
                                (tau + 1) -
                            ((1 - tau) / (2 * (tau + 1))) * (d * std::log(tau) + log_c) -
                            0.5 * log_gap + 0.5 * d * std::log(gamma + 2 * s2) -
                            quadratic[i] / (2 * (tau + 1));
    mass[i] = std::exp(log_mass);
    // UOT = γ(m_a + m_b − 2m_π) + 2σ²(m_a m_b − m_π)   (Eq. 37, Theorem 3(ii))
    value[i] =
        gamma * (mass_a[i] + mass_b[i] - 2 * mass[i]) + 2 * s2 * (mass_a[i] * mass_b[i] - mass[i]);
  }
  write_scalars(ctx, mass, out.plan_mass);
  write_scalars(ctx, value, out.value);
  if (!want_plan) return;

  // The plan m_π N(μ, H) (Eqs. 39–40): μ = (a − A X^-1 (a − b), b + B X^-1 (a − b)),
  // H11 = P(A − A X^-1 A), H12 = C + P A X^-1 B, H22 = Pᵀ(B − B X^-1 B), P = I + C/λ.
  Scratch<T> kernel(ctx, d, d, count), cross(ctx, d, d, count), cross_t(ctx, d, d, count);
  entropic_kernel<T>(ctx, check, shrunk_a.cview(), shrunk_b.cview(), "a.covariances",
                     "b.covariances", s2, kernel.view, spectral);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), kernel.cview(),
                   shrunk_b.cview(), T(0), cross.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), shrunk_b.cview(),
                   kernel.cview(), T(0), cross_t.view);
  Scratch<T> means(ctx, 2 * d, 1, count);
  const VectorBatch<T> mean_pair = means.vectors();
  means_or_zero<T>(ctx, a, half(mean_pair, d, 0));
  means_or_zero<T>(ctx, b, half(mean_pair, d, 1));
  Scratch<T> ax(ctx, d, d, count), bx(ctx, d, d, count);  // A X^-1, B X^-1
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), a.covariances,
                   x_inverse.cview(), T(0), ax.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), b.covariances,
                   x_inverse.cview(), T(0), bx.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(-1), ax.cview(), diff.cview(),
                   T(1), half(mean_pair, d, 0));
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), bx.cview(), diff.cview(), T(1),
                   half(mean_pair, d, 1));
  Scratch<T> blocks(ctx, 2 * d, 2 * d, count), factor(ctx, d, d, count), inner(ctx, d, d, count);
  const MatrixBatch<const T> eyes = broadcast(eye.cview(), count);
  // (first block row, second block row): P = I + C/λ with its own covariance S and X-product.
  const auto block_row = [&](const Scratch<T>& c_own, MatrixBatch<const T> s_own,
                             const Scratch<T>& sx_own, MatrixBatch<const T> s_other, int row) {
    combine<T>(ctx, {{T(1), eyes}, {T(1 / lambda), c_own.cview()}}, factor.view);
    // diagonal block: P (S − S X^-1 S)
    copy<T>(ctx, s_own, inner.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(-1), sx_own.cview(), s_own, T(1),
                     inner.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), factor.cview(),
                     inner.cview(), T(0), block(blocks.view, d, row, row));
    // off-diagonal block: C + P S X^-1 S_other
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), sx_own.cview(), s_other,
                     T(0), inner.view);
    copy<T>(ctx, c_own.cview(), block(blocks.view, d, row, 1 - row));
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), factor.cview(),
                     inner.cview(), T(1), block(blocks.view, d, row, 1 - row));
  };
  block_row(cross, a.covariances, ax, b.covariances, 0);
  block_row(cross_t, b.covariances, bx, a.covariances, 1);
  Scratch<T> plan_cov(ctx, 2 * d, 2 * d, count);
  symmetric_part<T>(ctx, blocks.cview(), plan_cov.view);
  if (out.plan_mean.count > 0) copy<T>(ctx, mean_pair, out.plan_mean);
  if (out.plan_cov.count > 0) copy<T>(ctx, plan_cov.cview(), out.plan_cov);
  if (out.transport_cost.count == 0) return;
  // ∫‖x − y‖² dπ* = m_π (‖μ_x − μ_y‖² + tr H11 + tr H22 − 2 tr H12)
  Scratch<T> parts(ctx, 1, 1, 4 * count), mean_gap(ctx, d, 1, count);
  const VectorBatch<T> all = parts.vectors();
  combine<T>(ctx, {{T(1), half(mean_pair, d, 0)}, {T(-1), half(mean_pair, d, 1)}}, mean_gap.view);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, mean_gap.cview(), mean_gap.cview(),
                   all.slice(0, count));
  for (int k = 0; k < 3; ++k) {
    const int r = k == 1 ? 1 : 0, c = k == 0 ? 0 : 1;  // H11, H22, H12
    GAUSSOT_DISPATCH(ctx, trace<T>, MatrixBatch<const T>(block(plan_cov.view, d, r, c)),
                     all.slice((k + 1) * count, (k + 2) * count));
  }
  const std::vector<double> host = to_host<T>(ctx, parts.vectors());
  std::vector<double> transport(count);
  for (std::int64_t i = 0; i < count; ++i) {
    transport[i] =
        mass[i] * (host[i] + host[count + i] + host[2 * count + i] - 2 * host[3 * count + i]);
  }
  write_scalars(ctx, transport, out.transport_cost);
}

}  // namespace

template <typename T>
void entropic_ot(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                 const EntropicOutputs<T>& out, const EntropicOptions& options,
                 const Masses<T>& masses) {
  const ArgumentChecker check("entropic_ot", &ctx);
  double s2 = positive_sigma_squared(check, options.sigma);
  const bool is_unbalanced = options.gamma.has_value();
  if (is_unbalanced) {
    check.positive("gamma", *options.gamma);
  } else {
    check.expect(masses.a.count == 0 && masses.b.count == 0, "masses",
                 "are only for the unbalanced problem (set options.gamma)");
  }
  const auto [count, d] = check_pair(ctx, check, a, b);
  check.optional_output("out.value", out.value, 1, count);
  check.optional_output("out.transport_cost", out.transport_cost, 1, count);
  check.optional_output("out.plan_mass", out.plan_mass, 1, count);
  check.optional_output("out.plan_mean", out.plan_mean, 2 * d, count);
  check.optional_output("out.plan_cov", out.plan_cov, 2 * d, 2 * d, count);
  const std::vector<double> mass_a = checked_masses<T>(ctx, check, "masses.a", masses.a, count);
  const std::vector<double> mass_b = checked_masses<T>(ctx, check, "masses.b", masses.b, count);
  if (count == 0) return;
  if (d == 0) {  // Dirac masses at the origin of R^0: only the masses matter
    std::vector<double> mass(count, 1.0), value(count, 0.0);
    for (std::int64_t i = 0; i < count && is_unbalanced; ++i) {
      const double s2_gamma = 2 * s2 + *options.gamma;
      mass[i] = std::exp(std::log(mass_a[i] * mass_b[i]) * s2_gamma / (s2_gamma + *options.gamma));
      value[i] = *options.gamma * (mass_a[i] + mass_b[i] - 2 * mass[i]) +
                 2 * s2 * (mass_a[i] * mass_b[i] - mass[i]);
    }
    write_scalars(ctx, value, out.value);
    write_scalars(ctx, std::vector<double>(count, 0.0), out.transport_cost);
    write_scalars(ctx, mass, out.plan_mass);
    return;
  }
  const double c = entropic_scale<T>(ctx, a, b, s2, options.gamma.value_or(0.0));
  if (c != 1) {
    EntropicOptions scaled = options;
    scaled.sigma = scaled_sigma<T>(check, options.sigma, c);
    if (scaled.gamma) *scaled.gamma *= c;
    const ScaledPair<T> pair(ctx, a, b, c);
    entropic_ot<T>(ctx, pair.a, pair.b, out, scaled, masses);
    rescale<T>(ctx, out.value.as_matrices(), 1 / c);
    rescale<T>(ctx, out.transport_cost.as_matrices(), 1 / c);
    rescale<T>(ctx, out.plan_mean.as_matrices(), 1 / std::sqrt(c));
    rescale<T>(ctx, out.plan_cov, 1 / c);
    check.result_in_range<T>(ctx, "b.covariances", out.value.as_matrices(), "the value");
    check.result_in_range<T>(ctx, "b.covariances", out.transport_cost.as_matrices(),
                             "the transport cost");
    check.result_in_range<T>(ctx, "b.covariances", out.plan_mean.as_matrices(), "the plan mean");
    check.result_in_range<T>(ctx, "b.covariances", out.plan_cov, "the plan covariance");
    return;
  }
  s2 = checked_sigma_squared<T>(check, options.sigma);
  if (is_unbalanced) {
    unbalanced<T>(ctx, check, a, b, out, s2, *options.gamma, mass_a, mass_b, options.spectral);
    return;
  }
  const PairScalars scalars = pair_scalars<T>(ctx, a, b);
  const std::vector<double> lambda = cross_spectra<T>(
      ctx, check, a.covariances, b.covariances, "a.covariances", "b.covariances", options.spectral);
  std::vector<double> value(count), transport(count);
  for (std::int64_t i = 0; i < count; ++i) {
    const SpectralSums sums = spectral_sums(lambda, i, d, s2);
    // OT_σ = ‖a − b‖² + tr A + tr B − Σ [δ_i − σ² log1p(δ_i/2σ²)]   (§1.3)
    transport[i] = scalars.mean_squared[i] + scalars.trace_a[i] + scalars.trace_b[i] - sums.delta;
    value[i] = transport[i] + sums.entropy;
  }
  write_scalars(ctx, value, out.value);
  write_scalars(ctx, transport, out.transport_cost);
  write_scalars(ctx, std::vector<double>(count, 1.0), out.plan_mass);
  balanced_plan<T>(ctx, check, a, b, s2, out.plan_mean, out.plan_cov, options.spectral);
}

template <typename T>
void entropic_map(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b, double sigma,
                  MatrixBatch<T> matrix, VectorBatch<T> bias, MatrixBatch<T> conditional_cov,
                  const SpectralOptions& spectral) {
  const ArgumentChecker check("entropic_map", &ctx);
  positive_sigma_squared(check, sigma);
  const auto [count, d] = check_pair(ctx, check, a, b);
  check.optional_output("matrix", matrix, d, d, count);
  check.optional_output("bias", bias, d, count);
  check.optional_output("conditional_cov", conditional_cov, d, d, count);
  if (count == 0 || d == 0) return;
  const double c = entropic_scale<T>(ctx, a, b, sigma * sigma, 0.0);
  if (c != 1) {  // entropic_scale: the matrix is invariant, the bias √c and the covariance c times
    const ScaledPair<T> pair(ctx, a, b, c);
    entropic_map<T>(ctx, pair.a, pair.b, scaled_sigma<T>(check, sigma, c), matrix, bias,
                    conditional_cov, spectral);
    rescale<T>(ctx, bias.as_matrices(), 1 / std::sqrt(c));
    rescale<T>(ctx, conditional_cov, 1 / c);
    check.result_in_range<T>(ctx, "b.covariances", matrix, "the map matrix");
    check.result_in_range<T>(ctx, "b.covariances", bias.as_matrices(), "the map bias");
    check.result_in_range<T>(ctx, "b.covariances", conditional_cov, "the conditional covariance");
    return;
  }
  const double s2 = checked_sigma_squared<T>(check, sigma);
  // K(B, A) needs A checked positive semidefinite (entropic_kernel): one eigvalsh per distinct A.
  checked_spectra<T>(ctx, check, "a.covariances", a.covariances.distinct(), MatrixBatch<T>{},
                     spectral, /*positive_definite=*/false);
  Scratch<T> slope(ctx, d, d, count);  // A^-1 C_σ = K(B, A)
  entropic_kernel<T>(ctx, check, b.covariances, a.covariances, "b.covariances", "a.covariances", s2,
                     slope.view, spectral);
  if (matrix.count > 0) copy<T>(ctx, slope.cview(), matrix);
  if (bias.count > 0) map_bias<T>(ctx, slope.cview(), a, b, bias);
  if (conditional_cov.count > 0) combine<T>(ctx, {{T(s2), slope.cview()}}, conditional_cov);
}

template <typename T>
void entropic_potentials(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                         double sigma, const QuadraticBatch<T>& f, const QuadraticBatch<T>& g,
                         const SpectralOptions& spectral) {
  const ArgumentChecker check("entropic_potentials", &ctx);
  positive_sigma_squared(check, sigma);
  // Not a structured binding: the lambda below uses both, which C++17 (and clang 14) forbids.
  const std::pair<std::int64_t, std::int64_t> shape = check_pair(ctx, check, a, b);
  const std::int64_t count = shape.first, d = shape.second;
  for (const auto& [q, name] : {std::pair{&f, 'f'}, std::pair{&g, 'g'}}) {
    const std::string prefix(1, name);
    check.output((prefix + ".quadratic").c_str(), q->quadratic);
    check.matrix_shape((prefix + ".quadratic").c_str(), q->quadratic, d, d);
    check.count((prefix + ".quadratic").c_str(), q->quadratic.count, count);
    check.output((prefix + ".linear").c_str(), q->linear);
    check.vector_size((prefix + ".linear").c_str(), q->linear, d);
    check.count((prefix + ".linear").c_str(), q->linear.count, count);
    check.output((prefix + ".constant").c_str(), q->constant);
    check.vector_size((prefix + ".constant").c_str(), q->constant, 1);
    check.count((prefix + ".constant").c_str(), q->constant.count, count);
  }
  if (count == 0) return;
  const double c = entropic_scale<T>(ctx, a, b, sigma * sigma, 0.0);
  if (c != 1) {  // entropic_scale: Q is invariant, the linear parts √c and the constants c times
    const ScaledPair<T> pair(ctx, a, b, c);
    entropic_potentials<T>(ctx, pair.a, pair.b, scaled_sigma<T>(check, sigma, c), f, g, spectral);
    for (const QuadraticBatch<T>* q : {&f, &g}) {
      rescale<T>(ctx, q->linear.as_matrices(), 1 / std::sqrt(c));
      rescale<T>(ctx, q->constant.as_matrices(), 1 / c);
      check.result_in_range<T>(ctx, "b.covariances", q->quadratic,
                               "the potential's quadratic part");
      check.result_in_range<T>(ctx, "b.covariances", q->linear.as_matrices(),
                               "the potential's linear part");
      check.result_in_range<T>(ctx, "b.covariances", q->constant.as_matrices(),
                               "the potential's constant");
    }
    return;
  }
  const double s2 = checked_sigma_squared<T>(check, sigma);
  // f₀ = g₀ = ½(‖a − b‖² + σ² Σ log1p(δ_i/2σ²)).
  const PairScalars scalars = pair_scalars<T>(ctx, a, b);
  const std::vector<double> lambda =
      d == 0 ? std::vector<double>{}
             : cross_spectra<T>(ctx, check, a.covariances, b.covariances, "a.covariances",
                                "b.covariances", spectral);
  std::vector<double> half_constant(count);
  for (std::int64_t i = 0; i < count; ++i) {
    half_constant[i] = 0.5 * (scalars.mean_squared[i] + spectral_sums(lambda, i, d, s2).entropy);
  }
  Scratch<T> diff(ctx, d, 1, count), centre(ctx, d, 1, count), image(ctx, d, 1, count),
      dots(ctx, 1, 1, 2 * count);
  mean_difference<T>(ctx, a, b, diff.view);
  const Scratch<T> eye = identity<T>(ctx, d);
  // f: Q = I − K(B, A) around a with linear part +2(a − b); g: Q = I − K(A, B) around b with
  // −2(a − b). Expanded: xᵀQx + (2s(a − b) − 2Qm)ᵀx + mᵀQm − 2s(a − b)ᵀm + f₀, s = ±1.
  const auto expand = [&](const QuadraticBatch<T>& q, GaussianBatch<const T> own,
                          GaussianBatch<const T> other, const char* own_name,
                          const char* other_name, T sign) {
    if (d > 0) {
      entropic_kernel<T>(ctx, check, other.covariances, own.covariances, other_name, own_name, s2,
                         q.quadratic, spectral);
      combine<T>(ctx, {{T(1), broadcast(eye.cview(), count)}, {T(-1), q.quadratic}}, q.quadratic);
    }
    means_or_zero<T>(ctx, own, centre.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), q.quadratic, centre.cview(),
                     T(0), image.view);
    combine<T>(ctx, {{T(2) * sign, diff.cview()}, {T(-2), image.cview()}}, q.linear.as_matrices());
    const VectorBatch<T> all = dots.vectors();
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, centre.cview(), image.cview(), all.slice(0, count));
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, diff.cview(), centre.cview(),
                     all.slice(count, 2 * count));
    const std::vector<double> host = to_host<T>(ctx, dots.vectors());
    std::vector<double> constant(count);
    for (std::int64_t i = 0; i < count; ++i) {
      constant[i] = host[i] - 2 * double(sign) * host[count + i] + half_constant[i];
    }
    write_scalars(ctx, constant, q.constant);
  };
  expand(f, a, b, "a.covariances", "b.covariances", T(1));
  expand(g, b, a, "b.covariances", "a.covariances", T(-1));
}

template <typename T>
void sinkhorn_divergence(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                         double sigma, VectorBatch<T> out, const SpectralOptions& spectral) {
  const ArgumentChecker check("sinkhorn_divergence", &ctx);
  positive_sigma_squared(check, sigma);
  const std::pair<std::int64_t, std::int64_t> shape = check_pair(ctx, check, a, b);  // see above
  const std::int64_t count = shape.first, d = shape.second;
  check.output("out", out);
  check.vector_size("out", out, 1);
  check.count("out", out.count, count);
  if (count == 0) return;
  const double c = entropic_scale<T>(ctx, a, b, sigma * sigma, 0.0);
  if (c != 1) {  // entropic_scale: the divergence is c times
    const ScaledPair<T> pair(ctx, a, b, c);
    sinkhorn_divergence<T>(ctx, pair.a, pair.b, scaled_sigma<T>(check, sigma, c), out, spectral);
    rescale<T>(ctx, out.as_matrices(), 1 / c);
    check.result_in_range<T>(ctx, "b.covariances", out.as_matrices(), "the divergence");
    return;
  }
  const double s2 = checked_sigma_squared<T>(check, sigma);
  const PairScalars scalars = pair_scalars<T>(ctx, a, b);
  std::vector<double> lambda, w_a, w_b;
  if (d > 0) {
    lambda = cross_spectra<T>(ctx, check, a.covariances, b.covariances, "a.covariances",
                              "b.covariances", spectral);
    w_a = checked_spectra<T>(ctx, check, "a.covariances", a.covariances, MatrixBatch<T>{}, spectral,
                             false);
    w_b = checked_spectra<T>(ctx, check, "b.covariances", b.covariances, MatrixBatch<T>{}, spectral,
                             false);
  }
  // S_σ = ‖a − b‖² − Σ h(λ_i(AB)) + ½ Σ h(λ_i(A)²) + ½ Σ h(λ_i(B)²), h = δ − σ² log1p(δ/2σ²):
  // the traces of OT_σ(α, β) − ½ OT_σ(α, α) − ½ OT_σ(β, β) cancel exactly (§1.6).
  const auto h = [&](const std::vector<double>& w, std::int64_t i, bool squared) {
    const SpectralSums sums = spectral_sums(w, i, d, s2, squared);
    return sums.delta - sums.entropy;
  };
  std::vector<double> divergence(count);
  for (std::int64_t i = 0; i < count; ++i) {
    divergence[i] = scalars.mean_squared[i] - h(lambda, i, false) + 0.5 * h(w_a, i, true) +
                    0.5 * h(w_b, i, true);
  }
  write_scalars(ctx, divergence, out);
}

template <typename T>
void entropic_ot_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          double sigma, GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                          const SpectralOptions& spectral) {
  const ArgumentChecker check("entropic_ot_gradient", &ctx);
  positive_sigma_squared(check, sigma);
  const std::pair<std::int64_t, std::int64_t> shape = check_pair(ctx, check, a, b);
  const std::int64_t count = shape.first, d = shape.second;
  check_output(check, Names("grad_a"), grad_a, count, d, /*means_required=*/true);
  check_output(check, Names("grad_b"), grad_b, count, d, /*means_required=*/true);
  if (count == 0) return;
  // The covariance gradients are the potentials' quadratic matrices (formulas-entropic.md §4:
  // ∇_A OT_σ = I − K(B, A), ∇_B OT_σ = I − K(A, B), inverse-free, finite at singular A or B);
  // the means' are ±2 (a − b).
  Scratch<T> linear(ctx, d, 1, 2 * count), constant(ctx, 1, 1, 2 * count);
  const QuadraticBatch<T> f{grad_a.covariances, linear.vectors().slice(0, count),
                            constant.vectors().slice(0, count)};
  const QuadraticBatch<T> g{grad_b.covariances, linear.vectors().slice(count, 2 * count),
                            constant.vectors().slice(count, 2 * count)};
  entropic_potentials<T>(ctx, a, b, sigma, f, g, spectral);
  Scratch<T> diff(ctx, d, 1, count);
  mean_difference<T>(ctx, a, b, diff.view);
  combine<T>(ctx, {{T(2), diff.cview()}}, grad_a.means.as_matrices());
  combine<T>(ctx, {{T(-2), diff.cview()}}, grad_b.means.as_matrices());
}

namespace {

/// out_i = V diag(f(w)) Vᵀ for the eigendecomposition M_i = V diag(w) Vᵀ of symmetric PSD items
/// (PSD by construction: negative eigenvalues are rounding, clamped to 0, never refused), with f
/// applied to the eigenvalues on the host.
template <typename T, typename F>
void host_spectral_function(Context& ctx, const ArgumentChecker& check, const char* name,
                            MatrixBatch<const T> m, F f, MatrixBatch<T> out,
                            const SpectralOptions& spectral) {
  const std::int64_t count = m.count, d = m.rows;
  SpectralOptions never_refused = spectral;
  never_refused.scale_floor = std::numeric_limits<double>::max();
  Scratch<T> vectors(ctx, d, d, count);
  std::vector<double> w =
      checked_spectra<T>(ctx, check, name, m, vectors.view, never_refused, false);
  for (double& value : w) value = f(std::max(0.0, value));
  from_eigenpairs<T>(ctx, vectors.cview(), w, out);
}

/// The unbalanced gradient of entropic.hpp (entropic_ot_gradient with γ), given the plan masses.
template <typename T>
void unbalanced_gradient(Context& ctx, const ArgumentChecker& check, GaussianBatch<const T> a,
                         GaussianBatch<const T> b, double s2, double gamma,
                         const std::vector<double>& mass_a, const std::vector<double>& mass_b,
                         const std::vector<double>& plan_mass, const EntropicGradients<T>& out,
                         const SpectralOptions& spectral) {
  const std::int64_t count = a.count(), d = a.dimension();
  const double lambda = s2 + gamma / 2, tau = gamma / (gamma + 2 * s2);
  const double k = (1 - tau) / (2 * (tau + 1));
  const Scratch<T> eye = identity<T>(ctx, d);
  const MatrixBatch<const T> eyes = broadcast(eye.cview(), count);
  // X^-1 δ with X = A + B + λI, δ = a − b.
  Scratch<T> x_inverse(ctx, d, d, count), diff(ctx, d, 1, count), image(ctx, d, 1, count);
  combine<T>(ctx, {{T(1), a.covariances}, {T(1), b.covariances}, {T(lambda), eyes}},
             x_inverse.view);
  run_spectral<T>(ctx, check, "b.covariances", x_inverse.cview(),
                  {{SpectralFunction::power(-1), x_inverse.view}}, spectral, "A + B + lambda I");
  mean_difference<T>(ctx, a, b, diff.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), x_inverse.cview(),
                   diff.cview(), T(0), image.view);
  // ∇ UOT = −2(σ² + γ) m_π ∇ log m_π, one factor per item.
  std::vector<double> factor(count);
  for (std::int64_t i = 0; i < count; ++i) factor[i] = -2 * (s2 + gamma) * plan_mass[i];
  const Scratch<T> factors = on_context<T>(ctx, factor, 1, 1, count);
  // Ã = (γ/2) A (A + λI)^-1, B̃ likewise.
  Scratch<T> shrunk_a(ctx, d, d, count), shrunk_b(ctx, d, d, count);
  run_spectral<T>(ctx, check, "a.covariances", a.covariances,
                  {{SpectralFunction::shrink(lambda), shrunk_a.view}}, spectral);
  run_spectral<T>(ctx, check, "b.covariances", b.covariances,
                  {{SpectralFunction::shrink(lambda), shrunk_b.view}}, spectral);
  combine<T>(ctx, {{T(gamma / 2), shrunk_a.cview()}}, shrunk_a.view);
  combine<T>(ctx, {{T(gamma / 2), shrunk_b.cview()}}, shrunk_b.view);
  // h'(μ) = c'(μ) (1/(γ − 2c) − k/(c + σ²)), c' = 1/(2τ(c + σ²/2)).
  const auto h_prime = [&](double mu) {
    const double c = entropic_delta(mu / tau, s2) / 2;
    return (1 / (gamma - 2 * c) - k / (c + s2)) / (2 * tau * (c + s2 / 2));
  };
  Scratch<T> root(ctx, d, d, count), middle(ctx, d, d, count), g(ctx, d, d, count),
      p(ctx, d, d, count), total(ctx, d, d, count);
  for (const bool side_a : {true, false}) {
    const GaussianBatch<const T>& own = side_a ? a : b;
    const char* own_name = side_a ? "a.covariances" : "b.covariances";
    const MatrixBatch<const T> shrunk_own = (side_a ? shrunk_a : shrunk_b).cview(),
                               shrunk_other = (side_a ? shrunk_b : shrunk_a).cview();
    const GaussianBatch<T>& grad = side_a ? out.a : out.b;
    // G = Õ^½ h'(Õ^½ S̃ Õ^½) Õ^½ (O the other side), then P G P with P = (S + λI)^-1.
    run_spectral<T>(ctx, check, side_a ? "b.covariances" : "a.covariances", shrunk_other,
                    {{SpectralFunction::sqrt(), root.view}}, spectral);
    GAUSSOT_DISPATCH(ctx, sandwich<T>, root.cview(), shrunk_own, middle.view);
    host_spectral_function<T>(ctx, check, own_name, middle.cview(), h_prime, g.view, spectral);
    GAUSSOT_DISPATCH(ctx, sandwich<T>, root.cview(), g.cview(), middle.view);
    combine<T>(ctx, {{T(1), own.covariances}, {T(lambda), eyes}}, p.view);
    run_spectral<T>(ctx, check, own_name, p.cview(), {{SpectralFunction::power(-1), p.view}},
                    spectral, "S + lambda I");
    GAUSSOT_DISPATCH(ctx, sandwich<T>, p.cview(), middle.cview(), total.view);
    // ∇_S log m_π = (γλ/2) P G P − P/(2(τ + 1)) + X^-1δ δᵀX^-1/(2(τ + 1))
    combine<T>(ctx, {{T(gamma * lambda / 2), total.cview()}, {T(-1 / (2 * (tau + 1))), p.cview()}},
               total.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1 / (2 * (tau + 1))),
                     image.cview(), image.cview(), T(1), total.view);
    scale_items<T>(ctx, total.cview(), factors.cview(), grad.covariances);
    // ∇_a log m_π = −X^-1δ/(τ + 1), ∇_b log m_π = +X^-1δ/(τ + 1)
    scale_items<T>(ctx, image.cview(), factors.cview(), grad.means.as_matrices());
    combine<T>(ctx, {{T((side_a ? -1 : 1) / (tau + 1)), grad.means.as_matrices()}},
               grad.means.as_matrices());
  }
  // ∂UOT/∂m_a = γ + 2σ² m_b − 2(σ² + γ) m_π / ((τ + 1) m_a), and m_b likewise.
  for (const bool side_a : {true, false}) {
    const VectorBatch<T>& grad = side_a ? out.mass_a : out.mass_b;
    if (grad.count == 0) continue;
    std::vector<double> host(count);
    for (std::int64_t i = 0; i < count; ++i) {
      const double own = side_a ? mass_a[i] : mass_b[i], other = side_a ? mass_b[i] : mass_a[i];
      host[i] = gamma + 2 * s2 * other - 2 * (s2 + gamma) * plan_mass[i] / ((tau + 1) * own);
    }
    write_scalars(ctx, host, grad);
  }
}

}  // namespace

template <typename T>
void entropic_ot_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          const EntropicOptions& options, const EntropicGradients<T>& out,
                          const Masses<T>& masses) {
  const ArgumentChecker check("entropic_ot_gradient", &ctx);
  if (!options.gamma) {
    check.expect(out.mass_a.count == 0 && out.mass_b.count == 0, "out.mass_a",
                 "mass gradients are for the unbalanced problem (set options.gamma)");
    check.expect(masses.a.count == 0 && masses.b.count == 0, "masses",
                 "are only for the unbalanced problem (set options.gamma)");
    entropic_ot_gradient<T>(ctx, a, b, options.sigma, out.a, out.b, options.spectral);
    return;
  }
  const auto [count, d] = check_pair(ctx, check, a, b);
  check_output(check, Names("out.a"), out.a, count, d, /*means_required=*/true);
  check_output(check, Names("out.b"), out.b, count, d, /*means_required=*/true);
  check.optional_output("out.mass_a", out.mass_a, 1, count);
  check.optional_output("out.mass_b", out.mass_b, 1, count);
  if (count == 0 || d == 0) {
    check.expect(d > 0 || count == 0, "a.covariances",
                 "has dimension 0: the unbalanced gradient needs d >= 1");
    return;
  }
  // The plan masses, and every input check, from entropic_ot itself.
  Scratch<T> plan_mass(ctx, 1, 1, count);
  EntropicOutputs<T> values;
  values.plan_mass = plan_mass.vectors();
  entropic_ot<T>(ctx, a, b, values, options, masses);
  const std::vector<double> mass_a = checked_masses<T>(ctx, check, "masses.a", masses.a, count);
  const std::vector<double> mass_b = checked_masses<T>(ctx, check, "masses.b", masses.b, count);
  unbalanced_gradient<T>(ctx, check, a, b, checked_sigma_squared<T>(check, options.sigma),
                         *options.gamma, mass_a, mass_b, to_host<T>(ctx, plan_mass.vectors()), out,
                         options.spectral);
}

template <typename T>
void sinkhorn_divergence_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                                  double sigma, GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                                  const SpectralOptions& spectral) {
  const ArgumentChecker check("sinkhorn_divergence_gradient", &ctx);
  positive_sigma_squared(check, sigma);
  const auto [count, d] = check_pair(ctx, check, a, b);
  check_output(check, Names("grad_a"), grad_a, count, d, /*means_required=*/true);
  check_output(check, Names("grad_b"), grad_b, count, d, /*means_required=*/true);
  if (count == 0) return;
  // ∂₁OT_σ(α, β), ∂₂OT_σ(α, β), then less ∂₁OT_σ(α, α) and ∂₁OT_σ(β, β) (means' parts 0).
  entropic_ot_gradient<T>(ctx, a, b, sigma, grad_a, grad_b, spectral);
  Scratch<T> mean_1(ctx, d, 1, count), cov_1(ctx, d, d, count), mean_2(ctx, d, 1, count),
      cov_2(ctx, d, d, count);
  for (const bool side_a : {true, false}) {
    const GaussianBatch<const T>& own = side_a ? a : b;
    entropic_ot_gradient<T>(ctx, own, own, sigma, {mean_1.vectors(), cov_1.view},
                            {mean_2.vectors(), cov_2.view}, spectral);
    const MatrixBatch<T> cov = side_a ? grad_a.covariances : grad_b.covariances;
    combine<T>(ctx, {{T(1), cov}, {T(-1), cov_1.cview()}}, cov);
  }
}

#define GAUSSOT_INSTANTIATE(T)                                                                     \
  template void entropic_ot<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,           \
                               const EntropicOutputs<T>&, const EntropicOptions&,                  \
                               const Masses<T>&);                                                  \
  template void entropic_map<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>, double,  \
                                MatrixBatch<T>, VectorBatch<T>, MatrixBatch<T>,                    \
                                const SpectralOptions&);                                           \
  template void entropic_potentials<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,   \
                                       double, const QuadraticBatch<T>&, const QuadraticBatch<T>&, \
                                       const SpectralOptions&);                                    \
  template void sinkhorn_divergence<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,   \
                                       double, VectorBatch<T>, const SpectralOptions&);            \
  template void entropic_ot_gradient<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,  \
                                        double, GaussianBatch<T>, GaussianBatch<T>,                \
                                        const SpectralOptions&);                                   \
  template void entropic_ot_gradient<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,  \
                                        const EntropicOptions&, const EntropicGradients<T>&,       \
                                        const Masses<T>&);                                         \
  template void sinkhorn_divergence_gradient<T>(Context&, GaussianBatch<const T>,                  \
                                                GaussianBatch<const T>, double, GaussianBatch<T>,  \
                                                GaussianBatch<T>, const SpectralOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
