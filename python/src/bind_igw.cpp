// SPDX-License-Identifier: Apache-2.0
// Bindings of igw.hpp: inner-product Gromov–Wasserstein between Gaussians of any dimensions.
#include <nanobind/stl/string.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"

namespace gaussot::python {

IgwOptions igw_options(bool ascent, std::int64_t max_iterations, double tolerance,
                       std::int64_t restarts, std::uint64_t seed, nb::handle signs) {
  IgwOptions options;
  options.ascent = ascent;
  options.max_iterations = int_option(max_iterations, "max_iterations");
  options.tolerance = tolerance;
  options.restarts = int_option(restarts, "restarts");
  options.seed = seed;
  if (!signs.is_none()) {
    for (nb::handle s : sequence_items(signs, "signs", "None or a sequence of 1 and -1")) {
      int value = 0;
      if (!nb::try_cast(s, value) || (value != 1 && value != -1)) {
        invalid_argument(
            "signs: expected a sequence of 1 and -1, got " + nb::cast<std::string>(nb::repr(signs)),
            "signs");
      }
      options.signs.push_back(value);
    }
  }
  return options;
}

namespace {

using namespace nb::literals;

/// The per-pair reports as host arrays of `shape` ('exact', 'iterations', 'gradient_norm',
/// 'subspace'). Pairs without a report (the library skips trivial dimension-0 pairs) are exact.
nb::dict report_dict(const std::vector<IgwReport>& reports, std::int64_t count,
                     const std::vector<std::int64_t>& shape, Order order) {
  std::vector<std::uint8_t> exact(count, 1);
  std::vector<std::int64_t> iterations(count, 0), subspace(count, 0);
  std::vector<double> gradient_norm(count, 0.0);
  for (std::int64_t i = 0; i < std::min<std::int64_t>(count, std::int64_t(reports.size())); ++i) {
    exact[i] = reports[i].exact;
    iterations[i] = reports[i].iterations;
    gradient_norm[i] = reports[i].gradient_norm;
    subspace[i] = reports[i].subspace;
  }
  nb::dict d;
  d["exact"] = host_array(std::move(exact), shape, order, /*as_bool=*/true);
  d["iterations"] = host_array(std::move(iterations), shape, order);
  d["gradient_norm"] = host_array(std::move(gradient_norm), shape, order);
  d["subspace"] = host_array(std::move(subspace), shape, order);
  return d;
}

nb::object igw_squared_gradient_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean,
                                   nb::handle b_mean, bool ascent, std::int64_t max_iterations,
                                   double tolerance, std::int64_t restarts, std::uint64_t seed,
                                   nb::handle signs, const std::string& backend) {
  const IgwOptions options = igw_options(ascent, max_iterations, tolerance, restarts, seed, signs);
  const bool with_means = !a_mean.is_none() || !b_mean.is_none();
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::any,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        const std::int64_t k = batch.count, d_a = a.dimension(), d_b = b.dimension();
        Output<T> grad_a(call, concat(batch.shape(), {d_a, d_a}), Order::columns);
        Output<T> grad_b(call, concat(batch.shape(), {d_b, d_b}), Order::columns);
        if (!with_means) {
          if (k > 0) {
            nb::gil_scoped_release release;
            igw_squared_gradient<T>(call.ctx(), a, b, grad_a.matrices(d_a, d_a, k),
                                    grad_b.matrices(d_b, d_b, k), options.spectral);
          }
          return nb::object(nb::make_tuple(grad_a.release(), grad_b.release()));
        }
        // A side without a mean is centered (zero mean) here.
        Output<T> mean_a(call, concat(batch.shape(), {d_a})),
            mean_b(call, concat(batch.shape(), {d_b}));
        if (k > 0) {
          const std::int64_t d = std::max(d_a, d_b);
          const std::vector<T> host_zeros(static_cast<std::size_t>(d), T(0));
          Array<T> zeros(call.ctx(), d);
          copy<T>(call.ctx(), vectors<const T>(host_zeros.data(), d, 1), zeros.vectors(d, 1));
          const auto with_mean = [&](GaussianBatch<const T> g, std::int64_t d) {
            if (g.centered()) {
              g.means = VectorBatch<const T>(zeros.vectors(d, 1).data, d, 0, k,
                                             call.ctx().memory_space());
            }
            return g;
          };
          nb::gil_scoped_release release;
          igw_squared_gradient<T>(call.ctx(), with_mean(a, d_a), with_mean(b, d_b),
                                  {mean_a.vectors(d_a, k), grad_a.matrices(d_a, d_a, k)},
                                  {mean_b.vectors(d_b, k), grad_b.matrices(d_b, d_b, k)}, options);
        }
        return nb::object(
            nb::make_tuple(mean_a.release(), grad_a.release(), mean_b.release(), grad_b.release()));
      });
}

nb::object igw_squared_samples_gradient_py(nb::handle samples_a, nb::handle samples_b,
                                           const std::string& backend) {
  SamplePair pair(samples_a, samples_b, SamplePair::Shared::nothing, backend);
  Call& call = pair.call;
  const Batch& batch = pair.batch;
  const std::int64_t k = batch.count, n_a = pair.rows_a(), n_b = pair.rows_b(),
                     d_a = pair.a.extent(1), d_b = pair.b.extent(1);
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> a = call.matrices<T>(pair.a, k), b = call.matrices<T>(pair.b, k);
    Output<T> grad_a(call, concat(batch.shape(), {n_a, d_a}));
    Output<T> grad_b(call, concat(batch.shape(), {n_b, d_b}));
    if (k > 0) {
      nb::gil_scoped_release release;
      igw_squared_samples_gradient<T>(call.ctx(), a, b, grad_a.matrices(d_a, n_a, k),
                                      grad_b.matrices(d_b, n_b, k));
    }
    return nb::object(nb::make_tuple(grad_a.release(), grad_b.release()));
  });
}

/// `result`, or (result, details) when the caller asked for the report.
nb::object with_report(nb::object result, bool report, nb::dict details) {
  if (!report) return result;
  return nb::make_tuple(result, details);
}

nb::object igw_squared_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean, nb::handle b_mean,
                          bool report, bool ascent, std::int64_t max_iterations, double tolerance,
                          std::int64_t restarts, std::uint64_t seed, nb::handle signs,
                          const std::string& backend) {
  const IgwOptions options = igw_options(ascent, max_iterations, tolerance, restarts, seed, signs);
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::any,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        const std::int64_t k = batch.count;
        Output<T> squared(call, batch.shape());
        std::optional<Output<T>> lower, upper;
        if (report) {
          lower.emplace(call, batch.shape());
          upper.emplace(call, batch.shape());
        }
        std::vector<IgwReport> reports;
        {
          nb::gil_scoped_release release;
          IgwValues<T> out{squared.scalars(k), lower ? lower->scalars(k) : VectorBatch<T>(),
                           upper ? upper->scalars(k) : VectorBatch<T>()};
          reports = igw_squared<T>(call.ctx(), a, b, out, options);
        }
        nb::object values = squared.release();
        if (!report) return values;
        nb::dict details = report_dict(reports, k, batch.shape(), Order::c);
        details["lower"] = lower->release();
        details["upper"] = upper->release();
        return with_report(values, true, details);
      });
}

nb::object igw_squared_all_pairs_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean,
                                    nb::handle b_mean, bool report, bool ascent,
                                    std::int64_t max_iterations, double tolerance,
                                    std::int64_t restarts, std::uint64_t seed, nb::handle signs,
                                    const std::string& backend) {
  GaussianPair g(a_cov, b_cov, a_mean, b_mean);
  const IgwOptions options = igw_options(ascent, max_iterations, tolerance, restarts, seed, signs);
  Call call(backend, g.args());
  g.check_dimensions(GaussianPair::Dimensions::any);
  const Batch ba = g.a_batch(), bb = g.b_batch();
  const std::vector<std::int64_t> shape = concat(ba.shape(), bb.shape());
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = call.gaussians<T>(g.a_mean, g.a_cov, ba.count);
    const GaussianBatch<const T> b = call.gaussians<T>(g.b_mean, g.b_cov, bb.count);
    Output<T> squared(call, shape, Order::columns);
    std::optional<Output<T>> lower, upper;
    if (report) {
      lower.emplace(call, shape, Order::columns);
      upper.emplace(call, shape, Order::columns);
    }
    std::vector<IgwReport> reports;
    {
      nb::gil_scoped_release release;
      IgwMatrices<T> out{squared.matrices(ba.count, bb.count, 1),
                         lower ? lower->matrices(ba.count, bb.count, 1) : MatrixBatch<T>(),
                         upper ? upper->matrices(ba.count, bb.count, 1) : MatrixBatch<T>()};
      reports = igw_squared_all_pairs<T>(call.ctx(), a, b, out, options);
    }
    nb::object values = squared.release();
    if (!report) return values;
    nb::dict details = report_dict(reports, ba.count * bb.count, shape, Order::columns);
    details["lower"] = lower->release();
    details["upper"] = upper->release();
    return with_report(values, true, details);
  });
}

nb::object igw_plan_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean, nb::handle b_mean,
                       bool report, bool ascent, std::int64_t max_iterations, double tolerance,
                       std::int64_t restarts, std::uint64_t seed, nb::handle signs,
                       const std::string& backend) {
  const IgwOptions options = igw_options(ascent, max_iterations, tolerance, restarts, seed, signs);
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::any,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        const std::int64_t k = batch.count, da = a.dimension(), db = b.dimension();
        Output<T> plan(call, concat(batch.shape(), {da, db}), Order::columns);
        std::vector<IgwReport> reports;
        {
          nb::gil_scoped_release release;
          reports = igw_plan<T>(call.ctx(), a, b, plan.matrices(da, db, k), options);
        }
        return with_report(plan.release(), report,
                           report_dict(reports, k, batch.shape(), Order::c));
      });
}

nb::object igw_map_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean, nb::handle b_mean,
                      bool report, bool ascent, std::int64_t max_iterations, double tolerance,
                      std::int64_t restarts, std::uint64_t seed, nb::handle signs,
                      const std::string& backend) {
  const IgwOptions options = igw_options(ascent, max_iterations, tolerance, restarts, seed, signs);
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::a_at_least_b,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        const std::int64_t k = batch.count, da = a.dimension(), db = b.dimension();
        Output<T> matrix(call, concat(batch.shape(), {db, da}), Order::columns);
        Output<T> bias(call, concat(batch.shape(), {db}));
        std::vector<IgwReport> reports;
        {
          nb::gil_scoped_release release;
          reports = igw_map<T>(call.ctx(), a, b, matrix.matrices(db, da, k), bias.vectors(db, k),
                               options);
        }
        nb::object result = nb::make_tuple(matrix.release(), bias.release());
        return with_report(result, report, report_dict(reports, k, batch.shape(), Order::c));
      });
}

nb::object igw_barycenter_py(nb::handle covs, nb::handle weights, const std::string& backend) {
  // A list or tuple holds one array per dimension group; anything else is one array.
  std::vector<Arg> args;
  if (nb::isinstance<nb::list>(covs) || nb::isinstance<nb::tuple>(covs)) {
    std::size_t i = 0;
    for (nb::handle c : covs) {
      args.emplace_back(c, "covs[" + std::to_string(i++) + "]", Item::symmetric);
    }
  } else {
    args.emplace_back(covs, "covs", Item::symmetric);
  }
  if (args.empty()) invalid_argument("covs: expected at least one covariance", "covs");
  Arg weight(weights, "weights", Item::vector, 0, "k");
  std::vector<Arg*> all{&weight};
  for (Arg& a : args) all.push_back(&a);
  Call call(backend, all);
  std::int64_t depth = 0;
  for (const Arg& a : args) {
    if (!a.present()) invalid_argument(a.name() + ": expected an array, got None", a.name());
    depth = std::max(depth, a.extent(0));
  }
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    std::vector<MatrixBatch<const T>> inputs;
    for (const Arg& a : args) inputs.push_back(call.matrices<T>(a, a.count()));
    const VectorBatch<const T> w = call.vector<T>(weight);
    Output<T> eigenvalues(call, {depth});
    Output<T> cov(call, {depth, depth}, Order::columns);
    double value = 0;
    {
      nb::gil_scoped_release release;
      value = igw_barycenter<T>(call.ctx(), inputs, w, eigenvalues.vectors(depth, 1),
                                cov.matrices(depth, depth, 1));
    }
    return nb::object(nb::make_tuple(eigenvalues.release(), cov.release(), value));
  });
}

/// Defines one of the two-sided IGW functions with its keyword arguments.
template <typename F>
void def_two_sided(nb::module_& m, const char* name, F f, const char* doc) {
  m.def(name, f, "a_cov"_a, "b_cov"_a, nb::kw_only(), "a_mean"_a = nb::none(),
        "b_mean"_a = nb::none(), "report"_a = false, "ascent"_a = true,
        "max_iterations"_a = IgwOptions().max_iterations, "tolerance"_a = IgwOptions().tolerance,
        "restarts"_a = 0, "seed"_a = 0, "signs"_a = nb::none(), "backend"_a = "auto", doc);
}

}  // namespace

void bind_igw(nb::module_& m) {
  def_two_sided(m, "igw_squared", &igw_squared_py,
                R"(IGW² between a = N(a_mean, a_cov) in R^d_a and b = N(b_mean, b_cov) in R^d_b (d_a
and d_b may differ): the infimum over couplings of E[(⟨X, X'⟩ − ⟨Y, Y'⟩)²], no ½ factor
(Dandapanthula et al. 2025); the IGW distance is its square root. Exact (closed form: sorted
spectra, zero-padded) when a side is centered; otherwise the best feasible value of the ascent, an
upper bound. Shapes and broadcasting as w2_squared. report=True returns (values, report) with report
arrays 'lower' and 'upper' (analytic bounds on IGW²), 'exact', 'iterations', 'gradient_norm',
'subspace'.)" GAUSSOT_DOC_ASCENT GAUSSOT_DOC_COMMON);

  m.def(
      "igw_squared_gradient", &igw_squared_gradient_py, "a_cov"_a, "b_cov"_a, nb::kw_only(),
      "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "ascent"_a = true,
      "max_iterations"_a = IgwOptions().max_iterations, "tolerance"_a = IgwOptions().tolerance,
      "restarts"_a = 0, "seed"_a = 0, "signs"_a = nb::none(), "backend"_a = "auto",
      R"(Without means, returns (grad_a, grad_b): the gradient of the centered IGW² (the closed form
Σ (α_i − β_i)² of the sorted, zero-padded spectra) with respect to a_cov (d_a, d_a) and b_cov
(d_b, d_b), any dimensions, batches as igw_squared: 2 Q_a diag(α − β̃) Q_aᵀ and likewise, symmetric.
Exact where each covariance's eigenvalues are simple; at a repeated eigenvalue whose paired values
differ, one element of the generalized gradient (igw.hpp).

With a_mean and/or b_mean (a missing one is zero), returns (a_mean_grad, a_cov_grad, b_mean_grad,
b_cov_grad): the gradient of the value igw_squared returns with the same ascent keywords, by the
envelope theorem at its coupling (igw.hpp gives the formulas); as exact as the ascent converged
(raise max_iterations, lower tolerance for a tighter gradient). Uncentered pairs need both
covariances positive definite.)" GAUSSOT_DOC_COMMON);

  m.def(
      "igw_squared_samples_gradient", &igw_squared_samples_gradient_py, "samples_a"_a,
      "samples_b"_a, nb::kw_only(), "backend"_a = "auto",
      R"(Returns (grad_a, grad_b): the gradient of the centered IGW² between the Gaussians fitted to
samples_a (n_a, d_a) and samples_b (n_b, d_b) (or batches; rows are samples, any widths and sizes,
n >= 2; covariances with divisor n − 1 as sample_moments; the means do not enter the centered value)
with respect to the samples: 2 X̃ G/(n − 1) per set, G the covariance gradient of
igw_squared_gradient.)" GAUSSOT_DOC_COMMON);

  def_two_sided(
      m, "igw_squared_all_pairs", &igw_squared_all_pairs_py,
      R"(IGW² of every pair (a_i, b_j): shape (k_a, k_b) (an unbatched side drops its axis). Each
Gaussian is decomposed once. Keywords and report as igw_squared.)" GAUSSOT_DOC_ASCENT
          GAUSSOT_DOC_COMMON);

  def_two_sided(
      m, "igw_plan", &igw_plan_py,
      R"(Returns the cross-covariance K = Cov(X, Y), shape (..., d_a, d_b), of the optimal Gaussian
coupling found by igw_squared: the coupling is N((m_a, m_b), [[S_a, K], [Kᵀ, S_b]]). report=True
returns (K, report) with 'exact', 'iterations', 'gradient_norm', 'subspace'.)" GAUSSOT_DOC_ASCENT
          GAUSSOT_DOC_COMMON);

  def_two_sided(
      m, "igw_map", &igw_map_py,
      R"(Returns (matrix, bias), or (matrix, bias, report): the IGW map from a (dimension d_a) to b
(d_b <= d_a): T(x) = matrix @ x + bias, matrix of shape (..., d_b, d_a) = Kᵀ S_a⁻¹, bias = m_b −
matrix m_a; it pushes a onto b and induces igw_plan's coupling. a's covariances must be positive
definite.)" GAUSSOT_DOC_ASCENT GAUSSOT_DOC_COMMON);

  m.def("igw_barycenter", &igw_barycenter_py, "covs"_a, "weights"_a = nb::none(), nb::kw_only(),
        "backend"_a = "auto",
        R"(Returns (eigenvalues, cov, value): the weighted IGW barycenter of centered Gaussians N(0,
S_i) of possibly different dimensions: N(0, diag(λ̄)) in dimension D = max d_i, λ̄ the weighted mean
of the zero-padded decreasing spectra. covs: one array (d, d) or (k, d, d), or a list of such arrays
(one per dimension); the inputs are their items in order. weights: one per input (non-negative,
positive sum, normalised), None for uniform. Returns λ̄ (D,), diag(λ̄) (D, D) and the minimum Σ_i
w_i ‖λ_i − λ̄‖².)" GAUSSOT_DOC_COMMON);

  m.def("igw_squared_univariate", &igw_squared_univariate, "u"_a, "a"_a, "v"_a, "b"_a,
        R"(IGW² between N(u, a²) and N(v, b²) on the line (a, b >= 0 standard deviations):
(a² − b²)² + (u² − v²)² + 2 (a|u| − b|v|)².)");
}

}  // namespace gaussot::python
