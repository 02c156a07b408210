// SPDX-License-Identifier: Apache-2.0
#include "command_line.hpp"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <type_traits>

namespace gaussot::cli {

void add_common_options(CLI::App& command, CommonOptions& options) {
  command.add_option("--backend", options.backend, "cpu, cuda or auto (CUDA when a device is present)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  command.add_option("--precision", options.precision, "f64 or f32")
      ->check(CLI::IsMember({"f64", "f32"}))
      ->capture_default_str();
  command.add_option("--out", options.out, "write the JSON result to FILE instead of stdout");
  command.add_option("--save-prefix", options.save_prefix,
                     "also write every array result NAME to PREFIXNAME.npy");
  command.add_option("--threads", options.threads, "CPU threads (0: one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
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

template <typename T>
MatrixFile<T> read_covariances(const std::string& option, const std::string& path) {
  NdArray<T> array;
  try {
    array = read_npy<T>(path);
  } catch (const InvalidArgument& e) {
    throw UsageError(option + ": " + e.message());
  }
  const auto& shape = array.shape;
  const std::string shape_text = [&] {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
  }();
  if (shape.size() != 2 && shape.size() != 3) {
    throw UsageError(option + ": " + path + ": expected shape (d, d) or (k, d, d), got " +
                     shape_text);
  }
  MatrixFile<T> file;
  file.batched = shape.size() == 3;
  file.count = file.batched ? shape[0] : 1;
  file.d = shape.back();
  if (shape[shape.size() - 2] != file.d || file.d == 0) {
    throw UsageError(option + ": " + path + ": covariances must be square and non-empty, got shape " +
                     shape_text);
  }
  file.data = std::move(array.data);
  // CLI.md: symmetric when |C - Cᵀ| <= tau·max|C|, tau = 1e-10 in f64, √(u32/u64) looser in f32.
  const double tau =
      std::is_same_v<T, double> ? 1e-10 : 1e-10 * std::sqrt(double(FLT_EPSILON) / DBL_EPSILON);
  const std::int64_t d = file.d;
  for (std::int64_t i = 0; i < file.count; ++i) {
    const T* m = file.data.data() + i * d * d;
    double largest = 0;
    for (std::int64_t e = 0; e < d * d; ++e) {
      if (!std::isfinite(m[e])) {
        throw UsageError(option + ": " + path + ": batch item " + std::to_string(i) +
                         " has a NaN or infinite entry");
      }
      largest = std::max(largest, std::abs(double(m[e])));
    }
    for (std::int64_t c = 0; c < d; ++c) {
      for (std::int64_t r = c + 1; r < d; ++r) {
        const double asymmetry = std::abs(double(m[r + c * d]) - double(m[c + r * d]));
        if (asymmetry > tau * largest) {
          throw UsageError(option + ": " + path + ": batch item " + std::to_string(i) +
                           " is not symmetric (|C[" + std::to_string(r) + "," + std::to_string(c) +
                           "] - C[" + std::to_string(c) + "," + std::to_string(r) +
                           "]| = " + std::to_string(asymmetry) + ")");
        }
      }
    }
  }
  return file;
}

Report::Report(std::string command, const CommonOptions& options, const Context& ctx)
    : command_(std::move(command)), options_(options), backend_(to_string(ctx.backend())) {}

void Report::stop_clock() {
  time_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
                 .count();
}

namespace {
nlohmann::ordered_json nested(const std::vector<std::int64_t>& shape, std::size_t axis,
                              const double*& cursor) {
  if (axis == shape.size()) return *cursor++;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (std::int64_t i = 0; i < shape[axis]; ++i) list.push_back(nested(shape, axis + 1, cursor));
  return list;
}

}  // namespace

void Report::add_array(const std::string& name, const std::vector<std::int64_t>& shape,
                       const std::vector<double>& c_order_data) {
  const double* cursor = c_order_data.data();
  fields_[name] = nested(shape, 0, cursor);
  if (!options_.save_prefix.empty()) arrays_.push_back({name, shape, c_order_data});
}

void Report::emit() const {
  nlohmann::ordered_json document = nlohmann::ordered_json::object();
  document["command"] = command_;
  document["backend"] = backend_;
  document["precision"] = options_.precision;
  document["time_ms"] = time_ms_;
  for (const auto& [key, value] : fields_.items()) document[key] = value;
  const std::string text = document.dump(2) + "\n";

  std::vector<std::string> written;
  try {
    for (const SavedArray& a : arrays_) {
      const std::string path = options_.save_prefix + a.name + ".npy";
      try {
        if (options_.precision == "f32") {
          const std::vector<float> narrowed(a.data.begin(), a.data.end());
          write_npy<float>(path, narrowed.data(), a.shape);
        } else {
          write_npy<double>(path, a.data.data(), a.shape);
        }
      } catch (const InvalidArgument& e) {
        throw UsageError("--save-prefix: " + e.message());
      }
      written.push_back(path);
    }
    if (options_.out.empty()) {
      std::cout << text << std::flush;
    } else {
      try {
        write_file_atomically(options_.out, [&](std::ostream& out) { out << text; });
      } catch (const InvalidArgument& e) {
        throw UsageError("--out: " + e.message());
      }
    }
  } catch (...) {
    for (const std::string& path : written) std::remove(path.c_str());
    throw;
  }
}

template <typename T>
Buffer<T>::Buffer(Context& ctx, std::vector<T> host) : ctx_(ctx), host_(std::move(host)) {
  if (ctx.backend() == Backend::cuda) {
    const std::int64_t n = static_cast<std::int64_t>(host_.size());
    device_ = Array<T>(ctx, n);
    copy<T>(ctx, gaussot::vectors(host_.data(), n, 1), device_.vectors(n, 1));
    host_ = {};
  }
}

template <typename T>
Buffer<T>::Buffer(Context& ctx, std::int64_t size) : ctx_(ctx) {
  if (ctx.backend() == Backend::cuda) {
    device_ = Array<T>(ctx, size);
  } else {
    host_.resize(static_cast<std::size_t>(size));
  }
}

template <typename T>
MatrixBatch<T> Buffer<T>::matrices(std::int64_t rows, std::int64_t cols, std::int64_t count) {
  if (ctx_.backend() == Backend::cuda) return device_.matrices(rows, cols, count);
  return gaussot::matrices(host_.data(), rows, cols, count);
}

template <typename T>
VectorBatch<T> Buffer<T>::vectors(std::int64_t length, std::int64_t count) {
  if (ctx_.backend() == Backend::cuda) return device_.vectors(length, count);
  return gaussot::vectors(host_.data(), length, count);
}

template <typename T>
std::vector<T> Buffer<T>::take_host() {
  if (ctx_.backend() == Backend::cuda) {
    const std::int64_t n = device_.size();
    host_.resize(static_cast<std::size_t>(n));
    copy<T>(ctx_, device_.vectors(n, 1), gaussot::vectors(host_.data(), n, 1));
    device_ = Array<T>();
  }
  return std::move(host_);
}

template <typename T>
std::vector<double> to_c_order(const std::vector<T>& column_major, std::int64_t rows,
                               std::int64_t cols, std::int64_t count) {
  std::vector<double> c(column_major.size());
  for (std::int64_t i = 0; i < count; ++i) {
    const T* item = column_major.data() + i * rows * cols;
    double* out = c.data() + i * rows * cols;
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t col = 0; col < cols; ++col) out[r * cols + col] = item[r + col * rows];
    }
  }
  return c;
}

#define GAUSSOT_INSTANTIATE(T)                                                                \
  template MatrixFile<T> read_covariances<T>(const std::string&, const std::string&);         \
  template class Buffer<T>;                                                                   \
  template std::vector<double> to_c_order<T>(const std::vector<T>&, std::int64_t, std::int64_t, \
                                             std::int64_t);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot::cli
