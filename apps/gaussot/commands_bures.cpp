// SPDX-License-Identifier: Apache-2.0
// The Bures–Wasserstein geometry of Gaussians from the command line (CLI.md): `bw` (W2 distances:
// paired, one-versus-many or all pairs), `bw-map` (Brenier map), `bw-geodesic` (McCann
// interpolant), `bw-barycenter` (weighted W2 barycenter) and `fid` (Fréchet distance).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "commands.hpp"
#include "inputs.hpp"
#include "npz.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {
namespace {

/// Options of the two-sided commands.
struct TwoSidedOptions {
  CommonOptions common;
  SideOptions a{"a"}, b{"b"};
  bool all_pairs = false;                                    // bw
  double t = 0;                                              // bw-geodesic
  std::string method = "auto";                               // fid
  std::string a_stats, b_stats, save_a_stats, save_b_stats;  // fid
};

/// Options of bw-barycenter.
struct SetOptions {
  CommonOptions common;
  std::string cov, mean, weights;
  double tolerance = 0;
  bool tolerance_given = false;  // otherwise the library's default (1e-12 in f64, 1e-5 in f32)
  int max_iterations = 1000;
};

BuresOptions bures_options() {
  BuresOptions options;
  options.spectral = input_rule();
  return options;
}

// ---- bw ----------------------------------------------------------------------------------------

template <typename T>
void run_bw(const TwoSidedOptions& o) {
  GaussianInput<T> a_input = read_side<T>(o.a);
  GaussianInput<T> b_input = read_side<T>(o.b);
  // --all-pairs: any counts, result (k_a, k_b) with an unbatched side counting as one Gaussian.
  if (o.all_pairs) check_same_dimension(a_input, b_input);
  const Pairing pairing = o.all_pairs ? Pairing{} : pair_sides(a_input, b_input);
  Context ctx = make_context(o.common);
  Report report("bw", o.common, ctx);
  report.start_clock();
  Gaussians<T> a(ctx, std::move(a_input)), b(ctx, std::move(b_input));
  std::vector<std::int64_t> shape;
  std::vector<double> squared;
  if (o.all_pairs) {
    const std::int64_t ka = a.count(), kb = b.count();
    Array<T> out(ctx, ka * kb);
    name_inputs({a.naming(), b.naming()}, [&] {
      w2_squared_all_pairs<T>(ctx, a.all(), b.all(), out.matrices(ka, kb, 1), bures_options());
    });
    shape = {ka, kb};
    squared = to_c_order(out.take_host(ctx), ka, kb, 1);
  } else {
    const std::int64_t k = pairing.count;
    Array<T> out(ctx, k);
    name_inputs({a.naming(), b.naming()}, [&] {
      w2_squared<T>(ctx, a.paired(k), b.paired(k), out.vectors(1, k), bures_options());
    });
    shape = result_shape(pairing.batched, k, {});
    squared = as_double(out.take_host(ctx));
  }
  report.stop_clock();
  std::vector<double> distance(squared.size());
  std::transform(squared.begin(), squared.end(), distance.begin(),
                 [](double w2_squared) { return std::sqrt(w2_squared); });
  report.add_array("w2_squared", shape, squared);
  report.add_array("w2", shape, distance);
  report.emit();
}

// ---- bw-map and bw-geodesic ------------------------------------------------------------------

template <typename T>
void run_bw_map(const TwoSidedOptions& o) {
  GaussianInput<T> a_input = read_side<T>(o.a);
  GaussianInput<T> b_input = read_side<T>(o.b);
  const Pairing pairing = pair_sides(a_input, b_input);
  Context ctx = make_context(o.common);
  Report report("bw-map", o.common, ctx);
  report.start_clock();
  Gaussians<T> a(ctx, std::move(a_input)), b(ctx, std::move(b_input));
  const std::int64_t d = a.dimension(), k = pairing.count;
  Array<T> matrix(ctx, d * d * k), bias(ctx, d * k);
  // The map needs a's covariances positive definite: the library's refusal names side a.
  name_inputs({a.naming(), b.naming()}, [&] {
    brenier_map<T>(ctx, a.paired(k), b.paired(k), matrix.matrices(d, d, k), bias.vectors(d, k),
                   bures_options());
  });
  const std::vector<T> matrix_host = matrix.take_host(ctx);
  const std::vector<T> bias_host = bias.take_host(ctx);
  report.stop_clock();
  report.add_array("matrix", result_shape(pairing.batched, k, {d, d}),
                   to_c_order(matrix_host, d, d, k));
  report.add_array("bias", result_shape(pairing.batched, k, {d}), as_double(bias_host));
  report.emit();
}

template <typename T>
void run_bw_geodesic(const TwoSidedOptions& o) {
  GaussianInput<T> a_input = read_side<T>(o.a);
  GaussianInput<T> b_input = read_side<T>(o.b);
  const Pairing pairing = pair_sides(a_input, b_input);
  Context ctx = make_context(o.common);
  Report report("bw-geodesic", o.common, ctx);
  report.start_clock();
  Gaussians<T> a(ctx, std::move(a_input)), b(ctx, std::move(b_input));
  const std::int64_t d = a.dimension(), k = pairing.count;
  Array<T> mean(ctx, d * k), cov(ctx, d * d * k);
  name_inputs({a.naming(), b.naming()}, [&] {
    mccann_interpolant<T>(ctx, a.paired(k), b.paired(k), o.t,
                          GaussianBatch<T>(mean.vectors(d, k), cov.matrices(d, d, k)),
                          bures_options());
  });
  const std::vector<T> mean_host = mean.take_host(ctx);
  const std::vector<T> cov_host = cov.take_host(ctx);
  report.stop_clock();
  report.add_array("mean", result_shape(pairing.batched, k, {d}), as_double(mean_host));
  report.add_array("cov", result_shape(pairing.batched, k, {d, d}), to_c_order(cov_host, d, d, k));
  report.emit();
}

// ---- bw-barycenter -----------------------------------------------------------------------------

template <typename T>
void run_bw_barycenter(const SetOptions& o) {
  // A (d, d) --cov is accepted as a set of one Gaussian; --mean then has shape (d,).
  GaussianInput<T> input = read_gaussians<T>("inputs", "--cov", o.cov, "--mean", o.mean);
  SetWeights<T> weights(o.weights);  // none: uniform
  Context ctx = make_context(o.common);
  Report report("bw-barycenter", o.common, ctx);
  report.start_clock();
  Gaussians<T> inputs(ctx, std::move(input));
  const std::int64_t d = inputs.dimension();
  weights.to_context(ctx);
  Array<T> mean(ctx, d), cov(ctx, d * d);
  BarycenterOptions options;
  if (o.tolerance_given) options.tolerance = o.tolerance;
  options.max_iterations = o.max_iterations;
  options.spectral = input_rule();
  BarycenterReport result;
  // The library checks the weights' length and values (non-negative, positive sum) and that the
  // weighted mean of the covariances, where the fixed point starts, is positive definite.
  name_inputs({inputs.naming(), weights.naming()}, [&] {
    result = w2_barycenter<T>(ctx, inputs.all(), weights.view(),
                              GaussianBatch<T>(mean.vectors(d, 1), cov.matrices(d, d, 1)), options);
  });
  const std::vector<T> mean_host = mean.take_host(ctx);
  const std::vector<T> cov_host = cov.take_host(ctx);
  report.stop_clock();
  report.add_array("mean", {d}, as_double(mean_host));
  report.add_array("cov", {d, d}, to_c_order(cov_host, d, d, 1));
  report.fields()["iterations"] = result.iterations;
  report.fields()["residual"] = result.residual;
  report.emit();
}

// ---- fid ---------------------------------------------------------------------------------------

/// How fid gets the trace term, as its "method" field says: "samples" (from the two sample sets,
/// no covariance formed), "covariances" (from the Gaussians fitted to the samples of one or both
/// sides) or "given" (both sides given as covariances). --method chooses only when both sides
/// are samples; --method samples needs them.
template <typename T>
std::string fid_method(const std::string& requested, const GaussianInput<T>& a,
                       const GaussianInput<T>& b) {
  const bool both_samples = a.from_samples() && b.from_samples();
  if (requested == "samples" && !both_samples) {
    throw UsageError(
        "--method samples needs both sides given as samples (--a-samples, --b-samples)");
  }
  if (!both_samples) return a.from_samples() || b.from_samples() ? "covariances" : "given";
  if (requested != "auto") return requested;
  // The automatic rule of FrechetMethod (bures.hpp), resolved here so that the report can say
  // which method ran: samples when there are fewer samples than dimensions.
  return std::min(a.n, b.n) < a.d ? "samples" : "covariances";
}

/// fid when both sides are samples: gaussot::frechet_distance with the method resolved above.
template <typename T>
std::vector<T> fid_from_samples(Context& ctx, GaussianInput<T>& a_input, GaussianInput<T>& b_input,
                                std::int64_t k, const std::string& method) {
  const std::int64_t d = a_input.d;
  Array<T> a_samples = Array<T>::from_host(ctx, std::move(a_input.samples));
  Array<T> b_samples = Array<T>::from_host(ctx, std::move(b_input.samples));
  // One sample set against k is one-versus-many: repeat it (stride 0).
  auto paired = [k, d](Array<T>& samples, const GaussianInput<T>& input) {
    const MatrixBatch<const T> sets = samples.matrices(d, input.n, input.count);
    return input.count == k ? sets : broadcast(sets, k);
  };
  FrechetOptions options;
  options.method = method == "samples" ? FrechetMethod::samples : FrechetMethod::covariances;
  options.bures = bures_options();
  Array<T> out(ctx, k);
  name_inputs({{"samples_a", a_input.source}, {"samples_b", b_input.source}}, [&] {
    frechet_distance<T>(ctx, paired(a_samples, a_input), paired(b_samples, b_input),
                        out.vectors(1, k), options);
  });
  return out.take_host(ctx);
}

/// fid when a side is given as covariances: W2² of the (given or fitted) Gaussians.
template <typename T>
std::vector<T> fid_from_gaussians(Context& ctx, GaussianInput<T>& a_input,
                                  GaussianInput<T>& b_input, std::int64_t k) {
  Gaussians<T> a(ctx, std::move(a_input)), b(ctx, std::move(b_input));
  Array<T> out(ctx, k);
  name_inputs({a.naming(), b.naming()}, [&] {
    w2_squared<T>(ctx, a.paired(k), b.paired(k), out.vectors(1, k), bures_options());
  });
  return out.take_host(ctx);
}

/// Side X of fid: given as FID statistics (--X-stats FILE.npz holding mu (d,) and sigma (d, d),
/// as pytorch-fid and clean-fid publish them), or as --X-cov / --X-samples.
template <typename T>
GaussianInput<T> read_fid_side(const SideOptions& side, const std::string& stats) {
  if (stats.empty()) return read_side<T>(side);
  const std::string option = "--" + side.name + "-stats";
  for (const auto& [suffix, value] : {std::pair{"cov", &side.cov}, std::pair{"mean", &side.mean},
                                      std::pair{"samples", &side.samples}}) {
    if (!value->empty()) {
      throw UsageError(option + " and --" + side.name + "-" + suffix + " both given: give side " +
                       side.name + " one way");
    }
  }
  const std::string where = option + ": " + stats;
  std::map<std::string, NdArray<T>> arrays = read_npz<T>(where, stats);
  for (const char* key : {"mu", "sigma"}) {
    if (arrays.count(key) == 0) {
      throw UsageError(where + ": has no '" + key + "' array (FID statistics hold mu and sigma)");
    }
  }
  NdArray<T>& mu = arrays["mu"];
  NdArray<T>& sigma = arrays["sigma"];
  const std::int64_t d = mu.ndim() == 1 ? mu.shape[0] : 0;
  if (d < 1 || sigma.shape != std::vector<std::int64_t>{d, d}) {
    throw UsageError(where + ": mu must have shape (d,) and sigma (d, d), got " +
                     shape_text(mu.shape) + " and " + shape_text(sigma.shape));
  }
  GaussianInput<T> g;
  g.name = side.name;
  g.source = where;
  g.d = d;
  g.covariances = std::move(sigma.data);
  g.means = std::move(mu.data);
  return g;
}

/// The mean and covariance of a side of fid, to save as FID statistics: as given, or fitted to
/// its samples (sample_moments); (d,) and (d, d), or (k, d) and (k, d, d) for a batched side.
template <typename T>
struct SideStatistics {
  std::vector<T> mean, covariance;
  std::vector<std::int64_t> mean_shape, covariance_shape;
};

template <typename T>
SideStatistics<T> side_statistics(Context& ctx, const GaussianInput<T>& side) {
  const std::int64_t d = side.d, k = side.count;
  SideStatistics<T> s;
  s.mean_shape = side.batched ? std::vector<std::int64_t>{k, d} : std::vector<std::int64_t>{d};
  s.covariance_shape =
      side.batched ? std::vector<std::int64_t>{k, d, d} : std::vector<std::int64_t>{d, d};
  if (!side.from_samples()) {
    s.mean = side.means.empty() ? std::vector<T>(std::size_t(k * d), T(0)) : side.means;
    s.covariance = side.covariances;  // symmetric: column- and row-major alike
    return s;
  }
  Array<T> samples = Array<T>::from_host(ctx, side.samples);
  Array<T> mean(ctx, k * d), covariance(ctx, k * d * d);
  name_inputs({{"samples", side.source}}, [&] {
    sample_moments<T>(ctx, samples.matrices(d, side.n, k), mean.vectors(d, k),
                      covariance.matrices(d, d, k));
  });
  s.mean = mean.take_host(ctx);
  s.covariance = covariance.take_host(ctx);
  return s;
}

template <typename T>
void save_statistics(const std::string& option, const std::string& path,
                     const SideStatistics<T>& s) {
  write_npz<T>(
      option + ": " + path, path,
      {{"mu", s.mean.data(), s.mean_shape}, {"sigma", s.covariance.data(), s.covariance_shape}});
}

template <typename T>
void run_fid(const TwoSidedOptions& o) {
  GaussianInput<T> a_input = read_fid_side<T>(o.a, o.a_stats);
  GaussianInput<T> b_input = read_fid_side<T>(o.b, o.b_stats);
  const Pairing pairing = pair_sides(a_input, b_input);
  const std::string method = fid_method(o.method, a_input, b_input);
  Context ctx = make_context(o.common);
  Report report("fid", o.common, ctx);
  // The statistics to save, taken before the inputs move into the computation.
  std::optional<SideStatistics<T>> save_a, save_b;
  if (!o.save_a_stats.empty()) save_a = side_statistics(ctx, a_input);
  if (!o.save_b_stats.empty()) save_b = side_statistics(ctx, b_input);
  report.start_clock();
  const std::int64_t k = pairing.count;
  const bool both_samples = a_input.from_samples() && b_input.from_samples();
  const std::vector<T> fid = both_samples ? fid_from_samples(ctx, a_input, b_input, k, method)
                                          : fid_from_gaussians(ctx, a_input, b_input, k);
  report.stop_clock();
  if (save_a) save_statistics("--save-a-stats", o.save_a_stats, *save_a);
  if (save_b) save_statistics("--save-b-stats", o.save_b_stats, *save_b);
  report.add_array("fid", result_shape(pairing.batched, k, {}), as_double(fid));
  report.fields()["method"] = method;
  report.emit();
}

// ---- registration ------------------------------------------------------------------------------

using TwoSidedRun = void (*)(const TwoSidedOptions&);

/// Adds a two-sided command: sides a and b, the general options, and the run at --precision.
CLI::App* add_two_sided(CLI::App& app, const std::string& name, const std::string& description,
                        const std::shared_ptr<TwoSidedOptions>& options, TwoSidedRun run_f64,
                        TwoSidedRun run_f32) {
  CLI::App* command = app.add_subcommand(name, description);
  add_side_options(*command, options->a);
  add_side_options(*command, options->b);
  add_common_options(*command, options->common);
  command->callback([options, run_f64, run_f32] {
    dispatch_precision(
        options->common, [&] { run_f64(*options); }, [&] { run_f32(*options); });
  });
  return command;
}

void register_barycenter(CLI::App& app) {
  auto options = std::make_shared<SetOptions>();
  CLI::App* command = app.add_subcommand(
      "bw-barycenter",
      "Weighted W2 barycenter of Gaussians (fixed point of Alvarez-Esteban et al.)");
  command->add_option("--cov", options->cov, "covariances, (k, d, d) .npy")->required();
  command->add_option("--mean", options->mean, "means, (k, d) .npy (default: zero means)");
  command->add_option("--weights", options->weights,
                      "weights, (k,) .npy, non-negative with a positive sum; normalised "
                      "(default: uniform)");
  CLI::Option* tolerance =
      command
          ->add_option("--tolerance", options->tolerance,
                       "stop when the fixed-point residual is at most this (default: 1e-12 in "
                       "f64, 1e-5 in f32)")
          ->check(non_negative_number());
  command->add_option("--max-iterations", options->max_iterations, "most fixed-point updates")
      ->check(count_at_least(1))
      ->capture_default_str();
  add_common_options(*command, options->common);
  command->callback([options, tolerance] {
    options->tolerance_given = tolerance->count() > 0;
    dispatch_precision(
        options->common, [&] { run_bw_barycenter<double>(*options); },
        [&] { run_bw_barycenter<float>(*options); });
  });
}

}  // namespace

void register_bures(CLI::App& app) {
  auto bw = std::make_shared<TwoSidedOptions>();
  add_two_sided(app, "bw", "W2 (Bures-Wasserstein) distances between Gaussians", bw, run_bw<double>,
                run_bw<float>)
      ->add_flag("--all-pairs", bw->all_pairs,
                 "every a_i against every b_j: (k_a, k_b) results (an unbatched side is one "
                 "Gaussian)");

  auto map = std::make_shared<TwoSidedOptions>();
  add_two_sided(app, "bw-map",
                "Brenier map T(x) = matrix x + bias from a to b (a's covariance positive definite)",
                map, run_bw_map<double>, run_bw_map<float>);

  auto geodesic = std::make_shared<TwoSidedOptions>();
  add_two_sided(app, "bw-geodesic", "McCann interpolant at time t between a (t = 0) and b (t = 1)",
                geodesic, run_bw_geodesic<double>, run_bw_geodesic<float>)
      ->add_option("--t", geodesic->t, "time in [0, 1]")
      ->required()
      ->check(unit_interval());

  register_barycenter(app);

  auto fid = std::make_shared<TwoSidedOptions>();
  add_two_sided(app, "fid",
                "Frechet distance: W2 squared between the Gaussians fitted to two sample sets "
                "(or given as mean and covariance)",
                fid, run_fid<double>, run_fid<float>)
      ->add_option("--method", fid->method,
                   "with samples on both sides: auto (samples when n < d), covariances (fit "
                   "both, then W2), or samples (nuclear norm of the centred cross product)")
      ->check(CLI::IsMember({"auto", "covariances", "samples"}))
      ->capture_default_str();
  CLI::App* fid_command = app.get_subcommand("fid");
  for (auto [side, stats, save] : {std::tuple{"a", &fid->a_stats, &fid->save_a_stats},
                                   std::tuple{"b", &fid->b_stats, &fid->save_b_stats}}) {
    fid_command->add_option(std::string("--") + side + "-stats", *stats,
                            std::string("side ") + side +
                                ": FID statistics, an .npz with mu (d,) and sigma (d, d) "
                                "(pytorch-fid, clean-fid), instead of --" +
                                side + "-cov");
    fid_command->add_option(std::string("--save-") + side + "-stats", *save,
                            std::string("also write side ") + side +
                                "'s mean and covariance (given or fitted) as an .npz with mu "
                                "and sigma");
  }
}

}  // namespace gaussot::cli
