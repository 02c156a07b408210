// SPDX-License-Identifier: Apache-2.0
// gaussot_time: times one batched gaussot call, in process, on the matrices of an .npy file, so that
// a peer script can compare the library with NumPy/SciPy on the very same inputs. The first call
// (thread start-up, first touch of the buffers) is timed separately and not counted.
//
//   gaussot_time --op sqrtm|eigh|eigvalsh --cov A.npy [--repeat 5] [--threads N]
//                [--backend cpu|cuda] [--save RESULT.npy]
// prints one JSON object: {"op", "backend", "d", "count", "first_ms", "times_ms": [...],
// "min_ms", "median_ms"}. --save writes the result (sqrt, or eigenvalues) as float64 .npy.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gaussot/gaussot.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Times one batched gaussot call on the matrices of an .npy file"};
  std::string op = "sqrtm", cov, backend = "cpu", save;
  int repeat = 5, threads = 0;
  app.add_option("--op", op)->check(CLI::IsMember({"sqrtm", "eigh", "eigvalsh"}));
  app.add_option("--cov", cov, "(k, d, d) or (d, d) float64 symmetric matrices")->required();
  app.add_option("--repeat", repeat)->check(CLI::PositiveNumber);
  app.add_option("--threads", threads)->check(CLI::NonNegativeNumber);
  app.add_option("--backend", backend)->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--save", save);
  CLI11_PARSE(app, argc, argv);
  try {
    gaussot::NdArray<double> input = gaussot::read_npy<double>(cov);
    const std::int64_t d = input.shape.back();
    const std::int64_t k = input.shape.size() == 3 ? input.shape[0] : 1;
    gaussot::Context ctx = backend == "cuda" ? gaussot::Context::cuda(0) : gaussot::Context::cpu(threads);
    gaussot::Array<double> a(ctx, d * d * k), w(ctx, d * k), out(ctx, d * d * k);
    gaussot::copy<double>(ctx, gaussot::vectors(input.data.data(), d * d * k, 1), a.vectors(d * d * k, 1));
    auto run = [&] {
      if (op == "sqrtm") {
        gaussot::sqrtm<double>(ctx, a.matrices(d, d, k), out.matrices(d, d, k));
      } else if (op == "eigh") {
        gaussot::eigh<double>(ctx, a.matrices(d, d, k), w.vectors(d, k), out.matrices(d, d, k));
      } else {
        gaussot::eigvalsh<double>(ctx, a.matrices(d, d, k), w.vectors(d, k));
      }
      ctx.synchronize();
    };
    auto timed = [&] {
      const auto start = std::chrono::steady_clock::now();
      run();
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    };
    const double first = timed();
    std::vector<double> times;
    for (int r = 0; r < repeat; ++r) times.push_back(timed());
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    nlohmann::ordered_json result{{"op", op},
                                  {"backend", backend},
                                  {"d", d},
                                  {"count", k},
                                  {"first_ms", first},
                                  {"times_ms", times},
                                  {"min_ms", sorted.front()},
                                  {"median_ms", sorted[sorted.size() / 2]}};
    if (!save.empty()) {
      const bool values = op == "eigvalsh";
      std::vector<double> host(values ? d * k : d * d * k);
      const std::int64_t n = static_cast<std::int64_t>(host.size());
      gaussot::copy<double>(ctx, (values ? w : out).vectors(n, 1), gaussot::vectors(host.data(), n, 1));
      gaussot::write_npy<double>(save, host.data(), values ? std::vector<std::int64_t>{k, d}
                                                           : std::vector<std::int64_t>{k, d, d});
    }
    std::cout << result.dump() << std::endl;
  } catch (const gaussot::Error& e) {
    std::cerr << "gaussot_time: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
