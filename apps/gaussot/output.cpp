// SPDX-License-Identifier: Apache-2.0
#include "output.hpp"

#include <cstdio>
#include <iostream>

#include "usage_error.hpp"

namespace gaussot::cli {

std::vector<std::int64_t> result_shape(bool batched, std::int64_t count,
                                       std::vector<std::int64_t> item_shape) {
  if (batched) item_shape.insert(item_shape.begin(), count);
  return item_shape;
}

Report::Report(std::string command, const CommonOptions& options, const Context& ctx)
    : command_(std::move(command)), options_(options), backend_(to_string(ctx.backend())) {}

void Report::stop_clock() {
  time_ms_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
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

nlohmann::ordered_json nested_lists(const std::vector<std::int64_t>& shape,
                                    const std::vector<double>& c_order_data) {
  const double* cursor = c_order_data.data();
  return nested(shape, 0, cursor);
}

void Report::add_array(const std::string& name, const std::vector<std::int64_t>& shape,
                       const std::vector<double>& c_order_data) {
  fields_[name] = nested_lists(shape, c_order_data);
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
      blaming("--save-prefix", [&] {
        if (options_.precision == "f32") {
          const std::vector<float> narrowed(a.data.begin(), a.data.end());
          write_npy<float>(path, narrowed.data(), a.shape);
        } else {
          write_npy<double>(path, a.data.data(), a.shape);
        }
      });
      written.push_back(path);
    }
    if (options_.out.empty()) {
      std::cout << text << std::flush;
    } else {
      blaming("--out", [&] {
        write_file_atomically(options_.out, [&](std::ostream& out) { out << text; });
      });
    }
  } catch (...) {
    for (const std::string& path : written) std::remove(path.c_str());
    throw;
  }
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

#define GAUSSOT_INSTANTIATE(T)                                                                  \
  template std::vector<double> to_c_order<T>(const std::vector<T>&, std::int64_t, std::int64_t, \
                                             std::int64_t);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot::cli
