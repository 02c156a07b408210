// SPDX-License-Identifier: Apache-2.0
// Inner-product Gromov–Wasserstein alignment from the command line (CLI.md): `igw` (values and
// bounds: paired, one-versus-many or all pairs; the plan's cross-covariance with --plan),
// `igw-map` (the map from a to b) and `igw-barycenter` (centered inputs of any dimensions).
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {
namespace {

/// Options of igw and igw-map.
struct IgwCommandOptions {
  CommonOptions common;
  SideOptions a{"a"}, b{"b"};
  bool all_pairs = false, plan = false;
  AscentOptions ascent;
  std::string signs;  // "1,-1,..."
};

/// The library options, with --signs parsed: min(d_a, d_b) signs, each 1 or -1.
IgwOptions igw_options(const IgwCommandOptions& o, std::int64_t da, std::int64_t db) {
  IgwOptions options = o.ascent.igw_options();
  if (!o.signs.empty()) {
    std::stringstream list(o.signs);
    std::string item;
    while (std::getline(list, item, ',')) {
      if (item != "1" && item != "+1" && item != "-1") {
        throw UsageError("--signs: expected a comma-separated list of 1 and -1, got '" + o.signs +
                         "'");
      }
      options.signs.push_back(item == "-1" ? -1 : 1);
    }
    // getline drops a trailing empty item: "1," is refused here too.
    const std::int64_t wanted = std::min(da, db);
    if (o.signs.back() == ',' || std::int64_t(options.signs.size()) != wanted) {
      throw UsageError("--signs: expected min(d_a, d_b) = " + std::to_string(wanted) +
                       " comma-separated signs (1 or -1), got '" + o.signs + "'");
    }
  }
  return options;
}

/// Distances from squared values, as CLI.md reports the bounds: sqrt(max(0, ·)).
std::vector<double> distances(const std::vector<double>& squared) {
  std::vector<double> out(squared.size());
  std::transform(squared.begin(), squared.end(), out.begin(),
                 [](double s) { return std::sqrt(std::max(0.0, s)); });
  return out;
}

/// The per-pair report fields: exact, iterations, gradient_norm, as nested lists of `shape`
/// (reports in column-major pair order for all pairs, `rows` x `cols`).
void add_reports(Report& report, const std::vector<IgwReport>& reports,
                 const std::vector<std::int64_t>& shape, std::int64_t rows, std::int64_t cols) {
  auto field = [&](auto value_of) {
    nlohmann::ordered_json values = nlohmann::ordered_json::array();
    if (shape.size() == 2) {
      for (std::int64_t i = 0; i < rows; ++i) {
        nlohmann::ordered_json row = nlohmann::ordered_json::array();
        for (std::int64_t j = 0; j < cols; ++j) row.push_back(value_of(reports[i + j * rows]));
        values.push_back(row);
      }
    } else if (shape.empty()) {
      return nlohmann::ordered_json(value_of(reports.at(0)));
    } else {
      for (const IgwReport& r : reports) values.push_back(value_of(r));
    }
    return values;
  };
  report.fields()["exact"] = field([](const IgwReport& r) { return r.exact; });
  report.fields()["iterations"] = field([](const IgwReport& r) { return r.iterations; });
  report.fields()["gradient_norm"] = field([](const IgwReport& r) { return r.gradient_norm; });
}

// ---- igw ---------------------------------------------------------------------------------------

template <typename T>
void run_igw(const IgwCommandOptions& o) {
  // --all-pairs of one set (the same files on both sides): read once and passed as both sides, so
  // that the library checks and decomposes each Gaussian once.
  const bool one_set =
      o.all_pairs && o.a.cov == o.b.cov && o.a.mean == o.b.mean && o.a.samples == o.b.samples;
  GaussianInput<T> a_input = read_side<T>(o.a);
  GaussianInput<T> b_input = one_set ? GaussianInput<T>{} : read_side<T>(o.b);
  if (o.all_pairs && o.plan) throw UsageError("--plan: not available with --all-pairs");
  const Pairing pairing = o.all_pairs
                              ? Pairing{}
                              : pair_batches({a_input.batched, a_input.count, a_input.source},
                                             {b_input.batched, b_input.count, b_input.source});
  const IgwOptions options = igw_options(o, a_input.d, one_set ? a_input.d : b_input.d);
  Context ctx = make_context(o.common);
  Report report("igw", o.common, ctx);
  report.start_clock();
  // The library checks positive semidefiniteness while it decomposes the covariances.
  Gaussians<T> a(ctx, std::move(a_input), false);
  std::optional<Gaussians<T>> other;
  if (!one_set) other.emplace(ctx, std::move(b_input), false);
  Gaussians<T>& b = one_set ? a : *other;
  const std::int64_t ka = a.count(), kb = b.count(), k = pairing.count;
  const std::int64_t size = o.all_pairs ? ka * kb : k;
  Array<T> squared(ctx, size), lower(ctx, size), upper(ctx, size);
  Array<T> plan(ctx, o.plan ? a.dimension() * b.dimension() * k : 0);
  std::vector<IgwReport> reports;
  name_inputs({a.naming(), b.naming()}, [&] {
    if (o.all_pairs) {
      reports = igw_squared_all_pairs<T>(
          ctx, a.all(), b.all(),
          {squared.matrices(ka, kb, 1), lower.matrices(ka, kb, 1), upper.matrices(ka, kb, 1)},
          options);
    } else {
      reports = igw_squared<T>(ctx, a.paired(k), b.paired(k),
                               {squared.vectors(1, k), lower.vectors(1, k), upper.vectors(1, k)},
                               options);
      if (o.plan) {
        igw_plan<T>(ctx, a.paired(k), b.paired(k), plan.matrices(a.dimension(), b.dimension(), k),
                    options);
      }
    }
  });
  auto host = [&](Array<T>& buffer) {
    const std::vector<T> values = buffer.take_host(ctx);
    return o.all_pairs ? to_c_order(values, ka, kb, 1) : as_double(values);
  };
  const std::vector<double> squared_host = host(squared), lower_host = host(lower),
                            upper_host = host(upper);
  const std::vector<T> plan_host = plan.take_host(ctx);
  report.stop_clock();
  const std::vector<std::int64_t> shape =
      o.all_pairs ? std::vector<std::int64_t>{ka, kb} : result_shape(pairing.batched, k, {});
  report.add_array("igw_squared", shape, squared_host);
  report.add_array("igw", shape, distances(squared_host));
  report.add_array("lower_bound", shape, distances(lower_host));
  report.add_array("upper_bound", shape, distances(upper_host));
  add_reports(report, reports, shape, o.all_pairs ? ka : k, o.all_pairs ? kb : 1);
  if (o.plan) {
    report.add_array("cross_covariance",
                     result_shape(pairing.batched, k, {a.dimension(), b.dimension()}),
                     to_c_order(plan_host, a.dimension(), b.dimension(), k));
  }
  report.emit();
}

// ---- igw-map -----------------------------------------------------------------------------------

template <typename T>
void run_igw_map(const IgwCommandOptions& o) {
  GaussianInput<T> a_input = read_side<T>(o.a);
  GaussianInput<T> b_input = read_side<T>(o.b);
  if (b_input.d > a_input.d) {
    throw UsageError(b_input.source + ": dimension " + std::to_string(b_input.d) +
                     " is larger than side a's " + std::to_string(a_input.d) + " (" +
                     a_input.source +
                     "); an IGW map from a to b needs d_a >= d_b (swap the sides)");
  }
  const Pairing pairing = pair_batches({a_input.batched, a_input.count, a_input.source},
                                       {b_input.batched, b_input.count, b_input.source});
  const IgwOptions options = igw_options(o, a_input.d, b_input.d);
  Context ctx = make_context(o.common);
  Report report("igw-map", o.common, ctx);
  report.start_clock();
  // The library checks positive semidefiniteness while it decomposes the covariances.
  Gaussians<T> a(ctx, std::move(a_input), false), b(ctx, std::move(b_input), false);
  const std::int64_t da = a.dimension(), db = b.dimension(), k = pairing.count;
  Array<T> matrix(ctx, db * da * k), bias(ctx, db * k);
  std::vector<IgwReport> reports;
  // The map needs a's covariances positive definite: the library's refusal names side a.
  name_inputs({a.naming(), b.naming()}, [&] {
    reports = igw_map<T>(ctx, a.paired(k), b.paired(k), matrix.matrices(db, da, k),
                         bias.vectors(db, k), options);
  });
  const std::vector<T> matrix_host = matrix.take_host(ctx);
  const std::vector<T> bias_host = bias.take_host(ctx);
  report.stop_clock();
  report.add_array("matrix", result_shape(pairing.batched, k, {db, da}),
                   to_c_order(matrix_host, db, da, k));
  report.add_array("bias", result_shape(pairing.batched, k, {db}), as_double(bias_host));
  add_reports(report, reports, result_shape(pairing.batched, k, {}), k, 1);
  report.emit();
}

// ---- igw-barycenter ----------------------------------------------------------------------------

struct BarycenterCommandOptions {
  CommonOptions common;
  std::vector<std::string> cov;
  std::string weights;
};

template <typename T>
void run_igw_barycenter(const BarycenterCommandOptions& o) {
  std::vector<InputFile<T>> files;
  for (const std::string& path : o.cov) files.push_back(read_covariances<T>("--cov", path));
  SetWeights<T> weights(o.weights);
  Context ctx = make_context(o.common);
  Report report("igw-barycenter", o.common, ctx);
  report.start_clock();
  std::int64_t depth = 0;
  std::vector<Array<T>> buffers;
  std::vector<MatrixBatch<const T>> views;
  // Library errors name 'inputs'; with several --cov files the file at fault is found below.
  const std::string inputs_source = files.size() == 1 ? files[0].where() : "--cov";
  for (InputFile<T>& file : files) {
    depth = std::max(depth, file.d());
    buffers.push_back(Array<T>::from_host(ctx, std::move(file.data)));
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    views.push_back(buffers[i].matrices(files[i].d(), files[i].d(), files[i].count));
  }
  weights.to_context(ctx);
  Array<T> eigenvalues(ctx, depth), cov(ctx, depth * depth);
  double value = 0;
  name_inputs({weights.naming(), {"inputs", inputs_source}}, [&] {
    try {
      value = igw_barycenter<T>(ctx, views, weights.view(), eigenvalues.vectors(depth, 1),
                                cov.matrices(depth, depth, 1), input_rule());
    } catch (const InvalidArgument& e) {
      // An input's batch index counts across all --cov files in order: name the file it is in.
      if (files.size() > 1 && e.argument().rfind("inputs", 0) == 0 && e.batch_index() >= 0) {
        std::int64_t first = 0;
        for (const InputFile<T>& file : files) {
          if (e.batch_index() < first + file.count) {
            throw UsageError(file.where() + ": " + e.message());
          }
          first += file.count;
        }
      }
      throw;
    }
  });
  const std::vector<T> eigenvalues_host = eigenvalues.take_host(ctx);
  const std::vector<T> cov_host = cov.take_host(ctx);
  report.stop_clock();
  report.add_array("eigenvalues", {depth}, as_double(eigenvalues_host));
  report.add_array("cov", {depth, depth}, to_c_order(cov_host, depth, depth, 1));
  report.fields()["value"] = value;
  report.emit();
}

/// Options of igw and igw-map.
void add_igw_options(CLI::App& command, IgwCommandOptions& o) {
  add_ascent_options(command, o.ascent);
  command.add_option("--signs", o.signs,
                     "alignment signs of the closed form, min(d_a, d_b) comma-separated 1 or -1 "
                     "(default: sign(v_a,i v_b,i), +1 at 0)");
  add_side_options(command, o.a);
  add_side_options(command, o.b);
  add_common_options(command, o.common);
}

}  // namespace

void register_igw(CLI::App& app) {
  auto igw = std::make_shared<IgwCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "igw",
      "Inner-product Gromov-Wasserstein between Gaussians of any dimensions: best value, "
      "analytic bounds, exactness");
  add_igw_options(*command, *igw);
  command->add_flag("--all-pairs", igw->all_pairs,
                    "every a_i against every b_j: (k_a, k_b) results (an unbatched side is one "
                    "Gaussian)");
  command->add_flag("--plan", igw->plan,
                    "also the cross-covariance (d_a, d_b) of the optimal Gaussian coupling");
  command->callback([igw] {
    dispatch_precision(
        igw->common, [&] { run_igw<double>(*igw); }, [&] { run_igw<float>(*igw); });
  });

  auto map = std::make_shared<IgwCommandOptions>();
  command =
      app.add_subcommand("igw-map",
                         "IGW map T(x) = matrix x + bias from a to b (d_a >= d_b, a's covariance "
                         "positive definite)");
  add_igw_options(*command, *map);
  command->callback([map] {
    dispatch_precision(
        map->common, [&] { run_igw_map<double>(*map); }, [&] { run_igw_map<float>(*map); });
  });

  auto barycenter = std::make_shared<BarycenterCommandOptions>();
  command = app.add_subcommand(
      "igw-barycenter",
      "IGW barycenter of centered Gaussians of possibly different dimensions (weighted mean of "
      "the zero-padded decreasing spectra)");
  command
      ->add_option("--cov", barycenter->cov,
                   "covariances, (d, d) or (k, d, d) .npy; repeat for inputs of other dimensions")
      ->required();
  command->add_option("--weights", barycenter->weights,
                      "weights, (k,) .npy over all inputs in order, non-negative with a positive "
                      "sum; normalised (default: uniform)");
  add_common_options(*command, barycenter->common);
  command->callback([barycenter] {
    dispatch_precision(
        barycenter->common, [&] { run_igw_barycenter<double>(*barycenter); },
        [&] { run_igw_barycenter<float>(*barycenter); });
  });
}

}  // namespace gaussot::cli
