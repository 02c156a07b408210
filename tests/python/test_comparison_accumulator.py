"""gaussot.ComparisonAccumulator, the comparison of layers streamed batch by batch, against
gaussot.compare_representations on the whole data (every metric, any split and order), NumPy's SVD
for the shape metrics, merged shards and summed flat states, and bad batches."""

import numpy as np
import pytest

import gaussot
from test_cka import procrustes_by_optimisation, shape_metrics_numpy

EVERY_METRIC = dict(igw=True, bw=True, cka=True, cka_debiased=True, nbs=True, procrustes=True)
MATRICES = ("cka", "cka_debiased", "nbs", "procrustes", "igw", "igw_lower", "igw_upper", "bw")


def layers(rng, n=80, widths=(3, 6, 3, 5)):
    """Layers of one model: maps of a shared latent through tanh, with offsets (nonzero means)."""
    latent = rng.standard_normal((n, 4))
    out = []
    for d in widths:
        out.append(np.tanh(latent @ rng.standard_normal((4, d)) + 2 * rng.standard_normal(d)
                           + 0.3 * rng.standard_normal((n, d))))
    return out


def assert_same(got, want, rtol, igw_rtol):
    assert got["names"] == want["names"] and got["dimensions"] == want["dimensions"]
    assert got["samples"] == want["samples"]
    for key in MATRICES:
        assert (key in got) == (key in want), key
        if key in want:
            tol = igw_rtol if key == "igw" else rtol
            np.testing.assert_allclose(got[key], want[key], rtol=tol, atol=tol, err_msg=key)


def accumulate(sets, names, order, batch, **kwargs):
    acc = gaussot.ComparisonAccumulator(names, **kwargs)
    for start in range(0, len(order), batch):
        rows = order[start:start + batch]
        acc.update([x[rows] for x in sets])
    return acc


@pytest.mark.parametrize("centered", [False, True])
def test_any_batch_split_and_order_equals_compare_representations(rng, centered):
    sets = layers(rng)
    names = ["a", "b", "c", "d"]
    want = gaussot.compare_representations(sets, names, centered=centered, **EVERY_METRIC)
    n = sets[0].shape[0]
    shuffled = rng.permutation(n)
    for order in (np.arange(n), shuffled):
        for batch in (1, 7, n):
            acc = accumulate(sets, names, order, batch)
            assert acc.samples == n and acc.widths == [3, 6, 3, 5]
            got = acc.compute(centered=centered, **EVERY_METRIC)
            # The uncentered IGW is the ascent's end point, which moves with its inputs' rounding.
            assert_same(got, want, 1e-12, 1e-12 if centered else 1e-6)
    # The metrics are chosen when computing: the same state gives any subset.
    only = acc.compute(igw=False, bw=False, cka=False, nbs=True)
    assert set(only) & set(MATRICES) == {"nbs"}


def test_dict_batches_float32_and_converted_inputs(rng):
    sets = layers(rng, n=40)
    names = ["a", "b", "c", "d"]
    want = gaussot.compare_representations(sets, names, igw=False, bw=False, nbs=True)
    by_dict = gaussot.ComparisonAccumulator(names, widths=[3, 6, 3, 5])
    by_dict.update({name: x[:25] for name, x in zip(reversed(names), reversed(sets))})
    by_dict.update({name: x[25:] for name, x in zip(names, sets)})
    assert_same(by_dict.compute(igw=False, bw=False, nbs=True), want, 1e-12, 0)
    # float32 NumPy batches into a float64 state: converted exactly.
    rounded = [x.astype(np.float32) for x in sets]
    converted = accumulate(rounded, names, np.arange(40), 16)
    assert_same(converted.compute(igw=False, bw=False, nbs=True),
                gaussot.compare_representations([x.astype(np.float64) for x in rounded], names,
                                                igw=False, bw=False, nbs=True), 1e-12, 0)
    # float32 state, fed float64 NumPy batches (converted).
    single = accumulate(sets, names, np.arange(40), 9, precision="float32")
    assert single.state_dict()["products"].dtype == np.float32
    assert_same(single.compute(igw=False, bw=False, nbs=True), want, 2e-4, 0)


def test_shape_metrics_against_numpy_and_the_optimisation(rng):
    sets = layers(rng, n=60, widths=(3, 5, 2))
    acc = accumulate(sets, ["x", "y", "z"], rng.permutation(60), 11)
    out = acc.compute(igw=False, bw=False, cka=False, nbs=True, procrustes=True)
    for i in range(3):
        for j in range(3):
            nbs, angle = shape_metrics_numpy(sets[i], sets[j])
            best = procrustes_by_optimisation(sets[i], sets[j])[0]
            np.testing.assert_allclose(out["nbs"][i, j], nbs, rtol=1e-12)
            np.testing.assert_allclose(out["nbs"][i, j], best, rtol=1e-12)
            np.testing.assert_allclose(out["procrustes"][i, j], angle, rtol=1e-10, atol=1e-7)
            np.testing.assert_allclose(np.cos(out["procrustes"][i, j]), out["nbs"][i, j],
                                       rtol=1e-12)


def test_merged_shards_and_summed_states_equal_one_accumulator(rng):
    sets = layers(rng, n=70)
    names = ["a", "b", "c", "d"]
    order = np.arange(70)
    want = accumulate(sets, names, order, 70).compute(**EVERY_METRIC)
    shards = [accumulate([x[lo:hi] for x in sets], names, np.arange(hi - lo), 6)
              for lo, hi in ((0, 12), (12, 50), (50, 70))]
    merged = gaussot.ComparisonAccumulator(names)
    for shard in shards:
        merged.merge(shard)
    assert merged.samples == 70
    assert_same(merged.compute(**EVERY_METRIC), want, 1e-12, 1e-6)

    # The all-reduce path: every shard rebased on one point, its arrays summed, loaded back.
    common = np.full(17, 0.5)
    states = []
    for shard in shards:
        shard.rebase(common)
        states.append(shard.state_dict())
    total = dict(states[0])
    for key in ("samples", "sums", "products", "norm_sums", "norm_products"):
        total[key] = sum(state[key] for state in states)
    np.testing.assert_array_equal(total["reference"], common)
    reduced = gaussot.ComparisonAccumulator(names)
    reduced.load_state_dict(total)
    assert_same(reduced.compute(**EVERY_METRIC), want, 1e-12, 1e-6)

    # A state saved and loaded gives the same accumulator, which goes on accumulating.
    restored = gaussot.ComparisonAccumulator(names)
    restored.load_state_dict(shards[0].state_dict())
    restored.merge(shards[1])
    restored.update([x[50:] for x in sets])
    assert_same(restored.compute(**EVERY_METRIC), want, 1e-12, 1e-6)


def test_bad_batches_are_refused_by_name_and_change_nothing(rng):
    sets = layers(rng, n=20, widths=(3, 2))
    acc = gaussot.ComparisonAccumulator(["a", "b"])
    acc.update([x[:10] for x in sets])
    before = acc.compute(cka_debiased=True)
    bad = sets[1][10:].copy()
    bad[3, 1] = np.nan
    cases = [
        ({"a": sets[0][10:]}, "has no 'b'"),
        ({"a": sets[0][10:], "b": sets[1][10:], "c": sets[1][10:]}, "unknown layer"),
        ([sets[0][10:]], "has 1 arrays for 2 layers"),
        ([sets[0][10:, :2], sets[1][10:]], "layers[0] ('a')' must be one 3 x m matrix"),
        ([sets[0][10:], sets[1][11:]], "layers[1] ('b')' has 9 inputs, layers[0] has 10"),
        ([sets[0][10:], bad], "layers[1] ('b')' has a NaN"),
        ([sets[0][10:].astype(np.float32), sets[1][10:]], None),  # converted: accepted
    ]
    for batch, message in cases[:-1]:
        with pytest.raises(gaussot.InvalidArgument, match=message.replace("(", r"\(")
                           .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
            acc.update(batch)
        assert acc.samples == 10
        assert_same(acc.compute(cka_debiased=True), before, 0, 0)
    with pytest.raises(gaussot.InvalidArgument, match="other"):
        acc.merge(gaussot.ComparisonAccumulator(["a", "c"], widths=[3, 2]))
    constant = gaussot.ComparisonAccumulator(["p", "q"])
    constant.update([np.ones((6, 2)), rng.standard_normal((6, 1))])
    with pytest.raises(gaussot.InvalidArgument, match="'p'.* constant features"):
        constant.compute(igw=False, bw=False)
    with pytest.raises(gaussot.InvalidArgument, match="samples"):
        gaussot.ComparisonAccumulator(["a"]).compute()
