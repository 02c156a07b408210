// SPDX-License-Identifier: Apache-2.0
/// @file cka.hpp
/// Linear centered kernel alignment (CKA) and its debiased version, batched over pairs of sample
/// sets that share their n samples (rows of activations) but not their feature dimension.
///
/// Formulas, with X̃ (n x d_a) and Ỹ (n x d_b) the samples centred on their sample means (rows are
/// samples here, as in the papers; in gaussot's layout each item is the transpose, d x n):
///
///   Linear CKA (Kornblith, Norouzi, Lee, Hinton 2019, "Similarity of Neural Network
///   Representations Revisited", ICML, §3, its feature-space form):
///     CKA(X, Y) = ‖X̃ᵀỸ‖_F² / (‖X̃ᵀX̃‖_F ‖ỸᵀỸ‖_F)
///   which equals the kernel form HSIC(K, L) / √(HSIC(K, K) HSIC(L, L)) with the biased
///   HSIC(K, L) = tr(K H L H) / (n − 1)², K = XXᵀ, L = YYᵀ, H = I − 11ᵀ/n. The feature-space form
///   needs the d_a x d_b, d_a x d_a and d_b x d_b products only: cost O(n (d_a + d_b)²), memory
///   O((d_a + d_b)(n + d_a + d_b)) per pair, never n².
///
///   Debiased linear CKA (the unbiased HSIC estimator of Song, Smola, Gretton, Bedo, Borgwardt
///   2012, "Feature Selection via Dependence Maximization", JMLR 13, its HSIC_1, in place of the
///   biased one; as used by Nguyen, Raghu, Kornblith 2021, "Do Wide and Deep Networks Learn the
///   Same Things?", ICLR, §3): with r_i = ‖x̃_i‖², s_i = ‖ỹ_i‖² (per sample),
///     h(X, Y) = ‖X̃ᵀỸ‖_F² − n/(n − 2) Σ_i r_i s_i + (Σ_i r_i)(Σ_i s_i) / ((n − 1)(n − 2))
///     debiased CKA = h(X, Y) / √(h(X, X) h(Y, Y))
///   where h(X, X) uses ‖X̃ᵀX̃‖_F² and r in both places. h(X, Y) = n(n − 3) HSIC_1(K, L) with
///     HSIC_1(K, L) = [tr(K̂L̂) + (1ᵀK̂1)(1ᵀL̂1) / ((n − 1)(n − 2)) − 2/(n − 2) 1ᵀK̂L̂1] / (n(n − 3))
///   on the Gram matrices K = XXᵀ, L = YYᵀ of the uncentred samples with their diagonals set to
///   zero (K̂, L̂): the estimator needs no centring, and centring the features first leaves it
///   unchanged. Needs n >= 4.
///
/// Both values are invariant to orthogonal transforms and isotropic scalings of either feature
/// space and to translations of the samples; CKA(X, X) = 1 and CKA lies in [0, 1] (up to
/// rounding). The debiased value may be negative; h(X, Y) has expectation 0 for independent sets.
///
/// Numerics. Each set is first shifted by its first sample (constant features then give exact
/// zeros), then centred on its mean with GEMMs; the products are divided by ν = ‖X̃‖_F² (and
/// √(ν_a ν_b) for the cross product) before their squares are summed, so nothing overflows while ν
/// itself is representable.
#pragma once

#include "gaussot/context.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/views.hpp"

namespace gaussot {

/// For count pairs of sample sets with the same n samples: cka_i = linear CKA and debiased_i =
/// debiased linear CKA of samples_a item i against samples_b item i (formulas above).
///
/// @param samples_a [in] count x (d_a x n), column-major, columns are samples (a NumPy array of
///        shape (k, n, d_a) in C order); may broadcast (stride 0: one set against many, centred
///        once). n >= 2, and n >= 4 when `debiased` is asked for.
/// @param samples_b [in] count x (d_b x n); d_b may differ from d_a; may broadcast.
/// @param cka      [out] count scalars (VectorBatch of size 1).
/// @param debiased [out] count scalars, or empty (count 0) to skip the debiased value.
///
/// All views are in ctx.memory_space(). Throws InvalidArgument naming the argument ('samples_a',
/// 'samples_b', 'cka' or 'debiased') and the batch item: for wrong shapes or counts, different n,
/// NaN or infinite samples, a set whose samples are all equal (constant features: CKA is
/// undefined), a set whose ν = ‖X̃‖_F² is outside the range of T, and — for the debiased value —
/// h(X, X) or h(Y, Y) not positive (at or below 16 ε times the sum of its terms' magnitudes: the
/// debiased HSIC of that set with itself is zero or negative, which happens for tiny n, e.g. when
/// all samples but one are equal). On any error nothing is written. Returns at once for count 0.
/// Synchronizes the CUDA stream (it reads the per-item norms on the host to check them, and forms
/// the ratios there).
template <typename T>
void linear_cka(Context& ctx, MatrixBatch<const T> samples_a, MatrixBatch<const T> samples_b,
                VectorBatch<T> cka, VectorBatch<T> debiased = {});

/// Gradient of the linear CKA (or, with `debiased`, of the debiased CKA) of each pair with respect
/// to both sample sets: grad_a_i = ∂ CKA_i / ∂ samples_a_i (d_a x n, the layout of samples_a),
/// grad_b_i likewise. Closed forms in the unit coordinates of the file comment (derived in
/// cka.cpp; checked against long-double central differences in tests/test_cka.cpp): for the
/// linear CKA, ∂/∂U = 2 C V/(‖A‖‖B‖) − 2 CKA · A U/‖A‖² with U = X̃/√ν, C = UVᵀ, A = UUᵀ, then
/// divided by √ν and centred. CKA is smooth wherever it is defined (no constant set; for the
/// debiased value, positive self terms), so this is its gradient; the same refusals as
/// linear_cka. No broadcasting: samples_a and samples_b have the same count.
template <typename T>
void linear_cka_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                         MatrixBatch<const T> samples_b, MatrixBatch<T> grad_a,
                         MatrixBatch<T> grad_b, bool debiased = false);

/// The shape metrics of Williams, Kunz, Kornblith & Linderman 2021 ("Generalized Shape Metrics
/// on Neural Representations", NeurIPS) between two representations of the same n inputs, with
/// X̃, Ỹ centred as above (any widths d_a, d_b):
///   NBS(X, Y) = ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F)   the normalized Bures similarity, in [0, 1];
///   procrustes(X, Y) = arccos NBS(X, Y)      the angular Procrustes shape distance, in [0, π/2]
/// (Harvey, Larsen & Williams 2023: the cosine of the Riemannian shape distance is NBS). The
/// metrics compare_representations tabulates (compare.hpp), here for pairs.
enum class ShapeMetric { nbs, procrustes };

/// out_i = the shape metric of samples_a item i against samples_b item i (either may broadcast),
/// from the singular values of the d_a x d_b cross product of the unit-normalised centred sets
/// (Eigen's BDCSVD on the host; procrustes takes arccos(min(1, NBS))). n >= 2; the refusals of
/// linear_cka.
template <typename T>
void shape_metric(Context& ctx, MatrixBatch<const T> samples_a, MatrixBatch<const T> samples_b,
                  ShapeMetric metric, VectorBatch<T> out);

/// Gradient of the shape metric of each pair with respect to both sample sets (layouts of the
/// samples). Derived (checked against long-double central differences in tests/test_cka.cpp):
/// with X̂ = X̃/‖X̃‖_F, Ŷ = Ỹ/‖Ỹ‖_F (d x n) and P = U Vᵀ the polar factor of X̂Ŷᵀ (d_a x d_b),
/// d‖X̂Ŷᵀ‖_* = ⟨P, d(X̂Ŷᵀ)⟩ gives
///   ∂NBS/∂X = (P Ŷ − NBS X̂) / ‖X̃‖_F,   ∂NBS/∂Y = (Pᵀ X̂ − NBS Ŷ) / ‖Ỹ‖_F
/// (already centred: the adjoint of the centring leaves them unchanged), and
/// ∂procrustes = −∂NBS / √(1 − NBS²).
/// Where it is not differentiable: the nuclear norm where X̂Ŷᵀ has rank below min(d_a, d_b,
/// n − 1) (its generic rank): the least-norm subgradient is returned (P over the singular values
/// with σ² above the clamping tolerance of `spectral` times σ_max²); procrustes where NBS rounds
/// to 1 (the same shape, its minimum 0): zero, the element of its subdifferential there. Near
/// NBS = 1, procrustes' gradient loses digits as ε/(1 − NBS) (it is formed from NBS). No
/// broadcasting: samples_a and samples_b have the same count.
template <typename T>
void shape_metric_gradient(Context& ctx, MatrixBatch<const T> samples_a,
                           MatrixBatch<const T> samples_b, ShapeMetric metric,
                           MatrixBatch<T> grad_a, MatrixBatch<T> grad_b,
                           const SpectralOptions& spectral = {});

}  // namespace gaussot
