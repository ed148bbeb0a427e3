"""The one rule for missing values and label encoding (jurybox.stats._validate), used library-wide."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jurybox.errors import JuryboxError
from jurybox.jury import majority_vote
from jurybox.stats import cohen_kappa, percent_agreement
from jurybox.stats._validate import (
    as_float,
    check_labels,
    encode,
    is_missing,
    label_codes,
    missing_mask,
    resolve_labels,
)

MISSING = [None, float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT")]
PRESENT = ["", " ", "None", "nan", 0, 0.0, False, True, 1, -1.5, "A", np.int64(3), np.float64(2.0)]

values = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.just(pd.NA),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.text(max_size=3),
)


@pytest.mark.parametrize("v", MISSING, ids=repr)
def test_missing_values(v) -> None:
    assert is_missing(v)
    assert missing_mask(np.array([v, "x"], dtype=object)).tolist() == [True, False]


@pytest.mark.parametrize("v", PRESENT, ids=repr)
def test_present_values_including_empty_string(v) -> None:
    assert not is_missing(v)
    assert not missing_mask(np.array([v], dtype=object))[0]


@given(st.lists(values, max_size=20))
def test_scalar_and_vectorised_rules_agree(vs) -> None:
    arr = np.array(vs, dtype=object) if vs else np.array([], dtype=object)
    assert missing_mask(arr).tolist() == [is_missing(v) for v in vs]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=False), max_size=20))
def test_float_arrays_missing_is_nan(vs) -> None:
    arr = np.array(vs, dtype=float)
    assert missing_mask(arr).tolist() == [math.isnan(v) for v in vs]
    assert missing_mask(arr.astype(object)).tolist() == [math.isnan(v) for v in vs]


def test_whole_floats_ints_numpy_scalars_and_bools_are_one_label() -> None:
    assert resolve_labels([np.array([1, 1.0, np.int64(1), True, np.float32(1.0)], dtype=object)], None) == [1]
    assert resolve_labels([np.array([0, False, 2.0, 1.5], dtype=object)], None) == [0, 1.5, 2]
    with pytest.raises(JuryboxError, match="must not repeat"):
        resolve_labels([], [1, 1.0])
    assert percent_agreement([1, 2, 3], [1.0, 2.0, 3.0]) == 1.0
    assert percent_agreement(np.array([1, 0]), np.array([True, False])) == 1.0


def test_strings_and_numbers_are_different_labels() -> None:
    assert resolve_labels([np.array(["1", 1, "b", 0.5], dtype=object)], None) == [0.5, 1, "1", "b"]
    assert percent_agreement(["1", "2"], [1, 2], labels=["1", "2", 1, 2]) == 0.0


@given(st.lists(st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", ""]), st.none()), min_size=1,
                max_size=30))
def test_encode_round_trips(vs) -> None:
    arr = np.array(vs, dtype=object)
    lab = resolve_labels([arr], None)
    codes = encode(arr, lab, "x")
    assert all((c == -1) == is_missing(v) for c, v in zip(codes, vs, strict=True))
    assert all(lab[c] == v for c, v in zip(codes, vs, strict=True) if c >= 0)
    assert lab == sorted(lab, key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))


@given(st.lists(st.integers(0, 3), min_size=1, max_size=30))
def test_numeric_and_object_paths_encode_alike(vs) -> None:
    lab = resolve_labels([np.array(vs)], None)
    assert encode(np.array(vs), lab, "x").tolist() == encode(np.array(vs, dtype=object), lab, "x").tolist()
    assert encode(np.array(vs, dtype=float), lab, "x").tolist() == encode(np.array(vs), lab, "x").tolist()


def test_jury_label_matrix_follows_the_same_rule() -> None:
    codes, lab = label_codes([[1, 2.0, None], [1.0, float("nan"), pd.NA], [2, 2, 1]])
    assert lab == (1, 2)
    assert codes.tolist() == [[0, 1, -1], [0, -1, -1], [1, 1, 0]]
    # mixed int/float labels sort numerically (not by type name)
    assert label_codes([[2, 1.5, 1]])[1] == (1, 1.5, 2)
    assert majority_vote([[1, 2.0], [1.0, 2], [pd.NA, 2]]).labels == (1, 2)


def test_unknown_label_is_an_error() -> None:
    with pytest.raises(JuryboxError, match="not one of the labels"):
        label_codes([["a", "z"]], ["a", "b"])
    with pytest.raises(JuryboxError, match="not one of the labels"):
        cohen_kappa(["a", "z"], ["a", "a"], labels=["a", "b"])


def test_as_float() -> None:
    assert np.array_equal(as_float([1, None, pd.NA, "2.5", True, np.nan], "x"),
                          [1.0, np.nan, np.nan, 2.5, 1.0, np.nan], equal_nan=True)
    with pytest.raises(JuryboxError, match="x must hold numbers"):
        as_float(["a"], "x")
    with pytest.raises(JuryboxError, match="one-dimensional"):
        as_float([[1, 2]], "x")


def test_class_indices_accept_whole_floats_only() -> None:
    assert check_labels([0, 1.0, 2]).tolist() == [0, 1, 2]
    with pytest.raises(JuryboxError, match="integer class indices"):
        check_labels([0, 0.5])
    with pytest.raises(JuryboxError, match="integer class indices"):
        check_labels([0, float("nan")])


def test_positional_agreement_one_function_three_missing_rules() -> None:
    from jurybox.audit import positional_agreement as audit_pa
    from jurybox.jury import order_metrics
    from jurybox.stats import flip_rate, positional_agreement

    ab = ["A", "B", None, None, "A"]
    ba = ["A", "A", None, "B", "A"]
    assert positional_agreement(ab, ba) == pytest.approx(2 / 3)  # drop: 3 items with both
    assert positional_agreement(ab, ba, unparsed="category") == pytest.approx(3 / 5)
    assert positional_agreement(ab, ba, unparsed="disagree") == pytest.approx(2 / 5)
    assert flip_rate(ab, ba, unparsed="disagree") == pytest.approx(3 / 5)
    assert audit_pa is positional_agreement
    assert order_metrics(ab, ba, ["A"] * 5).positional_agreement == pytest.approx(2 / 5)
    assert math.isnan(positional_agreement([None], ["A"]))
    with pytest.raises(JuryboxError, match="unparsed must be one of"):
        positional_agreement(ab, ba, unparsed="zero")  # type: ignore[arg-type]
