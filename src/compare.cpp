// SPDX-License-Identifier: Apache-2.0
#include "gaussot/compare.hpp"

#include "gaussot/error.hpp"

namespace gaussot {
template <typename T>
Comparison compare_representations(Context&, const std::vector<ActivationSet<T>>&,
                                   const CompareOptions&) {
  throw Error("compare_representations: being written", __FILE__, __LINE__);
}
template Comparison compare_representations<float>(Context&,
                                                   const std::vector<ActivationSet<float>>&,
                                                   const CompareOptions&);
template Comparison compare_representations<double>(Context&,
                                                    const std::vector<ActivationSet<double>>&,
                                                    const CompareOptions&);
}  // namespace gaussot
