// SPDX-License-Identifier: Apache-2.0
#include "gaussot/eigh.hpp"

#include "backend.hpp"
#include "validate.hpp"

namespace gaussot {
namespace {
template <typename T>
void check_eigenvalue_arguments(const ArgumentChecker& check, MatrixBatch<const T> a,
                                VectorBatch<T> eigenvalues) {
  check.input("a", a);
  check.square("a", a);
  check.output("eigenvalues", eigenvalues);
  check.vector_size("eigenvalues", eigenvalues, a.rows);
  check.count("eigenvalues", eigenvalues.count, a.count);
  check.no_alias("a", a, "eigenvalues", eigenvalues.as_matrices());
}
}  // namespace

template <typename T>
void eigh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> eigenvalues,
          MatrixBatch<T> eigenvectors, const EighOptions& options) {
  const ArgumentChecker check("eigh", &ctx);
  check_eigenvalue_arguments<T>(check, a, eigenvalues);
  check.algorithm(ctx, options.algorithm, a.rows);
  check.output("eigenvectors", eigenvectors);
  check.matrix_shape("eigenvectors", eigenvectors, a.rows, a.rows);
  check.count("eigenvectors", eigenvectors.count, a.count);
  check.no_alias("a", a, "eigenvectors", eigenvectors);
  check.no_alias("eigenvalues", eigenvalues.as_matrices(), "eigenvectors", eigenvectors);
  if (a.empty() || a.rows == 0) return;
  check.finite(ctx, "a", a, /*lower_only=*/true);
  GAUSSOT_DISPATCH(ctx, eigh<T>, a, eigenvalues, eigenvectors, options.algorithm);
}

template <typename T>
void eigvalsh(Context& ctx, MatrixBatch<const T> a, VectorBatch<T> eigenvalues,
              const EighOptions& options) {
  const ArgumentChecker check("eigvalsh", &ctx);
  check_eigenvalue_arguments<T>(check, a, eigenvalues);
  check.algorithm(ctx, options.algorithm, a.rows);
  if (a.empty() || a.rows == 0) return;
  check.finite(ctx, "a", a, /*lower_only=*/true);
  const MatrixBatch<T> no_vectors(nullptr, a.rows, a.rows, a.rows, 0, 0, ctx.memory_space());
  GAUSSOT_DISPATCH(ctx, eigh<T>, a, eigenvalues, no_vectors, options.algorithm);
}

#define GAUSSOT_INSTANTIATE(T)                                                          \
  template void eigh<T>(Context&, MatrixBatch<const T>, VectorBatch<T>, MatrixBatch<T>, \
                        const EighOptions&);                                            \
  template void eigvalsh<T>(Context&, MatrixBatch<const T>, VectorBatch<T>, const EighOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
