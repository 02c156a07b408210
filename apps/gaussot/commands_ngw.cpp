// SPDX-License-Identifier: Apache-2.0
// `gaussot ngw` (CLI.md): the neural Gromov–Wasserstein solver (ngw.hpp) between two sides given
// as Gaussians (--X-cov, --X-mean: sampled during training) or sample sets (--X-samples: drawn
// from with replacement); reports the learned map's inner-GW cost and, for centered Gaussians,
// the closed form and BW2-UVP. Models save and load (--save-model, --load-model) and apply to
// new points (--apply).
#include <ios>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <string>

#include "commands.hpp"
#include "inputs.hpp"
#include "options.hpp"
#include "output.hpp"

namespace gaussot::cli {
namespace {

struct NgwCommandOptions {
  CommonOptions common;
  SideOptions a{"a"}, b{"b"};
  NgwOptions training;
  NgwArchitecture architecture;
  std::string map_widths, potential_widths, activation = "relu";
  std::uint64_t model_seed = 0;
  std::int64_t eval_samples = 65536;
  std::string save_model, load_model, apply;
};

/// "64,64" → {64, 64}; "" → {} (an affine network). UsageError naming the option otherwise.
std::vector<std::int64_t> parse_widths(const std::string& option, const std::string& text) {
  std::vector<std::int64_t> widths;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long w = 0;
    try {
      w = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || w < 1 || w > (1 << 20)) {
      throw UsageError(option + ": widths must be positive integers separated by commas, got '" +
                       text + "'");
    }
    widths.push_back(w);
  }
  return widths;
}

/// A side in the context's memory: a Gaussian to sample from, or a sample set.
template <typename T>
struct Side {
  GaussianInput<T> input;
  std::optional<Array<T>> covariances, means, samples;

  Side(Context& ctx, GaussianInput<T> in) : input(std::move(in)) {
    if (input.batched) {
      throw UsageError(input.source + ": ngw takes one pair of distributions, not a batch");
    }
    if (input.from_samples()) {
      samples = Array<T>::from_host(ctx, std::move(input.samples));
    } else {
      covariances = Array<T>::from_host(ctx, std::move(input.covariances));
      if (!input.means.empty()) means = Array<T>::from_host(ctx, std::move(input.means));
    }
  }
  SampleSource<T> source() {
    const std::int64_t d = input.d;
    if (samples) return SampleSource<T>::from_samples(samples->matrices(d, input.n, 1));
    const VectorBatch<const T> mean =
        means ? VectorBatch<const T>(means->vectors(d, 1)) : VectorBatch<const T>();
    return SampleSource<T>::from_gaussian({mean, covariances->matrices(d, d, 1)});
  }
  std::pair<std::string, std::string> naming() const { return {input.name, input.source}; }
};

template <typename T>
void run_ngw(const NgwCommandOptions& o) {
  NgwArchitecture architecture = o.architecture;
  architecture.map_hidden = parse_widths("--map-widths", o.map_widths);
  architecture.potential_hidden = parse_widths("--potential-widths", o.potential_widths);
  architecture.activation = parse_activation(o.activation);  // checked by --activation's IsMember
  GaussianInput<T> a_input = read_side<T>(o.a);
  GaussianInput<T> b_input = read_side<T>(o.b);
  std::optional<InputFile<T>> points;
  if (!o.apply.empty()) points = read_samples<T>("--apply", o.apply);
  if (points && points->d() != a_input.d) {
    throw UsageError(points->where() + ": points of dimension " + std::to_string(points->d()) +
                     ", side a has dimension " + std::to_string(a_input.d));
  }
  if (points && points->batched) throw UsageError(points->where() + ": expected shape (N, m)");
  if (o.training.steps > 0) {
    // What a training step holds at least: the batch, the pair [y, T(x)], the potential's values
    // and upstream gradient, and one activation per hidden unit of the map (on the batch) and of
    // the potential (on the pair); a loaded model's widths are its own, not counted here.
    double units = double(a_input.d + 3 * b_input.d + 2);
    if (o.load_model.empty()) {
      for (std::int64_t w : architecture.map_hidden) units += double(w);
      for (std::int64_t w : architecture.potential_hidden) units += 2.0 * double(w);
    }
    check_memory("--batch", double(o.training.batch_size) * units * sizeof(T),
                 "training mini-batches of " + std::to_string(o.training.batch_size) + " points");
  }
  Context ctx = make_context(o.common);
  Report report("ngw", o.common, ctx);
  report.start_clock();
  Side<T> a(ctx, std::move(a_input)), b(ctx, std::move(b_input));
  std::optional<NgwModel<T>> model;
  std::optional<NgwReport> trained;
  NgwEvaluation evaluation;
  name_inputs({a.naming(), b.naming(), {"path", "--load-model: " + o.load_model}}, [&] {
    if (!o.load_model.empty()) {
      // Every failure to load is about the file, absurd sizes in it included.
      const std::string where = "--load-model: " + o.load_model + ": ";
      try {
        model.emplace(NgwModel<T>::load(ctx, o.load_model));
      } catch (const InvalidArgument& e) {
        throw UsageError(where + e.message());
      } catch (const OutOfMemory& e) {
        throw UsageError(where + "its networks do not fit in memory (" + e.message() + ")");
      } catch (const std::bad_alloc&) {
        throw UsageError(where + "its networks do not fit in host memory");
      } catch (const std::ios_base::failure& e) {
        throw UsageError(where + "cannot be read (" + e.what() + ")");
      }
      if (model->input_dimension() != a.input.d || model->output_dimension() != b.input.d) {
        throw UsageError("--load-model: " + o.load_model + ": the model maps dimension " +
                         std::to_string(model->input_dimension()) + " to " +
                         std::to_string(model->output_dimension()) + ", but side a has " +
                         std::to_string(a.input.d) + " (" + a.input.source + ") and side b " +
                         std::to_string(b.input.d) + " (" + b.input.source + ")");
      }
    } else {
      model.emplace(ctx, a.input.d, b.input.d, architecture, o.model_seed);
    }
    if (o.training.steps > 0) {
      trained = train_ngw<T>(ctx, *model, a.source(), b.source(), o.training);
    }
    evaluation =
        evaluate_ngw<T>(ctx, *model, a.source(), b.source(), o.eval_samples, o.training.seed);
  });
  std::vector<double> mapped;
  if (points) {
    const std::int64_t count = points->count * points->item[0];
    Array<T> x = Array<T>::from_host(ctx, std::move(points->data));
    Array<T> y(ctx, b.input.d * count);
    model->apply(ctx, x.matrices(a.input.d, count, 1), y.matrices(b.input.d, count, 1));
    mapped = as_double(y.take_host(ctx));
  }
  if (!o.save_model.empty()) {
    name_inputs({{"path", "--save-model: " + o.save_model}},
                [&] { model->save(ctx, o.save_model); });
  }
  const std::int64_t m = model->input_dimension(), n = model->output_dimension();
  Array<T> p(ctx, n * m);
  copy<T>(ctx, model->p(), p.matrices(n, m, 1));
  const std::vector<double> p_c_order = to_c_order(p.take_host(ctx), n, m, 1);
  report.stop_clock();
  report.fields()["igw_squared_estimate"] = evaluation.igw_squared_estimate;
  report.fields()["steps"] = trained ? trained->steps : 0;
  if (evaluation.igw_squared_closed_form)
    report.fields()["igw_squared_closed_form"] = *evaluation.igw_squared_closed_form;
  if (evaluation.bw2_uvp) report.fields()["bw2_uvp"] = *evaluation.bw2_uvp;
  // The names of the first release, kept as aliases: both values are IGW², as the *_squared
  // names say (the rule of every command: `igw` is a distance, `igw_squared` its square).
  report.fields()["igw_estimate"] = evaluation.igw_squared_estimate;
  if (evaluation.igw_squared_closed_form)
    report.fields()["igw_closed_form"] = *evaluation.igw_squared_closed_form;
  report.fields()["samples"] = evaluation.samples;
  if (trained) report.fields()["objective"] = trained->objective;
  report.add_array("p", {n, m}, p_c_order);
  if (points) report.add_array("mapped", {static_cast<std::int64_t>(mapped.size()) / n, n}, mapped);
  if (!o.save_model.empty()) report.fields()["model"] = o.save_model;
  report.emit();
}

}  // namespace

void register_ngw(CLI::App& app) {
  auto options = std::make_shared<NgwCommandOptions>();
  const NgwArchitecture defaults;
  const auto join = [](const std::vector<std::int64_t>& widths) {
    std::string text;
    for (std::size_t i = 0; i < widths.size(); ++i)
      text += (i ? "," : "") + std::to_string(widths[i]);
    return text;
  };
  options->map_widths = join(defaults.map_hidden);
  options->potential_widths = join(defaults.potential_hidden);
  CLI::App* command = app.add_subcommand(
      "ngw",
      "Neural Gromov-Wasserstein (Nekrashevich, Korotin, Burnaev): learn a map T from a to b "
      "(any dimensions) for the inner-product GW cost, from samples; sides given by --X-cov "
      "(sampled) or --X-samples (a sample set)");
  add_side_options(*command, options->a);
  add_side_options(*command, options->b);
  NgwOptions& t = options->training;
  command->add_option("--steps", t.steps, "outer training steps")
      ->capture_default_str()
      ->check(count_at_least(0));
  command->add_option("--k-t", t.k_t, "map steps per outer step")
      ->capture_default_str()
      ->check(count_at_least(0));
  command->add_option("--k-f", t.k_f, "potential steps per outer step")
      ->capture_default_str()
      ->check(count_at_least(0));
  command->add_option("--k-p", t.k_p, "P steps per outer step")
      ->capture_default_str()
      ->check(count_at_least(0));
  command->add_option("--batch", t.batch_size, "mini-batch size (points per side)")
      ->capture_default_str()
      ->check(count_at_least(1));
  command->add_option("--lr-map", t.map_optimizer.learning_rate, "Adam learning rate of the map T")
      ->capture_default_str()
      ->check(positive_number());
  command
      ->add_option("--lr-potential", t.potential_optimizer.learning_rate,
                   "Adam learning rate of the potential f")
      ->capture_default_str()
      ->check(positive_number());
  command->add_option("--p-step", t.p_step, "step of P's normalised gradient ascent")
      ->capture_default_str()
      ->check(positive_number());
  command->add_option("--seed", t.seed, "seed of the mini-batches and of the evaluation samples")
      ->capture_default_str();
  command->add_option("--model-seed", options->model_seed, "seed of the initial networks and P")
      ->capture_default_str();
  command
      ->add_option("--map-widths", options->map_widths,
                   "hidden widths of T, comma-separated ('' for an affine map)")
      ->capture_default_str();
  command
      ->add_option("--potential-widths", options->potential_widths,
                   "hidden widths of f, comma-separated")
      ->capture_default_str();
  command->add_option("--activation", options->activation, "relu, leaky_relu, tanh or identity")
      ->check(CLI::IsMember({"relu", "leaky_relu", "tanh", "identity"}))
      ->capture_default_str();
  command
      ->add_option("--eval-samples", options->eval_samples,
                   "fresh points of a (Gaussian) for the evaluation; a sample set uses all")
      ->capture_default_str()
      ->check(count_at_least(2));
  command->add_option("--save-model", options->save_model, "write the trained model (JSON)")
      ->check(output_path_check(false));
  command->add_option("--load-model", options->load_model,
                      "start from a saved model (with --steps 0: evaluate or apply only)");
  command->add_option("--apply", options->apply,
                      "points (N, m) .npy to map: the result 'mapped' (N, n)");
  add_common_options(*command, options->common);
  command->callback([options] {
    dispatch_precision(
        options->common, [&] { run_ngw<double>(*options); }, [&] { run_ngw<float>(*options); });
  });
}

}  // namespace gaussot::cli
