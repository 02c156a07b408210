// SPDX-License-Identifier: Apache-2.0
// Private: the elementwise rules of the MLP primitives (backend.hpp, GAUSSOT_NGW_PRIMITIVES),
// written once for the Eigen backend and the CUDA kernels.
#pragma once

#include <cmath>

#include "backend.hpp"

namespace gaussot::mlp_rule {

/// act(z).
template <typename T>
GAUSSOT_HOST_DEVICE inline T activate(Activation activation, T z) {
  switch (activation) {
    case Activation::relu:
      return z > T(0) ? z : T(0);
    case Activation::leaky_relu:
      return z > T(0) ? z : T(kLeakySlope) * z;
    case Activation::tanh:
      return std::tanh(z);
    case Activation::identity:
      break;
  }
  return z;
}

/// act'(z) written as a function of the value a = act(z): relu and leaky_relu keep the sign of z
/// (a > 0 exactly when z > 0), and tanh' = 1 − tanh².
template <typename T>
GAUSSOT_HOST_DEVICE inline T derivative_at_value(Activation activation, T a) {
  switch (activation) {
    case Activation::relu:
      return a > T(0) ? T(1) : T(0);
    case Activation::leaky_relu:
      return a > T(0) ? T(1) : T(kLeakySlope);
    case Activation::tanh:
      return T(1) - a * a;
    case Activation::identity:
      break;
  }
  return T(1);
}

/// One Adam update of a parameter θ with gradient g and moments m, v (mlp.hpp).
template <typename T>
GAUSSOT_HOST_DEVICE inline void adam(const AdamStep& step, T& theta, T g, T& m, T& v) {
  m = T(step.beta1) * m + T(1 - step.beta1) * g;
  v = T(step.beta2) * v + T(1 - step.beta2) * g * g;
  const T m_hat = m / T(step.correction1);
  const T v_hat = v / T(step.correction2);
  theta -= T(step.learning_rate) * m_hat / (std::sqrt(v_hat) + T(step.epsilon));
}

}  // namespace gaussot::mlp_rule
