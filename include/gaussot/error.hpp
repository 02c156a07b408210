// SPDX-License-Identifier: Apache-2.0
/// @file error.hpp
/// The exceptions gaussot throws. Every failure is an exception derived from gaussot::Error;
/// nothing is reported through return codes. The header needs no CUDA include: library status codes
/// are carried as plain integers.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace gaussot {

/// Base class of every gaussot exception. what() is one line: the message, then " [file:line]"
/// naming the place in gaussot that raised it.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file, int line);
  /// The message without the source location.
  const std::string& message() const noexcept { return message_; }

 private:
  std::string message_;
};

/// An argument is malformed: wrong shape, stride or memory space, non-finite values, a matrix that
/// is not positive (semi)definite where that is required, an unreadable or malformed file.
/// The message names the argument and, for batches, the first failing batch item; argument() and
/// batch_index() give them to programs (empty and -1 where not known).
class InvalidArgument : public Error {
 public:
  InvalidArgument(const std::string& message, const char* file, int line, std::string argument = {},
                  std::int64_t batch_index = -1);
  /// The argument at fault as the function names it, e.g. "a.covariances"; empty if unknown.
  const std::string& argument() const noexcept { return argument_; }
  /// The first failing batch item, or -1.
  std::int64_t batch_index() const noexcept { return batch_index_; }

 private:
  std::string argument_;
  std::int64_t batch_index_;
};

/// The requested backend or feature was not compiled into this build (for example the CUDA backend
/// of a build made without CUDA).
class NotCompiled : public Error {
 public:
  using Error::Error;
};

/// A CUDA runtime, cuBLAS or cuSOLVER call failed. library() is "cuda", "cublas" or "cusolver";
/// status() is that library's status code.
class CudaError : public Error {
 public:
  CudaError(const std::string& library, std::int64_t status, const std::string& message,
            const char* file, int line);
  const std::string& library() const noexcept { return library_; }
  std::int64_t status() const noexcept { return status_; }

 private:
  std::string library_;
  std::int64_t status_;
};

/// An allocation (host or device) failed. The context that raised it stays usable.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

/// A numerical method did not converge or broke down on one batch item. batch_index() names the
/// first failing item (-1 when the failure is not tied to an item); info() carries the solver's
/// own code (for example the cuSOLVER/LAPACK info value) or 0.
class ConvergenceError : public Error {
 public:
  ConvergenceError(const std::string& message, std::int64_t batch_index, std::int64_t info,
                   const char* file, int line);
  std::int64_t batch_index() const noexcept { return batch_index_; }
  std::int64_t info() const noexcept { return info_; }

 private:
  std::int64_t batch_index_;
  std::int64_t info_;
};

}  // namespace gaussot

/// Throws `exception_type(message)` with the current source location when `condition` is false.
/// `message` may be any expression convertible to std::string.
#define GAUSSOT_EXPECTS(condition, exception_type, message)           \
  do {                                                                \
    if (!(condition)) {                                               \
      throw exception_type(std::string(message), __FILE__, __LINE__); \
    }                                                                 \
  } while (0)

/// Throws `exception_type(message)` with the current source location.
#define GAUSSOT_THROW(exception_type, message) \
  throw exception_type(std::string(message), __FILE__, __LINE__)
