// SPDX-License-Identifier: Apache-2.0
/// @file bindings.hpp
/// The parts of the gaussot._gaussot module, one per area of the C++ API.
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <vector>

#include "gaussot/igw.hpp"

namespace gaussot::python {

/// A result's shape: the batch axes `a`, then the item's axes `b`.
inline std::vector<std::int64_t> concat(std::vector<std::int64_t> a,
                                        const std::vector<std::int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// w2_squared, w2_squared_all_pairs, brenier_map, mccann_interpolant, w2_squared_gradient,
/// w2_barycenter, frechet_distance (bures.hpp).
void bind_bures(nanobind::module_& m);
/// eigh, eigvalsh (eigh.hpp); sqrtm, inv_sqrtm, sqrtm_and_inv_sqrtm, powm, logm (spectral.hpp);
/// sample_moments (statistics.hpp).
void bind_linalg(nanobind::module_& m);
/// igw_squared, igw_squared_all_pairs, igw_plan, igw_map, igw_barycenter,
/// igw_squared_univariate (igw.hpp).
void bind_igw(nanobind::module_& m);
/// linear_cka (cka.hpp), compare_representations (compare.hpp).
void bind_cka(nanobind::module_& m);
/// mmot (mmot.hpp).
void bind_mmot(nanobind::module_& m);
/// entropic_ot, entropic_map, entropic_potentials, sinkhorn_divergence (bind_entropic.cpp).
void bind_entropic(nanobind::module_& m);
/// sinkhorn (bind_sinkhorn.cpp).
void bind_sinkhorn(nanobind::module_& m);
/// cluster (igw_kmeans, w2_kmeans), mds (classical_mds), adjusted_rand_index,
/// normalized_mutual_info (cluster.hpp).
void bind_cluster(nanobind::module_& m);

/// IgwOptions from the keyword arguments that igw_* and compare_representations share; `signs` is
/// None or a sequence of 1 and -1.
IgwOptions igw_options(bool ascent, std::int64_t max_iterations, double tolerance,
                       std::int64_t restarts, std::uint64_t seed, nanobind::handle signs);

/// The docstring lines of those keyword arguments.
#define GAUSSOT_DOC_ASCENT                                                                    \
  "\n\nUncentered pairs (both means nonzero) are solved by a Riemannian ascent on the\n"      \
  "Stiefel manifold started at the upper-bound point: ascent=False reports the analytic\n"    \
  "upper bound instead; max_iterations (steps per pair, all restarts), tolerance (relative\n" \
  "gradient norm), restarts (random restarts) and seed tune it. signs: None or\n"             \
  "min(d_a, d_b) values 1/-1 choosing among the optimal alignments of exact pairs."

}  // namespace gaussot::python
