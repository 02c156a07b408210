// SPDX-License-Identifier: Apache-2.0
// Bindings of cka.hpp (linear CKA) and compare.hpp (all-against-all comparison of
// representations with IGW, BW and CKA).
#include <nanobind/stl/string.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"

namespace gaussot::python {
namespace {

using namespace nb::literals;

nb::object linear_cka_py(nb::handle samples_a, nb::handle samples_b, bool debiased,
                         const std::string& backend) {
  Arg xa(samples_a, "samples_a", Item::matrix, 1, "n, d_a");
  Arg xb(samples_b, "samples_b", Item::matrix, 1, "n, d_b");
  Call call(backend, {&xa, &xb});
  if (xa.extent(0) != xb.extent(0)) {
    invalid_argument("samples_a has " + std::to_string(xa.extent(0)) + " samples (rows) but " +
                         "samples_b has " + std::to_string(xb.extent(0)) +
                         ": CKA compares two representations of the same inputs",
                     "samples_b");
  }
  const Batch batch = broadcast({&xa, &xb});
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
  CompareOptions options;
  options.igw = igw;
  options.bw = bw;
  options.cka = cka;
  options.cka_debiased = cka_debiased;
  options.nbs = nbs;
  options.procrustes = procrustes;
  options.centered = centered;
  options.memory_limit_bytes = memory_limit_bytes;
  options.igw_options = igw_options(ascent, max_iterations, tolerance, restarts, seed, nb::none());
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
    const std::int64_t k = static_cast<std::int64_t>(sets.size());
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
      out["igw_exact"] =
          host_array(std::vector<std::uint8_t>(c.igw_exact.begin(), c.igw_exact.end()), {k, k},
                     Order::c, /*as_bool=*/true);
    }
    return nb::object(out);
  });
}

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
}

}  // namespace gaussot::python
