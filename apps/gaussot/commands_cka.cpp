// SPDX-License-Identifier: Apache-2.0
// `gaussot cka` (CLI.md): linear CKA and debiased linear CKA between two sets of activations of
// the same n inputs, given as samples (n, d_a) and (n, d_b) or batches (k, n, d); the feature
// dimensions may differ. Paired batches, or one set against many.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {
namespace {

struct CkaOptions {
  CommonOptions common;
  SideOptions a{"a"}, b{"b"};
};

/// --X-samples, and --X-cov / --X-mean (hidden) only to refuse them with a clear line: CKA needs
/// the samples themselves, not a fitted Gaussian.
void add_sample_side(CLI::App& command, SideOptions& side) {
  const std::string x = "--" + side.name + "-";
  command.add_option(x + "samples", side.samples,
                     "side " + side.name + ": samples, (n, d_" + side.name + ") or (k, n, d_" +
                         side.name + ") .npy; row j of both sides is the same input j");
  command.add_option(x + "cov", side.cov)->group("");
  command.add_option(x + "mean", side.mean)->group("");
}

/// The sample sets of one side; UsageError when the side is missing or given as a Gaussian.
template <typename T>
InputFile<T> read_sample_side(const SideOptions& side) {
  const std::string x = "--" + side.name + "-";
  auto refuse = [&](const std::string& option, const std::string& value) {
    if (!value.empty()) {
      throw UsageError(option + ": cka compares sample sets, not Gaussians; give side " +
                       side.name + " as " + x + "samples, (n, d) or (k, n, d)");
    }
  };
  refuse(x + "cov", side.cov);
  refuse(x + "mean", side.mean);
  if (side.samples.empty()) {
    throw UsageError(x + "samples is required (side " + side.name + ")");
  }
  return read_samples<T>(x + "samples", side.samples);
}

template <typename T>
std::vector<double> as_double(const std::vector<T>& values) {
  return {values.begin(), values.end()};
}

template <typename T>
void run_cka(const CkaOptions& o) {
  InputFile<T> a = read_sample_side<T>(o.a);
  InputFile<T> b = read_sample_side<T>(o.b);
  const std::int64_t n = a.item[0], d_a = a.d(), d_b = b.d();
  if (b.item[0] != n) {
    throw UsageError(b.where() + ": " + std::to_string(b.item[0]) +
                     " samples (rows) per set, but side a has " + std::to_string(n) + " (" +
                     a.where() + "); cka compares the same inputs in two feature spaces");
  }
  // Paired batches, or an unbatched side against every item of the other.
  const Pairing pairing =
      pair_batches({a.batched, a.count, a.where()}, {b.batched, b.count, b.where()});
  const std::int64_t k = pairing.count;
  const bool batched = pairing.batched;
  Context ctx = make_context(o.common);
  Report report("cka", o.common, ctx);
  report.start_clock();
  const std::int64_t count_a = a.count, count_b = b.count;
  Array<T> a_samples = Array<T>::from_host(ctx, std::move(a.data));
  Array<T> b_samples = Array<T>::from_host(ctx, std::move(b.data));
  auto paired = [k, n](Array<T>& samples, std::int64_t d, std::int64_t count) {
    const MatrixBatch<const T> sets = samples.matrices(d, n, count);
    return count == k ? sets : broadcast(sets, k);
  };
  Array<T> cka(ctx, k), debiased(ctx, k);
  // The library names 'samples_a' or 'samples_b' (and the item) for bad values: constant
  // features, too few samples for the debiased value, a debiased HSIC that is not positive.
  name_inputs({{"samples_a", a.where()}, {"samples_b", b.where()}}, [&] {
    linear_cka<T>(ctx, paired(a_samples, d_a, count_a), paired(b_samples, d_b, count_b),
                  cka.vectors(1, k), debiased.vectors(1, k));
  });
  const std::vector<T> cka_host = cka.take_host(ctx);
  const std::vector<T> debiased_host = debiased.take_host(ctx);
  report.stop_clock();
  const std::vector<std::int64_t> shape = result_shape(batched, k, {});
  report.add_array("cka", shape, as_double(cka_host));
  report.add_array("cka_debiased", shape, as_double(debiased_host));
  report.emit();
}

}  // namespace

void register_cka(CLI::App& app) {
  auto options = std::make_shared<CkaOptions>();
  CLI::App* command = app.add_subcommand(
      "cka",
      "Linear CKA and debiased linear CKA (unbiased HSIC) between two sets of activations of the "
      "same n inputs; feature dimensions may differ");
  add_sample_side(*command, options->a);
  add_sample_side(*command, options->b);
  add_common_options(*command, options->common);
  command->callback([options] {
    dispatch_precision(
        options->common, [&] { run_cka<double>(*options); }, [&] { run_cka<float>(*options); });
  });
}

}  // namespace gaussot::cli
