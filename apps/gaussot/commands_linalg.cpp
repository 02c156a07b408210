// SPDX-License-Identifier: Apache-2.0
// Batched linear algebra from the command line: `eigh` and `sqrtm` of covariance files.
#include <memory>

#include "commands.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {
namespace {

struct LinalgOptions {
  CommonOptions common;
  std::string cov;
  bool values_only = false;  // eigh
  bool inv_sqrt = false;     // sqrtm
};

template <typename T>
void run_eigh(const LinalgOptions& o) {
  InputFile<T> input = read_covariances<T>("--cov", o.cov);
  Context ctx = make_context(o.common);
  Report report("eigh", o.common, ctx);
  report.start_clock();
  const std::int64_t d = input.d(), k = input.count;
  Array<T> a = Array<T>::from_host(ctx, std::move(input.data));
  Array<T> w(ctx, d * k);
  Array<T> v(ctx, o.values_only ? 0 : d * d * k);
  if (o.values_only) {
    eigvalsh<T>(ctx, a.matrices(d, d, k), w.vectors(d, k));
  } else {
    eigh<T>(ctx, a.matrices(d, d, k), w.vectors(d, k), v.matrices(d, d, k));
  }
  const std::vector<T> values = w.take_host(ctx);
  const std::vector<T> vectors = v.take_host(ctx);
  report.stop_clock();
  report.add_array("eigenvalues", result_shape(input.batched, k, {d}),
                   std::vector<double>(values.begin(), values.end()));
  if (!o.values_only) {
    report.add_array("eigenvectors", result_shape(input.batched, k, {d, d}),
                     to_c_order(vectors, d, d, k));
  }
  report.emit();
}

template <typename T>
void run_sqrtm(const LinalgOptions& o) {
  InputFile<T> input = read_covariances<T>("--cov", o.cov);
  Context ctx = make_context(o.common);
  Report report("sqrtm", o.common, ctx);
  report.start_clock();
  const std::int64_t d = input.d(), k = input.count;
  Array<T> a = Array<T>::from_host(ctx, std::move(input.data));
  Array<T> root(ctx, d * d * k);
  Array<T> inverse_root(ctx, o.inv_sqrt ? d * d * k : 0);
  const SpectralOptions spectral = input_rule();
  blaming("--cov: " + o.cov, [&] {
    if (o.inv_sqrt) {
      sqrtm_and_inv_sqrtm<T>(ctx, a.matrices(d, d, k), root.matrices(d, d, k),
                             inverse_root.matrices(d, d, k), spectral);
    } else {
      sqrtm<T>(ctx, a.matrices(d, d, k), root.matrices(d, d, k), spectral);
    }
  });
  const std::vector<T> root_host = root.take_host(ctx);
  const std::vector<T> inverse_host = inverse_root.take_host(ctx);
  report.stop_clock();
  report.add_array("sqrt", result_shape(input.batched, k, {d, d}), to_c_order(root_host, d, d, k));
  if (o.inv_sqrt) {
    report.add_array("inv_sqrt", result_shape(input.batched, k, {d, d}),
                     to_c_order(inverse_host, d, d, k));
  }
  report.emit();
}

}  // namespace

void register_linalg(CLI::App& app) {
  auto eigh_options = std::make_shared<LinalgOptions>();
  CLI::App* eigh_command =
      app.add_subcommand("eigh", "Eigenvalues (decreasing) and eigenvectors of symmetric matrices");
  eigh_command->add_option("--cov", eigh_options->cov, "(d, d) or (k, d, d) symmetric matrices")
      ->required();
  eigh_command->add_flag("--values-only", eigh_options->values_only, "skip the eigenvectors");
  add_common_options(*eigh_command, eigh_options->common);
  eigh_command->callback([eigh_options] {
    dispatch_precision(
        eigh_options->common, [&] { run_eigh<double>(*eigh_options); },
        [&] { run_eigh<float>(*eigh_options); });
  });

  auto sqrtm_options = std::make_shared<LinalgOptions>();
  CLI::App* sqrtm_command =
      app.add_subcommand("sqrtm", "Principal square roots of positive semidefinite matrices");
  sqrtm_command->add_option("--cov", sqrtm_options->cov, "(d, d) or (k, d, d) PSD matrices")
      ->required();
  sqrtm_command->add_flag("--inv-sqrt", sqrtm_options->inv_sqrt,
                          "also the inverse square roots (positive definite input)");
  add_common_options(*sqrtm_command, sqrtm_options->common);
  sqrtm_command->callback([sqrtm_options] {
    dispatch_precision(
        sqrtm_options->common, [&] { run_sqrtm<double>(*sqrtm_options); },
        [&] { run_sqrtm<float>(*sqrtm_options); });
  });
}

}  // namespace gaussot::cli
