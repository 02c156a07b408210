// SPDX-License-Identifier: Apache-2.0
// compare_representations on the CPU against the pairwise functions it stands for (linear_cka,
// igw_squared, w2_squared on the sample moments), the IGW-spectra path against the Gaussian
// all-pairs path, CKA blocks under a small memory limit equal to one block, progress, bad input.
#include <cmath>
#include <memory>
#include <numeric>
#include <tuple>

#include "test_utils.hpp"

namespace gaussot::test {
namespace {

/// Activation sets of dimensions `dims` over n shared rows: related sets (a random linear map of
/// a common latent, plus noise, plus an offset) so that CKA and IGW take varied values.
template <typename T>
struct Activations {
  std::int64_t n;
  std::vector<std::int64_t> dims;
  std::vector<std::vector<T>> data;  // n x d row-major = d x n column-major
  Activations(std::int64_t n_, std::vector<std::int64_t> dims_, std::uint64_t seed)
      : n(n_), dims(std::move(dims_)) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    const std::int64_t latent = 4;
    std::vector<double> z(static_cast<std::size_t>(n * latent));
    for (double& v : z) v = normal(rng);
    for (std::int64_t d : dims) {
      std::vector<double> map(static_cast<std::size_t>(d * latent)), offset(d);
      for (double& v : map) v = normal(rng);
      for (double& v : offset) v = 2 * normal(rng);
      std::vector<T> x(static_cast<std::size_t>(n * d));
      for (std::int64_t s = 0; s < n; ++s) {
        for (std::int64_t f = 0; f < d; ++f) {
          double v = offset[f] + 0.3 * normal(rng);
          for (std::int64_t l = 0; l < latent; ++l) v += map[f * latent + l] * z[s * latent + l];
          x[s * d + f] = T(std::tanh(v));
        }
      }
      data.push_back(std::move(x));
    }
  }
  MatrixBatch<const T> view(std::size_t i) const {
    return matrices<const T>(data[i].data(), dims[i], n, 1);
  }
  std::vector<ActivationSet<T>> sets() const {
    std::vector<ActivationSet<T>> out;
    for (std::size_t i = 0; i < data.size(); ++i) {
      out.push_back({"set" + std::to_string(i), n, dims[i], [this, i] { return view(i); }});
    }
    return out;
  }
  /// The fitted Gaussian of set i (means dropped when centered).
  HostGaussians<T> gaussian(std::size_t i, bool centered) const {
    Context ctx = Context::cpu();
    HostGaussians<T> g(dims[i], 1);
    sample_moments<T>(ctx, view(i), vectors(g.means.data(), dims[i], 1),
                      square_matrices(g.covariances.data(), dims[i], 1));
    if (centered) std::fill(g.means.begin(), g.means.end(), T(0));
    return g;
  }
};

template <typename T>
class Compare : public ::testing::Test {
 protected:
  Context ctx = Context::cpu();
  static double tolerance() { return sizeof(T) == 4 ? 2e-4 : 1e-10; }
};

using Precisions = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Compare, Precisions);

TYPED_TEST(Compare, EqualsThePairwiseFunctions) {
  using T = TypeParam;
  const Activations<T> acts(60, {3, 5, 3, 4, 5}, 11);
  CompareOptions options;
  options.cka_debiased = true;
  const Comparison c = compare_representations<T>(this->ctx, acts.sets(), options);
  const std::int64_t k = 5;
  ASSERT_EQ(c.names.size(), 5u);
  EXPECT_EQ(c.names[3], "set3");
  EXPECT_EQ(c.dimensions[1], 5);
  EXPECT_EQ(c.samples, 60);
  EXPECT_EQ(c.set_reads, k);  // everything fits: one read per set
  const double tol = this->tolerance();
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = 0; j < k; ++j) {
      const std::size_t e = static_cast<std::size_t>(i * k + j);
      // CKA and debiased CKA of the pair.
      T cka = 0, debiased = 0;
      linear_cka<T>(this->ctx, acts.view(i), acts.view(j), scalars(&cka, 1), scalars(&debiased, 1));
      EXPECT_NEAR(c.cka[e], cka, tol) << i << "," << j;
      EXPECT_NEAR(c.cka_debiased[e], debiased, tol * 10) << i << "," << j;
      // IGW of the fitted (uncentered) Gaussians, with the same ascent.
      const HostGaussians<T> gi = acts.gaussian(i, false), gj = acts.gaussian(j, false);
      T squared = 0, lower = 0, upper = 0;
      igw_squared<T>(this->ctx, gi.cview(), gj.cview(),
                     {scalars(&squared, 1), scalars(&lower, 1), scalars(&upper, 1)});
      const double scale = std::max(1.0, double(upper));
      EXPECT_NEAR(c.igw_lower[e] * c.igw_lower[e], lower, tol * scale) << i << "," << j;
      EXPECT_NEAR(c.igw_upper[e] * c.igw_upper[e], upper, tol * scale) << i << "," << j;
      // The ascent may stop at slightly different points in the two orientations.
      EXPECT_NEAR(c.igw[e] * c.igw[e], squared, 1e-3 * scale) << i << "," << j;
      EXPECT_LE(c.igw_lower[e], c.igw[e] * (1 + tol));
      EXPECT_LE(c.igw[e], c.igw_upper[e] * (1 + tol));
      // BW where the dimensions agree, NaN elsewhere.
      if (acts.dims[i] == acts.dims[j]) {
        T w2 = 0;
        w2_squared<T>(this->ctx, gi.cview(), gj.cview(), scalars(&w2, 1));
        EXPECT_NEAR(c.bw[e] * c.bw[e], w2, tol * std::max(1.0, double(w2))) << i << "," << j;
      } else {
        EXPECT_TRUE(std::isnan(c.bw[e])) << i << "," << j;
      }
    }
    const std::size_t diagonal = static_cast<std::size_t>(i * k + i);
    EXPECT_EQ(c.cka[diagonal], 1.0);
    EXPECT_EQ(c.igw[diagonal], 0.0);
    EXPECT_EQ(c.bw[diagonal], 0.0);
  }
}

TYPED_TEST(Compare, ShapeMetricsAreTheNuclearNormOfTheCentredCrossProduct) {
  using T = TypeParam;
  const Activations<T> acts(50, {3, 5, 2, 4}, 17);
  CompareOptions options;
  options.igw = options.bw = options.cka = false;
  options.nbs = options.procrustes = true;
  CompareOptions in_blocks = options;
  in_blocks.memory_limit_bytes = 1;  // one set per block: the streamed path
  const Comparison c = compare_representations<T>(this->ctx, acts.sets(), options);
  const Comparison b = compare_representations<T>(this->ctx, acts.sets(), in_blocks);
  EXPECT_TRUE(c.cka.empty());
  const std::size_t k = acts.dims.size();
  const std::int64_t n = acts.n;
  // X̃ (n x d, long double), centred on its mean, from the raw samples.
  auto centred = [&](std::size_t i) {
    const std::int64_t d = acts.dims[i];
    Dense x(static_cast<std::size_t>(n * d));
    for (std::int64_t f = 0; f < d; ++f) {
      long double mean = 0;
      for (std::int64_t s = 0; s < n; ++s) mean += acts.data[i][s * d + f];
      mean /= n;
      for (std::int64_t s = 0; s < n; ++s) x[s + f * n] = acts.data[i][s * d + f] - mean;
    }
    return x;
  };
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t e = i * k + j;
      if (i == j) {
        EXPECT_EQ(c.nbs[e], 1.0);
        EXPECT_EQ(c.procrustes[e], 0.0);
        continue;
      }
      // ‖X̃_iᵀX̃_j‖_* = Σ √λ(MᵀM) for M = X̃_iᵀX̃_j (full rank here), over ‖X̃_i‖_F ‖X̃_j‖_F.
      const Dense xi = centred(i), xj = centred(j);
      const std::int64_t di = acts.dims[i], dj = acts.dims[j];
      Dense m(static_cast<std::size_t>(di * dj), 0), gram(static_cast<std::size_t>(dj * dj), 0);
      for (std::int64_t r = 0; r < di; ++r)
        for (std::int64_t q = 0; q < dj; ++q)
          for (std::int64_t s = 0; s < n; ++s) m[r + q * di] += xi[s + r * n] * xj[s + q * n];
      for (std::int64_t p = 0; p < dj; ++p)
        for (std::int64_t q = 0; q < dj; ++q)
          for (std::int64_t r = 0; r < di; ++r) gram[p + q * dj] += m[r + p * di] * m[r + q * di];
      long double nuclear = 0, norm_i = 0, norm_j = 0;
      for (long double w : symmetric_eigenvalues(gram, dj)) nuclear += std::sqrt(std::max(w, 0.0L));
      for (long double v : xi) norm_i += v * v;
      for (long double v : xj) norm_j += v * v;
      const long double expected = nuclear / std::sqrt(norm_i * norm_j);
      EXPECT_NEAR(c.nbs[e], double(expected), this->tolerance()) << i << "," << j;
      EXPECT_NEAR(std::cos(c.procrustes[e]), c.nbs[e], this->tolerance()) << i << "," << j;
      EXPECT_GT(c.nbs[e], 0.0);
      EXPECT_LE(c.nbs[e], 1.0);
      EXPECT_NEAR(b.nbs[e], c.nbs[e], this->tolerance()) << i << "," << j;
      EXPECT_NEAR(b.procrustes[e], c.procrustes[e], this->tolerance()) << i << "," << j;
    }
  }
}

TYPED_TEST(Compare, CenteredIgwIsTheExactClosedForm) {
  using T = TypeParam;
  const Activations<T> acts(40, {2, 4, 3}, 5);
  CompareOptions options;
  options.centered = true;
  options.cka = false;
  const Comparison c = compare_representations<T>(this->ctx, acts.sets(), options);
  EXPECT_TRUE(c.cka.empty());
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      const std::size_t e = i * 3 + j;
      EXPECT_TRUE(c.igw_exact[e]);
      EXPECT_EQ(c.igw_lower[e], c.igw_upper[e]);
      // ‖S_i‖² + ‖S_j‖² − 2 Σ_l α_l β_l over the decreasing, zero-padded spectra (§2.2).
      const HostGaussians<T> gi = acts.gaussian(i, true), gj = acts.gaussian(j, true);
      std::vector<long double> alpha = symmetric_eigenvalues(gi.cov(0), gi.d),
                               beta = symmetric_eigenvalues(gj.cov(0), gj.d);
      std::sort(alpha.rbegin(), alpha.rend());
      std::sort(beta.rbegin(), beta.rend());
      long double expected = 0;
      for (std::size_t l = 0; l < std::max(alpha.size(), beta.size()); ++l) {
        const long double a = l < alpha.size() ? alpha[l] : 0, b = l < beta.size() ? beta[l] : 0;
        expected += (a - b) * (a - b);
      }
      EXPECT_NEAR(c.igw[e] * c.igw[e], double(expected),
                  this->tolerance() * std::max(1.0L, expected));
    }
  }
}

TYPED_TEST(Compare, SmallMemoryLimitGivesTheSameMatricesWithMoreReads) {
  using T = TypeParam;
  const Activations<T> acts(30, {3, 2, 4, 3, 2, 5}, 3);
  CompareOptions all_at_once;
  all_at_once.cka_debiased = true;
  all_at_once.igw = all_at_once.bw = false;
  CompareOptions one_by_one = all_at_once;
  one_by_one.memory_limit_bytes = 1;  // one set per block
  std::vector<std::int64_t> done;
  std::int64_t total = 0;
  one_by_one.progress = [&](const char*, std::int64_t d, std::int64_t t) {
    done.push_back(d);
    total = t;
  };
  // Blocks of widths (3, 2), (4, 3), (2, 5): sets stacked at offsets other than 0 in later blocks.
  CompareOptions seven_rows = all_at_once;
  seven_rows.memory_limit_bytes = 7 * 30 * std::int64_t(sizeof(T));
  const Comparison a = compare_representations<T>(this->ctx, acts.sets(), all_at_once);
  const Comparison b = compare_representations<T>(this->ctx, acts.sets(), one_by_one);
  const Comparison c = compare_representations<T>(this->ctx, acts.sets(), seven_rows);
  EXPECT_EQ(a.set_reads, 6);
  EXPECT_EQ(b.set_reads, 6 + 5 * 6 / 2);  // pass b >= 1 reads the sets from b on
  EXPECT_EQ(c.set_reads, 6 + 4 + 2);
  ASSERT_EQ(a.cka.size(), b.cka.size());
  for (std::size_t e = 0; e < a.cka.size(); ++e) {
    for (const Comparison* other : {&b, &c}) {
      EXPECT_NEAR(a.cka[e], other->cka[e], this->tolerance()) << e;
      EXPECT_NEAR(a.cka_debiased[e], other->cka_debiased[e], this->tolerance()) << e;
      EXPECT_FALSE(std::isnan(other->cka[e])) << e;
    }
  }
  ASSERT_FALSE(done.empty());
  EXPECT_EQ(total, b.set_reads);
  EXPECT_EQ(done.back(), total);
  EXPECT_TRUE(std::is_sorted(done.begin(), done.end()));
}

TYPED_TEST(Compare, SpectraPathEqualsTheGaussianAllPairs) {
  using T = TypeParam;
  std::mt19937_64 rng(21);
  HostGaussians<T> a(3, 4), b(5, 2);
  for (HostGaussians<T>* g : {&a, &b}) {
    for (std::int64_t i = 0; i < g->k; ++i) {
      const Dense q = random_orthogonal(g->d, rng);
      std::vector<long double> mean(g->d);
      std::normal_distribution<double> normal;
      for (auto& m : mean) m = normal(rng);
      g->set(i, mean, with_spectrum(q, geometric_spectrum(g->d, 3.0L, 0.2L), g->d));
    }
  }
  std::vector<T> squared(8), lower(8), upper(8);
  igw_squared_all_pairs<T>(this->ctx, a.cview(), b.cview(),
                           {matrices(squared.data(), 4, 2, 1), matrices(lower.data(), 4, 2, 1),
                            matrices(upper.data(), 4, 2, 1)});
  const std::vector<IgwSpectrum> sa = igw_spectra<T>(this->ctx, a.cview()),
                                 sb = igw_spectra<T>(this->ctx, b.cview());
  ASSERT_EQ(sa.size(), 4u);
  EXPECT_EQ(sb[1].dimension(), 5);
  std::vector<double> s2(8), l2(8), u2(8);
  igw_squared_all_pairs(
      this->ctx, sa, sb,
      {matrices(s2.data(), 4, 2, 1), matrices(l2.data(), 4, 2, 1), matrices(u2.data(), 4, 2, 1)});
  for (std::size_t p = 0; p < 8; ++p) {
    const double scale = std::max(1.0, double(upper[p]));
    EXPECT_NEAR(l2[p], lower[p], this->tolerance() * scale);
    EXPECT_NEAR(u2[p], upper[p], this->tolerance() * scale);
    EXPECT_NEAR(s2[p], squared[p], this->tolerance() * scale);
    EXPECT_LT(l2[p], u2[p]);  // uncentered pairs: open bounds
  }
  // Bad spectra are refused by name.
  std::vector<IgwSpectrum> bad = sa;
  bad[2].eigenvalues[0] = -1;
  expect_invalid(
      [&] {
        igw_squared_all_pairs(this->ctx, bad, sb, {matrices(s2.data(), 4, 2, 1), {}, {}});
      },
      "'a' item 2");
}

TYPED_TEST(Compare, RefusesBadInputNamingTheSet) {
  using T = TypeParam;
  Activations<T> acts(20, {3, 2}, 9);
  expect_invalid([&] { compare_representations<T>(this->ctx, {}); }, "'sets' is empty");
  std::vector<ActivationSet<T>> sets = acts.sets();
  sets[1].samples = 19;
  expect_invalid([&] { compare_representations<T>(this->ctx, sets); },
                 "'sets[1] ('set1')' has 19 samples");
  sets = acts.sets();
  sets[1].features = 4;  // the loader gives 2 features
  expect_invalid([&] { compare_representations<T>(this->ctx, sets); },
                 "'sets[1] ('set1')' loader returned");
  acts.data[0][7] = std::numeric_limits<T>::quiet_NaN();
  expect_invalid([&] { compare_representations<T>(this->ctx, acts.sets()); },
                 "'sets[0] ('set0')' has a NaN");
  acts.data[0].assign(acts.data[0].size(), T(1));  // constant features
  CompareOptions cka_only;
  cka_only.igw = cka_only.bw = false;
  expect_invalid([&] { compare_representations<T>(this->ctx, acts.sets(), cka_only); },
                 "constant features");
}

/// Every matrix of two comparisons agrees: relative `tol` (NaN where the other is NaN).
void expect_same_comparison(const Comparison& got, const Comparison& want, double tol,
                            double igw_tol) {
  EXPECT_EQ(got.names, want.names);
  EXPECT_EQ(got.dimensions, want.dimensions);
  EXPECT_EQ(got.samples, want.samples);
  for (const auto& [name, g, w, t] :
       {std::tuple<const char*, const std::vector<double>&, const std::vector<double>&, double>{
            "cka", got.cka, want.cka, tol},
        {"cka_debiased", got.cka_debiased, want.cka_debiased, tol},
        {"nbs", got.nbs, want.nbs, tol},
        {"procrustes", got.procrustes, want.procrustes, tol},
        {"igw", got.igw, want.igw, igw_tol},
        {"igw_lower", got.igw_lower, want.igw_lower, tol},
        {"igw_upper", got.igw_upper, want.igw_upper, tol},
        {"bw", got.bw, want.bw, tol}}) {
    ASSERT_EQ(g.size(), w.size()) << name;
    for (std::size_t e = 0; e < w.size(); ++e) {
      if (std::isnan(w[e])) {
        EXPECT_TRUE(std::isnan(g[e])) << name << " " << e;
      } else {
        EXPECT_NEAR(g[e], w[e], t * std::max(1.0, std::fabs(w[e]))) << name << " " << e;
      }
    }
  }
}

/// Every metric, and the test's tolerances for the accumulator against compare_representations:
/// relative 1e-12 in double (the bar), the uncentered IGW (the ascent's end point, which
/// moves with the rounding of its spectra) to its own stopping precision.
CompareOptions every_metric(bool centered) {
  CompareOptions options;
  options.cka_debiased = options.nbs = options.procrustes = true;
  options.centered = centered;
  return options;
}

template <typename T>
class ComparisonAccumulatorTest : public Compare<T> {
 public:
  static double tolerance() { return sizeof(T) == 4 ? 2e-4 : 1e-12; }
  static double igw_tolerance(bool centered) {
    return centered ? tolerance() : std::max(tolerance(), 1e-6);
  }

  /// Feeds rows [begin, end) of `acts` (in the order `rows`) as one batch.
  static void feed(ComparisonAccumulator<T>& acc, const Activations<T>& acts,
                   const std::vector<std::int64_t>& rows, std::size_t begin, std::size_t end,
                   std::vector<std::vector<T>>& buffers) {
    std::vector<MatrixBatch<const T>> layers;
    buffers.assign(acts.dims.size(), {});
    for (std::size_t i = 0; i < acts.dims.size(); ++i) {
      const std::int64_t d = acts.dims[i];
      for (std::size_t r = begin; r < end; ++r) {
        const T* row = acts.data[i].data() + rows[r] * d;
        buffers[i].insert(buffers[i].end(), row, row + d);
      }
      layers.push_back(matrices<const T>(buffers[i].data(), d, std::int64_t(end - begin), 1));
    }
    acc.update(layers);
  }
  static ComparisonAccumulator<T> accumulate(Context& ctx, const Activations<T>& acts,
                                             const std::vector<std::int64_t>& rows,
                                             std::size_t batch) {
    ComparisonAccumulator<T> acc(ctx, names(acts), acts.dims);
    std::vector<std::vector<T>> buffers;
    for (std::size_t begin = 0; begin < rows.size(); begin += batch) {
      feed(acc, acts, rows, begin, std::min(rows.size(), begin + batch), buffers);
    }
    return acc;
  }
  static std::vector<std::string> names(const Activations<T>& acts) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < acts.dims.size(); ++i) out.push_back("set" + std::to_string(i));
    return out;
  }
  static std::vector<std::int64_t> in_order(std::int64_t n) {
    std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
    std::iota(rows.begin(), rows.end(), 0);
    return rows;
  }
};
TYPED_TEST_SUITE(ComparisonAccumulatorTest, Precisions);

TYPED_TEST(ComparisonAccumulatorTest, AnyBatchSplitAndOrderGivesTheComparison) {
  using T = TypeParam;
  using Test = ComparisonAccumulatorTest<T>;
  const Activations<T> acts(60, {3, 5, 3, 4, 5}, 11);
  std::vector<std::int64_t> shuffled = Test::in_order(acts.n);
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(3));
  for (const bool centered : {false, true}) {
    const CompareOptions options = every_metric(centered);
    const Comparison whole = compare_representations<T>(this->ctx, acts.sets(), options);
    for (const std::size_t batch : {std::size_t(1), std::size_t(7), std::size_t(60)}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + (centered ? " centered" : ""));
      const ComparisonAccumulator<T> acc = Test::accumulate(this->ctx, acts, shuffled, batch);
      EXPECT_EQ(acc.samples(), acts.n);
      expect_same_comparison(acc.result(options), whole, Test::tolerance(),
                             Test::igw_tolerance(centered));
    }
    const ComparisonAccumulator<T> acc =
        Test::accumulate(this->ctx, acts, Test::in_order(acts.n), 13);
    expect_same_comparison(acc.result(options), whole, Test::tolerance(),
                           Test::igw_tolerance(centered));
  }
}

TYPED_TEST(ComparisonAccumulatorTest, MergedShardsAndSummedStatesGiveOneAccumulator) {
  using T = TypeParam;
  using Test = ComparisonAccumulatorTest<T>;
  const Activations<T> acts(45, {4, 2, 4}, 5);
  const std::vector<std::int64_t> rows = Test::in_order(acts.n);
  const CompareOptions options = every_metric(false);
  const Comparison whole = Test::accumulate(this->ctx, acts, rows, 45).result(options);
  // Three shards of different sizes, each with its own reference (its first batch's mean).
  std::vector<ComparisonAccumulator<T>> shards;
  std::vector<std::vector<T>> buffers;
  for (const auto& [begin, end] : {std::pair<std::size_t, std::size_t>{0, 9}, {9, 30}, {30, 45}}) {
    shards.emplace_back(this->ctx, Test::names(acts), acts.dims);
    for (std::size_t b = begin; b < end; b += 4) {
      Test::feed(shards.back(), acts, rows, b, std::min(end, b + 4), buffers);
    }
  }
  ComparisonAccumulator<T> merged(this->ctx, Test::names(acts), acts.dims);
  for (const auto& shard : shards) merged.merge(shard);  // into an empty one first
  EXPECT_EQ(merged.samples(), acts.n);
  expect_same_comparison(merged.result(options), whole, Test::tolerance(),
                         Test::igw_tolerance(false));

  // The all-reduce path: every shard moved to one reference, the flat states summed entrywise.
  const std::int64_t D = 10, k = 3;
  std::vector<T> reference(D, T(0.25)), total_sums(D, 0), total_products(D * D, 0),
      total_norm_sums(k * D, 0), total_norm_products(k * k, 0);
  std::int64_t total_samples = 0;
  for (auto& shard : shards) {
    shard.rebase(vectors<const T>(reference.data(), D, 1));
    std::vector<T> c(D), s(D), S(D * D), V(k * D), W(k * k);
    shard.state(vectors(c.data(), D, 1), vectors(s.data(), D, 1), matrices(S.data(), D, D, 1),
                matrices(V.data(), k, D, 1), matrices(W.data(), k, k, 1));
    for (std::int64_t i = 0; i < D; ++i) EXPECT_EQ(c[i], reference[i]);
    for (std::size_t i = 0; i < s.size(); ++i) total_sums[i] += s[i];
    for (std::size_t i = 0; i < S.size(); ++i) total_products[i] += S[i];
    for (std::size_t i = 0; i < V.size(); ++i) total_norm_sums[i] += V[i];
    for (std::size_t i = 0; i < W.size(); ++i) total_norm_products[i] += W[i];
    total_samples += shard.samples();
  }
  ComparisonAccumulator<T> reduced(this->ctx, Test::names(acts), acts.dims);
  reduced.restore(total_samples, vectors<const T>(reference.data(), D, 1),
                  vectors<const T>(total_sums.data(), D, 1),
                  matrices<const T>(total_products.data(), D, D, 1),
                  matrices<const T>(total_norm_sums.data(), k, D, 1),
                  matrices<const T>(total_norm_products.data(), k, k, 1));
  expect_same_comparison(reduced.result(options), whole, Test::tolerance(),
                         Test::igw_tolerance(false));
}

TYPED_TEST(ComparisonAccumulatorTest, RefusesBadBatchesNamingTheLayerAndStaysUnchanged) {
  using T = TypeParam;
  using Test = ComparisonAccumulatorTest<T>;
  Activations<T> acts(12, {3, 2}, 9);
  ComparisonAccumulator<T> acc(this->ctx, Test::names(acts), acts.dims);
  std::vector<std::vector<T>> buffers;
  Test::feed(acc, acts, Test::in_order(acts.n), 0, 8, buffers);
  CompareOptions options = every_metric(true);
  options.cka_debiased = false;
  const Comparison before = acc.result(options);
  const std::vector<T> wide(4 * 4, T(0.5)), narrow(3 * 3, T(0.5));
  expect_invalid([&] { acc.update({acts.view(0)}); },
                 "'layers' has 1 views, expected one per layer");
  expect_invalid(
      [&] {
        acc.update({matrices<const T>(wide.data(), 4, 4, 1), acts.view(1)});
      },
      "'layers[0] ('set0')' must be one 3 x m matrix");
  expect_invalid(
      [&] {
        acc.update({matrices<const T>(narrow.data(), 3, 3, 1), acts.view(1)});
      },
      "'layers[1] ('set1')' has 12 inputs, layers[0] has 3");
  acts.data[1][5] = std::numeric_limits<T>::quiet_NaN();
  expect_invalid(
      [&] {
        acc.update({acts.view(0), acts.view(1)});
      },
      "'layers[1] ('set1')' has a NaN");
  EXPECT_EQ(acc.samples(), 8);
  expect_same_comparison(acc.result(options), before, 0, 0);
  expect_invalid(
      [&] {
        ComparisonAccumulator<T>(this->ctx, {"a"}, {2, 3});
      },
      "'names' has 1 names");
  ComparisonAccumulator<T> constant(this->ctx, {"a", "b"}, {1, 1});
  const std::vector<T> ones(5, T(1)), values = {1, 2, 3, 4, 5};
  constant.update(
      {matrices<const T>(ones.data(), 1, 5, 1), matrices<const T>(values.data(), 1, 5, 1)});
  expect_invalid([&] { constant.result(options); }, "'layers[0] ('a')' has constant features");
  ComparisonAccumulator<T> other(this->ctx, {"a", "c"}, {1, 1});
  expect_invalid([&] { constant.merge(other); }, "'other' has other layers");
}

template <typename T>
class CompareCudaVsCpu : public Compare<T> {
 protected:
  void SetUp() override { GAUSSOT_REQUIRE_CUDA(); }
};
TYPED_TEST_SUITE(CompareCudaVsCpu, Precisions);

TYPED_TEST(CompareCudaVsCpu, HostAndDeviceLoadersGiveTheCpuMatrices) {
  using T = TypeParam;
  Context gpu = Context::cuda(0);
  const Activations<T> acts(50, {3, 33, 3, 2, 33}, 17);
  CompareOptions options;
  options.cka_debiased = true;
  options.memory_limit_bytes = 2 * 33 * 50 * std::int64_t(sizeof(T));  // several CKA blocks
  const Comparison cpu = compare_representations<T>(this->ctx, acts.sets(), options);
  // Host loaders (copied to the device by compare_representations), then device loaders.
  const Comparison from_host = compare_representations<T>(gpu, acts.sets(), options);
  std::vector<Array<T>> on_device;
  std::vector<ActivationSet<T>> device_sets = acts.sets();
  for (std::size_t i = 0; i < device_sets.size(); ++i) {
    const MatrixBatch<const T> host = acts.view(i);
    on_device.emplace_back(gpu, host.rows * host.cols);
    copy<T>(gpu, host, on_device.back().matrices(host.rows, host.cols, 1));
    const Array<T>& array = on_device.back();
    device_sets[i].load = [&array, host] { return array.matrices(host.rows, host.cols, 1); };
  }
  const Comparison from_device = compare_representations<T>(gpu, device_sets, options);
  const double tol = 100 * this->tolerance();
  for (const Comparison* c : {&from_host, &from_device}) {
    EXPECT_EQ(c->set_reads, cpu.set_reads);
    for (const auto& [name, gpu_m, cpu_m] :
         {std::tuple<const char*, const std::vector<double>&, const std::vector<double>&>{
              "cka", c->cka, cpu.cka},
          {"cka_debiased", c->cka_debiased, cpu.cka_debiased},
          {"igw_lower", c->igw_lower, cpu.igw_lower},
          {"igw_upper", c->igw_upper, cpu.igw_upper},
          {"bw", c->bw, cpu.bw}}) {
      ASSERT_EQ(gpu_m.size(), cpu_m.size()) << name;
      for (std::size_t e = 0; e < cpu_m.size(); ++e) {
        if (std::isnan(cpu_m[e])) {
          EXPECT_TRUE(std::isnan(gpu_m[e])) << name << " " << e;
        } else {
          EXPECT_NEAR(gpu_m[e], cpu_m[e], tol * std::max(1.0, std::fabs(cpu_m[e])))
              << name << " " << e;
        }
      }
    }
  }
}

TYPED_TEST(CompareCudaVsCpu, AccumulatorOnTheDeviceGivesTheCpuMatrices) {
  using T = TypeParam;
  using Test = ComparisonAccumulatorTest<T>;
  Context gpu = Context::cuda(0);
  const Activations<T> acts(50, {3, 33, 2, 33}, 21);
  const CompareOptions options = every_metric(false);
  const std::vector<std::int64_t> rows = Test::in_order(acts.n);
  const Comparison cpu = Test::accumulate(this->ctx, acts, rows, 16).result(options);
  // Host batches (copied by update), merged with a device accumulator fed device batches.
  ComparisonAccumulator<T> from_host =
      Test::accumulate(gpu, acts, std::vector<std::int64_t>(rows.begin(), rows.begin() + 20), 16);
  ComparisonAccumulator<T> on_device(gpu, Test::names(acts), acts.dims);
  std::vector<Array<T>> device_layers;
  std::vector<MatrixBatch<const T>> layers;
  for (std::size_t i = 0; i < acts.dims.size(); ++i) {
    const std::int64_t d = acts.dims[i], m = acts.n - 20;
    device_layers.emplace_back(gpu, d * m);
    copy<T>(gpu, matrices<const T>(acts.data[i].data() + 20 * d, d, m, 1),
            device_layers.back().matrices(d, m, 1));
    layers.push_back(std::as_const(device_layers.back()).matrices(d, m, 1));
  }
  on_device.update(layers);
  from_host.merge(on_device);
  expect_same_comparison(from_host.result(options), cpu, 100 * Test::tolerance(), 1e-5);
}

}  // namespace
}  // namespace gaussot::test
