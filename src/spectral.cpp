// SPDX-License-Identifier: Apache-2.0
#include "gaussot/spectral.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <sstream>
#include <type_traits>
#include <vector>

#include "backend.hpp"
#include "compose.hpp"
#include "spectral_internal.hpp"
#include "spectral_rule.hpp"
#include "validate.hpp"

namespace gaussot {

const char* SpectralFunction::name() const {
  switch (kind) {
    case Kind::sqrt:
      return "sqrt";
    case Kind::inv_sqrt:
      return "inv_sqrt";
    case Kind::log:
      return "log";
    case Kind::power:
      return "power";
    case Kind::entropic:
      return "entropic";
    case Kind::shrink:
      return "shrink";
  }
  return "?";
}

template <typename T>
double input_tolerance() {
  return std::is_same_v<T, double> ? 1e-10 : 1e-10 * std::sqrt(double(FLT_EPSILON) / DBL_EPSILON);
}

template <typename T>
double default_psd_tolerance(std::int64_t d) {
  // Never tighter than the eigensolver's own rounding, about d·eps relative to max|w|.
  return std::max(input_tolerance<T>(),
                  2.0 * double(d) * double(std::numeric_limits<T>::epsilon()));
}

namespace {

template <typename T>
[[noreturn]] void fail_rule(const ArgumentChecker& check, const char* argument,
                            const SpectralFailure& failure, const ClampRule& rule,
                            const char* seen_as) {
  std::ostringstream what;
  what.precision(6);
  what << "batch item " << failure.item << " is not positive "
       << (failure.not_psd ? "semidefinite" : "definite") << ": eigenvalue " << failure.eigenvalue;
  if (seen_as != nullptr) what << " of " << seen_as;
  what << " against scale " << failure.scale << " (tolerance " << rule.tolerance
       << (failure.not_psd ? ")" : "; the function is singular at 0)");
  check.fail(argument, what.str(), failure.item);
}

template <typename T>
struct NamedOutput {
  const char* name;
  SpectralRequest<T> request;
};

template <typename T>
void apply_spectral(Context& ctx, const char* function, MatrixBatch<const T> a,
                    const std::vector<NamedOutput<T>>& outputs, const SpectralOptions& options) {
  const ArgumentChecker check(function, &ctx);
  check.input("a", a);
  check.square("a", a);
  check.algorithm(ctx, options.algorithm, a.rows);
  std::vector<SpectralRequest<T>> requests;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const NamedOutput<T>& o = outputs[i];
    check.output(o.name, o.request.out);
    check.matrix_shape(o.name, o.request.out, a.rows, a.rows);
    check.count(o.name, o.request.out.count, a.count);
    check.same_view_or_no_alias("a", a, o.name, o.request.out);
    for (std::size_t j = 0; j < i; ++j) {
      check.no_alias(outputs[j].name, outputs[j].request.out, o.name, o.request.out);
    }
    const SpectralFunction f = o.request.function;
    check.expect(std::isfinite(f.parameter), "p",
                 "must be finite, got " + format_number(f.parameter));
    check.expect(f.parameter > 0 || (f.kind != SpectralFunction::Kind::entropic &&
                                     f.kind != SpectralFunction::Kind::shrink),
                 o.name,
                 std::string("the parameter of ") + f.name() + " must be > 0, got " +
                     format_number(f.parameter));
    requests.push_back(o.request);
  }
  clamp_rule<T>(check, a.rows, options);
  if (a.empty() || a.rows == 0) return;
  check.finite(ctx, "a", a, /*lower_only=*/true);
  run_spectral<T>(ctx, check, "a", a, requests, options);
  // w^p with p > 1 (large w) or p < 0 (small w) can leave the range of T: refuse rather than
  // return infinities (and the NaNs that V diag(inf) Vᵀ makes). The other functions cannot
  // overflow: √w, 1/√w and log w of a finite w above the clamping threshold are finite.
  for (const NamedOutput<T>& o : outputs) {
    const SpectralFunction f = o.request.function;
    if (f.kind != SpectralFunction::Kind::power || (f.parameter >= 0 && f.parameter <= 1)) continue;
    check.result_in_range(ctx, "a", MatrixBatch<const T>(o.request.out),
                          "a^" + format_number(f.parameter) + " (an eigenvalue to the power p)",
                          "a");
  }
}

}  // namespace

template <typename T>
ClampRule clamp_rule(const ArgumentChecker& check, std::int64_t d, const SpectralOptions& options) {
  const double tolerance = options.psd_tolerance.value_or(default_psd_tolerance<T>(d));
  check.expect(std::isfinite(tolerance) && tolerance >= 0, "options.psd_tolerance",
               "must be finite and >= 0, got " + format_number(tolerance));
  check.expect(std::isfinite(options.scale_floor) && options.scale_floor >= 0,
               "options.scale_floor",
               "must be finite and >= 0, got " + format_number(options.scale_floor));
  return {tolerance, options.scale_floor};
}

template <typename T>
void run_spectral(Context& ctx, const ArgumentChecker& check, const char* argument,
                  MatrixBatch<const T> a, const std::vector<SpectralRequest<T>>& requests,
                  const SpectralOptions& options, const char* seen_as) {
  const ClampRule rule = clamp_rule<T>(check, a.rows, options);
  if (a.empty() || a.rows == 0) return;
  const SpectralFailure failure =
      GAUSSOT_DISPATCH(ctx, spectral<T>, a, requests, rule, options.algorithm);
  if (failure.item >= 0) fail_rule<T>(check, argument, failure, rule, seen_as);
}

template <typename T>
void run_spectral_trace(Context& ctx, const ArgumentChecker& check, const char* argument,
                        MatrixBatch<const T> a, SpectralFunction f, VectorBatch<T> out,
                        const SpectralOptions& options, const char* seen_as) {
  const ClampRule rule = clamp_rule<T>(check, a.rows, options);
  if (a.empty()) return;
  if (a.rows == 0) {  // tr f(A) of a 0 x 0 matrix is 0 (it was left unwritten, read as garbage)
    combine<T>(ctx, {}, out.as_matrices());
    return;
  }
  const SpectralFailure failure =
      GAUSSOT_DISPATCH(ctx, spectral_trace<T>, a, f, rule, out, options.algorithm);
  if (failure.item >= 0) fail_rule<T>(check, argument, failure, rule, seen_as);
}

template <typename T>
std::vector<double> checked_spectra(Context& ctx, const ArgumentChecker& check,
                                    const char* argument, MatrixBatch<const T> a,
                                    MatrixBatch<T> eigenvectors, const SpectralOptions& options,
                                    bool positive_definite) {
  const ClampRule rule = clamp_rule<T>(check, a.rows, options);
  const std::int64_t d = a.rows, count = a.count;
  if (count == 0 || d == 0) return {};
  Scratch<T> values(ctx, d, 1, count);
  GAUSSOT_DISPATCH(ctx, eigh<T>, a, values.vectors(), eigenvectors, options.algorithm);
  std::vector<T> host(static_cast<std::size_t>(d * count));
  copy<T>(ctx, values.cview(), matrices<T>(host.data(), d, 1, count));
  std::vector<double> spectra(host.begin(), host.end());
  for (std::int64_t i = 0; i < count; ++i) {
    double* w = spectra.data() + i * d;
    const double scale = std::max({std::fabs(w[0]), std::fabs(w[d - 1]), rule.scale_floor});
    const auto verdict = spectral_rule::check(w[d - 1], scale, rule.tolerance, positive_definite);
    if (verdict != spectral_rule::ok) {
      fail_rule<T>(check, argument, {i, verdict == spectral_rule::not_psd, w[d - 1], scale}, rule,
                   nullptr);
    }
    const double noise =
        double(spectral_rule::noise_level<T>(d, T(std::max(std::fabs(w[0]), std::fabs(w[d - 1])))));
    for (std::int64_t j = 0; j < d; ++j) w[j] = w[j] > noise ? w[j] : 0.0;
  }
  return spectra;
}

template <typename T>
void matrix_function(Context& ctx, MatrixBatch<const T> a, SpectralFunction f, MatrixBatch<T> out,
                     const SpectralOptions& options) {
  apply_spectral<T>(ctx, "matrix_function", a, {{"out", {f, out}}}, options);
}

template <typename T>
void sqrtm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> out,
           const SpectralOptions& options) {
  apply_spectral<T>(ctx, "sqrtm", a, {{"out", {SpectralFunction::sqrt(), out}}}, options);
}

template <typename T>
void inv_sqrtm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> out,
               const SpectralOptions& options) {
  apply_spectral<T>(ctx, "inv_sqrtm", a, {{"out", {SpectralFunction::inv_sqrt(), out}}}, options);
}

template <typename T>
void sqrtm_and_inv_sqrtm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> sqrt_out,
                         MatrixBatch<T> inv_sqrt_out, const SpectralOptions& options) {
  apply_spectral<T>(ctx, "sqrtm_and_inv_sqrtm", a,
                    {{"sqrt_out", {SpectralFunction::sqrt(), sqrt_out}},
                     {"inv_sqrt_out", {SpectralFunction::inv_sqrt(), inv_sqrt_out}}},
                    options);
}

template <typename T>
void powm(Context& ctx, MatrixBatch<const T> a, double p, MatrixBatch<T> out,
          const SpectralOptions& options) {
  apply_spectral<T>(ctx, "powm", a, {{"out", {SpectralFunction::power(p), out}}}, options);
}

template <typename T>
void logm(Context& ctx, MatrixBatch<const T> a, MatrixBatch<T> out,
          const SpectralOptions& options) {
  apply_spectral<T>(ctx, "logm", a, {{"out", {SpectralFunction::log(), out}}}, options);
}

#define GAUSSOT_INSTANTIATE(T)                                                                    \
  template double input_tolerance<T>();                                                           \
  template double default_psd_tolerance<T>(std::int64_t);                                         \
  template ClampRule clamp_rule<T>(const ArgumentChecker&, std::int64_t, const SpectralOptions&); \
  template void run_spectral<T>(Context&, const ArgumentChecker&, const char*,                    \
                                MatrixBatch<const T>, const std::vector<SpectralRequest<T>>&,     \
                                const SpectralOptions&, const char*);                             \
  template void run_spectral_trace<T>(Context&, const ArgumentChecker&, const char*,              \
                                      MatrixBatch<const T>, SpectralFunction, VectorBatch<T>,     \
                                      const SpectralOptions&, const char*);                       \
  template std::vector<double> checked_spectra<T>(Context&, const ArgumentChecker&, const char*,  \
                                                  MatrixBatch<const T>, MatrixBatch<T>,           \
                                                  const SpectralOptions&, bool);                  \
  template void matrix_function<T>(Context&, MatrixBatch<const T>, SpectralFunction,              \
                                   MatrixBatch<T>, const SpectralOptions&);                       \
  template void sqrtm<T>(Context&, MatrixBatch<const T>, MatrixBatch<T>, const SpectralOptions&); \
  template void inv_sqrtm<T>(Context&, MatrixBatch<const T>, MatrixBatch<T>,                      \
                             const SpectralOptions&);                                             \
  template void sqrtm_and_inv_sqrtm<T>(Context&, MatrixBatch<const T>, MatrixBatch<T>,            \
                                       MatrixBatch<T>, const SpectralOptions&);                   \
  template void powm<T>(Context&, MatrixBatch<const T>, double, MatrixBatch<T>,                   \
                        const SpectralOptions&);                                                  \
  template void logm<T>(Context&, MatrixBatch<const T>, MatrixBatch<T>, const SpectralOptions&);
GAUSSOT_INSTANTIATE(float)
GAUSSOT_INSTANTIATE(double)
#undef GAUSSOT_INSTANTIATE

}  // namespace gaussot
