// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the whole `gaussot` command (gaussot::cli::run) on arbitrary argument lists.
// The input's lines are the arguments; they may name the small .npy files that this program
// writes into its working folder (fixtures below: valid, NaN, wrong-shape and garbage files).
// Every run must return 0, 1 or 2 without a crash, a sanitizer report or an escaping exception.
//
// Inputs are skipped (not run) when they could only be slow or reach outside the folder: the
// `demo` command (seconds of work by design), `ngw` without --steps (2000 steps by default), any
// number above 64 in magnitude (steps, sizes, threads), and any argument containing '/'.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gaussot/npy.hpp"
#include "run.hpp"

namespace {

namespace fs = std::filesystem;

/// The fixture files, written again before every run (a run may overwrite them with --out).
std::map<std::string, std::string> make_fixtures() {
  const fs::path scratch = fs::temp_directory_path() / "gaussot_fuzz_cli_fixture.npy";
  std::map<std::string, std::string> files;
  const auto add = [&](const std::string& name, std::vector<double> values,
                       std::vector<std::int64_t> shape) {
    gaussot::write_npy(scratch.string(), values.data(), shape);
    std::ifstream in(scratch, std::ios::binary);
    files[name] = std::string(std::istreambuf_iterator<char>(in), {});
  };
  add("cov.npy", {2, 0.5, 0.5, 1}, {2, 2});
  add("cov3.npy", {3, 1, 0, 1, 2, 0.5, 0, 0.5, 1}, {3, 3});
  add("covs.npy", {2, 0.5, 0.5, 1, 1, 0, 0, 1, 3, -1, -1, 2}, {3, 2, 2});
  add("singular.npy", {1, 1, 1, 1}, {2, 2});
  add("indefinite.npy", {1, 2, 2, 1}, {2, 2});
  add("nan.npy", {1, NAN, NAN, 1}, {2, 2});
  add("mean.npy", {0.5, -1}, {2});
  add("means.npy", {0, 0, 1, 1, -1, 2}, {3, 2});
  add("w.npy", {0.2, 0.3, 0.5}, {3});
  add("samples.npy", {0, 1, 2, 0, 1, 1, 3, 2, 0, -1, 2, 2, 1, 0, 0, 3}, {8, 2});
  add("samples3.npy", {0, 1, 2, 0, 1, 1, 3, 2, 0, -1, 2, 2, 1, 0, 0, 3, 1, 2, 0, 1, 1, 2, 0, 0},
      {8, 3});
  add("empty.npy", {}, {0, 2, 2});
  fs::remove(scratch);
  files["garbage.npy"] = "\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'";
  return files;
}

bool allowed(const std::vector<std::string>& words) {
  if (words.empty() || words[0] == "demo") return false;
  bool steps = false;
  for (const std::string& w : words) {
    if (w.find('/') != std::string::npos) return false;
    steps = steps || w.rfind("--steps", 0) == 0;
    const std::string value = w.substr(w.find('=') == std::string::npos ? 0 : w.find('=') + 1);
    char* end = nullptr;
    const double x = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && std::isfinite(x) && std::abs(x) > 64) return false;
  }
  return words[0] != "ngw" || steps;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::map<std::string, std::string> fixtures = make_fixtures();
  static const fs::path folder = [] {
    const fs::path f =
        fs::temp_directory_path() / ("gaussot_fuzz_cli_" + std::to_string(::getpid()));
    fs::create_directories(f);
    fs::current_path(f);
    return f;
  }();
  static std::uint64_t runs = 0;

  std::vector<std::string> words(1);
  for (std::size_t i = 0; i < size && words.size() <= 64; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\n' || c == '\0') {
      words.emplace_back();
    } else {
      words.back().push_back(c);
    }
  }
  if (!allowed(words)) return 0;

  if (++runs % 256 == 0) {  // remove what earlier runs wrote (--out, --save-prefix, --out-dir)
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (!fixtures.count(entry.path().filename().string())) fs::remove_all(entry.path());
    }
  }
  for (const auto& [name, bytes] : fixtures) {
    std::ofstream(folder / name, std::ios::binary | std::ios::trunc) << bytes;
  }

  std::vector<char*> argv;
  std::string program = "gaussot";
  argv.push_back(program.data());
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const int status = gaussot::cli::run(static_cast<int>(argv.size()) - 1, argv.data());
  if (status != 0 && status != 1 && status != 2) __builtin_trap();
  return 0;
}
