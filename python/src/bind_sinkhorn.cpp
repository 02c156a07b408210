// SPDX-License-Identifier: Apache-2.0
// Bindings of sinkhorn.hpp: the batched Sinkhorn between point clouds (scaling with absorption
// or log domain).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"

namespace gaussot::python {
namespace {

using namespace nb::literals;

SinkhornAlgorithm parse_algorithm(const std::string& algorithm) {
  if (algorithm == "automatic") return SinkhornAlgorithm::automatic;
  if (algorithm == "log_domain") return SinkhornAlgorithm::log_domain;
  if (algorithm == "scaling") return SinkhornAlgorithm::scaling;
  invalid_argument(
      "algorithm: expected 'automatic', 'log_domain' or 'scaling', got '" + algorithm + "'",
      "algorithm");
}

nb::object sinkhorn_py(nb::handle x_in, nb::handle y_in, nb::handle weights_x_in,
                       nb::handle weights_y_in, double sigma, std::optional<double> gamma,
                       double tolerance, std::int64_t max_iterations, std::int64_t check_every,
                       const std::string& algorithm, const std::string& backend) {
  Arg x(x_in, "x", Item::matrix, 1, "n, d"), y(y_in, "y", Item::matrix, 1, "m, d"),
      wx(weights_x_in, "weights_x", Item::vector, 1, "n"),
      wy(weights_y_in, "weights_y", Item::vector, 1, "m");
  Call call(backend, {&x, &y, &wx, &wy});
  if (x.extent(1) != y.extent(1)) {
    invalid_argument("y has points of dimension " + std::to_string(y.extent(1)) +
                         " but x has dimension " + std::to_string(x.extent(1)),
                     "y");
  }
  const Batch batch = broadcast({&x, &y, &wx, &wy});
  const std::int64_t k = batch.count, n = x.extent(0), m = y.extent(0);
  SinkhornOptions options;
  options.sigma = sigma;
  options.gamma = gamma;
  options.tolerance = tolerance;
  options.max_iterations = int_option(max_iterations, "max_iterations");
  options.check_every = int_option(check_every, "check_every");
  options.algorithm = parse_algorithm(algorithm);
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> xs = call.matrices<T>(x, k), ys = call.matrices<T>(y, k);
    const VectorBatch<const T> a = wx.present() ? call.vectors<T>(wx, k) : VectorBatch<const T>();
    const VectorBatch<const T> b = wy.present() ? call.vectors<T>(wy, k) : VectorBatch<const T>();
    Output<T> value(call, batch.shape()), transport(call, batch.shape()), mass(call, batch.shape()),
        f(call, concat(batch.shape(), {n})), g(call, concat(batch.shape(), {m}));
    SinkhornReport r;
    {
      nb::gil_scoped_release release;
      r = sinkhorn<T>(call.ctx(), xs, ys, a, b,
                      {value.scalars(k), transport.scalars(k), mass.scalars(k), f.vectors(n, k),
                       g.vectors(m, k)},
                      options);
    }
    nb::dict result;
    result["value"] = value.release();
    result["transport_cost"] = transport.release();
    result["plan_mass"] = mass.release();
    result["f"] = f.release();
    result["g"] = g.release();
    result["iterations"] = host_array(
        std::vector<std::int64_t>(r.iterations.begin(), r.iterations.end()), batch.shape());
    result["marginal_error"] = host_array(r.marginal_error, batch.shape());
    result["converged"] =
        host_array(std::vector<std::uint8_t>(r.converged.begin(), r.converged.end()), batch.shape(),
                   Order::c, /*as_bool=*/true);
    result["absorptions"] = host_array(
        std::vector<std::int64_t>(r.absorptions.begin(), r.absorptions.end()), batch.shape());
    result["epsilon"] = 2 * sigma * sigma;
    return nb::object(result);
  });
}

}  // namespace

void bind_sinkhorn(nb::module_& m) {
  const SinkhornOptions defaults;
  m.def("sinkhorn", &sinkhorn_py, "x"_a, "y"_a, nb::kw_only(), "weights_x"_a = nb::none(),
        "weights_y"_a = nb::none(), "sigma"_a = defaults.sigma, "gamma"_a = nb::none(),
        "tolerance"_a = defaults.tolerance, "max_iterations"_a = defaults.max_iterations,
        "check_every"_a = defaults.check_every, "algorithm"_a = "automatic", "backend"_a = "auto",
        R"(Entropic optimal transport between point clouds x (n, d) and y (m, d), or batches
(k, n, d) and (k, m, d) (one cloud pairs with k), by Sinkhorn iterations, in the convention of
the Gaussian closed forms (unhalved cost C_ij = ‖x_i − y_j‖², ε = 2σ²):
  balanced (gamma=None):  min_{π ∈ Π(a, b)} ⟨π, C⟩ + ε KL(π ‖ a⊗b)
  unbalanced:             min_{π >= 0} ⟨π, C⟩ + ε KL(π ‖ a⊗b) + γ KL(π1 ‖ a) + γ KL(πᵀ1 ‖ b)
with KL the generalised Kullback–Leibler divergence. weights_x (n,) or (k, n), weights_y (m,) or
(k, m): positive (None: uniform 1/n, 1/m); balanced problems need equal totals. POT equivalents:
ot.solve(M, a, b, reg=ε, reg_type='KL').value (balanced value), ot.sinkhorn2 (transport_cost);
ot.unbalanced.sinkhorn_unbalanced2(a, b, M, ε, γ, returnCost='total') leaves out the mass terms of
its KLs: add ε(Σa Σb − Σπ) + γ(Σa + Σb − 2Σπ) to get the unbalanced value.

Stops a problem when, after a g-update, the x-marginal's relative L1 error ‖π1 − a‖₁/Σa
(balanced), or the largest change one more f-update would make, divided by ε (unbalanced), is at
most tolerance; checked every check_every iterations. algorithm: 'scaling' (matrix-vector products
with a cached kernel, absorbed into the potentials when the scalings leave a bound; Schmitzer
2019; CPU only), 'log_domain' (log-sum-exp over the cost matrix at every half-update: the
reference) or 'automatic' (scaling on the CPU, log_domain on CUDA); both make the same iterates
and agree to rounding, and both are stable at small ε. Returns a dict: 'value' (the objective at the
returned plan), 'transport_cost' (⟨π, C⟩), 'plan_mass' (Σπ), 'f' (..., n) and 'g' (..., m) (the
potentials: π_ij = a_i b_j exp((f_i + g_j − C_ij)/ε)), 'iterations', 'marginal_error' (the
stopping quantity), 'converged' (not converging is reported, not raised), 'absorptions' (kernels formed anew by the
scaling algorithm; 0 for log_domain), 'epsilon'.)" GAUSSOT_DOC_COMMON);
}

}  // namespace gaussot::python
