"""Example datasets bundled with pathmodels.

The datasets are simulated from documented populations (see ``README.md`` in this
folder and the ``make_*.py`` script beside each file); none holds real people's data.

================  ==================================================================
``ips_trial``     two-arm IPS trial, N = 600, outcomes at 18 months, complete data
``ips_panel``     the same kind of trial over three waves (0, 6, 12 months), with
                  monotone dropout (missing at random), wide format ``_1 _2 _3``
================  ==================================================================
"""

from __future__ import annotations

import importlib.resources

import pandas as pd

from pathmodels.exceptions import DataError, close_matches

__all__ = ["list_datasets", "load_dataset"]

_DATASETS: dict[str, str] = {
    "ips_trial": "Simulated two-arm IPS trial: employment, self-esteem, support, QoL (N = 600)",
    "ips_panel": "Simulated three-wave IPS trial with dropout, wide format (N = 600)",
}


def list_datasets() -> pd.DataFrame:
    """List the bundled example datasets.

    Returns
    -------
    pandas.DataFrame
        One row per dataset with columns ``name`` and ``title``.

    See Also
    --------
    load_dataset : Load one of them.

    Examples
    --------
    >>> list_datasets()["name"].tolist()
    ['ips_panel', 'ips_trial']
    """
    rows = [{"name": name, "title": _DATASETS[name]} for name in sorted(_DATASETS)]
    return pd.DataFrame(rows, columns=["name", "title"])


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled example dataset.

    Parameters
    ----------
    name : str
        One of the names listed by :func:`list_datasets`.

    Returns
    -------
    pandas.DataFrame
        A fresh copy of the data; missing values are ``NaN``.

    Raises
    ------
    DataError
        If *name* is not a bundled dataset (the message lists close matches).

    See Also
    --------
    list_datasets : The names that exist.

    Examples
    --------
    >>> data = load_dataset("ips_trial")
    >>> data.shape
    (600, 8)
    >>> list(data.columns)
    ['id', 'site', 'arm', 'age', 'employ', 'selfest', 'support', 'qol']
    """
    if not isinstance(name, str) or name not in _DATASETS:
        shown = name if isinstance(name, str) else repr(name)
        raise DataError(f"unknown dataset {shown!r}; " + close_matches(str(shown), _DATASETS))
    resource = importlib.resources.files(__name__) / f"{name}.csv"
    with resource.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)
