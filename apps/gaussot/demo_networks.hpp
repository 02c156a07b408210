// SPDX-License-Identifier: Apache-2.0
// The built-in data of `gaussot demo`: one fixed set of inputs fed to a few random-feature MLPs,
// giving the activations of every (network, layer) pair. Generated in C++ from a seed, the same
// on every platform: std::mt19937_64's output is fixed by the C++ standard, and the Gaussians come
// from a hand-written Box–Muller transform of it (std::normal_distribution differs between
// standard libraries). Values are reproducible to the last bit wherever std::log, std::cos,
// std::tanh and the compiler's floating-point contraction agree (the same build always agrees).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace gaussot::cli {

/// Standard normal numbers from std::mt19937_64: uniforms from the top 53 bits of each output,
/// then Box–Muller (both numbers of each pair are used).
class PortableNormal {
 public:
  explicit PortableNormal(std::uint64_t seed) : engine_(seed) {}
  double operator()();

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

/// One network of the demo.
struct DemoNetwork {
  std::string name;                  ///< short name, e.g. "A"
  std::string description;           ///< e.g. "tanh, widths 64-64-64"
  std::vector<std::int64_t> widths;  ///< width of each layer, input side first
};

/// The activations of one layer of one network for all inputs.
struct DemoLayer {
  std::string name;         ///< "<network>.<layer>", layers counted from 1: "A.2"
  std::size_t network = 0;  ///< index in DemoData::networks
  std::int64_t width = 0;   ///< d
  /// samples x d, row-major (NumPy (n, d) C order), i.e. a column-major d x n matrix whose
  /// columns are the samples: gaussot's layout of a sample set.
  std::vector<double> activations;
};

/// Inputs, networks and all their layers' activations.
struct DemoData {
  std::int64_t samples = 0;          ///< n inputs
  std::int64_t input_dimension = 0;  ///< their dimension
  std::uint64_t seed = 0;
  std::vector<DemoNetwork> networks;
  std::vector<DemoLayer> layers;  ///< network by network, first layer first
};

/// The demo's data: n = `samples` inputs x ~ N(0, I) in R^16, and four MLPs with Gaussian random
/// weights (W_ij ~ N(0, g²/fan_in)) that show structure when compared:
///   A   tanh, widths 64-64-64 (g = 1.5, biases ~ N(0, 0.25));
///   A'  A with every weight and bias perturbed by 30% of its scale: close to A, layer by layer;
///   B   ReLU without biases, widths 128-128 (g = 1), independent of A;
///   C   A's first layer itself (shared: identical activations), then tanh 32-32-32.
/// 12 layers in all (widths 128, 64 and 32); about 0.1 s on one core for n = 2000.
DemoData make_demo_networks(std::int64_t samples = 2000, std::uint64_t seed = 2026);

/// One "user" of the clustering part of the demo: a sample set of one style, in one width.
struct DemoUser {
  std::string name;             ///< e.g. "u07"
  std::int64_t style = 0;       ///< index in DemoUsers::styles: the true label
  std::int64_t width = 0;       ///< d
  std::vector<double> samples;  ///< samples x d, row-major, as DemoLayer::activations
};

/// Heterogeneous users as in the paper's clustering run (§7.3 of the reference: users of three
/// writing styles whose documents are embedded by one of two models of different widths), made
/// synthetic: style s has the covariance spectrum λ_j = a_s r_s^j (j = 0, 1, ...), with
/// (a, r) = (6, 0.6) "steep", (3, 0.8) "moderate", (1.5, 0.9) "flat"; user i has style i mod 3
/// and width 16 or 32 (alternating by pairs of users, so that both widths hold every style),
/// and `samples` draws x = Q Λ^½ z with z ~ N(0, I) and its own random rotation Q.
struct DemoUsers {
  std::int64_t samples = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> styles;
  std::vector<std::int64_t> widths;  ///< the two widths
  std::vector<DemoUser> users;
};

/// 3 x `per_style` users of `samples` draws each.
DemoUsers make_demo_users(std::int64_t per_style = 12, std::int64_t samples = 200,
                          std::uint64_t seed = 2027);

}  // namespace gaussot::cli
