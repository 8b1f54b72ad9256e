"""Random small matrices: analyse either reports (valid JSON, no NaN) or raises InvalidValue."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itembank.errors import InvalidValue
from itembank.psychometrics import GroupSpec, analyse


@st.composite
def matrices(draw):
    n = draw(st.integers(1, 12))
    k = draw(st.integers(1, 5))
    cells = draw(st.lists(st.sampled_from([0.0, 1.0, 1.0, np.nan]), min_size=n * k,
                          max_size=n * k))
    return np.array(cells).reshape(n, k)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices(), st.sampled_from(["rasch", "2pl", "3pl", None]))
def test_scored_matrices_never_crash(x, model):
    try:
        report = analyse(x, irt_model=model)
    except InvalidValue as exc:
        assert exc.code == "responses.too_few_examinees"
        return
    json.dumps(report.to_json(), allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["A", "B", "C", ""]), min_size=3, max_size=3),
                min_size=2, max_size=15), st.booleans())
def test_raw_codes_never_crash(rows, with_groups):
    raw = np.array(rows)
    groups = None
    if with_groups:
        groups = {"sex": GroupSpec(["f", "m"] * (len(rows) // 2) + ["f"] * (len(rows) % 2), "f")}
    try:
        report = analyse(raw, key=["A", "B", "C"], groups=groups)
    except InvalidValue as exc:
        assert exc.code in {"group.too_small", "group.focal"}
        return
    json.dumps(report.to_json(), allow_nan=False)
