// SPDX-License-Identifier: Apache-2.0
// Neural GW (mlp.hpp, ngw.hpp): the generator against Random123's known answers, MLP gradients
// against central differences, Adam against a hand-written update, P on its sphere, the cost
// estimator against a brute-force O(N²) sum and against the closed form at the exact IGW map,
// training on a 4 → 2 Gaussian pair against the closed form, reproducibility, save/load and bad
// input.
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "philox.hpp"
#include "test_utils.hpp"

namespace gaussot::test {
namespace {

template <typename T>
std::vector<T> host_copy(Context& ctx, VectorBatch<const T> v) {
  std::vector<T> out(static_cast<std::size_t>(v.size));
  copy<T>(ctx, v, vectors(out.data(), v.size, 1));
  return out;
}

/// A covariance Q diag(w) Qᵀ with a random rotation Q.
HostBatch<double> rotated_covariance(const std::vector<long double>& w, std::mt19937_64& rng) {
  const auto d = static_cast<std::int64_t>(w.size());
  HostBatch<double> c(d, d, 1);
  c.set_item(0, with_spectrum(random_orthogonal(d, rng), w, d));
  return c;
}

TEST(Philox, MatchesRandom123KnownAnswers) {
  // kat_vectors of Random123 1.14 for philox4x32 with 10 rounds.
  struct Case {
    philox::Words counter;
    std::uint32_t key0, key1;
    philox::Words expected;
  };
  const Case cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const Case& c : cases) {
    const philox::Words out = philox::philox4x32_10(c.counter, c.key0, c.key1);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(out.w[k], c.expected.w[k]) << "word " << k;
  }
}

TEST(Philox, NormalsHaveUnitMoments) {
  // 2e5 draws: mean within 5 standard errors of 0, variance and fourth moment likewise.
  const int n = 200000;
  double s1 = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = philox::normal(42, 7, std::uint64_t(i));
    s1 += z;
    s2 += z * z;
    s4 += z * z * z * z;
  }
  EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(double(n)));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 5 * std::sqrt(96.0 / n));
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t j = philox::below(1, 2, std::uint64_t(i), 7);
    EXPECT_TRUE(j >= 0 && j < 7);
  }
}

// ---- MLP -------------------------------------------------------------------------------------

/// S(θ, x) = Σ G ∘ network(x), the scalar whose gradient backward() returns.
double weighted_output(Context& ctx, Mlp<double>& net, const HostBatch<double>& x,
                       const HostBatch<double>& upstream) {
  HostBatch<double> out(net.shape().output, x.view.cols, 1);
  net.forward(ctx, x.cview(), out.view);
  double s = 0;
  for (std::int64_t c = 0; c < x.view.cols; ++c)
    for (std::int64_t r = 0; r < net.shape().output; ++r)
      s += upstream.view.at(0, r, c) * out.view.at(0, r, c);
  return s;
}

class MlpGradient : public ::testing::TestWithParam<Activation> {};

TEST_P(MlpGradient, MatchesCentralDifferences) {
  Context ctx = Context::cpu(1);
  std::mt19937_64 rng(3);
  Mlp<double> net(ctx, MlpShape{3, {5, 4}, 2, GetParam()}, 11);
  HostBatch<double> x(3, 7, 1), upstream(2, 7, 1), input_gradient(3, 7, 1);
  fill_gaussian(x, rng);
  fill_gaussian(upstream, rng);
  HostBatch<double> out(2, 7, 1);
  net.forward(ctx, x.cview(), out.view);
  net.backward(ctx, upstream.cview(), input_gradient.view);
  const std::vector<double> analytic = host_copy<double>(ctx, net.gradients());
  const double h = 1e-6;
  VectorBatch<double> theta = net.parameters();
  double worst = 0;
  for (std::int64_t k = 0; k < theta.size; ++k) {
    const double saved = theta.data[k];
    theta.data[k] = saved + h;
    const double plus = weighted_output(ctx, net, x, upstream);
    theta.data[k] = saved - h;
    const double minus = weighted_output(ctx, net, x, upstream);
    theta.data[k] = saved;
    const double numeric = (plus - minus) / (2 * h);
    worst = std::max(worst, std::abs(numeric - analytic[k]) / std::max(1.0, std::abs(numeric)));
  }
  EXPECT_LT(worst, 1e-7) << "parameters, " << to_string(GetParam());
  worst = 0;
  for (std::int64_t c = 0; c < 7; ++c) {
    for (std::int64_t r = 0; r < 3; ++r) {
      HostBatch<double> shifted = x;
      shifted.view.at(0, r, c) += h;
      const double plus = weighted_output(ctx, net, shifted, upstream);
      shifted.view.at(0, r, c) -= 2 * h;
      const double minus = weighted_output(ctx, net, shifted, upstream);
      const double numeric = (plus - minus) / (2 * h);
      worst = std::max(worst, std::abs(numeric - input_gradient.view.at(0, r, c)) /
                                  std::max(1.0, std::abs(numeric)));
    }
  }
  EXPECT_LT(worst, 1e-7) << "input, " << to_string(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Activations, MlpGradient,
                         ::testing::Values(Activation::relu, Activation::leaky_relu,
                                           Activation::tanh, Activation::identity),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(Mlp, InitialisationIsReproducibleAndBounded) {
  Context ctx = Context::cpu(1);
  const MlpShape shape{4, {6}, 3, Activation::relu};
  Mlp<double> a(ctx, shape, 5), b(ctx, shape, 5), c(ctx, shape, 6);
  EXPECT_EQ(shape.parameter_count(), 6 * 5 + 3 * 7);
  const auto pa = host_copy<double>(ctx, a.parameters());
  EXPECT_EQ(pa, host_copy<double>(ctx, b.parameters()));
  EXPECT_NE(pa, host_copy<double>(ctx, c.parameters()));
  // Layer 1 is uniform in ±1/√4, layer 2 in ±1/√6.
  for (std::int64_t k = 0; k < 30; ++k) EXPECT_LE(std::abs(pa[k]), 0.5);
  for (std::int64_t k = 30; k < 51; ++k) EXPECT_LE(std::abs(pa[k]), 1 / std::sqrt(6.0));
}

TEST(Mlp, BadShapesAndActivationsAreRefused) {
  Context ctx = Context::cpu(1);
  expect_invalid([&] { Mlp<double>(ctx, MlpShape{0, {}, 2, Activation::relu}, 0); }, "width 0");
  expect_invalid([&] { Mlp<double>(ctx, MlpShape{2, {3, 0}, 2, Activation::relu}, 0); }, "width 2");
  expect_invalid([] { parse_activation("sigmoid"); }, "'activation'");
  EXPECT_EQ(parse_activation("leaky_relu"), Activation::leaky_relu);
}

TEST(Adam, MatchesTheUpdateRule) {
  Context ctx = Context::cpu(1);
  const AdamOptions options{0.01, 0.8, 0.9, 1e-6};
  Adam<double> adam(ctx, 3, options);
  std::vector<double> theta{1.0, -2.0, 0.5}, reference = theta, m(3, 0), v(3, 0);
  const std::vector<std::vector<double>> gradients{{0.3, -1.0, 2.0}, {0.1, 0.2, -0.4}, {-2, 0, 1}};
  for (std::size_t t = 0; t < gradients.size(); ++t) {
    adam.step(ctx, vectors(theta.data(), 3, 1), vectors(gradients[t].data(), 3, 1));
    for (int k = 0; k < 3; ++k) {
      const double g = gradients[t][k];
      m[k] = 0.8 * m[k] + 0.2 * g;
      v[k] = 0.9 * v[k] + 0.1 * g * g;
      const double m_hat = m[k] / (1 - std::pow(0.8, double(t + 1)));
      const double v_hat = v[k] / (1 - std::pow(0.9, double(t + 1)));
      reference[k] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-6);
    }
  }
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(theta[k], reference[k], 1e-15);
  expect_invalid([&] { Adam<double>(ctx, 3, AdamOptions{0.0}); }, "'learning_rate'");
  expect_invalid([&] { Adam<double>(ctx, 3, AdamOptions{1e-3, 1.0}); }, "'beta1'");
}

// ---- NGW -------------------------------------------------------------------------------------

/// The 4 → 2 pair of the tests: spectra (4, 2, 1, ½) and (3, 1), rotated.
struct SmallPair {
  HostBatch<double> a, b;
  SmallPair() : SmallPair(std::mt19937_64(1)) {}
  explicit SmallPair(std::mt19937_64 rng)
      : a(rotated_covariance({4, 2, 1, 0.5}, rng)), b(rotated_covariance({3, 1}, rng)) {}
  SampleSource<double> source() const {
    return SampleSource<double>::from_gaussian({{}, a.cview()});
  }
  SampleSource<double> target() const {
    return SampleSource<double>::from_gaussian({{}, b.cview()});
  }
};

double frobenius_norm(MatrixBatch<const double> p) {
  double s = 0;
  for (std::int64_t c = 0; c < p.cols; ++c)
    for (std::int64_t r = 0; r < p.rows; ++r) s += p.at(0, r, c) * p.at(0, r, c);
  return std::sqrt(s);
}

TEST(Ngw, PStaysOnItsSphere) {
  Context ctx = Context::cpu(1);
  std::mt19937_64 rng(2);
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{4, 2}, {2, 3}}) {
    std::vector<long double> wa(static_cast<std::size_t>(m), 1.5L),
        wb(static_cast<std::size_t>(n), 0.5L);
    const HostBatch<double> a = rotated_covariance(wa, rng), b = rotated_covariance(wb, rng);
    NgwModel<double> model(ctx, m, n, NgwArchitecture{{8}, {8}, Activation::relu}, 1);
    const double radius = std::sqrt(double(std::min(m, n)));
    EXPECT_DOUBLE_EQ(model.p_norm(), radius);
    EXPECT_NEAR(frobenius_norm(model.p()), radius, 1e-13);
    NgwOptions options;
    options.steps = 5;
    options.batch_size = 16;
    options.p_step = 0.5;
    const std::vector<double> before(model.p().data, model.p().data + m * n);
    train_ngw(ctx, model, SampleSource<double>::from_gaussian({{}, a.cview()}),
              SampleSource<double>::from_gaussian({{}, b.cview()}), options);
    EXPECT_NEAR(frobenius_norm(model.p()), radius, 1e-13);
    EXPECT_NE(before, std::vector<double>(model.p().data, model.p().data + m * n));
  }
}

TEST(Ngw, EstimatorIsTheUStatisticOfTheMappedSamples) {
  // On a sample set the estimate is exact: Σ_{i≠j} (⟨x_i, x_j⟩ − ⟨T x_i, T x_j⟩)² / (N (N − 1)).
  Context ctx = Context::cpu(2);
  std::mt19937_64 rng(4);
  const std::int64_t m = 3, n = 2, count = 150;
  HostBatch<double> points(m, count, 1), mapped(n, count, 1);
  fill_gaussian(points, rng);
  NgwModel<double> model(ctx, m, n, NgwArchitecture{{6}, {4}, Activation::tanh}, 9);
  model.apply(ctx, points.cview(), mapped.view);
  long double sum = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t j = 0; j < count; ++j) {
      if (i == j) continue;
      long double gx = 0, gy = 0;
      for (std::int64_t r = 0; r < m; ++r)
        gx += (long double)points.view.at(0, r, i) * points.view.at(0, r, j);
      for (std::int64_t r = 0; r < n; ++r)
        gy += (long double)mapped.view.at(0, r, i) * mapped.view.at(0, r, j);
      sum += (gx - gy) * (gx - gy);
    }
  }
  const double expected = double(sum / (count * (count - 1.0L)));
  HostBatch<double> target(n, count, 1);
  fill_gaussian(target, rng);
  const NgwEvaluation e =
      evaluate_ngw(ctx, model, SampleSource<double>::from_samples(points.cview()),
                   SampleSource<double>::from_samples(target.cview()));
  EXPECT_EQ(e.samples, count);
  EXPECT_NEAR(e.igw_squared_estimate, expected, 1e-11 * expected);
  EXPECT_FALSE(e.igw_squared_closed_form.has_value());
  EXPECT_FALSE(e.bw2_uvp.has_value());
}

TEST(Ngw, ExactIgwMapReachesTheClosedForm) {
  // An affine network (no hidden layer, identity) holding the closed-form IGW map: the estimate
  // on fresh samples matches IGW² within its sampling error and BW2-UVP is ~0.
  Context ctx = Context::cpu(2);
  const SmallPair pair;
  HostBatch<double> matrix(2, 4, 1);
  HostVectors<double> bias(2, 1);
  igw_map<double>(ctx, {{}, pair.a.cview()}, {{}, pair.b.cview()}, matrix.view, bias.view);
  NgwModel<double> model(ctx, 4, 2, NgwArchitecture{{}, {8}, Activation::identity}, 0);
  const MatrixBatch<double> w = model.map().weight(1);
  for (std::int64_t c = 0; c < 4; ++c)
    for (std::int64_t r = 0; r < 2; ++r) w.at(0, r, c) = matrix.view.at(0, r, c);
  const VectorBatch<double> b = model.map().bias(1);
  b.data[0] = b.data[1] = 0;
  const NgwEvaluation e =
      evaluate_ngw(ctx, model, pair.source(), pair.target(), std::int64_t(1) << 18, 3);
  ASSERT_TRUE(e.igw_squared_closed_form.has_value());
  EXPECT_NEAR(*e.igw_squared_closed_form, 3.25, 1e-10);  // Σ (α_i − β_i)², zero-padded
  EXPECT_NEAR(e.igw_squared_estimate, *e.igw_squared_closed_form,
              0.02 * *e.igw_squared_closed_form);
  ASSERT_TRUE(e.bw2_uvp.has_value());
  EXPECT_LT(*e.bw2_uvp, 0.1);
}

/// Options that train the small pair in a few seconds.
NgwOptions small_pair_options() {
  NgwOptions options;
  options.steps = 1500;
  options.batch_size = 256;
  options.seed = 0;
  return options;
}

TEST(Ngw, TrainsTheSmallGaussianPairToTheClosedForm) {
  Context ctx = Context::cpu(2);
  const SmallPair pair;
  NgwModel<double> model(ctx, 4, 2, NgwArchitecture{{64, 64}, {64, 64}, Activation::relu}, 0);
  const NgwReport report =
      train_ngw(ctx, model, pair.source(), pair.target(), small_pair_options());
  EXPECT_EQ(report.steps, 1500);
  const NgwEvaluation e =
      evaluate_ngw(ctx, model, pair.source(), pair.target(), std::int64_t(1) << 18, 1);
  ASSERT_TRUE(e.igw_squared_closed_form && e.bw2_uvp);
  std::printf("4 -> 2: estimate %.4f, closed form %.4f, BW2-UVP %.3f %%, objective %.4f\n",
              e.igw_squared_estimate, *e.igw_squared_closed_form, *e.bw2_uvp, report.objective);
  EXPECT_NEAR(e.igw_squared_estimate, *e.igw_squared_closed_form,
              0.05 * *e.igw_squared_closed_form);
  EXPECT_LT(*e.bw2_uvp, 5.0);
  EXPECT_TRUE(std::isfinite(report.objective));  // a one-batch value: too noisy to compare
  // Out of sample: the map applies to points it never saw, and matches apply() in chunks.
  HostBatch<double> x(4, 3, 1), y(2, 3, 1);
  std::mt19937_64 rng(8);
  fill_gaussian(x, rng);
  model.apply(ctx, x.cview(), y.view);
  for (std::int64_t c = 0; c < 3; ++c) EXPECT_TRUE(std::isfinite(y.view.at(0, 0, c)));
}

TEST(Ngw, SameSeedSameModel) {
  Context ctx = Context::cpu(2);
  const SmallPair pair;
  NgwOptions options;
  options.steps = 20;
  options.batch_size = 32;
  const NgwArchitecture architecture{{16}, {16}, Activation::leaky_relu};
  NgwModel<double> first(ctx, 4, 2, architecture, 3), second(ctx, 4, 2, architecture, 3);
  train_ngw(ctx, first, pair.source(), pair.target(), options);
  train_ngw(ctx, second, pair.source(), pair.target(), options);
  EXPECT_EQ(host_copy<double>(ctx, first.map().parameters()),
            host_copy<double>(ctx, second.map().parameters()));
  options.seed = 1;
  NgwModel<double> third(ctx, 4, 2, architecture, 3);
  train_ngw(ctx, third, pair.source(), pair.target(), options);
  EXPECT_NE(host_copy<double>(ctx, first.map().parameters()),
            host_copy<double>(ctx, third.map().parameters()));
}

TEST(Ngw, TrainsFromSampleSets) {
  // The same pair given as 4096 samples each: the map still pushes μ onto ν.
  Context ctx = Context::cpu(2);
  const SmallPair pair;
  std::mt19937_64 rng(5);
  const std::int64_t count = 4096;
  HostBatch<double> xs(4, count, 1), ys(2, count, 1), z4(4, count, 1), z2(2, count, 1);
  fill_gaussian(z4, rng);
  fill_gaussian(z2, rng);
  const Dense la = cholesky_reference(pair.a.item(0), 4),
              lb = cholesky_reference(pair.b.item(0), 2);
  xs.set_item(0, multiply(la, z4.item(0), 4, 4, count));
  ys.set_item(0, multiply(lb, z2.item(0), 2, 2, count));
  NgwModel<double> model(ctx, 4, 2, NgwArchitecture{{32, 32}, {32, 32}, Activation::relu}, 0);
  NgwOptions options;
  options.steps = 600;
  train_ngw(ctx, model, SampleSource<double>::from_samples(xs.cview()),
            SampleSource<double>::from_samples(ys.cview()), options);
  const NgwEvaluation e =
      evaluate_ngw(ctx, model, SampleSource<double>::from_samples(xs.cview()), pair.target());
  EXPECT_EQ(e.samples, count);
  ASSERT_TRUE(e.bw2_uvp.has_value());
  EXPECT_LT(*e.bw2_uvp, 10.0);
}

TEST(Ngw, SaveAndLoadRoundTrip) {
  Context ctx = Context::cpu(1);
  const SmallPair pair;
  NgwModel<double> model(ctx, 4, 2, NgwArchitecture{{7, 5}, {6}, Activation::tanh}, 12);
  NgwOptions options;
  options.steps = 3;
  options.batch_size = 8;
  train_ngw(ctx, model, pair.source(), pair.target(), options);
  const std::string path = ::testing::TempDir() + "gaussot_ngw_model.json";
  model.save(ctx, path);
  NgwModel<double> loaded = NgwModel<double>::load(ctx, path);
  EXPECT_EQ(loaded.architecture().map_hidden, (std::vector<std::int64_t>{7, 5}));
  EXPECT_EQ(loaded.architecture().potential_hidden, (std::vector<std::int64_t>{6}));
  EXPECT_EQ(loaded.architecture().activation, Activation::tanh);
  EXPECT_EQ(host_copy<double>(ctx, loaded.map().parameters()),
            host_copy<double>(ctx, model.map().parameters()));
  EXPECT_EQ(host_copy<double>(ctx, loaded.potential().parameters()),
            host_copy<double>(ctx, model.potential().parameters()));
  for (std::int64_t c = 0; c < 4; ++c)
    for (std::int64_t r = 0; r < 2; ++r) EXPECT_EQ(loaded.p().at(0, r, c), model.p().at(0, r, c));
  HostBatch<double> x(4, 5, 1), y1(2, 5, 1), y2(2, 5, 1);
  std::mt19937_64 rng(3);
  fill_gaussian(x, rng);
  model.apply(ctx, x.cview(), y1.view);
  loaded.apply(ctx, x.cview(), y2.view);
  EXPECT_EQ(y1.item(0), y2.item(0));
  // A float model from the same file: the same map to float rounding.
  NgwModel<float> single = NgwModel<float>::load(ctx, path);
  HostBatch<float> xf(4, 5, 1), yf(2, 5, 1);
  for (std::int64_t c = 0; c < 5; ++c)
    for (std::int64_t r = 0; r < 4; ++r) xf.view.at(0, r, c) = float(x.view.at(0, r, c));
  single.apply(ctx, xf.cview(), yf.view);
  for (std::int64_t c = 0; c < 5; ++c)
    for (std::int64_t r = 0; r < 2; ++r)
      EXPECT_NEAR(yf.view.at(0, r, c), y1.view.at(0, r, c), 1e-5);
  std::remove(path.c_str());
}

TEST(Ngw, BadFilesAreRefusedByName) {
  Context ctx = Context::cpu(1);
  const std::string dir = ::testing::TempDir();
  expect_invalid([&] { NgwModel<double>::load(ctx, dir + "no_such_model.json"); },
                 "cannot be read");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + name) << text;
    return dir + name;
  };
  expect_invalid([&] { NgwModel<double>::load(ctx, write("bad1.json", "{not json")); },
                 "not valid JSON");
  expect_invalid([&] { NgwModel<double>::load(ctx, write("bad2.json", "{\"format\": \"x\"}")); },
                 "not a gaussot-ngw model");
  expect_invalid(
      [&] { NgwModel<double>::load(ctx, write("bad4.json", "{\"format\": \"gaussot-ngw\"}")); },
      "no field 'version'");
  NgwModel<double> model(ctx, 3, 2, NgwArchitecture{{4}, {4}, Activation::relu}, 0);
  model.save(ctx, dir + "good.json");
  std::ifstream in(dir + "good.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string truncated_map = text.replace(text.find("\"map\":[") + 7, 0, "1.5,");
  expect_invalid([&] { NgwModel<double>::load(ctx, write("bad3.json", truncated_map)); },
                 "field 'map' must hold 26 numbers");
  // Sizes are checked before anything is allocated, as integers in [1, 2^24].
  const auto edited = [&](std::string from, const std::string& what, const std::string& to) {
    return from.replace(from.find(what), what.size(), to);
  };
  const std::string good = text.replace(text.find("1.5,"), 4, "");
  for (const auto& edit : std::vector<std::array<std::string, 3>>{
           {"\"map_hidden\":[4]", "\"map_hidden\":[4.5]",
            "each of 'map_hidden' must be an integer"},
           {"\"map_hidden\":[4]", "\"map_hidden\":[0]", "got 0"},
           {"\"map_hidden\":[4]", "\"map_hidden\":[100000000000]", "from 1 to 2^24"},
           {"\"input_dimension\":3", "\"input_dimension\":100000000000", "input_dimension must be"},
           {"\"activation\":\"relu\"", "\"activation\":\"gelu\"", "field 'activation'"}}) {
    const std::string& what = edit[0];  // (not a structured binding: the lambda uses it)
    const std::string& to = edit[1];
    expect_invalid([&] { NgwModel<double>::load(ctx, write("bad5.json", edited(good, what, to))); },
                   edit[2]);
  }
  expect_invalid([&] { NgwModel<double>::load(ctx, dir); }, "is a directory");
  expect_invalid([&] { model.save(ctx, dir + "no_such_dir/model.json"); }, "cannot be written");
  for (const char* name :
       {"bad1.json", "bad2.json", "bad3.json", "bad4.json", "bad5.json", "good.json"})
    std::remove((dir + name).c_str());
}

TEST(Ngw, BadInputIsRefusedByName) {
  Context ctx = Context::cpu(1);
  const SmallPair pair;
  NgwModel<double> model(ctx, 4, 2, NgwArchitecture{{4}, {4}, Activation::relu}, 0);
  NgwOptions options;
  options.steps = 1;
  // Dimensions that do not match the model.
  expect_invalid([&] { train_ngw(ctx, model, pair.target(), pair.target(), options); },
                 "'a' has dimension 2");
  expect_invalid([&] { train_ngw(ctx, model, pair.source(), pair.source(), options); },
                 "'b' has dimension 4");
  // Non-PSD and non-finite sources.
  HostBatch<double> indefinite(2, 2, 1);
  indefinite.view.at(0, 0, 0) = 1;
  indefinite.view.at(0, 1, 1) = -1;
  expect_invalid(
      [&] {
        train_ngw(ctx, model, pair.source(),
                  SampleSource<double>::from_gaussian({{}, indefinite.cview()}), options);
      },
      "'b.covariances'");
  HostBatch<double> points(4, 10, 1);
  points.view.at(0, 2, 3) = std::nan("");
  expect_invalid(
      [&] {
        train_ngw(ctx, model, SampleSource<double>::from_samples(points.cview()), pair.target(),
                  options);
      },
      "'a.samples'");
  // Options.
  NgwOptions bad = options;
  bad.batch_size = 0;
  expect_invalid([&] { train_ngw(ctx, model, pair.source(), pair.target(), bad); }, "'batch_size'");
  bad = options;
  bad.p_step = 0;
  expect_invalid([&] { train_ngw(ctx, model, pair.source(), pair.target(), bad); }, "'p_step'");
  bad = options;
  bad.map_optimizer.learning_rate = -1;
  expect_invalid([&] { train_ngw(ctx, model, pair.source(), pair.target(), bad); },
                 "'learning_rate'");
  expect_invalid([&] { evaluate_ngw(ctx, model, pair.source(), pair.target(), 1); }, "'samples'");
  // apply: wrong shapes and non-finite points.
  HostBatch<double> x(3, 5, 1), y(2, 5, 1), x4(4, 5, 1), y3(2, 4, 1);
  expect_invalid([&] { model.apply(ctx, x.cview(), y.view); }, "'x'");
  expect_invalid([&] { model.apply(ctx, x4.cview(), y3.view); }, "'y'");
  x4.view.at(0, 0, 0) = std::numeric_limits<double>::infinity();
  expect_invalid([&] { model.apply(ctx, x4.cview(), y.view); }, "'x'");
}

}  // namespace
}  // namespace gaussot::test
