"""The lavaan fitMeasures()/lavTestLRT fixture shared by the tests in tests/ml."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).parent / "data" / "fitmeasures_reference.json"


def _nan_for_null(value: Any) -> Any:
    if value is None:
        return math.nan
    if isinstance(value, dict):
        return {key: _nan_for_null(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_for_null(item) for item in value]
    return value


def load_reference(path: Path = REFERENCE) -> dict[str, Any]:
    """Read the fixture; lavaan's NA (JSON null) becomes NaN, names keep lavaan's dots."""
    with path.open() as handle:
        raw = json.load(handle)
    out = dict(raw)
    out["cases"] = {case["name"]: case for case in raw["cases"]}
    for case in out["cases"].values():
        case["fit_measures"] = _nan_for_null(case["fit_measures"])
    out["lrt"] = {entry["name"]: _nan_for_null(entry) for entry in raw["lrt"]}
    return out
