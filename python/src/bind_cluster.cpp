// SPDX-License-Identifier: Apache-2.0
// Bindings of cluster.hpp: k-means of Gaussians with the IGW or the Bures–Wasserstein geometry,
// classical MDS, and the scores of two labelings (ARI, NMI).
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "docs.hpp"

namespace gaussot::python {
namespace {

using namespace nb::literals;

/// Library argument names and the Python arguments they stand for, most specific first.
using Renames = std::vector<std::pair<std::string, std::string>>;

/// The library's k-means options under their Python names.
const Renames kOptionNames = {{"options.clusters", "k"},
                              {"options.n_init", "n_init"},
                              {"options.max_iterations", "max_iterations"}};

Renames with_options(Renames names) {
  names.insert(names.end(), kOptionNames.begin(), kOptionNames.end());
  return names;
}

/// Runs f(). An InvalidArgument about a library argument of `names` (that name, or one under it:
/// 'gaussians.covariances' under 'gaussians') is raised again naming the Python argument: the
/// message's "argument '<library name>'" becomes "argument '<Python name>'"; the batch item is
/// kept. Other exceptions pass unchanged.
template <typename F>
auto python_names(const Renames& names, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const InvalidArgument& e) {
    const std::string& argument = e.argument();
    for (const auto& [library, python] : names) {
      if (argument != library && argument.rfind(library + ".", 0) != 0) continue;
      std::string message = e.message();
      const std::string quoted = "argument '" + argument + "'";
      const std::size_t at = message.find(quoted);
      if (at != std::string::npos) {
        message.replace(at, quoted.size(), "argument '" + python + "'");
      } else {
        message = python + ": " + message;
      }
      throw InvalidArgument(message, __FILE__, __LINE__, python, e.batch_index());
    }
    throw;
  }
}

std::string python_repr(nb::handle object) { return nb::cast<std::string>(nb::repr(object)); }

/// The values of a 1-D NumPy array converted to `dtype` (a NumPy dtype name of U).
template <typename U>
std::vector<U> contiguous(const nb::module_& numpy, nb::handle array, const char* dtype) {
  const auto values =
      nb::cast<nb::ndarray<nb::ro>>(numpy.attr("ascontiguousarray")(array, "dtype"_a = dtype));
  const U* data = static_cast<const U*>(values.data());
  return std::vector<U>(data, data + values.size());
}

/// Labels (a 1-D sequence or host array of integers, or of floats with integer values) as int64;
/// InvalidArgument naming `name` for anything else.
std::vector<std::int64_t> integer_labels(nb::handle object, const std::string& name) {
  const nb::module_ numpy = nb::module_::import_("numpy");
  nb::object array;
  try {
    array = numpy.attr("asarray")(object);
  } catch (nb::python_error& e) {
    invalid_argument(name + ": expected a sequence of integer labels (host memory), got " +
                         nb::cast<std::string>(nb::handle(object.type()).attr("__name__")) + " (" +
                         e.what() + ")",
                     name);
  }
  const std::string shape = nb::cast<std::string>(nb::repr(array.attr("shape")));
  if (nb::cast<int>(array.attr("ndim")) != 1) {
    invalid_argument(name + ": expected integer labels of shape (n,), got shape " + shape, name);
  }
  const nb::object dtype = array.attr("dtype");
  const std::string kind = nb::cast<std::string>(dtype.attr("kind"));
  const std::string dtype_text = nb::cast<std::string>(nb::str(dtype));
  auto refuse = [&](std::size_t index, const std::string& value) {
    invalid_argument(
        name + ": expected integer labels, got " + value + " at index " + std::to_string(index),
        name, std::int64_t(index));
  };
  std::vector<std::int64_t> labels;
  if (kind == "i" || (kind == "u" && nb::cast<int>(dtype.attr("itemsize")) < 8)) {
    const std::vector<std::int64_t> values = contiguous<std::int64_t>(numpy, array, "int64");
    labels.assign(values.begin(), values.end());
  } else if (kind == "u") {
    const std::vector<std::uint64_t> values = contiguous<std::uint64_t>(numpy, array, "uint64");
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::uint64_t v = values[i];
      if (v > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
        refuse(i, std::to_string(v) + " (beyond int64)");
      }
      labels.push_back(std::int64_t(v));
    }
  } else if (kind == "f") {
    const std::vector<double> values = contiguous<double>(numpy, array, "float64");
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double v = values[i];
      if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > 0x1p53) {
        refuse(i, python_repr(nb::float_(v)));
      }
      labels.push_back(std::int64_t(v));
    }
  } else {
    invalid_argument(name + ": expected integer labels, got " + dtype_text + " values", name);
  }
  return labels;
}

// ---- inputs of cluster -------------------------------------------------------------------------

enum class Metric { igw, bw };
enum class InputsAre { covariances, samples, spectra };

Metric parse_metric(const std::string& metric) {
  if (metric == "igw") return Metric::igw;
  if (metric == "bw") return Metric::bw;
  invalid_argument("metric: expected 'igw' or 'bw', got '" + metric + "'", "metric");
}

InputsAre parse_inputs_are(const std::string& inputs_are, Metric metric) {
  InputsAre kind = InputsAre::covariances;
  if (inputs_are == "samples") {
    kind = InputsAre::samples;
  } else if (inputs_are == "spectra") {
    kind = InputsAre::spectra;
  } else if (inputs_are != "covariances") {
    invalid_argument(
        "inputs_are: expected 'covariances', 'samples' or 'spectra', got '" + inputs_are + "'",
        "inputs_are");
  }
  if (kind == InputsAre::spectra && metric == Metric::bw) {
    invalid_argument(
        "inputs_are: 'spectra' needs metric='igw' (W2 distances need the covariances, not only "
        "their eigenvalues)",
        "inputs_are");
  }
  return kind;
}

/// The array arguments of `inputs`: one per element of a list or tuple, or one for an array.
std::vector<Arg> input_args(nb::handle inputs, InputsAre kind) {
  const bool list = nb::isinstance<nb::list>(inputs) || nb::isinstance<nb::tuple>(inputs);
  std::vector<Arg> args;
  auto add = [&](nb::handle x, const std::string& name) {
    switch (kind) {
      case InputsAre::covariances:
        args.emplace_back(x, name, Item::symmetric, 1, list ? "d_i, d_i" : "d, d");
        break;
      case InputsAre::samples:
        args.emplace_back(x, name, Item::matrix, list ? 0 : 1, list ? "n_i, d_i" : "n, d");
        break;
      case InputsAre::spectra:
        args.emplace_back(x, name, Item::vector, list ? 0 : 1, list ? "d_i" : "D");
        break;
    }
  };
  if (list) {
    for (nb::handle x : inputs) add(x, "inputs[" + std::to_string(args.size()) + "]");
    if (args.empty())
      invalid_argument("inputs: expected at least one item, got an empty list", "inputs");
  } else {
    add(inputs, "inputs");
  }
  return args;
}

/// The clustering's figures shared by both metrics, into the result dict; `assignment` receives
/// the assignment.
void put_clustering(nb::dict& out, const KMeansResult& r, std::vector<std::int64_t>& assignment) {
  assignment = r.assignment;
  out["assignment"] = host_array(r.assignment, {std::int64_t(r.assignment.size())});
  out["objective"] = nb::float_(r.objective);
  out["iterations"] = r.iterations;
  out["converged"] = r.converged;
}

template <typename T>
std::vector<T> as_type(const std::vector<double>& values) {
  return std::vector<T>(values.begin(), values.end());
}

/// The n x n distances of the items from their squares (distances_from_squares), then their
/// classical MDS map in 2-D. Both into `out` ('distances', 'embedding',
/// 'embedding_variance_kept').
template <typename T>
void put_map(Context& ctx, nb::dict& out, const std::vector<double>& squared, std::int64_t n) {
  std::vector<T> distances = as_type<T>(distances_from_squares(squared, n));
  Array<T> on_context = Array<T>::from_host(ctx, distances);
  Array<T> coordinates(ctx, 2 * n);  // 2 x n column-major: (n, 2) in C order
  MdsReport report;
  {
    nb::gil_scoped_release release;
    report = classical_mds<T>(ctx, on_context.matrices(n, n, 1), coordinates.matrices(2, n, 1));
  }
  out["distances"] = host_array(std::move(distances), {n, n});
  out["embedding"] = host_array(coordinates.take_host(ctx), {n, 2});
  out["embedding_variance_kept"] = nb::float_(report.variance_kept);
}

/// IGW k-means: the spectra of every item (eigenvalues of the covariances given or fitted, or
/// the spectra given), clustered; IGW² of all pairs for the map.
template <typename T>
nb::dict cluster_igw(Call& call, std::vector<Arg>& args, InputsAre kind,
                     const KMeansOptions& options, std::vector<std::int64_t>& dimensions,
                     std::vector<std::int64_t>& assignment) {
  Context& ctx = call.ctx();
  std::vector<IgwSpectrum> spectra;
  for (Arg& arg : args) {
    const std::int64_t count = arg.count();
    std::vector<IgwSpectrum> part;
    if (kind == InputsAre::spectra) {
      const std::int64_t d = arg.extent(0);
      std::vector<T> host(static_cast<std::size_t>(std::max<std::int64_t>(d * count, 1)));
      copy<T>(ctx, call.vectors<T>(arg, count), gaussot::vectors(host.data(), d, count));
      for (std::int64_t i = 0; i < count; ++i) {
        IgwSpectrum s;
        s.eigenvalues.assign(host.begin() + i * d, host.begin() + (i + 1) * d);
        s.projected_mean.assign(static_cast<std::size_t>(d), 0.0);
        part.push_back(std::move(s));
      }
    } else {
      const std::int64_t d = kind == InputsAre::samples ? arg.extent(1) : arg.extent(0);
      MatrixBatch<const T> covariances;
      Array<T> fitted;
      if (kind == InputsAre::samples) {
        const MatrixBatch<const T> samples = call.matrices<T>(arg, count);
        fitted = Array<T>(ctx, std::max<std::int64_t>(d * d * count, 1));
        Array<T> means(ctx, std::max<std::int64_t>(d * count, 1));
        python_names({{"samples", arg.name()}}, [&] {
          nb::gil_scoped_release release;
          sample_moments<T>(ctx, samples, means.vectors(d, count), fitted.matrices(d, d, count));
        });
        covariances = fitted.matrices(d, d, count);
      } else {
        covariances = call.matrices<T>(arg, count);
      }
      part = python_names({{"gaussians", arg.name()}}, [&] {
        nb::gil_scoped_release release;
        return igw_spectra<T>(ctx, GaussianBatch<const T>(VectorBatch<const T>(), covariances));
      });
    }
    for (IgwSpectrum& s : part) {
      dimensions.push_back(s.dimension());
      spectra.push_back(std::move(s));
    }
  }
  const IgwKMeansResult result = python_names(with_options({{"spectra", "inputs"}}), [&] {
    nb::gil_scoped_release release;
    return igw_kmeans(spectra, options);
  });
  const auto n = static_cast<std::int64_t>(spectra.size());
  std::vector<double> squared(static_cast<std::size_t>(n * n));
  {
    nb::gil_scoped_release release;
    igw_squared_all_pairs(
        ctx, spectra, spectra,
        {matrices(squared.data(), n, n, 1), MatrixBatch<double>(), MatrixBatch<double>()});
  }
  nb::dict out;
  out["metric"] = "igw";
  put_clustering(out, result, assignment);
  out["squared_distances"] = host_array(as_type<T>(result.squared_distances), {n});
  put_map<T>(ctx, out, squared, n);
  out["centroid_eigenvalues"] =
      host_array(as_type<T>(result.centroid_eigenvalues), {options.clusters, result.dimension});
  return out;
}

/// W2 k-means: one batch of Gaussians of one dimension (the array given, the list's elements
/// packed, or the Gaussians fitted to the sample sets), clustered; W2² of all pairs for the map.
template <typename T>
nb::dict cluster_bw(Call& call, std::vector<Arg>& args, Arg& means, InputsAre kind,
                    const KMeansOptions& options, std::vector<std::int64_t>& dimensions,
                    std::vector<std::int64_t>& assignment) {
  Context& ctx = call.ctx();
  const bool samples = kind == InputsAre::samples;
  auto dimension = [&](const Arg& a) { return samples ? a.extent(1) : a.extent(0); };
  const std::int64_t d = dimension(args.front());
  std::int64_t n = 0;
  for (const Arg& arg : args) {
    if (dimension(arg) != d) {
      const std::string what = samples ? " has " + std::to_string(dimension(arg)) + " features"
                                       : " holds " + std::to_string(dimension(arg)) + " x " +
                                             std::to_string(dimension(arg)) + " covariances";
      invalid_argument(arg.name() + what + " but " + args.front().name() +
                           (samples ? " has " + std::to_string(d) + " features"
                                    : " holds " + std::to_string(d) + " x " + std::to_string(d)) +
                           ": metric='bw' compares Gaussians of one dimension (metric='igw' "
                           "clusters any dimensions)",
                       arg.name());
    }
    n += arg.count();
  }
  if (means.present() && means.extent(0) != d) {
    invalid_argument("means has length " + std::to_string(means.extent(0)) + " but inputs holds " +
                         std::to_string(d) + " x " + std::to_string(d) + " covariances",
                     "means");
  }
  dimensions.assign(static_cast<std::size_t>(n), d);
  GaussianBatch<const T> gaussians;
  Array<T> packed_means, packed_covariances;
  if (!samples && args.size() == 1) {
    gaussians = call.gaussians<T>(means, args.front(), n);
  } else {
    packed_covariances = Array<T>(ctx, std::max<std::int64_t>(d * d * n, 1));
    packed_means = Array<T>(ctx, std::max<std::int64_t>(d * n, 1));
    const MatrixBatch<T> covariances = packed_covariances.matrices(d, d, n);
    const VectorBatch<T> fitted_means = packed_means.vectors(d, n);
    std::int64_t first = 0;
    for (Arg& arg : args) {
      const std::int64_t count = arg.count(), end = first + count;
      const MatrixBatch<const T> view = call.matrices<T>(arg, count);
      if (samples) {
        python_names({{"samples", arg.name()}}, [&] {
          nb::gil_scoped_release release;
          sample_moments<T>(ctx, view, fitted_means.slice(first, end),
                            covariances.slice(first, end));
        });
      } else if (count > 0) {
        copy<T>(ctx, view, covariances.slice(first, end));
      }
      first = end;
    }
    gaussians.covariances = covariances;
    if (samples) gaussians.means = fitted_means;
    if (means.present()) gaussians.means = call.vectors<T>(means, n);
  }
  // Outputs of min(K, n) items (at least one): K outside [1, n] is the library's to refuse.
  const std::int64_t clusters = options.clusters;
  const std::int64_t slots = std::clamp<std::int64_t>(clusters, 1, std::max<std::int64_t>(n, 1));
  Array<T> centroid_means(ctx, std::max<std::int64_t>(d, 1) * slots),
      centroid_covs(ctx, std::max<std::int64_t>(d * d, 1) * slots);
  Array<T> squared(ctx, std::max<std::int64_t>(n * n, 1));
  KMeansResult result;
  const Renames names = with_options(
      {{"gaussians.means", means.present() ? "means" : "inputs"}, {"gaussians", "inputs"}});
  python_names(names, [&] {
    nb::gil_scoped_release release;
    result = w2_kmeans<T>(
        ctx, gaussians,
        GaussianBatch<T>(centroid_means.vectors(d, slots), centroid_covs.matrices(d, d, slots)),
        options);
    BuresOptions bures;
    bures.spectral = options.spectral;
    w2_squared_all_pairs<T>(ctx, gaussians, gaussians, squared.matrices(n, n, 1), bures);
  });
  const std::vector<T> squared_host = squared.take_host(ctx);
  nb::dict out;
  out["metric"] = "bw";
  put_clustering(out, result, assignment);
  out["squared_distances"] = host_array(as_type<T>(result.squared_distances), {n});
  put_map<T>(ctx, out, std::vector<double>(squared_host.begin(), squared_host.begin() + n * n), n);
  std::vector<T> c_means = centroid_means.take_host(ctx), c_covs = centroid_covs.take_host(ctx);
  c_means.resize(static_cast<std::size_t>(clusters * d));
  c_covs.resize(static_cast<std::size_t>(clusters * d * d));
  out["centroid_means"] = host_array(std::move(c_means), {clusters, d});
  out["centroid_covs"] = host_array(std::move(c_covs), {clusters, d, d}, Order::columns);
  return out;
}

nb::object cluster_py(nb::handle inputs, std::int64_t k, const std::string& metric_name,
                      const std::string& inputs_are, nb::handle means_object, std::int64_t n_init,
                      std::int64_t max_iterations, std::uint64_t seed, nb::handle labels_object,
                      const std::string& backend) {
  const Metric metric = parse_metric(metric_name);
  const InputsAre kind = parse_inputs_are(inputs_are, metric);
  KMeansOptions options;
  options.clusters = k;
  options.n_init = int_option(n_init, "n_init");
  options.max_iterations = int_option(max_iterations, "max_iterations");
  options.seed = seed;
  std::vector<Arg> args = input_args(inputs, kind);
  Arg means(means_object, "means", Item::vector);
  if (means.present() && (metric == Metric::igw || kind != InputsAre::covariances)) {
    invalid_argument(metric == Metric::igw
                         ? "means: metric='igw' clusters centered Gaussians; drop means (or use "
                           "metric='bw')"
                         : "means: sample sets give their own means; drop means",
                     "means");
  }
  std::vector<Arg*> all;
  for (Arg& a : args) all.push_back(&a);
  all.push_back(&means);
  Call call(backend, all);
  std::int64_t n = 0;
  for (const Arg& a : args) {
    if (!a.present()) invalid_argument(a.name() + ": expected an array, got None", a.name());
    n += a.count();
  }
  std::vector<std::int64_t> labels;
  if (!labels_object.is_none()) {
    labels = integer_labels(labels_object, "labels");
    if (static_cast<std::int64_t>(labels.size()) != n) {
      invalid_argument("labels: expected one label per item, " + std::to_string(n) + ", got " +
                           std::to_string(labels.size()),
                       "labels");
    }
  }
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    std::vector<std::int64_t> dimensions, assignment;
    nb::dict out = metric == Metric::igw
                       ? cluster_igw<T>(call, args, kind, options, dimensions, assignment)
                       : cluster_bw<T>(call, args, means, kind, options, dimensions, assignment);
    nb::list dims;
    for (std::int64_t d : dimensions) dims.append(d);
    out["dimensions"] = dims;
    if (!labels.empty()) {
      out["ari"] = nb::float_(adjusted_rand_index(labels, assignment));
      out["nmi"] = nb::float_(normalized_mutual_info(labels, assignment));
    }
    return nb::object(out);
  });
}

nb::object mds_py(nb::handle distances, std::int64_t dim, const std::string& backend) {
  const int p = int_option(dim, "dim", 1);
  Arg arg(distances, "distances", Item::symmetric, 0, "n, n");
  Call call(backend, {&arg});
  if (!arg.present()) invalid_argument("distances: expected an array, got None", "distances");
  const std::int64_t n = arg.extent(0);
  return with_dtype(call, [&](auto zero) {
    using T = decltype(zero);
    const MatrixBatch<const T> view = call.matrices<T>(arg, 1);
    Output<T> coordinates(call, {n, p});  // p x n column-major: (n, p) in C order
    const MdsReport r = python_names({{"coordinates", "dim"}}, [&] {
      nb::gil_scoped_release release;
      return classical_mds<T>(call.ctx(), view, coordinates.matrices(p, n, 1));
    });
    nb::dict report;
    report["eigenvalues"] = host_array(as_type<T>(r.eigenvalues), {n});
    report["variance_kept"] = nb::float_(r.variance_kept);
    return nb::object(nb::make_tuple(coordinates.release(), report));
  });
}

double adjusted_rand_index_py(nb::handle a, nb::handle b) {
  return adjusted_rand_index(integer_labels(a, "a"), integer_labels(b, "b"));
}

double normalized_mutual_info_py(nb::handle a, nb::handle b) {
  return normalized_mutual_info(integer_labels(a, "a"), integer_labels(b, "b"));
}

}  // namespace

void bind_cluster(nb::module_& m) {
  m.def("cluster", &cluster_py, "inputs"_a, "k"_a, nb::kw_only(), "metric"_a = "igw",
        "inputs_are"_a = "covariances", "means"_a = nb::none(), "n_init"_a = KMeansOptions().n_init,
        "max_iterations"_a = KMeansOptions().max_iterations, "seed"_a = 0, "labels"_a = nb::none(),
        "backend"_a = "auto",
        R"(Returns a dict: k-means of Gaussians into k clusters, with the IGW geometry
(metric='igw': centered Gaussians of any dimensions) or the Bures–Wasserstein one (metric='bw':
Gaussians of one dimension). The objective is Σ_i dist²(item_i, centroid of its cluster), dist² =
IGW² or W2², a centroid being the barycenter of its cluster in that metric; for IGW this is
exactly Euclidean k-means on the decreasing spectra zero-padded to the largest dimension D.
Greedy k-means++ seeding (as scikit-learn's), Lloyd iterations until the assignment is stable or
max_iterations, n_init runs from seeds derived from seed (deterministic), the best kept.

inputs, by inputs_are:
  'covariances' (default): a (d, d) or (k, d, d) array, or a list or tuple whose elements are
    such arrays (one per dimension group, or one per Gaussian); the items are their items in
    order. metric='igw' ignores means (centered Gaussians, any dimensions per element);
    metric='bw' needs one dimension and takes means (k, d) (None: zero means).
  'samples': a list or tuple of sample sets (n_i, d_i), rows are samples, n_i >= 2 (n_i may
    differ), or one (k, n, d) array; each set becomes the Gaussian of its sample mean and
    covariance (divisor n − 1, as sample_moments). metric='igw' drops the means.
  'spectra' (metric='igw' only): a list or tuple of eigenvalue vectors (d_i,), or one (k, D)
    array: the decreasing eigenvalues (>= 0) of the covariances, as eigvalsh returns them.
Errors name the element (inputs[i]) and its batch item where that element is at fault; with
metric='bw' the Gaussians are numbered across the list.

labels: None, or one integer label per item (known classes): adds 'ari' and 'nmi'.

The dict: 'metric'; 'assignment' (int64 (n,), clusters 0..k−1, none empty); 'objective'
(float); 'iterations' (Lloyd assignment steps of the best run); 'converged' (its last step
changed nothing); 'squared_distances' ((n,): each item's IGW² or W2² to its centroid); 'dimensions'
(list of the items' dimensions); 'distances' ((n, n): IGW or W2 distances between the items, the
square roots of IGW² / W2² symmetrised, 0 on the diagonal); 'embedding' ((n, 2): their classical
MDS map, as mds) and 'embedding_variance_kept' (float); metric='igw': 'centroid_eigenvalues'
((k, D): each centroid's spectrum, the centroid being N(0, diag(spectrum)) in R^D); metric='bw':
'centroid_means' (k, d) and 'centroid_covs' (k, d, d), the W2 barycenters of the clusters; with
labels, 'ari' (adjusted_rand_index(labels, assignment)) and 'nmi'. Arrays are host NumPy
arrays of the inputs' dtype (int64 for 'assignment'), whatever the inputs' memory; device inputs
are decomposed (and, with 'bw', clustered) on their device.)" GAUSSOT_DOC_COMMON);

  m.def("mds", &mds_py, "distances"_a, "dim"_a = 2, nb::kw_only(), "backend"_a = "auto",
        R"(Returns (coordinates, report): classical (Torgerson) multidimensional scaling of an
(n, n) distance matrix (finite, >= 0, symmetric with a zero diagonal up to the relative input
tolerance; its symmetric part is used) into dim dimensions. B = −½ J D² J (J = I − 11ᵀ/n, D²
elementwise squares) = V Λ Vᵀ with Λ decreasing; coordinates (n, dim), row i the point of item i,
are V_dim Λ_dim^½ with eigenvalues below the rounding level (negative ones included) taken as 0,
so axes beyond the positive eigenvalues (or beyond n) are 0. Distances of points in R^q, q <= dim,
are reproduced up to rounding. Each axis' sign makes its entry of largest magnitude positive.
report: 'eigenvalues' ((n,) host array: all eigenvalues of B, decreasing; negative ones show how
far the distances are from Euclidean) and 'variance_kept' (float: the sum of the dim largest
positive eigenvalues over the sum of all positive ones; 1 when every point coincides).)" GAUSSOT_DOC_COMMON);

  m.def("adjusted_rand_index", &adjusted_rand_index_py, "a"_a, "b"_a,
        R"(The adjusted Rand index of two labelings a and b of the same n >= 1 items (sequences or
host arrays of integers, or of floats with integer values; any integer values), as scikit-learn's
adjusted_rand_score: 1 for the same partition (whatever the label values), 0 in expectation for
random labelings, in [−1, 1]; symmetric. Other values (fractions, NaN, strings, booleans) are
refused naming the argument.)");

  m.def("normalized_mutual_info", &normalized_mutual_info_py, "a"_a, "b"_a,
        R"(The normalized mutual information of two labelings a and b of the same n >= 1 items
(integer labels, as adjusted_rand_index), as scikit-learn's normalized_mutual_info_score with
its default arithmetic mean: MI(a, b) / ((H(a) + H(b)) / 2), natural logarithms; 1 when both are
a single cluster, 0 when the mutual information is 0 otherwise; in [0, 1].)");
}

}  // namespace gaussot::python
