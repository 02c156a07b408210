// SPDX-License-Identifier: Apache-2.0
/// @file stateful.hpp
/// The engines of the module's stateful Python classes (gaussot.ComparisonAccumulator,
/// gaussot.FrechetDistance): one C++ object of one dtype, Object<float> or Object<double>, on a
/// context of its own that outlives it.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "arrays.hpp"

namespace gaussot::python {

template <template <typename> class Object>
class Stateful {
 public:
  /// Object<float or double>(ctx, args...) on the context of `backend` (object_context).
  template <typename... Args>
  Stateful(const std::string& backend, bool float32, Args&&... args)
      : ctx_(std::make_unique<Context>(object_context(backend))) {
    if (float32) {
      object_ = std::make_unique<Object<float>>(*ctx_, std::forward<Args>(args)...);
    } else {
      object_ = std::make_unique<Object<double>>(*ctx_, std::forward<Args>(args)...);
    }
  }

  Context& ctx() const { return *ctx_; }

  /// f(object) with the object of its dtype (T = typename decltype(object)::value_type).
  template <typename F>
  void visit(F&& f) const {
    std::visit([&](const auto& pointer) { f(*pointer); }, object_);
  }

  /// The object of another engine with this one's dtype and on the same backend and device, for
  /// merging; InvalidArgument naming 'other' otherwise.
  template <typename T>
  Object<T>& same_kind(const Stateful& other) const {
    const auto* theirs = std::get_if<std::unique_ptr<Object<T>>>(&other.object_);
    if (theirs == nullptr) {
      invalid_argument("other: holds another dtype (float32 and float64 states do not merge)",
                       "other");
    }
    if (ctx_->memory_space() != other.ctx_->memory_space() ||
        ctx_->device() != other.ctx_->device()) {
      invalid_argument("other: lives on another backend or device", "other");
    }
    return **theirs;
  }

 private:
  std::unique_ptr<Context> ctx_;
  std::variant<std::unique_ptr<Object<float>>, std::unique_ptr<Object<double>>> object_;
};

/// The element type of an object visited by Stateful::visit.
template <typename O>
using value_type_of = typename std::remove_reference_t<O>::value_type;

/// Pointers to the arguments, for Call.
inline std::vector<Arg*> pointers(std::vector<Arg>& args) {
  std::vector<Arg*> out;
  for (Arg& a : args) out.push_back(&a);
  return out;
}

}  // namespace gaussot::python
