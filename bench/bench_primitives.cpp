// SPDX-License-Identifier: Apache-2.0
// Google Benchmark timings of gaussot's batched primitives: eigh (values and vectors), eigvalsh
// and sqrtm, in double and float, on the CPU backend and the CUDA backend, over (d, batch) grids;
// and of the Bures–Wasserstein suite (bures.hpp): w2_squared, w2_squared_all_pairs,
// frechet_distance and w2_barycenter. See bench/README.md for what each benchmark measures and how
// to run them.
//
// Names: <backend>/<op>[_<algorithm>]/<f64|f32>/d:<d>/batch:<batch>/real_time, e.g.
//   cpu/sqrtm/f64/d:64/batch:1000/real_time
//   cuda/eigh_jacobi/f32/d:32/batch:10000/real_time
// and for the Bures–Wasserstein functions, with the size that matters to each:
//   cpu/w2_squared/f64/d:64/batch:1000/real_time           1000 pairs
//   cpu/w2_squared_all_pairs/f64/d:64/k:200/real_time      all 200 x 200 pairs
//   cpu/frechet_distance/f64/d:2048/n:10000/real_time      two sample sets of n samples
//   cpu/w2_barycenter/f64/d:64/k:100/real_time             barycenter of k Gaussians
// so that --benchmark_filter='^cpu/' or '^cuda/' selects a backend. The CUDA benchmarks are always
// registered; without a CUDA device (or a build without the CUDA backend) they report the error
// "no CUDA device" and are skipped.
//
// Besides Google Benchmark's own flags, the binary takes --threads=N (or --threads N): the CPU
// context's OpenMP thread count (default 0: OMP_NUM_THREADS, else one per core).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "gaussot/gaussot.hpp"

namespace {

using gaussot::Context;
using gaussot::EighAlgorithm;
using gaussot::MatrixBatch;
using gaussot::VectorBatch;
using std::int64_t;

constexpr std::uint64_t kSeed = 20240917;
/// CUDA (d, batch) combinations whose working set would exceed this are not registered.
constexpr double kCudaMemoryLimitBytes = 2.0 * 1024 * 1024 * 1024;

// ---- contexts -------------------------------------------------------------------------------
// One CPU and one CUDA context for the whole run, created on first use: creating CUDA handles
// and growing the device workspace are one-off costs that a steady-state timing should not
// include. They are released at the end of main(), before the CUDA runtime shuts down.

int g_cpu_threads = 0;
std::unique_ptr<Context> g_cpu_context;
std::unique_ptr<Context> g_cuda_context;

Context& cpu_context() {
  if (!g_cpu_context) g_cpu_context = std::make_unique<Context>(Context::cpu(g_cpu_threads));
  return *g_cpu_context;
}

Context& cuda_context() {
  if (!g_cuda_context) g_cuda_context = std::make_unique<Context>(Context::cuda(0));
  return *g_cuda_context;
}

// ---- inputs ---------------------------------------------------------------------------------

/// n standard normal numbers from a generator seeded with `seed`.
std::vector<double> make_normal(int64_t n, std::uint64_t seed) {
  std::vector<double> g(static_cast<std::size_t>(n));
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double& x : g) x = normal(rng);
  return g;
}

/// `batch` random SPD matrices A = G Gᵀ / d + I (G with standard normal entries), column-major
/// and packed, exactly symmetric. Seeded with kSeed + set: the same (d, batch, set) gives the same
/// matrices in every benchmark of a run (and across runs with the same standard library); set 1
/// is a second, independent batch (the other side of a pair).
std::vector<double> make_spd(int64_t d, int64_t batch, int set) {
  const auto n = static_cast<std::size_t>(d * d * batch);
  const std::vector<double> g = make_normal(d * d * batch, kSeed + std::uint64_t(set));
  std::vector<double> a(n);
  gaussot::gemm<double>(cpu_context(), gaussot::Transpose::no, gaussot::Transpose::yes,
                        1.0 / double(d), gaussot::square_matrices<const double>(g.data(), d, batch),
                        gaussot::square_matrices<const double>(g.data(), d, batch), 0.0,
                        gaussot::square_matrices(a.data(), d, batch));
  for (int64_t i = 0; i < batch; ++i) {
    double* m = a.data() + i * d * d;
    for (int64_t c = 0; c < d; ++c) {
      for (int64_t r = c + 1; r < d; ++r) m[c + r * d] = m[r + c * d];  // upper := lower
      m[c + c * d] += 1.0;
    }
  }
  return a;
}

/// Samples for the Fréchet distance: a column-major d x n matrix X = G Z / √d (G d x d and Z d x n
/// standard normal), i.e. n samples of N(0, G Gᵀ / d) as columns; set 0 and set 1 use different
/// G and Z, so the two sample sets have different covariances.
std::vector<double> make_samples(int64_t d, int64_t n, int set) {
  const std::vector<double> g = make_normal(d * d, kSeed + 100 + std::uint64_t(set));
  const std::vector<double> z = make_normal(d * n, kSeed + 200 + std::uint64_t(set));
  std::vector<double> x(static_cast<std::size_t>(d * n));
  gaussot::gemm<double>(cpu_context(), gaussot::Transpose::no, gaussot::Transpose::no,
                        1.0 / std::sqrt(double(d)),
                        gaussot::square_matrices<const double>(g.data(), d, 1),
                        gaussot::matrices<const double>(z.data(), d, n, 1), 0.0,
                        gaussot::matrices(x.data(), d, n, 1));
  return x;
}

enum class InputKind { spd, normal, samples };

/// The inputs of a kind, shape (a, b) and set in precision T, generated once and kept for the run
/// (float inputs are the double ones rounded, so both precisions see the same data):
/// spd: b SPD matrices of order a (make_spd); normal: a * b standard normal numbers (means);
/// samples: a d = a by n = b sample matrix (make_samples).
template <typename T>
const std::vector<T>& inputs(InputKind kind, int64_t a, int64_t b, int set) {
  static std::map<std::tuple<InputKind, int64_t, int64_t, int>, std::vector<T>> cache;
  const auto key = std::make_tuple(kind, a, b, set);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  std::vector<T> data;
  if constexpr (std::is_same_v<T, double>) {
    switch (kind) {
      case InputKind::spd:
        data = make_spd(a, b, set);
        break;
      case InputKind::normal:
        data = make_normal(a * b, kSeed + 300 + std::uint64_t(set));
        break;
      case InputKind::samples:
        data = make_samples(a, b, set);
        break;
    }
  } else {
    const std::vector<double>& wide = inputs<double>(kind, a, b, set);
    data.assign(wide.begin(), wide.end());
  }
  return cache.emplace(key, std::move(data)).first->second;
}

/// The SPD inputs for (d, batch): set 0 of inputs(spd).
template <typename T>
const std::vector<T>& spd_inputs(int64_t d, int64_t batch) {
  return inputs<T>(InputKind::spd, d, batch, 0);
}

// ---- the operations -------------------------------------------------------------------------

enum class Op { eigh, eigvalsh, sqrtm };

const char* op_name(Op op) {
  switch (op) {
    case Op::eigh:
      return "eigh";
    case Op::eigvalsh:
      return "eigvalsh";
    case Op::sqrtm:
      return "sqrtm";
  }
  return "?";
}

template <typename T>
const char* precision_name() {
  return std::is_same_v<T, double> ? "f64" : "f32";
}

/// Elements of T each operation's outputs need (eigenvalues, eigenvectors, square roots).
struct OutputSizes {
  int64_t values = 0, vectors = 0, roots = 0;
};
OutputSizes output_sizes(Op op, int64_t d, int64_t batch) {
  OutputSizes s;
  if (op != Op::sqrtm) s.values = d * batch;
  if (op == Op::eigh) s.vectors = d * d * batch;
  if (op == Op::sqrtm) s.roots = d * d * batch;
  return s;
}

template <typename T>
void run_op(Context& ctx, Op op, EighAlgorithm algorithm, MatrixBatch<const T> a,
            VectorBatch<T> values, MatrixBatch<T> vectors, MatrixBatch<T> roots) {
  switch (op) {
    case Op::eigh:
      gaussot::eigh<T>(ctx, a, values, vectors, gaussot::EighOptions{algorithm});
      break;
    case Op::eigvalsh:
      gaussot::eigvalsh<T>(ctx, a, values, gaussot::EighOptions{algorithm});
      break;
    case Op::sqrtm: {
      gaussot::SpectralOptions options;
      options.algorithm = algorithm;
      gaussot::sqrtm<T>(ctx, a, roots, options);
      break;
    }
  }
}

void report(benchmark::State& state, int64_t d, int64_t batch) {
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["d"] = double(d);
  state.counters["batch"] = double(batch);
}

/// The timed loop: `run` once untimed (workspace growth, first-touch of the outputs, and any
/// error surfaces here), then once per iteration. Errors become SkipWithError.
template <typename Run>
void timed_loop(benchmark::State& state, Run&& run) {
  try {
    run();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    try {
      run();
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
    benchmark::ClobberMemory();
  }
}

// ---- CPU ------------------------------------------------------------------------------------

template <typename T>
void bm_cpu(benchmark::State& state, Op op, EighAlgorithm algorithm) {
  const int64_t d = state.range(0), batch = state.range(1);
  try {
    Context& ctx = cpu_context();
    const std::vector<T>& a = spd_inputs<T>(d, batch);
    const OutputSizes sizes = output_sizes(op, d, batch);
    std::vector<T> values(std::size_t(sizes.values)), vectors(std::size_t(sizes.vectors)),
        roots(std::size_t(sizes.roots));
    const auto a_view = gaussot::square_matrices(a.data(), d, batch);
    const auto values_view = gaussot::vectors(values.data(), d, batch);
    const auto vectors_view = gaussot::square_matrices(vectors.data(), d, batch);
    const auto roots_view = gaussot::square_matrices(roots.data(), d, batch);
    timed_loop(state, [&] {
      run_op<T>(ctx, op, algorithm, a_view, values_view, vectors_view, roots_view);
    });
    // Not "threads": Google Benchmark's JSON already has that key (its own thread count).
    state.counters["cpu_threads"] = double(ctx.num_threads());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report(state, d, batch);
}

// ---- CUDA -----------------------------------------------------------------------------------

/// Device working set of one call, roughly: input, outputs, and the solver's packed copy plus
/// scaled eigenvectors in the workspace.
template <typename T>
double cuda_bytes(int64_t d, int64_t batch) {
  return 4.0 * double(d) * double(d) * double(batch) * sizeof(T);
}

template <typename T>
void bm_cuda(benchmark::State& state, Op op, EighAlgorithm algorithm) {
  const int64_t d = state.range(0), batch = state.range(1);
  if (gaussot::cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  try {
    Context& ctx = cuda_context();
    const std::vector<T>& host_a = spd_inputs<T>(d, batch);
    const OutputSizes sizes = output_sizes(op, d, batch);
    gaussot::Array<T> a(ctx, d * d * batch);
    gaussot::copy<T>(ctx, gaussot::square_matrices(host_a.data(), d, batch),
                     a.matrices(d, d, batch));
    gaussot::Array<T> values, vectors, roots;
    if (sizes.values > 0) values = gaussot::Array<T>(ctx, sizes.values);
    if (sizes.vectors > 0) vectors = gaussot::Array<T>(ctx, sizes.vectors);
    if (sizes.roots > 0) roots = gaussot::Array<T>(ctx, sizes.roots);
    const auto device = gaussot::MemorySpace::device;
    const MatrixBatch<const T> a_view = a.matrices(d, d, batch);
    const auto values_view = gaussot::vectors(values.data(), d, batch, device);
    const auto vectors_view = gaussot::square_matrices(vectors.data(), d, batch, device);
    const auto roots_view = gaussot::square_matrices(roots.data(), d, batch, device);
    ctx.synchronize();
    timed_loop(state, [&] {
      run_op<T>(ctx, op, algorithm, a_view, values_view, vectors_view, roots_view);
      ctx.synchronize();
    });
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report(state, d, batch);
}

// ---- Bures–Wasserstein ----------------------------------------------------------------------
// One timed call of a bures.hpp function on seeded inputs uploaded once into the context's memory
// space (host for CPU, device for CUDA), outputs preallocated there. Side a of a pair is set 0 of
// the inputs, side b set 1; means are standard normal vectors.

enum class BuresOp { w2_squared, w2_squared_all_pairs, frechet_distance, w2_barycenter };

const char* bures_name(BuresOp op) {
  switch (op) {
    case BuresOp::w2_squared:
      return "w2_squared";
    case BuresOp::w2_squared_all_pairs:
      return "w2_squared_all_pairs";
    case BuresOp::frechet_distance:
      return "frechet_distance";
    case BuresOp::w2_barycenter:
      return "w2_barycenter";
  }
  return "?";
}

/// The second argument of each Bures benchmark after d: pairs (batch), Gaussians per side (k), or
/// samples per set (n).
const char* bures_size_name(BuresOp op) {
  switch (op) {
    case BuresOp::w2_squared:
      return "batch";
    case BuresOp::frechet_distance:
      return "n";
    default:
      return "k";
  }
}

/// A copy of `host` in ctx's memory space.
template <typename T>
gaussot::Array<T> upload(Context& ctx, const std::vector<T>& host) {
  const auto n = static_cast<int64_t>(host.size());
  gaussot::Array<T> array(ctx, n);
  gaussot::copy<T>(ctx, gaussot::vectors(host.data(), n, 1), array.vectors(n, 1));
  return array;
}

/// A batch of `count` Gaussians of dimension d (set `set`), uploaded; owns its memory.
template <typename T>
struct Gaussians {
  gaussot::Array<T> means, covariances;
  int64_t d = 0, count = 0;
  Gaussians(Context& ctx, int64_t d_, int64_t count_, int set)
      : means(upload(ctx, inputs<T>(InputKind::normal, d_, count_, set))),
        covariances(upload(ctx, inputs<T>(InputKind::spd, d_, count_, set))),
        d(d_),
        count(count_) {}
  gaussot::GaussianBatch<const T> view() const {
    return {means.vectors(d, count), covariances.matrices(d, d, count)};
  }
};

template <typename T>
void bm_bures(benchmark::State& state, gaussot::Backend backend, BuresOp op) {
  const int64_t d = state.range(0), size = state.range(1);
  const bool cuda = backend == gaussot::Backend::cuda;
  if (cuda && gaussot::cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  int64_t items = size;  // pairs, Gaussians or sample sets per call
  try {
    Context& ctx = cuda ? cuda_context() : cpu_context();
    switch (op) {
      case BuresOp::w2_squared: {
        const Gaussians<T> a(ctx, d, size, 0), b(ctx, d, size, 1);
        gaussot::Array<T> out(ctx, size);
        ctx.synchronize();
        timed_loop(state, [&] {
          gaussot::w2_squared<T>(ctx, a.view(), b.view(), out.vectors(1, size));
          ctx.synchronize();
        });
        break;
      }
      case BuresOp::w2_squared_all_pairs: {
        const Gaussians<T> a(ctx, d, size, 0), b(ctx, d, size, 1);
        gaussot::Array<T> out(ctx, size * size);
        ctx.synchronize();
        timed_loop(state, [&] {
          gaussot::w2_squared_all_pairs<T>(ctx, a.view(), b.view(), out.matrices(size, size, 1));
          ctx.synchronize();
        });
        items = size * size;
        state.counters["pairs"] = double(items);
        break;
      }
      case BuresOp::frechet_distance: {
        const gaussot::Array<T> x = upload(ctx, inputs<T>(InputKind::samples, d, size, 0));
        const gaussot::Array<T> y = upload(ctx, inputs<T>(InputKind::samples, d, size, 1));
        gaussot::Array<T> out(ctx, 1);
        ctx.synchronize();
        timed_loop(state, [&] {
          gaussot::frechet_distance<T>(ctx, x.matrices(d, size, 1), y.matrices(d, size, 1),
                                       out.vectors(1, 1));
          ctx.synchronize();
        });
        items = 1;
        // What FrechetMethod::automatic picks: the samples path when n < d.
        state.counters["samples_path"] = size < d ? 1.0 : 0.0;
        break;
      }
      case BuresOp::w2_barycenter: {
        const Gaussians<T> a(ctx, d, size, 0);
        gaussot::Array<T> mean(ctx, d), covariance(ctx, d * d);
        const gaussot::GaussianBatch<T> out(mean.vectors(d, 1), covariance.matrices(d, d, 1));
        gaussot::BarycenterReport last;
        ctx.synchronize();
        timed_loop(state, [&] {
          last = gaussot::w2_barycenter<T>(ctx, a.view(), gaussot::VectorBatch<const T>(), out);
          ctx.synchronize();
        });
        items = 1;
        state.counters["iterations"] = double(last.iterations);
        state.counters["residual"] = last.residual;
        break;
      }
    }
    if (!cuda) state.counters["cpu_threads"] = double(ctx.num_threads());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.SetItemsProcessed(state.iterations() * items);
  state.counters["d"] = double(d);
  state.counters[bures_size_name(op)] = double(size);
}

// ---- registration ---------------------------------------------------------------------------

/// CPU grid: batch chosen so that one call takes roughly 0.05–0.5 s on a few cores. d = 64,
/// batch = 1000 is the target case for sqrtm.
const std::vector<std::pair<int64_t, int64_t>> kCpuGrid = {
    {4, 100000}, {16, 10000}, {64, 1000}, {256, 20}, {2048, 1}};
/// Both CPU eigensolvers forced (implicit QR, LAPACK ?syevd) over the orders around the switch of
/// EighAlgorithm::automatic (d = 160), with about the same flops per call.
const std::vector<std::pair<int64_t, int64_t>> kCpuAlgorithmGrid = {
    {64, 1000}, {128, 128}, {160, 64}, {192, 40}, {256, 16}, {512, 2}, {1024, 1}};

/// CUDA grid: d in {16, 32, 64, 256} x batch in {1, 64, 10000}, less what exceeds the memory
/// limit (d = 256 with batch 10000); plus d = 2048 (batch 1 only, by the same limit), the
/// FID-sized order that reference/peers-and-performance.md §D asks to measure.
const std::vector<int64_t> kCudaOrders = {16, 32, 64, 256, 2048};
const std::vector<int64_t> kCudaBatches = {1, 64, 10000};
/// Orders at which both CUDA eigensolvers are timed, to locate the Jacobi / divide-and-conquer
/// crossover (EighAlgorithm::automatic switches at d = 32).
const std::vector<int64_t> kCudaAlgorithmOrders = {16, 32, 64};

template <typename T>
void register_cpu_one(Op op, EighAlgorithm algorithm, const char* suffix,
                      const std::vector<std::pair<int64_t, int64_t>>& grid) {
  const std::string name = std::string("cpu/") + op_name(op) + suffix + "/" + precision_name<T>();
  auto* b = benchmark::RegisterBenchmark(
      name.c_str(), [op, algorithm](benchmark::State& s) { bm_cpu<T>(s, op, algorithm); });
  b->ArgNames({"d", "batch"})->UseRealTime()->Unit(benchmark::kMillisecond);
  for (const auto& [d, batch] : grid) b->Args({d, batch});
}

template <typename T>
void register_cpu() {
  for (Op op : {Op::eigh, Op::eigvalsh, Op::sqrtm}) {
    register_cpu_one<T>(op, EighAlgorithm::automatic, "", kCpuGrid);
  }
  register_cpu_one<T>(Op::eigh, EighAlgorithm::implicit_qr, "_qr", kCpuAlgorithmGrid);
  register_cpu_one<T>(Op::eigh, EighAlgorithm::divide_and_conquer, "_dc", kCpuAlgorithmGrid);
}

template <typename T>
void register_cuda_one(Op op, EighAlgorithm algorithm, const char* suffix,
                       const std::vector<int64_t>& orders) {
  const std::string name = std::string("cuda/") + op_name(op) + suffix + "/" + precision_name<T>();
  auto* b = benchmark::RegisterBenchmark(
      name.c_str(), [op, algorithm](benchmark::State& s) { bm_cuda<T>(s, op, algorithm); });
  b->ArgNames({"d", "batch"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (int64_t d : orders) {
    for (int64_t batch : kCudaBatches) {
      if (cuda_bytes<T>(d, batch) <= kCudaMemoryLimitBytes) b->Args({d, batch});
    }
  }
}

template <typename T>
void register_cuda() {
  // The default solver choice (EighAlgorithm::automatic). cuda/eigh/f64/d:64/batch:10000 is the
  // reference's physical-limit case.
  for (Op op : {Op::eigh, Op::eigvalsh, Op::sqrtm}) {
    register_cuda_one<T>(op, EighAlgorithm::automatic, "", kCudaOrders);
  }
  // Both solvers forced, for the crossover.
  for (Op op : {Op::eigh, Op::sqrtm}) {
    register_cuda_one<T>(op, EighAlgorithm::jacobi, "_jacobi", kCudaAlgorithmOrders);
    register_cuda_one<T>(op, EighAlgorithm::divide_and_conquer, "_dc", kCudaAlgorithmOrders);
  }
}

/// The Bures–Wasserstein benchmarks: (op, d, size) per backend. CPU sizes keep a call within
/// about a second on two cores, except the FID-sized frechet_distance (d = 2048, n = 10000: the
/// sample moments of two 10000-sample sets plus two spectral steps at order 2048, seconds);
/// n = 1000 < d takes the samples path of FrechetMethod::automatic.
struct BuresCase {
  BuresOp op;
  int64_t d, size;
};
const std::vector<BuresCase> kCpuBures = {{BuresOp::w2_squared, 64, 1000},
                                          {BuresOp::w2_squared_all_pairs, 64, 200},
                                          {BuresOp::frechet_distance, 2048, 10000},
                                          {BuresOp::frechet_distance, 2048, 1000},
                                          {BuresOp::w2_barycenter, 64, 100}};
/// frechet_distance is timed on the CPU only (the FID case of the issue); all pairs at 1000 x 1000.
const std::vector<BuresCase> kCudaBures = {{BuresOp::w2_squared, 64, 1000},
                                           {BuresOp::w2_squared_all_pairs, 64, 1000},
                                           {BuresOp::w2_barycenter, 64, 100}};

template <typename T>
void register_bures(gaussot::Backend backend, const std::vector<BuresCase>& cases) {
  const bool cuda = backend == gaussot::Backend::cuda;
  for (const BuresCase& c : cases) {
    if (c.op == BuresOp::frechet_distance && !std::is_same_v<T, double>) continue;  // FID: float64
    const std::string name =
        std::string(cuda ? "cuda/" : "cpu/") + bures_name(c.op) + "/" + precision_name<T>();
    auto* b = benchmark::RegisterBenchmark(
        name.c_str(), [backend, op = c.op](benchmark::State& s) { bm_bures<T>(s, backend, op); });
    b->ArgNames({"d", bures_size_name(c.op)})->UseRealTime();
    b->Unit(cuda ? benchmark::kMicrosecond : benchmark::kMillisecond);
    b->Args({c.d, c.size});
  }
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Take out --threads=N / --threads N (ours) before Google Benchmark sees the flags.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr const char* kThreads = "--threads";
    const std::size_t length = std::strlen(kThreads);
    const char* value = nullptr;
    if (i > 0 && std::strcmp(argv[i], kThreads) == 0) {
      value = i + 1 < argc ? argv[++i] : "";
    } else if (i > 0 && std::strncmp(argv[i], kThreads, length) == 0 && argv[i][length] == '=') {
      value = argv[i] + length + 1;
    }
    if (value == nullptr) {
      args.push_back(argv[i]);
      continue;
    }
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    if (end == value || *end != '\0' || n < 0 || n > 1 << 20) {
      std::fprintf(stderr, "gaussot_bench: bad --threads value '%s' (expected an integer >= 0)\n",
                   value);
      return 1;
    }
    g_cpu_threads = int(n);
  }
  int count = int(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  register_cpu<double>();
  register_cpu<float>();
  register_cuda<double>();
  register_cuda<float>();
  register_bures<double>(gaussot::Backend::cpu, kCpuBures);
  register_bures<float>(gaussot::Backend::cpu, kCpuBures);
  register_bures<double>(gaussot::Backend::cuda, kCudaBures);
  register_bures<float>(gaussot::Backend::cuda, kCudaBures);

  std::vector<std::string> backends;
  for (gaussot::Backend b : gaussot::compiled_backends()) backends.push_back(gaussot::to_string(b));
  benchmark::AddCustomContext("gaussot_version", gaussot::version());
  benchmark::AddCustomContext("gaussot_backends", join(backends, ","));
  benchmark::AddCustomContext("gaussot_cpu_threads", std::to_string(cpu_context().num_threads()));
  const std::vector<std::string> devices = gaussot::cuda_device_names();
  benchmark::AddCustomContext("cuda_devices", devices.empty() ? "none" : join(devices, "; "));

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_cuda_context.reset();
  g_cpu_context.reset();
  return 0;
}
