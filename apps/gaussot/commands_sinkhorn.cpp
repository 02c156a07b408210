// SPDX-License-Identifier: Apache-2.0
// `gaussot sinkhorn`: entropic OT between two weighted point clouds (sample files) by the batched
// Sinkhorn of sinkhorn.hpp (scaling with absorption or log domain), balanced or unbalanced, in the
// convention of `gaussot entropic` (unhalved cost, ε = 2σ²), so that the two can be compared.
#include <cmath>
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

struct SinkhornCommandOptions {
  CommonOptions common;
  std::string a_samples, b_samples, a_weights, b_weights;
  double sigma = 0;
  std::optional<double> gamma, mass_a, mass_b;
  double tolerance = SinkhornOptions().tolerance;
  int max_iterations = SinkhornOptions().max_iterations;
  int check_every = SinkhornOptions().check_every;
  std::string algorithm = "automatic";
  bool potentials = false;
};

/// The weights of one side, on the host: from --X-weights (length n, unbatched or one vector per
/// pair), or uniform with total --mass-X, or none (the library's uniform 1/n).
template <typename T>
struct SideWeights {
  std::string source;  ///< "OPTION: PATH" (or the option alone), for messages
  std::vector<T> values;
  std::int64_t count = 0;  ///< vectors held: 0 (none), 1 (broadcast to every pair) or the pairs
};

template <typename T>
SideWeights<T> side_weights(const std::string& side, const std::string& path,
                            std::optional<double> mass, std::int64_t n, const Pairing& pairing) {
  const std::string option = "--" + side + "-weights";
  SideWeights<T> w;
  w.source = option;
  if (!path.empty()) {
    if (mass) {
      throw UsageError("--mass-" + side + ": scales uniform weights; it cannot be combined with " +
                       option + " (scale the weights in the file instead)");
    }
    InputFile<T> file = read_means<T>(option, path);  // (n,) or (k, n), finite
    w.source = file.where();
    if (file.d() != n) {
      throw UsageError(file.where() + ": weights of length " + std::to_string(file.d()) +
                       ", but --" + side + "-samples has " + std::to_string(n) + " points");
    }
    if (file.batched && file.count != pairing.count) {
      throw UsageError(file.where() + ": " + std::to_string(file.count) +
                       " weight vectors, but there are " + std::to_string(pairing.count) +
                       " problems (give one vector of shape (" + std::to_string(n) +
                       ",) to use it for all)");
    }
    w.count = file.batched ? file.count : 1;
    w.values = std::move(file.data);
  } else if (mass) {
    w.source = "--mass-" + side;
    w.values.assign(static_cast<std::size_t>(n), T(*mass / double(n)));
    w.count = 1;
  }
  return w;
}

template <typename T>
void run_sinkhorn(const SinkhornCommandOptions& o) {
  if (!o.gamma && (o.mass_a || o.mass_b)) {
    throw UsageError(std::string(o.mass_a ? "--mass-a" : "--mass-b") +
                     ": masses need --gamma (the balanced problem has equal masses; give "
                     "--gamma G for the unbalanced one)");
  }
  InputFile<T> a = read_samples<T>("--a-samples", o.a_samples);
  InputFile<T> b = read_samples<T>("--b-samples", o.b_samples);
  const std::int64_t d = a.d(), n = a.item[0], m = b.item[0];
  if (b.d() != d) {
    throw UsageError(b.where() + ": points of dimension " + std::to_string(b.d()) +
                     ", but --a-samples has dimension " + std::to_string(d) + " (" + a.where() +
                     ")");
  }
  const Pairing pairing =
      pair_batches({a.batched, a.count, a.where()}, {b.batched, b.count, b.where()});
  const std::int64_t k = pairing.count;
  SideWeights<T> wa = side_weights<T>("a", o.a_weights, o.mass_a, n, pairing);
  SideWeights<T> wb = side_weights<T>("b", o.b_weights, o.mass_b, m, pairing);
  SinkhornOptions options;
  options.sigma = o.sigma;
  options.gamma = o.gamma;
  options.tolerance = o.tolerance;
  options.max_iterations = o.max_iterations;
  options.check_every = o.check_every;
  options.algorithm = o.algorithm == "scaling"      ? SinkhornAlgorithm::scaling
                      : o.algorithm == "log_domain" ? SinkhornAlgorithm::log_domain
                                                    : SinkhornAlgorithm::automatic;
  const bool potentials = o.potentials || !o.common.save_prefix.empty();

  Context ctx = make_context(o.common);
  Report report("sinkhorn", o.common, ctx);
  report.start_clock();
  const std::string a_source = a.where(), b_source = b.where();
  const std::int64_t a_count = a.count, b_count = b.count;
  Array<T> x = Array<T>::from_host(ctx, std::move(a.data));
  Array<T> y = Array<T>::from_host(ctx, std::move(b.data));
  Array<T> weights_x = Array<T>::from_host(ctx, std::move(wa.values));
  Array<T> weights_y = Array<T>::from_host(ctx, std::move(wb.values));
  // One set against k: the single set repeats (stride 0).
  auto paired = [k](MatrixBatch<T> sets, std::int64_t count) {
    return count == k ? MatrixBatch<const T>(sets) : broadcast(MatrixBatch<const T>(sets), k);
  };
  auto weight_view = [k](Array<T>& buffer, std::int64_t length, std::int64_t count) {
    if (count == 0) return VectorBatch<const T>();
    const VectorBatch<T> v = buffer.vectors(length, count);
    return count == k ? VectorBatch<const T>(v)
                      : VectorBatch<const T>(v.data, length, 0, k, v.space);
  };
  Array<T> value(ctx, k), transport(ctx, k), mass(ctx, k), f(ctx, potentials ? k * n : 0),
      g(ctx, potentials ? k * m : 0);
  SinkhornReport result;
  name_inputs({{"x", a_source},
               {"y", b_source},
               {"weights_x", wa.source},
               {"weights_y", wb.source},
               {"options.sigma", "--sigma"},
               {"options.gamma", "--gamma"},
               {"options.tolerance", "--tolerance"},
               {"options.max_iterations", "--max-iterations"},
               {"options.check_every", "--check-every"},
               {"options.algorithm", "--algorithm"},
               {"options", "--sigma/--gamma"}},
              [&] {
                result = sinkhorn<T>(
                    ctx, paired(x.matrices(d, n, a_count), a_count),
                    paired(y.matrices(d, m, b_count), b_count), weight_view(weights_x, n, wa.count),
                    weight_view(weights_y, m, wb.count),
                    {value.vectors(1, k), transport.vectors(1, k), mass.vectors(1, k),
                     potentials ? f.vectors(n, k) : VectorBatch<T>(),
                     potentials ? g.vectors(m, k) : VectorBatch<T>()},
                    options);
              });
  const std::vector<T> value_host = value.take_host(ctx), transport_host = transport.take_host(ctx),
                       mass_host = mass.take_host(ctx), f_host = f.take_host(ctx),
                       g_host = g.take_host(ctx);
  report.stop_clock();
  const std::vector<std::int64_t> scalar = result_shape(pairing.batched, k, {});
  report.add_array("value", scalar, as_double(value_host));
  report.add_array("transport_cost", scalar, as_double(transport_host));
  report.add_array("plan_mass", scalar, as_double(mass_host));
  nlohmann::ordered_json& fields = report.fields();
  auto per_problem = [&](const auto& values) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (std::int64_t i = 0; i < k; ++i) {
      list.push_back(values[i]);
    }
    return pairing.batched ? list : list[0];
  };
  fields["iterations"] = per_problem(result.iterations);
  fields["marginal_error"] = per_problem(result.marginal_error);
  fields["converged"] = per_problem(result.converged);
  fields["absorptions"] = per_problem(result.absorptions);
  fields["epsilon"] = 2 * o.sigma * o.sigma;
  if (potentials) {
    report.add_array("f", result_shape(pairing.batched, k, {n}), as_double(f_host));
    report.add_array("g", result_shape(pairing.batched, k, {m}), as_double(g_host));
  }
  report.emit();
}

}  // namespace

void register_sinkhorn(CLI::App& app) {
  auto o = std::make_shared<SinkhornCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "sinkhorn",
      "Entropic OT between two point clouds by a batched Sinkhorn: min <pi, C> + "
      "eps KL(pi | a x b) with C = |x - y|^2 and eps = 2 sigma^2 (the convention of `entropic`); "
      "unbalanced with --gamma (+ gamma KL of each marginal)");
  command->add_option("--a-samples", o->a_samples, "points x, (n, d) or (k, n, d) .npy")
      ->required();
  command->add_option("--b-samples", o->b_samples, "points y, (m, d) or (k, m, d) .npy")
      ->required();
  command->add_option("--sigma", o->sigma, "entropic scale: eps = 2 sigma^2")
      ->required()
      ->check(positive_number());
  command
      ->add_option("--gamma", o->gamma,
                   "marginal penalty of the unbalanced problem (default: balanced)")
      ->check(positive_number());
  command
      ->add_option("--mass-a", o->mass_a,
                   "with --gamma: total mass of side a (uniform weights mass_a / n; default 1)")
      ->check(positive_number());
  command
      ->add_option("--mass-b", o->mass_b,
                   "with --gamma: total mass of side b (uniform weights mass_b / m; default 1)")
      ->check(positive_number());
  command->add_option("--a-weights", o->a_weights,
                      "weights of x, (n,) or (k, n) .npy, positive (default: uniform 1/n); "
                      "balanced problems need equal totals on both sides");
  command->add_option("--b-weights", o->b_weights, "weights of y, (m,) or (k, m) .npy");
  command
      ->add_option("--tolerance", o->tolerance,
                   "stop when the x-marginal's relative L1 error (balanced), or the largest "
                   "change of f over one more update divided by eps (unbalanced), is at most this")
      ->check(non_negative_number())
      ->capture_default_str();
  command->add_option("--max-iterations", o->max_iterations, "most iterations per problem")
      ->check(count_at_least(1))
      ->capture_default_str();
  command->add_option("--check-every", o->check_every, "iterations between stopping checks")
      ->check(count_at_least(1))
      ->capture_default_str();
  command
      ->add_option("--algorithm", o->algorithm,
                   "scaling (matrix-vector products with a cached kernel, absorbed into the "
                   "potentials when the scalings leave a bound; CPU only), log_domain (log-sum-exp "
                   "over the cost matrix: the reference) or automatic (scaling on the CPU, "
                   "log_domain on CUDA); the same iterates either way")
      ->check(CLI::IsMember({"automatic", "log_domain", "scaling"}))
      ->capture_default_str();
  command->add_flag("--potentials", o->potentials,
                    "also output the potentials f (on x) and g (on y); implied by --save-prefix, "
                    "which writes them to PREFIXf.npy and PREFIXg.npy");
  add_common_options(*command, o->common);
  command->callback([o] {
    dispatch_precision(
        o->common, [&] { run_sinkhorn<double>(*o); }, [&] { run_sinkhorn<float>(*o); });
  });
}

}  // namespace gaussot::cli
