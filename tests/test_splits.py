"""Splitting rules of budget-matched comparisons: no test geometry in any training set, duplicates on one side."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acquire.splits import Split, SplitError, make_split, split_accurate
from labelers.datasets import load_md17, match_frames


@pytest.fixture(scope="module")
def ethanol_keys():
    return load_md17("ethanol", "ccsd(t)").positions, load_md17("ethanol", "dft").positions


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_ethanol_split_is_leak_free(ethanol_keys, seed):
    acc, inacc = ethanol_keys
    split = make_split(acc, inacc, n_train=200, n_validation=50, n_inaccurate=2000, seed=seed)
    assert (len(split.train), len(split.validation), len(split.inaccurate)) == (200, 50, 2000)
    assert len(split.test) == 1000 - 250
    assert not set(split.train) & set(split.test) and not set(split.validation) & set(split.test)
    training = np.concatenate([acc[split.train + split.validation], inacc[split.inaccurate]])
    assert (match_frames(acc[split.test], training) == -1).all()
    for a, b in ((280, 736), (773, 826)):  # the duplicate pairs stay together
        side = [s for s in (split.train, split.validation, split.test) if a in s]
        assert len(side) == 1 and b in side[0]


def test_seeds_give_different_reproducible_splits(ethanol_keys):
    acc, inacc = ethanol_keys
    a = make_split(acc, inacc, 200, 50, 100, seed=3)
    assert a == make_split(acc, inacc, 200, 50, 100, seed=3)
    assert a.train != make_split(acc, inacc, 200, 50, 100, seed=4).train


def test_split_roundtrip(tmp_path, ethanol_keys):
    acc, inacc = ethanol_keys
    split = make_split(acc, inacc, 20, 5, 10, seed=0)
    split.save(tmp_path / "split.json")
    assert Split.load(tmp_path / "split.json") == split


def test_too_large_split_is_refused(ethanol_keys):
    acc, inacc = ethanol_keys
    with pytest.raises(SplitError):
        make_split(acc, inacc, 960, 50, 10, seed=0)
    with pytest.raises(SplitError):
        make_split(acc, inacc, 200, 50, 5000, seed=0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=5, max_size=60), st.integers(0, 10_000))
def test_groups_never_straddle_sides(labels, seed):
    base = np.random.default_rng(0).normal(size=(31, 4, 3)) * 2.0
    positions = base[labels]  # frames with the same label are the same geometry
    keys = labels
    n_train = max(1, len(keys) // 3)
    try:
        train, val, test = split_accurate(positions, n_train, 1, seed)
    except SplitError:
        return
    side_of = {}
    for side, indices in enumerate((train, val, test)):
        for i in indices:
            assert side_of.setdefault(keys[i], side) == side
    assert sorted(train + val + test) == list(range(len(keys)))


def test_inaccurate_twins_of_test_frames_are_removed(ethanol_keys):
    """Six CCSD(T) frames are rotated copies of DFT pool frames: a test frame's twin never trains."""
    acc, inacc = ethanol_keys
    twins = match_frames(acc, inacc)
    assert (twins >= 0).sum() == 6
    for seed in range(5):
        split = make_split(acc, inacc, 200, 50, len(inacc) - 6, seed=seed)
        excluded = set(range(len(inacc))) - set(split.inaccurate)
        assert {int(twins[i]) for i in split.test if twins[i] >= 0} <= excluded
