// SPDX-License-Identifier: Apache-2.0
/// @file ngw.hpp
/// Neural Gromov–Wasserstein (Nekrashevich, Korotin and Burnaev, Algorithm 1): a stochastic
/// solver of the inner-product GW problem between μ on R^m and ν on R^n from samples only, with a
/// map T: R^m → R^n that applies to unseen points.
///
/// Derivation (ours, from the IGW convention of igw.hpp). For a coupling π,
///   E_{π⊗π}(⟨x, x'⟩ − ⟨y, y'⟩)² = ‖E_μ xxᵀ‖²_F + ‖E_ν yyᵀ‖²_F − 2 ‖E_π y xᵀ‖²_F,
/// so IGW² maximises ‖E_π y xᵀ‖_F = max over ‖P‖_F = c of E_π⟨P x, y⟩ / c, and for fixed P the
/// inner problem is OT with cost −⟨P x, y⟩, whose semi-dual (Korotin et al.'s NOT) gives
///   max_π E_π⟨P x, y⟩ = −max_f min_T L(P, f, T),
///   L(P, f, T) = E_ν f(y) − E_μ[⟨P x, T(x)⟩ + f(T(x))].
/// The solver plays min over P (on the sphere ‖P‖_F = c = min(√m, √n)), max over the potential
/// f: R^n → R and min over the map T: R^m → R^n. Each outer step makes k_T steps on T, then k_f
/// steps on f, then k_P steps on P, each on fresh mini-batches:
///   - T and f are MLPs (mlp.hpp) trained by Adam, with f(y) = φ(y) − ½‖y‖² and φ the network.
///     (−⟨P x, y⟩ = ½‖P x − y‖² − ½‖P x‖² − ½‖y‖², so this is the quadratic-cost NOT
///     parametrisation: max_y ⟨P x, y⟩ + f(y) is bounded for any Lipschitz φ, whereas a
///     piecewise-linear f would let T run off to infinity. It changes no optimum.)
///   - P takes a normalised gradient step, P ← c·normalise(P + η c G/‖G‖) with G = mean T(x)xᵀ.
///     Adam does not suit P: its per-entry scaling moves every entry at the same speed, and
///     with the projection drives P towards equal magnitudes (we saw training stall at a
///     saddle, IGW² twice the optimum, on the 4 → 2 test pair).
///
/// Evaluation: the plan (id, T)#μ has the inner-GW cost
///   E(⟨x, x'⟩ − ⟨T(x), T(x')⟩)²  (x, x' iid ~ μ),
/// estimated by the unbiased U-statistic over N fresh samples (computed from the Gram matrices
/// XXᵀ, YYᵀ, YXᵀ and the squared norms of the samples, so O(N (m + n)²)); for centered Gaussians
/// it is compared with the closed form IGW² (igw.hpp), and the map's accuracy by
///   BW2-UVP = 100 · BW²(T#μ, ν) / (½ Var ν) %,
/// with T#μ replaced by the Gaussian fitted to the mapped samples and Var ν = tr Σ_ν.
///
/// Random numbers come from a counter-based generator (Philox4x32-10) keyed by the seed: a run
/// is reproducible, and the CPU and CUDA backends draw the same numbers (their results differ
/// only by rounding). On a CUDA context every training step stays on the device (the host only
/// enqueues work).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gaussot/context.hpp"
#include "gaussot/gaussian.hpp"
#include "gaussot/mlp.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// What the solver samples from: a Gaussian N(mean, covariance) (one item; no means: centered),
/// or a finite sample set (points drawn uniformly with replacement). Views on the context.
template <typename T>
struct SampleSource {
  GaussianBatch<const T> gaussian;  ///< count 1, or empty
  MatrixBatch<const T> samples;     ///< d x N (columns are points), count 1, or empty

  static SampleSource from_gaussian(GaussianBatch<const T> g) { return {g, {}}; }
  static SampleSource from_samples(MatrixBatch<const T> points) { return {{}, points}; }
  bool is_gaussian() const { return gaussian.count() > 0; }
  std::int64_t dimension() const { return is_gaussian() ? gaussian.dimension() : samples.rows; }
};

/// The networks of a model: hidden widths of the map T and of the potential f, and their
/// activation.
struct NgwArchitecture {
  std::vector<std::int64_t> map_hidden = {64, 64};
  std::vector<std::int64_t> potential_hidden = {64, 64};
  Activation activation = Activation::relu;
};

/// A map T: R^m → R^n, a potential f: R^n → R and the matrix P (n x m, ‖P‖_F = min(√m, √n)),
/// on one Context. Movable, not copyable.
template <typename T>
class NgwModel {
 public:
  /// A freshly initialised model (networks as Mlp; P with iid normal entries, rescaled to its
  /// sphere), reproducible from `seed`. InvalidArgument for m, n < 1 or bad widths.
  NgwModel(Context& ctx, std::int64_t m, std::int64_t n, const NgwArchitecture& architecture,
           std::uint64_t seed);

  std::int64_t input_dimension() const noexcept { return map_.shape().input; }
  std::int64_t output_dimension() const noexcept { return map_.shape().output; }
  const NgwArchitecture& architecture() const noexcept { return architecture_; }
  /// The radius c = min(√m, √n) of P's sphere.
  double p_norm() const;

  Mlp<T>& map() noexcept { return map_; }
  Mlp<T>& potential() noexcept { return potential_; }
  const Mlp<T>& map() const noexcept { return map_; }
  const Mlp<T>& potential() const noexcept { return potential_; }
  /// P (n x m, count 1, on the context).
  MatrixBatch<T> p() noexcept { return p_.matrices(output_dimension(), input_dimension(), 1); }
  MatrixBatch<const T> p() const noexcept {
    return p_.matrices(output_dimension(), input_dimension(), 1);
  }

  /// y = T(x) for any number of points: x (m x N) and y (n x N) on the context, count 1;
  /// evaluated in chunks. InvalidArgument naming 'x' or 'y' for wrong shapes or spaces, and 'x'
  /// for non-finite points.
  void apply(Context& ctx, MatrixBatch<const T> x, MatrixBatch<T> y);

  /// Writes the model as JSON: {"format": "gaussot-ngw", "version": 1, "input_dimension",
  /// "output_dimension", "activation", "map_hidden", "potential_hidden", "map", "potential"
  /// (flat parameter lists, mlp.hpp layout), "p" (row-major n x m)}; numbers round-trip
  /// exactly. Writes to a temporary file and renames it, so a failed save leaves no partial
  /// file. InvalidArgument naming `path` when it cannot be written.
  void save(Context& ctx, const std::string& path) const;
  /// Reads a model written by save() (in any precision) onto ctx. InvalidArgument naming `path`
  /// for a missing, unreadable or malformed file (the message names the bad field).
  static NgwModel load(Context& ctx, const std::string& path);

 private:
  NgwArchitecture architecture_;
  Mlp<T> map_;
  Mlp<T> potential_;
  Array<T> p_;
};

/// Options of train_ngw.
struct NgwOptions {
  std::int64_t steps = 2000;      ///< outer steps (>= 0)
  int k_p = 1;                    ///< P steps per outer step (>= 0)
  int k_f = 1;                    ///< potential steps per outer step (>= 0)
  int k_t = 10;                   ///< map steps per outer step (>= 0)
  std::int64_t batch_size = 256;  ///< points per mini-batch, for each distribution (>= 1)
  AdamOptions map_optimizer{1e-3};
  AdamOptions potential_optimizer{1e-3};
  /// Step η of P's normalised gradient ascent (> 0): P ← c·normalise(P + η c G/‖G‖) with
  /// G = mean T(x)xᵀ over the batch; large η jumps to the batch's best P = c G/‖G‖.
  double p_step = 0.01;
  std::uint64_t seed = 0;  ///< mini-batches are drawn from this seed's stream
};

/// What training did.
struct NgwReport {
  std::int64_t steps = 0;  ///< outer steps made
  /// The mini-batch objective L(P, f, T) after the last step (on a fresh batch): −L estimates
  /// max_π E_π⟨P x, y⟩.
  double objective = 0;
};

/// Trains `model` from μ = `a` (dimension m) to ν = `b` (dimension n). Gaussian sources are
/// validated like every Gaussian input (finite, symmetric, PSD); sample sets must be finite
/// with at least one point. InvalidArgument naming 'a', 'b' or the option for bad input or
/// options (steps, k_p, k_f, k_t < 0, batch_size < 1, bad Adam options).
template <typename T>
NgwReport train_ngw(Context& ctx, NgwModel<T>& model, const SampleSource<T>& a,
                    const SampleSource<T>& b, const NgwOptions& options);

/// Ground-truth comparison of a trained model.
struct NgwEvaluation {
  /// U-statistic estimate of E(⟨x, x'⟩ − ⟨T(x), T(x')⟩)² over `samples` points.
  double igw_squared_estimate = 0;
  std::int64_t samples = 0;
  /// IGW²(μ, ν) in closed form: both sides centered Gaussians.
  std::optional<double> igw_squared_closed_form;
  /// 100 · BW²(T#μ, ν) / (½ tr Σ_ν): ν Gaussian.
  std::optional<double> bw2_uvp;
};

/// Evaluates `model` on `samples` fresh points of a Gaussian `a` (drawn from `seed` in a stream
/// separate from training's), or on every point of a sample set `a` (`samples` ignored).
/// InvalidArgument for bad sources, samples < 2, or dimensions that do not match the model.
template <typename T>
NgwEvaluation evaluate_ngw(Context& ctx, NgwModel<T>& model, const SampleSource<T>& a,
                           const SampleSource<T>& b, std::int64_t samples = 65536,
                           std::uint64_t seed = 0);

}  // namespace gaussot
