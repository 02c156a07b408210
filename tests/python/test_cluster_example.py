"""Runs examples/python/cluster_digits.py (users of three digit classes, embedded alternately by
two small MLPs of widths 32 and 64, clustered with IGW k-means) and checks that it recovers the
classes, and its picture."""

import os

import numpy as np
import pytest
from examples_path import load_example

import gaussot

pytest.importorskip("sklearn", reason="scikit-learn is not installed: the digits clustering "
                                      "example needs it (pip install scikit-learn)")


@pytest.fixture(scope="module")
def example():
    return load_example("cluster_digits.py")


@pytest.fixture(scope="module")
def run(example, tmp_path_factory):
    out = tmp_path_factory.mktemp("cluster") / "map.png"
    return example.main(["--out", str(out)])


def test_users_are_heterogeneous(example, run):
    sets, labels, embedded_by = run["sets"], run["labels"], run["embedded_by"]
    assert len(sets) == len(example.CLASSES) * example.USERS
    assert sorted({s.shape[1] for s in sets}) == list(example.WIDTHS)
    assert all(s.shape[0] == example.IMAGES for s in sets)
    assert np.all([sets[i].shape[1] == example.WIDTHS[embedded_by[i]] for i in range(len(sets))])
    # Every class has users of both networks.
    for c in example.CLASSES:
        assert set(embedded_by[labels == c]) == {0, 1}


def test_the_classes_are_recovered(run):
    # Observed: ARI = NMI = 1 for the example's seed 0 (and for seeds 0..4 of the networks with 8
    # draws of the users each); 0.9 leaves room for another BLAS's rounding in the training.
    result = run["result"]
    assert result["ari"] >= 0.9 and result["nmi"] >= 0.85, (result["ari"], result["nmi"])
    assert result["converged"]
    assert result["embedding"].shape == (len(run["sets"]), 2)
    assert result["centroid_eigenvalues"].shape == (3, 64)


def test_the_result_is_igw_kmeans_of_the_fitted_spectra(run):
    # The same clustering from the covariances fitted with NumPy (divisor n − 1).
    covs = [np.cov(s.T) for s in run["sets"]]
    again = gaussot.cluster(covs, 3, labels=run["labels"])
    np.testing.assert_array_equal(again["assignment"], run["result"]["assignment"])
    np.testing.assert_allclose(again["objective"], run["result"]["objective"], rtol=1e-9)


def test_picture(run):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: the map is skipped")
    with open(run["picture"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(run["picture"]) > 10000


def test_float32(example, tmp_path):
    out = example.main(["--out", str(tmp_path / "map32.png"), "--dtype", "float32"])
    assert out["result"]["embedding"].dtype == np.float32
    assert out["result"]["ari"] >= 0.9
