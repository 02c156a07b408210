// SPDX-License-Identifier: Apache-2.0
// Bindings of mmot.hpp: multimarginal Gaussian OT with pairwise quadratic costs.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"

namespace gaussot::python {
namespace {

using namespace nb::literals;

MmotSolver mmot_solver(const std::string& solver) {
  if (solver == "bm") return MmotSolver::burer_monteiro;
  if (solver == "fixed-point") return MmotSolver::fixed_point;
  invalid_argument("solver: expected 'bm' or 'fixed-point', got '" + solver + "'", "solver");
}

nb::object mmot_py(nb::handle covs, nb::handle means, nb::handle weights, const std::string& solver,
                   std::optional<double> tolerance, std::int64_t max_iterations,
                   std::int64_t check_every, std::uint64_t seed, bool factors,
                   const std::string& backend) {
  Arg cov(covs, "covs", Item::symmetric), mean(means, "means", Item::vector),
      weight(weights, "weights", Item::vector, 0, "k");
  Call call(backend, {&cov, &mean, &weight});
  const Batch batch = broadcast({&cov, &mean});
  const std::int64_t d = cov.extent(0), p = batch.count;
  MmotOptions options;
  options.solver = mmot_solver(solver);
  options.tolerance = tolerance;
  options.max_iterations = int_option(max_iterations, "max_iterations");
  // The library reads check_every < 1 as 1; the module refuses it, as sinkhorn does.
  options.check_every = int_option(check_every, "check_every", 1);
  options.seed = seed;
  const std::int64_t k = mmot_factor_width(options.solver, d);
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> marginals = call.gaussians<T>(mean, cov, p);
    const VectorBatch<const T> w = call.vector<T>(weight);
    Output<T> out_mean(call, {d});
    Output<T> out_cov(call, {d, d}, Order::columns);
    std::optional<Output<T>> out_factors;
    if (factors) out_factors.emplace(call, std::vector<std::int64_t>{p, d, k}, Order::columns);
    MmotReport r;
    {
      nb::gil_scoped_release release;
      r = mmot<T>(call.ctx(), marginals, w,
                  {out_factors ? out_factors->matrices(d, k, p) : MatrixBatch<T>(),
                   GaussianBatch<T>(out_mean.vectors(d, 1), out_cov.matrices(d, d, 1))},
                  options);
    }
    nb::dict result;
    result["value"] = r.value;
    result["barycenter_mean"] = out_mean.release();
    result["barycenter_cov"] = out_cov.release();
    if (out_factors) result["factors"] = out_factors->release();
    r.for_each_field([&](const char* name, const auto& value) { result[name] = value; });
    return nb::object(result);
  });
}

}  // namespace

void bind_mmot(nb::module_& m) {
  m.def("mmot", &mmot_py, "covs"_a, nb::kw_only(), "means"_a = nb::none(), "weights"_a = nb::none(),
        "solver"_a = "bm", "tolerance"_a = nb::none(),
        "max_iterations"_a = MmotOptions().max_iterations,
        "check_every"_a = MmotOptions().check_every, "seed"_a = 0, "factors"_a = false,
        "backend"_a = "auto",
        R"(Multimarginal OT between p Gaussians (covs (p, d, d) positive definite, means (p, d) or
None) with the cost Σ_{i<j} ρ_i ρ_j ‖x_i − x_j‖² (weights ρ (p,), None: all ones), by Burer–Monteiro
(solver='bm', factors of width d + 1) or the fixed point ('fixed-point', width d). Returns a dict:
'value' (the minimal expected cost), 'barycenter_mean', 'barycenter_cov' (the W2 barycenter with
weights ρ/Σρ), the certificate 'primal', 'dual', 'dual_gap', 'feasibility', 'kkt_residual',
'gradient_norm', 'rank', 'rank_ratio', and 'iterations', 'solver', 'converged', 'stop_reason'
('dual_gap', 'residual', 'max_iterations', 'line_search' or 'stalled'). tolerance: the dual gap to
stop on (None: 1e-7 for 'bm'; the fixed point then stops on its own residual, 1e-12 in float64,
giving the barycenter to what the precision allows). With factors=True also 'factors' (p, d, k): the
coupling is X_i = m_i + U_i z, z ~ N(0, I_k).)" GAUSSOT_DOC_COMMON);
}

}  // namespace gaussot::python
