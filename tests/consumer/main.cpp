// SPDX-License-Identifier: Apache-2.0
// Built against an installed gaussot: the square root of diag(4, 9) is diag(2, 3).
#include <cmath>
#include <cstdio>
#include <gaussot/gaussot.hpp>

int main() {
  gaussot::Context ctx = gaussot::Context::cpu();
  double a[4] = {4, 0, 0, 9};
  double s[4] = {};
  gaussot::sqrtm<double>(ctx, gaussot::square_matrices(a, 2, 1), gaussot::square_matrices(s, 2, 1));
  const bool ok =
      std::abs(s[0] - 2) < 1e-14 && std::abs(s[3] - 3) < 1e-14 && s[1] == 0 && s[2] == 0;
  std::printf("gaussot %s consumer: sqrtm(diag(4, 9)) = diag(%g, %g): %s\n", gaussot::version(),
              s[0], s[3], ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
