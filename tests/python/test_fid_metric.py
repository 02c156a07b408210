"""gaussot.FrechetDistance, the streamed FID metric, against gaussot.frechet_distance on the whole
sets and NumPy's moments; statistics files in pytorch-fid's format both ways; pytorch-fid's own
calculate_frechet_distance when it is installed."""

import numpy as np
import pytest

import gaussot


def features(rng, n, d, shift=0.0):
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    return shift + rng.standard_normal((n, d)) @ mix + 0.1 * rng.standard_normal((n, d))


@pytest.fixture
def sets(rng):
    return features(rng, 90, 6), features(rng, 70, 6, shift=0.3)


def batches(x, sizes):
    start = 0
    for size in sizes:
        yield x[start:start + size]
        start += size
    yield x[start:]


def test_batches_in_any_split_equal_the_whole_sets(sets, dtype):
    real, fake = (s.astype(dtype) for s in sets)
    expected = float(gaussot.frechet_distance(real, fake))
    rtol = 1e-12 if dtype == np.float64 else 2e-4
    for sizes in ([1, 7, 30], [45], [1] * 12):
        metric = gaussot.FrechetDistance()
        for r, f in zip(batches(real, sizes), batches(fake, sizes)):
            metric.update(r, real=True)
            metric.update(f, real=False)
        assert metric.samples(True) == 90 and metric.samples(False) == 70
        np.testing.assert_allclose(metric.compute(), expected, rtol=rtol)
    # One row at a time: each row is its own mean with zero scatter.
    metric = gaussot.FrechetDistance(6)
    for row in real:
        metric.update(row[None, :], real=True)
    metric.update(fake, real=False)
    np.testing.assert_allclose(metric.compute(), expected, rtol=10 * rtol)


def test_merged_shards_and_restored_state(sets):
    real, fake = sets
    expected = float(gaussot.frechet_distance(real, fake))
    shards = [gaussot.FrechetDistance() for _ in range(3)]
    for k, shard in enumerate(shards):
        shard.update(real[30 * k:30 * (k + 1)], real=True)
        if k < 2:
            shard.update(fake[35 * k:35 * (k + 1)], real=False)
    total = gaussot.FrechetDistance()
    for shard in reversed(shards):
        total.merge(shard)
    np.testing.assert_allclose(total.compute(), expected, rtol=1e-12)
    # The flat state restores an equal metric that goes on accumulating.
    state = shards[0].state_dict()
    assert state["real_samples"] == 30 and state["real_scatter"].shape == (6, 6)
    restored = gaussot.FrechetDistance()
    restored.load_state_dict(state)
    restored.update(real[30:], real=True)
    restored.update(fake[35:], real=False)
    np.testing.assert_allclose(restored.compute(), expected, rtol=1e-12)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_statistics_files_in_pytorch_fid_format(sets, tmp_path, save):
    real, fake = sets
    expected = float(gaussot.frechet_distance(real, fake))
    metric = gaussot.FrechetDistance()
    metric.update(real, real=True)
    ours = tmp_path / "ours.npz"
    metric.save_stats(ours, real=True)
    with np.load(ours) as data:  # ours, read by NumPy as pytorch-fid reads it
        np.testing.assert_allclose(data["mu"], real.mean(axis=0), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(data["sigma"], np.cov(real, rowvar=False), rtol=1e-12,
                                   atol=1e-15)
    # Theirs (pytorch-fid writes np.savez_compressed(path, mu=, sigma=)), read by us.
    theirs = tmp_path / "theirs.npz"
    save(theirs, mu=real.mean(axis=0), sigma=np.cov(real, rowvar=False))
    against = gaussot.FrechetDistance()
    against.load_stats(theirs, real=True)
    against.update(fake, real=False)
    np.testing.assert_allclose(against.compute(), expected, rtol=1e-12)
    with pytest.raises(gaussot.InvalidArgument, match="real"):
        against.update(real, real=True)  # a fixed side takes no features
    against.reset(True)
    against.update(real, real=True)
    np.testing.assert_allclose(against.compute(), expected, rtol=1e-12)


def test_against_pytorch_fid(sets):
    fid_score = pytest.importorskip(
        "pytorch_fid.fid_score",
        reason="pytorch-fid (and the torch it imports) is not installed in this environment")
    real, fake = sets
    metric = gaussot.FrechetDistance()
    metric.update(real, real=True)
    metric.update(fake, real=False)
    (mu1, s1), (mu2, s2) = metric.statistics(True), metric.statistics(False)
    np.testing.assert_allclose(metric.compute(),
                               fid_score.calculate_frechet_distance(mu1, s1, mu2, s2), rtol=1e-6)


def test_bad_input_is_refused_by_name_and_changes_nothing(sets, tmp_path):
    real, fake = sets
    metric = gaussot.FrechetDistance()
    metric.update(real, real=True)
    metric.update(fake, real=False)
    before = metric.compute()
    bad = real[:5].copy()
    bad[2, 3] = np.nan
    cases = [
        (lambda: metric.update(real[:, :5], real=True), "features"),
        (lambda: metric.update(real[None], real=True), "features"),
        (lambda: metric.update(bad, real=False), "features"),
        (lambda: metric.update(bad[2:3], real=False), "features"),
        (lambda: metric.update(real.astype(np.float32), real=True), "dtype"),
        (lambda: metric.merge(metric), "other"),
        (lambda: metric.merge(gaussot.FrechetDistance(4)), "dimension"),
        (lambda: metric.set_statistics(np.zeros(6), -np.eye(6), real=False), "generated"),
        (lambda: metric.load_stats(tmp_path / "missing.npz"), "missing.npz"),
    ]
    np.savez(tmp_path / "no_sigma.npz", mu=np.zeros(6))
    cases.append((lambda: metric.load_stats(tmp_path / "no_sigma.npz"), "sigma"))
    for call, name in cases:
        with pytest.raises(gaussot.InvalidArgument, match=name):
            call()
    assert metric.samples(True) == 90 and metric.samples(False) == 70
    assert metric.compute() == before
    empty = gaussot.FrechetDistance()
    empty.update(real, real=True)
    with pytest.raises(gaussot.InvalidArgument, match="generated"):
        empty.compute()
