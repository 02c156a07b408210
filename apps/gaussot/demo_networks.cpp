// SPDX-License-Identifier: Apache-2.0
#include "demo_networks.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace gaussot::cli {

double PortableNormal::operator()() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // Uniforms in (0, 1]: 53 random bits, shifted away from 0 so that the logarithm is finite.
  auto uniform = [this] { return (static_cast<double>(engine_() >> 11) + 1) * 0x1p-53; };
  const double radius = std::sqrt(-2 * std::log(uniform()));
  const double angle = 2 * 3.14159265358979323846 * uniform();
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

namespace {

enum class Activation { tanh, relu };

/// A dense layer x -> φ(W x + b): W (out x in) stored as `in` rows of `out` weights (row k holds
/// the weights of input k), so that a row of inputs times W is a running sum over rows.
struct Dense {
  std::int64_t in = 0, out = 0;
  Activation activation = Activation::tanh;
  double weight_scale = 0;      ///< standard deviation of the weights: gain / √in
  double bias_scale = 0;        ///< standard deviation of the biases
  std::vector<double> weights;  ///< in x out, row-major
  std::vector<double> bias;     ///< out
};

/// A layer with W_ij ~ N(0, gain²/in) and b_j ~ N(0, bias_scale²).
Dense random_dense(PortableNormal& normal, std::int64_t in, std::int64_t out, Activation activation,
                   double gain, double bias_scale) {
  Dense layer{in,
              out,
              activation,
              gain / std::sqrt(static_cast<double>(in)),
              bias_scale,
              std::vector<double>(in * out),
              std::vector<double>(out)};
  for (double& w : layer.weights) w = layer.weight_scale * normal();
  for (double& b : layer.bias) b = bias_scale * normal();
  return layer;
}

/// A tanh layer (gain 1.5: in its non-linear range, biases of standard deviation 0.5).
Dense tanh_layer(PortableNormal& normal, std::int64_t in, std::int64_t out) {
  return random_dense(normal, in, out, Activation::tanh, 1.5, 0.5);
}

/// A ReLU layer without biases (gain 1: activations of about the tanh layers' size).
Dense relu_layer(PortableNormal& normal, std::int64_t in, std::int64_t out) {
  return random_dense(normal, in, out, Activation::relu, 1.0, 0.0);
}

/// `layer` with `relative` times its own scale of independent Gaussian noise added to every
/// weight and bias.
Dense perturbed(const Dense& layer, PortableNormal& normal, double relative) {
  Dense copy = layer;
  for (double& w : copy.weights) w += relative * layer.weight_scale * normal();
  for (double& b : copy.bias) b += relative * layer.bias_scale * normal();
  return copy;
}

/// The layer's outputs for n rows of inputs (n x in, row-major): n x out, row-major.
std::vector<double> apply(const Dense& layer, const std::vector<double>& inputs, std::int64_t n) {
  std::vector<double> outputs(n * layer.out);
  for (std::int64_t i = 0; i < n; ++i) {
    double* row = outputs.data() + i * layer.out;
    std::copy(layer.bias.begin(), layer.bias.end(), row);
    for (std::int64_t k = 0; k < layer.in; ++k) {
      const double x = inputs[i * layer.in + k];
      const double* w = layer.weights.data() + k * layer.out;
      for (std::int64_t j = 0; j < layer.out; ++j) row[j] += x * w[j];
    }
    for (std::int64_t j = 0; j < layer.out; ++j) {
      row[j] = layer.activation == Activation::tanh ? std::tanh(row[j]) : std::max(row[j], 0.0);
    }
  }
  return outputs;
}

/// Runs `layers` on the inputs and appends every layer's activations to `data` as network
/// `network`.
void add_network(DemoData& data, DemoNetwork network, const std::vector<Dense>& layers,
                 const std::vector<double>& inputs) {
  const std::size_t index = data.networks.size();
  std::vector<double> activations = inputs;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    activations = apply(layers[l], activations, data.samples);
    data.layers.push_back(
        {network.name + "." + std::to_string(l + 1), index, layers[l].out, activations});
    network.widths.push_back(layers[l].out);
  }
  data.networks.push_back(std::move(network));
}

}  // namespace

namespace {

/// A random rotation of R^d: Gram–Schmidt on a Gaussian matrix (column-major, columns
/// orthonormal).
std::vector<double> random_rotation(PortableNormal& normal, std::int64_t d) {
  std::vector<double> q(static_cast<std::size_t>(d * d));
  for (double& v : q) v = normal();
  for (std::int64_t c = 0; c < d; ++c) {
    double* column = q.data() + c * d;
    for (std::int64_t p = 0; p < c; ++p) {
      const double* previous = q.data() + p * d;
      double dot = 0;
      for (std::int64_t r = 0; r < d; ++r) dot += previous[r] * column[r];
      for (std::int64_t r = 0; r < d; ++r) column[r] -= dot * previous[r];
    }
    double norm = 0;
    for (std::int64_t r = 0; r < d; ++r) norm += column[r] * column[r];
    for (std::int64_t r = 0; r < d; ++r) column[r] /= std::sqrt(norm);
  }
  return q;
}

}  // namespace

DemoUsers make_demo_users(std::int64_t per_style, std::int64_t samples, std::uint64_t seed) {
  struct Style {
    const char* name;
    double scale, ratio;
  };
  constexpr Style kStyles[3] = {{"steep", 6.0, 0.6}, {"moderate", 3.0, 0.8}, {"flat", 1.5, 0.9}};
  DemoUsers data;
  data.samples = samples;
  data.seed = seed;
  data.widths = {16, 32};
  for (const Style& style : kStyles) data.styles.push_back(style.name);
  PortableNormal normal(seed);
  for (std::int64_t i = 0; i < 3 * per_style; ++i) {
    DemoUser user;
    user.name = (i < 10 ? "u0" : "u") + std::to_string(i);
    user.style = i % 3;
    user.width = data.widths[static_cast<std::size_t>((i / 3) % 2)];
    const std::int64_t d = user.width;
    const Style& style = kStyles[user.style];
    const std::vector<double> q = random_rotation(normal, d);
    user.samples.assign(static_cast<std::size_t>(samples * d), 0.0);
    for (std::int64_t s = 0; s < samples; ++s) {
      double* x = user.samples.data() + s * d;
      for (std::int64_t l = 0; l < d; ++l) {
        const double z = std::sqrt(style.scale * std::pow(style.ratio, double(l))) * normal();
        for (std::int64_t r = 0; r < d; ++r) x[r] += q[r + l * d] * z;
      }
    }
    data.users.push_back(std::move(user));
  }
  return data;
}

DemoData make_demo_networks(std::int64_t samples, std::uint64_t seed) {
  constexpr std::int64_t kInputDimension = 16;
  DemoData data;
  data.samples = samples;
  data.input_dimension = kInputDimension;
  data.seed = seed;
  // One generator per purpose, so that each part stays the same when another one changes.
  PortableNormal input_noise(seed), a_noise(seed + 1), copy_noise(seed + 2), b_noise(seed + 3),
      c_noise(seed + 4);
  std::vector<double> inputs(samples * kInputDimension);
  for (double& x : inputs) x = input_noise();

  const std::vector<Dense> a = {tanh_layer(a_noise, kInputDimension, 64),
                                tanh_layer(a_noise, 64, 64), tanh_layer(a_noise, 64, 64)};
  std::vector<Dense> a_copy;
  for (const Dense& layer : a) a_copy.push_back(perturbed(layer, copy_noise, 0.3));
  const std::vector<Dense> b = {relu_layer(b_noise, kInputDimension, 128),
                                relu_layer(b_noise, 128, 128)};
  const std::vector<Dense> c = {a[0], tanh_layer(c_noise, 64, 32), tanh_layer(c_noise, 32, 32),
                                tanh_layer(c_noise, 32, 32)};

  add_network(data, {"A", "tanh, widths 64-64-64", {}}, a, inputs);
  add_network(data, {"A'", "A with its weights and biases perturbed by 30% noise", {}}, a_copy,
              inputs);
  add_network(data, {"B", "ReLU without biases, widths 128-128", {}}, b, inputs);
  add_network(data, {"C", "A's first layer (shared), then tanh 32-32-32", {}}, c, inputs);
  return data;
}

}  // namespace gaussot::cli
