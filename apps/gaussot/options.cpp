// SPDX-License-Identifier: Apache-2.0
#include "options.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace gaussot::cli {

namespace fs = std::filesystem;

CLI::Validator output_path_check(bool prefix) {
  return CLI::Validator(
      [prefix](std::string& path) -> std::string {
        if (path.empty()) return {};  // the default: stdout, no .npy files
        std::error_code error;
        if (!prefix && fs::is_directory(path, error)) return "'" + path + "' is a directory";
        const fs::path folder = fs::path(path).parent_path();
        if (!folder.empty() && !fs::is_directory(folder, error)) {
          return "the directory '" + folder.string() + "' of '" + path + "' does not exist";
        }
        return {};
      },
      prefix ? "PREFIX" : "FILE");
}

void add_common_options(CLI::App& command, CommonOptions& options) {
  command
      .add_option("--backend", options.backend, "cpu, cuda or auto (CUDA when a device is present)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  command.add_option("--precision", options.precision, "f64 or f32")
      ->check(CLI::IsMember({"f64", "f32"}))
      ->capture_default_str();
  command.add_option("--out", options.out, "write the JSON result to FILE instead of stdout")
      ->check(output_path_check(false));
  command
      .add_option("--save-prefix", options.save_prefix,
                  "also write every array result NAME to PREFIXNAME.npy")
      ->check(output_path_check(true));
  command
      .add_option("--threads", options.threads,
                  "CPU threads (0: one per core; at most " + std::to_string(kMaxThreads) + ")")
      ->check(number_check("an integer from 0 to " + std::to_string(kMaxThreads),
                           [](double n) { return n >= 0 && n <= kMaxThreads; }))
      ->capture_default_str();
}

void check_memory(const std::string& option, double bytes, const std::string& what) {
#if defined(__unix__) || defined(__APPLE__)
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;  // unknown: let the allocation decide
  const double available = double(pages) * double(page_size);
  if (!(bytes <= available)) {  // NaN too
    std::ostringstream message;
    message.precision(3);
    message << option << ": " << what << " need " << bytes / double(1 << 30)
            << " GiB, more than this machine's " << available / double(1 << 30) << " GiB of memory";
    throw UsageError(message.str());
  }
#else
  (void)option, (void)bytes, (void)what;
#endif
}

IgwOptions AscentOptions::igw_options() const {
  IgwOptions options;
  options.ascent = !no_ascent;
  options.restarts = restarts;
  options.max_iterations = max_iterations;
  options.tolerance = tolerance;
  options.seed = seed;
  options.spectral = input_rule();
  return options;
}

void add_ascent_options(CLI::App& command, AscentOptions& o) {
  command
      .add_option("--restarts", o.restarts,
                  "random restarts of the Stiefel ascent (uncentered pairs; local maxima "
                  "exist)")
      ->check(count_at_least(0))
      ->capture_default_str();
  command.add_option("--max-iterations", o.max_iterations, "ascent steps per pair, all restarts")
      ->check(count_at_least(0))
      ->capture_default_str();
  command
      .add_option("--tolerance", o.tolerance,
                  "stop the ascent when the relative Riemannian gradient norm is at most this")
      ->check(non_negative_number())
      ->capture_default_str();
  command.add_option("--seed", o.seed, "seed of the restarts and of the ascent's sketches")
      ->capture_default_str();
  command.add_flag("--no-ascent", o.no_ascent,
                   "report the analytic upper bound for uncentered pairs instead of ascending");
}

Context make_context(const CommonOptions& options) {
  if (options.backend == "cpu") return Context::cpu(options.threads);
  if (options.backend == "cuda") {
    try {
      return Context::cuda(0);
    } catch (const NotCompiled&) {
      throw UsageError("--backend cuda: this gaussot was built without the CUDA backend");
    } catch (const InvalidArgument&) {
      throw UsageError("--backend cuda: no CUDA device is available");
    }
  }
  return cuda_device_count() > 0 ? Context::cuda(0) : Context::cpu(options.threads);
}

void dispatch_precision(const CommonOptions& options, const std::function<void()>& run_f64,
                        const std::function<void()>& run_f32) {
  if (options.precision == "f32") {
    run_f32();
  } else {
    run_f64();
  }
}

SpectralOptions input_rule() {
  SpectralOptions rule;
  rule.scale_floor = 1.0;  // CLI.md: PSD when the smallest eigenvalue >= -tau·max(1, largest)
  return rule;
}

CLI::Validator positive_number() {
  return number_check("finite and > 0", [](double x) { return std::isfinite(x) && x > 0; });
}

CLI::Validator non_negative_number() {
  return number_check("finite and >= 0", [](double x) { return std::isfinite(x) && x >= 0; });
}

CLI::Validator count_at_least(std::int64_t minimum) {
  constexpr double kLargestCount = 1e12;
  return number_check("at least " + std::to_string(minimum) + " (and below 1e12)",
                      [minimum](double n) { return n >= double(minimum) && n < kLargestCount; });
}

CLI::Validator unit_interval() {
  return number_check("in [0, 1]", [](double t) { return t >= 0 && t <= 1; });
}

CLI::Validator number_check(const std::string& what, const std::function<bool(double)>& ok) {
  return CLI::Validator(
      [what, ok](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') return "must be a number, got '" + text + "'";
        // NaN fails every comparison in `ok`, so it is refused (CLI::Range lets it through).
        if (!ok(value)) return "must be " + what + ", got " + text;
        return {};
      },
      what);
}

void add_side_options(CLI::App& command, SideOptions& side) {
  const std::string x = "--" + side.name + "-";
  command.add_option(x + "cov", side.cov,
                     "side " + side.name + ": covariances, (d, d) or (k, d, d) .npy");
  command.add_option(x + "mean", side.mean,
                     "side " + side.name + ": means, (d,) or (k, d) .npy (default: zero means)");
  command.add_option(x + "samples", side.samples,
                     "side " + side.name + ": samples, (n, d) or (k, n, d) .npy, instead of " + x +
                         "cov: the fitted Gaussian (sample mean, covariance with divisor n - 1)");
}

}  // namespace gaussot::cli
