// SPDX-License-Identifier: Apache-2.0
// `gaussot entropic` (CLI.md): entropic OT between Gaussians in closed form (Janati et al. 2020),
// balanced or unbalanced (--gamma, --mass-a, --mass-b): value, transport part and plan; with
// --divergence the Sinkhorn divergence, with --map the entropic map, with --potentials the duals.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {
namespace {

struct EntropicCommandOptions {
  CommonOptions common;
  SideOptions a{"a"}, b{"b"};
  double sigma = 0;
  std::optional<double> gamma, mass_a, mass_b;
  bool divergence = false, map = false, potentials = false, value_only = false;
};

template <typename T>
void run_entropic(const EntropicCommandOptions& o) {
  const bool unbalanced = o.gamma.has_value();
  if (!unbalanced && (o.mass_a || o.mass_b)) {
    throw UsageError("--mass-a, --mass-b: masses are for the unbalanced problem (give --gamma)");
  }
  if (unbalanced && (o.divergence || o.map || o.potentials)) {
    throw UsageError(std::string(o.divergence ? "--divergence"
                                 : o.map      ? "--map"
                                              : "--potentials") +
                     ": only for the balanced problem (without --gamma)");
  }
  GaussianInput<T> a_input = read_side<T>(o.a);
  GaussianInput<T> b_input = read_side<T>(o.b);
  const Pairing pairing = pair_sides(a_input, b_input);
  Context ctx = make_context(o.common);
  Report report("entropic", o.common, ctx);
  report.start_clock();
  Gaussians<T> a(ctx, std::move(a_input)), b(ctx, std::move(b_input));
  const std::int64_t d = a.dimension(), k = pairing.count, n = 2 * d;
  const std::int64_t plan_items = o.value_only ? 0 : k;
  Array<T> value(ctx, k), transport(ctx, plan_items), mass(ctx, k), plan_mean(ctx, n * plan_items),
      plan_cov(ctx, n * n * plan_items), divergence(ctx, k);
  Array<T> masses = Array<T>::from_host(ctx, {T(o.mass_a.value_or(1)), T(o.mass_b.value_or(1))});
  EntropicOptions options;
  options.sigma = o.sigma;
  options.gamma = o.gamma;
  options.spectral = input_rule();
  const VectorBatch<T> mass_values = masses.vectors(1, 2);
  const auto broadcast_mass = [&](int side) {
    return VectorBatch<const T>(mass_values.data + side, 1, 0, k, mass_values.space);
  };
  const Masses<T> mass_views =
      unbalanced ? Masses<T>{broadcast_mass(0), broadcast_mass(1)} : Masses<T>{};
  std::optional<Array<T>> map_matrix, map_bias, conditional, f_quadratic, f_linear, f_constant,
      g_quadratic, g_linear, g_constant;
  // The library names 'sigma', 'gamma' and 'masses.a' / 'masses.b' for their values.
  std::vector<std::pair<std::string, std::string>> sources = {a.naming(), b.naming()};
  sources.insert(sources.end(), {{"sigma", "--sigma"},
                                 {"gamma", "--gamma"},
                                 {"masses.a", "--mass-a"},
                                 {"masses.b", "--mass-b"}});
  name_inputs(sources, [&] {
    entropic_ot<T>(ctx, a.paired(k), b.paired(k),
                   {value.vectors(1, k), transport.vectors(1, plan_items), mass.vectors(1, k),
                    plan_mean.vectors(n, plan_items), plan_cov.matrices(n, n, plan_items)},
                   options, mass_views);
    if (o.divergence) {
      sinkhorn_divergence<T>(ctx, a.paired(k), b.paired(k), o.sigma, divergence.vectors(1, k),
                             options.spectral);
    }
    if (o.map) {
      map_matrix.emplace(ctx, d * d * k);
      map_bias.emplace(ctx, d * k);
      conditional.emplace(ctx, d * d * k);
      entropic_map<T>(ctx, a.paired(k), b.paired(k), o.sigma, map_matrix->matrices(d, d, k),
                      map_bias->vectors(d, k), conditional->matrices(d, d, k), options.spectral);
    }
    if (o.potentials) {
      for (auto* q : {&f_quadratic, &g_quadratic}) q->emplace(ctx, d * d * k);
      for (auto* l : {&f_linear, &g_linear}) l->emplace(ctx, d * k);
      for (auto* c : {&f_constant, &g_constant}) c->emplace(ctx, k);
      entropic_potentials<T>(
          ctx, a.paired(k), b.paired(k), o.sigma,
          {f_quadratic->matrices(d, d, k), f_linear->vectors(d, k), f_constant->vectors(1, k)},
          {g_quadratic->matrices(d, d, k), g_linear->vectors(d, k), g_constant->vectors(1, k)},
          options.spectral);
    }
  });
  const auto scalars_of = [&](Array<T>& buffer) { return as_double(buffer.take_host(ctx)); };
  const auto matrices_of = [&](Array<T>& buffer, std::int64_t rows) {
    return to_c_order(buffer.take_host(ctx), rows, rows, k);
  };
  const std::vector<double> value_host = scalars_of(value), transport_host = scalars_of(transport),
                            mass_host = scalars_of(mass), mean_host = scalars_of(plan_mean),
                            cov_host = to_c_order(plan_cov.take_host(ctx), n, n, plan_items);
  report.stop_clock();
  const std::vector<std::int64_t> scalar = result_shape(pairing.batched, k, {}),
                                  vector = result_shape(pairing.batched, k, {d}),
                                  matrix = result_shape(pairing.batched, k, {d, d});
  report.fields()["sigma"] = o.sigma;
  if (unbalanced) report.fields()["gamma"] = *o.gamma;
  report.add_array("value", scalar, value_host);
  report.add_array("plan_mass", scalar, mass_host);
  if (!o.value_only) {
    report.add_array("transport_cost", scalar, transport_host);
    report.add_array("plan_mean", result_shape(pairing.batched, k, {n}), mean_host);
    report.add_array("plan_cov", result_shape(pairing.batched, k, {n, n}), cov_host);
  }
  if (o.divergence) report.add_array("sinkhorn_divergence", scalar, scalars_of(divergence));
  if (o.map) {
    report.add_array("map_matrix", matrix, matrices_of(*map_matrix, d));
    report.add_array("map_bias", vector, scalars_of(*map_bias));
    report.add_array("conditional_cov", matrix, matrices_of(*conditional, d));
  }
  if (o.potentials) {
    report.add_array("f_quadratic", matrix, matrices_of(*f_quadratic, d));
    report.add_array("f_linear", vector, scalars_of(*f_linear));
    report.add_array("f_constant", scalar, scalars_of(*f_constant));
    report.add_array("g_quadratic", matrix, matrices_of(*g_quadratic, d));
    report.add_array("g_linear", vector, scalars_of(*g_linear));
    report.add_array("g_constant", scalar, scalars_of(*g_constant));
  }
  report.emit();
}

}  // namespace

void register_entropic(CLI::App& app) {
  auto options = std::make_shared<EntropicCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "entropic",
      "Entropic OT between Gaussians in closed form (Janati et al. 2020): unhalved cost "
      "|x - y|^2 + 2 sigma^2 KL (epsilon = 2 sigma^2); unbalanced with --gamma");
  add_side_options(*command, options->a);
  add_side_options(*command, options->b);
  command->add_option("--sigma", options->sigma, "entropic scale sigma (epsilon = 2 sigma^2)")
      ->required()
      ->check(positive_number());
  command
      ->add_option("--gamma", options->gamma, "marginal penalty gamma KL: the unbalanced problem")
      ->check(positive_number());
  command->add_option("--mass-a", options->mass_a, "mass of a (unbalanced; default 1)")
      ->check(positive_number());
  command->add_option("--mass-b", options->mass_b, "mass of b (unbalanced; default 1)")
      ->check(positive_number());
  command->add_flag("--divergence", options->divergence,
                    "also the Sinkhorn divergence OT(a, b) - OT(a, a)/2 - OT(b, b)/2 (balanced)");
  command->add_flag("--map", options->map,
                    "also the entropic map: y | x ~ N(map_matrix x + map_bias, conditional_cov) "
                    "(balanced)");
  command->add_flag("--potentials", options->potentials,
                    "also the dual potentials f(x) = x'Qx + l'x + c and g (balanced)");
  command->add_flag("--value-only", options->value_only,
                    "only value and plan_mass (and the --divergence, --map, --potentials "
                    "fields): no transport_cost, plan_mean, plan_cov, for large batches");
  add_common_options(*command, options->common);
  command->callback([options] {
    dispatch_precision(
        options->common, [&] { run_entropic<double>(*options); },
        [&] { run_entropic<float>(*options); });
  });
}

}  // namespace gaussot::cli
