// SPDX-License-Identifier: Apache-2.0
// compare_representations (compare.hpp): one pass over the sets for the Gaussians, the IGW
// spectra, the CKA self terms and the CKA pairs of the first block; the IGW and BW matrices from
// what the pass kept; then one more pass per further CKA block.
#include "gaussot/compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "backend.hpp"
#include "cka_sets.hpp"
#include "compare_tables.hpp"
#include "compose.hpp"
#include "gaussot/array.hpp"
#include "gaussot/statistics.hpp"
#include "nuclear_norm.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

/// One set's samples in the context's memory space (copied there when the loader gave them
/// elsewhere).
template <typename T>
struct LoadedSet {
  std::optional<Scratch<T>> copy_on_context;
  MatrixBatch<const T> samples;
};

/// A set as CKA uses it: X̂ (d x n) and, for the debiased value, r̂ (n x 1).
template <typename T>
struct CkaSet {
  std::int64_t index;
  UnitSampleSets<T> unit;
  std::optional<Scratch<T>> norms;
};

/// Rows [begin, end) of every item of m.
template <typename T>
MatrixBatch<T> rows_of(const MatrixBatch<T>& m, std::int64_t begin, std::int64_t end) {
  return {m.data + begin, end - begin, m.cols, m.ld, m.stride, m.count, m.space};
}

/// The block of `product` (rows: the sets stacked in the GEMM's first operand, columns: those in
/// its second) that pairs `row` with `column`: X̂_row X̂_columnᵀ.
template <typename P, typename S>
MatrixBatch<P> pair_block(const MatrixBatch<P>& product, const S& row, const S& column) {
  return rows_of(product.columns(column.offset, column.offset + column.features), row.offset,
                 row.offset + row.features);
}

/// A set stacked as a row slice of a (Σ d) x n matrix (leading dimension Σ d): its rows
/// [offset, offset + features) hold X̂; `norms` is its r̂ (n x 1) for the debiased CKA, else empty.
template <typename T>
struct StackedSet {
  std::int64_t index, offset, features;
  MatrixBatch<const T> norms;
};

/// Rows of a CKA product (d x d sets) met in one GEMM: the stack's rows of pending members, at
/// least this many, are multiplied with the whole stack at once. A wider strip packs the stack
/// fewer times but multiplies more of the pending square twice; 512 to 1024 rows were fastest on
/// the CPU (bench/peers_compare.py, d = 128, n = 10⁴).
constexpr std::int64_t kStripRows = 512;

/// The sets of a resident CKA block stacked (StackedSet): the CKA pairs of many sets come from
/// one product [X̂_1; …; X̂_m][X̂_p; …; X̂_q]ᵀ, one large GEMM, rather than one thin product per
/// pair, which repacks the same operands each time.
template <typename T>
struct ResidentBlock {
  Scratch<T> stacked;                      ///< (Σ d) x n
  std::optional<Scratch<T>> norm_columns;  ///< n x (sets): the members' r̂, when debiased
  std::vector<StackedSet<T>> members;
  std::size_t pending = 0;  ///< the members from here on have not met each other yet

  ResidentBlock(Context& ctx, std::int64_t rows, std::int64_t sets, std::int64_t samples,
                bool with_norms)
      : stacked(ctx, rows, samples, 1) {
    if (with_norms) norm_columns.emplace(ctx, samples, sets, 1);
  }
  std::int64_t end_row(std::size_t members_before) const {
    return members_before == 0
               ? 0
               : members[members_before - 1].offset + members[members_before - 1].features;
  }
  /// The rows of members [begin, end), as one matrix.
  MatrixBatch<const T> rows(std::size_t begin, std::size_t end) const {
    return rows_of<T>(stacked.view, end_row(begin), end_row(end));
  }
  std::int64_t pending_rows() const { return end_row(members.size()) - end_row(pending); }
  /// Copies the set's X̂ (and r̂) into the stack.
  void append(Context& ctx, const CkaSet<T>& set) {
    const std::int64_t offset = end_row(members.size()), d = set.unit.d;
    copy<T>(ctx, set.unit.unit.cview(), rows_of<T>(stacked.view, offset, offset + d));
    MatrixBatch<const T> norms;
    if (set.norms) {
      const auto column = static_cast<std::int64_t>(members.size());
      const MatrixBatch<T> place = norm_columns->view.columns(column, column + 1);
      copy<T>(ctx, set.norms->cview(), place);
      norms = place;
    }
    members.push_back({set.index, offset, d, norms});
  }
};

/// The per-set terms of CKA: ‖X̂X̂ᵀ‖² and Σ r̂², read on the host.
struct CkaSelfTerms {
  double squares = 0, norm_squares = 0, hsic = 0;
};

template <typename T>
class Comparer {
 public:
  Comparer(Context& ctx, const std::vector<ActivationSet<T>>& sets, const CompareOptions& options)
      : ctx_(ctx),
        sets_(sets),
        options_(options),
        check_("compare_representations", &ctx),
        k_(static_cast<std::int64_t>(sets.size())),
        gaussians_(ctx, options) {
    check_arguments();
  }

  Comparison run() {
    plan_blocks();
    Comparison result;
    result.samples = n_;
    for (const ActivationSet<T>& set : sets_) {
      result.names.push_back(set.name);
      result.dimensions.push_back(set.features);
    }
    allocate_product_metrics(options_, k_, result);
    self_.assign(static_cast<std::size_t>(k_), CkaSelfTerms{});
    pass(0, result);
    if (options_.igw) gaussians_.igw(result, [this] { progress("igw"); });
    if (options_.bw) gaussians_.bw(result, [this] { progress("bw"); });
    for (std::size_t b = 1; b < block_starts_.size(); ++b) pass(b, result);
    result.set_reads = reads_;
    return result;
  }

 private:
  const std::string& name(std::int64_t i) const { return names_[static_cast<std::size_t>(i)]; }
  bool with_shape() const { return options_.nbs || options_.procrustes; }
  /// Whether the centred sets and their cross products are needed (CKA or the shape metrics).
  bool with_products() const { return options_.cka || options_.cka_debiased || with_shape(); }

  void check_arguments() {
    check_.expect(k_ >= 1, "sets", "is empty: nothing to compare");
    n_ = sets_[0].samples;
    for (std::int64_t i = 0; i < k_; ++i) {
      const ActivationSet<T>& set = sets_[static_cast<std::size_t>(i)];
      names_.push_back("sets[" + std::to_string(i) + "] ('" + set.name + "')");
      check_.expect(set.features >= 1, name(i).c_str(), "has no features (d = 0)");
      check_.expect(set.samples == n_, name(i).c_str(),
                    "has " + std::to_string(set.samples) + " samples, sets[0] has " +
                        std::to_string(n_) + " (compared sets share their input rows)");
      check_.expect(static_cast<bool>(set.load), name(i).c_str(), "has no loader");
    }
    check_.expect(n_ >= 2, "sets", "need at least 2 samples, got " + std::to_string(n_));
    check_.expect(!options_.cka_debiased || n_ >= 4, "sets",
                  "need at least 4 samples for the debiased CKA, got " + std::to_string(n_));
    check_.expect(options_.memory_limit_bytes > 0, "options.memory_limit_bytes", "must be > 0");
  }

  /// CKA blocks: consecutive sets whose prepared copies fit in the memory limit together (at
  /// least one set each). Without CKA, one block: every set is read once.
  void plan_blocks() {
    block_starts_ = {0};
    std::int64_t used = 0;
    for (std::int64_t i = 0; i < k_ && with_products(); ++i) {
      const std::int64_t bytes = sets_[i].features * n_ * std::int64_t(sizeof(T));
      if (used > 0 && used + bytes > options_.memory_limit_bytes) {
        block_starts_.push_back(i);
        used = 0;
      }
      used += bytes;
    }
    block_starts_.push_back(k_);  // sentinel: block b is [block_starts_[b], block_starts_[b + 1])
    total_units_ = k_ + (options_.igw ? k_ : 0) + (options_.bw ? k_ : 0);
    for (std::size_t b = 1; b + 1 < block_starts_.size(); ++b)
      total_units_ += k_ - block_starts_[b];
    block_starts_.pop_back();
  }

  void progress(const char* stage) {
    ++done_units_;
    if (options_.progress) options_.progress(stage, done_units_, total_units_);
  }

  LoadedSet<T> load(std::int64_t i) {
    const ActivationSet<T>& set = sets_[static_cast<std::size_t>(i)];
    LoadedSet<T> loaded;
    loaded.samples = set.load();
    ++reads_;
    const MatrixBatch<const T>& s = loaded.samples;
    check_.expect(s.count == 1 && s.rows == set.features && s.cols == n_, name(i).c_str(),
                  "loader returned " + std::to_string(s.count) + " x (" + std::to_string(s.rows) +
                      " x " + std::to_string(s.cols) + "), expected one " +
                      std::to_string(set.features) + " x " + std::to_string(n_) +
                      " matrix (features x samples)");
    if (s.space != ctx_.memory_space()) {
      loaded.copy_on_context.emplace(ctx_, s.rows, s.cols, 1);
      copy<T>(ctx_, s, loaded.copy_on_context->view);
      loaded.samples = loaded.copy_on_context->cview();
    }
    return loaded;
  }

  CkaSet<T> cka_set(std::int64_t i, const LoadedSet<T>& loaded) {
    CkaSet<T> set{i, UnitSampleSets<T>(ctx_, check_, name(i), loaded.samples, 0), std::nullopt};
    if (options_.cka_debiased) set.norms.emplace(sample_norms(ctx_, set.unit));
    return set;
  }

  /// The CKA pairs (i, j) with i < j (and i == j when `with_self`) between the sets `rows` and
  /// `columns`, whose X̂ are stacked in row_stack and column_stack: one product of the stacks,
  /// then a Frobenius norm per pair of its blocks (and Σ r̂_i r̂_j). Pairs i == j give the self
  /// terms, recorded before the ratios of the other pairs read them.
  void cka_pairs(MatrixBatch<const T> row_stack, const std::vector<StackedSet<T>>& rows,
                 MatrixBatch<const T> column_stack, const std::vector<StackedSet<T>>& columns,
                 bool with_self, Comparison& result) {
    std::vector<std::pair<const StackedSet<T>*, const StackedSet<T>*>> pairs;
    for (const StackedSet<T>& column : columns) {
      for (const StackedSet<T>& row : rows) {
        if (row.index < column.index || (with_self && row.index == column.index)) {
          pairs.emplace_back(&row, &column);
        }
      }
    }
    if (pairs.empty()) return;
    Scratch<T> product(ctx_, row_stack.rows, column_stack.rows, 1);
    GAUSSOT_DISPATCH(ctx_, gemm<T>, Transpose::no, Transpose::yes, T(1), row_stack, column_stack,
                     T(0), product.view);
    const auto count = static_cast<std::int64_t>(pairs.size());
    Scratch<T> sums(ctx_, 1, 1, options_.cka_debiased ? 2 * count : count);
    for (std::int64_t p = 0; p < count; ++p) {
      const StackedSet<T>&row = *pairs[p].first, &column = *pairs[p].second;
      const MatrixBatch<const T> block = pair_block(product.cview(), row, column);
      GAUSSOT_DISPATCH(ctx_, frobenius_inner<T>, block, block, sums.vectors().slice(p, p + 1));
      if (options_.cka_debiased) {
        GAUSSOT_DISPATCH(ctx_, frobenius_inner<T>, row.norms, column.norms,
                         sums.vectors().slice(count + p, count + p + 1));
      }
    }
    const std::vector<double> host = to_host<T>(ctx_, sums.vectors());
    auto norm_products = [&](std::int64_t p) {
      return options_.cka_debiased ? host[count + p] : 0;
    };
    for (std::int64_t p = 0; p < count; ++p) {
      const std::int64_t i = pairs[p].first->index;
      if (i == pairs[p].second->index) record_self_terms(i, host[p], norm_products(p), result);
    }
    for (std::int64_t p = 0; p < count; ++p) {
      const std::int64_t i = pairs[p].first->index, j = pairs[p].second->index;
      if (i == j) continue;
      const CkaSelfTerms &ti = self_[i], &tj = self_[j];
      if (options_.cka) symmetric(result.cka, i, j, cka_ratio(host[p], ti.squares, tj.squares));
      if (options_.cka_debiased) {
        const double h = debiased_hsic(host[p], norm_products(p), n_);
        symmetric(result.cka_debiased, i, j, h / std::sqrt(ti.hsic * tj.hsic));
      }
    }
    if (with_shape()) shape_metrics(product, pairs, result);
  }

  /// NBS = ‖X̂_i X̂_jᵀ‖_* (X̂ has unit Frobenius norm) and arccos(NBS) of the pairs i != j, from
  /// their blocks of `product`, copied to the host once.
  void shape_metrics(
      const Scratch<T>& product,
      const std::vector<std::pair<const StackedSet<T>*, const StackedSet<T>*>>& pairs,
      Comparison& result) {
    const MatrixBatch<const T> view = product.cview();
    const std::vector<double> host =
        to_host<T>(ctx_, VectorBatch<const T>(view.data, view.rows * view.cols, 0, 1, view.space));
    const MatrixBatch<const double> host_product(host.data(), view.rows, view.cols, view.rows, 0,
                                                 1);
    std::vector<host::HostMatrix> blocks;
    std::vector<std::pair<std::int64_t, std::int64_t>> indices;
    for (const auto& [row, column] : pairs) {
      if (row->index == column->index) continue;
      const MatrixBatch<const double> block = pair_block(host_product, *row, *column);
      blocks.push_back({block.data, block.rows, block.cols, block.ld});
      indices.emplace_back(row->index, column->index);
    }
    const std::vector<double> norms = host::nuclear_norms(blocks, host_threads(ctx_));
    for (std::size_t p = 0; p < norms.size(); ++p) {
      const auto [i, j] = indices[p];
      if (options_.nbs) symmetric(result.nbs, i, j, norms[p]);
      if (options_.procrustes) {
        symmetric(result.procrustes, i, j, std::acos(std::min(1.0, norms[p])));
      }
    }
  }

  void symmetric(std::vector<double>& m, std::int64_t i, std::int64_t j, double value) const {
    set_symmetric(m, k_, i, j, value);
  }

  /// The CKA terms of a set outside the first block with itself.
  void self_terms(const CkaSet<T>& set, Comparison& result) {
    Scratch<T> sums(ctx_, 1, 1, 2);
    cross_squares<T>(ctx_, set.unit.unit.cview(), set.unit.unit.cview(),
                     sums.vectors().slice(0, 1));
    if (options_.cka_debiased) {
      GAUSSOT_DISPATCH(ctx_, frobenius_inner<T>, set.norms->cview(), set.norms->cview(),
                       sums.vectors().slice(1, 2));
    }
    const std::vector<double> host =
        to_host<T>(ctx_, sums.vectors().slice(0, options_.cka_debiased ? 2 : 1));
    record_self_terms(set.index, host[0], options_.cka_debiased ? host[1] : 0, result);
  }

  /// ‖X̂X̂ᵀ‖² and Σ r̂² of set j: its self terms, and the diagonal of the CKA matrices.
  void record_self_terms(std::int64_t j, double squares, double norm_squares, Comparison& result) {
    CkaSelfTerms& terms = self_[j];
    terms.squares = squares;
    terms.norm_squares = norm_squares;
    if (options_.cka) symmetric(result.cka, j, j, 1.0);
    if (options_.nbs) symmetric(result.nbs, j, j, 1.0);
    if (options_.procrustes) symmetric(result.procrustes, j, j, 0.0);
    if (options_.cka_debiased) {
      terms.hsic = checked_self_hsic(check_, name(j), 0, squares, norm_squares, n_,
                                     double(std::numeric_limits<T>::epsilon()));
      symmetric(result.cka_debiased, j, j, 1.0);
    }
  }

  std::int64_t block_end(std::size_t b) const {
    return b + 1 < block_starts_.size() ? block_starts_[b + 1] : k_;
  }

  /// The resident block b, empty, sized for its sets.
  ResidentBlock<T> resident_block(std::size_t b) const {
    std::int64_t rows = 0;
    for (std::int64_t i = block_starts_[b]; i < block_end(b); ++i) rows += sets_[i].features;
    return ResidentBlock<T>(ctx_, rows, block_end(b) - block_starts_[b], n_, options_.cka_debiased);
  }

  /// Pass b: block b resident, its sets stacked as they are read and met with each other in
  /// strips of kStripRows rows; the sets after it streamed past the whole block one at a time. The
  /// first pass (b = 0) reads every set: it also fits the Gaussians (IGW spectra, BW covariances)
  /// and records every set's CKA self terms.
  void pass(std::size_t b, Comparison& result) {
    const bool first = b == 0;
    const std::int64_t end = block_end(b);
    std::optional<ResidentBlock<T>> resident;
    if (with_products()) resident.emplace(resident_block(b));
    for (std::int64_t i = block_starts_[b]; i < k_; ++i) {
      const LoadedSet<T> loaded = load(i);
      if (first) {
        check_.finite(ctx_, name(i).c_str(), loaded.samples, false);
        if (options_.igw || options_.bw) fit_gaussian(i, loaded.samples);
      }
      if (with_products()) {
        const CkaSet<T> set = cka_set(i, loaded);
        ResidentBlock<T>& block = *resident;
        const std::size_t members = block.members.size();
        if (i < end) {
          block.append(ctx_, set);
          if (block.pending_rows() >= kStripRows || i + 1 == end) {
            const std::vector<StackedSet<T>> pending(block.members.begin() + block.pending,
                                                     block.members.end());
            cka_pairs(block.rows(0, members + 1), block.members,
                      block.rows(block.pending, members + 1), rebased(pending), first, result);
            block.pending = members + 1;
          }
        } else {
          if (first) self_terms(set, result);
          const MatrixBatch<const T> norms =
              set.norms ? set.norms->cview() : MatrixBatch<const T>();
          cka_pairs(block.rows(0, members), block.members, set.unit.unit.cview(),
                    {StackedSet<T>{i, 0, set.unit.d, norms}}, false, result);
        }
      }
      progress(first ? "reading" : "cka");
    }
  }

  /// The sets with offsets counted from the first one's.
  static std::vector<StackedSet<T>> rebased(std::vector<StackedSet<T>> sets) {
    const std::int64_t origin = sets.empty() ? 0 : sets.front().offset;
    for (StackedSet<T>& set : sets) set.offset -= origin;
    return sets;
  }

  void fit_gaussian(std::int64_t i, MatrixBatch<const T> samples) {
    const std::int64_t d = samples.rows;
    Scratch<T> mean(ctx_, d, 1, 1), covariance(ctx_, d, d, 1);
    sample_moments<T>(ctx_, samples, mean.vectors(), covariance.view);
    gaussians_.add(i, mean.vectors(), covariance.cview());
  }

  Context& ctx_;
  const std::vector<ActivationSet<T>>& sets_;
  const CompareOptions& options_;
  const ArgumentChecker check_;
  const std::int64_t k_;
  std::int64_t n_ = 0;
  std::vector<std::string> names_;
  std::vector<std::int64_t> block_starts_;
  std::int64_t total_units_ = 0, done_units_ = 0, reads_ = 0;
  std::vector<CkaSelfTerms> self_;
  GaussianTables<T> gaussians_;
};

}  // namespace

template <typename T>
Comparison compare_representations(Context& ctx, const std::vector<ActivationSet<T>>& sets,
                                   const CompareOptions& options) {
  return Comparer<T>(ctx, sets, options).run();
}

template Comparison compare_representations<float>(Context&,
                                                   const std::vector<ActivationSet<float>>&,
                                                   const CompareOptions&);
template Comparison compare_representations<double>(Context&,
                                                    const std::vector<ActivationSet<double>>&,
                                                    const CompareOptions&);

}  // namespace gaussot
