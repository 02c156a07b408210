// SPDX-License-Identifier: Apache-2.0
// ComparisonAccumulator (compare.hpp): sums about a reference point, moved by rank-one GEMMs;
// the result from the centred scatter through the same tables and ratios as
// compare_representations.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "cka_sets.hpp"
#include "compare_tables.hpp"
#include "compose.hpp"
#include "gaussot/compare.hpp"
#include "nuclear_norm.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

template <typename T>
void set_zero(Context& ctx, MatrixBatch<T> out) {
  combine<T>(ctx, {}, out);  // no terms: every entry 0
}

template <typename T>
MatrixBatch<T> column(Array<T>& a) {
  return a.matrices(a.size(), 1, 1);
}
template <typename T>
MatrixBatch<const T> column(const Array<T>& a) {
  return a.matrices(a.size(), 1, 1);
}

/// Rows [r, r + rows) and columns [c, c + cols) of a column-major matrix with leading dimension ld.
template <typename T>
MatrixBatch<T> block(T* data, std::int64_t ld, std::int64_t r, std::int64_t c, std::int64_t rows,
                     std::int64_t cols, MemorySpace space) {
  return {data + r + c * ld, rows, cols, ld, rows * cols, 1, space};
}

/// The shapes of the flat state (state() and restore()): D-vectors reference and sums, D x D
/// products, k x D norm_sums, k x k norm_products.
template <typename V, typename M>
void check_state_shapes(const ArgumentChecker& check, VectorBatch<V> reference, VectorBatch<V> sums,
                        MatrixBatch<M> products, MatrixBatch<M> norm_sums,
                        MatrixBatch<M> norm_products, std::int64_t D, std::int64_t k) {
  check.expect(reference.count == 1 && reference.size == D, "reference",
               "must be one vector of length D = " + std::to_string(D));
  check.expect(sums.count == 1 && sums.size == D, "sums",
               "must be one vector of length D = " + std::to_string(D));
  check.matrix_shape("products", products, D, D);
  check.matrix_shape("norm_sums", norm_sums, k, D);
  check.matrix_shape("norm_products", norm_products, k, k);
}

}  // namespace

template <typename T>
ComparisonAccumulator<T>::ComparisonAccumulator(Context& ctx, std::vector<std::string> names,
                                                std::vector<std::int64_t> widths)
    : ctx_(&ctx), names_(std::move(names)), widths_(std::move(widths)) {
  const ArgumentChecker check("ComparisonAccumulator", &ctx);
  check.expect(!widths_.empty(), "widths", "is empty: nothing to compare");
  check.expect(names_.size() == widths_.size(), "names",
               "has " + std::to_string(names_.size()) + " names for " +
                   std::to_string(widths_.size()) + " widths");
  for (std::size_t i = 0; i < widths_.size(); ++i) {
    check.expect(widths_[i] >= 1, ("widths[" + std::to_string(i) + "]").c_str(),
                 "must be >= 1, got " + std::to_string(widths_[i]));
    offsets_.push_back(total_width_);
    total_width_ += widths_[i];
  }
  reset();
}

template <typename T>
std::string ComparisonAccumulator<T>::layer_name(std::size_t i) const {
  return "layers[" + std::to_string(i) + "] ('" + names_[i] + "')";
}

template <typename T>
void ComparisonAccumulator<T>::reset() {
  const std::int64_t D = total_width_, k = static_cast<std::int64_t>(widths_.size());
  state_ = State{Array<T>(*ctx_, D), Array<T>(*ctx_, D), Array<T>(*ctx_, D * D),
                 Array<T>(*ctx_, k * D), Array<T>(*ctx_, k * k)};
  for (Array<T>* a : {&state_.reference, &state_.sums, &state_.products, &state_.norm_sums,
                      &state_.norm_products}) {
    set_zero<T>(*ctx_, column(*a));
  }
  samples_ = 0;
  has_reference_ = false;
}

template <typename T>
typename ComparisonAccumulator<T>::State ComparisonAccumulator<T>::copy_state() const {
  auto duplicate = [&](const Array<T>& a) {
    Array<T> out(*ctx_, a.size());
    copy<T>(*ctx_, column(a), column(out));
    return out;
  };
  return {duplicate(state_.reference), duplicate(state_.sums),          duplicate(state_.products),
          duplicate(state_.norm_sums), duplicate(state_.norm_products), state_.complete};
}

template <typename T>
void ComparisonAccumulator<T>::complete(State& state) const {
  if (state.complete) return;
  const std::int64_t D = total_width_;
  const std::int64_t widest = *std::max_element(widths_.begin(), widths_.end());
  std::vector<double> identity(static_cast<std::size_t>(widest * widest), 0.0);
  for (std::int64_t i = 0; i < widest; ++i) identity[i + i * widest] = 1;
  const Scratch<T> eye = on_context<T>(*ctx_, identity, widest, widest, 1);
  T* S = state.products.data();
  const MemorySpace space = state.products.space();
  // S_ab = S_baᵀ I (a GEMM is the backends' transposing copy).
  for (std::size_t b = 1; b < widths_.size(); ++b) {
    for (std::size_t a = 0; a < b; ++a) {
      GAUSSOT_DISPATCH(
          *ctx_, gemm<T>, Transpose::yes, Transpose::no, T(1),
          MatrixBatch<const T>(
              block(S, D, offsets_[b], offsets_[a], widths_[b], widths_[a], space)),
          MatrixBatch<const T>(block(eye.view.data, widest, 0, 0, widths_[b], widths_[b], space)),
          T(0), block(S, D, offsets_[a], offsets_[b], widths_[a], widths_[b], space));
    }
  }
  state.complete = true;
}

template <typename T>
void ComparisonAccumulator<T>::update(const std::vector<MatrixBatch<const T>>& layers) {
  const ArgumentChecker check("ComparisonAccumulator::update", ctx_);
  const std::size_t k = widths_.size();
  check.expect(layers.size() == k, "layers",
               "has " + std::to_string(layers.size()) + " views, expected one per layer (" +
                   std::to_string(k) + ")");
  const std::int64_t m = layers[0].cols, D = total_width_;
  for (std::size_t i = 0; i < k; ++i) {
    const std::string name = layer_name(i);
    check.input(name.c_str(), layers[i]);
    check.expect(layers[i].count == 1 && layers[i].rows == widths_[i], name.c_str(),
                 "must be one " + std::to_string(widths_[i]) + " x m matrix (an (m, " +
                     std::to_string(widths_[i]) + ") array), got " +
                     std::to_string(layers[i].count) + " x (" + std::to_string(layers[i].rows) +
                     " x " + std::to_string(layers[i].cols) + ")");
    check.expect(layers[i].cols == m, name.c_str(),
                 "has " + std::to_string(layers[i].cols) + " inputs, layers[0] has " +
                     std::to_string(m) + " (one batch of inputs for every layer)");
  }
  check.expect(m >= 1, "layers", "hold no inputs (m = 0)");
  // The batch stacked (D x m) on the context, checked before the state changes.
  Scratch<T> stacked(*ctx_, D, m, 1);
  const MatrixBatch<T> y = stacked.view;
  for (std::size_t i = 0; i < k; ++i) {
    const MatrixBatch<T> rows = block(y.data, D, offsets_[i], 0, widths_[i], m, y.space);
    copy<T>(*ctx_, layers[i], rows);
    check.finite(*ctx_, layer_name(i).c_str(), MatrixBatch<const T>(rows), false);
  }
  const Scratch<T> ones = on_context<T>(*ctx_, std::vector<double>(m, 1.0), m, 1, 1);
  const MatrixBatch<T> c = column(state_.reference), s = column(state_.sums);
  if (!has_reference_) {  // the first batch's mean
    GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::no, T(1) / T(m), y, ones.cview(),
                     T(0), c);
    has_reference_ = true;
  }
  // y = x − c; s += y 1; S += y yᵀ; q_a = ‖y_a‖² per input (k x m); V += q yᵀ; W += q qᵀ.
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(-1), c, ones.cview(), T(1), y);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::no, T(1), y, ones.cview(), T(1), s);
  // S += y yᵀ on and below the block diagonal: rows [o_b, D) of column block b, one GEMM each.
  for (std::size_t b = 0; b < k; ++b) {
    const std::int64_t o = offsets_[b];
    GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(1),
                     MatrixBatch<const T>(block(y.data, D, o, 0, D - o, m, y.space)),
                     MatrixBatch<const T>(block(y.data, D, o, 0, widths_[b], m, y.space)), T(1),
                     block(state_.products.data(), D, o, o, D - o, widths_[b], y.space));
  }
  state_.complete = k == 1;
  const auto kk = static_cast<std::int64_t>(k);
  Scratch<T> norms(*ctx_, kk, m, 1);
  for (std::size_t i = 0; i < k; ++i) {
    const MatrixBatch<const T> columns(y.data + offsets_[i], widths_[i], 1, D, D, m, y.space);
    GAUSSOT_DISPATCH(*ctx_, frobenius_inner<T>, columns, columns,
                     VectorBatch<T>(norms.view.data + i, 1, kk, m, y.space));
  }
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(1), norms.cview(), y, T(1),
                   state_.norm_sums.matrices(kk, D, 1));
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(1), norms.cview(),
                   norms.cview(), T(1), state_.norm_products.matrices(kk, kk, 1));
  samples_ += m;
}

template <typename T>
void ComparisonAccumulator<T>::move_reference(State& state, std::int64_t samples,
                                              MatrixBatch<const T> delta) const {
  complete(state);
  const std::int64_t D = total_width_, k = static_cast<std::int64_t>(widths_.size());
  const double n = double(samples);
  const MatrixBatch<T> s = column(state.sums), S = state.products.matrices(D, D, 1),
                       V = state.norm_sums.matrices(k, D, 1);
  // Host: δ, s, t_a = tr S_aa, e_a = ‖δ_a‖², u_a = δ_aᵀ s_a (compare.hpp, ComparisonAccumulator).
  const std::vector<double> d = to_host<T>(*ctx_,
                                           VectorBatch<const T>(delta.data, D, D, 1, delta.space)),
                            s_host = to_host<T>(*ctx_, state.sums.vectors(D, 1));
  Scratch<T> traces(*ctx_, 1, 1, k);
  for (std::int64_t a = 0; a < k; ++a) {
    GAUSSOT_DISPATCH(*ctx_, trace<T>,
                     MatrixBatch<const T>(block(S.data, D, offsets_[a], offsets_[a], widths_[a],
                                                widths_[a], S.space)),
                     traces.vectors().slice(a, a + 1));
  }
  const std::vector<double> t = to_host<T>(*ctx_, traces.vectors());
  std::vector<double> e(k, 0.0), u(k, 0.0), w(k), blocks(static_cast<std::size_t>(D * k), 0.0);
  for (std::int64_t a = 0; a < k; ++a) {
    for (std::int64_t r = offsets_[a]; r < offsets_[a] + widths_[a]; ++r) {
      e[a] += d[r] * d[r];
      u[a] += d[r] * s_host[r];
      blocks[r + a * D] = d[r];
    }
    w[a] = 2 * u[a] - t[a] - n * e[a];
  }
  const Scratch<T> Delta = on_context<T>(*ctx_, blocks, D, k, 1);
  // R = Δᵀ S (k x D), then ΔᵀSΔ and VΔ (k x k), before S and V change.
  Scratch<T> R(*ctx_, k, D, 1), RDelta(*ctx_, k, k, 1), VDelta(*ctx_, k, k, 1);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::yes, Transpose::no, T(1), Delta.cview(),
                   MatrixBatch<const T>(S), T(0), R.view);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::no, T(1), R.cview(), Delta.cview(),
                   T(0), RDelta.view);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::no, T(1), MatrixBatch<const T>(V),
                   Delta.cview(), T(0), VDelta.view);
  auto flat = [&](const Scratch<T>& m) {
    return to_host<T>(*ctx_, VectorBatch<const T>(m.view.data, k * k, 0, 1, m.view.space));
  };
  const std::vector<double> sds = flat(RDelta), vd = flat(VDelta),
                            W = to_host<T>(*ctx_,
                                           std::as_const(state.norm_products).vectors(k * k, 1));
  std::vector<double> moved(static_cast<std::size_t>(k * k));
  for (std::int64_t b = 0; b < k; ++b) {
    for (std::int64_t a = 0; a < k; ++a) {
      const std::size_t ab = a + b * k, ba = b + a * k;
      moved[ab] = W[ab] - 2 * vd[ab] - 2 * vd[ba] + 4 * sds[ab] + t[a] * e[b] + e[a] * t[b] -
                  2 * u[a] * e[b] - 2 * e[a] * u[b] + n * e[a] * e[b];
    }
  }
  write_on_context<T>(*ctx_, moved, state.norm_products.matrices(k, k, 1));
  // V −= 2R; V += e sᵀ + w δᵀ.
  const Scratch<T> e_context = on_context<T>(*ctx_, e, k, 1, 1),
                   w_context = on_context<T>(*ctx_, w, k, 1, 1);
  combine<T>(*ctx_, {{T(1), V}, {T(-2), R.cview()}}, V);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(1), e_context.cview(),
                   MatrixBatch<const T>(s), T(1), V);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(1), w_context.cview(), delta,
                   T(1), V);
  // z = s − nδ; S −= s δᵀ + δ zᵀ; s = z; c += δ.
  Scratch<T> z(*ctx_, D, 1, 1);
  combine<T>(*ctx_, {{T(1), MatrixBatch<const T>(s)}, {T(-n), delta}}, z.view);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(-1), MatrixBatch<const T>(s),
                   delta, T(1), S);
  GAUSSOT_DISPATCH(*ctx_, gemm<T>, Transpose::no, Transpose::yes, T(-1), delta, z.cview(), T(1), S);
  copy<T>(*ctx_, z.cview(), s);
  combine<T>(*ctx_, {{T(1), column(std::as_const(state.reference))}, {T(1), delta}},
             column(state.reference));
}

template <typename T>
void ComparisonAccumulator<T>::rebase(VectorBatch<const T> reference) {
  const ArgumentChecker check("ComparisonAccumulator::rebase", ctx_);
  check.input("reference", reference.as_matrices());
  check.expect(reference.count == 1 && reference.size == total_width_, "reference",
               "must be one vector of length D = " + std::to_string(total_width_));
  Scratch<T> target(*ctx_, total_width_, 1, 1);
  copy<T>(*ctx_, reference.as_matrices(), target.view);
  check.finite(*ctx_, "reference", target.cview(), false);
  if (samples_ > 0) {
    Scratch<T> delta(*ctx_, total_width_, 1, 1);
    combine<T>(*ctx_, {{T(1), target.cview()}, {T(-1), column(std::as_const(state_.reference))}},
               delta.view);
    move_reference(state_, samples_, delta.cview());
  }
  // Exactly the given point (c + δ may round): states rebased on equal points add entrywise.
  copy<T>(*ctx_, target.cview(), column(state_.reference));
  has_reference_ = true;
}

template <typename T>
void ComparisonAccumulator<T>::merge(const ComparisonAccumulator& other) {
  const ArgumentChecker check("ComparisonAccumulator::merge", ctx_);
  check.expect(other.names_ == names_ && other.widths_ == widths_, "other",
               "has other layers (names or widths differ)");
  check.expect(&other != this, "other", "is this accumulator (merge a copy)");
  if (other.samples_ == 0) return;
  State added = other.copy_state();
  if (has_reference_) {
    Scratch<T> delta(*ctx_, total_width_, 1, 1);
    combine<T>(*ctx_,
               {{T(1), column(std::as_const(state_.reference))},
                {T(-1), column(std::as_const(added.reference))}},
               delta.view);
    move_reference(added, other.samples_, delta.cview());
  }
  copy<T>(*ctx_, column(std::as_const(added.reference)), column(state_.reference));
  for (auto [into, from] :
       {std::pair{&state_.sums, &added.sums}, std::pair{&state_.products, &added.products},
        std::pair{&state_.norm_sums, &added.norm_sums},
        std::pair{&state_.norm_products, &added.norm_products}}) {
    combine<T>(*ctx_, {{T(1), column(std::as_const(*into))}, {T(1), column(std::as_const(*from))}},
               column(*into));
  }
  state_.complete = state_.complete && added.complete;
  samples_ += other.samples_;
  has_reference_ = true;
}

template <typename T>
Comparison ComparisonAccumulator<T>::result(const CompareOptions& options) const {
  const ArgumentChecker check("ComparisonAccumulator::result", ctx_);
  const std::int64_t n = samples_, D = total_width_, k = static_cast<std::int64_t>(widths_.size());
  check.expect(n >= 2, "samples", "need at least 2 inputs, got " + std::to_string(n));
  check.expect(!options.cka_debiased || n >= 4, "samples",
               "need at least 4 inputs for the debiased CKA, got " + std::to_string(n));
  Comparison result;
  result.names = names_;
  result.dimensions = widths_;
  result.samples = n;
  // Centre a copy: the reference moved to the mean, δ = s/n; S is then the centred scatter C.
  State centred = copy_state();
  Scratch<T> delta(*ctx_, D, 1, 1);
  combine<T>(*ctx_, {{T(1) / T(n), column(std::as_const(state_.sums))}}, delta.view);
  move_reference(centred, n, delta.cview());
  const MatrixBatch<const T> C = std::as_const(centred.products).matrices(D, D, 1);
  auto c_block = [&](std::int64_t a, std::int64_t b) {
    return block(C.data, D, offsets_[a], offsets_[b], widths_[a], widths_[b], C.space);
  };

  const std::int64_t total = (options.igw ? k : 0) + (options.bw ? k : 0);
  std::int64_t done = 0;
  auto tick = [&](const char* stage) {
    ++done;
    if (options.progress) options.progress(stage, done, total);
  };
  if (options.igw || options.bw) {
    GaussianTables<T> tables(*ctx_, options);
    for (std::int64_t a = 0; a < k; ++a) {
      const std::int64_t d = widths_[a];
      Scratch<T> covariance(*ctx_, d, d, 1);
      combine<T>(*ctx_, {{T(1) / T(n - 1), c_block(a, a)}}, covariance.view);
      const MatrixBatch<const T> mean(centred.reference.data() + offsets_[a], d, 1, d, d, 1,
                                      centred.reference.space());
      tables.add(a, VectorBatch<const T>(mean.data, d, d, 1, mean.space), covariance.cview());
    }
    if (options.igw) tables.igw(result, [&] { tick("igw"); });
    if (options.bw) tables.bw(result, [&] { tick("bw"); });
  }

  const bool shape = options.nbs || options.procrustes;
  if (!(options.cka || options.cka_debiased || shape)) return result;
  allocate_product_metrics(options, k, result);
  // ‖C_ab‖_F² for a <= b; ν_a = tr C_aa = ‖X̃_a‖_F².
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
  for (std::int64_t b = 0; b < k; ++b) {
    for (std::int64_t a = 0; a <= b; ++a) pairs.emplace_back(a, b);
  }
  const auto count = static_cast<std::int64_t>(pairs.size());
  Scratch<T> sums(*ctx_, 1, 1, count + k);
  for (std::int64_t p = 0; p < count; ++p) {
    const MatrixBatch<const T> cab = c_block(pairs[p].first, pairs[p].second);
    GAUSSOT_DISPATCH(*ctx_, frobenius_inner<T>, cab, cab, sums.vectors().slice(p, p + 1));
  }
  for (std::int64_t a = 0; a < k; ++a) {
    GAUSSOT_DISPATCH(*ctx_, trace<T>, c_block(a, a),
                     sums.vectors().slice(count + a, count + a + 1));
  }
  const std::vector<double> host = to_host<T>(*ctx_, sums.vectors());
  const std::vector<double> W = to_host<T>(*ctx_, centred.norm_products.vectors(k * k, 1));
  std::vector<double> nu(host.begin() + count, host.end()), self(k), self_hsic(k);
  for (std::int64_t a = 0; a < k; ++a) {
    check.expect(std::isfinite(nu[a]) && nu[a] > 0, layer_name(a).c_str(),
                 "has constant features (every input gives the same values): CKA and the shape "
                 "metrics are undefined");
  }
  // The unit-normalised terms of cka_sets.hpp: X̂ = X̃/√ν, Σ r̂ŝ = W_ab/(ν_a ν_b).
  auto unit = [&](double value, std::int64_t a, std::int64_t b) { return value / (nu[a] * nu[b]); };
  for (std::int64_t p = 0; p < count; ++p) {
    const auto [a, b] = pairs[p];
    if (a != b) continue;
    self[a] = unit(host[p], a, a);
    if (options.cka) set_symmetric(result.cka, k, a, a, 1.0);
    if (options.nbs) set_symmetric(result.nbs, k, a, a, 1.0);
    if (options.procrustes) set_symmetric(result.procrustes, k, a, a, 0.0);
    if (options.cka_debiased) {
      self_hsic[a] = checked_self_hsic(check, layer_name(a), 0, self[a], unit(W[a + a * k], a, a),
                                       n, double(std::numeric_limits<T>::epsilon()));
      set_symmetric(result.cka_debiased, k, a, a, 1.0);
    }
  }
  for (std::int64_t p = 0; p < count; ++p) {
    const auto [a, b] = pairs[p];
    if (a == b) continue;
    const double cross = unit(host[p], a, b);
    if (options.cka) set_symmetric(result.cka, k, a, b, cka_ratio(cross, self[a], self[b]));
    if (options.cka_debiased) {
      const double h = debiased_hsic(cross, unit(W[a + b * k], a, b), n);
      set_symmetric(result.cka_debiased, k, a, b, h / std::sqrt(self_hsic[a] * self_hsic[b]));
    }
  }
  if (shape) {
    // NBS = ‖C_ab‖_* / √(ν_a ν_b), from the singular values of each block on the host.
    const std::vector<double> c_host =
        to_host<T>(*ctx_, VectorBatch<const T>(C.data, D * D, 0, 1, C.space));
    std::vector<host::HostMatrix> blocks;
    std::vector<std::pair<std::int64_t, std::int64_t>> indices;
    for (const auto& [a, b] : pairs) {
      if (a == b) continue;
      blocks.push_back({c_host.data() + offsets_[a] + offsets_[b] * D, widths_[a], widths_[b], D});
      indices.emplace_back(a, b);
    }
    const std::vector<double> norms = host::nuclear_norms(blocks, host_threads(*ctx_));
    for (std::size_t p = 0; p < norms.size(); ++p) {
      const auto [a, b] = indices[p];
      const double similarity = norms[p] / std::sqrt(nu[a] * nu[b]);
      if (options.nbs) set_symmetric(result.nbs, k, a, b, similarity);
      if (options.procrustes) {
        set_symmetric(result.procrustes, k, a, b, std::acos(std::min(1.0, similarity)));
      }
    }
  }
  return result;
}

template <typename T>
void ComparisonAccumulator<T>::state(VectorBatch<T> reference, VectorBatch<T> sums,
                                     MatrixBatch<T> products, MatrixBatch<T> norm_sums,
                                     MatrixBatch<T> norm_products) const {
  const ArgumentChecker check("ComparisonAccumulator::state", ctx_);
  const std::int64_t D = total_width_, k = static_cast<std::int64_t>(widths_.size());
  check.output("reference", reference);
  check.output("sums", sums);
  check.output("products", products);
  check.output("norm_sums", norm_sums);
  check.output("norm_products", norm_products);
  check_state_shapes(check, reference, sums, products, norm_sums, norm_products, D, k);
  complete(state_);
  copy<T>(*ctx_, column(state_.reference), reference.as_matrices());
  copy<T>(*ctx_, column(state_.sums), sums.as_matrices());
  copy<T>(*ctx_, state_.products.matrices(D, D, 1), products);
  copy<T>(*ctx_, state_.norm_sums.matrices(k, D, 1), norm_sums);
  copy<T>(*ctx_, state_.norm_products.matrices(k, k, 1), norm_products);
}

template <typename T>
void ComparisonAccumulator<T>::restore(std::int64_t samples, VectorBatch<const T> reference,
                                       VectorBatch<const T> sums, MatrixBatch<const T> products,
                                       MatrixBatch<const T> norm_sums,
                                       MatrixBatch<const T> norm_products) {
  const ArgumentChecker check("ComparisonAccumulator::restore", ctx_);
  const std::int64_t D = total_width_, k = static_cast<std::int64_t>(widths_.size());
  check.at_least("samples", samples, 0);
  check.input("reference", reference.as_matrices());
  check.input("sums", sums.as_matrices());
  check.input("products", products);
  check.input("norm_sums", norm_sums);
  check.input("norm_products", norm_products);
  check_state_shapes(check, reference, sums, products, norm_sums, norm_products, D, k);
  State restored{Array<T>(*ctx_, D), Array<T>(*ctx_, D), Array<T>(*ctx_, D * D),
                 Array<T>(*ctx_, k * D), Array<T>(*ctx_, k * k)};
  const std::pair<const char*, std::pair<MatrixBatch<const T>, Array<T>*>> parts[] = {
      {"reference", {reference.as_matrices(), &restored.reference}},
      {"sums", {sums.as_matrices(), &restored.sums}},
      {"products", {products, &restored.products}},
      {"norm_sums", {norm_sums, &restored.norm_sums}},
      {"norm_products", {norm_products, &restored.norm_products}}};
  for (const auto& [name, part] : parts) {
    const MatrixBatch<T> into = part.second->matrices(part.first.rows, part.first.cols, 1);
    copy<T>(*ctx_, part.first, into);
    check.finite(*ctx_, name, MatrixBatch<const T>(into), false);
  }
  check.symmetric(*ctx_, "products", std::as_const(restored.products).matrices(D, D, 1));
  check.symmetric(*ctx_, "norm_products", std::as_const(restored.norm_products).matrices(k, k, 1));
  state_ = std::move(restored);
  samples_ = samples;
  has_reference_ = true;
}

template class ComparisonAccumulator<float>;
template class ComparisonAccumulator<double>;

}  // namespace gaussot
