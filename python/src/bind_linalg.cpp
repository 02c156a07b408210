// SPDX-License-Identifier: Apache-2.0
// Bindings of eigh.hpp, spectral.hpp and statistics.hpp: batched symmetric eigendecomposition,
// spectral matrix functions and sample moments.
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

nb::object eigh_py(nb::handle a, const std::string& backend) {
  Arg arg(a, "a", Item::symmetric);
  arg.read_upper_triangle();
  Call call(backend, {&arg});
  const Batch batch = broadcast({&arg});
  const std::int64_t d = arg.extent(0), k = batch.count;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> input = call.matrices<T>(arg, k);
    Output<T> values(call, concat(batch.shape(), {d}));
    Output<T> vectors(call, concat(batch.shape(), {d, d}), Order::columns);
    {
      nb::gil_scoped_release release;
      eigh<T>(call.ctx(), input, values.vectors(d, k), vectors.matrices(d, d, k));
    }
    return nb::object(nb::make_tuple(values.release(), vectors.release()));
  });
}

nb::object eigvalsh_py(nb::handle a, const std::string& backend) {
  Arg arg(a, "a", Item::symmetric);
  arg.read_upper_triangle();
  Call call(backend, {&arg});
  const Batch batch = broadcast({&arg});
  const std::int64_t d = arg.extent(0), k = batch.count;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> input = call.matrices<T>(arg, k);
    Output<T> values(call, concat(batch.shape(), {d}));
    {
      nb::gil_scoped_release release;
      eigvalsh<T>(call.ctx(), input, values.vectors(d, k));
    }
    return values.release();
  });
}

/// One matrix function f(a) (or two, sqrt and inverse sqrt) of a batch of symmetric matrices.
nb::object spectral_py(nb::handle a, std::optional<double> psd_tolerance,
                       const std::string& backend, std::optional<SpectralFunction> f) {
  Arg arg(a, "a", Item::symmetric);
  arg.read_upper_triangle();
  Call call(backend, {&arg});
  const Batch batch = broadcast({&arg});
  const std::int64_t d = arg.extent(0), k = batch.count;
  SpectralOptions options;
  options.psd_tolerance = psd_tolerance;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> input = call.matrices<T>(arg, k);
    Output<T> out(call, concat(batch.shape(), {d, d}), Order::columns);
    if (f) {
      {
        nb::gil_scoped_release release;
        matrix_function<T>(call.ctx(), input, *f, out.matrices(d, d, k), options);
      }
      return out.release();
    }
    Output<T> inverse(call, concat(batch.shape(), {d, d}), Order::columns);
    {
      nb::gil_scoped_release release;
      sqrtm_and_inv_sqrtm<T>(call.ctx(), input, out.matrices(d, d, k), inverse.matrices(d, d, k),
                             options);
    }
    return nb::object(nb::make_tuple(out.release(), inverse.release()));
  });
}

nb::object sample_moments_py(nb::handle samples, std::int64_t chunk_columns,
                             const std::string& backend) {
  Arg arg(samples, "samples", Item::matrix);
  Call call(backend, {&arg});
  const Batch batch = broadcast({&arg});
  const std::int64_t d = arg.extent(1), k = batch.count;
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> input = call.matrices<T>(arg, k);
    Output<T> mean(call, concat(batch.shape(), {d}));
    Output<T> cov(call, concat(batch.shape(), {d, d}), Order::columns);
    {
      nb::gil_scoped_release release;
      sample_moments<T>(call.ctx(), input, mean.vectors(d, k), cov.matrices(d, d, k),
                        chunk_columns);
    }
    return nb::object(nb::make_tuple(mean.release(), cov.release()));
  });
}

/// The clamping rule of spectral.hpp, for the docstrings of the matrix functions.
#define GAUSSOT_DOC_SPECTRAL                                                                   \
  "\n\na: (d, d) or (k, d, d) symmetric; only the upper triangle a[..., i, j], i <= j, is\n"   \
  "read (NaN below the diagonal is not seen). Eigenvalues are\n"                               \
  "clamped: one below -τ·max|w| refuses the matrix as not positive semidefinite, smaller\n"  \
  "negative ones count as 0; functions singular at 0 also refuse eigenvalues <= τ·max|w|.\n" \
  "psd_tolerance: τ (None: max(1e-10, 2·d·ε) in float64, max(2.3e-6, 2·d·ε) in float32)."

}  // namespace

void bind_linalg(nb::module_& m) {
  m.def("eigh", &eigh_py, "a"_a, nb::kw_only(), "backend"_a = "auto",
        R"(Returns (eigenvalues, eigenvectors) of symmetric matrices a (d, d) or (k, d, d): a = V
diag(w) Vᵀ with w in **decreasing** order (shape (..., d)) and the unit eigenvectors in the columns
of V (shape (..., d, d), V[..., :, j] belongs to w[..., j]). Only the upper triangle
a[..., i, j], i <= j, is read; signs of the eigenvectors are arbitrary.)" GAUSSOT_DOC_COMMON);

  m.def("eigvalsh", &eigvalsh_py, "a"_a, nb::kw_only(), "backend"_a = "auto",
        R"(Returns the eigenvalues of symmetric matrices a (d, d) or (k, d, d) in decreasing order,
shape (..., d). Only the upper triangle a[..., i, j], i <= j, is read.)" GAUSSOT_DOC_COMMON);

  auto function = [&](const char* name, std::optional<SpectralFunction> f, const char* doc) {
    m.def(
        name,
        [f](nb::handle a, std::optional<double> psd_tolerance, const std::string& backend) {
          return spectral_py(a, psd_tolerance, backend, f);
        },
        "a"_a, nb::kw_only(), "psd_tolerance"_a = nb::none(), "backend"_a = "auto", doc);
  };
  function("sqrtm", SpectralFunction::sqrt(),
           "Principal square roots a^½ of positive semidefinite matrices, shape of "
           "a." GAUSSOT_DOC_SPECTRAL GAUSSOT_DOC_COMMON);
  function("inv_sqrtm", SpectralFunction::inv_sqrt(),
           "Inverse square roots a^-½ of positive definite matrices." GAUSSOT_DOC_SPECTRAL
               GAUSSOT_DOC_COMMON);
  function("logm", SpectralFunction::log(),
           "Principal logarithms of positive definite matrices." GAUSSOT_DOC_SPECTRAL
               GAUSSOT_DOC_COMMON);
  function("sqrtm_and_inv_sqrtm", std::nullopt,
           "(a^½, a^-½) of positive definite matrices from one "
           "eigendecomposition." GAUSSOT_DOC_SPECTRAL GAUSSOT_DOC_COMMON);
  m.def(
      "powm",
      [](nb::handle a, double p, std::optional<double> psd_tolerance, const std::string& backend) {
        return spectral_py(a, psd_tolerance, backend, SpectralFunction::power(p));
      },
      "a"_a, "p"_a, nb::kw_only(), "psd_tolerance"_a = nb::none(), "backend"_a = "auto",
      "Matrix powers a^p: any real p for positive definite a, p >= 0 for positive semidefinite "
      "a." GAUSSOT_DOC_SPECTRAL GAUSSOT_DOC_COMMON);

  m.def("sample_moments", &sample_moments_py, "samples"_a, nb::kw_only(), "chunk_columns"_a = 0,
        "backend"_a = "auto",
        R"(Returns (mean, cov): sample means and covariances (divisor n − 1) of samples (n, d) or
(k, n, d), rows are samples, n >= 2: shapes (..., d) and (..., d, d). Computed chunk by chunk
(chunk_columns samples at a time; 0 picks a chunk size) with the pairwise update of Chan, Golub and
LeVeque.)" GAUSSOT_DOC_COMMON);
}

}  // namespace gaussot::python
