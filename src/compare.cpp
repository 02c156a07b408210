// SPDX-License-Identifier: Apache-2.0
// compare_representations (compare.hpp): one pass over the sets for the Gaussians, the IGW
// spectra, the CKA self terms and the CKA pairs of the first block; the IGW and BW matrices from
// what the pass kept; then one more pass per further CKA block.
#include "gaussot/compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend.hpp"
#include "cka_sets.hpp"
#include "compose.hpp"
#include "gaussot/array.hpp"
#include "gaussot/statistics.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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
        k_(static_cast<std::int64_t>(sets.size())) {
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
    const std::size_t cells = static_cast<std::size_t>(k_ * k_);
    if (options_.cka) result.cka.assign(cells, kNaN);
    if (options_.cka_debiased) result.cka_debiased.assign(cells, kNaN);
    first_pass(result);
    if (options_.igw) igw_matrix(result);
    if (options_.bw) bw_matrix(result);
    for (std::size_t b = 1; b < block_starts_.size(); ++b) block_pass(result, b);
    result.set_reads = reads_;
    return result;
  }

 private:
  const std::string& name(std::int64_t i) const { return names_[static_cast<std::size_t>(i)]; }
  bool with_cka() const { return options_.cka || options_.cka_debiased; }

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
    for (std::int64_t i = 0; i < k_ && with_cka(); ++i) {
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

  /// ‖X̂_i X̂_jᵀ‖² (and Σ r̂_i r̂_j) of `set` against every set of `others`, into the matrices.
  void cka_pairs(const CkaSet<T>& set, const std::vector<CkaSet<T>>& others, Comparison& result) {
    if (others.empty()) return;
    const auto count = static_cast<std::int64_t>(others.size());
    Scratch<T> sums(ctx_, 1, 1, 2 * count);
    for (std::int64_t o = 0; o < count; ++o) {
      const CkaSet<T>& other = others[static_cast<std::size_t>(o)];
      cross_squares<T>(ctx_, other.unit.unit.cview(), set.unit.unit.cview(),
                       sums.vectors().slice(o, o + 1));
      if (options_.cka_debiased) {
        GAUSSOT_DISPATCH(ctx_, frobenius_inner<T>, other.norms->cview(), set.norms->cview(),
                         sums.vectors().slice(count + o, count + o + 1));
      }
    }
    std::vector<T> host(static_cast<std::size_t>(2 * count));
    copy<T>(ctx_, sums.vectors().slice(0, options_.cka_debiased ? 2 * count : count),
            scalars(host.data(), options_.cka_debiased ? 2 * count : count));
    const std::int64_t j = set.index;
    for (std::int64_t o = 0; o < count; ++o) {
      const std::int64_t i = others[static_cast<std::size_t>(o)].index;
      const CkaSelfTerms &ti = self_[i], &tj = self_[j];
      const double cross = double(host[o]);
      if (options_.cka) symmetric(result.cka, i, j, cka_ratio(cross, ti.squares, tj.squares));
      if (options_.cka_debiased) {
        const double h = debiased_hsic(cross, double(host[count + o]), n_);
        symmetric(result.cka_debiased, i, j, h / std::sqrt(ti.hsic * tj.hsic));
      }
    }
  }

  void symmetric(std::vector<double>& m, std::int64_t i, std::int64_t j, double value) const {
    m[static_cast<std::size_t>(i * k_ + j)] = value;
    m[static_cast<std::size_t>(j * k_ + i)] = value;
  }

  /// The CKA terms of a set with itself; the diagonal of the CKA matrices.
  void self_terms(const CkaSet<T>& set, Comparison& result) {
    Scratch<T> sums(ctx_, 1, 1, 2);
    cross_squares<T>(ctx_, set.unit.unit.cview(), set.unit.unit.cview(),
                     sums.vectors().slice(0, 1));
    if (options_.cka_debiased) {
      GAUSSOT_DISPATCH(ctx_, frobenius_inner<T>, set.norms->cview(), set.norms->cview(),
                       sums.vectors().slice(1, 2));
    }
    std::vector<T> host(2, T(0));
    copy<T>(ctx_, sums.vectors().slice(0, options_.cka_debiased ? 2 : 1),
            scalars(host.data(), options_.cka_debiased ? 2 : 1));
    CkaSelfTerms& terms = self_[set.index];
    terms.squares = double(host[0]);
    terms.norm_squares = double(host[1]);
    if (options_.cka) symmetric(result.cka, set.index, set.index, 1.0);
    if (options_.cka_debiased) {
      terms.hsic = checked_self_hsic(check_, name(set.index), 0, terms.squares, terms.norm_squares,
                                     n_, double(std::numeric_limits<T>::epsilon()));
      symmetric(result.cka_debiased, set.index, set.index, 1.0);
    }
  }

  /// Reads every set once: Gaussians (IGW spectra, BW covariances), CKA self terms, and the CKA
  /// pairs of every set with the sets of the first block.
  void first_pass(Comparison& result) {
    self_.assign(static_cast<std::size_t>(k_), CkaSelfTerms{});
    const std::int64_t first_block_end = block_starts_.size() > 1 ? block_starts_[1] : k_;
    std::vector<CkaSet<T>> resident;
    for (std::int64_t i = 0; i < k_; ++i) {
      const LoadedSet<T> loaded = load(i);
      check_.finite(ctx_, name(i).c_str(), loaded.samples, false);
      if (options_.igw || options_.bw) fit_gaussian(i, loaded.samples);
      if (with_cka()) {
        CkaSet<T> set = cka_set(i, loaded);
        self_terms(set, result);
        cka_pairs(set, resident, result);
        if (i < first_block_end) resident.push_back(std::move(set));
      }
      progress("reading");
    }
  }

  /// Block b held in memory; the sets after it streamed past it one at a time.
  void block_pass(Comparison& result, std::size_t b) {
    const std::int64_t begin = block_starts_[b];
    const std::int64_t end = b + 1 < block_starts_.size() ? block_starts_[b + 1] : k_;
    std::vector<CkaSet<T>> resident;
    for (std::int64_t i = begin; i < k_; ++i) {
      const LoadedSet<T> loaded = load(i);
      CkaSet<T> set = cka_set(i, loaded);
      cka_pairs(set, resident, result);
      if (i < end) resident.push_back(std::move(set));
      progress("cka");
    }
  }

  void fit_gaussian(std::int64_t i, MatrixBatch<const T> samples) {
    const std::int64_t d = samples.rows;
    Scratch<T> mean(ctx_, d, 1, 1), covariance(ctx_, d, d, 1);
    sample_moments<T>(ctx_, samples, mean.vectors(), covariance.view);
    const GaussianBatch<const T> gaussian(
        options_.centered ? VectorBatch<const T>() : VectorBatch<const T>(mean.vectors()),
        covariance.cview());
    if (options_.igw) {
      spectra_.push_back(igw_spectra<T>(ctx_, gaussian, options_.igw_options.spectral)[0]);
    }
    if (options_.bw) {
      // Kept packed per dimension: [mean | covariance] of each set, gathered into batches later.
      Array<T> kept(ctx_, d + d * d);
      copy<T>(ctx_, mean.cview(), kept.matrices(d, 1, 1));
      copy<T>(ctx_, covariance.cview(),
              MatrixBatch<T>(kept.data() + d, d, d, d, d * d, 1, kept.space()));
      gaussians_.emplace(i, std::move(kept));
    }
  }

  void igw_matrix(Comparison& result) {
    const std::size_t cells = static_cast<std::size_t>(k_ * k_);
    result.igw.assign(cells, kNaN);
    result.igw_lower.assign(cells, kNaN);
    result.igw_upper.assign(cells, kNaN);
    result.igw_exact.assign(cells, false);
    // Row i against sets i..k−1 (IGW is symmetric in its two Gaussians), then mirrored.
    for (std::int64_t i = 0; i < k_; ++i) {
      const std::int64_t width = k_ - i;
      std::vector<double> squared(width), lower(width), upper(width);
      const std::vector<IgwSpectrum> row(spectra_.begin() + i, spectra_.end());
      const std::vector<IgwReport> reports =
          igw_squared_all_pairs(ctx_, {spectra_[i]}, row,
                                IgwMatrices<double>{matrices(squared.data(), 1, width, 1),
                                                    matrices(lower.data(), 1, width, 1),
                                                    matrices(upper.data(), 1, width, 1)},
                                options_.igw_options);
      for (std::int64_t c = 0; c < width; ++c) {
        const std::int64_t j = i + c;
        symmetric(result.igw, i, j, std::sqrt(std::max(0.0, squared[c])));
        symmetric(result.igw_lower, i, j, std::sqrt(std::max(0.0, lower[c])));
        symmetric(result.igw_upper, i, j, std::sqrt(std::max(0.0, upper[c])));
        result.igw_exact[static_cast<std::size_t>(i * k_ + j)] = reports[c].exact;
        result.igw_exact[static_cast<std::size_t>(j * k_ + i)] = reports[c].exact;
      }
      progress("igw");
    }
  }

  /// W2 within each group of sets of one dimension; NaN across groups.
  void bw_matrix(Comparison& result) {
    result.bw.assign(static_cast<std::size_t>(k_ * k_), kNaN);
    std::map<std::int64_t, std::vector<std::int64_t>> groups;
    for (std::int64_t i = 0; i < k_; ++i) groups[sets_[i].features].push_back(i);
    for (const auto& [d, members] : groups) {
      const auto size = static_cast<std::int64_t>(members.size());
      Scratch<T> means(ctx_, d, 1, size), covariances(ctx_, d, d, size);
      for (std::int64_t m = 0; m < size; ++m) {
        const Array<T>& kept = gaussians_.at(members[m]);
        copy<T>(ctx_, kept.matrices(d, 1, 1), means.view.slice(m, m + 1));
        copy<T>(ctx_, MatrixBatch<const T>(kept.data() + d, d, d, d, d * d, 1, kept.space()),
                covariances.view.slice(m, m + 1));
        gaussians_.erase(members[m]);
      }
      const GaussianBatch<const T> group(
          options_.centered ? VectorBatch<const T>() : VectorBatch<const T>(means.vectors()),
          covariances.cview());
      // Row m against the group's later sets; the diagonal is W2(N, N) = 0 exactly.
      for (std::int64_t m = 0; m < size; ++m) {
        symmetric(result.bw, members[m], members[m], 0.0);
        const std::int64_t width = size - m - 1;
        if (width > 0) {
          Scratch<T> row(ctx_, 1, width, 1);
          w2_squared_all_pairs<T>(ctx_, group.slice(m, m + 1), group.slice(m + 1, size), row.view,
                                  options_.bw_options);
          std::vector<T> host(static_cast<std::size_t>(width));
          copy<T>(ctx_, row.cview(), matrices(host.data(), 1, width, 1));
          for (std::int64_t c = 0; c < width; ++c) {
            symmetric(result.bw, members[m], members[m + 1 + c],
                      std::sqrt(std::max(0.0, double(host[c]))));
          }
        }
        progress("bw");
      }
    }
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
  std::vector<IgwSpectrum> spectra_;
  std::map<std::int64_t, Array<T>> gaussians_;
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
