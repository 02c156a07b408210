// SPDX-License-Identifier: Apache-2.0
/// @file gaussot.hpp
/// Umbrella header: everything in gaussot's public C++ API. Link the CMake target gaussot::gaussot.
#pragma once

#include "gaussot/array.hpp"
#include "gaussot/blas.hpp"
#include "gaussot/bures.hpp"
#include "gaussot/cholesky.hpp"
#include "gaussot/cka.hpp"
#include "gaussot/cluster.hpp"
#include "gaussot/compare.hpp"
#include "gaussot/config.hpp"
#include "gaussot/context.hpp"
#include "gaussot/eigh.hpp"
#include "gaussot/entropic.hpp"
#include "gaussot/error.hpp"
#include "gaussot/fid.hpp"
#include "gaussot/gaussian.hpp"
#include "gaussot/igw.hpp"
#include "gaussot/mlp.hpp"
#include "gaussot/mmot.hpp"
#include "gaussot/ngw.hpp"
#include "gaussot/npy.hpp"
#include "gaussot/retraction.hpp"
#include "gaussot/sinkhorn.hpp"
#include "gaussot/spectral.hpp"
#include "gaussot/statistics.hpp"
#include "gaussot/views.hpp"

namespace gaussot {
/// The library's version, "MAJOR.MINOR.PATCH".
const char* version() noexcept;
}  // namespace gaussot
