// SPDX-License-Identifier: Apache-2.0
// Bindings of cka.hpp (linear CKA) and compare.hpp (all-against-all comparison of
// representations with IGW, BW and CKA).
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"
#include "stateful.hpp"

namespace gaussot::python {
namespace {

using namespace nb::literals;

nb::object linear_cka_py(nb::handle samples_a, nb::handle samples_b, bool debiased,
                         const std::string& backend) {
  SamplePair pair(samples_a, samples_b, SamplePair::Shared::samples, backend);
  Call& call = pair.call;
  const Batch& batch = pair.batch;
  const Arg &xa = pair.a, &xb = pair.b;
  const std::int64_t k = batch.count;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> a = call.matrices<T>(xa, k);
    const MatrixBatch<const T> b = call.matrices<T>(xb, k);
    Output<T> cka(call, batch.shape());
    std::optional<Output<T>> unbiased;
    if (debiased) unbiased.emplace(call, batch.shape());
    {
      nb::gil_scoped_release release;
      linear_cka<T>(call.ctx(), a, b, cka.scalars(k),
                    unbiased ? unbiased->scalars(k) : VectorBatch<T>());
    }
    if (!debiased) return cka.release();
    return nb::object(nb::make_tuple(cka.release(), unbiased->release()));
  });
}

nb::object linear_cka_gradient_py(nb::handle samples_a, nb::handle samples_b, bool debiased,
                                  const std::string& backend) {
  SamplePair pair(samples_a, samples_b, SamplePair::Shared::samples, backend);
  Call& call = pair.call;
  const Batch& batch = pair.batch;
  const Arg &xa = pair.a, &xb = pair.b;
  const std::int64_t k = batch.count, n = xa.extent(0), d_a = xa.extent(1), d_b = xb.extent(1);
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> a = call.matrices<T>(xa, k), b = call.matrices<T>(xb, k);
    Output<T> grad_a(call, concat(batch.shape(), {n, d_a}));
    Output<T> grad_b(call, concat(batch.shape(), {n, d_b}));
    if (k > 0) {
      nb::gil_scoped_release release;
      linear_cka_gradient<T>(call.ctx(), a, b, grad_a.matrices(d_a, n, k),
                             grad_b.matrices(d_b, n, k), debiased);
    }
    return nb::object(nb::make_tuple(grad_a.release(), grad_b.release()));
  });
}

ShapeMetric shape_metric_named(const std::string& metric) {
  if (metric == "nbs") return ShapeMetric::nbs;
  if (metric == "procrustes") return ShapeMetric::procrustes;
  invalid_argument("metric: expected 'nbs' or 'procrustes', got '" + metric + "'", "metric");
}

nb::object shape_metric_py(nb::handle samples_a, nb::handle samples_b, const std::string& metric,
                           const std::string& backend) {
  const ShapeMetric which = shape_metric_named(metric);
  SamplePair pair(samples_a, samples_b, SamplePair::Shared::samples, backend);
  Call& call = pair.call;
  const std::int64_t k = pair.batch.count;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> a = call.matrices<T>(pair.a, k), b = call.matrices<T>(pair.b, k);
    Output<T> out(call, pair.batch.shape());
    {
      nb::gil_scoped_release release;
      shape_metric<T>(call.ctx(), a, b, which, out.scalars(k));
    }
    return out.release();
  });
}

nb::object shape_metric_gradient_py(nb::handle samples_a, nb::handle samples_b,
                                    const std::string& metric, const std::string& backend) {
  const ShapeMetric which = shape_metric_named(metric);
  SamplePair pair(samples_a, samples_b, SamplePair::Shared::samples, backend);
  Call& call = pair.call;
  const Batch& batch = pair.batch;
  const std::int64_t k = batch.count, n = pair.a.extent(0), d_a = pair.a.extent(1),
                     d_b = pair.b.extent(1);
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> a = call.matrices<T>(pair.a, k), b = call.matrices<T>(pair.b, k);
    Output<T> grad_a(call, concat(batch.shape(), {n, d_a}));
    Output<T> grad_b(call, concat(batch.shape(), {n, d_b}));
    if (k > 0) {
      nb::gil_scoped_release release;
      shape_metric_gradient<T>(call.ctx(), a, b, which, grad_a.matrices(d_a, n, k),
                               grad_b.matrices(d_b, n, k));
    }
    return nb::object(nb::make_tuple(grad_a.release(), grad_b.release()));
  });
}

/// CompareOptions from the keyword arguments compare_representations and
/// ComparisonAccumulator.compute share.
CompareOptions compare_options(bool igw, bool bw, bool cka, bool cka_debiased, bool nbs,
                               bool procrustes, bool centered, bool ascent,
                               std::int64_t max_iterations, double tolerance, std::int64_t restarts,
                               std::uint64_t seed) {
  CompareOptions options;
  options.igw = igw;
  options.bw = bw;
  options.cka = cka;
  options.cka_debiased = cka_debiased;
  options.nbs = nbs;
  options.procrustes = procrustes;
  options.centered = centered;
  options.igw_options = igw_options(ascent, max_iterations, tolerance, restarts, seed, nb::none());
  return options;
}

/// The dict compare_representations returns: names, dimensions, samples, set_reads and the k x k
/// matrices asked for.
nb::object comparison_dict(Comparison& c) {
  const auto k = static_cast<std::int64_t>(c.names.size());
  nb::dict out;
  nb::list out_names;
  for (const std::string& name : c.names) out_names.append(name);
  out["names"] = out_names;
  nb::list dimensions;
  for (std::int64_t d : c.dimensions) dimensions.append(d);
  out["dimensions"] = dimensions;
  out["samples"] = c.samples;
  out["set_reads"] = c.set_reads;
  auto matrix = [&](const char* key, std::vector<double>& values) {
    if (!values.empty()) out[key] = host_array(std::move(values), {k, k});
  };
  matrix("igw", c.igw);
  matrix("igw_lower", c.igw_lower);
  matrix("igw_upper", c.igw_upper);
  matrix("bw", c.bw);
  matrix("cka", c.cka);
  matrix("cka_debiased", c.cka_debiased);
  matrix("nbs", c.nbs);
  matrix("procrustes", c.procrustes);
  if (!c.igw_exact.empty()) {
    out["igw_exact"] = host_array(std::vector<std::uint8_t>(c.igw_exact.begin(), c.igw_exact.end()),
                                  {k, k}, Order::c, /*as_bool=*/true);
  }
  return nb::object(out);
}

nb::object compare_representations_py(nb::handle activations, nb::handle names, bool igw, bool bw,
                                      bool cka, bool cka_debiased, bool nbs, bool procrustes,
                                      bool centered, std::int64_t memory_limit_bytes, bool ascent,
                                      std::int64_t max_iterations, double tolerance,
                                      std::int64_t restarts, std::uint64_t seed,
                                      nb::handle progress, const std::string& backend) {
  if (!nb::isinstance<nb::list>(activations) && !nb::isinstance<nb::tuple>(activations)) {
    invalid_argument("activations: expected a list of (n, d_i) arrays", "activations");
  }
  std::vector<Arg> args;
  for (nb::handle x : activations) {
    args.emplace_back(x, "activations[" + std::to_string(args.size()) + "]", Item::matrix, 0,
                      "n, d_i");
  }
  std::vector<std::string> labels;
  if (nb::isinstance<nb::str>(names)) {
    invalid_argument("names: expected None or a sequence of labels, got the string " +
                         nb::cast<std::string>(nb::repr(names)),
                     "names");
  }
  if (!names.is_none()) {
    for (const nb::object& name : sequence_items(names, "names", "None or a sequence of labels")) {
      labels.push_back(nb::cast<std::string>(nb::str(name)));
    }
    if (labels.size() != args.size()) {
      invalid_argument("names: " + std::to_string(labels.size()) + " names for " +
                           std::to_string(args.size()) + " activation sets",
                       "names");
    }
  } else {
    for (std::size_t i = 0; i < args.size(); ++i) labels.push_back(std::to_string(i));
  }
  CompareOptions options = compare_options(igw, bw, cka, cka_debiased, nbs, procrustes, centered,
                                           ascent, max_iterations, tolerance, restarts, seed);
  options.memory_limit_bytes = memory_limit_bytes;
  if (!progress.is_none()) {
    nb::object callback = nb::borrow(progress);
    options.progress = [callback](const char* stage, std::int64_t done, std::int64_t total) {
      nb::gil_scoped_acquire acquire;
      callback(stage, done, total);
    };
  }
  std::vector<Arg*> all;
  for (Arg& a : args) all.push_back(&a);
  Call call(backend, all);
  for (const Arg& a : args) {
    if (!a.present()) invalid_argument(a.name() + ": expected an array, got None", a.name());
  }
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    std::vector<ActivationSet<T>> sets;
    for (std::size_t i = 0; i < args.size(); ++i) {
      // Host sets stay on the host even for a CUDA context: compare_representations reads them
      // when it needs them.
      const MatrixBatch<const T> view = call.matrices<T>(args[i], 1, /*to_context=*/false);
      sets.push_back({labels[i], args[i].extent(0), args[i].extent(1), [view] { return view; }});
    }
    Comparison c;
    {
      nb::gil_scoped_release release;
      c = compare_representations<T>(call.ctx(), sets, options);
    }
    return comparison_dict(c);
  });
}

/// gaussot.ComparisonAccumulator's engine (python/gaussot/metrics.py wraps it).
class PyComparisonAccumulator : public Stateful<ComparisonAccumulator> {
 public:
  PyComparisonAccumulator(std::vector<std::string> names, std::vector<std::int64_t> widths,
                          bool float32, const std::string& backend)
      : Stateful(backend, float32, std::move(names), std::move(widths)) {}

  void update(nb::handle layers) {
    visit([&](auto& acc) {
      using T = value_type_of<decltype(acc)>;
      std::vector<Arg> args;
      for (nb::handle x : sequence_items(layers, "layers", "a sequence of (m, d_i) arrays")) {
        const std::size_t i = args.size();
        const std::string name =
            "layers[" + std::to_string(i) + "]" +
            (i < acc.names().size() ? " ('" + acc.names()[i] + "')" : std::string());
        args.emplace_back(x, name, Item::matrix, 0, "m, d_i");
      }
      std::vector<MatrixBatch<const T>> views;
      Call call(ctx(), pointers(args));
      for (const Arg& arg : args) {
        if (!arg.present())
          invalid_argument(arg.name() + ": expected an array, got None", arg.name());
        require_dtype<T>(call, arg.name(), "accumulator");
        // Host batches stay on the host: update copies them to the context.
        views.push_back(call.matrices<T>(arg, 1, /*to_context=*/false));
      }
      nb::gil_scoped_release release;
      acc.update(views);
    });
  }

  void merge(const PyComparisonAccumulator& other) {
    visit([&](auto& acc) {
      auto& theirs = same_kind<value_type_of<decltype(acc)>>(other);
      nb::gil_scoped_release release;
      acc.merge(theirs);
    });
  }

  nb::object compute(bool igw, bool bw, bool cka, bool cka_debiased, bool nbs, bool procrustes,
                     bool centered, bool ascent, std::int64_t max_iterations, double tolerance,
                     std::int64_t restarts, std::uint64_t seed) const {
    const CompareOptions options =
        compare_options(igw, bw, cka, cka_debiased, nbs, procrustes, centered, ascent,
                        max_iterations, tolerance, restarts, seed);
    Comparison c;
    visit([&](auto& acc) {
      nb::gil_scoped_release release;
      c = acc.result(options);
    });
    return comparison_dict(c);
  }

  /// The flat state as host NumPy arrays: reference (D,), sums (D,), products (D, D), norm_sums
  /// (k, D), norm_products (k, k).
  nb::object state() const {
    nb::dict out;
    visit([&](auto& acc) {
      using T = value_type_of<decltype(acc)>;
      const std::int64_t D = acc.total_width(), k = std::int64_t(acc.widths().size());
      std::vector<T> c(D), s(D), S(D * D), V(k * D), W(k * k);
      acc.state(vectors(c.data(), D, 1), vectors(s.data(), D, 1), matrices(S.data(), D, D, 1),
                matrices(V.data(), k, D, 1), matrices(W.data(), k, k, 1));
      out["reference"] = host_array(std::move(c), {D});
      out["sums"] = host_array(std::move(s), {D});
      out["products"] = host_array(std::move(S), {D, D}, Order::columns);
      out["norm_sums"] = host_array(std::move(V), {k, D}, Order::columns);
      out["norm_products"] = host_array(std::move(W), {k, k}, Order::columns);
    });
    return nb::object(out);
  }

  /// restore() from arrays of the accumulator's dtype: norm_sums given as its transpose, a (D, k)
  /// C-order array (the column-major k x D matrix).
  void restore(std::int64_t samples, nb::handle reference, nb::handle sums, nb::handle products,
               nb::handle norm_sums_transposed, nb::handle norm_products) {
    visit([&](auto& acc) {
      using T = value_type_of<decltype(acc)>;
      Arg c(reference, "reference", Item::vector, 0), s(sums, "sums", Item::vector, 0),
          S(products, "products", Item::matrix, 0),
          V(norm_sums_transposed, "norm_sums", Item::matrix, 0),
          W(norm_products, "norm_products", Item::matrix, 0);
      Call call(ctx(), {&c, &s, &S, &V, &W});
      for (const Arg* arg : {&c, &s, &S, &V, &W}) {
        require_dtype<T>(call, arg->name(), "accumulator");
      }
      acc.restore(samples, call.vector<T>(c), call.vector<T>(s), call.matrices<T>(S, 1, false),
                  call.matrices<T>(V, 1, false), call.matrices<T>(W, 1, false));
    });
  }

  void rebase(nb::handle reference) {
    visit([&](auto& acc) {
      using T = value_type_of<decltype(acc)>;
      Arg c(reference, "reference", Item::vector, 0);
      Call call(ctx(), {&c});
      require_dtype<T>(call, "reference", "accumulator");
      acc.rebase(call.vector<T>(c));
    });
  }

  void reset() {
    visit([](auto& acc) { acc.reset(); });
  }
  std::int64_t samples() const {
    std::int64_t n = 0;
    visit([&](auto& acc) { n = acc.samples(); });
    return n;
  }
};

}  // namespace

void bind_cka(nb::module_& m) {
  m.def("linear_cka", &linear_cka_py, "samples_a"_a, "samples_b"_a, nb::kw_only(),
        "debiased"_a = false, "backend"_a = "auto",
        R"(Returns cka, or (cka, debiased): linear centered kernel alignment (Kornblith et al. 2019)
of two representations of the same n inputs: samples_a (n, d_a) or (k, n, d_a), samples_b (n, d_b)
or (k, n, d_b), rows are samples, widths may differ. CKA = ‖X̃ᵀỸ‖_F² / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F) with X̃,
Ỹ centred, computed from d × d products (never n × n). debiased=True also returns the debiased CKA
(unbiased HSIC of Song et al. 2012; needs n >= 4). A set whose samples are all equal is
refused.)" GAUSSOT_DOC_COMMON);

  m.def("linear_cka_gradient", &linear_cka_gradient_py, "samples_a"_a, "samples_b"_a, nb::kw_only(),
        "debiased"_a = false, "backend"_a = "auto",
        R"(Returns (grad_a, grad_b): the gradient of the linear CKA (or of the debiased CKA with
debiased=True) with respect to each activation set, shaped like the samples ((n, d), or (k, n, d)
for a batch of pairs). Closed form (cka.hpp): with U = X̃/‖X̃‖_F, C = UᵀV, A = UᵀU, the gradient
2 V Cᵀ/(‖A‖‖B‖) − 2 CKA · U A/‖A‖², divided by ‖X̃‖_F and centred. Broadcast pairs give one
gradient per pair.)" GAUSSOT_DOC_COMMON);

  m.def("shape_metric", &shape_metric_py, "samples_a"_a, "samples_b"_a, nb::kw_only(),
        "metric"_a = "nbs", "backend"_a = "auto",
        R"(Returns the shape metric of two representations of the same n inputs (samples_a (n, d_a)
or (k, n, d_a), samples_b (n, d_b) or (k, n, d_b), rows are samples, widths may differ; batches
broadcast): metric='nbs', the normalized Bures similarity ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F) in [0, 1], or
'procrustes', the angular Procrustes distance arccos(NBS) in [0, π/2] (Williams et al. 2021), as
compare_representations(nbs=True, procrustes=True) tabulates them.)" GAUSSOT_DOC_COMMON);

  m.def(
      "shape_metric_gradient", &shape_metric_gradient_py, "samples_a"_a, "samples_b"_a,
      nb::kw_only(), "metric"_a = "nbs", "backend"_a = "auto",
      R"(Returns (grad_a, grad_b): the gradient of shape_metric(samples_a, samples_b, metric=) with
respect to each activation set, shaped like the samples. Closed form (cka.hpp): (P Ŷ − NBS X̂)/‖X̃‖_F
with X̂, Ŷ the centred sets of unit Frobenius norm and P the polar factor of X̂ᵀŶ; for procrustes
times −1/√(1 − NBS²), and zero where NBS rounds to 1. Where X̂ᵀŶ has less than its generic rank
the least-norm subgradient.)" GAUSSOT_DOC_COMMON);

  m.def("compare_representations", &compare_representations_py, "activations"_a,
        "names"_a = nb::none(), nb::kw_only(), "igw"_a = true, "bw"_a = true, "cka"_a = true,
        "cka_debiased"_a = false, "nbs"_a = false, "procrustes"_a = false, "centered"_a = false,
        "memory_limit_bytes"_a = CompareOptions().memory_limit_bytes, "ascent"_a = true,
        "max_iterations"_a = IgwOptions().max_iterations, "tolerance"_a = IgwOptions().tolerance,
        "restarts"_a = 0, "seed"_a = 0, "progress"_a = nb::none(), "backend"_a = "auto",
        R"(Returns a dict comparing every pair of activation sets that share their n input rows:
activations is a list of (n, d_i) arrays (one per network layer, any widths), names their labels
(default '0', '1', ...). Fits a Gaussian to each set (mean, covariance with divisor n − 1; means
dropped with centered=True, which makes IGW exact) and returns a dict with 'names', 'dimensions',
'samples', 'set_reads' and (k, k) float64 matrices: 'igw', 'igw_lower', 'igw_upper' (IGW distances,
i.e. square roots of IGW²) and 'igw_exact' (bool) with igw=True; 'bw' (W2 distances, NaN between
different widths) with bw=True; 'cka' and 'cka_debiased' with cka / cka_debiased; 'nbs' (normalized
Bures similarity ‖X̃_iᵀX̃_j‖_* / (‖X̃_i‖_F ‖X̃_j‖_F), X̃ centred) with nbs=True and 'procrustes' (the
angular Procrustes shape distance arccos(NBS), Williams et al. 2021) with procrustes=True. CKA, NBS
and Procrustes need the sets themselves: they are held in blocks within memory_limit_bytes. progress(stage, done, total) is
called as work proceeds.)" GAUSSOT_DOC_ASCENT GAUSSOT_DOC_COMMON);

  nb::class_<PyComparisonAccumulator>(m, "_ComparisonAccumulator")
      .def(
          nb::init<std::vector<std::string>, std::vector<std::int64_t>, bool, const std::string&>(),
          "names"_a, "widths"_a, "float32"_a, "backend"_a)
      .def("update", &PyComparisonAccumulator::update, "layers"_a)
      .def("merge", &PyComparisonAccumulator::merge, "other"_a)
      .def("compute", &PyComparisonAccumulator::compute, "igw"_a, "bw"_a, "cka"_a, "cka_debiased"_a,
           "nbs"_a, "procrustes"_a, "centered"_a, "ascent"_a, "max_iterations"_a, "tolerance"_a,
           "restarts"_a, "seed"_a)
      .def("state", &PyComparisonAccumulator::state)
      .def("restore", &PyComparisonAccumulator::restore, "samples"_a, "reference"_a, "sums"_a,
           "products"_a, "norm_sums_transposed"_a, "norm_products"_a)
      .def("rebase", &PyComparisonAccumulator::rebase, "reference"_a)
      .def("reset", &PyComparisonAccumulator::reset)
      .def_prop_ro("samples", &PyComparisonAccumulator::samples);
  m.attr("_IGW_ASCENT_DEFAULTS") =
      nb::make_tuple(IgwOptions().max_iterations, IgwOptions().tolerance);
}

}  // namespace gaussot::python
