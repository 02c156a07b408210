// SPDX-License-Identifier: Apache-2.0
// The options every `gaussot` command shares (CLI.md): the general options, the backend and
// precision, the clamping rule of the inputs, the numeric checks that give one option one meaning
// in every command, output paths checked before computing, and the option groups several
// commands take (the IGW ascent, the two sides of a two-sided command).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "gaussot/gaussot.hpp"
#include "usage_error.hpp"

namespace gaussot::cli {

/// Options every command takes.
struct CommonOptions {
  std::string backend = "auto";   ///< cpu | cuda | auto
  std::string precision = "f64";  ///< f64 | f32
  std::string out;                ///< --out FILE: the JSON goes there instead of stdout
  std::string save_prefix;        ///< --save-prefix P: arrays also to P<name>.npy
  int threads = 0;                ///< --threads N: CPU threads (0: all cores)
};

/// The most CPU threads --threads accepts (more is a typo, not a machine).
constexpr int kMaxThreads = 4096;

/// Registers the general options on a command. --out and --save-prefix are checked when parsed:
/// their folder must exist (and --out must not be a folder), so that a command refuses them before
/// computing rather than after.
void add_common_options(CLI::App& command, CommonOptions& options);

/// The context --backend asks for. Throws UsageError when it cannot be had.
Context make_context(const CommonOptions& options);

/// Runs `run_f64` or `run_f32` as --precision says.
void dispatch_precision(const CommonOptions& options, const std::function<void()>& run_f64,
                        const std::function<void()>& run_f32);

/// The clamping rule of CLI.md for every spectral step of the command: a covariance is positive
/// semidefinite when its smallest eigenvalue is >= -tau·max(1, largest) (scale floor 1).
SpectralOptions input_rule();

/// A CLI11 check of a numeric option: `ok(value)` must hold, else the option is refused with
/// "must be WHAT, got VALUE". NaN is refused too (unlike CLI::Range) when `ok` compares.
CLI::Validator number_check(const std::string& what, const std::function<bool(double)>& ok);

// The numeric checks every command uses, so that one kind of option means one thing everywhere
// (before, --sigma was "> 0 and < 1e300" in entropic but "finite and > 0" in sinkhorn); what a
// value does beyond them (σ too small or too large for the precision, say) the library refuses,
// naming the option.
/// A scale, step or penalty: finite and > 0.
CLI::Validator positive_number();
/// A tolerance: finite and >= 0.
CLI::Validator non_negative_number();
/// A count (iterations, restarts, samples, batch size): an integer >= minimum, below 1e12.
CLI::Validator count_at_least(std::int64_t minimum);
/// A time or fraction in [0, 1].
CLI::Validator unit_interval();

/// A CLI11 check of an output path, for --out, --save-prefix and other files a command writes:
/// the directory it goes into must exist (`prefix`: the path starts file names, as with
/// --save-prefix "results/run_"), and a file path must not be a directory. Empty passes.
CLI::Validator output_path_check(bool prefix);

/// Refuses, naming `option`, a request for more memory than this machine has: `bytes` (a double,
/// so that absurd requests do not overflow) against the physical memory. `what` says what the
/// memory is for ("2 x 1e12 x 3 coupling samples").
void check_memory(const std::string& option, double bytes, const std::string& what);

/// The options of the IGW Stiefel ascent (igw, igw-map, compare).
struct AscentOptions {
  bool no_ascent = false;
  int restarts = 0;
  int max_iterations = IgwOptions().max_iterations;
  double tolerance = IgwOptions().tolerance;
  std::uint64_t seed = 0;
  /// The library options these give, with the input clamping rule (input_rule()).
  IgwOptions igw_options() const;
};

/// Registers --restarts, --max-iterations, --tolerance, --seed and --no-ascent.
void add_ascent_options(CLI::App& command, AscentOptions& options);

/// The options of one side X in {a, b} of a two-sided command (CLI.md, "Inputs"):
/// --X-cov FILE [--X-mean FILE], or --X-samples FILE.
struct SideOptions {
  std::string name;  ///< "a" or "b"
  std::string cov, mean, samples;
  explicit SideOptions(std::string name_) : name(std::move(name_)) {}
};

/// Registers --X-cov, --X-mean and --X-samples.
void add_side_options(CLI::App& command, SideOptions& side);
}  // namespace gaussot::cli
