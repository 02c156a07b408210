// SPDX-License-Identifier: Apache-2.0
/// @file mlp.hpp
/// Small fully connected networks with their own forward and backward passes, and the Adam
/// optimizer, on either backend: the building blocks of the neural Gromov–Wasserstein solver
/// (ngw.hpp). Matrix products are the backend's GEMM (Eigen or cuBLAS); the elementwise steps
/// are backend kernels, so training on a CUDA context never leaves the device.
///
/// A network with widths input = w_0, w_1, ..., w_L = output computes, for a batch X (w_0 x B,
/// columns are points),
///   A_0 = X,  A_l = act(W_l A_{l−1} + b_l) for l < L,  output = W_L A_{L−1} + b_L,
/// with W_l of shape w_l x w_{l−1}: hidden layers apply the activation, the last layer is affine.
/// The parameters are one flat vector: for each layer, W_l (column-major), then b_l.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gaussot/array.hpp"
#include "gaussot/context.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// The activation of the hidden layers. leaky_relu has slope kLeakySlope for negative inputs;
/// identity makes the whole network affine.
enum class Activation { relu, leaky_relu, tanh, identity };

/// Slope of leaky_relu for negative inputs.
inline constexpr double kLeakySlope = 0.2;

/// "relu", "leaky_relu", "tanh", "identity".
const char* to_string(Activation activation) noexcept;
/// The activation named `name` (as to_string); InvalidArgument naming `argument` otherwise.
Activation parse_activation(const std::string& name, const std::string& argument = "activation");

/// The widths of a network and its activation.
struct MlpShape {
  std::int64_t input = 0;            ///< w_0 >= 1
  std::vector<std::int64_t> hidden;  ///< w_1 ... w_{L−1}, each >= 1 (empty: one affine layer)
  std::int64_t output = 0;           ///< w_L >= 1
  Activation activation = Activation::relu;

  /// Number of layers L (hidden.size() + 1).
  std::int64_t layers() const noexcept { return static_cast<std::int64_t>(hidden.size()) + 1; }
  /// Width w_l, l = 0 ... L.
  std::int64_t width(std::int64_t l) const;
  /// Σ_l w_l (w_{l−1} + 1).
  std::int64_t parameter_count() const;
};

/// Adam (Kingma and Ba 2015) with bias correction:
///   m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²,
///   θ ← θ − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε).
struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

/// The state of Adam for one flat parameter vector, in the context's memory space.
template <typename T>
class Adam {
 public:
  /// Zero moments for `size` parameters. InvalidArgument for options outside lr > 0,
  /// 0 <= β1, β2 < 1, ε > 0 (named 'learning_rate', 'beta1', 'beta2', 'epsilon').
  Adam(Context& ctx, std::int64_t size, const AdamOptions& options);

  /// One update of `parameters` (size elements on the context, count 1) with `gradients`.
  void step(Context& ctx, VectorBatch<T> parameters, VectorBatch<const T> gradients);

  std::int64_t steps() const noexcept { return steps_; }

 private:
  AdamOptions options_;
  Array<T> first_moment_;
  Array<T> second_moment_;
  std::int64_t steps_ = 0;
};

/// A fully connected network on a Context, with the buffers that backward() needs.
template <typename T>
class Mlp {
 public:
  /// A network of the given shape, initialised like PyTorch's nn.Linear: every weight and bias
  /// of layer l uniform in [−1/√w_{l−1}, 1/√w_{l−1}], drawn from a counter-based generator
  /// keyed by `seed` (the same numbers on every backend). InvalidArgument for widths < 1.
  Mlp(Context& ctx, MlpShape shape, std::uint64_t seed);

  const MlpShape& shape() const noexcept { return shape_; }

  /// The flat parameter vector (count 1, on the context); writable, e.g. to load a model.
  VectorBatch<T> parameters() noexcept { return parameters_.vectors(parameters_.size(), 1); }
  VectorBatch<const T> parameters() const noexcept {
    return parameters_.vectors(parameters_.size(), 1);
  }
  /// The gradient written by the last backward(), laid out as parameters().
  VectorBatch<const T> gradients() const noexcept {
    return gradients_.vectors(gradients_.size(), 1);
  }
  /// Weight W_l and bias b_l of layer l = 1 ... L (views into parameters()).
  MatrixBatch<T> weight(std::int64_t l);
  VectorBatch<T> bias(std::int64_t l);

  /// out = network(x) for x (input x B) and out (output x B), both on the context (count 1),
  /// B >= 1. Keeps the hidden activations for backward(), which also reads x: keep x alive and
  /// unchanged until then.
  void forward(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> out);

  /// After forward(x): with upstream G (output x B) the gradient of the scalar Σ_ij G_ij out_ij,
  /// writes gradients() = its derivative in the parameters and, when input_gradient is given
  /// (input x B, else count 0), its derivative in x. Gradients are overwritten, not
  /// accumulated.
  void backward(Context& ctx, MatrixBatch<const T> upstream,
                MatrixBatch<T> input_gradient = MatrixBatch<T>());

 private:
  void reserve(Context& ctx, std::int64_t columns);

  MlpShape shape_;
  std::vector<std::int64_t> offsets_;  ///< start of W_l in the flat vector, l = 1 ... L
  Array<T> parameters_;
  Array<T> gradients_;
  Array<T> ones_;                      ///< B ones: bias gradients are G · 1 (a GEMM)
  std::vector<Array<T>> activations_;  ///< A_1 ... A_{L−1}, capacity_ columns each
  Array<T> delta_a_, delta_b_;         ///< back-propagated gradients (ping-pong)
  std::int64_t capacity_ = 0;
  std::int64_t batch_ = 0;      ///< columns of the last forward()
  MatrixBatch<const T> input_;  ///< x of the last forward()
};

}  // namespace gaussot
