// SPDX-License-Identifier: Apache-2.0
// `gaussot mmot` (CLI.md): multimarginal OT between k Gaussians with the pairwise quadratic cost
// Σ_{i<j} ρ_iρ_j‖x_i − x_j‖², by Burer–Monteiro or the fixed point, with its certificate.
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {
namespace {

struct MmotCommandOptions {
  CommonOptions common;
  std::string cov, mean, weights;
  std::string solver = "bm";
  std::optional<double> tolerance;  // the solver's default: see MmotOptions::tolerance
  int max_iterations = MmotOptions().max_iterations;
  int check_every = MmotOptions().check_every;
  std::uint64_t seed = 0;
  bool factors = false;
  std::int64_t samples = 0;
  std::uint64_t sample_seed = 0;
};

template <typename T>
void run_mmot(const MmotCommandOptions& o) {
  GaussianInput<T> input = read_gaussians<T>("marginals", "--cov", o.cov, "--mean", o.mean);
  SetWeights<T> weights(o.weights);  // none: all ones
  MmotOptions options;
  options.solver = o.solver == "bm" ? MmotSolver::burer_monteiro : MmotSolver::fixed_point;
  options.tolerance = o.tolerance;
  options.max_iterations = o.max_iterations;
  options.check_every = o.check_every;
  options.seed = o.seed;
  options.spectral = input_rule();

  if (o.samples > 0) {
    // The samples, as T and as the report's doubles, and the standard normal draws (d + 1 rows).
    const double p = double(input.count), d = double(input.d), n = double(o.samples);
    check_memory("--samples",
                 n * (p * d * double(sizeof(T) + sizeof(double)) + (d + 1) * sizeof(T)),
                 std::to_string(o.samples) + " joint samples of " + std::to_string(input.count) +
                     " marginals in dimension " + std::to_string(input.d));
  }
  Context ctx = make_context(o.common);
  Report report("mmot", o.common, ctx);
  report.start_clock();
  // The library checks the covariances (finite, symmetric, positive definite) itself.
  Gaussians<T> marginals(ctx, std::move(input), /*validate=*/false);
  const std::int64_t p = marginals.count(), d = marginals.dimension();
  const std::int64_t k = mmot_factor_width(options.solver, d);
  weights.to_context(ctx);
  const bool with_factors = o.factors || o.samples > 0;
  Array<T> mean(ctx, d), cov(ctx, d * d), factors(ctx, with_factors ? p * d * k : 0);
  MmotReport result;
  name_inputs({marginals.naming(), weights.naming()}, [&] {
    result = mmot<T>(ctx, marginals.all(), weights.view(),
                     {with_factors ? factors.matrices(d, k, p) : MatrixBatch<T>(),
                      GaussianBatch<T>(mean.vectors(d, 1), cov.matrices(d, d, 1))},
                     options);
  });
  // Coupling samples x_i = m_i + U_i z from seeded standard normal draws z (k x n).
  const std::int64_t n = o.samples;
  Array<T> samples(ctx, p * d * n);
  if (n > 0) {
    std::mt19937_64 rng(o.sample_seed);
    std::normal_distribution<double> normal;
    std::vector<T> z(static_cast<std::size_t>(k * n));
    for (T& v : z) v = T(normal(rng));
    Array<T> normals = Array<T>::from_host(ctx, std::move(z));
    mmot_coupling_samples<T>(ctx, marginals.all().means, factors.matrices(d, k, p),
                             normals.matrices(k, n, 1), samples.matrices(d, n, p));
  }
  const std::vector<T> mean_host = mean.take_host(ctx);
  const std::vector<T> cov_host = cov.take_host(ctx);
  const std::vector<T> factors_host = factors.take_host(ctx);
  const std::vector<T> samples_host = samples.take_host(ctx);
  report.stop_clock();
  nlohmann::ordered_json& fields = report.fields();
  fields["value"] = result.value;
  report.add_array("barycenter_mean", {d}, as_double(mean_host));
  report.add_array("barycenter_cov", {d, d}, to_c_order(cov_host, d, d, 1));
  result.for_each_field([&](const char* name, const auto& value) { fields[name] = value; });
  if (o.factors) report.add_array("factors", {p, d, k}, to_c_order(factors_host, d, k, p));
  if (n > 0) report.add_array("samples", {p, n, d}, as_double(samples_host));
  report.emit();
}

}  // namespace

void register_mmot(CLI::App& app) {
  auto o = std::make_shared<MmotCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "mmot",
      "Multimarginal OT between k Gaussians with the cost sum_{i<j} rho_i rho_j |x_i - x_j|^2: "
      "Burer-Monteiro (or the fixed point) with a dual certificate; the W2 barycenter");
  command->add_option("--cov", o->cov, "covariances, (k, d, d) .npy, positive definite")
      ->required();
  command->add_option("--mean", o->mean, "means, (k, d) .npy (default: zero means)");
  command->add_option("--weights", o->weights,
                      "weights rho, (k,) .npy, non-negative with a positive sum (default: all "
                      "ones; the barycenter uses rho / sum rho)");
  command->add_option("--solver", o->solver, "bm (Burer-Monteiro) or fixed-point")
      ->check(CLI::IsMember({"bm", "fixed-point"}))
      ->capture_default_str();
  command
      ->add_option("--tolerance", o->tolerance,
                   "stop when the relative dual gap is at most this (and the blocks are feasible); "
                   "default: 1e-7 for bm, and the fixed point stops on its own residual (the "
                   "barycenter to what the precision allows)")
      ->check(non_negative_number());
  command
      ->add_option("--max-iterations", o->max_iterations,
                   "most gradient steps (bm) or fixed-point updates")
      ->check(count_at_least(0))
      ->capture_default_str();
  command->add_option("--check-every", o->check_every, "bm: gradient steps between certificates")
      ->check(count_at_least(1))
      ->capture_default_str();
  command->add_option("--seed", o->seed, "bm: seed of the random start")->capture_default_str();
  command->add_flag("--factors", o->factors,
                    "also output the factors U_i, (k, d, d+1) for bm or (k, d, d) for the fixed "
                    "point: the coupling is X_i = m_i + U_i z, z ~ N(0, I)");
  command
      ->add_option("--samples", o->samples,
                   "also output N samples of the optimal coupling, (k, N, d): row s of every "
                   "marginal is one joint draw")
      ->check(count_at_least(0))
      ->capture_default_str();
  command->add_option("--sample-seed", o->sample_seed, "seed of the coupling samples")
      ->capture_default_str();
  add_common_options(*command, o->common);
  command->callback([o] {
    dispatch_precision(
        o->common, [&] { run_mmot<double>(*o); }, [&] { run_mmot<float>(*o); });
  });
}

}  // namespace gaussot::cli
