"""gaussot: optimal transport and alignment between Gaussian measures.

Bures–Wasserstein (W2) distances, maps, geodesics and barycenters, the Fréchet distance of sample
sets, inner-product Gromov–Wasserstein (IGW) between Gaussians of different dimensions, linear
CKA, k-means of Gaussians (IGW or W2) with classical-MDS maps and clustering scores (ARI, NMI),
and the batched symmetric linear algebra underneath, on the CPU (Eigen/LAPACK) or on CUDA
devices. The functions are those of the C++ library (``#include <gaussot/gaussot.hpp>``), with
the same names.

Conventions
-----------
* Arrays are NumPy arrays or DLPack tensors (torch, cupy, jax), float32 or float64, one dtype per
  call; results have the same dtype. Lists of numbers are converted with ``numpy.asarray`` as
  float64.
* A Gaussian is a covariance ``(d, d)`` and an optional mean ``(d,)`` (``None``: zero mean); a
  batch has a leading axis, ``(k, d, d)`` and ``(k, d)``. Sample sets are ``(n, d)`` or
  ``(k, n, d)`` with samples in rows. Batches broadcast as in NumPy: k with k, or one with k
  (one-versus-many, no copy). Single items give NumPy scalars.
* Host arrays run on the CPU and come back as NumPy arrays; CUDA device arrays run on their
  device and come back as device arrays of the same framework (``backend='auto'``, the default).
  ``backend='cuda'`` (or ``'cuda:N'``) runs host arrays on a GPU (copying in and out);
  ``backend='cpu'`` refuses device arrays. Host arrays are read in place (C or Fortran order for
  covariances, any leading dimension); other layouts (negative strides, a strided last axis) are
  copied first. Arrays of other dtypes (integers, booleans, complex, float16, longdouble,
  strings, objects) are refused, not converted.
* ``eigh``, ``eigvalsh``, ``sqrtm``, ``inv_sqrtm``, ``sqrtm_and_inv_sqrtm``, ``logm`` and ``powm``
  read only the upper triangle ``a[..., i, j]``, ``i <= j``, whatever the layout (a host array in
  Fortran order is copied to C order for them); the functions on Gaussians refuse covariances
  that are not symmetric.
* Matrix results are returned without a transposing copy: their last two axes may be in Fortran
  order (``numpy.ascontiguousarray`` gives C order).
* Eigenvalues are in decreasing order; IGW² has no ½ factor; W2² and IGW² are reported squared.
* Integer options (``max_iterations``, ``restarts``, ``check_every``, ...) above 2³¹ − 1 are
  refused with :class:`InvalidArgument`; values that are not Python integers, or beyond 64 bits,
  raise ``TypeError``.
* Errors raise :class:`InvalidArgument` (a ``ValueError``), :class:`NotCompiled` (a
  ``NotImplementedError``), :class:`ConvergenceError`, :class:`CudaError`,
  :class:`OutOfMemory` (a ``MemoryError``), all subclasses of :class:`Error` (a
  ``RuntimeError``), with the C++ library's message.
"""

from ._gaussot import (
    ConvergenceError,
    CudaError,
    Error,
    InvalidArgument,
    NotCompiled,
    OutOfMemory,
    __version__,
    adjusted_rand_index,
    brenier_map,
    cluster,
    compare_representations,
    eigh,
    eigvalsh,
    entropic_map,
    entropic_ot,
    entropic_ot_gradient,
    entropic_potentials,
    frechet_distance,
    frechet_distance_gradient,
    igw_barycenter,
    igw_map,
    igw_plan,
    igw_squared,
    igw_squared_all_pairs,
    igw_squared_gradient,
    igw_squared_samples_gradient,
    igw_squared_univariate,
    info,
    inv_sqrtm,
    linear_cka,
    linear_cka_gradient,
    logm,
    mccann_interpolant,
    mds,
    mmot,
    normalized_mutual_info,
    powm,
    sample_moments,
    shape_metric,
    shape_metric_gradient,
    sinkhorn,
    sinkhorn_divergence,
    sinkhorn_divergence_gradient,
    sqrtm,
    sqrtm_and_inv_sqrtm,
    w2_barycenter,
    w2_squared,
    w2_squared_all_pairs,
    w2_squared_gradient,
)
from . import jax, torch  # gaussot.jax, gaussot.torch (autodiff, record): import without them
from .metrics import ComparisonAccumulator, FrechetDistance

__all__ = [
    "ComparisonAccumulator",
    "ConvergenceError",
    "FrechetDistance",
    "CudaError",
    "Error",
    "InvalidArgument",
    "NotCompiled",
    "OutOfMemory",
    "__version__",
    "adjusted_rand_index",
    "brenier_map",
    "cluster",
    "compare_representations",
    "eigh",
    "eigvalsh",
    "entropic_map",
    "entropic_ot",
    "entropic_ot_gradient",
    "entropic_potentials",
    "frechet_distance",
    "frechet_distance_gradient",
    "igw_barycenter",
    "igw_map",
    "igw_plan",
    "igw_squared",
    "igw_squared_all_pairs",
    "igw_squared_gradient",
    "igw_squared_samples_gradient",
    "igw_squared_univariate",
    "info",
    "inv_sqrtm",
    "linear_cka",
    "linear_cka_gradient",
    "logm",
    "mccann_interpolant",
    "mds",
    "mmot",
    "normalized_mutual_info",
    "powm",
    "sample_moments",
    "shape_metric",
    "shape_metric_gradient",
    "sinkhorn",
    "sinkhorn_divergence",
    "sinkhorn_divergence_gradient",
    "sqrtm",
    "sqrtm_and_inv_sqrtm",
    "w2_barycenter",
    "w2_squared",
    "w2_squared_all_pairs",
    "w2_squared_gradient",
]
