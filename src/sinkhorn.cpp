// SPDX-License-Identifier: Apache-2.0
// The log-domain Sinkhorn of sinkhorn.hpp, written once over the primitives sinkhorn_cost and
// sinkhorn_update (backend.hpp).
//
// Schedule. An iteration is the f half-update (from g), then the g half-update (from f). At a
// check, after the g-update of iteration k, the f half-update of iteration k + 1 runs with its
// statistics on: they describe the plan of (f_k, g_k) (its x-marginal, ⟨f, π1⟩, the KL of the
// x-marginal, ⟨π, C⟩ and the change f_{k+1} − f_k), so a check costs no extra pass over the cost
// matrix. f_{k+1} goes to the second f buffer; a problem that stops keeps f_k (copied into both
// buffers, which the kernels no longer touch for it), the others go on from f_{k+1}. A problem
// that stops also gets one statistics-only pass on the y side (its y-marginal and ⟨g, πᵀ1⟩), from
// which its value is formed on the host.
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

  // ---- set-up: cost matrices, log-weights, potentials ----
  const bool one_cost = x.stride == 0 && y.stride == 0 && count > 1;
  const std::int64_t costs = one_cost ? 1 : count;
  Scratch<T> cost(ctx, n, m, costs), cost_t(ctx, m, n, costs);
  GAUSSOT_DISPATCH(ctx, sinkhorn_cost<T>, x.slice(0, costs), y.slice(0, costs), cost.view,
                   cost_t.view);
  const MatrixBatch<const T> c = one_cost ? broadcast(cost.cview(), count) : cost.cview();
  const MatrixBatch<const T> ct = one_cost ? broadcast(cost_t.cview(), count) : cost_t.cview();
  const Scratch<T> log_a = on_context<T>(ctx, a.log_weights, n, 1, count);
  const Scratch<T> log_b = on_context<T>(ctx, b.log_weights, m, 1, count);
  Scratch<T> f_buffers[2] = {Scratch<T>(ctx, n, 1, count), Scratch<T>(ctx, n, 1, count)};
  Scratch<T> g(ctx, m, 1, count);
  combine<T>(ctx, {}, f_buffers[0].view);
  combine<T>(ctx, {}, g.view);
  std::vector<T> active_host(static_cast<std::size_t>(count), T(1));
  Scratch<T> active = on_context<T>(ctx, active_host, 1, 1, count);
  Scratch<T> row_stats(ctx, kStats, 1, count), column_stats(ctx, kStats, 1, count);

  const T inv_epsilon = T(1 / epsilon);
  const double tau = balanced ? 1.0 : gamma / (gamma + epsilon);
  const T scale = T(tau * epsilon);
  int current = 0;  // f_buffers[current] holds every problem's f
  // One half-update; `updated` count 0 and `stats` count 0 skip those outputs.
  auto f_half = [&](VectorBatch<const T> f_now, VectorBatch<T> f_new, MatrixBatch<T> stats,
                    VectorBatch<const T> which) {
    GAUSSOT_DISPATCH(ctx, sinkhorn_update<T>, ct, VectorBatch<const T>(log_b.vectors()),
                     VectorBatch<const T>(g.vectors()), VectorBatch<const T>(log_a.vectors()),
                     f_now, which, inv_epsilon, scale, f_new, stats);
  };
  auto g_half = [&](VectorBatch<const T> f_now, VectorBatch<T> g_new, MatrixBatch<T> stats,
                    VectorBatch<const T> which) {
    GAUSSOT_DISPATCH(ctx, sinkhorn_update<T>, c, VectorBatch<const T>(log_a.vectors()), f_now,
                     VectorBatch<const T>(log_b.vectors()), VectorBatch<const T>(g.vectors()),
                     which, inv_epsilon, scale, g_new, stats);
  };

  SinkhornReport report;
  report.iterations.assign(static_cast<std::size_t>(count), 0);
  report.marginal_error.assign(static_cast<std::size_t>(count),
                               std::numeric_limits<double>::quiet_NaN());
  report.converged.assign(static_cast<std::size_t>(count), false);
  std::vector<double> value(static_cast<std::size_t>(count)), transport(value), mass(value);
  std::int64_t running = count;
  bool f_ready = false;  // f of this iteration was already made by the last check's look-ahead
  for (int k = 1; k <= options.max_iterations && running > 0; ++k) {
    const VectorBatch<const T> which = active.vectors();
    const VectorBatch<T> f = f_buffers[current].vectors();
    if (!f_ready) f_half(f, f, MatrixBatch<T>(), which);
    g_half(f, g.vectors(), MatrixBatch<T>(), which);
    f_ready = false;
    if (k % options.check_every != 0 && k != options.max_iterations) continue;

    // The check: the look-ahead f-update with the statistics of the plan (f_k, g_k).
    const VectorBatch<T> f_next = f_buffers[1 - current].vectors();
    f_half(f, f_next, row_stats.view, which);
    const std::vector<double> rows = to_host<T>(ctx, row_stats.vectors());
    std::vector<std::int64_t> stopped;
    for (std::int64_t i = 0; i < count; ++i) {
      if (active_host[i] == T(0)) continue;
      const double* s = rows.data() + i * kStats;
      const double error = balanced ? s[kMarginalL1] / a.totals[i] : s[kChange] / epsilon;
      report.iterations[i] = k;
      report.marginal_error[i] = error;
      report.converged[i] = error <= options.tolerance;
      if (report.converged[i] || k == options.max_iterations) stopped.push_back(i);
    }
    if (!stopped.empty()) {
      std::vector<T> stopping(static_cast<std::size_t>(count), T(0));
      for (std::int64_t i : stopped) stopping[i] = T(1);
      const Scratch<T> stopping_flags = on_context<T>(ctx, stopping, 1, 1, count);
      g_half(f, VectorBatch<T>(), column_stats.view, stopping_flags.vectors());
      const std::vector<double> columns = to_host<T>(ctx, column_stats.vectors());
      for (std::int64_t i : stopped) {
        const double* r = rows.data() + i * kStats;
        const double* s = columns.data() + i * kStats;
        // ⟨π, C⟩ + ε KL(π ‖ a⊗b) = ⟨f, π1⟩ + ⟨g, πᵀ1⟩ − ε Σπ + ε Σa Σb, with Σπ = Σa + δ and
        // δ = Σ(π1 − a) summed as such: no cancellation of ε Σπ against ε Σa Σb at large ε.
        const double total_a = a.totals[i], total_b = b.totals[i];
        double v = r[kPotentialMass] + s[kPotentialMass] + epsilon * total_a * (total_b - 1) -
                   epsilon * r[kMassExcess];
        if (!balanced) v += gamma * (r[kMarginalKl] + s[kMarginalKl]);
        value[i] = v;
        transport[i] = r[kTransport];
        mass[i] = total_a + r[kMassExcess];
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

  // A breakdown (squared distances or potentials beyond the range of T) leaves NaN or infinite
  // statistics: refused here, for every front end, rather than returned as NaN.
  for (std::int64_t i = 0; i < count; ++i) {
    const bool representable = std::isfinite(report.marginal_error[i]) &&
                               std::fabs(value[i]) <= double(std::numeric_limits<T>::max());
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
  if (out.f.count > 0) copy<T>(ctx, VectorBatch<const T>(f_buffers[current].vectors()), out.f);
  if (out.g.count > 0) copy<T>(ctx, VectorBatch<const T>(g.vectors()), out.g);
  write_scalars<T>(ctx, value, out.value);
  write_scalars<T>(ctx, transport, out.transport_cost);
  write_scalars<T>(ctx, mass, out.plan_mass);
  return report;
}

#define GAUSSOT_INSTANTIATE(T)                                                              \
  template SinkhornReport sinkhorn<T>(Context&, MatrixBatch<const T>, MatrixBatch<const T>, \
                                      VectorBatch<const T>, VectorBatch<const T>,           \
                                      const SinkhornOutputs<T>&, const SinkhornOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
