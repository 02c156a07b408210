// SPDX-License-Identifier: Apache-2.0
// gaussot_time: times one gaussot library call, in process, on the arrays of .npy files, so that a
// peer script can compare the library with NumPy/SciPy/POT on the very same inputs. The first call
// (thread start-up, workspace growth, first touch of the buffers) is timed separately and not
// counted; then the call runs --repeat times.
//
//   gaussot_time --op sqrtm|eigh|eigvalsh --cov A.npy                       (k,d,d) or (d,d)
//   gaussot_time --op fid --a-samples X.npy --b-samples Y.npy              (n,d) or (k,n,d)
//                [--method auto|covariances|samples]
//   gaussot_time --op moments --a-samples X.npy [--b-samples Y.npy]        sample_moments only
//   gaussot_time --op w2_all_pairs --a-cov A.npy --b-cov B.npy             (k_a,d,d), (k_b,d,d)
//                [--a-mean MA.npy] [--b-mean MB.npy]                       (k_a,d), (k_b,d)
//   common: [--repeat 5] [--threads N] [--backend cpu|cuda] [--save RESULT.npy]
//
// Layouts: an (n, d) C-order sample array is one column-major d x n matrix whose columns are the
// samples (a (k, n, d) array is k of them); symmetric (d, d) matrices read the same either way.
//
// Prints one JSON object: {"op", "backend", shape fields, "cpu_threads" (CPU), "first_ms",
// "times_ms": [...], "min_ms", "median_ms", and op results: "fid" for fid (a number for (n, d)
// inputs, a list for (k, n, d))}. --save writes the result as float64 .npy: the square roots
// (k,d,d), the eigenvalues (k,d) (eigh, eigvalsh), the FID values (k,) or (), or the
// k_a x k_b matrix of W2² in C order (result[i, j] = W2²(a_i, b_j)); moments saves nothing.
// Exit status: 0, 1 on a numerical or device failure, 2 on bad usage or input.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "gaussot/gaussot.hpp"

namespace {

using gaussot::Context;
using std::int64_t;
using Json = nlohmann::ordered_json;

struct Options {
  std::string op = "sqrtm", backend = "cpu", method = "auto", save;
  std::string cov, a_samples, b_samples, a_cov, b_cov, a_mean, b_mean;
  int repeat = 5, threads = 0;
};

/// Bad usage found after parsing (an option missing for the chosen --op): exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An .npy array copied into the context's memory space, with its shape.
struct Input {
  std::vector<int64_t> shape;
  gaussot::Array<double> data;
  int64_t dim(int64_t from_end) const { return shape[shape.size() - 1 - from_end]; }
};

Input load(Context& ctx, const std::string& path, const char* option, std::size_t min_rank,
           std::size_t max_rank) {
  gaussot::NdArray<double> host = gaussot::read_npy<double>(path);
  if (host.shape.size() < min_rank || host.shape.size() > max_rank) {
    throw UsageError(std::string(option) + " " + path + ": expected " + std::to_string(min_rank) +
                     (min_rank == max_rank ? "" : " or " + std::to_string(max_rank)) +
                     " dimensions, got " + std::to_string(host.shape.size()));
  }
  Input in{host.shape, gaussot::Array<double>(ctx, host.size())};
  gaussot::copy<double>(ctx, gaussot::vectors<const double>(host.data.data(), host.size(), 1),
                        in.data.vectors(host.size(), 1));
  return in;
}

/// What one --op does: the timed call (which synchronizes), the fields describing its inputs, the
/// results to report after the last call, and how to save its result.
struct Job {
  std::function<void()> run;
  Json describe;
  std::function<void(Json&)> report = [](Json&) {};
  std::function<void(const std::string&)> save;
};

/// Copies n elements of `array` (in ctx's memory space) to the host.
std::vector<double> to_host(Context& ctx, const gaussot::Array<double>& array, int64_t n) {
  std::vector<double> host(static_cast<std::size_t>(n));
  gaussot::copy<double>(ctx, array.vectors(n, 1), gaussot::vectors(host.data(), n, 1));
  return host;
}

void need(const std::string& value, const char* option, const std::string& op) {
  if (value.empty()) throw UsageError("--op " + op + " needs " + option);
}

// ---- the ops ----------------------------------------------------------------------------------

Job spectral_job(Context& ctx, const Options& o) {
  need(o.cov, "--cov", o.op);
  struct State {
    Input a;
    gaussot::Array<double> w, out;
    int64_t d, k;
  };
  auto s = std::make_shared<State>();
  s->a = load(ctx, o.cov, "--cov", 2, 3);
  s->d = s->a.dim(0);
  s->k = s->a.shape.size() == 3 ? s->a.shape[0] : 1;
  const int64_t d = s->d, k = s->k;
  s->w = gaussot::Array<double>(ctx, d * k);
  s->out = gaussot::Array<double>(ctx, d * d * k);
  Job job;
  job.describe = {{"d", d}, {"count", k}};
  job.run = [&ctx, s, op = o.op] {
    const auto a = std::as_const(s->a.data).matrices(s->d, s->d, s->k);
    if (op == "sqrtm") {
      gaussot::sqrtm<double>(ctx, a, s->out.matrices(s->d, s->d, s->k));
    } else if (op == "eigh") {
      gaussot::eigh<double>(ctx, a, s->w.vectors(s->d, s->k), s->out.matrices(s->d, s->d, s->k));
    } else {
      gaussot::eigvalsh<double>(ctx, a, s->w.vectors(s->d, s->k));
    }
  };
  job.save = [&ctx, s, op = o.op](const std::string& path) {
    const bool roots = op == "sqrtm";
    const std::vector<double> host =
        to_host(ctx, roots ? s->out : s->w, roots ? s->d * s->d * s->k : s->d * s->k);
    gaussot::write_npy<double>(
        path, host.data(),
        roots ? std::vector<int64_t>{s->k, s->d, s->d} : std::vector<int64_t>{s->k, s->d});
  };
  return job;
}

/// Two sample sets of the same dimension and count: (n, d) or (k, n, d) each.
struct Samples {
  Input a, b;
  int64_t d = 0, k = 1, n_a = 0, n_b = 0;
  bool batched = false;
  gaussot::MatrixBatch<const double> a_view() const {
    return gaussot::matrices(a.data.data(), d, n_a, k, a.data.space());
  }
  gaussot::MatrixBatch<const double> b_view() const {
    return gaussot::matrices(b.data.data(), d, n_b, k, b.data.space());
  }
};

void load_samples(Context& ctx, const Options& o, Samples& s, bool b_required) {
  need(o.a_samples, "--a-samples", o.op);
  if (b_required) need(o.b_samples, "--b-samples", o.op);
  s.a = load(ctx, o.a_samples, "--a-samples", 2, 3);
  s.batched = s.a.shape.size() == 3;
  s.d = s.a.dim(0);
  s.n_a = s.a.dim(1);
  s.k = s.batched ? s.a.shape[0] : 1;
  if (o.b_samples.empty()) return;
  s.b = load(ctx, o.b_samples, "--b-samples", 2, 3);
  s.n_b = s.b.dim(1);
  if (s.b.shape.size() != s.a.shape.size() || s.b.dim(0) != s.d ||
      (s.batched && s.b.shape[0] != s.k)) {
    throw UsageError(
        "--a-samples and --b-samples must both be (n, d) or both (k, n, d) with the "
        "same k and d");
  }
}

Job fid_job(Context& ctx, const Options& o) {
  struct State {
    Samples x;
    gaussot::Array<double> out;
    gaussot::FrechetOptions options;
  };
  auto s = std::make_shared<State>();
  load_samples(ctx, o, s->x, /*b_required=*/true);
  s->out = gaussot::Array<double>(ctx, s->x.k);
  s->options.method = o.method == "samples"       ? gaussot::FrechetMethod::samples
                      : o.method == "covariances" ? gaussot::FrechetMethod::covariances
                                                  : gaussot::FrechetMethod::automatic;
  Job job;
  job.describe = {
      {"d", s->x.d}, {"count", s->x.k}, {"n_a", s->x.n_a}, {"n_b", s->x.n_b}, {"method", o.method}};
  job.run = [&ctx, s] {
    gaussot::frechet_distance<double>(ctx, s->x.a_view(), s->x.b_view(),
                                      gaussot::scalars(s->out.data(), s->x.k, s->out.space()),
                                      s->options);
  };
  job.report = [&ctx, s](Json& result) {
    const std::vector<double> fid = to_host(ctx, s->out, s->x.k);
    result["fid"] = s->x.batched ? Json(fid) : Json(fid[0]);
  };
  job.save = [&ctx, s](const std::string& path) {
    const std::vector<double> fid = to_host(ctx, s->out, s->x.k);
    gaussot::write_npy<double>(
        path, fid.data(), s->x.batched ? std::vector<int64_t>{s->x.k} : std::vector<int64_t>{});
  };
  return job;
}

/// sample_moments of --a-samples (and --b-samples when given): the first step of the covariances
/// method of fid, timed alone.
Job moments_job(Context& ctx, const Options& o) {
  struct State {
    Samples x;
    gaussot::Array<double> mean, cov;
  };
  auto s = std::make_shared<State>();
  load_samples(ctx, o, s->x, /*b_required=*/false);
  const int64_t d = s->x.d, k = s->x.k;
  s->mean = gaussot::Array<double>(ctx, d * k);
  s->cov = gaussot::Array<double>(ctx, d * d * k);
  Job job;
  job.describe = {{"d", d}, {"count", k}, {"n_a", s->x.n_a}, {"n_b", s->x.n_b}};
  job.run = [&ctx, s] {
    const int64_t d = s->x.d, k = s->x.k;
    gaussot::sample_moments<double>(ctx, s->x.a_view(), s->mean.vectors(d, k),
                                    s->cov.matrices(d, d, k));
    if (s->x.n_b > 0) {
      gaussot::sample_moments<double>(ctx, s->x.b_view(), s->mean.vectors(d, k),
                                      s->cov.matrices(d, d, k));
    }
  };
  return job;
}

Job all_pairs_job(Context& ctx, const Options& o) {
  need(o.a_cov, "--a-cov", o.op);
  need(o.b_cov, "--b-cov", o.op);
  struct State {
    Input a_cov, b_cov, a_mean, b_mean;
    gaussot::Array<double> out;
    int64_t d = 0, k_a = 1, k_b = 1;
    gaussot::GaussianBatch<const double> side(const Input& cov, const Input& mean,
                                              int64_t k) const {
      const gaussot::VectorBatch<const double> means =
          mean.shape.empty() ? gaussot::VectorBatch<const double>()
                             : gaussot::vectors(mean.data.data(), d, k, mean.data.space());
      return {means, gaussot::square_matrices(cov.data.data(), d, k, cov.data.space())};
    }
  };
  auto s = std::make_shared<State>();
  s->a_cov = load(ctx, o.a_cov, "--a-cov", 2, 3);
  s->b_cov = load(ctx, o.b_cov, "--b-cov", 2, 3);
  s->d = s->a_cov.dim(0);
  if (s->a_cov.dim(1) != s->d || s->b_cov.dim(0) != s->d || s->b_cov.dim(1) != s->d) {
    throw UsageError("--a-cov and --b-cov must hold square matrices of the same order");
  }
  s->k_a = s->a_cov.shape.size() == 3 ? s->a_cov.shape[0] : 1;
  s->k_b = s->b_cov.shape.size() == 3 ? s->b_cov.shape[0] : 1;
  auto load_mean = [&](const std::string& path, const char* option, int64_t k, Input& mean) {
    if (path.empty()) return;
    mean = load(ctx, path, option, 1, 2);
    const int64_t count = mean.shape.size() == 2 ? mean.shape[0] : 1;
    if (mean.dim(0) != s->d || count != k) {
      throw UsageError(std::string(option) + " must be (" + std::to_string(k) + ", " +
                       std::to_string(s->d) + ") to match the covariances");
    }
  };
  load_mean(o.a_mean, "--a-mean", s->k_a, s->a_mean);
  load_mean(o.b_mean, "--b-mean", s->k_b, s->b_mean);
  s->out = gaussot::Array<double>(ctx, s->k_a * s->k_b);
  Job job;
  job.describe = {{"d", s->d},
                  {"k_a", s->k_a},
                  {"k_b", s->k_b},
                  {"means", !o.a_mean.empty() || !o.b_mean.empty()}};
  job.run = [&ctx, s] {
    gaussot::w2_squared_all_pairs<double>(ctx, s->side(s->a_cov, s->a_mean, s->k_a),
                                          s->side(s->b_cov, s->b_mean, s->k_b),
                                          s->out.matrices(s->k_a, s->k_b, 1));
  };
  job.save = [&ctx, s](const std::string& path) {
    // gaussot's k_a x k_b matrix is column-major; .npy in C order is its transpose in memory.
    const std::vector<double> host = to_host(ctx, s->out, s->k_a * s->k_b);
    std::vector<double> c_order(host.size());
    for (int64_t i = 0; i < s->k_a; ++i) {
      for (int64_t j = 0; j < s->k_b; ++j) c_order[i * s->k_b + j] = host[i + j * s->k_a];
    }
    gaussot::write_npy<double>(path, c_order.data(), {s->k_a, s->k_b});
  };
  return job;
}

Job make_job(Context& ctx, const Options& o) {
  if (o.op == "fid") return fid_job(ctx, o);
  if (o.op == "moments") return moments_job(ctx, o);
  if (o.op == "w2_all_pairs") return all_pairs_job(ctx, o);
  return spectral_job(ctx, o);
}

// ---- timing -----------------------------------------------------------------------------------

/// One untimed-in-the-statistics first call, then `repeat` timed calls, each ending with
/// ctx.synchronize(). Returns the first call's time and the others (milliseconds).
std::pair<double, std::vector<double>> time_calls(Context& ctx, const std::function<void()>& run,
                                                  int repeat) {
  auto timed = [&] {
    const auto start = std::chrono::steady_clock::now();
    run();
    ctx.synchronize();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  const double first = timed();
  std::vector<double> times;
  for (int r = 0; r < repeat; ++r) times.push_back(timed());
  return {first, times};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times one gaussot library call on the arrays of .npy files"};
  Options o;
  app.add_option("--op", o.op, "sqrtm (default), eigh, eigvalsh, fid, moments, w2_all_pairs")
      ->check(CLI::IsMember({"sqrtm", "eigh", "eigvalsh", "fid", "moments", "w2_all_pairs"}));
  app.add_option("--cov", o.cov, "sqrtm/eigh/eigvalsh: (k, d, d) or (d, d) symmetric matrices");
  app.add_option("--a-samples", o.a_samples, "fid/moments: (n_a, d) or (k, n_a, d) samples");
  app.add_option("--b-samples", o.b_samples, "fid/moments: (n_b, d) or (k, n_b, d) samples");
  app.add_option("--method", o.method, "fid: trace-term method")
      ->check(CLI::IsMember({"auto", "covariances", "samples"}));
  app.add_option("--a-cov", o.a_cov, "w2_all_pairs: (k_a, d, d) covariances");
  app.add_option("--b-cov", o.b_cov, "w2_all_pairs: (k_b, d, d) covariances");
  app.add_option("--a-mean", o.a_mean, "w2_all_pairs: (k_a, d) means (default zero)");
  app.add_option("--b-mean", o.b_mean, "w2_all_pairs: (k_b, d) means (default zero)");
  app.add_option("--repeat", o.repeat, "timed calls after the first (default 5)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "CPU threads (default 0: one per core)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--backend", o.backend)->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--save", o.save, "write the result to this .npy file");
  CLI11_PARSE(app, argc, argv);
  try {
    if (!o.save.empty() && o.op == "moments")
      throw UsageError("--op moments saves nothing (no --save)");
    Context ctx = o.backend == "cuda" ? Context::cuda(0) : Context::cpu(o.threads);
    Job job = make_job(ctx, o);
    const auto [first, times] = time_calls(ctx, job.run, o.repeat);
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    Json result{{"op", o.op}, {"backend", o.backend}};
    result.update(job.describe);
    if (o.backend == "cpu") result["cpu_threads"] = ctx.num_threads();
    result.update(Json{{"first_ms", first},
                       {"times_ms", times},
                       {"min_ms", sorted.front()},
                       {"median_ms", sorted[sorted.size() / 2]}});
    job.report(result);
    if (!o.save.empty()) job.save(o.save);
    std::cout << result.dump() << std::endl;
  } catch (const UsageError& e) {
    std::cerr << "gaussot_time: " << e.what() << std::endl;
    return 2;
  } catch (const gaussot::InvalidArgument& e) {
    std::cerr << "gaussot_time: " << e.what() << std::endl;
    return 2;
  } catch (const gaussot::Error& e) {
    std::cerr << "gaussot_time: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
