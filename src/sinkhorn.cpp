// SPDX-License-Identifier: Apache-2.0
// The Sinkhorn of sinkhorn.hpp, written once over the primitives of backend.hpp: the log-domain
// iteration (sinkhorn_cost, sinkhorn_update; both backends) and the scaling iteration with
// absorption (GAUSSOT_SINKHORN_SCALING_PRIMITIVES; CPU only).
//
// Log-domain schedule. An iteration is the f half-update (from g), then the g half-update (from
// f). At a check, after the g-update of iteration k, the f half-update of iteration k + 1 runs
// with its statistics on: they describe the plan of (f_k, g_k) (its x-marginal, ⟨f, π1⟩, the KL
// of the x-marginal and the change f_{k+1} − f_k), so a check costs no extra pass over the cost
// matrix. f_{k+1} goes to the second f buffer; a problem that stops keeps f_k (copied into both
// buffers, which the kernels no longer touch for it), the others go on from f_{k+1}. A problem
// that stops also gets one statistics-only pass on the y side (its y-marginal, ⟨g, πᵀ1⟩ and
// ⟨π, C⟩), from which its value is formed on the host.
//
// Scaling schedule (Schmitzer 2019, the log-stabilised scaling iteration with absorption). The
// potentials are f + ε log u and g + ε log v, with the scalings (u, v) against a kernel K formed
// from the absorbed potentials (f, g) (backend.hpp); an iteration updates u, then v, by one pass
// over K (sinkhorn_scaling_iteration) into the second pair of scaling buffers. When some new
// scaling of a problem leaves [e^−B, e^B], or is not finite (a row or column of K v or Kᵀ u
// underflowed: the kernel has drifted too far from the plan), that iteration is made again in the
// log domain from (f + ε log u, g + ε log v), the result becomes the absorbed potentials with
// unit scalings, and K is formed anew from it: the absorption. The first kernel is formed from
// f = g = 0; when that underflows (small ε), the first iteration is made in the log domain. At a
// check the iteration after it runs with statistics of the plan of (u_k, v_k), as above (made in
// the log domain too when that iteration is); a problem that stops gets one pass over K and Cᵀ
// for its y side and ⟨π, C⟩, then its scalings are absorbed into the potentials it returns.
#include "gaussot/sinkhorn.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussian_batches.hpp"
#include "gaussot/array.hpp"
#include "gaussot/error.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

/// The checked weights of one side as host log-weights (count packed vectors of length `size`)
/// and totals, uniform 1/size when `weights` is empty.
template <typename T>
struct SideWeights {
  std::vector<T> log_weights;
  std::vector<double> totals;
};

template <typename T>
SideWeights<T> side_weights(Context& ctx, const ArgumentChecker& check, const char* name,
                            VectorBatch<const T> weights, std::int64_t size, std::int64_t count) {
  SideWeights<T> side;
  side.log_weights.resize(static_cast<std::size_t>(size * count));
  side.totals.assign(static_cast<std::size_t>(count), 1.0);
  if (weights.count == 0) {
    std::fill(side.log_weights.begin(), side.log_weights.end(), T(-std::log(double(size))));
    return side;
  }
  check.input(name, weights);
  check.vector_size(name, weights, size);
  check.count(name, weights.count, count);
  // A broadcast batch repeats one vector: read it once.
  const VectorBatch<const T> distinct =
      weights.stride == 0 && count > 1 ? weights.slice(0, 1) : weights;
  std::vector<T> host(static_cast<std::size_t>(size * distinct.count));
  copy<T>(ctx, distinct, vectors(host.data(), size, distinct.count));
  for (std::int64_t i = 0; i < count; ++i) {
    const T* w = host.data() + (distinct.count == 1 ? 0 : i * size);
    double total = 0;
    for (std::int64_t j = 0; j < size; ++j) {
      if (!(std::isfinite(w[j]) && w[j] > 0)) {
        check.fail(name,
                   "must be finite and > 0: batch item " + std::to_string(i) + ", entry " +
                       std::to_string(j) + " is " + format_number(double(w[j])),
                   i);
      }
      side.log_weights[i * size + j] = T(std::log(double(w[j])));
      total += double(w[j]);
    }
    side.totals[i] = total;
  }
  return side;
}

/// The problems as both algorithms see them, set up by sinkhorn().
template <typename T>
struct Setting {
  Context& ctx;
  const SinkhornOptions& options;
  std::int64_t count, n, m;
  MatrixBatch<const T> cost, cost_t;  ///< C (n x m) and Cᵀ (m x n) per problem (may broadcast)
  VectorBatch<const T> log_a, log_b;  ///< log-weights, on the context
  const std::vector<double>&total_a, &total_b;
  bool balanced;
  double epsilon, gamma, tau;  ///< τ = γ/(γ + ε), 1 if balanced
  T inv_epsilon() const { return T(1 / epsilon); }
  T scale() const { return T(tau * epsilon); }
};

/// The report and the results of the problems that stopped, common to both algorithms.
struct Outcome {
  SinkhornReport report;
  std::vector<double> value, transport, mass;
  explicit Outcome(std::int64_t count) {
    const auto size = static_cast<std::size_t>(count);
    report.iterations.assign(size, 0);
    report.marginal_error.assign(size, std::numeric_limits<double>::quiet_NaN());
    report.converged.assign(size, false);
    report.absorptions.assign(size, 0);
    value.assign(size, 0);
    transport = mass = value;
  }
};

/// The check after iteration k, from the x-side statistics `rows` (kStats per problem) of the
/// plan of the active problems' current potentials: records each one's stopping quantity and
/// returns those that stop.
template <typename T>
std::vector<std::int64_t> check_after(const Setting<T>& s, int k, const std::vector<double>& rows,
                                      const std::vector<T>& active, Outcome& outcome) {
  std::vector<std::int64_t> stopped;
  for (std::int64_t i = 0; i < s.count; ++i) {
    if (active[i] == T(0)) continue;
    const double* r = rows.data() + i * kStats;
    const double error = s.balanced ? r[kMarginalL1] / s.total_a[i] : r[kChange] / s.epsilon;
    outcome.report.iterations[i] = k;
    outcome.report.marginal_error[i] = error;
    outcome.report.converged[i] = error <= s.options.tolerance;
    if (outcome.report.converged[i] || k == s.options.max_iterations) stopped.push_back(i);
  }
  return stopped;
}

/// The results of problem i from the x-side (r) and y-side (c) statistics of its returned plan.
template <typename T>
void finish(const Setting<T>& s, std::int64_t i, const double* r, const double* c,
            Outcome& outcome) {
  // ⟨π, C⟩ + ε KL(π ‖ a⊗b) = ⟨f, π1⟩ + ⟨g, πᵀ1⟩ − ε Σπ + ε Σa Σb, with Σπ = Σa + δ and
  // δ = Σ(π1 − a) summed as such: no cancellation of ε Σπ against ε Σa Σb at large ε.
  const double total_a = s.total_a[i], total_b = s.total_b[i];
  double v = r[kPotentialMass] + c[kPotentialMass] + s.epsilon * total_a * (total_b - 1) -
             s.epsilon * r[kMassExcess];
  if (!s.balanced) v += s.gamma * (r[kMarginalKl] + c[kMarginalKl]);
  outcome.value[i] = v;
  outcome.transport[i] = c[kTransport];
  outcome.mass[i] = total_a + r[kMassExcess];
}

/// Flags (1 or 0) of the listed problems, as a batch of scalars on the context.
template <typename T>
Scratch<T> flags(Context& ctx, const std::vector<std::int64_t>& listed, std::int64_t count) {
  std::vector<T> host(static_cast<std::size_t>(count), T(0));
  for (std::int64_t i : listed) host[i] = T(1);
  return on_context<T>(ctx, host, 1, 1, count);
}

/// The log-domain iteration (the schedule above); leaves the returned potentials in f and g.
template <typename T>
void log_domain(const Setting<T>& s, Outcome& outcome, VectorBatch<T> f_out, VectorBatch<T> g_out) {
  Context& ctx = s.ctx;
  const std::int64_t count = s.count;
  Scratch<T> f_buffers[2] = {Scratch<T>(ctx, s.n, 1, count), Scratch<T>(ctx, s.n, 1, count)};
  Scratch<T> g(ctx, s.m, 1, count);
  combine<T>(ctx, {}, f_buffers[0].view);
  combine<T>(ctx, {}, g.view);
  std::vector<T> active_host(static_cast<std::size_t>(count), T(1));
  Scratch<T> active = on_context<T>(ctx, active_host, 1, 1, count);
  Scratch<T> row_stats(ctx, kStats, 1, count), column_stats(ctx, kStats, 1, count);
  int current = 0;  // f_buffers[current] holds every problem's f
  // One half-update; `updated` count 0 and `stats` count 0 skip those outputs.
  auto f_half = [&](VectorBatch<const T> f_now, VectorBatch<T> f_new, MatrixBatch<T> stats,
                    VectorBatch<const T> which) {
    GAUSSOT_DISPATCH(ctx, sinkhorn_update<T>, s.cost_t, s.log_b, VectorBatch<const T>(g.vectors()),
                     s.log_a, f_now, which, s.inv_epsilon(), s.scale(), f_new, stats);
  };
  auto g_half = [&](VectorBatch<const T> f_now, VectorBatch<T> g_new, MatrixBatch<T> stats,
                    VectorBatch<const T> which) {
    GAUSSOT_DISPATCH(ctx, sinkhorn_update<T>, s.cost, s.log_a, f_now, s.log_b,
                     VectorBatch<const T>(g.vectors()), which, s.inv_epsilon(), s.scale(), g_new,
                     stats);
  };

  std::int64_t running = count;
  bool f_ready = false;  // f of this iteration was already made by the last check's look-ahead
  for (int k = 1; k <= s.options.max_iterations && running > 0; ++k) {
    const VectorBatch<const T> which = active.vectors();
    const VectorBatch<T> f = f_buffers[current].vectors();
    if (!f_ready) f_half(f, f, MatrixBatch<T>(), which);
    g_half(f, g.vectors(), MatrixBatch<T>(), which);
    f_ready = false;
    if (k % s.options.check_every != 0 && k != s.options.max_iterations) continue;

    // The check: the look-ahead f-update with the statistics of the plan (f_k, g_k).
    const VectorBatch<T> f_next = f_buffers[1 - current].vectors();
    f_half(f, f_next, row_stats.view, which);
    const std::vector<double> rows = to_host<T>(ctx, row_stats.vectors());
    const std::vector<std::int64_t> stopped = check_after(s, k, rows, active_host, outcome);
    if (!stopped.empty()) {
      const Scratch<T> stopping = flags<T>(ctx, stopped, count);
      g_half(f, VectorBatch<T>(), column_stats.view, stopping.vectors());
      const std::vector<double> columns = to_host<T>(ctx, column_stats.vectors());
      for (std::int64_t i : stopped) {
        finish(s, i, rows.data() + i * kStats, columns.data() + i * kStats, outcome);
        // Keep f_k for this problem in both buffers: the kernels skip it from now on.
        copy<T>(ctx, VectorBatch<const T>(f.slice(i, i + 1)), f_next.slice(i, i + 1));
        active_host[i] = T(0);
        --running;
      }
      if (running > 0) copy<T>(ctx, vectors(active_host.data(), 1, count), active.vectors());
    }
    current = 1 - current;
    f_ready = true;
  }
  if (f_out.count > 0) copy<T>(ctx, VectorBatch<const T>(f_buffers[current].vectors()), f_out);
  if (g_out.count > 0) copy<T>(ctx, VectorBatch<const T>(g.vectors()), g_out);
}

/// Bound B on |log u|, |log v| before an absorption. A kernel entry is 0 when its exponent is
/// below −700 in double (−80 in float, cpu/sinkhorn.cpp); with scalings within e^±B, the plan
/// entries so lost are below e^(2B − 700) (e^(2B − 80)), and B = 175 (20) keeps them below
/// e^−350 (e^−40) of the plan, beyond rounding. A larger B would absorb less often; absorptions
/// are rare at this B (one every few hundred ε of movement of a potential).
template <typename T>
constexpr T kAbsorptionBound = sizeof(T) == 4 ? T(20) : T(175);

/// The scaling iteration with absorption (the schedule above; CPU only); leaves the returned
/// potentials in f and g.
template <typename T>
void scaling(const Setting<T>& s, Outcome& outcome, VectorBatch<T> f_out, VectorBatch<T> g_out) {
  Context& ctx = s.ctx;
  const std::int64_t count = s.count, n = s.n, m = s.m;
  const T epsilon = T(s.epsilon), tau = T(s.tau);
  // Absorbed potentials, two buffers of scalings, the kernels; f_k, g_k and f_{k+1} of the
  // iterations made in the log domain.
  Scratch<T> f(ctx, n, 1, count), g(ctx, m, 1, count), kernel(ctx, m, n, count);
  Scratch<T> u[2] = {Scratch<T>(ctx, n, 1, count), Scratch<T>(ctx, n, 1, count)};
  Scratch<T> v[2] = {Scratch<T>(ctx, m, 1, count), Scratch<T>(ctx, m, 1, count)};
  Scratch<T> f_k(ctx, n, 1, count), g_k(ctx, m, 1, count), f_next(ctx, n, 1, count);
  Scratch<T> row_stats(ctx, kStats, 1, count), column_stats(ctx, kStats, 1, count);
  Scratch<T> outside(ctx, 1, 1, count);
  combine<T>(ctx, {}, f.view);
  combine<T>(ctx, {}, g.view);
  std::vector<T> active_host(static_cast<std::size_t>(count), T(1));
  Scratch<T> active = on_context<T>(ctx, active_host, 1, 1, count);
  cpu::sinkhorn_kernel<T>(ctx, s.cost_t, s.log_a, f.vectors(), s.log_b, g.vectors(), epsilon,
                          active.vectors(), kernel.view, u[0].vectors(), v[0].vectors());
  auto absorb = [&](const Scratch<T>& potential, const Scratch<T>& scaling,
                    VectorBatch<const T> which, const Scratch<T>& into) {
    cpu::sinkhorn_absorb<T>(ctx, potential.vectors(), scaling.vectors(), epsilon, which,
                            into.vectors());
  };

  std::int64_t running = count;
  int current = 0;  // u[current], v[current]: the scalings of iteration k
  for (int k = 0;; ++k) {
    const bool check = k > 0 && (k % s.options.check_every == 0 || k == s.options.max_iterations);
    const MatrixBatch<T> stats = check ? row_stats.view : MatrixBatch<T>();
    cpu::sinkhorn_scaling_iteration<T>(
        ctx, kernel.cview(), s.log_a, f.vectors(), s.log_b, g.vectors(), u[current].vectors(),
        v[current].vectors(), active.vectors(), epsilon, tau, kAbsorptionBound<T>,
        u[1 - current].vectors(), v[1 - current].vectors(), outside.vectors(), stats);
    // Iteration k + 1 again in the log domain where it left the bound: f_{k+1} from g_k (with
    // the statistics of the plan (f_k, g_k) at a check).
    const std::vector<double> out_of_range = to_host<T>(ctx, outside.vectors());
    std::vector<std::int64_t> redo;
    for (std::int64_t i = 0; i < count; ++i)
      if (active_host[i] != T(0) && out_of_range[i] != 0) redo.push_back(i);
    if (!redo.empty()) {
      const Scratch<T> redoing = flags<T>(ctx, redo, count);
      absorb(f, u[current], redoing.vectors(), f_k);
      absorb(g, v[current], redoing.vectors(), g_k);
      cpu::sinkhorn_update<T>(ctx, s.cost_t, s.log_b, g_k.vectors(), s.log_a, f_k.vectors(),
                              redoing.vectors(), s.inv_epsilon(), s.scale(), f_next.vectors(),
                              stats);
    }
    if (check) {
      const std::vector<double> rows = to_host<T>(ctx, row_stats.vectors());
      const std::vector<std::int64_t> stopped = check_after(s, k, rows, active_host, outcome);
      if (!stopped.empty()) {
        const Scratch<T> stopping = flags<T>(ctx, stopped, count);
        cpu::sinkhorn_scaling_columns<T>(ctx, kernel.cview(), s.cost_t, s.log_b, g.vectors(),
                                         u[current].vectors(), v[current].vectors(),
                                         stopping.vectors(), epsilon, column_stats.view);
        const std::vector<double> columns = to_host<T>(ctx, column_stats.vectors());
        for (std::int64_t i : stopped) {
          finish(s, i, rows.data() + i * kStats, columns.data() + i * kStats, outcome);
          active_host[i] = T(0);
          --running;
        }
        // The returned potentials: f_k, g_k with the scalings absorbed.
        absorb(f, u[current], stopping.vectors(), f);
        absorb(g, v[current], stopping.vectors(), g);
        copy<T>(ctx, vectors(active_host.data(), 1, count), active.vectors());
      }
      if (running == 0) break;
    }
    // The absorption: g_{k+1} from f_{k+1}, both absorbed, unit scalings and a new kernel.
    std::vector<std::int64_t> absorbing;
    for (std::int64_t i : redo) {
      if (active_host[i] == T(0)) continue;
      absorbing.push_back(i);
      ++outcome.report.absorptions[i];
      copy<T>(ctx, VectorBatch<const T>(f_next.vectors().slice(i, i + 1)),
              f.vectors().slice(i, i + 1));
    }
    if (!absorbing.empty()) {
      const Scratch<T> which = flags<T>(ctx, absorbing, count);
      cpu::sinkhorn_update<T>(ctx, s.cost, s.log_a, f.vectors(), s.log_b, g_k.vectors(),
                              which.vectors(), s.inv_epsilon(), s.scale(), g.vectors(),
                              MatrixBatch<T>());
      cpu::sinkhorn_kernel<T>(ctx, s.cost_t, s.log_a, f.vectors(), s.log_b, g.vectors(), epsilon,
                              which.vectors(), kernel.view, u[1 - current].vectors(),
                              v[1 - current].vectors());
    }
    current = 1 - current;
  }
  if (f_out.count > 0) copy<T>(ctx, VectorBatch<const T>(f.vectors()), f_out);
  if (g_out.count > 0) copy<T>(ctx, VectorBatch<const T>(g.vectors()), g_out);
}

}  // namespace

template <typename T>
SinkhornReport sinkhorn(Context& ctx, MatrixBatch<const T> x, MatrixBatch<const T> y,
                        VectorBatch<const T> weights_x, VectorBatch<const T> weights_y,
                        const SinkhornOutputs<T>& out, const SinkhornOptions& options) {
  const ArgumentChecker check("sinkhorn", &ctx);
  // ---- options ----
  const double sigma = options.sigma;
  check.positive("options.sigma", sigma);
  const bool balanced = !options.gamma.has_value();
  const double gamma = options.gamma.value_or(0.0);
  if (!balanced)
    check.positive("options.gamma", gamma, " (leave it empty for the balanced problem)");
  check.non_negative("options.tolerance", options.tolerance);
  check.at_least("options.max_iterations", options.max_iterations, 1);
  check.at_least("options.check_every", options.check_every, 1);
  const SinkhornAlgorithm algorithm = options.algorithm;
  check.expect(algorithm == SinkhornAlgorithm::automatic ||
                   algorithm == SinkhornAlgorithm::log_domain ||
                   algorithm == SinkhornAlgorithm::scaling,
               "options.algorithm",
               "is not a SinkhornAlgorithm (" + std::to_string(static_cast<int>(algorithm)) + ")");
  const bool on_cuda = ctx.backend() == Backend::cuda;
  check.expect(!(on_cuda && algorithm == SinkhornAlgorithm::scaling), "options.algorithm",
               "'scaling' runs on the CPU backend only; use 'automatic' or 'log_domain' on CUDA");
  const bool use_scaling = algorithm == SinkhornAlgorithm::scaling ||
                           (algorithm == SinkhornAlgorithm::automatic && !on_cuda);
  const double epsilon = 2 * sigma * sigma;
  check.expect(
      std::isfinite(epsilon) && epsilon >= double(std::numeric_limits<T>::min()), "options.sigma",
      "gives ε = 2σ² = " + format_number(epsilon) + ", outside the range of the element type");

  // ---- shapes ----
  check.input("x", x);
  check.input("y", y);
  const std::int64_t count = x.count, d = x.rows, n = x.cols, m = y.cols;
  check.count("y", y.count, count);
  check.expect(d >= 1 && n >= 1, "x",
               "must hold at least one point of dimension >= 1, got " +
                   ArgumentChecker::shape(d, n) + " (d x n)");
  check.expect(y.rows == d, "y",
               "has points of dimension " + std::to_string(y.rows) + ", but x has dimension " +
                   std::to_string(d));
  check.expect(m >= 1, "y", "must hold at least one point");
  check.optional_output("out.value", out.value, 1, count);
  check.optional_output("out.transport_cost", out.transport_cost, 1, count);
  check.optional_output("out.plan_mass", out.plan_mass, 1, count);
  check.optional_output("out.f", out.f, n, count);
  check.optional_output("out.g", out.g, m, count);
  check.outputs_apart<T>({{"x", x}, {"y", y}},
                         {{"out.value", out.value.as_matrices()},
                          {"out.transport_cost", out.transport_cost.as_matrices()},
                          {"out.plan_mass", out.plan_mass.as_matrices()},
                          {"out.f", out.f.as_matrices()},
                          {"out.g", out.g.as_matrices()}});
  if (count == 0) return {};

  // ---- values ----
  check.finite(ctx, "x", x, /*lower_only=*/false);
  check.finite(ctx, "y", y, /*lower_only=*/false);
  const SideWeights<T> a = side_weights<T>(ctx, check, "weights_x", weights_x, n, count);
  const SideWeights<T> b = side_weights<T>(ctx, check, "weights_y", weights_y, m, count);
  if (balanced) {
    const double tolerance = std::is_same_v<T, double> ? 1e-10 : 1e-5;
    for (std::int64_t i = 0; i < count; ++i) {
      const double ta = a.totals[i], tb = b.totals[i];
      if (std::abs(ta - tb) > tolerance * std::max(ta, tb)) {
        check.fail("weights_y",
                   "must have the total of weights_x in a balanced problem (no gamma): batch "
                   "item " +
                       std::to_string(i) + " sums to " + format_number(tb) + ", weights_x to " +
                       format_number(ta),
                   i);
      }
    }
  }

  // ---- set-up: cost matrices, log-weights ----
  const bool one_cost = x.stride == 0 && y.stride == 0 && count > 1;
  const std::int64_t costs = one_cost ? 1 : count;
  Scratch<T> cost(ctx, n, m, costs), cost_t(ctx, m, n, costs);
  GAUSSOT_DISPATCH(ctx, sinkhorn_cost<T>, x.slice(0, costs), y.slice(0, costs), cost.view,
                   cost_t.view);
  const Scratch<T> log_a = on_context<T>(ctx, a.log_weights, n, 1, count);
  const Scratch<T> log_b = on_context<T>(ctx, b.log_weights, m, 1, count);
  const Setting<T> setting{ctx,
                           options,
                           count,
                           n,
                           m,
                           one_cost ? broadcast(cost.cview(), count) : cost.cview(),
                           one_cost ? broadcast(cost_t.cview(), count) : cost_t.cview(),
                           log_a.vectors(),
                           log_b.vectors(),
                           a.totals,
                           b.totals,
                           balanced,
                           epsilon,
                           gamma,
                           balanced ? 1.0 : gamma / (gamma + epsilon)};
  Outcome outcome(count);
  if (use_scaling) {
    scaling<T>(setting, outcome, out.f, out.g);
  } else {
    log_domain<T>(setting, outcome, out.f, out.g);
  }

  // A breakdown (squared distances or potentials beyond the range of T) leaves NaN or infinite
  // statistics: refused here, for every front end, rather than returned as NaN.
  for (std::int64_t i = 0; i < count; ++i) {
    const bool representable = std::isfinite(outcome.report.marginal_error[i]) &&
                               std::fabs(outcome.value[i]) <= double(std::numeric_limits<T>::max());
    if (!representable) {
      check.fail("x",
                 "batch item " + std::to_string(i) +
                     ": the iterations produced NaN or infinite values (the squared distances "
                     "‖x − y‖² or the potentials overflow " +
                     (std::is_same_v<T, float> ? "float32" : "float64") +
                     "); rescale the points or sigma",
                 i);
    }
  }

  // ---- outputs ----
  write_scalars<T>(ctx, outcome.value, out.value);
  write_scalars<T>(ctx, outcome.transport, out.transport_cost);
  write_scalars<T>(ctx, outcome.mass, out.plan_mass);
  return outcome.report;
}

#define GAUSSOT_INSTANTIATE(T)                                                              \
  template SinkhornReport sinkhorn<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>, \
                                      VectorBatch<const T>, VectorBatch<const T>,           \
                                      const SinkhornOutputs<T>&, const SinkhornOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
