// SPDX-License-Identifier: Apache-2.0
// Private: the counter-based generator Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel
// random numbers: as easy as 1, 2, 3", SC 2011), written once for the host and CUDA kernels so
// that both backends draw the same numbers: element `index` of draw `draw` under `seed` is a pure
// function of the three. Checked against the Random123 known-answer vectors in the tests.
#pragma once

#include <cmath>
#include <cstdint>

#include "gaussot/views.hpp"  // GAUSSOT_HOST_DEVICE

namespace gaussot::philox {

struct Words {
  std::uint32_t w[4];
};

/// The high and low 32 bits of a · b.
GAUSSOT_HOST_DEVICE inline void multiply_high_low(std::uint32_t a, std::uint32_t b,
                                                  std::uint32_t& high, std::uint32_t& low) {
  const std::uint64_t product = std::uint64_t(a) * std::uint64_t(b);
  high = static_cast<std::uint32_t>(product >> 32);
  low = static_cast<std::uint32_t>(product);
}

/// Philox4x32 with 10 rounds of counter `counter` under key (key0, key1).
GAUSSOT_HOST_DEVICE inline Words philox4x32_10(Words counter, std::uint32_t key0,
                                               std::uint32_t key1) {
  constexpr std::uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  Words c = counter;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    std::uint32_t high0, low0, high1, low1;
    multiply_high_low(kMultiplier0, c.w[0], high0, low0);
    multiply_high_low(kMultiplier1, c.w[2], high1, low1);
    c = Words{{high1 ^ c.w[1] ^ key0, low1, high0 ^ c.w[3] ^ key1, low0}};
  }
  return c;
}

/// The four words of element `index` of draw `draw` under `seed`.
GAUSSOT_HOST_DEVICE inline Words words(std::uint64_t seed, std::uint64_t draw,
                                       std::uint64_t index) {
  const Words counter{{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
                       static_cast<std::uint32_t>(draw), static_cast<std::uint32_t>(draw >> 32)}};
  return philox4x32_10(counter, static_cast<std::uint32_t>(seed),
                       static_cast<std::uint32_t>(seed >> 32));
}

/// A uniform number in the open interval (0, 1) from 53 bits of two words.
GAUSSOT_HOST_DEVICE inline double open_uniform(std::uint32_t high, std::uint32_t low) {
  const std::uint64_t bits = ((std::uint64_t(high) << 32) | low) >> 11;
  return (double(bits) + 0.5) * 0x1.0p-53;
}

/// Uniform in (0, 1): element `index` of draw `draw` under `seed`.
GAUSSOT_HOST_DEVICE inline double uniform(std::uint64_t seed, std::uint64_t draw,
                                          std::uint64_t index) {
  const Words r = words(seed, draw, index);
  return open_uniform(r.w[0], r.w[1]);
}

/// Standard normal (Box–Muller on the two uniforms of one counter): element `index` of draw
/// `draw` under `seed`.
GAUSSOT_HOST_DEVICE inline double normal(std::uint64_t seed, std::uint64_t draw,
                                         std::uint64_t index) {
  const Words r = words(seed, draw, index);
  const double radius = std::sqrt(-2.0 * std::log(open_uniform(r.w[0], r.w[1])));
  return radius * std::cos(6.283185307179586476925 * open_uniform(r.w[2], r.w[3]));
}

/// A uniform index in [0, n) (n >= 1): element `index` of draw `draw` under `seed`.
GAUSSOT_HOST_DEVICE inline std::int64_t below(std::uint64_t seed, std::uint64_t draw,
                                              std::uint64_t index, std::int64_t n) {
  const std::int64_t j = static_cast<std::int64_t>(uniform(seed, draw, index) * double(n));
  return j < n ? j : n - 1;
}

}  // namespace gaussot::philox
