// SPDX-License-Identifier: Apache-2.0
/// @file docs.hpp
/// Docstring text shared by the bindings.
#pragma once

/// Appended to every array function's docstring: the conventions of arrays.hpp.
#define GAUSSOT_DOC_COMMON                                                                   \
  "\n\nArrays are NumPy arrays or DLPack tensors (torch, cupy, jax), float32 or float64,\n"  \
  "one dtype per call (results follow it). backend: 'auto' runs host arrays on the CPU\n"    \
  "and device arrays on their CUDA device (results stay there, as tensors of the input's\n"  \
  "framework); 'cpu'; 'cuda' or 'cuda:N' copies host arrays to the device and the results\n" \
  "back. Bad input raises gaussot.InvalidArgument (a ValueError) with the C++ library's\n"   \
  "message."
