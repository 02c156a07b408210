// SPDX-License-Identifier: Apache-2.0
// Multimarginal Gaussian OT (mmot.hpp): the Burer–Monteiro Riemannian descent and the fixed-point
// solver, one certificate for both, written once over the primitives.
//
// Layout: the solver keeps W_i = V_iᵀ ((d+1) x d, orthonormal columns) rather than V_i, so that
// the retraction V ↦ qf(Vᵀ)ᵀ is the batched thin-QR retraction of W, and works with
// Ũ_i = U_iᵀ = W_i R_i (R_i = S_i^½) and T̃ = Tᵀ = Σ ρ_i Ũ_i. In these terms (transposing §6.3):
//   Euclidean gradient  Ẽ_i = E_iᵀ = −T̃ (ρ_i R_i)
//   Riemannian gradient G̃_i = Ẽ_i − W_i sym(W_iᵀẼ_i) = Ẽ_i − ½ W_i (W_iᵀẼ_i + Ẽ_iᵀW_i)
// (the row-Stiefel projection E − sym(EVᵀ)V, transposed, with sym(EVᵀ) = sym(WᵀẼ)).
#include "gaussot/mmot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "barycenter_fixed_point.hpp"
#include "compose.hpp"
#include "gaussian_batches.hpp"
#include "gaussot/array.hpp"
#include "gaussot/eigh.hpp"
#include "gaussot/error.hpp"
#include "gaussot/retraction.hpp"
#include "gaussot/spectral.hpp"
#include "validate.hpp"

namespace gaussot {

const char* to_string(MmotSolver solver) noexcept {
  return solver == MmotSolver::burer_monteiro ? "bm" : "fixed-point";
}

namespace {

std::vector<double> squares(const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values) out.push_back(v * v);
  return out;
}

/// Everything about the marginals the solvers and the certificate need, on the context.
template <typename T>
struct Problem {
  std::int64_t p, d;
  std::vector<double> rho;  // weights as given
  double rho_sum = 0, rho_max = 0;
  Scratch<T> weights;                    // p x 1: ρ
  Scratch<T> squared_weights;            // p x 1: ρ²
  Scratch<T> covariances;                // S_i, packed
  Scratch<T> root;                       // R_i = S_i^½
  Scratch<T> weighted_root;              // ρ_i R_i
  Scratch<T> weighted_inverse;           // ρ_i S_i⁻¹
  Scratch<T> identity;                   // I_d
  std::vector<double> covariance_norms;  // ‖S_i‖_F
  double largest_eigenvalue = 0;         // max_i λ_max(S_i)

  Problem(Context& ctx, const ArgumentChecker& check, GaussianBatch<const T> marginals,
          const std::vector<T>& weights_given, const SpectralOptions& spectral)
      : p(marginals.count()),
        d(marginals.dimension()),
        rho(weights_given.begin(), weights_given.end()),
        weights(on_context<T>(ctx, rho, 1, 1, p)),
        squared_weights(on_context<T>(ctx, squares(rho), 1, 1, p)),
        covariances(ctx, d, d, p),
        root(ctx, d, d, p),
        weighted_root(ctx, d, d, p),
        weighted_inverse(ctx, d, d, p),
        identity(gaussot::identity<T>(ctx, d)) {
    for (double r : rho) {
      rho_sum += r;
      rho_max = std::max(rho_max, r);
    }
    copy<T>(ctx, marginals.covariances, covariances.view);
    // R_i and R_i⁻¹ from one eigendecomposition each; S_i must be positive definite.
    Scratch<T> inverse_root(ctx, d, d, p);
    try {
      sqrtm_and_inv_sqrtm<T>(ctx, covariances.cview(), root.view, inverse_root.view, spectral);
    } catch (const InvalidArgument& e) {
      check.fail("marginals.covariances", std::string("must be positive definite: ") + e.message(),
                 e.batch_index());
    }
    scale_items<T>(ctx, root.cview(), weights.cview(), weighted_root.view);
    Scratch<T> inverse(ctx, d, d, p);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), inverse_root.cview(),
                     inverse_root.cview(), T(0), inverse.view);
    scale_items<T>(ctx, inverse.cview(), weights.cview(), weighted_inverse.view);
    Scratch<T> norms(ctx, 1, 1, p);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, covariances.cview(), covariances.cview(),
                     norms.vectors());
    covariance_norms = to_host<T>(ctx, norms.vectors());
    for (double& n : covariance_norms) n = std::sqrt(n);
    Scratch<T> eigenvalues(ctx, d, 1, p);
    eigvalsh<T>(ctx, covariances.cview(), eigenvalues.vectors());
    for (double w : to_host<T>(ctx, eigenvalues.vectors())) {
      largest_eigenvalue = std::max(largest_eigenvalue, w);
    }
  }

  /// T̃ = Σ ρ_i Ũ_i (k x d) of the transposed factors Ũ (p x (k x d)).
  void weighted_factor_sum(Context& ctx, MatrixBatch<const T> factors_t, MatrixBatch<T> out) const {
    weighted_sum<T>(ctx, factors_t, weights.array.matrices(p, 1, 1), out);
  }
};

/// The Riemannian gradient G̃ (p x (k x d)) at W (p x (k x d), orthonormal columns) for the sum
/// T̃ = Σ ρ_i W_i R_i, and ‖G̃‖² into `norm2` (one scalar on the context).
template <typename T>
void riemannian_gradient(Context& ctx, const Problem<T>& problem, MatrixBatch<const T> w,
                         MatrixBatch<const T> sum_t, MatrixBatch<T> gradient,
                         VectorBatch<T> norm2) {
  const std::int64_t p = problem.p, k = w.rows, d = problem.d;
  Scratch<T> euclidean(ctx, k, d, p), inner(ctx, d, d, p);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(-1), broadcast(sum_t, p),
                   problem.weighted_root.cview(), T(0), euclidean.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), w, euclidean.cview(), T(0),
                   inner.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), euclidean.cview(), w, T(1),
                   inner.view);
  copy<T>(ctx, euclidean.cview(), gradient);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(-0.5), w, inner.cview(), T(1),
                   gradient);
  const std::int64_t all = k * d * p;  // the whole stack as one item
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>,
                   MatrixBatch<const T>(gradient.data, all, 1, all, all, 1, gradient.space),
                   MatrixBatch<const T>(gradient.data, all, 1, all, all, 1, gradient.space), norm2);
}

/// The certificate of §6.4 for transposed factors Ũ (p x (k x d)); `gradient_norm` is filled in
/// by the caller's solver state.
template <typename T>
MmotCertificate certify(Context& ctx, const Problem<T>& problem, MatrixBatch<const T> factors_t,
                        double rank_threshold) {
  const std::int64_t p = problem.p, d = problem.d, k = factors_t.rows;
  MmotCertificate c;
  Scratch<T> sum_t(ctx, k, d, 1);
  problem.weighted_factor_sum(ctx, factors_t, sum_t.view);

  // Multipliers Λ_i = sym(ρ_i T U_iᵀ S_i⁻¹) with T U_iᵀ = T̃ᵀ Ũ_i; KKT residual Ũ_iΛ_i − ρ_i T̃.
  Scratch<T> product(ctx, d, d, p), lambda(ctx, d, d, p), residual(ctx, k, d, p);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), broadcast(sum_t.cview(), p),
                   factors_t, T(0), product.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(0.5), product.cview(),
                   problem.weighted_inverse.cview(), T(0), lambda.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(0.5),
                   problem.weighted_inverse.cview(), product.cview(), T(1), lambda.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), factors_t, lambda.cview(),
                   T(0), residual.view);
  std::vector<double> minus_rho;
  for (double r : problem.rho) minus_rho.push_back(-r);
  const Scratch<T> minus_weights = on_context<T>(ctx, minus_rho, 1, 1, p);
  scale_items<T>(ctx, broadcast(sum_t.cview(), p), minus_weights.cview(), residual.view, T(1));

  // Feasibility ‖Ũ_iᵀŨ_i − S_i‖: the Gram matrices minus the covariances.
  Scratch<T> gram(ctx, d, d, p);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), factors_t, factors_t, T(0),
                   gram.view);
  combine<T>(ctx, {{T(1), gram.cview()}, {T(-1), problem.covariances.cview()}}, gram.view);

  // Rank: σ(U)² are the eigenvalues of UᵀU = Σ_i Ũ_iŨ_iᵀ (k x k).
  Scratch<T> outer(ctx, k, k, p), stacked_gram(ctx, k, k, 1);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), factors_t, factors_t, T(0),
                   outer.view);
  const Scratch<T> ones =
      on_context<T>(ctx, std::vector<double>(static_cast<std::size_t>(p), 1.0), p, 1, 1);
  weighted_sum<T>(ctx, outer.cview(), ones.cview(), stacked_gram.view);

  // Scalars read together: ‖T̃‖², ‖residual_i‖², ‖gram_i − S_i‖².
  Scratch<T> sums(ctx, 1, 1, 1 + 2 * p);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, sum_t.cview(), sum_t.cview(),
                   sums.vectors().slice(0, 1));
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, residual.cview(), residual.cview(),
                   sums.vectors().slice(1, 1 + p));
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, gram.cview(), gram.cview(),
                   sums.vectors().slice(1 + p, 1 + 2 * p));
  const std::vector<double> s = to_host<T>(ctx, sums.vectors());
  const double t_norm = std::sqrt(s[0]);
  c.primal = -0.5 * s[0];
  for (std::int64_t i = 0; i < p; ++i) {
    c.kkt_residual =
        std::max(c.kkt_residual, std::sqrt(s[1 + i]) / std::max(1.0, problem.rho[i] * t_norm));
    c.feasibility = std::max(c.feasibility, std::sqrt(s[1 + p + i]) / problem.covariance_norms[i]);
  }

  // Dual: Λ_i⁺ = Λ_i + max(0, ε_i − λ_min(Λ_i)) I, ε_i = η max(1, max|λ(Λ_i)|);
  // Y_i = c Λ_i⁺ with c = max(1, λ_max(Σ ρ_i² (Λ_i⁺)⁻¹))(1 + 1e-12); D = −½ c Σ tr(Λ_i⁺ S_i).
  // η = 1e-12 in double (§6.4); in float 1e-5, above the eigensolver's rounding √d·ε·s, so that
  // (Λ_i⁺)⁻¹ exists in the working precision. The inverse's clamping tolerance is η / 10.
  const double eta = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  Scratch<T> eigenvalues(ctx, d, 1, p);
  eigvalsh<T>(ctx, lambda.cview(), eigenvalues.vectors());
  const std::vector<double> w = to_host<T>(ctx, eigenvalues.vectors());
  std::vector<double> shifts(static_cast<std::size_t>(p));
  for (std::int64_t i = 0; i < p; ++i) {
    const double largest = std::max(std::fabs(w[i * d]), std::fabs(w[i * d + d - 1]));
    const double epsilon = eta * std::max(1.0, largest);
    shifts[i] = std::max(0.0, epsilon - w[i * d + d - 1]);
  }
  const Scratch<T> shift = on_context<T>(ctx, shifts, 1, 1, p);
  scale_items<T>(ctx, broadcast(problem.identity.cview(), p), shift.cview(), lambda.view, T(1));
  Scratch<T> inverse(ctx, d, d, p), inverse_sum(ctx, d, d, 1), top(ctx, d, 1, 1),
      traces(ctx, 1, 1, p);
  SpectralOptions inverse_rule;
  inverse_rule.psd_tolerance = eta / 10;
  powm<T>(ctx, lambda.cview(), -1.0, inverse.view, inverse_rule);
  weighted_sum<T>(ctx, inverse.cview(), problem.squared_weights.array.matrices(p, 1, 1),
                  inverse_sum.view);
  eigvalsh<T>(ctx, inverse_sum.cview(), top.vectors());
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, lambda.cview(), problem.covariances.cview(),
                   traces.vectors());
  const double scale = std::max(1.0, to_host<T>(ctx, top.vectors())[0]) * (1 + 1e-12);
  double trace_sum = 0;
  for (double t : to_host<T>(ctx, traces.vectors())) trace_sum += t;
  c.dual = -0.5 * scale * trace_sum;
  c.dual_gap = std::max(0.0, c.primal - c.dual) / std::max(std::fabs(c.primal), 1.0);

  Scratch<T> singular(ctx, k, 1, 1);
  eigvalsh<T>(ctx, stacked_gram.cview(), singular.vectors());
  const std::vector<double> sigma2 = to_host<T>(ctx, singular.vectors());
  const double first = std::sqrt(std::max(0.0, sigma2.front()));
  for (double s2 : sigma2) {
    if (std::sqrt(std::max(0.0, s2)) > rank_threshold * first) ++c.rank;
  }
  c.rank_ratio = first > 0 ? std::sqrt(std::max(0.0, sigma2.back())) / first : 0.0;
  return c;
}

/// Burer–Monteiro's default dual-gap tolerance.
constexpr double kBurerMonteiroGap = 1e-7;

/// Converged: the relative dual gap within the tolerance and every block feasible, to 1e-10 in
/// double (§6.3) and to 100·d·ε in float (what a float retraction keeps).
template <typename T>
bool certified(const MmotCertificate& c, double tolerance, std::int64_t d) {
  const double feasibility =
      std::max(1e-10, 100 * double(d) * double(std::numeric_limits<T>::epsilon()));
  return c.dual_gap <= tolerance && c.feasibility <= feasibility;
}

/// ‖G̃‖ at transposed factors Ũ of width k: W_i = Ũ_i R_i⁻¹, then riemannian_gradient.
template <typename T>
double gradient_norm_at(Context& ctx, const Problem<T>& problem, MatrixBatch<const T> factors_t,
                        MatrixBatch<const T> inverse_root) {
  const std::int64_t p = problem.p, k = factors_t.rows, d = problem.d;
  Scratch<T> w(ctx, k, d, p), sum_t(ctx, k, d, 1), gradient(ctx, k, d, p), norm2(ctx, 1, 1, 1);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), factors_t, inverse_root, T(0),
                   w.view);
  problem.weighted_factor_sum(ctx, factors_t, sum_t.view);
  riemannian_gradient<T>(ctx, problem, w.cview(), sum_t.cview(), gradient.view, norm2.vectors());
  return std::sqrt(to_host<T>(ctx, norm2.vectors())[0]);
}

/// Burer–Monteiro (§6.3, transposed); returns the transposed factors Ũ in `factors_t`.
template <typename T>
MmotReport burer_monteiro(Context& ctx, const Problem<T>& problem, const MmotOptions& options,
                          Scratch<T>& factors_t) {
  const std::int64_t p = problem.p, d = problem.d, k = d + 1;
  // Start: W_i = qf(N(0, 1) entries), seeded.
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal;
  std::vector<double> start(static_cast<std::size_t>(k * d * p));
  for (double& x : start) x = normal(rng);
  const Scratch<T> gaussian = on_context<T>(ctx, start, k, d, p);
  Scratch<T> w(ctx, k, d, p), trial_w(ctx, k, d, p), step_point(ctx, k, d, p);
  qr_retraction<T>(ctx, gaussian.cview(), w.view);

  Scratch<T> sum_t(ctx, k, d, 1), trial_sum(ctx, k, d, 1), gradient(ctx, k, d, p);
  Scratch<T> scalars_t(ctx, 1, 1, 2);  // [‖T̃'‖² of the trial, ‖G̃‖²]
  auto factor_sum = [&](MatrixBatch<const T> orthonormal, Scratch<T>& sum) {
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), orthonormal,
                     problem.root.cview(), T(0), factors_t.view);
    problem.weighted_factor_sum(ctx, factors_t.cview(), sum.view);
  };
  factor_sum(w.cview(), sum_t);
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, sum_t.cview(), sum_t.cview(),
                   scalars_t.vectors().slice(0, 1));
  double objective = -0.5 * to_host<T>(ctx, scalars_t.vectors().slice(0, 1))[0];
  double step = 1 / (std::max(1.0, problem.largest_eigenvalue) * problem.rho_max * problem.rho_sum);

  const double gap_tolerance = options.tolerance.value_or(kBurerMonteiroGap);
  MmotReport report;
  double gradient_norm2 = 0;
  for (int iteration = 0;; ++iteration) {
    riemannian_gradient<T>(ctx, problem, w.cview(), sum_t.cview(), gradient.view,
                           scalars_t.vectors().slice(1, 2));
    if (iteration % std::max(1, options.check_every) == 0 || iteration == options.max_iterations) {
      factor_sum(w.cview(), sum_t);  // factors_t ← W R (the certificate's input)
      report.certificate = certify<T>(ctx, problem, factors_t.cview(), options.rank_threshold);
      report.iterations = iteration;
      gradient_norm2 = to_host<T>(ctx, scalars_t.vectors().slice(1, 2))[0];
      report.certificate.gradient_norm = std::sqrt(gradient_norm2);
      if (certified<T>(report.certificate, gap_tolerance, problem.d)) {
        report.stop_reason = "dual_gap";
        break;
      }
      if (iteration == options.max_iterations) {
        report.stop_reason = "max_iterations";
        break;
      }
    }
    // Armijo backtracking along −G̃, retracted; one host read per trial.
    bool accepted = false;
    for (int halving = 0; halving <= 40 && !accepted; ++halving) {
      combine<T>(ctx, {{T(1), w.cview()}, {T(-step), gradient.cview()}}, step_point.view);
      qr_retraction<T>(ctx, step_point.cview(), trial_w.view);
      factor_sum(trial_w.cview(), trial_sum);
      GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, trial_sum.cview(), trial_sum.cview(),
                       scalars_t.vectors().slice(0, 1));
      const std::vector<double> values = to_host<T>(ctx, scalars_t.vectors());
      gradient_norm2 = values[1];
      const double trial_objective = -0.5 * values[0];
      if (trial_objective <= objective - 1e-4 * step * gradient_norm2) {
        accepted = true;
        objective = trial_objective;
        std::swap(w, trial_w);
        std::swap(sum_t, trial_sum);
        step = std::min(1.5 * step, 1e6);
      } else {
        step *= 0.5;
      }
    }
    if (!accepted) {
      factor_sum(w.cview(), sum_t);
      report.certificate = certify<T>(ctx, problem, factors_t.cview(), options.rank_threshold);
      report.certificate.gradient_norm = std::sqrt(gradient_norm2);
      report.iterations = iteration;
      // No descent step is left (the objective's rounding level): converged if certified.
      report.stop_reason =
          certified<T>(report.certificate, gap_tolerance, problem.d) ? "dual_gap" : "line_search";
      break;
    }
  }
  factor_sum(w.cview(), sum_t);
  return report;
}

/// The fixed point (§6.6). Its factors Ũ_i = U_iᵀ = (B^½S_iB^½)^½ B^-½ are the iteration's own
/// intermediate results. By default it stops on its residual, as w2_barycenter, and is
/// certified once at the end; with options.tolerance it is certified at every iterate and stops
/// on the same rule as Burer–Monteiro.
template <typename T>
MmotReport fixed_point(Context& ctx, const ArgumentChecker& check, const Problem<T>& problem,
                       const MmotOptions& options, Scratch<T>& factors_t) {
  const std::int64_t p = problem.p, d = problem.d;
  Scratch<T> b(ctx, d, d, 1);
  std::vector<double> rho_hat;
  for (double r : problem.rho) rho_hat.push_back(r / problem.rho_sum);
  const Scratch<T> normalised = on_context<T>(ctx, rho_hat, p, 1, 1);
  BarycenterOptions barycenter_options;
  barycenter_options.spectral = options.spectral;
  MmotReport report;
  barycenter_fixed_point<T>(
      ctx, check, problem.covariances.cview(), normalised.cview(), b.view, barycenter_options,
      [&](const BarycenterIterate<T>& iterate) {
        report.iterations = iterate.iteration;
        // The iterates stop changing at the rounding level of the residual (16·d·ε).
        const double stalled = 16 * double(d) * double(std::numeric_limits<T>::epsilon());
        const bool on_gap = options.tolerance.has_value();
        if (!on_gap && iterate.residual <= std::max(default_barycenter_tolerance<T>(), stalled)) {
          report.stop_reason = "residual";
        } else if (iterate.iteration == options.max_iterations) {
          report.stop_reason = "max_iterations";
        }
        if (!on_gap && report.stop_reason.empty()) return false;
        GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), iterate.middles,
                         broadcast(iterate.inverse_root, p), T(0), factors_t.view);
        report.certificate = certify<T>(ctx, problem, factors_t.cview(), options.rank_threshold);
        if (on_gap && certified<T>(report.certificate, *options.tolerance, d)) {
          report.stop_reason = "dual_gap";
        } else if (on_gap && report.stop_reason.empty() && iterate.residual <= stalled) {
          report.stop_reason = "stalled";  // a gap tolerance below the certificate's floor
        }
        return !report.stop_reason.empty();
      });
  Scratch<T> inverse_root(ctx, d, d, p);
  inv_sqrtm<T>(ctx, problem.covariances.cview(), inverse_root.view, options.spectral);
  report.certificate.gradient_norm =
      gradient_norm_at<T>(ctx, problem, factors_t.cview(), inverse_root.cview());
  return report;
}

}  // namespace

template <typename T>
MmotReport mmot(Context& ctx, GaussianBatch<const T> marginals, VectorBatch<const T> weights,
                MmotOutputs<T> out, const MmotOptions& options) {
  const ArgumentChecker check("mmot", &ctx);
  const std::int64_t p = marginals.count(), d = marginals.dimension();
  const Names names("marginals");
  check_shape(check, names, marginals, p, d);
  check.expect(p >= 2, "marginals", "needs at least 2 Gaussians, got " + std::to_string(p));
  check.expect(d >= 1, "marginals", "needs dimension d >= 1");
  if (options.tolerance) check.non_negative("options.tolerance", *options.tolerance);
  check.at_least("options.max_iterations", options.max_iterations, 0);
  check.in_interval("options.rank_threshold", options.rank_threshold, 0, 1, /*open_low=*/true,
                    /*open_high=*/true);
  const std::int64_t k = mmot_factor_width(options.solver, d);
  if (out.factors.count > 0) {
    check.output("out.factors", out.factors);
    check.matrix_shape("out.factors", out.factors, d, k);
    check.count("out.factors", out.factors.count, p);
  }
  if (out.barycenter.count() > 0)
    check_output(check, Names("out.barycenter"), out.barycenter, 1, d, true);
  const std::vector<T> rho = checked_weights(ctx, check, weights, p, T(1));
  check_values(ctx, check, names, marginals);
  const Problem<T> problem(ctx, check, marginals, rho, options.spectral);

  Scratch<T> factors_t(ctx, k, d, p);
  MmotReport report = options.solver == MmotSolver::burer_monteiro
                          ? burer_monteiro<T>(ctx, problem, options, factors_t)
                          : fixed_point<T>(ctx, check, problem, options, factors_t);
  report.solver = options.solver;

  // The value: Σ_{i<j} ρ_iρ_j‖m_i − m_j‖² + (Σρ) Σ ρ_i tr S_i − ‖T‖², the mean part on the host.
  Scratch<T> traces(ctx, 1, 1, p);
  GAUSSOT_DISPATCH(ctx, trace<T>, problem.covariances.cview(), traces.vectors());
  double weighted_traces = 0;
  const std::vector<double> tr = to_host<T>(ctx, traces.vectors());
  for (std::int64_t i = 0; i < p; ++i) weighted_traces += problem.rho[i] * tr[i];
  double mean_part = 0;
  std::vector<double> barycenter_mean(static_cast<std::size_t>(d), 0.0);
  if (!marginals.centered()) {
    std::vector<T> means(static_cast<std::size_t>(p * d));
    copy<T>(ctx, marginals.means, vectors(means.data(), d, p));
    // Σ_{i<j} ρ_iρ_j‖m_i − m_j‖² = (Σρ) Σ ρ_i‖m_i‖² − ‖Σ ρ_i m_i‖².
    double norms = 0;
    for (std::int64_t i = 0; i < p; ++i) {
      for (std::int64_t l = 0; l < d; ++l) {
        const double m = means[i * d + l];
        norms += problem.rho[i] * m * m;
        barycenter_mean[l] += problem.rho[i] * m;
      }
    }
    double centre = 0;
    for (double m : barycenter_mean) centre += m * m;
    mean_part = std::max(0.0, problem.rho_sum * norms - centre);
    for (double& m : barycenter_mean) m /= problem.rho_sum;
  }
  // An expected cost: >= 0 (rounding of the difference can go below by ε·scale).
  report.value =
      std::max(0.0, mean_part + problem.rho_sum * weighted_traces + 2 * report.certificate.primal);

  if (out.factors.count > 0) {  // U_i = Ũ_iᵀ
    const Scratch<T> identity_k = gaussot::identity<T>(ctx, k);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), factors_t.cview(),
                     broadcast(identity_k.cview(), p), T(0), out.factors);
  }
  if (out.barycenter.count() > 0) {  // B = T Tᵀ / (Σρ)² = T̃ᵀT̃ / (Σρ)²
    Scratch<T> sum_t(ctx, k, d, 1);
    problem.weighted_factor_sum(ctx, factors_t.cview(), sum_t.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no,
                     T(1 / (problem.rho_sum * problem.rho_sum)), sum_t.cview(), sum_t.cview(), T(0),
                     out.barycenter.covariances);
    const std::vector<T> mean(barycenter_mean.begin(), barycenter_mean.end());
    copy<T>(ctx, vectors<const T>(mean.data(), d, 1), out.barycenter.means);
  }
  return report;
}

template <typename T>
void mmot_coupling_samples(Context& ctx, VectorBatch<const T> means, MatrixBatch<const T> factors,
                           MatrixBatch<const T> normals, MatrixBatch<T> out) {
  const ArgumentChecker check("mmot_coupling_samples", &ctx);
  const std::int64_t p = factors.count, d = factors.rows, k = factors.cols, n = normals.cols;
  check.input("factors", factors);
  check.input("normals", normals);
  check.count("normals", normals.count, 1);
  check.matrix_shape("normals", normals, k, n);
  check.output("out", out);
  check.matrix_shape("out", out, d, n);
  check.count("out", out.count, p);
  if (means.count > 0) {
    check.input("means", means);
    check.vector_size("means", means, d);
    check.count("means", means.count, p);
  }
  if (p == 0 || n == 0) return;
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), factors, broadcast(normals, p),
                   T(0), out);
  if (means.count > 0) {  // out_i += m_i 1ᵀ
    const Scratch<T> ones = on_context<T>(ctx, std::vector<double>(std::size_t(n), 1.0), n, 1, 1);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), means.as_matrices(),
                     broadcast(ones.cview(), p), T(1), out);
  }
}

#define GAUSSOT_INSTANTIATE(T)                                                                 \
  template MmotReport mmot<T>(Context&, GaussianBatch<const T>, VectorBatch<const T>,          \
                              MmotOutputs<T>, const MmotOptions&);                             \
  template void mmot_coupling_samples<T>(Context&, VectorBatch<const T>, MatrixBatch<const T>, \
                                         MatrixBatch<const T>, MatrixBatch<T>);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
