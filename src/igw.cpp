// SPDX-License-Identifier: Apache-2.0
// The IGW algorithms of igw.hpp: eigendecompositions on the context (the O(d³) part, batched),
// then closed forms, bounds and the Stiefel ascent in spectral coordinates on the host (O(d) data
// per pair), then the plan and map back on the context (GEMMs).
#include "gaussot/igw.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "gaussian_batches.hpp"
#include "gaussot/statistics.hpp"
#include "igw_ascent.hpp"
#include "igw_gradient.hpp"
#include "padded_spectra.hpp"
#include "spectral_internal.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();

/// One side's Gaussians in spectral coordinates, on the host: per distinct item (a broadcast
/// side has one), the decreasing eigenvalues α, the projected mean v = Λ^½ Qᵀ m and ‖m‖².
template <typename T>
struct SideSpectra {
  std::int64_t d = 0, items = 0;
  bool broadcast = false;                  ///< one Gaussian stands for every batch item
  std::vector<double> eigenvalues;         ///< items x d
  std::vector<double> projected;           ///< items x d (zeros for a centered side)
  std::vector<double> mean_norm2;          ///< items
  std::optional<Scratch<T>> eigenvectors;  ///< d x d x items on the context, when kept
  std::vector<double> flips;               ///< items x d: ±1 that normalise the eigenvector signs

  std::int64_t index(std::int64_t item) const { return broadcast ? 0 : item; }
  const double* alpha(std::int64_t item) const { return eigenvalues.data() + index(item) * d; }
  const double* v(std::int64_t item) const { return projected.data() + index(item) * d; }
  double m2(std::int64_t item) const { return mean_norm2[index(item)]; }
  const double* flip(std::int64_t item) const { return flips.data() + index(item) * d; }
};

/// Eigendecomposes the distinct Gaussians of g (eigenvalues only when g is centered and the
/// eigenvectors are not kept). With `keep_eigenvectors` the eigenvectors stay on the context and
/// `flips` holds the signs that make each one's entry of largest magnitude positive; the
/// projected means are then given in those normalised coordinates.
template <typename T>
SideSpectra<T> side_spectra(Context& ctx, const ArgumentChecker& check, const Names& names,
                            GaussianBatch<const T> g, const SpectralOptions& spectral,
                            bool keep_eigenvectors, bool positive_definite) {
  SideSpectra<T> side;
  side.d = g.dimension();
  const std::int64_t d = side.d;
  side.broadcast =
      g.count() > 1 && g.covariances.stride == 0 && (g.centered() || g.means.stride == 0);
  if (side.broadcast) g = g.slice(0, 1);
  side.items = g.count();
  const bool vectors = keep_eigenvectors || !g.centered();
  Scratch<T> q(ctx, d, d, vectors ? side.items : 0);
  side.eigenvalues = checked_spectra<T>(ctx, check, names.covariances.c_str(), g.covariances,
                                        q.view, spectral, positive_definite);
  side.projected.assign(static_cast<std::size_t>(side.items * d), 0.0);
  side.mean_norm2.assign(static_cast<std::size_t>(side.items), 0.0);
  if (!g.centered() && d > 0) {
    // v = Λ^½ Qᵀ m: Qᵀ m on the context, the scaling on the host.
    Scratch<T> rotated(ctx, d, 1, side.items);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), q.cview(), mean_columns(g),
                     T(0), rotated.view);
    std::vector<T> host_rotated(static_cast<std::size_t>(side.items * d)),
        host_means(static_cast<std::size_t>(side.items * d));
    copy<T>(ctx, rotated.cview(), matrices<T>(host_rotated.data(), d, 1, side.items));
    copy<T>(ctx, mean_columns(g), matrices<T>(host_means.data(), d, 1, side.items));
    for (std::int64_t k = 0; k < side.items * d; ++k) {
      side.projected[k] = std::sqrt(side.eigenvalues[k]) * double(host_rotated[k]);
      side.mean_norm2[k / d] += double(host_means[k]) * double(host_means[k]);
    }
  }
  if (keep_eigenvectors) {
    std::vector<T> host_q(static_cast<std::size_t>(side.items * d * d));
    copy<T>(ctx, q.cview(), matrices<T>(host_q.data(), d, d, side.items));
    side.flips.assign(static_cast<std::size_t>(side.items * d), 1.0);
    for (std::int64_t c = 0; c < side.items * d; ++c) {  // column c of the stacked eigenvectors
      const T* column = host_q.data() + c * d;
      std::int64_t largest = 0;
      for (std::int64_t r = 1; r < d; ++r) {
        if (std::fabs(column[r]) > std::fabs(column[largest])) largest = r;
      }
      if (column[largest] < 0) side.flips[c] = -1;
      side.projected[c] *= side.flips[c];
    }
    side.eigenvectors.emplace(std::move(q));
  }
  return side;
}

/// Bounds of one pair from its reduced terms (§3.2): the spectral distance Σ (α_i − β_i)²
/// (zero-padded), ‖v1‖², ‖v2‖², Σ |v1_i v2_i| and ‖m1‖², ‖m2‖².
struct PairBounds {
  double lower = 0, upper = 0;
  bool exact = false;
};

PairBounds pair_bounds(double spectral_distance, double v1_norm2, double v2_norm2, double cross,
                       double m1_norm2, double m2_norm2, double spectra_norm2,
                       std::int64_t dimension) {
  const double norms = m1_norm2 - m2_norm2;
  const double xi = spectral_distance + 2 * (v1_norm2 + v2_norm2) + norms * norms;
  // ‖v1‖‖v2‖ as a product of roots: v1_norm2 · v2_norm2 overflows already for covariances and
  // squared means of 1e154, which made the lower bound 0.
  const double norm_product = std::sqrt(v1_norm2) * std::sqrt(v2_norm2);
  PairBounds bounds;
  if (!std::isfinite(xi)) {  // IGW² beyond double: reported as such (write_values refuses it)
    bounds.lower = bounds.upper = std::numeric_limits<double>::infinity();
    bounds.exact = true;
    return bounds;
  }
  bounds.lower = std::max(0.0, xi - 4 * norm_product);
  bounds.upper = std::max(0.0, xi - 4 * cross);
  // The bounds coincide (up to rounding of the terms) when v1 = 0, v2 = 0, or v1 and v2 share
  // one index: the value is then exact (§3.2, §3.3).
  const double scale =
      spectra_norm2 + 2 * (v1_norm2 + v2_norm2) + m1_norm2 * m1_norm2 + m2_norm2 * m2_norm2;
  bounds.exact = 4 * (norm_product - cross) <= 16 * double(dimension) * kEpsilon * scale;
  if (bounds.exact) bounds.lower = bounds.upper;
  return bounds;
}

/// Σ x_i² over n values.
double squared_norm(const double* x, std::int64_t n) {
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) total += x[i] * x[i];
  return total;
}

/// The terms of pair_bounds for one pair, from both sides' spectra (O(d)), given ‖v1‖², ‖v2‖².
/// The loops run over the common length and the longer side's tail apart (no branch inside, so
/// they vectorise): the all-pairs tables call this n_a·n_b times.
PairBounds pair_bounds(const double* alpha, std::int64_t d1, const double* beta, std::int64_t d2,
                       const double* v1, const double* v2, double q1, double q2, double m1_norm2,
                       double m2_norm2) {
  const std::int64_t common = std::min(d1, d2);
  double distance = 0, spectra = 0, cross = 0;
  for (std::int64_t i = 0; i < common; ++i) {
    distance += (alpha[i] - beta[i]) * (alpha[i] - beta[i]);
    spectra += alpha[i] * alpha[i] + beta[i] * beta[i];
  }
  const double tail = squared_norm(d1 > d2 ? alpha + common : beta + common,
                                   std::max(d1, d2) - common);  // against zero padding
  distance += tail;
  spectra += tail;
  if (q1 > 0 && q2 > 0) {  // a centered side (v = 0) has no cross term
    for (std::int64_t i = 0; i < common; ++i) cross += std::fabs(v1[i] * v2[i]);
  }
  return pair_bounds(distance, q1, q2, cross, m1_norm2, m2_norm2, spectra, std::max(d1, d2));
}

/// The same, ‖v1‖² and ‖v2‖² computed here.
PairBounds pair_bounds(const double* alpha, std::int64_t d1, const double* beta, std::int64_t d2,
                       const double* v1, const double* v2, double m1_norm2, double m2_norm2) {
  return pair_bounds(alpha, d1, beta, d2, v1, v2, squared_norm(v1, d1), squared_norm(v2, d2),
                     m1_norm2, m2_norm2);
}

/// The Stiefel problem of a pair, with the larger space first.
host::StiefelProblem stiefel_problem(const double* alpha, std::int64_t d1, const double* v1,
                                     const double* beta, std::int64_t d2, const double* v2) {
  if (d1 >= d2) return {alpha, beta, v1, v2, d1, d2};
  return {beta, alpha, v2, v1, d2, d1};
}

void check_options(const ArgumentChecker& check, const IgwOptions& options) {
  check.at_least("options.max_iterations", options.max_iterations, 0);
  check.at_least("options.restarts", options.restarts, 0);
  check.non_negative("options.tolerance", options.tolerance);
  for (std::size_t i = 0; i < options.signs.size(); ++i) {
    check.expect(options.signs[i] == 1 || options.signs[i] == -1, "options.signs",
                 "must hold +1 or -1, item " + std::to_string(i) + " is " +
                     std::to_string(options.signs[i]));
  }
}

/// options.signs: none, or one sign per eigenpair of the smaller side.
void check_sign_count(const ArgumentChecker& check, const IgwOptions& options, std::int64_t d_a,
                      std::int64_t d_b) {
  const std::int64_t n = std::min(d_a, d_b);
  check.expect(options.signs.empty() || std::int64_t(options.signs.size()) == n, "options.signs",
               "must hold min(d_a, d_b) = " + std::to_string(n) + " signs or none, got " +
                   std::to_string(options.signs.size()));
}

/// Shapes and values of a two-sided call whose sides may differ in dimension; returns the count.
template <typename T>
std::int64_t check_sides(Context& ctx, const ArgumentChecker& check, GaussianBatch<const T> a,
                         GaussianBatch<const T> b) {
  const std::int64_t count = a.count();
  check_shape(check, Names("a"), a, count, a.dimension());
  check_shape(check, Names("b"), b, count, b.dimension());
  check_values(ctx, check, Names("a"), a);
  check_values(ctx, check, Names("b"), b);
  return count;
}

/// The best value of a pair: exact, or the ascent's feasible value (never below the lower bound,
/// which only rounding could cause), or the upper bound when no ascent runs.
double best_value(const PairBounds& bounds, const host::StiefelSolution* solution) {
  if (bounds.exact || solution == nullptr) return bounds.upper;
  return std::max(bounds.lower, bounds.upper - 2 * solution->gain);
}

IgwReport report_of(const PairBounds& bounds, const host::StiefelSolution* solution) {
  IgwReport report;
  report.exact = bounds.exact;
  if (solution != nullptr) {
    report.iterations = solution->iterations;
    report.gradient_norm = solution->gradient_norm;
    report.subspace = solution->subspace;
  }
  return report;
}

/// Every pair's bounds, and the ascent's solution for the pairs the bounds leave open.
struct PairSolutions {
  std::vector<PairBounds> bounds;
  std::vector<host::StiefelSolution> solutions;  // one per ascended pair
  std::vector<std::int64_t> ascended;            // pair -> index in solutions, or -1
  const host::StiefelSolution* solution(std::int64_t pair) const {
    return ascended[pair] >= 0 ? &solutions[ascended[pair]] : nullptr;
  }
};

/// Runs the ascent (when options.ascent) on the pairs whose bounds are not exact; `problem(p)`
/// gives pair p's Stiefel problem. With `alignments` each solution carries its point X.
template <typename Problem>
PairSolutions solve_open_pairs(const Context& ctx, std::vector<PairBounds> bounds, Problem problem,
                               const IgwOptions& options, bool alignments) {
  PairSolutions pairs;
  pairs.ascended.assign(bounds.size(), -1);
  std::vector<host::StiefelProblem> problems;
  for (std::size_t p = 0; p < bounds.size(); ++p) {
    if (!bounds[p].exact && options.ascent) {
      pairs.ascended[p] = static_cast<std::int64_t>(problems.size());
      problems.push_back(problem(static_cast<std::int64_t>(p)));
    }
  }
  pairs.bounds = std::move(bounds);
  pairs.solutions = host::stiefel_ascent_all(problems, options, alignments, host_threads(ctx));
  return pairs;
}

/// solve_open_pairs for the count pairs (a_i, b_i), bounds from the spectra (O(d) per pair).
template <typename T>
PairSolutions solve_pairs(const Context& ctx, const SideSpectra<T>& a, const SideSpectra<T>& b,
                          std::int64_t count, const IgwOptions& options, bool alignments) {
  std::vector<PairBounds> bounds(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    bounds[i] = pair_bounds(a.alpha(i), a.d, b.alpha(i), b.d, a.v(i), b.v(i), a.m2(i), b.m2(i));
  }
  return solve_open_pairs(
      ctx, std::move(bounds),
      [&](std::int64_t i) {
        return stiefel_problem(a.alpha(i), a.d, a.v(i), b.alpha(i), b.d, b.v(i));
      },
      options, alignments);
}

/// Writes every pair's best value and bounds (pair p is element p of the output, in the
/// outputs' column-major order) to the outputs that are not empty; returns the reports.
/// Refuses an IGW² (or bound) `value` of pair p beyond the range of T: IGW² grows as the square
/// of the covariances' scale (the fourth power of the data's), so finite covariances beyond about
/// 1e154 in float64 (1e19 in float32) have no representable IGW².
template <typename T>
void check_representable(const ArgumentChecker& check, double value, std::size_t p) {
  check.value_in_range<T>("b.covariances", value,
                          "IGW² (it grows as the square of the covariances' scale)",
                          static_cast<std::int64_t>(p));
}

template <typename T>
std::vector<IgwReport> write_values(Context& ctx, const ArgumentChecker& check,
                                    const PairSolutions& pairs, MatrixBatch<T> squared,
                                    MatrixBatch<T> lower, MatrixBatch<T> upper) {
  const std::size_t count = pairs.bounds.size();
  std::vector<double> best(count), low(count), high(count);
  std::vector<IgwReport> reports(count);
  for (std::size_t p = 0; p < count; ++p) {
    best[p] = best_value(pairs.bounds[p], pairs.solution(p));
    low[p] = pairs.bounds[p].lower;
    high[p] = pairs.bounds[p].upper;
    reports[p] = report_of(pairs.bounds[p], pairs.solution(p));
    if (squared.count > 0) check_representable<T>(check, best[p], p);
    if (lower.count > 0) check_representable<T>(check, low[p], p);
    if (upper.count > 0) check_representable<T>(check, high[p], p);
  }
  if (squared.count > 0) write_on_context<T>(ctx, best, squared);
  if (lower.count > 0) write_on_context<T>(ctx, low, lower);
  if (upper.count > 0) write_on_context<T>(ctx, high, upper);
  return reports;
}

/// X of pair i in (a, b) orientation (d_a x d_b, column-major): the ascent's point, or the
/// sign-aligned point [diag(s); 0] of the closed form (options.signs, or sign(v1_i v2_i) with +1
/// at 0).
template <typename T>
std::vector<double> alignment(const SideSpectra<T>& a, const SideSpectra<T>& b,
                              const PairSolutions& pairs, std::int64_t i,
                              const IgwOptions& options) {
  const std::int64_t da = a.d, db = b.d, r = std::min(da, db);
  std::vector<double> x(static_cast<std::size_t>(da * db), 0.0);
  const host::StiefelSolution* solution = pairs.solution(i);
  if (solution != nullptr) {
    const std::int64_t n1 = std::max(da, db);
    for (std::int64_t col = 0; col < std::min(da, db); ++col) {
      for (std::int64_t row = 0; row < n1; ++row) {
        const double value = solution->alignment[row + col * n1];
        if (da >= db) {
          x[row + col * da] = value;
        } else {
          x[col + row * da] = value;
        }
      }
    }
    return x;
  }
  for (std::int64_t k = 0; k < r; ++k) {
    const double product = a.v(i)[k] * b.v(i)[k];
    const int sign = !options.signs.empty() ? options.signs[k] : (product < 0 ? -1 : 1);
    x[k + k * da] = sign;
  }
  return x;
}

}  // namespace

template <typename T>
std::vector<IgwReport> igw_squared(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                                   IgwValues<T> out, const IgwOptions& options) {
  const ArgumentChecker check("igw_squared", &ctx);
  check_options(check, options);
  const std::int64_t count = check_sides(ctx, check, a, b);
  check_sign_count(check, options, a.dimension(), b.dimension());
  check.optional_output("out.squared", out.squared, 1, count);
  check.optional_output("out.lower", out.lower, 1, count);
  check.optional_output("out.upper", out.upper, 1, count);
  if (count == 0) return {};
  const SideSpectra<T> sa =
      side_spectra<T>(ctx, check, Names("a"), a, options.spectral, false, false);
  const SideSpectra<T> sb =
      side_spectra<T>(ctx, check, Names("b"), b, options.spectral, false, false);
  const PairSolutions pairs = solve_pairs(ctx, sa, sb, count, options, false);
  return write_values<T>(ctx, check, pairs, out.squared.as_matrices(), out.lower.as_matrices(),
                         out.upper.as_matrices());
}

template <typename T>
std::vector<IgwReport> igw_squared_all_pairs(Context& ctx, GaussianBatch<const T> a,
                                             GaussianBatch<const T> b, IgwMatrices<T> out,
                                             const IgwOptions& options) {
  const ArgumentChecker check("igw_squared_all_pairs", &ctx);
  check_options(check, options);
  const std::int64_t ka = a.count(), kb = b.count(), da = a.dimension(), db = b.dimension();
  check_shape(check, Names("a"), a, ka, da);
  check_shape(check, Names("b"), b, kb, db);
  check_sign_count(check, options, da, db);
  check.optional_output("out.squared", out.squared, ka, kb, 1);
  check.optional_output("out.lower", out.lower, ka, kb, 1);
  check.optional_output("out.upper", out.upper, ka, kb, 1);
  // One set against itself (b the same views as a): checked and decomposed once, and the ascent
  // runs for the pairs i <= j only (IGW is symmetric).
  const bool one_set = same_batch(a, b);
  check_values(ctx, check, Names("a"), a);
  if (!one_set) check_values(ctx, check, Names("b"), b);
  if (ka == 0 || kb == 0) return {};
  const SideSpectra<T> sa =
      side_spectra<T>(ctx, check, Names("a"), a, options.spectral, false, false);
  std::optional<SideSpectra<T>> own_b;
  if (!one_set)
    own_b.emplace(side_spectra<T>(ctx, check, Names("b"), b, options.spectral, false, false));
  const SideSpectra<T>& sb = one_set ? sa : *own_b;
  // Σ_l α_il β_jl and Σ_l |v1_il v2_jl| for all pairs: products of the zero-padded D x k tables.
  const std::int64_t depth = std::max(da, db);
  auto table = [&](const SideSpectra<T>& side, bool absolute_means) {
    std::vector<double> host(static_cast<std::size_t>(depth * side.items), 0.0);
    const std::vector<double>& source = absolute_means ? side.projected : side.eigenvalues;
    for (std::int64_t i = 0; i < side.items; ++i) {
      for (std::int64_t l = 0; l < side.d; ++l) {
        host[l + i * depth] = std::fabs(source[l + i * side.d]);
      }
    }
    Scratch<T> on_context(ctx, depth, side.items, 1);
    write_on_context<T>(ctx, host, on_context.view);
    return on_context;
  };
  auto products = [&](bool absolute_means) {
    const Scratch<T> ta = table(sa, absolute_means), tb = table(sb, absolute_means);
    Scratch<T> result(ctx, sa.items, sb.items, 1);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::yes, Transpose::no, T(1), ta.cview(), tb.cview(),
                     T(0), result.view);
    std::vector<T> host(static_cast<std::size_t>(sa.items * sb.items));
    copy<T>(ctx, result.cview(), matrices<T>(host.data(), sa.items, sb.items, 1));
    return std::vector<double>(host.begin(), host.end());
  };
  const std::vector<double> spectral_products = products(false);
  const bool uncentered = !a.centered() && !b.centered();
  const std::vector<double> mean_products = uncentered ? products(true) : std::vector<double>();
  auto squared_norms = [](const std::vector<double>& table, std::int64_t d, std::int64_t items) {
    std::vector<double> norms(static_cast<std::size_t>(items), 0.0);
    for (std::int64_t k = 0; k < d * items; ++k) norms[k / d] += table[k] * table[k];
    return norms;
  };
  const std::vector<double> alpha2 = squared_norms(sa.eigenvalues, da, sa.items),
                            beta2 = squared_norms(sb.eigenvalues, db, sb.items),
                            v1_2 = squared_norms(sa.projected, da, sa.items),
                            v2_2 = squared_norms(sb.projected, db, sb.items);

  std::vector<PairBounds> bounds(static_cast<std::size_t>(ka * kb));
  for (std::int64_t j = 0; j < kb; ++j) {
    for (std::int64_t i = 0; i < ka; ++i) {
      const std::int64_t ia = sa.index(i), jb = sb.index(j);
      const double product = spectral_products[ia + jb * sa.items];
      // ‖α − β‖² in expanded form (relative rounding ε·(‖α‖² + ‖β‖²), clamped at 0).
      const double distance = std::max(0.0, alpha2[ia] + beta2[jb] - 2 * product);
      const double cross = uncentered ? mean_products[ia + jb * sa.items] : 0.0;
      bounds[i + j * ka] = pair_bounds(distance, v1_2[ia], v2_2[jb], cross, sa.m2(i), sb.m2(j),
                                       alpha2[ia] + beta2[jb], depth);
    }
  }
  // With one set, pair (i, j), i > j, is left to its mirror (j, i): marked exact here, its bounds
  // and best value copied from the mirror once the ascent has run.
  if (one_set) {
    for (std::int64_t j = 0; j < kb; ++j) {
      for (std::int64_t i = j + 1; i < ka; ++i) bounds[i + j * ka].exact = true;
    }
  }
  PairSolutions pairs = solve_open_pairs(
      ctx, std::move(bounds),
      [&](std::int64_t p) {
        const std::int64_t i = p % ka, j = p / ka;
        return stiefel_problem(sa.alpha(i), da, sa.v(i), sb.alpha(j), db, sb.v(j));
      },
      options, false);
  if (one_set) {
    for (std::int64_t j = 0; j < kb; ++j) {
      for (std::int64_t i = j + 1; i < ka; ++i) {
        pairs.bounds[i + j * ka] = pairs.bounds[j + i * ka];
        pairs.ascended[i + j * ka] = pairs.ascended[j + i * ka];
      }
    }
  }
  return write_values<T>(ctx, check, pairs, out.squared, out.lower, out.upper);
}

template <typename T>
std::vector<IgwSpectrum> igw_spectra(Context& ctx, GaussianBatch<const T> gaussians,
                                     const SpectralOptions& spectral) {
  const ArgumentChecker check("igw_spectra", &ctx);
  const Names names("gaussians");
  const std::int64_t count = gaussians.count(), d = gaussians.dimension();
  check_shape(check, names, gaussians, count, d);
  check_values(ctx, check, names, gaussians);
  std::vector<IgwSpectrum> spectra(static_cast<std::size_t>(count));
  if (count == 0) return spectra;
  const SideSpectra<T> side = side_spectra<T>(ctx, check, names, gaussians, spectral, false, false);
  for (std::int64_t i = 0; i < count; ++i) {
    IgwSpectrum& s = spectra[static_cast<std::size_t>(i)];
    s.eigenvalues.assign(side.alpha(i), side.alpha(i) + d);
    s.projected_mean.resize(static_cast<std::size_t>(d));
    for (std::int64_t l = 0; l < d; ++l) s.projected_mean[l] = std::fabs(side.v(i)[l]);
    s.mean_norm2 = side.m2(i);
  }
  return spectra;
}

std::vector<IgwReport> igw_squared_all_pairs(Context& ctx, const std::vector<IgwSpectrum>& given_a,
                                             const std::vector<IgwSpectrum>& given_b,
                                             IgwMatrices<double> out, const IgwOptions& options) {
  const ArgumentChecker check("igw_squared_all_pairs");
  check_options(check, options);
  const auto ka = static_cast<std::int64_t>(given_a.size()),
             kb = static_cast<std::int64_t>(given_b.size());
  // Checked copies: eigenvalues within the clamping rule below 0 (rounding) set to 0.
  auto checked_spectra = [&](const char* name, std::vector<IgwSpectrum> side) {
    for (std::size_t i = 0; i < side.size(); ++i) {
      IgwSpectrum& s = side[i];
      const std::string item = "item " + std::to_string(i);
      check.expect(s.projected_mean.size() == s.eigenvalues.size(), name,
                   item + ": projected_mean and eigenvalues differ in length");
      bool valid = std::isfinite(s.mean_norm2) && s.mean_norm2 >= 0 &&
                   clamp_given_eigenvalues(s.eigenvalues, options.spectral);
      for (double v : s.projected_mean) valid = valid && std::isfinite(v);
      check.expect(valid, name,
                   item +
                       ": needs finite decreasing eigenvalues (none below the clamping rule's "
                       "-tau x the largest), finite projected means and a finite mean_norm2 >= 0 "
                       "(as igw_spectra returns them)");
    }
    return side;
  };
  const std::vector<IgwSpectrum> a = checked_spectra("a", given_a);
  const std::vector<IgwSpectrum> b = checked_spectra("b", given_b);
  for (const auto& [name, m] :
       {std::pair<const char*, const MatrixBatch<double>&>{"out.squared", out.squared},
        {"out.lower", out.lower},
        {"out.upper", out.upper}}) {
    if (m.count == 0) continue;
    check.expect(m.space == MemorySpace::host, name, "must be in host memory");
    check.optional_output(name, m, ka, kb, 1);
  }
  if (ka == 0 || kb == 0) return {};
  std::vector<PairBounds> bounds(static_cast<std::size_t>(ka * kb));
  auto data = [](const std::vector<double>& v) { return v.data(); };
  auto projected_norms = [&](const std::vector<IgwSpectrum>& side) {  // ‖v‖², once per item
    std::vector<double> q;
    for (const IgwSpectrum& s : side)
      q.push_back(squared_norm(data(s.projected_mean), s.dimension()));
    return q;
  };
  const std::vector<double> qa = projected_norms(a), qb = projected_norms(b);
  for (std::int64_t j = 0; j < kb; ++j) {
    for (std::int64_t i = 0; i < ka; ++i) {
      const IgwSpectrum &s1 = a[i], &s2 = b[j];
      bounds[i + j * ka] =
          pair_bounds(data(s1.eigenvalues), s1.dimension(), data(s2.eigenvalues), s2.dimension(),
                      data(s1.projected_mean), data(s2.projected_mean), qa[i], qb[j], s1.mean_norm2,
                      s2.mean_norm2);
    }
  }
  const PairSolutions pairs = solve_open_pairs(
      ctx, std::move(bounds),
      [&](std::int64_t p) {
        const IgwSpectrum &s1 = a[p % ka], &s2 = b[p / ka];
        return stiefel_problem(data(s1.eigenvalues), s1.dimension(), data(s1.projected_mean),
                               data(s2.eigenvalues), s2.dimension(), data(s2.projected_mean));
      },
      options, false);
  return write_values<double>(ctx, check, pairs, out.squared, out.lower, out.upper);
}

namespace {

/// The plan's cross-covariances K_i = Q_a M_i Q_bᵀ (d_a x d_b) with M = F_a Λ_a^½ X Λ_b^½ F_b
/// (F the eigenvector sign flips), or the map matrices A_i = Q_b N_i Q_aᵀ (d_b x d_a) with
/// N = F_b Λ_b^½ Xᵀ Λ_a^-½ F_a; `out` receives them.
template <typename T>
std::vector<IgwReport> plan_or_map(Context& ctx, const ArgumentChecker& check,
                                   GaussianBatch<const T> a, GaussianBatch<const T> b,
                                   MatrixBatch<T> out, bool map, const IgwOptions& options) {
  const std::int64_t count = a.count(), da = a.dimension(), db = b.dimension();
  const SideSpectra<T> sa =
      side_spectra<T>(ctx, check, Names("a"), a, options.spectral, true, /*positive_definite=*/map);
  const SideSpectra<T> sb =
      side_spectra<T>(ctx, check, Names("b"), b, options.spectral, true, false);
  const PairSolutions pairs = solve_pairs(ctx, sa, sb, count, options, true);
  const std::int64_t rows = map ? db : da, cols = map ? da : db;
  std::vector<double> middle(static_cast<std::size_t>(rows * cols * count));
  std::vector<IgwReport> reports(count);
  for (std::int64_t i = 0; i < count; ++i) {
    const std::vector<double> x = alignment(sa, sb, pairs, i, options);
    double* m = middle.data() + i * rows * cols;
    for (std::int64_t c = 0; c < db; ++c) {
      for (std::int64_t r = 0; r < da; ++r) {
        const double scale_a = map ? 1 / std::sqrt(sa.alpha(i)[r]) : std::sqrt(sa.alpha(i)[r]);
        const double value =
            sa.flip(i)[r] * scale_a * x[r + c * da] * std::sqrt(sb.alpha(i)[c]) * sb.flip(i)[c];
        if (map) {
          m[c + r * rows] = value;
        } else {
          m[r + c * rows] = value;
        }
      }
    }
    reports[i] = report_of(pairs.bounds[i], pairs.solution(i));
  }
  Scratch<T> middle_ctx(ctx, rows, cols, count), left(ctx, rows, cols, count);
  write_on_context<T>(ctx, middle, middle_ctx.view);
  auto basis = [&](const SideSpectra<T>& side) {
    const MatrixBatch<const T> q = side.eigenvectors->cview();
    return side.broadcast ? broadcast(q, count) : q;
  };
  const MatrixBatch<const T> q_left = map ? basis(sb) : basis(sa);
  const MatrixBatch<const T> q_right = map ? basis(sa) : basis(sb);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(1), q_left, middle_ctx.cview(),
                   T(0), left.view);
  GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(1), left.cview(), q_right, T(0),
                   out);
  return reports;
}

}  // namespace

template <typename T>
std::vector<IgwReport> igw_plan(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                                MatrixBatch<T> cross_covariance, const IgwOptions& options) {
  const ArgumentChecker check("igw_plan", &ctx);
  check_options(check, options);
  const std::int64_t count = check_sides(ctx, check, a, b);
  check_sign_count(check, options, a.dimension(), b.dimension());
  check.output("cross_covariance", cross_covariance);
  check.matrix_shape("cross_covariance", cross_covariance, a.dimension(), b.dimension());
  check.count("cross_covariance", cross_covariance.count, count);
  if (count == 0 || a.dimension() == 0 || b.dimension() == 0) return {};
  return plan_or_map<T>(ctx, check, a, b, cross_covariance, false, options);
}

template <typename T>
std::vector<IgwReport> igw_map(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                               MatrixBatch<T> matrix, VectorBatch<T> bias,
                               const IgwOptions& options) {
  const ArgumentChecker check("igw_map", &ctx);
  check_options(check, options);
  const std::int64_t count = check_sides(ctx, check, a, b);
  const std::int64_t da = a.dimension(), db = b.dimension();
  check.expect(da >= db, "b",
               "has dimension " + std::to_string(db) + ", larger than a's " + std::to_string(da) +
                   ": a map from a to b needs d_a >= d_b (map b to a instead)");
  check_sign_count(check, options, da, db);
  check.output("matrix", matrix);
  check.matrix_shape("matrix", matrix, db, da);
  check.count("matrix", matrix.count, count);
  check.output("bias", bias);
  check.vector_size("bias", bias, db);
  check.count("bias", bias.count, count);
  if (count == 0 || db == 0) return {};
  std::vector<IgwReport> reports = plan_or_map<T>(ctx, check, a, b, matrix, true, options);
  map_bias<T>(ctx, matrix, a, b, bias);
  return reports;
}

template <typename T>
double igw_barycenter(Context& ctx, const std::vector<MatrixBatch<const T>>& inputs,
                      VectorBatch<const T> weights, VectorBatch<T> eigenvalues,
                      MatrixBatch<T> covariance, const SpectralOptions& spectral) {
  const ArgumentChecker check("igw_barycenter", &ctx);
  const CovarianceGroups groups = check_covariance_groups(check, inputs);
  const std::int64_t k = groups.count, depth = groups.depth;
  check.output("eigenvalues", eigenvalues);
  check.vector_size("eigenvalues", eigenvalues, depth);
  check.count("eigenvalues", eigenvalues.count, 1);
  check.optional_output("covariance", covariance, depth, depth, 1);
  const std::vector<T> rho = normalized_weights<T>(ctx, check, weights, k);
  // Zero-padded decreasing spectra, one row per input.
  const std::vector<double> spectra = padded_spectra(ctx, check, inputs, groups, spectral);
  std::vector<double> mean(static_cast<std::size_t>(depth), 0.0);
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t l = 0; l < depth; ++l) mean[l] += double(rho[i]) * spectra[l + i * depth];
  }
  double value = 0;
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t l = 0; l < depth; ++l) {
      const double gap = spectra[l + i * depth] - mean[l];
      value += double(rho[i]) * gap * gap;
    }
  }
  check.value_in_range<T>(
      "inputs.covariances", value,
      "the barycenter's value Σ w_i ‖λ_i − λ̄‖² (it grows as the square of the covariances' scale)");
  write_on_context<T>(ctx, mean, eigenvalues.as_matrices());
  if (covariance.count > 0) {
    std::vector<double> diagonal(static_cast<std::size_t>(depth * depth), 0.0);
    for (std::int64_t l = 0; l < depth; ++l) diagonal[l + l * depth] = mean[l];
    write_on_context<T>(ctx, diagonal, covariance);
  }
  return value;
}

double igw_squared_univariate(double u, double a, double v, double b) {
  const ArgumentChecker check("igw_squared_univariate");
  check.expect(std::isfinite(u), "u", "must be finite, got " + format_number(u));
  check.expect(std::isfinite(v), "v", "must be finite, got " + format_number(v));
  check.non_negative("a", a);
  check.non_negative("b", b);
  const double spread = a * a - b * b, location = u * u - v * v;
  const double cross = a * std::fabs(u) - b * std::fabs(v);
  const double value = spread * spread + location * location + 2 * cross * cross;
  check.value_in_range<double>("a", value, "IGW² (it grows as the fourth power of the scale)", -1,
                               "the Gaussians");
  return value;
}

template <typename T>
void igw_squared_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          MatrixBatch<T> grad_a, MatrixBatch<T> grad_b,
                          const SpectralOptions& spectral) {
  const ArgumentChecker check("igw_squared_gradient", &ctx);
  const std::int64_t count = check_sides(ctx, check, a, b);
  check.expect(a.centered(), "a.means",
               "must be empty: the gradient is that of the centered IGW² (the exact closed form); "
               "uncentered pairs are not supported");
  check.expect(b.centered(), "b.means",
               "must be empty: the gradient is that of the centered IGW² (the exact closed form); "
               "uncentered pairs are not supported");
  const std::int64_t d_a = a.dimension(), d_b = b.dimension();
  check.output("grad_a", grad_a, d_a, d_a, count);
  check.output("grad_b", grad_b, d_b, d_b, count);
  if (count == 0) return;
  // IGW² = Σ_i (α_i − β_i)² over the decreasing spectra, the shorter zero-padded (§2.2 with
  // m = 0). Where the eigenvalues of S_a are simple, ∂α_i/∂S_a = q_i q_iᵀ, so
  //   ∂IGW²/∂S_a = 2 Q_a diag(α − β̃) Q_aᵀ,  β̃ = β padded or cut to d_a,
  // and likewise for S_b. At a repeated eigenvalue of S_a whose paired β_i differ, IGW² is not
  // differentiable (Σ α_i β_i, sorted, is a maximum over orthogonal alignments: von Neumann); the
  // formula with the eigensolver's basis is then one element of the generalized gradient.
  const SideSpectra<T> sa = side_spectra<T>(ctx, check, Names("a"), a, spectral, true, false);
  const SideSpectra<T> sb = side_spectra<T>(ctx, check, Names("b"), b, spectral, true, false);
  for (const bool side_a : {true, false}) {
    const SideSpectra<T>& own = side_a ? sa : sb;
    const SideSpectra<T>& other = side_a ? sb : sa;
    const std::int64_t d = own.d;
    std::vector<double> differences(static_cast<std::size_t>(d * count));
    for (std::int64_t i = 0; i < count; ++i) {
      for (std::int64_t j = 0; j < d; ++j) {
        const double paired = j < other.d ? other.alpha(i)[j] : 0.0;
        differences[i * d + j] = 2 * (own.alpha(i)[j] - paired);
      }
    }
    const MatrixBatch<const T> vectors =
        own.broadcast ? broadcast(own.eigenvectors->cview(), count) : own.eigenvectors->cview();
    from_eigenpairs<T>(ctx, vectors, differences, side_a ? grad_a : grad_b);
  }
}

namespace {

/// A batch on the context as packed doubles on the host (zeros for an empty, centered side).
template <typename T>
std::vector<double> host_packed(Context& ctx, MatrixBatch<const T> m, std::int64_t rows,
                                std::int64_t cols, std::int64_t count) {
  if (m.count == 0) return std::vector<double>(static_cast<std::size_t>(rows * cols * count), 0.0);
  Scratch<T> packed(ctx, rows, cols, count);
  copy<T>(ctx, m, packed.view);
  return to_host<T>(
      ctx, VectorBatch<const T>(packed.view.data, rows * cols * count, 0, 1, packed.view.space));
}

}  // namespace

template <typename T>
void igw_squared_gradient(Context& ctx, GaussianBatch<const T> a, GaussianBatch<const T> b,
                          GaussianBatch<T> grad_a, GaussianBatch<T> grad_b,
                          const IgwOptions& options) {
  const ArgumentChecker check("igw_squared_gradient", &ctx);
  const std::int64_t count = check_sides(ctx, check, a, b);
  const std::int64_t d_a = a.dimension(), d_b = b.dimension();
  check_output(check, Names("grad_a"), grad_a, count, d_a, /*means_required=*/true);
  check_output(check, Names("grad_b"), grad_b, count, d_b, /*means_required=*/true);
  if (count == 0) return;
  if (a.centered() && b.centered()) {  // the closed form; the means' gradients are 0
    igw_squared_gradient<T>(ctx, a, b, grad_a.covariances, grad_b.covariances, options.spectral);
    for (const GaussianBatch<T>* grad : {&grad_a, &grad_b}) {
      write_on_context<T>(ctx,
                          std::vector<double>(static_cast<std::size_t>(grad->dimension() * count)),
                          grad->means.as_matrices());
    }
    return;
  }
  // The coupling of the returned value, then the envelope gradient of each pair on the host.
  Scratch<T> cross(ctx, d_a, d_b, count);
  igw_plan<T>(ctx, a, b, cross.view, options);
  const std::vector<double> m1 = host_packed<T>(ctx, a.means.as_matrices(), d_a, 1, count),
                            s1 = host_packed<T>(ctx, a.covariances, d_a, d_a, count),
                            m2 = host_packed<T>(ctx, b.means.as_matrices(), d_b, 1, count),
                            s2 = host_packed<T>(ctx, b.covariances, d_b, d_b, count),
                            k = host_packed<T>(ctx, cross.cview(), d_a, d_b, count);
  std::vector<double> gm1(d_a * count), gs1(d_a * d_a * count), gm2(d_b * count),
      gs2(d_b * d_b * count);
  const double tolerance =
      options.spectral.psd_tolerance.value_or(default_psd_tolerance<T>(std::max(d_a, d_b)));
  for (std::int64_t i = 0; i < count; ++i) {
    const host::IgwPair pair{d_a,
                             d_b,
                             &m1[i * d_a],
                             &s1[i * d_a * d_a],
                             &m2[i * d_b],
                             &s2[i * d_b * d_b],
                             &k[i * d_a * d_b]};
    const int singular = host::igw_envelope_gradient(
        pair, tolerance, &gm1[i * d_a], &gs1[i * d_a * d_a], &gm2[i * d_b], &gs2[i * d_b * d_b]);
    if (singular != 0) {
      const char* name = singular == 1 ? "a.covariances" : "b.covariances";
      check.fail(name,
                 "batch item " + std::to_string(i) +
                     " is not positive definite: the gradient of the uncentered IGW² needs both "
                     "covariances positive definite (the square root in its mean term has no "
                     "derivative at a singular covariance)",
                 i);
    }
  }
  write_on_context<T>(ctx, gm1, grad_a.means.as_matrices());
  write_on_context<T>(ctx, gs1, grad_a.covariances);
  write_on_context<T>(ctx, gm2, grad_b.means.as_matrices());
  write_on_context<T>(ctx, gs2, grad_b.covariances);
}

template <typename T>
void igw_squared_samples_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                                  MatrixBatch<const T> samples_b, MatrixBatch<T> grad_a,
                                  MatrixBatch<T> grad_b, const SpectralOptions& spectral) {
  const ArgumentChecker check("igw_squared_samples_gradient", &ctx);
  check.input("samples_a", samples_a);
  check.input("samples_b", samples_b);
  const std::int64_t count = samples_a.count;
  check.count("samples_b", samples_b.count, count);
  for (const bool side_a : {true, false}) {
    const MatrixBatch<const T>& x = side_a ? samples_a : samples_b;
    const char* name = side_a ? "samples_a" : "samples_b";
    check.expect(x.rows >= 1, name, "has no features (0 rows)");
    check.expect(x.cols >= 2, name, "needs at least 2 samples, got " + std::to_string(x.cols));
    check.output(side_a ? "grad_a" : "grad_b", side_a ? grad_a : grad_b, x.rows, x.cols, count);
  }
  if (count == 0) return;
  check.finite(ctx, "samples_a", samples_a, false);
  check.finite(ctx, "samples_b", samples_b, false);
  // Fitted covariances, their IGW² gradients G, then
  // 2 G X̃/(n − 1) with X̃ the samples less their means.
  Scratch<T> mean_a(ctx, samples_a.rows, 1, count),
      cov_a(ctx, samples_a.rows, samples_a.rows, count), mean_b(ctx, samples_b.rows, 1, count),
      cov_b(ctx, samples_b.rows, samples_b.rows, count);
  sample_moments<T>(ctx, samples_a, mean_a.vectors(), cov_a.view);
  sample_moments<T>(ctx, samples_b, mean_b.vectors(), cov_b.view);
  Scratch<T> gradient_a(ctx, samples_a.rows, samples_a.rows, count),
      gradient_b(ctx, samples_b.rows, samples_b.rows, count);
  igw_squared_gradient<T>(ctx, {{}, cov_a.cview()}, {{}, cov_b.cview()}, gradient_a.view,
                          gradient_b.view, spectral);
  for (const bool side_a : {true, false}) {
    const MatrixBatch<const T>& x = side_a ? samples_a : samples_b;
    const std::int64_t d = x.rows, n = x.cols;
    Scratch<T> centred(ctx, d, n, count);
    const Scratch<T> ones =
        on_context<T>(ctx, std::vector<double>(static_cast<std::size_t>(n), 1.0), n, 1, 1);
    copy<T>(ctx, x, centred.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::yes, T(-1),
                     (side_a ? mean_a : mean_b).cview(), broadcast(ones.cview(), count), T(1),
                     centred.view);
    GAUSSOT_DISPATCH(ctx, gemm<T>, Transpose::no, Transpose::no, T(2) / T(n - 1),
                     (side_a ? gradient_a : gradient_b).cview(), centred.cview(), T(0),
                     side_a ? grad_a : grad_b);
  }
}

#define GAUSSOT_INSTANTIATE(T)                                                                     \
  template void igw_squared_gradient<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,  \
                                        MatrixBatch<T>, MatrixBatch<T>, const SpectralOptions&);   \
  template void igw_squared_gradient<T>(Context&, GaussianBatch<const T>, GaussianBatch<const T>,  \
                                        GaussianBatch<T>, GaussianBatch<T>, const IgwOptions&);    \
  template void igw_squared_samples_gradient<T>(Context&, MatrixBatch<const T>,                    \
                                                MatrixBatch<const T>, MatrixBatch<T>,              \
                                                MatrixBatch<T>, const SpectralOptions&);           \
  template std::vector<IgwReport> igw_squared<T>(                                                  \
      Context&, GaussianBatch<const T>, GaussianBatch<const T>, IgwValues<T>, const IgwOptions&);  \
  template std::vector<IgwReport> igw_squared_all_pairs<T>(Context&, GaussianBatch<const T>,       \
                                                           GaussianBatch<const T>, IgwMatrices<T>, \
                                                           const IgwOptions&);                     \
  template std::vector<IgwReport> igw_plan<T>(Context&, GaussianBatch<const T>,                    \
                                              GaussianBatch<const T>, MatrixBatch<T>,              \
                                              const IgwOptions&);                                  \
  template std::vector<IgwReport> igw_map<T>(Context&, GaussianBatch<const T>,                     \
                                             GaussianBatch<const T>, MatrixBatch<T>,               \
                                             VectorBatch<T>, const IgwOptions&);                   \
  template double igw_barycenter<T>(Context&, const std::vector<MatrixBatch<const T>>&,            \
                                    VectorBatch<const T>, VectorBatch<T>, MatrixBatch<T>,          \
                                    const SpectralOptions&);                                       \
  template std::vector<IgwSpectrum> igw_spectra<T>(Context&, GaussianBatch<const T>,               \
                                                   const SpectralOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
