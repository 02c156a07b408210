// SPDX-License-Identifier: Apache-2.0
// Bindings of bures.hpp: the Bures–Wasserstein (W2) geometry of Gaussian measures.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"
#include "stateful.hpp"

namespace gaussot::python {
namespace {

using namespace nb::literals;

nb::object w2_squared_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean, nb::handle b_mean,
                         const std::string& backend) {
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::same,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        Output<T> out(call, batch.shape());
        {
          nb::gil_scoped_release release;
          w2_squared<T>(call.ctx(), a, b, out.scalars(batch.count));
        }
        return out.release();
      });
}

nb::object w2_squared_all_pairs_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean,
                                   nb::handle b_mean, const std::string& backend) {
  GaussianPair g(a_cov, b_cov, a_mean, b_mean);
  Call call(backend, g.args());
  g.check_dimensions(GaussianPair::Dimensions::same);
  const Batch ba = g.a_batch(), bb = g.b_batch();
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = call.gaussians<T>(g.a_mean, g.a_cov, ba.count);
    const GaussianBatch<const T> b = call.gaussians<T>(g.b_mean, g.b_cov, bb.count);
    Output<T> out(call, concat(ba.shape(), bb.shape()), Order::columns);
    {
      nb::gil_scoped_release release;
      w2_squared_all_pairs<T>(call.ctx(), a, b, out.matrices(ba.count, bb.count, 1));
    }
    return out.release();
  });
}

nb::object brenier_map_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean, nb::handle b_mean,
                          const std::string& backend) {
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::same,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        const std::int64_t d = a.dimension(), k = batch.count;
        Output<T> matrix(call, concat(batch.shape(), {d, d}), Order::columns);
        Output<T> bias(call, concat(batch.shape(), {d}));
        {
          nb::gil_scoped_release release;
          brenier_map<T>(call.ctx(), a, b, matrix.matrices(d, d, k), bias.vectors(d, k));
        }
        return nb::object(nb::make_tuple(matrix.release(), bias.release()));
      });
}

nb::object mccann_interpolant_py(nb::handle a_cov, nb::handle b_cov, double t, nb::handle a_mean,
                                 nb::handle b_mean, const std::string& backend) {
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::same,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        const std::int64_t d = a.dimension(), k = batch.count;
        Output<T> mean(call, concat(batch.shape(), {d}));
        Output<T> cov(call, concat(batch.shape(), {d, d}), Order::columns);
        if (k > 0) {  // an empty batch has nothing to compute (and empty outputs read as centered)
          nb::gil_scoped_release release;
          mccann_interpolant<T>(call.ctx(), a, b, t,
                                GaussianBatch<T>(mean.vectors(d, k), cov.matrices(d, d, k)));
        }
        return nb::object(nb::make_tuple(mean.release(), cov.release()));
      });
}

nb::object w2_squared_gradient_py(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean,
                                  nb::handle b_mean, const std::string& sides,
                                  const std::string& backend) {
  if (sides != "both" && sides != "a" && sides != "b") {
    invalid_argument("sides: expected 'both', 'a' or 'b', got '" + sides + "'", "sides");
  }
  const bool with_a = sides != "b", with_b = sides != "a";
  return on_gaussian_pairs(
      a_cov, b_cov, a_mean, b_mean, backend, GaussianPair::Dimensions::same,
      [&](auto zero, Call& call, const auto& a, const auto& b, const Batch& batch) {
        using T = decltype(zero);
        const std::int64_t d = a.dimension(), k = batch.count;
        // One side's (mean, covariance) outputs, or none (None in the result) when not asked.
        struct Side {
          std::optional<Output<T>> mean, cov;
          GaussianBatch<T> view(std::int64_t d, std::int64_t k) {
            if (!mean) return {};
            return {mean->vectors(d, k), cov->matrices(d, d, k)};
          }
          std::pair<nb::object, nb::object> release() {
            if (!mean) return {nb::none(), nb::none()};
            return {mean->release(), cov->release()};
          }
        } side_a, side_b;
        for (auto [side, wanted] : {std::pair{&side_a, with_a}, std::pair{&side_b, with_b}}) {
          if (!wanted) continue;
          side->mean.emplace(call, concat(batch.shape(), {d}));
          side->cov.emplace(call, concat(batch.shape(), {d, d}), Order::columns);
        }
        if (k > 0) {  // an empty batch has nothing to compute (and empty outputs read as centered)
          nb::gil_scoped_release release;
          w2_squared_gradient<T>(call.ctx(), a, b, side_a.view(d, k), side_b.view(d, k));
        }
        const auto [ma, ca] = side_a.release();
        const auto [mb, cb] = side_b.release();
        return nb::object(nb::make_tuple(ma, ca, mb, cb));
      });
}

nb::object w2_barycenter_py(nb::handle covs, nb::handle means, nb::handle weights,
                            std::optional<double> tolerance, std::int64_t max_iterations,
                            bool report, const std::string& backend) {
  Arg cov(covs, "covs", Item::symmetric), mean(means, "means", Item::vector),
      weight(weights, "weights", Item::vector, 0, "k");
  Call call(backend, {&cov, &mean, &weight});
  const Batch batch = broadcast({&cov, &mean});
  const std::int64_t d = cov.extent(0), k = batch.count;
  if (mean.present() && mean.extent(0) != d) {
    invalid_argument("means has length " + std::to_string(mean.extent(0)) + " but covs holds " +
                         std::to_string(d) + " x " + std::to_string(d) + " covariances",
                     "means");
  }
  BarycenterOptions options;
  options.tolerance = tolerance;
  options.max_iterations = int_option(max_iterations, "max_iterations");
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> inputs = call.gaussians<T>(mean, cov, k);
    const VectorBatch<const T> w = call.vector<T>(weight);
    Output<T> out_mean(call, {d});
    Output<T> out_cov(call, {d, d}, Order::columns);
    BarycenterReport r;
    {
      nb::gil_scoped_release release;
      r = w2_barycenter<T>(call.ctx(), inputs, w,
                           GaussianBatch<T>(out_mean.vectors(d, 1), out_cov.matrices(d, d, 1)),
                           options);
    }
    nb::object result = nb::make_tuple(out_mean.release(), out_cov.release());
    if (!report) return result;
    nb::dict details;
    details["iterations"] = r.iterations;
    details["residual"] = r.residual;
    return nb::object(nb::make_tuple(result[0], result[1], details));
  });
}

FrechetMethod frechet_method(const std::string& method) {
  if (method == "auto") return FrechetMethod::automatic;
  if (method == "covariances") return FrechetMethod::covariances;
  if (method == "samples") return FrechetMethod::samples;
  invalid_argument("method: expected 'auto', 'covariances' or 'samples', got '" + method + "'",
                   "method");
}

nb::object frechet_distance_py(nb::handle samples_a, nb::handle samples_b,
                               const std::string& method, const std::string& backend) {
  SamplePair pair(samples_a, samples_b, SamplePair::Shared::features, backend);
  FrechetOptions options;
  options.method = frechet_method(method);
  Call& call = pair.call;
  const Batch& batch = pair.batch;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> a = call.matrices<T>(pair.a, batch.count);
    const MatrixBatch<const T> b = call.matrices<T>(pair.b, batch.count);
    Output<T> out(call, batch.shape());
    {
      nb::gil_scoped_release release;
      frechet_distance<T>(call.ctx(), a, b, out.scalars(batch.count), options);
    }
    return out.release();
  });
}

nb::object frechet_distance_gradient_py(nb::handle samples_a, nb::handle samples_b,
                                        const std::string& method, const std::string& backend) {
  SamplePair pair(samples_a, samples_b, SamplePair::Shared::features, backend);
  FrechetOptions options;
  options.method = frechet_method(method);
  Call& call = pair.call;
  const Batch& batch = pair.batch;
  const std::int64_t d = pair.a.extent(1), n_a = pair.rows_a(), n_b = pair.rows_b(),
                     k = batch.count;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> a = call.matrices<T>(pair.a, k);
    const MatrixBatch<const T> b = call.matrices<T>(pair.b, k);
    Output<T> grad_a(call, concat(batch.shape(), {n_a, d}));
    Output<T> grad_b(call, concat(batch.shape(), {n_b, d}));
    if (k > 0) {
      nb::gil_scoped_release release;
      frechet_distance_gradient<T>(call.ctx(), a, b, grad_a.matrices(d, n_a, k),
                                   grad_b.matrices(d, n_b, k), options);
    }
    return nb::object(nb::make_tuple(grad_a.release(), grad_b.release()));
  });
}

/// gaussot.FrechetDistance's engine (python/gaussot/metrics.py wraps it): the C++ FrechetDistance
/// (fid.hpp) of one dtype on its own context.
class PyFrechetDistance : public Stateful<FrechetDistance> {
 public:
  PyFrechetDistance(std::int64_t dimension, bool float32, const std::string& backend)
      : Stateful(backend, float32, dimension) {}

  void update(nb::handle features, bool real) {
    visit([&](auto& metric) {
      using T = value_type_of<decltype(metric)>;
      Arg x(features, "features", Item::matrix, 0, "m, d");
      Call call(ctx(), {&x});
      require_dtype<T>(call, "features", "metric");
      const MatrixBatch<const T> view = call.matrices<T>(x, 1);
      nb::gil_scoped_release release;
      metric.update(view, real);
    });
  }

  void set_statistics(bool real, nb::handle mean, nb::handle covariance) {
    visit([&](auto& metric) {
      using T = value_type_of<decltype(metric)>;
      Arg m(mean, "mean", Item::vector, 0), s(covariance, "covariance", Item::symmetric, 0);
      Call call(ctx(), {&m, &s});
      require_dtype<T>(call, "mean", "metric");
      metric.set_statistics(real, call.vector<T>(m), call.matrices<T>(s, 1));
    });
  }

  double compute() const {
    double value = 0;
    visit([&](auto& metric) {
      nb::gil_scoped_release release;
      value = metric.compute();
    });
    return value;
  }

  /// (mean (d,), covariance (d, d)) of one side, host NumPy arrays.
  nb::object statistics(bool real) const {
    nb::object out;
    visit([&](auto& metric) {
      using T = value_type_of<decltype(metric)>;
      const std::int64_t d = metric.dimension();
      std::vector<T> mean(d), covariance(d * d);
      metric.statistics(real, vectors(mean.data(), d, 1), matrices(covariance.data(), d, d, 1));
      out = nb::make_tuple(host_array(std::move(mean), {d}),
                           host_array(std::move(covariance), {d, d}, Order::columns));
    });
    return out;
  }

  /// (samples, mean (d,), scatter (d, d)) of one side's running moments, host NumPy arrays.
  nb::object state(bool real) const {
    nb::object out;
    visit([&](auto& metric) {
      using T = value_type_of<decltype(metric)>;
      const std::int64_t d = metric.dimension();
      std::vector<T> mean(d), scatter(d * d);
      metric.moments(real).state(vectors(mean.data(), d, 1), matrices(scatter.data(), d, d, 1));
      out = nb::make_tuple(metric.moments(real).samples(), host_array(std::move(mean), {d}),
                           host_array(std::move(scatter), {d, d}, Order::columns));
    });
    return out;
  }

  void restore(bool real, std::int64_t samples, nb::handle mean, nb::handle scatter) {
    visit([&](auto& metric) {
      using T = value_type_of<decltype(metric)>;
      Arg m(mean, "mean", Item::vector, 0), s(scatter, "scatter", Item::matrix, 0);
      Call call(ctx(), {&m, &s});
      require_dtype<T>(call, "mean", "metric");
      metric.moments(real).restore(samples, call.vector<T>(m), call.matrices<T>(s, 1));
    });
  }

  void merge(const PyFrechetDistance& other) {
    visit([&](auto& metric) {
      auto& theirs = same_kind<value_type_of<decltype(metric)>>(other);
      nb::gil_scoped_release release;
      metric.merge(theirs);
    });
  }

  void reset(bool real) {
    visit([&](auto& metric) { metric.reset(real); });
  }
  std::int64_t samples(bool real) const {
    std::int64_t n = 0;
    visit([&](auto& metric) { n = metric.moments(real).samples(); });
    return n;
  }
  bool fixed(bool real) const {
    bool is_fixed = false;
    visit([&](auto& metric) { is_fixed = metric.fixed(real); });
    return is_fixed;
  }
};

}  // namespace

void bind_bures(nb::module_& m) {
  m.def("w2_squared", &w2_squared_py, "a_cov"_a, "b_cov"_a, nb::kw_only(), "a_mean"_a = nb::none(),
        "b_mean"_a = nb::none(), "backend"_a = "auto",
        R"(Squared 2-Wasserstein distance W2² between Gaussians a = N(a_mean, a_cov) and b =
N(b_mean, b_cov): ‖m_a − m_b‖² + tr S_a + tr S_b − 2 tr (S_a^½ S_b S_a^½)^½ (clamped at 0).

Covariances (d, d) or (k, d, d), means (d,) or (k, d) or None (zero means). Pairs broadcast:
k against k gives k values, one Gaussian against k gives k values (one-versus-many); two single
Gaussians give a scalar. Covariances must be finite, symmetric and positive semidefinite
(singular is fine).)" GAUSSOT_DOC_COMMON);

  m.def("w2_squared_all_pairs", &w2_squared_all_pairs_py, "a_cov"_a, "b_cov"_a, nb::kw_only(),
        "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "backend"_a = "auto",
        R"(W2² between every a_i and every b_j: an array of shape (k_a, k_b) (an unbatched side
drops its axis). Each a_i is decomposed once.)" GAUSSOT_DOC_COMMON);

  m.def("brenier_map", &brenier_map_py, "a_cov"_a, "b_cov"_a, nb::kw_only(),
        "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "backend"_a = "auto",
        R"(Returns (matrix, bias): the optimal transport (Brenier) map from a to b, T(x) = matrix @
x + bias with matrix = S_a^-½ (S_a^½ S_b S_a^½)^½ S_a^-½ (symmetric PSD, matrix S_a matrix = S_b)
and bias = m_b − matrix m_a. Shapes (..., d, d) and (..., d); a's covariances must be positive
definite.)" GAUSSOT_DOC_COMMON);

  m.def("mccann_interpolant", &mccann_interpolant_py, "a_cov"_a, "b_cov"_a, "t"_a, nb::kw_only(),
        "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "backend"_a = "auto",
        R"(Returns (mean, cov): the point at t in [0, 1] of the W2 geodesic from a (t = 0) to b (t =
1): N((1−t) m_a + t m_b, B_t S_a B_t) with B_t = (1−t) I + t A, A the Brenier matrix. a's
covariances must be positive definite.)" GAUSSOT_DOC_COMMON);

  m.def("w2_squared_gradient", &w2_squared_gradient_py, "a_cov"_a, "b_cov"_a, nb::kw_only(),
        "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "sides"_a = "both", "backend"_a = "auto",
        R"(Returns (a_mean_grad, a_cov_grad, b_mean_grad, b_cov_grad), the gradient of W2²(a, b): 2
(m_a − m_b) and I − A for side a (A the Brenier matrix from a to b), −2 (m_a − m_b) and I − A' for
side b. The covariance gradients are symmetric (for symmetric perturbations). sides='a' or 'b'
computes one side (the other's two entries are None). Side a needs a_cov positive definite (b_cov
may be singular), side b needs b_cov: at a singular covariance W2² has no derivative in it.)" GAUSSOT_DOC_COMMON);

  m.def("w2_barycenter", &w2_barycenter_py, "covs"_a, nb::kw_only(), "means"_a = nb::none(),
        "weights"_a = nb::none(), "tolerance"_a = nb::none(), "max_iterations"_a = 1000,
        "report"_a = false, "backend"_a = "auto",
        R"(Returns (mean, cov), or (mean, cov, report): the weighted W2 barycenter of k Gaussians
(covs (k, d, d), means (k, d) or None): mean Σ ρ_i m_i and the covariance B = Σ ρ_i (B^½ S_i B^½)^½,
by the fixed point of Álvarez-Esteban et al. started at Σ ρ_i S_i (which must be positive definite).
weights: k non-negative numbers with a positive sum (normalised), None for uniform. tolerance: on
the fixed-point residual (None: 1e-12 in float64, 1e-5 in float32). report=True adds {'iterations',
'residual'}. Raises ConvergenceError when max_iterations are not enough.)" GAUSSOT_DOC_COMMON);

  m.def("frechet_distance", &frechet_distance_py, "samples_a"_a, "samples_b"_a, nb::kw_only(),
        "method"_a = "auto", "backend"_a = "auto",
        R"(The Fréchet distance of sample sets (the FID computation): W2² between the Gaussians
fitted to samples_a and samples_b (sample mean, covariance with divisor n − 1). Samples (n, d) or
(k, n, d), rows are samples, n >= 2; the two sides may have different n. method: 'covariances' (fit
both Gaussians), 'samples' (the trace term from the centred samples, cheaper when n < d) or
'auto'.)" GAUSSOT_DOC_COMMON);
  m.def("frechet_distance_gradient", &frechet_distance_gradient_py, "samples_a"_a, "samples_b"_a,
        nb::kw_only(), "method"_a = "auto", "backend"_a = "auto",
        R"(Returns (grad_a, grad_b): the gradient of frechet_distance(samples_a, samples_b) with
respect to each sample set, shaped like the samples ((n, d), or (k, n, d) for the k pairs of a
batch). method as in frechet_distance ('auto' takes the samples path when min(n_a, n_b) < d).
Covariance path: 2 (μ_a − μ_b)/n_a + 2 (I − A) X̃_j/(n_a − 1) per sample row (A the Brenier matrix;
both fitted covariances must be positive definite). Samples path: the polar factor U Vᵀ of the
centred cross product X̃ᵀỸ; where its rank is below min(n_a, n_b) − 1 the least-norm subgradient
(bures.hpp).)" GAUSSOT_DOC_COMMON);

  nb::class_<PyFrechetDistance>(m, "_FrechetDistance")
      .def(nb::init<std::int64_t, bool, const std::string&>(), "dimension"_a, "float32"_a,
           "backend"_a)
      .def("update", &PyFrechetDistance::update, "features"_a, "real"_a)
      .def("set_statistics", &PyFrechetDistance::set_statistics, "real"_a, "mean"_a, "covariance"_a)
      .def("compute", &PyFrechetDistance::compute)
      .def("statistics", &PyFrechetDistance::statistics, "real"_a)
      .def("state", &PyFrechetDistance::state, "real"_a)
      .def("restore", &PyFrechetDistance::restore, "real"_a, "samples"_a, "mean"_a, "scatter"_a)
      .def("merge", &PyFrechetDistance::merge, "other"_a)
      .def("reset", &PyFrechetDistance::reset, "real"_a)
      .def("samples", &PyFrechetDistance::samples, "real"_a)
      .def("fixed", &PyFrechetDistance::fixed, "real"_a);
}

}  // namespace gaussot::python
