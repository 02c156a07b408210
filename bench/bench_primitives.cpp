// SPDX-License-Identifier: Apache-2.0
// Google Benchmark timings of gaussot's batched primitives: eigh (values and vectors), eigvalsh
// and sqrtm, in double and float, on the CPU backend and the CUDA backend, over (d, batch) grids.
// See bench/README.md for what each benchmark measures and how to run them.
//
// Names: <backend>/<op>[_<algorithm>]/<f64|f32>/d:<d>/batch:<batch>/real_time, e.g.
//   cpu/sqrtm/f64/d:64/batch:1000/real_time
//   cuda/eigh_jacobi/f32/d:32/batch:10000/real_time
// so that --benchmark_filter='^cpu/' or '^cuda/' selects a backend. The CUDA benchmarks are always
// registered; without a CUDA device (or a build without the CUDA backend) they report the error
// "no CUDA device" and are skipped.
//
// Besides Google Benchmark's own flags, the binary takes --threads=N (or --threads N): the CPU
// context's OpenMP thread count (default 0: OMP_NUM_THREADS, else one per core).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <random>
#include <string>
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

/// `batch` random SPD matrices A = G Gᵀ / d + I (G with standard normal entries), column-major
/// and packed, exactly symmetric. Seeded with kSeed: the same (d, batch) gives the same matrices
/// in every benchmark of a run (and across runs with the same standard library).
std::vector<double> make_spd(int64_t d, int64_t batch) {
  const auto n = static_cast<std::size_t>(d * d * batch);
  std::vector<double> g(n);
  std::mt19937_64 rng(kSeed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double& x : g) x = normal(rng);
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

/// The inputs for (d, batch) in precision T, generated once and kept for the run (float inputs
/// are the double ones rounded, so both precisions see the same matrices).
template <typename T>
const std::vector<T>& spd_inputs(int64_t d, int64_t batch) {
  static std::map<std::pair<int64_t, int64_t>, std::vector<T>> cache;
  const auto key = std::make_pair(d, batch);
  auto found = cache.find(key);
  if (found != cache.end()) return found->second;
  std::vector<T> data;
  if constexpr (std::is_same_v<T, double>) {
    data = make_spd(d, batch);
  } else {
    const std::vector<double>& wide = spd_inputs<double>(d, batch);
    data.assign(wide.begin(), wide.end());
  }
  return cache.emplace(key, std::move(data)).first->second;
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
  const std::string name =
      std::string("cuda/") + op_name(op) + suffix + "/" + precision_name<T>();
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
