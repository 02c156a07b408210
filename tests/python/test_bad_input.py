"""Bad input for every public function of the gaussot module, table-driven.

For each function (SPECS, checked against ``gaussot.__all__``) and each of its array arguments:
wrong dtypes, wrong ranks and shapes, non-contiguous / Fortran-order / padded / negative-stride
layouts, NaN and infinities, and for covariances asymmetric, indefinite and singular matrices;
then empty batches, mismatched dimensions, out-of-range scalar options and absurd sizes, function
by function. Every case either works — and then gives the plain call's result, finite — or
raises the module's documented exception (gaussot.InvalidArgument, a ValueError; a TypeError
where nanobind refuses the Python type of a scalar; MemoryError for sizes beyond memory) whose
message names the argument at fault and, for a batch, the item. Never a crash, never a silent
NaN. test_errors.py has the exception hierarchy and one example of each kind.
"""


import numpy as np
import pytest

import gaussot

K = 3  # items of a batched argument; bad values go into item BAD_ITEM
BAD_ITEM = 1


def spd(rng, d, k=None, floor=0.5):
    shape = (d, d) if k is None else (k, d, d)
    g = rng.standard_normal(shape)
    return g @ np.swapaxes(g, -1, -2) / d + floor * np.eye(d)


# ---- the functions and their arguments ----------------------------------------------------------

# Roles of the array arguments: what one item holds, and whether the argument is batched.
COV, MEAN, SAMPLES, WEIGHTS, LIST = "cov", "mean", "samples", "weights", "list"

# Names a message may use for an argument: the Python name, or the C++ library's.
ALIASES = {
    "a_cov": ("a_cov", "a.covariances"),
    "b_cov": ("b_cov", "b.covariances"),
    "a_mean": ("a_mean", "a.means"),
    "b_mean": ("b_mean", "b.means"),
}


class Spec:
    """One public function: how to build valid arguments, and what its array arguments hold."""

    def __init__(self, name, make, arrays, aliases=None, positive_definite=(), one_triangle=False,
                 nan_keys=()):
        self.name = name
        self.make = make  # rng -> dict of keyword arguments (all valid)
        self.arrays = arrays  # argument -> role (LIST: (role of the elements, element index))
        self.aliases = dict(ALIASES)
        self.aliases.update(aliases or {})
        self.positive_definite = positive_definite  # covariance arguments that must be PD
        self.one_triangle = one_triangle  # reads only the upper triangle (no symmetry check)
        self.nan_keys = nan_keys  # result keys that may hold NaN by definition

    def __call__(self, **kwargs):
        return getattr(gaussot, self.name)(**kwargs)

    def names(self, arg):
        return self.aliases.get(arg, (arg,))

    def __repr__(self):
        return self.name


def gaussian_pair(d_a=3, d_b=3, k_a=K, k_b=K, **extra):
    def make(rng):
        kwargs = dict(a_cov=spd(rng, d_a, k_a), b_cov=spd(rng, d_b, k_b),
                      a_mean=rng.standard_normal((k_a, d_a)),
                      b_mean=rng.standard_normal((k_b, d_b)))
        kwargs.update(extra)
        return kwargs
    return make


PAIR = {"a_cov": COV, "b_cov": COV, "a_mean": MEAN, "b_mean": MEAN}
LINALG = {"a": COV}
BARYCENTER_NAMES = {"covs": ("covs", "inputs.covariances", "inputs"),
                    "means": ("means", "inputs.means")}
MMOT_NAMES = {"covs": ("covs", "marginals.covariances", "marginals"),
              "means": ("means", "marginals.means")}


def _samples(rng, k, n, d):
    return rng.standard_normal((k, n, d)) @ (np.eye(d) + 0.3 * rng.standard_normal((d, d)))


def _sinkhorn(rng):
    wx = rng.uniform(0.5, 1.5, (K, 12))
    wy = rng.uniform(0.5, 1.5, (K, 10))
    wx /= wx.sum(-1, keepdims=True)
    wy /= wy.sum(-1, keepdims=True)
    return dict(x=rng.standard_normal((K, 12, 3)), y=rng.standard_normal((K, 10, 3)) + 0.5,
                weights_x=wx, weights_y=wy, sigma=0.7)


def _distances(rng, n):
    points = rng.standard_normal((n, 3))
    return np.sqrt(np.sum((points[:, None] - points[None]) ** 2, axis=2))


SPECS = [
    Spec("w2_squared", gaussian_pair(), PAIR),
    Spec("w2_squared_all_pairs", gaussian_pair(k_b=2), PAIR),
    Spec("brenier_map", gaussian_pair(), PAIR, positive_definite=("a_cov",)),
    Spec("mccann_interpolant", gaussian_pair(t=0.3), PAIR, positive_definite=("a_cov",)),
    Spec("w2_squared_gradient", gaussian_pair(), PAIR, positive_definite=("a_cov", "b_cov")),
    Spec("w2_barycenter",
         lambda rng: dict(covs=spd(rng, 3, K), means=rng.standard_normal((K, 3)),
                          weights=np.array([1.0, 2.0, 0.5])),
         {"covs": COV, "means": MEAN, "weights": WEIGHTS}, aliases=BARYCENTER_NAMES,
         positive_definite=("covs",)),
    Spec("frechet_distance",
         lambda rng: dict(samples_a=_samples(rng, K, 20, 3), samples_b=_samples(rng, K, 15, 3)),
         {"samples_a": SAMPLES, "samples_b": SAMPLES}),
    Spec("frechet_distance_gradient",
         lambda rng: dict(samples_a=_samples(rng, K, 20, 3), samples_b=_samples(rng, K, 15, 3)),
         {"samples_a": SAMPLES, "samples_b": SAMPLES}),
    Spec("eigh", lambda rng: dict(a=spd(rng, 3, K) - np.eye(3)), LINALG, one_triangle=True),
    Spec("eigvalsh", lambda rng: dict(a=spd(rng, 3, K) - np.eye(3)), LINALG, one_triangle=True),
    Spec("sqrtm", lambda rng: dict(a=spd(rng, 3, K)), LINALG, one_triangle=True),
    Spec("inv_sqrtm", lambda rng: dict(a=spd(rng, 3, K)), LINALG, one_triangle=True,
         positive_definite=("a",)),
    Spec("logm", lambda rng: dict(a=spd(rng, 3, K)), LINALG, one_triangle=True,
         positive_definite=("a",)),
    Spec("sqrtm_and_inv_sqrtm", lambda rng: dict(a=spd(rng, 3, K)), LINALG, one_triangle=True,
         positive_definite=("a",)),
    Spec("powm", lambda rng: dict(a=spd(rng, 3, K), p=1.5), LINALG, one_triangle=True),
    Spec("sample_moments", lambda rng: dict(samples=_samples(rng, K, 20, 3)),
         {"samples": SAMPLES}),
    Spec("igw_squared", gaussian_pair(d_b=2), PAIR),
    Spec("igw_squared_all_pairs", gaussian_pair(d_b=2, k_b=2), PAIR),
    Spec("igw_plan", gaussian_pair(d_b=2), PAIR),
    Spec("igw_map", gaussian_pair(d_b=2), PAIR, positive_definite=("a_cov",)),
    Spec("igw_barycenter",
         lambda rng: dict(covs=[spd(rng, 3, K), spd(rng, 2, 2)],
                          weights=np.array([1.0, 2.0, 0.5, 1.0, 1.0])),
         {"covs": (LIST, COV, 1), "weights": WEIGHTS},
         aliases={"covs": ("covs[1]", "inputs.covariances")}),
    Spec("linear_cka",
         lambda rng: dict(samples_a=_samples(rng, K, 20, 3), samples_b=_samples(rng, K, 20, 2)),
         {"samples_a": SAMPLES, "samples_b": SAMPLES}),
    Spec("igw_squared_gradient", lambda rng: dict(a_cov=spd(rng, 3, K), b_cov=spd(rng, 2, K)),
         {"a_cov": COV, "b_cov": COV}),
    Spec("igw_squared_samples_gradient",
         lambda rng: dict(samples_a=_samples(rng, K, 20, 3), samples_b=_samples(rng, K, 15, 2)),
         {"samples_a": SAMPLES, "samples_b": SAMPLES}),
    Spec("linear_cka_gradient",
         lambda rng: dict(samples_a=_samples(rng, K, 20, 3), samples_b=_samples(rng, K, 20, 2)),
         {"samples_a": SAMPLES, "samples_b": SAMPLES}),
    Spec("shape_metric",
         lambda rng: dict(samples_a=_samples(rng, K, 20, 3), samples_b=_samples(rng, K, 20, 2)),
         {"samples_a": SAMPLES, "samples_b": SAMPLES}),
    Spec("shape_metric_gradient",
         lambda rng: dict(samples_a=_samples(rng, K, 20, 3), samples_b=_samples(rng, K, 20, 2)),
         {"samples_a": SAMPLES, "samples_b": SAMPLES}),
    Spec("compare_representations",
         lambda rng: dict(activations=[_samples(rng, 1, 20, 3)[0], _samples(rng, 1, 20, 2)[0],
                                       _samples(rng, 1, 20, 4)[0]]),
         {"activations": (LIST, SAMPLES, 1)},
         aliases={"activations": ("activations[1]", "sets[1]")}, nan_keys=("bw",)),
    Spec("mmot",
         lambda rng: dict(covs=spd(rng, 3, K), means=rng.standard_normal((K, 3)),
                          weights=np.array([1.0, 2.0, 0.5])),
         {"covs": COV, "means": MEAN, "weights": WEIGHTS}, aliases=MMOT_NAMES,
         positive_definite=("covs",)),
    Spec("entropic_ot", gaussian_pair(sigma=0.8), PAIR),
    Spec("entropic_map", gaussian_pair(sigma=0.8), PAIR),
    Spec("entropic_potentials", gaussian_pair(sigma=0.8), PAIR),
    Spec("entropic_ot_gradient", gaussian_pair(sigma=0.8), PAIR),
    Spec("sinkhorn_divergence", gaussian_pair(sigma=0.8), PAIR),
    Spec("sinkhorn_divergence_gradient", gaussian_pair(sigma=0.8), PAIR),
    Spec("sinkhorn", _sinkhorn,
         {"x": SAMPLES, "y": SAMPLES, "weights_x": MEAN, "weights_y": MEAN}),
    Spec("cluster",
         lambda rng: dict(inputs=[spd(rng, 3, K), spd(rng, 2, 2)], k=2, labels=[0, 0, 1, 1, 1]),
         {"inputs": (LIST, COV, 1)}, aliases={"inputs": ("inputs[1]",)}),
    # A distance matrix, checked as one (n, n) item: the role of an unbatched sample set.
    Spec("mds", lambda rng: dict(distances=_distances(rng, 6)), {"distances": SAMPLES}),
]
BY_NAME = {spec.name: spec for spec in SPECS}
# Functions without float array arguments, tested in their own tests below (the scores of two
# integer labelings in test_cluster.py).
SCALAR_ONLY = {"igw_squared_univariate", "info", "adjusted_rand_index", "normalized_mutual_info"}


def test_every_public_function_has_a_spec():
    functions = {name for name in gaussot.__all__
                 if callable(getattr(gaussot, name)) and not isinstance(getattr(gaussot, name),
                                                                        type)}
    assert functions == set(BY_NAME) | SCALAR_ONLY


ARGS = [(spec, arg) for spec in SPECS for arg in spec.arrays]
ARG_IDS = [f"{spec.name}-{arg}" for spec, arg in ARGS]


def _role(spec, arg):
    role = spec.arrays[arg]
    return role[1] if isinstance(role, tuple) else role


COV_ARGS = [(spec, arg) for spec, arg in ARGS if _role(spec, arg) == COV]
COV_IDS = [f"{spec.name}-{arg}" for spec, arg in COV_ARGS]


def get(kwargs, spec, arg):
    role = spec.arrays[arg]
    return kwargs[arg][role[2]] if isinstance(role, tuple) else kwargs[arg]


def put(kwargs, spec, arg, value):
    role = spec.arrays[arg]
    kwargs = dict(kwargs)
    if isinstance(role, tuple):
        items = list(kwargs[arg])
        items[role[2]] = value
        kwargs[arg] = items
    else:
        kwargs[arg] = value
    return kwargs


def batched(spec, arg, value):
    """True when the argument has a batch axis (bad values then go into item BAD_ITEM)."""
    item_axes = 2 if _role(spec, arg) in (COV, SAMPLES) else 1
    return value.ndim > item_axes and _role(spec, arg) != WEIGHTS


# ---- results ------------------------------------------------------------------------------------

def leaves(result, path=""):
    """(path, value) of every number or array in a result (dicts, tuples, lists)."""
    if isinstance(result, dict):
        for key in sorted(result):
            yield from leaves(result[key], key)
    elif isinstance(result, (tuple, list)):
        for i, item in enumerate(result):
            yield from leaves(item, path)
    elif isinstance(result, (str, bytes)) or result is None:
        return
    elif isinstance(result, (np.ndarray, np.generic)):
        yield path, np.asarray(result)
    else:  # a Python number (float64 by definition, e.g. a report's figures)
        yield path, np.asarray(result, dtype=np.float64 if isinstance(result, float) else None)


def assert_finite(spec, result):
    for path, value in leaves(result):
        if value.dtype.kind == "f" and path not in spec.nan_keys:
            assert np.all(np.isfinite(value)), f"{spec.name}: non-finite result in {path!r}"


def assert_same(spec, got, expected, rtol=1e-12):
    got_leaves, expected_leaves = list(leaves(got)), list(leaves(expected))
    assert len(got_leaves) == len(expected_leaves)
    for (path, g), (_, e) in zip(got_leaves, expected_leaves):
        assert g.shape == e.shape, f"{spec.name}: {path!r} has shape {g.shape}, not {e.shape}"
        if e.dtype.kind == "f":
            scale = max(1.0, float(np.nanmax(np.abs(e)))) if e.size else 1.0
            np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * scale, err_msg=spec.name)
        else:
            np.testing.assert_array_equal(g, e, err_msg=spec.name)


def assert_refused(spec, arg, excinfo, *fragments, item=None):
    """The exception is gaussot's, its message names the argument, the fragments, the item."""
    e = excinfo.value
    message = str(e)
    assert isinstance(e, gaussot.InvalidArgument), f"{type(e).__name__}: {message}"
    assert any(name in message for name in spec.names(arg)), (
        f"{spec.name}: message does not name {spec.names(arg)}: {message}")
    for fragment in fragments:
        assert fragment in message, f"{spec.name}: {fragment!r} not in: {message}"
    if item is not None:
        assert e.batch_index == item or f"item {item}" in message or f"[{item}]" in message, (
            f"{spec.name}: batch item {item} not named: {message}")


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)


# ---- dtypes -------------------------------------------------------------------------------------

BAD_DTYPES = [np.int64, np.complex128, np.bool_, object, np.float16, np.longdouble, "U8"]


@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("spec, arg", ARGS, ids=ARG_IDS)
def test_wrong_dtype_is_refused_by_name(spec, arg, dtype, rng):
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg)
    bad = (value > 0) if dtype == np.bool_ else value.astype(dtype)
    with pytest.raises(ValueError) as excinfo:
        spec(**put(kwargs, spec, arg, bad))
    assert_refused(spec, arg, excinfo, "expected float32 or float64 values")


MULTI_ARGS = [(spec, arg) for spec, arg in ARGS
              if len(spec.arrays) > 1 or isinstance(spec.arrays[arg], tuple)]


@pytest.mark.parametrize("spec, arg", MULTI_ARGS, ids=[f"{s.name}-{a}" for s, a in MULTI_ARGS])
def test_mixed_precision_is_refused_by_name(spec, arg, rng):
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg)
    with pytest.raises(ValueError) as excinfo:
        spec(**put(kwargs, spec, arg, value.astype(np.float32)))
    message = str(excinfo.value)
    assert "mixed dtypes" in message and "is float32" in message, message
    assert any(name in message for name in spec.names(arg)), message


def to_float32(spec, kwargs):
    out = dict(kwargs)
    for arg, role in spec.arrays.items():
        if isinstance(role, tuple):
            out[arg] = [np.asarray(v, np.float32) for v in out[arg]]
        else:
            out[arg] = out[arg].astype(np.float32)
    return out


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_float32_everywhere_works_and_stays_float32(spec, rng):
    result = spec(**to_float32(spec, spec.make(rng)))
    assert_finite(spec, result)
    # NumPy results follow the inputs' dtype; Python floats (report figures, igw_barycenter's
    # value, sinkhorn's epsilon) and compare_representations' matrices are float64 (documented).
    def arrays(r):
        if isinstance(r, dict):
            for key in sorted(r):
                yield from ((key, v) for _, v in arrays(r[key]))
        elif isinstance(r, (tuple, list)):
            for item in r:
                yield from arrays(item)
        elif isinstance(r, (np.ndarray, np.generic)):
            yield "", r
    for path, value in arrays(result):
        if value.dtype.kind == "f" and spec.name != "compare_representations" and \
                path not in ("marginal_error",):  # sinkhorn's report is float64
            assert value.dtype == np.float32, f"{spec.name}: {path} is {value.dtype}"


# ---- ranks and shapes ---------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["extra_axes", "scalar", "empty_tuple_axes"])
@pytest.mark.parametrize("spec, arg", ARGS, ids=ARG_IDS)
def test_wrong_rank_is_refused_by_name(spec, arg, variant, rng):
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg)
    bad = {"extra_axes": value[None, None],
           "scalar": np.float64(1.5),
           "empty_tuple_axes": np.zeros(())}[variant]
    with pytest.raises(ValueError) as excinfo:
        spec(**put(kwargs, spec, arg, bad))
    assert_refused(spec, arg, excinfo, "expected shape")


@pytest.mark.parametrize("spec, arg", COV_ARGS, ids=COV_IDS)
def test_non_square_covariances_are_refused_by_name(spec, arg, rng):
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg)
    with pytest.raises(ValueError) as excinfo:
        spec(**put(kwargs, spec, arg, value[..., :-1]))
    assert_refused(spec, arg, excinfo, "square")


def test_non_numeric_python_objects_are_refused(rng):
    e = np.eye(3)
    for bad, fragment in [([[None, 1.0], [1.0, None]], "object"), ([[True, False], [False, True]],
                                                                    "bool"),
                          ([[1j, 0], [0, 1]], "complex"), ("text", "expected an array"),
                          ({"a": 1}, "expected"), ([[1.0, 2.0], [3.0]], "expected an array")]:
        with pytest.raises(ValueError, match=fragment) as excinfo:
            gaussot.w2_squared(e, bad)
        assert "b_cov" in str(excinfo.value)
    # Lists of numbers (and non-native byte orders) are read as numbers.
    assert gaussot.w2_squared([[1, 0], [0, 1]], [[4.0, 0], [0, 9]]) == pytest.approx(5.0)
    big_endian = np.diag([4.0, 9.0]).astype(">f8")
    np.testing.assert_allclose(gaussot.sqrtm(big_endian), np.diag([2.0, 3.0]), rtol=1e-15)
    assert gaussot.sqrtm(np.eye(2, dtype=">f4")).dtype == np.float32


# ---- layouts ------------------------------------------------------------------------------------

def relaid(value, layout):
    """The same values in another memory layout."""
    if layout == "fortran":
        out = np.asfortranarray(value)
    elif layout == "item_fortran":  # each item (last two axes) in Fortran order
        out = np.swapaxes(np.ascontiguousarray(np.swapaxes(value, -1, -2)), -1, -2)
    elif layout == "strided":  # every other element of a larger array, on every axis
        big = np.full(tuple(2 * n for n in value.shape), np.nan)
        big[tuple(slice(None, None, 2) for _ in value.shape)] = value
        out = big[tuple(slice(None, None, 2) for _ in value.shape)]
    elif layout == "padded":  # leading dimension larger than the rows, batch stride larger
        big = np.full(value.shape[:-1] + (value.shape[-1] + 3,), np.nan)
        if value.ndim > 1:
            big = np.full((value.shape[0] + 1,) + value.shape[1:-1] + (value.shape[-1] + 3,),
                          np.nan)
            big[: value.shape[0], ..., : value.shape[-1]] = value
            out = big[: value.shape[0], ..., : value.shape[-1]]
        else:
            big[: value.shape[-1]] = value
            out = big[: value.shape[-1]]
    elif layout == "negative":  # negative strides on every axis
        flipped = np.ascontiguousarray(value[tuple(slice(None, None, -1) for _ in value.shape)])
        out = flipped[tuple(slice(None, None, -1) for _ in value.shape)]
    else:
        raise ValueError(layout)
    np.testing.assert_array_equal(out, value)
    return out


LAYOUTS = ["fortran", "item_fortran", "strided", "padded", "negative"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("spec, arg", ARGS, ids=ARG_IDS)
def test_layouts_give_the_contiguous_result(spec, arg, layout, rng):
    kwargs = spec.make(rng)
    expected = spec(**kwargs)
    value = get(kwargs, spec, arg)
    if layout == "item_fortran" and value.ndim < 2:
        pytest.skip("a vector has no item order")
    got = spec(**put(kwargs, spec, arg, relaid(value, layout)))
    assert_finite(spec, got)
    assert_same(spec, got, expected)


def test_all_arguments_relaid_at_once(rng):
    for spec in SPECS:
        kwargs = spec.make(rng)
        expected = spec(**kwargs)
        for layout in LAYOUTS:
            relaid_kwargs = dict(kwargs)
            for arg in spec.arrays:
                value = get(kwargs, spec, arg)
                if layout == "item_fortran" and value.ndim < 2:
                    continue
                relaid_kwargs = put(relaid_kwargs, spec, arg, relaid(value, layout))
            assert_same(spec, spec(**relaid_kwargs), expected)


# ---- NaN and infinities -------------------------------------------------------------------------

def with_bad_entry(spec, arg, value, bad):
    """A copy with `bad` in item BAD_ITEM (batched) or entry BAD_ITEM (a vector of weights); a
    covariance gets it at (1, 0) and (0, 1), where any triangle sees it."""
    out = np.array(value, dtype=np.float64)
    role = _role(spec, arg)
    target = out[BAD_ITEM] if batched(spec, arg, value) else out
    if role == COV:
        target[1, 0] = target[0, 1] = bad
    elif role == SAMPLES:
        target[2, 1] = bad
    elif target.ndim == 1:
        target[BAD_ITEM if not batched(spec, arg, value) else 0] = bad
    return out


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("spec, arg", ARGS, ids=ARG_IDS)
def test_nan_and_inf_are_refused_naming_argument_and_item(spec, arg, bad, rng):
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg)
    with pytest.raises(ValueError) as excinfo:
        spec(**put(kwargs, spec, arg, with_bad_entry(spec, arg, value, bad)))
    message = str(excinfo.value)
    if spec.name == "sinkhorn" and arg.startswith("weights") or _role(spec, arg) == WEIGHTS:
        assert_refused(spec, arg, excinfo, "finite", item=BAD_ITEM)
    else:
        assert_refused(spec, arg, excinfo, "NaN or infinite",
                       item=BAD_ITEM if batched(spec, arg, value) else None)
    if isinstance(spec.arrays[arg], tuple):  # an element of a list: the element is named
        index = spec.arrays[arg][2]
        assert f"[{index}]" in message or f"group {index}" in message, message


@pytest.mark.parametrize("spec", [s for s in SPECS if s.one_triangle], ids=repr)
def test_one_triangle_functions_read_the_upper_triangle_in_every_layout(spec, rng):
    kwargs = spec.make(rng)
    a = kwargs["a"].copy()
    upper = np.triu(a)
    symmetric = upper + np.swapaxes(np.triu(a, 1), -1, -2)
    expected = spec(**dict(kwargs, a=symmetric))
    a[..., 2, 0] = np.nan  # below the diagonal: not read
    a[..., 1, 0] += 5.0
    for layout in ["c", "fortran", "item_fortran", "strided", "negative"]:
        got = spec(**dict(kwargs, a=a if layout == "c" else relaid(a, layout)))
        assert_finite(spec, got)
        assert_same(spec, got, expected)


# ---- covariance values --------------------------------------------------------------------------

@pytest.mark.parametrize("spec, arg", COV_ARGS, ids=COV_IDS)
def test_asymmetric_covariances_are_refused_naming_item(spec, arg, rng):
    if spec.one_triangle:
        pytest.skip("reads one triangle (see the test above)")
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg).copy()
    value[BAD_ITEM, 0, 1] += 1e-3
    with pytest.raises(ValueError) as excinfo:
        spec(**put(kwargs, spec, arg, value))
    assert_refused(spec, arg, excinfo, "not symmetric", item=BAD_ITEM)


def indefinite(value):
    out = value.copy()
    w, v = np.linalg.eigh(out[BAD_ITEM])
    w[0] = -0.5 * w[-1]
    out[BAD_ITEM] = (v * w) @ v.T
    out[BAD_ITEM] = (out[BAD_ITEM] + out[BAD_ITEM].T) / 2
    return out


def singular(value):
    out = value.copy()
    w, v = np.linalg.eigh(out[BAD_ITEM])
    w[0] = 0.0
    out[BAD_ITEM] = (v * w) @ v.T
    out[BAD_ITEM] = (out[BAD_ITEM] + out[BAD_ITEM].T) / 2
    return out


@pytest.mark.parametrize("spec, arg", COV_ARGS, ids=COV_IDS)
def test_indefinite_covariances_are_refused_naming_item(spec, arg, rng):
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg)
    bad = put(kwargs, spec, arg, indefinite(value))
    if spec.name in ("eigh", "eigvalsh"):  # any symmetric matrix
        assert_finite(spec, spec(**bad))
        return
    with pytest.raises(ValueError) as excinfo:
        spec(**bad)
    # A W2 barycenter sees the inputs through their weighted mean (its iterate), which the
    # message names as such; the others name the input item itself.
    item = None if spec.name == "w2_barycenter" else BAD_ITEM
    assert_refused(spec, arg, excinfo, "positive", item=item)


@pytest.mark.parametrize("spec, arg", COV_ARGS, ids=COV_IDS)
def test_singular_covariances_work_or_are_refused_when_definiteness_is_needed(spec, arg, rng):
    kwargs = spec.make(rng)
    value = get(kwargs, spec, arg)
    bad = put(kwargs, spec, arg, singular(value))
    if arg in spec.positive_definite and spec.name != "w2_barycenter":
        with pytest.raises(ValueError) as excinfo:
            spec(**bad)
        assert_refused(spec, arg, excinfo, "positive definite", item=BAD_ITEM)
    else:  # singular is fine (the barycenter: the weighted mean stays definite)
        assert_finite(spec, spec(**bad))


# ---- mismatched dimensions and batches ----------------------------------------------------------

PAIR_SPECS = [s for s in SPECS if "a_mean" in s.arrays]  # the two sides with means


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=repr)
def test_mean_of_the_wrong_length_is_refused(spec, rng):
    kwargs = spec.make(rng)
    for side in ("a_mean", "b_mean"):
        bad = dict(kwargs, **{side: kwargs[side][:, :-1]})
        with pytest.raises(ValueError, match=side + " has length") as excinfo:
            spec(**bad)
        assert excinfo.value.argument == side


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=repr)
def test_mismatched_batches_are_refused(spec, rng):
    kwargs = spec.make(rng)
    all_pairs = spec.name.endswith("all_pairs")
    with pytest.raises(ValueError, match="batch sizes do not match"):  # 2 means, 3 covariances
        spec(**dict(kwargs, a_mean=kwargs["a_mean"][:2]))
    if not all_pairs:
        cov = spd(rng, kwargs["b_cov"].shape[-1], K + 1)
        with pytest.raises(ValueError, match="batch sizes do not match: a_cov has 3 items but "
                                             "b_cov has 4"):
            spec(**dict(kwargs, b_cov=cov, b_mean=None))


@pytest.mark.parametrize("spec", PAIR_SPECS, ids=repr)
def test_dimensions_of_the_two_sides(spec, rng):
    kwargs = spec.make(rng)
    other = spd(rng, 4, K if not spec.name.endswith("all_pairs") else 2)
    bad = dict(kwargs, b_cov=other, b_mean=None)
    if spec.name.startswith("igw") and spec.name != "igw_map":  # any two dimensions
        assert_finite(spec, spec(**bad))
    else:
        with pytest.raises(ValueError) as excinfo:
            spec(**bad)
        assert "b_cov" in str(excinfo.value)


def test_other_mismatches(rng):
    cases = [
        (lambda: gaussot.w2_barycenter(spd(rng, 3, K), means=np.zeros((K, 2))), "means has length"),
        (lambda: gaussot.w2_barycenter(spd(rng, 3, K), weights=np.ones(K + 1)),
         "'weights' has length 4, expected 3"),
        (lambda: gaussot.mmot(spd(rng, 3, K), means=np.zeros((K + 1, 3))),
         "batch sizes do not match"),
        (lambda: gaussot.mmot(spd(rng, 3, K), weights=np.ones(2)), "'weights' has length 2"),
        (lambda: gaussot.igw_barycenter([spd(rng, 3, 2), spd(rng, 2)], weights=np.ones(4)),
         "'weights' has length 4, expected 3"),
        (lambda: gaussot.frechet_distance(np.ones((2, 5, 3)), np.ones((3, 5, 3))),
         "batch sizes do not match"),
        (lambda: gaussot.linear_cka(np.ones((5, 3)), np.ones((6, 3))), "samples (rows)"),
        (lambda: gaussot.sinkhorn(np.ones((4, 3)), np.ones((5, 2))), "dimension"),
        (lambda: gaussot.sinkhorn(np.ones((4, 3)), np.ones((5, 3)), weights_x=np.ones(5) / 5),
         "'weights_x' has length 5, expected 4"),
        (lambda: gaussot.compare_representations([np.ones((5, 3)), np.ones((6, 2))]),
         "has 6 samples"),
        (lambda: gaussot.compare_representations([np.ones((5, 3))], names=["a", "b"]), "names"),
        (lambda: gaussot.igw_map(spd(rng, 2), spd(rng, 3)), "needs d_a >= d_b"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
            call()


# ---- empty batches and dimensions ---------------------------------------------------------------

def _z(*shape):
    return np.zeros(shape)


# (call, expected): a tuple of result shapes (leaves in order), or an error fragment.
EMPTY_CASES = {
    "w2_squared k=0": (lambda: gaussot.w2_squared(_z(0, 3, 3), _z(0, 3, 3)), [(0,)]),
    "w2_squared one vs 0": (lambda: gaussot.w2_squared(np.eye(3), _z(0, 3, 3)), [(0,)]),
    "w2_squared d=0": (lambda: gaussot.w2_squared(_z(0, 0), _z(0, 0), a_mean=_z(0)), [()]),
    "w2_squared_all_pairs 0x2": (
        lambda: gaussot.w2_squared_all_pairs(_z(0, 3, 3), np.stack([np.eye(3)] * 2)), [(0, 2)]),
    "brenier_map k=0": (lambda: gaussot.brenier_map(_z(0, 3, 3), _z(0, 3, 3)),
                        [(0, 3, 3), (0, 3)]),
    "brenier_map d=0": (lambda: gaussot.brenier_map(_z(0, 0), _z(0, 0)), [(0, 0), (0,)]),
    "mccann k=0": (lambda: gaussot.mccann_interpolant(_z(0, 3, 3), _z(0, 3, 3), 0.5),
                   [(0, 3), (0, 3, 3)]),
    "mccann d=0": (lambda: gaussot.mccann_interpolant(_z(0, 0), _z(0, 0), 0.5), [(0,), (0, 0)]),
    "gradient k=0": (lambda: gaussot.w2_squared_gradient(_z(0, 3, 3), _z(0, 3, 3)),
                     [(0, 3), (0, 3, 3), (0, 3), (0, 3, 3)]),
    "gradient d=0": (lambda: gaussot.w2_squared_gradient(_z(0, 0), _z(0, 0)),
                     [(0,), (0, 0), (0,), (0, 0)]),
    "w2_barycenter k=0": (lambda: gaussot.w2_barycenter(_z(0, 3, 3)), "at least one Gaussian"),
    "w2_barycenter d=0": (lambda: gaussot.w2_barycenter(_z(2, 0, 0)), [(0,), (0, 0)]),
    "frechet k=0": (lambda: gaussot.frechet_distance(_z(0, 5, 3), _z(0, 4, 3)), [(0,)]),
    "frechet n=1": (lambda: gaussot.frechet_distance(_z(1, 3), np.eye(3)), "at least 2 samples"),
    "frechet n=0": (lambda: gaussot.frechet_distance(_z(0, 3), np.eye(3)), "at least 2 samples"),
    "frechet d=0": (lambda: gaussot.frechet_distance(_z(5, 0), _z(4, 0)), [()]),
    "eigh k=0": (lambda: gaussot.eigh(_z(0, 3, 3)), [(0, 3), (0, 3, 3)]),
    "eigh d=0": (lambda: gaussot.eigh(_z(2, 0, 0)), [(2, 0), (2, 0, 0)]),
    "eigvalsh d=0": (lambda: gaussot.eigvalsh(_z(0, 0)), [(0,)]),
    "sqrtm k=0": (lambda: gaussot.sqrtm(_z(0, 4, 4)), [(0, 4, 4)]),
    "inv_sqrtm d=0": (lambda: gaussot.inv_sqrtm(_z(0, 0)), [(0, 0)]),
    "logm k=0": (lambda: gaussot.logm(_z(0, 2, 2)), [(0, 2, 2)]),
    "sqrtm_and_inv_sqrtm d=0": (lambda: gaussot.sqrtm_and_inv_sqrtm(_z(3, 0, 0)),
                                [(3, 0, 0), (3, 0, 0)]),
    "powm k=0": (lambda: gaussot.powm(_z(0, 2, 2), 3.0), [(0, 2, 2)]),
    "sample_moments k=0": (lambda: gaussot.sample_moments(_z(0, 5, 3)), [(0, 3), (0, 3, 3)]),
    "sample_moments n=1": (lambda: gaussot.sample_moments(_z(1, 3)), "at least 2 samples"),
    "sample_moments d=0": (lambda: gaussot.sample_moments(_z(5, 0)), "dimension >= 1"),
    "igw_squared k=0": (lambda: gaussot.igw_squared(_z(0, 3, 3), _z(0, 2, 2)), [(0,)]),
    "igw_squared d_b=0": (lambda: gaussot.igw_squared(np.eye(3), _z(0, 0)), [()]),
    "igw_squared_all_pairs 0x0": (lambda: gaussot.igw_squared_all_pairs(_z(0, 3, 3),
                                                                        _z(0, 2, 2)), [(0, 0)]),
    "igw_plan d_a=0": (lambda: gaussot.igw_plan(_z(0, 0), np.eye(2)), [(0, 2)]),
    "igw_map d_b=0": (lambda: gaussot.igw_map(np.eye(3), _z(0, 0)), [(0, 3), (0,)]),
    "igw_map k=0": (lambda: gaussot.igw_map(_z(0, 3, 3), _z(0, 2, 2)), [(0, 2, 3), (0, 2)]),
    "igw_barycenter none": (lambda: gaussot.igw_barycenter(_z(0, 3, 3)), "at least one"),
    "igw_barycenter []": (lambda: gaussot.igw_barycenter([]), "at least one"),
    "igw_barycenter d=0": (lambda: gaussot.igw_barycenter(_z(0, 0)), [(0,), (0, 0), ()]),
    "linear_cka k=0": (lambda: gaussot.linear_cka(_z(0, 5, 3), _z(0, 5, 2)), [(0,)]),
    "linear_cka n=1": (lambda: gaussot.linear_cka(_z(1, 3), _z(1, 2)), "at least 2 samples"),
    "linear_cka d=0": (lambda: gaussot.linear_cka(_z(5, 0), np.eye(5)), "no features"),
    "compare []": (lambda: gaussot.compare_representations([]), "nothing to compare"),
    "compare d=0": (lambda: gaussot.compare_representations([np.eye(5), _z(5, 0)]),
                    "no features"),
    "compare n=1": (lambda: gaussot.compare_representations([_z(1, 3), _z(1, 2)]),
                    "at least 2 samples"),
    "mmot p=0": (lambda: gaussot.mmot(_z(0, 3, 3)), "at least 2 Gaussians"),
    "mmot p=1": (lambda: gaussot.mmot(np.eye(3)), "at least 2 Gaussians"),
    "mmot d=0": (lambda: gaussot.mmot(_z(2, 0, 0)), "dimension d >= 1"),
    # dict results in the order of their sorted keys
    "entropic_ot k=0": (lambda: gaussot.entropic_ot(_z(0, 3, 3), _z(0, 3, 3), sigma=1.0),
                        [(0, 6, 6), (0,), (0, 6), (0,), (0,)]),
    "entropic_ot d=0": (lambda: gaussot.entropic_ot(_z(0, 0), _z(0, 0), sigma=1.0),
                        [(0, 0), (), (0,), (), ()]),
    "entropic_map k=0": (lambda: gaussot.entropic_map(_z(0, 2, 2), _z(0, 2, 2), sigma=1.0),
                         [(0, 2, 2), (0, 2), (0, 2, 2)]),
    "entropic_potentials d=0": (
        lambda: gaussot.entropic_potentials(_z(0, 0), _z(0, 0), sigma=1.0),
        [(0, 0), (0,), (), (0, 0), (0,), ()]),
    "sinkhorn_divergence k=0": (
        lambda: gaussot.sinkhorn_divergence(_z(0, 2, 2), _z(0, 2, 2), sigma=1.0), [(0,)]),
    "sinkhorn k=0": (lambda: gaussot.sinkhorn(_z(0, 4, 2), _z(0, 3, 2)),
                     [(0,), (0,), (), (0, 4), (0, 3), (0,), (0,), (0,), (0,), (0,)]),
    "sinkhorn n=0": (lambda: gaussot.sinkhorn(_z(0, 2), np.eye(2)), "at least one point"),
    "sinkhorn m=0": (lambda: gaussot.sinkhorn(np.eye(2), _z(0, 2)), "at least one point"),
    "sinkhorn d=0": (lambda: gaussot.sinkhorn(_z(3, 0), _z(2, 0)), "dimension >= 1"),
    "cluster []": (lambda: gaussot.cluster([], 1), "at least one"),
    "cluster no items": (lambda: gaussot.cluster(_z(0, 3, 3), 1), "at least one"),
    "cluster bw no items": (lambda: gaussot.cluster(_z(0, 3, 3), 1, metric="bw"), "at least one"),
    "cluster bw d=0": (lambda: gaussot.cluster(_z(2, 0, 0), 1, metric="bw"), "dimension >= 1"),
    "cluster samples d=0": (lambda: gaussot.cluster(_z(2, 5, 0), 1, inputs_are="samples"),
                            "dimension >= 1"),
    # dict results in the order of their sorted keys; 'dimensions' is a list of two numbers
    "cluster d=0": (lambda: gaussot.cluster(_z(2, 0, 0), 1),
                    [(2,), (1, 0), (), (), (), (2, 2), (2, 2), (), (), (), (2,)]),
    "mds n=0": (lambda: gaussot.mds(_z(0, 0)), "at least one point"),
}


@pytest.mark.parametrize("case", list(EMPTY_CASES))
def test_empty_batches_and_dimensions(case):
    call, expected = EMPTY_CASES[case]
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            call()
        return
    result = call()
    shapes = [value.shape for _, value in leaves(result)]
    assert shapes == [tuple(s) for s in expected], f"{case}: {shapes}"
    for _, value in leaves(result):
        if value.dtype.kind == "f":
            assert np.all(np.isfinite(value))


# ---- scalar options -----------------------------------------------------------------------------

E3 = np.diag([1.0, 2.0, 3.0])
E2 = np.diag([2.0, 1.0])
M3 = np.array([1.0, 0.0, -1.0])
M2 = np.array([0.5, 1.0])
X = np.random.default_rng(3).standard_normal((8, 3))
Y = np.random.default_rng(4).standard_normal((6, 3))

INF, NAN = np.inf, np.nan
# (function, fixed arguments, option, bad values, fragment the message must hold). The option
# is named in every message (as the Python keyword or the C++ option, e.g. options.tolerance).
OPTION_CASES = [
    ("mccann_interpolant", dict(a_cov=E3, b_cov=E3), "t",
     [-0.1, 1.0 + 1e-12, NAN, INF, -INF], "must be in [0, 1]"),
    ("powm", dict(a=E3), "p", [NAN, INF, -INF], "must be finite"),
    ("sqrtm", dict(a=E3), "psd_tolerance", [-1.0, NAN, INF], "must be finite and >= 0"),
    ("logm", dict(a=E3), "psd_tolerance", [-1e-3, NAN], "must be finite and >= 0"),
    ("w2_barycenter", dict(covs=np.stack([E3, 2 * E3])), "tolerance", [-1.0, NAN, INF],
     "must be finite and >= 0"),
    ("w2_barycenter", dict(covs=np.stack([E3, 2 * E3])), "max_iterations",
     [0, -1, 2**31, 10**15], "max_iterations"),
    ("w2_barycenter", dict(covs=np.stack([E3, 2 * E3])), "weights",
     [[1.0, -1.0], [0.0, 0.0], [1.0, NAN], [INF, 1.0]], "weights"),
    ("mmot", dict(covs=np.stack([E3, 2 * E3])), "weights",
     [[1.0, -1.0], [0.0, 0.0], [NAN, 1.0]], "weights"),
    ("mmot", dict(covs=np.stack([E3, 2 * E3])), "tolerance", [-1.0, NAN, INF], "tolerance"),
    ("mmot", dict(covs=np.stack([E3, 2 * E3])), "max_iterations", [-1, 2**31], "max_iterations"),
    ("mmot", dict(covs=np.stack([E3, 2 * E3])), "check_every", [0, -5, 2**31], "check_every"),
    ("mmot", dict(covs=np.stack([E3, 2 * E3])), "solver", ["BM", "", "newton"], "solver"),
    ("igw_barycenter", dict(covs=[E3, E2]), "weights", [[1.0, -1.0], [0.0, 0.0], [NAN, 1.0]],
     "weights"),
    ("frechet_distance", dict(samples_a=X, samples_b=Y), "method", ["Samples", "fast"],
     "method"),
    ("sample_moments", dict(samples=X), "chunk_columns", [-1], "chunk_columns"),
    ("compare_representations", dict(activations=[X, X[:, :2]]), "memory_limit_bytes", [0, -1],
     "memory_limit_bytes"),
    ("compare_representations", dict(activations=[X, X[:, :2]]), "names",
     [5, "ab", ["only one"]], "names"),
    ("compare_representations", dict(activations=[X, X[:, :2]]), "max_iterations",
     [-1, 2**31], "max_iterations"),
    ("compare_representations", dict(activations=[X, X[:, :2]]), "tolerance", [-1.0, NAN],
     "tolerance"),
    ("compare_representations", dict(activations=[X, X[:, :2]]), "restarts", [-1, 2**31],
     "restarts"),
    ("sinkhorn", dict(x=X, y=Y), "sigma", [0.0, -1.0, NAN, INF, 1e-300, 1e300], "sigma"),
    ("sinkhorn", dict(x=X, y=Y), "gamma", [0.0, -1.0, NAN, INF], "gamma"),
    ("sinkhorn", dict(x=X, y=Y), "tolerance", [-1.0, NAN, INF], "tolerance"),
    ("sinkhorn", dict(x=X, y=Y), "max_iterations", [0, -1, 2**31], "max_iterations"),
    ("sinkhorn", dict(x=X, y=Y), "check_every", [0, -1, 2**31], "check_every"),
    ("sinkhorn", dict(x=X, y=Y), "weights_x",
     [np.zeros(8), -np.ones(8) / 8, np.r_[0.0, np.ones(7) / 7]], "weights_x"),
    ("sinkhorn", dict(x=X, y=Y), "weights_y", [np.ones(6)], "total of weights_x"),
]
for _name in ("entropic_ot", "entropic_map", "entropic_potentials", "sinkhorn_divergence",
              "entropic_ot_gradient", "sinkhorn_divergence_gradient"):
    OPTION_CASES.append((_name, dict(a_cov=E3, b_cov=2 * E3), "sigma",
                         [0.0, -1.0, NAN, INF, -INF, 1e-300 * 1e-30], "sigma"))
OPTION_CASES += [
    ("entropic_ot", dict(a_cov=E3, b_cov=2 * E3, sigma=1.0), "gamma", [0.0, -1.0, NAN, INF],
     "gamma"),
    ("entropic_ot", dict(a_cov=E3, b_cov=2 * E3, sigma=1.0, gamma=1.0), "mass_a",
     [0.0, -1.0, NAN, INF], "mass"),
    ("entropic_ot", dict(a_cov=E3, b_cov=2 * E3, sigma=1.0, gamma=1.0), "mass_b",
     [0.0, -2.0, NAN, -INF], "mass"),
    ("entropic_ot", dict(a_cov=E3, b_cov=2 * E3, sigma=1.0), "mass_a", [2.0],
     "masses are for the unbalanced problem"),
    ("entropic_ot_gradient", dict(a_cov=E3, b_cov=2 * E3, sigma=1.0), "gamma",
     [0.0, -1.0, NAN, INF], "gamma"),
    ("entropic_ot_gradient", dict(a_cov=E3, b_cov=2 * E3, sigma=1.0, gamma=1.0), "mass_a",
     [0.0, -1.0, NAN, INF], "mass"),
    ("entropic_ot_gradient", dict(a_cov=E3, b_cov=2 * E3, sigma=1.0), "mass_b", [2.0],
     "masses are for the unbalanced problem"),
]
for _name in ("igw_squared", "igw_squared_all_pairs", "igw_plan", "igw_map"):
    fixed = dict(a_cov=E3, b_cov=E2, a_mean=M3, b_mean=M2)
    OPTION_CASES += [
        (_name, fixed, "max_iterations", [-1, 2**31, 10**15], "max_iterations"),
        (_name, fixed, "tolerance", [-1.0, NAN, INF], "tolerance"),
        (_name, fixed, "restarts", [-1, 2**31], "restarts"),
        (_name, fixed, "signs", [[1], [1, 1, 1], [2, 1], [1.5, 1], "ab", 5, [None, 1]], "signs"),
    ]
CLUSTER_FIXED = dict(inputs=[E3, E2, 2 * E3])
OPTION_CASES += [
    ("cluster", CLUSTER_FIXED, "k", [0, -1, 4, 2**31, 2**62], "k"),
    ("cluster", dict(CLUSTER_FIXED, k=2), "n_init", [0, -1, 2**31], "n_init"),
    ("cluster", dict(CLUSTER_FIXED, k=2), "max_iterations", [-1, 2**31], "max_iterations"),
    ("cluster", dict(CLUSTER_FIXED, k=2), "metric", ["w2", "IGW", ""], "metric"),
    ("cluster", dict(CLUSTER_FIXED, k=2), "inputs_are", ["cov", "sample"], "inputs_are"),
    ("cluster", dict(CLUSTER_FIXED, k=2), "labels",
     [[0, 1], [0, 1, 1.5], ["a", "b", "c"], [0, 1, np.nan], [[0, 1, 2]], 7], "labels"),
    ("mds", dict(distances=_distances(np.random.default_rng(0), 4)), "dim", [0, -1, 2**31],
     "dim"),
]
for _name in [s.name for s in SPECS]:
    fixed = {arg: get(BY_NAME[_name].make(np.random.default_rng(0)), BY_NAME[_name], arg)
             for arg in BY_NAME[_name].arrays if not isinstance(BY_NAME[_name].arrays[arg], tuple)}
    if "activations" in BY_NAME[_name].arrays:
        fixed = dict(activations=[X, X[:, :2]])
    if "covs" in BY_NAME[_name].arrays and _name == "igw_barycenter":
        fixed = dict(covs=[E3, E2])
    if _name == "cluster":
        fixed = dict(CLUSTER_FIXED)
    extra = BY_NAME[_name].make(np.random.default_rng(0))
    for key in ("t", "p", "sigma", "k"):
        if key in extra:
            fixed[key] = extra[key]
    OPTION_CASES.append((_name, fixed, "backend", ["gpu", "cuda:x", "cuda:-1", ""], "backend"))

OPTION_IDS = [f"{c[0]}-{c[2]}" for c in OPTION_CASES]


@pytest.mark.parametrize("name, fixed, option, values, fragment", OPTION_CASES, ids=OPTION_IDS)
def test_bad_scalar_options_are_refused_by_name(name, fixed, option, values, fragment):
    for value in values:
        with pytest.raises((ValueError, TypeError)) as excinfo:
            getattr(gaussot, name)(**fixed, **{option: value})
        message = str(excinfo.value)
        # The library names the masses 'masses.a' and 'masses.b'.
        names = (option, option.replace("mass_", "masses.")) if option.startswith("mass") \
            else (option,)
        assert any(n in message for n in names), f"{name}({option}={value!r}): {message}"
        if isinstance(excinfo.value, gaussot.InvalidArgument):
            assert fragment in message, f"{name}({option}={value!r}): {message}"
        else:  # nanobind's TypeError for a Python integer beyond 64 bits or a wrong type
            assert isinstance(excinfo.value, TypeError) and "incompatible function arguments" in \
                message, message


def test_scalar_options_at_their_limits_work(rng):
    a, b = spd(rng, 3), spd(rng, 3)
    for t in (0.0, 1.0, -0.0):
        assert_finite(BY_NAME["mccann_interpolant"], gaussot.mccann_interpolant(a, b, t))
    np.testing.assert_allclose(gaussot.mccann_interpolant(a, b, 0.0)[1], a, rtol=1e-12)
    np.testing.assert_allclose(gaussot.powm(a, 0.0), np.eye(3), atol=1e-12)
    assert np.isfinite(gaussot.sqrtm(a, psd_tolerance=0.0)).all()
    for sigma in (1e-6, 1e6):
        assert np.isfinite(gaussot.entropic_ot(a, b, sigma=sigma)["value"])
    assert np.isfinite(gaussot.entropic_ot(a, b, sigma=1.0, gamma=1e-300)["value"])
    assert np.isfinite(gaussot.igw_squared(a, spd(rng, 2), a_mean=M3, b_mean=M2,
                                           max_iterations=0))
    report = gaussot.sinkhorn(X, Y, max_iterations=1)  # not converging is reported, not raised
    assert not report["converged"] and np.isfinite(report["value"])
    assert gaussot.sinkhorn(X, Y, tolerance=0.0, max_iterations=20)["iterations"] == 20
    mean, cov = gaussot.sample_moments(X, chunk_columns=10**12)
    np.testing.assert_allclose(cov, np.cov(X.T), rtol=1e-12)


@pytest.mark.parametrize("args, name", [
    ((NAN, 1.0, 0.0, 1.0), "'u'"), ((0.0, INF, 0.0, 1.0), "'a'"), ((0.0, 1.0, -INF, 1.0), "'v'"),
    ((0.0, 1.0, 0.0, NAN), "'b'"), ((0.0, -1.0, 0.0, 1.0), "'a'"), ((0.0, 1.0, 0.0, -0.5), "'b'"),
])
def test_igw_squared_univariate_refuses_bad_numbers(args, name):
    with pytest.raises(gaussot.InvalidArgument, match=name):
        gaussot.igw_squared_univariate(*args)


def test_igw_squared_univariate_refuses_overflow_and_takes_zero_deviations():
    with pytest.raises(gaussot.InvalidArgument, match="beyond the range of float64"):
        gaussot.igw_squared_univariate(0.0, 1e100, 0.0, 1.0)
    assert gaussot.igw_squared_univariate(1.0, 0.0, 1.0, 0.0) == 0.0
    with pytest.raises(TypeError):
        gaussot.igw_squared_univariate("1", 1.0, 1.0, 1.0)


def test_info_takes_no_arguments():
    assert set(gaussot.info()) >= {"version", "backends", "cuda_compiled", "cuda_devices"}
    with pytest.raises(TypeError):
        gaussot.info(1)


# ---- absurd sizes -------------------------------------------------------------------------------

ONE = np.ones((1, 1))


# Every size is chosen so that the first allocation is beyond 2^47 bytes (the address space of
# x86-64 user processes) or overflows 64 bits: refused at once whatever the overcommit policy,
# never touched page by page.
@pytest.mark.parametrize("call", [
    lambda: gaussot.sqrtm(np.broadcast_to(np.eye(3), (1 << 44, 3, 3))),
    lambda: gaussot.eigh(np.broadcast_to(np.eye(2), (1 << 44, 2, 2))),
    lambda: gaussot.w2_squared(np.broadcast_to(np.eye(3), (1 << 62, 3, 3)), np.eye(3)),
    lambda: gaussot.igw_squared_all_pairs(np.broadcast_to(np.eye(2), (1 << 31, 2, 2)),
                                          np.broadcast_to(np.eye(2), (1 << 31, 2, 2))),
    lambda: gaussot.entropic_ot(np.broadcast_to(np.eye(2), (1 << 46, 2, 2)), np.eye(2),
                                sigma=1.0),
    lambda: gaussot.sample_moments(np.broadcast_to(ONE, (1 << 45, 2, 1))),
    lambda: gaussot.linear_cka(np.broadcast_to(ONE, (1 << 45, 3, 1)),
                               np.broadcast_to(ONE, (1 << 45, 3, 1))),
    lambda: gaussot.sqrtm(np.broadcast_to(np.float64(1.0), (1 << 24, 1 << 24))),
    lambda: gaussot.w2_squared(np.broadcast_to(np.float64(1.0), (1 << 24, 1 << 24)),
                               np.broadcast_to(np.float64(1.0), (1 << 24, 1 << 24))),
], ids=["sqrtm-k2^44", "eigh-k2^44", "w2-k2^62", "igw-all-pairs-2^62", "entropic-k2^46",
        "moments-k2^45", "cka-k2^45", "sqrtm-d2^24", "w2-d2^24"])
def test_absurd_sizes_are_refused_quickly(call):
    # Results (or workspaces) beyond memory: a MemoryError (gaussot.OutOfMemory, or NumPy's
    # when a layout needs a copy) or an InvalidArgument, at once: not a crash, a hang or a
    # wrapped-around size.
    with pytest.raises((MemoryError, ValueError)):
        call()
