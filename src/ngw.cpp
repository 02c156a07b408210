// SPDX-License-Identifier: Apache-2.0
// Neural Gromov–Wasserstein (ngw.hpp): sampling, the alternating training loop, evaluation
// against the closed forms, and the model file. Backend-neutral: GEMMs and the
// GAUSSOT_NGW_PRIMITIVES, so a CUDA context trains on the device.
#include "gaussot/ngw.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussian_batches.hpp"
#include "gaussot/igw.hpp"
#include "gaussot/npy.hpp"
#include "gaussot/statistics.hpp"
#include "philox.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

/// Draw ids at and above this one belong to evaluation, below to training (philox.hpp streams).
constexpr std::uint64_t kEvaluationDraws = std::uint64_t(1) << 62;
/// Draw id of P's initial entries (the networks use draws 1 ... L of their own seeds).
constexpr std::uint64_t kInitialPDraw = std::uint64_t(1) << 61;
/// Points per chunk when a model is applied or evaluated.
constexpr std::int64_t kChunkColumns = 8192;

/// Draws mini-batches from a SampleSource: Gaussian points F z + mean with F a covariance factor
/// and z standard normal, or uniformly chosen columns of a sample set.
template <typename T>
class Sampler {
 public:
  Sampler(Context& ctx, const ArgumentChecker& check, const char* name,
          const SampleSource<T>& source)
      : source_(source) {
    if (source.is_gaussian()) {
      const GaussianBatch<const T> g = source.gaussian;
      const Names names(name);
      check.expect(g.count() == 1, names.covariances.c_str(),
                   "must hold one Gaussian, got " + std::to_string(g.count()));
      check_shape(check, names, g, 1, g.dimension());
      check.expect(g.dimension() >= 1, names.covariances.c_str(), "must not be empty");
      check_values(ctx, check, names, g);
      factor_ = Scratch<T>(ctx, g.dimension(), g.dimension(), 1);
      covariance_factor<T>(ctx, check, names.covariances.c_str(), g.covariances, factor_->view,
                           SpectralOptions{});
    } else {
      const std::string samples_name = std::string(name) + ".samples";
      check.input(samples_name.c_str(), source.samples);
      check.count(samples_name.c_str(), source.samples.count, 1);
      check.expect(source.samples.rows >= 1 && source.samples.cols >= 1, samples_name.c_str(),
                   "must hold at least one point of dimension >= 1, got shape " +
                       ArgumentChecker::shape(source.samples.rows, source.samples.cols));
      check.finite(ctx, samples_name.c_str(), source.samples, false);
    }
  }

  std::int64_t dimension() const { return source_.dimension(); }

  /// out (d x B, packed or a column range) = B points of draw `draw`.
  void draw(Context& ctx, std::uint64_t seed, std::uint64_t draw, MatrixBatch<T> out) {
    if (!source_.is_gaussian()) {
      GAUSSOT_DISPATCH(ctx, random_columns<T>, source_.samples, seed, draw, out);
      return;
    }
    const std::int64_t d = out.rows, batch = out.cols;
    if (!normals_ || normals_->view.cols < batch) normals_.emplace(ctx, d, batch, 1);
    const MatrixBatch<T> z = normals_->view.columns(0, batch);
    GAUSSOT_DISPATCH(ctx, random_normal<T>, seed, draw, z);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), factor_->cview(),
                     MatrixBatch<const T>(z), T(0), out);
    if (!source_.gaussian.centered()) {
      // The points as batch items of d x 1, plus the mean broadcast over them.
      const MatrixBatch<T> points{out.data, d, 1, d, out.ld, batch, out.space};
      const MatrixBatch<const T> mean = mean_columns(source_.gaussian);
      combine<T>(ctx, {{T(1), points}, {T(1), broadcast(mean, batch)}}, points);
    }
  }

  /// Whether the points to evaluate on are the sample set itself.
  bool is_sample_set() const { return !source_.is_gaussian(); }
  MatrixBatch<const T> samples() const { return source_.samples; }

 private:
  SampleSource<T> source_;
  std::optional<Scratch<T>> factor_;
  std::optional<Scratch<T>> normals_;
};

/// The sources' dimensions against the model's (m, n).
template <typename T>
void check_dimensions(const ArgumentChecker& check, const Sampler<T>& source,
                      const Sampler<T>& target, std::int64_t m, std::int64_t n) {
  check.expect(source.dimension() == m, "a",
               "has dimension " + std::to_string(source.dimension()) +
                   ", the model's input dimension is " + std::to_string(m));
  check.expect(target.dimension() == n, "b",
               "has dimension " + std::to_string(target.dimension()) +
                   ", the model's output dimension is " + std::to_string(n));
}

/// A rows x cols matrix of `value` on the context.
template <typename T>
Scratch<T> constant(Context& ctx, std::int64_t rows, std::int64_t cols, T value) {
  return on_context<T>(ctx, std::vector<T>(static_cast<std::size_t>(rows * cols), value), rows,
                       cols, 1);
}

MlpShape map_shape(std::int64_t m, std::int64_t n, const NgwArchitecture& architecture) {
  return {m, architecture.map_hidden, n, architecture.activation};
}
MlpShape potential_shape(std::int64_t n, const NgwArchitecture& architecture) {
  return {n, architecture.potential_hidden, 1, architecture.activation};
}
/// The potential's initialisation seed, decorrelated from the map's.
std::uint64_t potential_seed(std::uint64_t seed) { return seed + 0x9E3779B97F4A7C15ULL; }

}  // namespace

// ---- the model -------------------------------------------------------------------------------

template <typename T>
NgwModel<T>::NgwModel(Context& ctx, std::int64_t m, std::int64_t n,
                      const NgwArchitecture& architecture, std::uint64_t seed)
    : architecture_(architecture),
      map_(ctx, map_shape(m, n, architecture), seed),
      potential_(ctx, potential_shape(n, architecture), potential_seed(seed)),
      p_(ctx, n * m) {
  std::vector<T> host(static_cast<std::size_t>(n * m));
  for (std::int64_t k = 0; k < n * m; ++k) host[k] = T(philox::normal(seed, kInitialPDraw, k));
  copy<T>(ctx, matrices<const T>(host.data(), n, m, 1), p());
  GAUSSOT_DISPATCH(ctx, rescale_to_norm<T>, p(), T(p_norm()));
}

template <typename T>
double NgwModel<T>::p_norm() const {
  return std::sqrt(double(std::min(input_dimension(), output_dimension())));
}

template <typename T>
void NgwModel<T>::apply(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> y) {
  const ArgumentChecker check("NgwModel::apply", &ctx);
  check.input("x", x);
  check.count("x", x.count, 1);
  check.matrix_shape("x", x, input_dimension(), x.cols);
  check.output("y", y);
  check.count("y", y.count, 1);
  check.matrix_shape("y", y, output_dimension(), x.cols);
  check.finite(ctx, "x", x, false);
  for (std::int64_t begin = 0; begin < x.cols; begin += kChunkColumns) {
    const std::int64_t end = std::min(x.cols, begin + kChunkColumns);
    map_.forward(ctx, x.columns(begin, end), y.columns(begin, end));
  }
}

namespace {
template <typename T>
std::vector<double> host_values(Context& ctx, VectorBatch<const T> v) {
  return to_host<T>(ctx, VectorBatch<const T>(v.data, v.size, v.size, 1, v.space));
}
}  // namespace

template <typename T>
void NgwModel<T>::save(Context& ctx, const std::string& path) const {
  const std::int64_t m = input_dimension(), n = output_dimension();
  const std::vector<double> p_values =
      host_values<T>(ctx, VectorBatch<const T>(p_.vectors(n * m, 1)));
  std::vector<double> p_row_major(static_cast<std::size_t>(n * m));
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t c = 0; c < m; ++c) p_row_major[r * m + c] = p_values[r + c * n];
  }
  const nlohmann::json model = {{"format", "gaussot-ngw"},
                                {"version", 1},
                                {"input_dimension", m},
                                {"output_dimension", n},
                                {"activation", to_string(architecture_.activation)},
                                {"map_hidden", architecture_.map_hidden},
                                {"potential_hidden", architecture_.potential_hidden},
                                {"map", host_values<T>(ctx, map_.parameters())},
                                {"potential", host_values<T>(ctx, potential_.parameters())},
                                {"p", p_row_major}};
  try {
    write_file_atomically(path, [&](std::ostream& out) { out << model.dump() << '\n'; });
  } catch (const InvalidArgument& e) {
    ArgumentChecker("NgwModel::save").fail("path", std::string("cannot be written: ") + e.what());
  }
}

template <typename T>
NgwModel<T> NgwModel<T>::load(Context& ctx, const std::string& path) {
  const ArgumentChecker check("NgwModel::load");
  std::error_code ignored;  // a path that cannot be inspected fails to open below
  if (std::filesystem::is_directory(path, ignored)) {
    check.fail("path", "'" + path + "' is a directory, not a model file");
  }
  std::ifstream in(path);
  if (!in) check.fail("path", "cannot be read: '" + path + "'");
  nlohmann::json model;
  try {
    in >> model;
  } catch (const nlohmann::json::exception& e) {
    check.fail("path", "'" + path + "' is not valid JSON (" + e.what() + ")");
  }
  const auto field = [&](const char* key) -> const nlohmann::json& {
    if (!model.is_object() || !model.contains(key)) {
      check.fail("path", "'" + path + "' has no field '" + key + "'");
    }
    return model.at(key);
  };
  // Sizes are checked against the file's own lists of numbers before anything is allocated, so a
  // corrupt or hostile file cannot ask for more memory than it holds numbers.
  constexpr std::int64_t kMaxWidth = std::int64_t(1) << 24;
  const auto size = [&](const nlohmann::json& value, const std::string& what) {
    if (!value.is_number_integer() || value.template get<std::int64_t>() < 1 ||
        value.template get<std::int64_t>() > kMaxWidth) {
      check.fail("path", "'" + path + "': " + what + " must be an integer from 1 to 2^24, got " +
                             value.dump());
    }
    return value.template get<std::int64_t>();
  };
  const auto widths = [&](const char* key) {
    const nlohmann::json& list = field(key);
    if (!list.is_array() || list.size() > 1024) {
      check.fail("path",
                 "'" + path + "': field '" + key + "' must be a list of at most 1024 widths");
    }
    std::vector<std::int64_t> out;
    for (const nlohmann::json& w : list)
      out.push_back(size(w, std::string("each of '") + key + "'"));
    return out;
  };
  const auto count_of = [&](const char* key, std::int64_t expected) {
    const nlohmann::json& list = field(key);
    if (!list.is_array() || static_cast<std::int64_t>(list.size()) != expected) {
      check.fail("path", "'" + path + "': field '" + key + "' must hold " +
                             std::to_string(expected) + " numbers");
    }
  };
  try {
    if (field("format") != "gaussot-ngw" || field("version") != 1) {
      check.fail("path", "'" + path + "' is not a gaussot-ngw model of version 1");
    }
    NgwArchitecture architecture;
    architecture.map_hidden = widths("map_hidden");
    architecture.potential_hidden = widths("potential_hidden");
    const nlohmann::json& activation = field("activation");
    try {
      architecture.activation = parse_activation(activation.template get<std::string>(), "path");
    } catch (const std::exception&) {
      check.fail("path", "'" + path + "': field 'activation' must be relu, leaky_relu, tanh or " +
                             "identity, got " + activation.dump());
    }
    const std::int64_t m = size(field("input_dimension"), "input_dimension");
    const std::int64_t n = size(field("output_dimension"), "output_dimension");
    count_of("map", map_shape(m, n, architecture).parameter_count());
    count_of("potential", potential_shape(n, architecture).parameter_count());
    count_of("p", n * m);
    NgwModel<T> result(ctx, m, n, architecture, 0);
    // The numbers of a field (their count was checked above), all finite.
    const auto numbers = [&](const char* key) {
      const auto values = field(key).template get<std::vector<double>>();
      for (double v : values) {
        if (!std::isfinite(v))
          check.fail("path", "'" + path + "': field '" + key + "' is not finite");
      }
      return std::vector<T>(values.begin(), values.end());
    };
    const auto load_parameters = [&](const char* key, Mlp<T>& network) {
      const std::int64_t count = network.shape().parameter_count();
      const std::vector<T> parameters = numbers(key);
      copy<T>(ctx, vectors<const T>(parameters.data(), count, 1), network.parameters());
    };
    load_parameters("map", result.map_);
    load_parameters("potential", result.potential_);
    // P is stored row-major (n x m, as NumPy reads it); the view is column-major.
    const std::vector<T> p_row_major = numbers("p");
    std::vector<T> p_column_major(static_cast<std::size_t>(n * m));
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::int64_t c = 0; c < m; ++c) p_column_major[r + c * n] = p_row_major[r * m + c];
    }
    copy<T>(ctx, matrices<const T>(p_column_major.data(), n, m, 1), result.p());
    return result;
  } catch (const nlohmann::json::exception& e) {
    check.fail("path", "'" + path + "' is not a gaussot-ngw model (" + e.what() + ")");
  }
}

// ---- training --------------------------------------------------------------------------------

template <typename T>
NgwReport train_ngw(Context& ctx, NgwModel<T>& model, const SampleSource<T>& a,
                    const SampleSource<T>& b, const NgwOptions& options) {
  const ArgumentChecker check("train_ngw", &ctx);
  check.at_least("steps", options.steps, 0);
  check.at_least("k_p", options.k_p, 0);
  check.at_least("k_f", options.k_f, 0);
  check.at_least("k_t", options.k_t, 0);
  check.at_least("batch_size", options.batch_size, 1);
  check.positive("p_step", options.p_step);
  Sampler<T> source(ctx, check, "a", a), target(ctx, check, "b", b);
  const std::int64_t m = model.input_dimension(), n = model.output_dimension();
  const std::int64_t batch = options.batch_size;
  check_dimensions(check, source, target, m, n);
  Adam<T> map_adam(ctx, model.map().shape().parameter_count(), options.map_optimizer);
  Adam<T> potential_adam(ctx, model.potential().shape().parameter_count(),
                         options.potential_optimizer);

  Scratch<T> x(ctx, m, batch, 1);
  Scratch<T> pair(ctx, n, 2 * batch, 1);  // [y, T(x)]: the potential's inputs in its step
  const MatrixBatch<T> y = pair.view.columns(0, batch),
                       mapped = pair.view.columns(batch, 2 * batch);
  Scratch<T> potential_values(ctx, 1, 2 * batch, 1);
  Scratch<T> upstream(ctx, n, batch, 1);  // dS/dT(x) in the map's step
  Scratch<T> p_gradient(ctx, n, m, 1);
  const T inv_batch = T(1) / T(batch);
  // With f = φ − ½‖·‖² (φ the network): the potential's step descends −(mean φ(y) − mean
  // φ(T(x))) (the ½‖·‖² terms do not depend on φ); the map's step descends −mean(⟨P x, T(x)⟩ +
  // φ(T(x)) − ½‖T(x)‖²), whose gradient in T(x) is −(P x + ∇φ(T(x)) − T(x))/B.
  std::vector<T> potential_weights(static_cast<std::size_t>(2 * batch), inv_batch);
  std::fill(potential_weights.begin(), potential_weights.begin() + batch, -inv_batch);
  const Scratch<T> potential_upstream = on_context<T>(ctx, potential_weights, 1, 2 * batch, 1);
  const Scratch<T> map_upstream = constant<T>(ctx, 1, batch, -inv_batch);
  const T p_norm = T(model.p_norm());

  std::uint64_t draw = 0;
  const std::uint64_t seed = options.seed;
  const auto draw_x = [&] { source.draw(ctx, seed, ++draw, x.view); };
  for (std::int64_t step = 0; step < options.steps; ++step) {
    for (int k = 0; k < options.k_t; ++k) {
      draw_x();
      model.map().forward(ctx, x.cview(), mapped);
      model.potential().forward(ctx, mapped, potential_values.view.columns(0, batch));
      model.potential().backward(ctx, map_upstream.cview(), upstream.view);
      GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, -inv_batch,
                       MatrixBatch<const T>(model.p()), x.cview(), T(1), upstream.view);
      combine<T>(ctx, {{T(1), upstream.cview()}, {inv_batch, MatrixBatch<const T>(mapped)}},
                 upstream.view);
      model.map().backward(ctx, upstream.cview());
      map_adam.step(ctx, model.map().parameters(), model.map().gradients());
    }
    for (int k = 0; k < options.k_f; ++k) {
      draw_x();
      target.draw(ctx, seed, ++draw, y);
      model.map().forward(ctx, x.cview(), mapped);
      model.potential().forward(ctx, pair.cview(), potential_values.view);
      model.potential().backward(ctx, potential_upstream.cview());
      potential_adam.step(ctx, model.potential().parameters(), model.potential().gradients());
    }
    for (int k = 0; k < options.k_p; ++k) {
      draw_x();
      model.map().forward(ctx, x.cview(), mapped);
      // ∂/∂P of −mean ⟨P x, T(x)⟩ = −T(X) Xᵀ / B.
      GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, -inv_batch,
                       MatrixBatch<const T>(mapped), x.cview(), T(0), p_gradient.view);
      // P ← c (P − η c G/‖G‖) / ‖P − η c G/‖G‖‖: a normalised gradient step, then back onto the
      // sphere. (Adam would rescale every entry to the same speed and drive P towards equal
      // magnitudes; the normalised step keeps the direction, so P follows E T(x)xᵀ.)
      GAUSSOT_DISPATCH(ctx, rescale_to_norm<T>, p_gradient.view, T(options.p_step) * p_norm);
      combine<T>(ctx, {{T(1), MatrixBatch<const T>(model.p())}, {T(-1), p_gradient.cview()}},
                 model.p());
      GAUSSOT_DISPATCH(ctx, rescale_to_norm<T>, model.p(), p_norm);
    }
  }

  // The objective on a fresh batch, with f = φ − ½‖·‖² (see train_ngw's header):
  //   mean φ(y) − ½ mean ‖y‖² − mean φ(T(x)) + ½ mean ‖T(x)‖² − mean ⟨P x, T(x)⟩.
  draw_x();
  target.draw(ctx, seed, ++draw, y);
  model.map().forward(ctx, x.cview(), mapped);
  model.potential().forward(ctx, pair.cview(), potential_values.view);
  Scratch<T> px(ctx, n, batch, 1);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1),
                   MatrixBatch<const T>(model.p()), x.cview(), T(0), px.view);
  Scratch<T> sums(ctx, 1, 1, 3);  // ⟨P x, T(x)⟩, ‖y‖², ‖T(x)‖² summed over the batch
  const MatrixBatch<const T> y_then_mapped{pair.view.data, n * batch, 1, n * batch, n * batch, 2,
                                           pair.view.space};
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, px.cview(), MatrixBatch<const T>(mapped),
                   VectorBatch<T>(sums.view.data, 1, 1, 1, sums.view.space));
  GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, y_then_mapped, y_then_mapped,
                   VectorBatch<T>(sums.view.data + 1, 1, 1, 2, sums.view.space));
  const std::vector<double> f =
      to_host<T>(ctx, VectorBatch<const T>(potential_values.view.data, 2 * batch, 0, 1,
                                           potential_values.view.space));
  const std::vector<double> s = to_host<T>(ctx, VectorBatch<const T>(sums.vectors()));
  double objective = -s[0] - 0.5 * s[1] + 0.5 * s[2];
  for (std::int64_t j = 0; j < 2 * batch; ++j) objective += j < batch ? f[j] : -f[j];
  objective /= double(batch);
  return {options.steps, objective};
}

// ---- evaluation ------------------------------------------------------------------------------

template <typename T>
NgwEvaluation evaluate_ngw(Context& ctx, NgwModel<T>& model, const SampleSource<T>& a,
                           const SampleSource<T>& b, std::int64_t samples, std::uint64_t seed) {
  const ArgumentChecker check("evaluate_ngw", &ctx);
  Sampler<T> source(ctx, check, "a", a), target(ctx, check, "b", b);
  const std::int64_t m = model.input_dimension(), n = model.output_dimension();
  check_dimensions(check, source, target, m, n);
  const std::int64_t total = source.is_sample_set() ? a.samples.cols : samples;
  check.expect(total >= 2, source.is_sample_set() ? "a.samples" : "samples",
               "must give at least 2 points, got " + std::to_string(total));

  // Sums over the points: the Grams XXᵀ, YYᵀ, YXᵀ, and Σ (‖x‖² − ‖y‖²)², the diagonal of the
  // V-statistic that the U-statistic leaves out.
  Scratch<T> gram_x(ctx, m, m, 1), gram_y(ctx, n, n, 1), gram_yx(ctx, n, m, 1);
  const std::int64_t chunk = std::min(total, kChunkColumns);
  Scratch<T> x(ctx, m, chunk, 1), y(ctx, n, chunk, 1);
  Scratch<T> norms(ctx, 2, chunk, 1), norm_gap(ctx, chunk, 1, 1), gap_sum(ctx, 1, 1, 1);
  MomentAccumulator<T> moments(ctx, n, 1);
  double diagonal = 0;
  for (std::int64_t begin = 0; begin < total; begin += chunk) {
    const std::int64_t columns = std::min(chunk, total - begin);
    const MatrixBatch<T> xc = x.view.columns(0, columns), yc = y.view.columns(0, columns);
    if (source.is_sample_set()) {
      copy<T>(ctx, source.samples().columns(begin, begin + columns), xc);
    } else {
      source.draw(ctx, seed, kEvaluationDraws + std::uint64_t(begin / chunk), xc);
    }
    model.map().forward(ctx, xc, yc);
    const T beta = begin == 0 ? T(0) : T(1);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), MatrixBatch<const T>(xc),
                     MatrixBatch<const T>(xc), beta, gram_x.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), MatrixBatch<const T>(yc),
                     MatrixBatch<const T>(yc), beta, gram_y.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), MatrixBatch<const T>(yc),
                     MatrixBatch<const T>(xc), beta, gram_yx.view);
    // Column norms: each column is a batch item of its own for frobenius_inner.
    const MatrixBatch<const T> x_columns{xc.data, m, 1, m, m, columns, xc.space};
    const MatrixBatch<const T> y_columns{yc.data, n, 1, n, n, columns, yc.space};
    const VectorBatch<T> x_norms{norms.view.data, 1, 1, columns, norms.view.space};
    const VectorBatch<T> y_norms{norms.view.data + chunk, 1, 1, columns, norms.view.space};
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, x_columns, x_columns, x_norms);
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, y_columns, y_columns, y_norms);
    const MatrixBatch<T> gap = norm_gap.view.slice(0, 1);
    const MatrixBatch<T> gap_column{gap.data, columns, 1, columns, columns, 1, gap.space};
    combine<T>(ctx, {{T(1), x_norms.as_matrices()}, {T(-1), y_norms.as_matrices()}},
               MatrixBatch<T>(gap.data, 1, 1, 1, 1, columns, gap.space));
    GAUSSOT_DISPATCH(ctx, frobenius_inner<T>, MatrixBatch<const T>(gap_column),
                     MatrixBatch<const T>(gap_column), gap_sum.vectors());
    diagonal += to_host<T>(ctx, VectorBatch<const T>(gap_sum.vectors()))[0];
    if (!target.is_sample_set()) moments.add(yc);
  }
  const auto squared_norm = [&](const Scratch<T>& g) {
    double s = 0;
    for (double v : to_host<T>(ctx, VectorBatch<const T>(g.view.data, g.view.rows * g.view.cols, 0,
                                                         1, g.view.space))) {
      s += v * v;
    }
    return s;
  };
  const double N = double(total);
  const double v_statistic =
      (squared_norm(gram_x) + squared_norm(gram_y) - 2 * squared_norm(gram_yx)) / (N * N);
  NgwEvaluation result;
  result.samples = total;
  result.igw_squared_estimate = N / (N - 1) * (v_statistic - diagonal / (N * N));

  if (a.is_gaussian() && b.is_gaussian() && a.gaussian.centered() && b.gaussian.centered()) {
    Scratch<T> value(ctx, 1, 1, 1);
    const std::vector<IgwReport> report =
        igw_squared<T>(ctx, a.gaussian, b.gaussian, {value.vectors(), {}, {}});
    if (report[0].exact) {
      result.igw_squared_closed_form = to_host<T>(ctx, VectorBatch<const T>(value.vectors()))[0];
    }
  }
  if (b.is_gaussian()) {
    Scratch<T> mean(ctx, n, 1, 1), covariance(ctx, n, n, 1), w2(ctx, 1, 1, 1),
        trace_b(ctx, 1, 1, 1);
    moments.finalize(mean.vectors(), covariance.view);
    w2_squared<T>(ctx, GaussianBatch<const T>(mean.vectors(), covariance.cview()), b.gaussian,
                  w2.vectors());
    GAUSSOT_DISPATCH(ctx, trace<T>, b.gaussian.covariances, trace_b.vectors());
    const double w2_value = to_host<T>(ctx, VectorBatch<const T>(w2.vectors()))[0];
    const double variance = to_host<T>(ctx, VectorBatch<const T>(trace_b.vectors()))[0];
    result.bw2_uvp = 100 * w2_value / (0.5 * variance);
  }
  return result;
}

template class NgwModel<float>;
template class NgwModel<double>;
#define GAUSSOT_INSTANTIATE_NGW(T)                                                       \
  template NgwReport train_ngw<T>(Context&, NgwModel<T>&, const SampleSource<T>&,        \
                                  const SampleSource<T>&, const NgwOptions&);            \
  template NgwEvaluation evaluate_ngw<T>(Context&, NgwModel<T>&, const SampleSource<T>&, \
                                         const SampleSource<T>&, std::int64_t, std::uint64_t);
GAUSSOT_INSTANTIATE_NGW(float)
GAUSSOT_INSTANTIATE_NGW(double)

}  // namespace gaussot
