// SPDX-License-Identifier: Apache-2.0
// Bindings of entropic.hpp: entropic OT between Gaussians in closed form.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"

namespace gaussot::python {
namespace {

using namespace nb::literals;

/// What every entropic binding starts with: the pair of Gaussians (same dimension), the call
/// and the batch of pairs.
struct EntropicCall {
  GaussianPair g;
  Call call;
  Batch batch;
  std::int64_t d, k;
  EntropicCall(nb::handle a_cov, nb::handle b_cov, nb::handle a_mean, nb::handle b_mean,
               const std::string& backend)
      : g(a_cov, b_cov, a_mean, b_mean), call(backend, g.args()) {
    g.check_dimensions(GaussianPair::Dimensions::same);
    batch = g.pairs();
    d = g.a_dimension();
    k = batch.count;
  }
  template <typename T>
  GaussianBatch<const T> a() {
    return call.gaussians<T>(g.a_mean, g.a_cov, k);
  }
  template <typename T>
  GaussianBatch<const T> b() {
    return call.gaussians<T>(g.b_mean, g.b_cov, k);
  }
  std::vector<std::int64_t> shape(std::vector<std::int64_t> item) const {
    return concat(batch.shape(), item);
  }
};

/// The masses of the unbalanced problem on the call's context, each repeated over the k pairs
/// (empty views without gamma, where masses other than 1 are refused naming them).
template <typename T>
class RepeatedMasses {
 public:
  RepeatedMasses(Call& call, std::int64_t k, const std::optional<double>& gamma, double mass_a,
                 double mass_b)
      : storage_(call.ctx(), 2) {
    if (!gamma && (mass_a != 1 || mass_b != 1)) {
      invalid_argument("mass_a, mass_b: masses are for the unbalanced problem (give gamma)",
                       "mass_a");
    }
    const std::vector<T> host = {T(mass_a), T(mass_b)};
    copy<T>(call.ctx(), scalars(host.data(), 2), storage_.vectors(1, 2));
    if (!gamma) return;
    const auto repeated = [&](int side) {
      return VectorBatch<const T>(storage_.vectors(1, 2).data + side, 1, 0, k,
                                  call.ctx().memory_space());
    };
    views_ = {repeated(0), repeated(1)};
  }
  const Masses<T>& views() const { return views_; }

 private:
  Array<T> storage_;
  Masses<T> views_;
};

/// The gradient outputs of a pair function: (a_mean, a_cov, b_mean, b_cov).
template <typename T>
struct PairGradients {
  Output<T> a_mean, a_cov, b_mean, b_cov;
  explicit PairGradients(EntropicCall& e)
      : a_mean(e.call, e.shape({e.d})),
        a_cov(e.call, e.shape({e.d, e.d}), Order::columns),
        b_mean(e.call, e.shape({e.d})),
        b_cov(e.call, e.shape({e.d, e.d}), Order::columns) {}
  GaussianBatch<T> a(std::int64_t d, std::int64_t k) {
    return {a_mean.vectors(d, k), a_cov.matrices(d, d, k)};
  }
  GaussianBatch<T> b(std::int64_t d, std::int64_t k) {
    return {b_mean.vectors(d, k), b_cov.matrices(d, d, k)};
  }
  nb::tuple release() {
    return nb::make_tuple(a_mean.release(), a_cov.release(), b_mean.release(), b_cov.release());
  }
};

EntropicOptions entropic_options(double sigma, const std::optional<double>& gamma) {
  EntropicOptions options;
  options.sigma = sigma;
  options.gamma = gamma;
  return options;
}

nb::object entropic_ot_py(nb::handle a_cov, nb::handle b_cov, double sigma, nb::handle a_mean,
                          nb::handle b_mean, std::optional<double> gamma, double mass_a,
                          double mass_b, bool plan, const std::string& backend) {
  EntropicCall e(a_cov, b_cov, a_mean, b_mean, backend);
  const EntropicOptions options = entropic_options(sigma, gamma);
  const std::int64_t d = e.d, k = e.k, n = 2 * d;
  return with_dtype(e.call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = e.a<T>(), b = e.b<T>();
    const RepeatedMasses<T> masses(e.call, k, gamma, mass_a, mass_b);
    const Masses<T>& mass_views = masses.views();
    Output<T> value(e.call, e.shape({})), mass(e.call, e.shape({}));
    std::optional<Output<T>> transport, mean, cov;
    if (plan) {
      transport.emplace(e.call, e.shape({}));
      mean.emplace(e.call, e.shape({n}));
      cov.emplace(e.call, e.shape({n, n}), Order::columns);
    }
    {
      nb::gil_scoped_release release;
      entropic_ot<T>(e.call.ctx(), a, b,
                     {value.scalars(k), transport ? transport->scalars(k) : VectorBatch<T>(),
                      mass.scalars(k), mean ? mean->vectors(n, k) : VectorBatch<T>(),
                      cov ? cov->matrices(n, n, k) : MatrixBatch<T>()},
                     options, mass_views);
    }
    nb::dict result;
    result["value"] = value.release();
    result["plan_mass"] = mass.release();
    if (plan) {
      result["transport_cost"] = transport->release();
      result["plan_mean"] = mean->release();
      result["plan_cov"] = cov->release();
    }
    return nb::object(result);
  });
}

nb::object entropic_map_py(nb::handle a_cov, nb::handle b_cov, double sigma, nb::handle a_mean,
                           nb::handle b_mean, const std::string& backend) {
  EntropicCall e(a_cov, b_cov, a_mean, b_mean, backend);
  const std::int64_t d = e.d, k = e.k;
  return with_dtype(e.call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = e.a<T>(), b = e.b<T>();
    Output<T> matrix(e.call, e.shape({d, d}), Order::columns), bias(e.call, e.shape({d})),
        conditional(e.call, e.shape({d, d}), Order::columns);
    {
      nb::gil_scoped_release release;
      entropic_map<T>(e.call.ctx(), a, b, sigma, matrix.matrices(d, d, k), bias.vectors(d, k),
                      conditional.matrices(d, d, k));
    }
    return nb::object(nb::make_tuple(matrix.release(), bias.release(), conditional.release()));
  });
}

nb::object entropic_potentials_py(nb::handle a_cov, nb::handle b_cov, double sigma,
                                  nb::handle a_mean, nb::handle b_mean,
                                  const std::string& backend) {
  EntropicCall e(a_cov, b_cov, a_mean, b_mean, backend);
  const std::int64_t d = e.d, k = e.k;
  return with_dtype(e.call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = e.a<T>(), b = e.b<T>();
    Output<T> fq(e.call, e.shape({d, d}), Order::columns), fl(e.call, e.shape({d})),
        fc(e.call, e.shape({})), gq(e.call, e.shape({d, d}), Order::columns),
        gl(e.call, e.shape({d})), gc(e.call, e.shape({}));
    {
      nb::gil_scoped_release release;
      entropic_potentials<T>(e.call.ctx(), a, b, sigma,
                             {fq.matrices(d, d, k), fl.vectors(d, k), fc.scalars(k)},
                             {gq.matrices(d, d, k), gl.vectors(d, k), gc.scalars(k)});
    }
    return nb::object(nb::make_tuple(nb::make_tuple(fq.release(), fl.release(), fc.release()),
                                     nb::make_tuple(gq.release(), gl.release(), gc.release())));
  });
}

nb::object entropic_ot_gradient_py(nb::handle a_cov, nb::handle b_cov, double sigma,
                                   nb::handle a_mean, nb::handle b_mean,
                                   std::optional<double> gamma, double mass_a, double mass_b,
                                   const std::string& backend) {
  EntropicCall e(a_cov, b_cov, a_mean, b_mean, backend);
  const EntropicOptions options = entropic_options(sigma, gamma);
  const std::int64_t d = e.d, k = e.k;
  return with_dtype(e.call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = e.a<T>(), b = e.b<T>();
    const RepeatedMasses<T> masses(e.call, k, gamma, mass_a, mass_b);
    PairGradients<T> grads(e);
    std::optional<Output<T>> mass_a_grad, mass_b_grad;
    if (gamma) {
      mass_a_grad.emplace(e.call, e.shape({}));
      mass_b_grad.emplace(e.call, e.shape({}));
    }
    if (k > 0) {
      nb::gil_scoped_release release;
      entropic_ot_gradient<T>(
          e.call.ctx(), a, b, options,
          {grads.a(d, k), grads.b(d, k), gamma ? mass_a_grad->scalars(k) : VectorBatch<T>(),
           gamma ? mass_b_grad->scalars(k) : VectorBatch<T>()},
          masses.views());
    }
    const nb::tuple four = grads.release();
    if (!gamma) return nb::object(four);
    return nb::object(nb::make_tuple(four[0], four[1], four[2], four[3], mass_a_grad->release(),
                                     mass_b_grad->release()));
  });
}

nb::object sinkhorn_divergence_py(nb::handle a_cov, nb::handle b_cov, double sigma,
                                  nb::handle a_mean, nb::handle b_mean,
                                  const std::string& backend) {
  EntropicCall e(a_cov, b_cov, a_mean, b_mean, backend);
  return with_dtype(e.call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = e.a<T>(), b = e.b<T>();
    Output<T> out(e.call, e.shape({}));
    {
      nb::gil_scoped_release release;
      sinkhorn_divergence<T>(e.call.ctx(), a, b, sigma, out.scalars(e.k));
    }
    return out.release();
  });
}

nb::object sinkhorn_divergence_gradient_py(nb::handle a_cov, nb::handle b_cov, double sigma,
                                           nb::handle a_mean, nb::handle b_mean,
                                           const std::string& backend) {
  EntropicCall e(a_cov, b_cov, a_mean, b_mean, backend);
  const std::int64_t d = e.d, k = e.k;
  return with_dtype(e.call, [&](auto zero) {
    using T = decltype(zero);
    const GaussianBatch<const T> a = e.a<T>(), b = e.b<T>();
    PairGradients<T> grads(e);
    if (k > 0) {
      nb::gil_scoped_release release;
      sinkhorn_divergence_gradient<T>(e.call.ctx(), a, b, sigma, grads.a(d, k), grads.b(d, k));
    }
    return nb::object(grads.release());
  });
}

}  // namespace

void bind_entropic(nb::module_& m) {
  m.def("entropic_ot", &entropic_ot_py, "a_cov"_a, "b_cov"_a, nb::kw_only(), "sigma"_a,
        "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "gamma"_a = nb::none(), "mass_a"_a = 1.0,
        "mass_b"_a = 1.0, "plan"_a = true, "backend"_a = "auto",
        R"(Entropic OT between Gaussians in closed form (Janati et al. 2020), as a dict.

Convention: min over couplings of E‖x − y‖² + 2σ² KL(π ‖ α⊗β), i.e. epsilon = 2σ² with the
unhalved squared cost (POT ot.solve(reg=ε, reg_type='KL').value, OTT-JAX reg_ot_cost: σ = √(ε/2);
a halved cost ½‖x − y‖² with regulariser ε′ gives ½·value with σ² = ε′). With gamma, the
unbalanced problem between mass_a·α and mass_b·β with marginal penalty gamma·KL (OTT-JAX
UnbalancedBures(sigma, gamma)).

Returns {'value', 'plan_mass', and with plan=True 'transport_cost' (E‖x − y‖² under the plan),
'plan_mean' (..., 2d), 'plan_cov' (..., 2d, 2d)}: the optimal plan is plan_mass · N(plan_mean,
plan_cov). Covariances (d, d) or (k, d, d), positive semidefinite (singular is fine), means (d,)
or (k, d) or None; pairs broadcast as in w2_squared.)" GAUSSOT_DOC_COMMON);

  m.def("entropic_map", &entropic_map_py, "a_cov"_a, "b_cov"_a, nb::kw_only(), "sigma"_a,
        "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "backend"_a = "auto",
        R"(Returns (matrix, bias, conditional_cov): the conditional law of y given x under the
optimal balanced entropic plan, y | x ~ N(matrix @ x + bias, conditional_cov), with matrix =
A^-1 C_σ (symmetric PSD, computed without inverting A) and conditional_cov = σ²·matrix. As σ → 0,
matrix tends to the Brenier map.)" GAUSSOT_DOC_COMMON);

  m.def("entropic_ot_gradient", &entropic_ot_gradient_py, "a_cov"_a, "b_cov"_a, nb::kw_only(),
        "sigma"_a, "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "gamma"_a = nb::none(),
        "mass_a"_a = 1.0, "mass_b"_a = 1.0, "backend"_a = "auto",
        R"(Returns (a_mean_grad, a_cov_grad, b_mean_grad, b_cov_grad): the gradient of the entropic
OT value (entropic_ot(...)['value']). Balanced: ±2 (m_a − m_b) for the means, I − K(B, A) and
I − K(A, B) for the covariances (the potentials' quadratic matrices; formulas-entropic.md §4),
symmetric, finite at singular covariances. With gamma (the unbalanced problem between mass_a·α and
mass_b·β): the gradient of γ m_a + γ m_b + 2σ² m_a m_b − 2(σ² + γ) m_π through the stable log plan
mass (entropic.hpp), and the tuple gains (mass_a_grad, mass_b_grad).)" GAUSSOT_DOC_COMMON);

  m.def("sinkhorn_divergence_gradient", &sinkhorn_divergence_gradient_py, "a_cov"_a, "b_cov"_a,
        nb::kw_only(), "sigma"_a, "a_mean"_a = nb::none(), "b_mean"_a = nb::none(),
        "backend"_a = "auto",
        R"(Returns (a_mean_grad, a_cov_grad, b_mean_grad, b_cov_grad): the gradient of
sinkhorn_divergence: ±2 (m_a − m_b) for the means, K(A, A) − K(B, A) and K(B, B) − K(A, B) for the
covariances (OT_σ is symmetric in its measures, so d/dα ½OT_σ(α, α) = ∂₁OT_σ(α, α)); zero at
α = β, finite at singular covariances.)" GAUSSOT_DOC_COMMON);

  m.def("entropic_potentials", &entropic_potentials_py, "a_cov"_a, "b_cov"_a, nb::kw_only(),
        "sigma"_a, "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "backend"_a = "auto",
        R"(Returns ((Qf, lf, cf), (Qg, lg, cg)): the dual potentials of the balanced problem,
f(x) = xᵀ Qf x + lfᵀ x + cf and g likewise, in the convention dπ/d(α⊗β)(x, y) =
exp((f(x) + g(y) − ‖x − y‖²)/2σ²), normalised so that both carry half of the constant; then
E_α f + E_β g equals the value.)" GAUSSOT_DOC_COMMON);

  m.def("sinkhorn_divergence", &sinkhorn_divergence_py, "a_cov"_a, "b_cov"_a, nb::kw_only(),
        "sigma"_a, "a_mean"_a = nb::none(), "b_mean"_a = nb::none(), "backend"_a = "auto",
        R"(The Sinkhorn divergence OT_σ(α, β) − ½ OT_σ(α, α) − ½ OT_σ(β, β) of Gaussians, in
closed form (it tends to W2² as σ → 0).)" GAUSSOT_DOC_COMMON);
}

}  // namespace gaussot::python
