// SPDX-License-Identifier: Apache-2.0
// Fully connected networks and Adam (mlp.hpp), written once over the backend primitives: GEMMs
// for the products, GAUSSOT_NGW_PRIMITIVES for the elementwise steps.
#include "gaussot/mlp.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "philox.hpp"
#include "validate.hpp"

namespace gaussot {

const char* to_string(Activation activation) noexcept {
  switch (activation) {
    case Activation::relu:
      return "relu";
    case Activation::leaky_relu:
      return "leaky_relu";
    case Activation::tanh:
      return "tanh";
    case Activation::identity:
      return "identity";
  }
  return "?";
}

Activation parse_activation(const std::string& name, const std::string& argument) {
  for (Activation a :
       {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::identity}) {
    if (name == to_string(a)) return a;
  }
  ArgumentChecker("parse_activation")
      .fail(argument.c_str(), "must be relu, leaky_relu, tanh or identity, not '" + name + "'");
}

std::int64_t MlpShape::width(std::int64_t l) const {
  if (l == 0) return input;
  if (l == layers()) return output;
  return hidden.at(static_cast<std::size_t>(l - 1));
}

std::int64_t MlpShape::parameter_count() const {
  std::int64_t total = 0;
  for (std::int64_t l = 1; l <= layers(); ++l) total += width(l) * (width(l - 1) + 1);
  return total;
}

// ---- Adam ------------------------------------------------------------------------------------

namespace {
void check_adam(const ArgumentChecker& check, const AdamOptions& o) {
  check.positive("learning_rate", o.learning_rate);
  check.in_interval("beta1", o.beta1, 0, 1, /*open_low=*/false, /*open_high=*/true);
  check.in_interval("beta2", o.beta2, 0, 1, /*open_low=*/false, /*open_high=*/true);
  check.positive("epsilon", o.epsilon);
}

template <typename T>
Array<T> zeros(Context& ctx, std::int64_t size) {
  Array<T> out(ctx, size);
  combine<T>(ctx, {}, out.matrices(size, 1, 1));
  return out;
}
}  // namespace

template <typename T>
Adam<T>::Adam(Context& ctx, std::int64_t size, const AdamOptions& options)
    : options_(options), first_moment_(zeros<T>(ctx, size)), second_moment_(zeros<T>(ctx, size)) {
  check_adam(ArgumentChecker("Adam", &ctx), options);
}

template <typename T>
void Adam<T>::step(Context& ctx, VectorBatch<T> parameters, VectorBatch<const T> gradients) {
  ++steps_;
  AdamStep step;
  step.learning_rate = options_.learning_rate;
  step.beta1 = options_.beta1;
  step.beta2 = options_.beta2;
  step.epsilon = options_.epsilon;
  step.correction1 = 1 - std::pow(options_.beta1, double(steps_));
  step.correction2 = 1 - std::pow(options_.beta2, double(steps_));
  const std::int64_t n = first_moment_.size();
  GAUSSOT_DISPATCH(ctx, adam_update<T>, step, parameters, gradients, first_moment_.vectors(n, 1),
                   second_moment_.vectors(n, 1));
}

// ---- Mlp -------------------------------------------------------------------------------------

template <typename T>
Mlp<T>::Mlp(Context& ctx, MlpShape shape, std::uint64_t seed) : shape_(std::move(shape)) {
  const ArgumentChecker check("Mlp", &ctx);
  for (std::int64_t l = 0; l <= shape_.layers(); ++l) {
    check.expect(shape_.width(l) >= 1, "shape",
                 "layer widths must be >= 1, width " + std::to_string(l) + " is " +
                     std::to_string(shape_.width(l)));
  }
  const std::int64_t total = shape_.parameter_count();
  std::vector<T> host(static_cast<std::size_t>(total));
  std::int64_t offset = 0;
  for (std::int64_t l = 1; l <= shape_.layers(); ++l) {
    offsets_.push_back(offset);
    const std::int64_t size = shape_.width(l) * (shape_.width(l - 1) + 1);
    const double bound = 1 / std::sqrt(double(shape_.width(l - 1)));
    for (std::int64_t k = 0; k < size; ++k) {
      host[offset + k] =
          T(bound * (2 * philox::uniform(seed, std::uint64_t(l), std::uint64_t(k)) - 1));
    }
    offset += size;
  }
  parameters_ = Array<T>(ctx, total);
  gradients_ = zeros<T>(ctx, total);
  copy<T>(ctx, vectors<const T>(host.data(), total, 1), parameters());
}

template <typename T>
MatrixBatch<T> Mlp<T>::weight(std::int64_t l) {
  return {parameters_.data() + offsets_[l - 1],
          shape_.width(l),
          shape_.width(l - 1),
          shape_.width(l),
          0,
          1,
          parameters_.space()};
}

template <typename T>
VectorBatch<T> Mlp<T>::bias(std::int64_t l) {
  return {parameters_.data() + offsets_[l - 1] + shape_.width(l) * shape_.width(l - 1),
          shape_.width(l), 0, 1, parameters_.space()};
}

template <typename T>
void Mlp<T>::reserve(Context& ctx, std::int64_t columns) {
  if (columns <= capacity_) return;
  std::int64_t widest = shape_.output;
  activations_.clear();
  for (std::int64_t l = 1; l < shape_.layers(); ++l) {
    activations_.emplace_back(ctx, shape_.width(l) * columns);
    widest = std::max(widest, shape_.width(l));
  }
  widest = std::max(widest, shape_.input);
  delta_a_ = Array<T>(ctx, widest * columns);
  delta_b_ = Array<T>(ctx, widest * columns);
  std::vector<T> ones(static_cast<std::size_t>(columns), T(1));
  ones_ = Array<T>(ctx, columns);
  copy<T>(ctx, vectors<const T>(ones.data(), columns, 1), ones_.vectors(columns, 1));
  capacity_ = columns;
}

template <typename T>
void Mlp<T>::forward(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> out) {
  const ArgumentChecker check("Mlp::forward", &ctx);
  check.input("x", x);
  check.count("x", x.count, 1);
  check.matrix_shape("x", x, shape_.input, x.cols);
  check.expect(x.cols >= 1, "x", "must hold at least one point");
  check.output("out", out);
  check.count("out", out.count, 1);
  check.matrix_shape("out", out, shape_.output, x.cols);
  const std::int64_t batch = x.cols;
  reserve(ctx, batch);
  input_ = x;
  batch_ = batch;
  MatrixBatch<const T> previous = x;
  for (std::int64_t l = 1; l <= shape_.layers(); ++l) {
    const bool last = l == shape_.layers();
    const MatrixBatch<T> z = last ? out : activations_[l - 1].matrices(shape_.width(l), batch, 1);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), weight(l), previous, T(0),
                     z);
    GAUSSOT_DISPATCH(ctx, bias_activation<T>, last ? Activation::identity : shape_.activation,
                     bias(l), z);
    previous = z;
  }
}

template <typename T>
void Mlp<T>::backward(Context& ctx, MatrixBatch<const T> upstream, MatrixBatch<T> input_gradient) {
  const ArgumentChecker check("Mlp::backward", &ctx);
  check.expect(batch_ > 0, "upstream", "needs a forward() first");
  check.input("upstream", upstream);
  check.count("upstream", upstream.count, 1);
  check.matrix_shape("upstream", upstream, shape_.output, batch_);
  check.optional_output("input_gradient", input_gradient, shape_.input, batch_, 1);
  const std::int64_t batch = batch_;
  const MatrixBatch<const T> ones = ones_.matrices(batch, 1, 1);
  // delta holds dS/dZ_l for the current layer l (Z_l its pre-activation).
  MatrixBatch<const T> delta = upstream;
  Array<T>* spare = &delta_a_;
  for (std::int64_t l = shape_.layers(); l >= 1; --l) {
    const MatrixBatch<const T> below =
        l == 1 ? input_
               : MatrixBatch<const T>(activations_[l - 2].matrices(shape_.width(l - 1), batch, 1));
    const std::int64_t offset = offsets_[l - 1];
    const MatrixBatch<T> weight_gradient{
        gradients_.data() + offset, shape_.width(l), shape_.width(l - 1), shape_.width(l), 0, 1,
        gradients_.space()};
    const MatrixBatch<T> bias_gradient{
        gradients_.data() + offset + shape_.width(l) * shape_.width(l - 1),
        shape_.width(l),
        1,
        shape_.width(l),
        0,
        1,
        gradients_.space()};
    // dW_l = δ_l A_{l−1}ᵀ, db_l = δ_l 1.
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), delta, below, T(0),
                     weight_gradient);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), delta, ones, T(0),
                     bias_gradient);
    if (l == 1 && input_gradient.count == 0) break;
    // dS/dA_{l−1} = W_lᵀ δ_l; then δ_{l−1} = that ⊙ act'(Z_{l−1}).
    const MatrixBatch<T> next =
        l == 1 ? input_gradient : spare->matrices(shape_.width(l - 1), batch, 1);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1),
                     MatrixBatch<const T>(weight(l)), delta, T(0), next);
    if (l > 1) {
      GAUSSOT_DISPATCH(ctx, activation_backward<T>, shape_.activation, below, next);
    }
    delta = next;
    spare = spare == &delta_a_ ? &delta_b_ : &delta_a_;
  }
}

template class Adam<float>;
template class Adam<double>;
template class Mlp<float>;
template class Mlp<double>;

}  // namespace gaussot
