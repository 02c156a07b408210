// SPDX-License-Identifier: Apache-2.0
// The result of a `gaussot` command (CLI.md, "General"): one JSON object on stdout or --out, arrays
// also as .npy with --save-prefix, written only once everything has succeeded; and the reshaping of
// the library's column-major results into the C-order arrays the report holds.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gaussot/gaussot.hpp"
#include "options.hpp"

namespace gaussot::cli {

/// An array as nested JSON lists of `shape` (C order data); an empty shape is a number. NaN is
/// written as null.
nlohmann::ordered_json nested_lists(const std::vector<std::int64_t>& shape,
                                    const std::vector<double>& c_order_data);

/// Collects a command's results and writes them out.
class Report {
 public:
  Report(std::string command, const CommonOptions& options, const Context& ctx);

  /// Result fields, in the order added, after "command", "backend", "precision", "time_ms".
  nlohmann::ordered_json& fields() { return fields_; }
  /// An array result: nested JSON lists of the given shape (C order data), and P<name>.npy. An
  /// empty shape is a scalar: a JSON number, and a 0-d array in the .npy file.
  void add_array(const std::string& name, const std::vector<std::int64_t>& shape,
                 const std::vector<double>& c_order_data);

  void start_clock() { start_ = std::chrono::steady_clock::now(); }
  void stop_clock();
  /// Takes `ms` (time spent reading files during the computation) off time_ms.
  void exclude_ms(double ms) { time_ms_ = std::max(0.0, time_ms_ - ms); }

  /// Writes the .npy files, then the JSON (stdout or --out); on a write failure removes what
  /// this report had already written and throws.
  void emit() const;

 private:
  struct SavedArray {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<double> data;
  };
  std::string command_;
  CommonOptions options_;
  std::string backend_;
  nlohmann::ordered_json fields_ = nlohmann::ordered_json::object();
  std::vector<SavedArray> arrays_;
  std::chrono::steady_clock::time_point start_{};
  double time_ms_ = 0;
};

/// Shape of a result that follows the inputs: item_shape, after a leading axis of `count` when the
/// inputs were batched. An empty item_shape is a scalar.
std::vector<std::int64_t> result_shape(bool batched, std::int64_t count,
                                       std::vector<std::int64_t> item_shape);

/// Host results as double, for Report::add_array.
template <typename T>
std::vector<double> as_double(const std::vector<T>& values) {
  return {values.begin(), values.end()};
}

/// Reorders k packed column-major rows x cols items into C order (k, rows, cols), as double.
template <typename T>
std::vector<double> to_c_order(const std::vector<T>& column_major, std::int64_t rows,
                               std::int64_t cols, std::int64_t count);

}  // namespace gaussot::cli
