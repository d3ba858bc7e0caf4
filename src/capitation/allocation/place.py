"""NHS England's place-based need indices, reproduced exactly.

For a place *p* (a set of practices inside one ICB *I*) and a component *c*::

    index_{p,c} = (Σ_{g∈p} WP_{g,c} / Σ_{g∈p} Pop_g) / (Σ_{g∈I} WP_{g,c} / Σ_{g∈I} Pop_g)

and the ICB's own index (against England, whose WP totals equal its population) is
``Σ_{g∈I} WP_{g,c} / Σ_{g∈I} Pop_g``. Sums are correctly rounded (``math.fsum``); published figures round
half up, populations to whole people and indices to three decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .._results import Result
from ..aggregation.membership import Membership
from ..errors import InputError, SchemaError, UnknownCodeError
from .external import COMPONENTS, read_weighted_populations
from .money import round_half_up

__all__ = ["PlaceIndices", "place_indices"]


@dataclass(frozen=True, eq=False, repr=False)
class PlaceIndices(Result):
    """Need indices of places relative to their ICB, and of ICBs relative to England.

    Attributes
    ----------
    places : pandas.DataFrame
        Indexed by ``place``: ``icb_code``, ``practices``, ``population``, ``wp_<component>`` (Σ WP) and
        ``index_<component>`` (unrounded).
    icbs : pandas.DataFrame
        Indexed by ``icb_code``: the same over every practice of the ICB, the index against England.
    components : tuple of str
        The components indexed (keys of :data:`~capitation.allocation.external.COMPONENTS`).
    provenance : Provenance
        Library version.

    The tables are the result's own data: :meth:`to_frame` and :meth:`published` give copies.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"practice_code": ["A1", "A2", "A3"], "icb_code": ["Q1"] * 3,
    ...                       "population": [100.0, 100.0, 100.0], "wp_core_final": [150.0, 75.0, 75.0]})
    >>> result = place_indices(frame, {"east": ["A1"], "west": ["A2", "A3"]}, components=["core"])
    >>> result.places["index_core"].tolist()
    [1.5, 0.75]
    """

    places: pd.DataFrame
    icbs: pd.DataFrame
    components: tuple[str, ...]

    def published(self, level: str = "place") -> pd.DataFrame:
        """Round the table as NHS England publishes it: population to whole people, indices to 3 decimals, half up.

        Parameters
        ----------
        level : {"place", "icb"}
            The places' table, or their ICBs'.

        Returns
        -------
        pandas.DataFrame
            A new table without the ``wp_*`` sums.

        Examples
        --------
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"practice_code": ["A1", "A2", "A3"], "icb_code": ["Q1"] * 3,
        ...                       "population": [100.0, 100.0, 200.0], "wp_core_final": [150.0, 50.0, 200.0]})
        >>> result = place_indices(frame, {"east": ["A1"], "west": ["A2", "A3"]}, components=["core"])
        >>> result.published().columns.tolist()
        ['icb_code', 'practices', 'population', 'index_core']
        """
        table = self.to_frame(level)
        table["population"] = round_half_up(table["population"], 0)
        for c in self.components:
            table[f"index_{c}"] = round_half_up(table[f"index_{c}"], 3)
        return table.drop(columns=[f"wp_{c}" for c in self.components])

    def _frame(self) -> pd.DataFrame:
        return self.places

    def to_frame(self, level: str = "place") -> pd.DataFrame:
        """Return the unrounded table for ``"place"`` or ``"icb"``, as a copy.

        Parameters
        ----------
        level : {"place", "icb"}
            The places' table, or their ICBs'.

        Returns
        -------
        pandas.DataFrame
            Editing it leaves the result as it was.

        Examples
        --------
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"practice_code": ["A1", "A2"], "icb_code": ["Q1"] * 2,
        ...                       "population": [100.0, 100.0], "wp_core_final": [150.0, 50.0]})
        >>> place_indices(frame, {"east": ["A1"]}, components=["core"]).to_frame("icb")["index_core"].tolist()
        [1.0]
        """
        if level not in ("place", "icb"):
            raise InputError(f"The 'level' parameter must be 'place' or 'icb'. Got {level!r}.")
        return (self.places if level == "place" else self.icbs).copy()

    def summary(self) -> str:
        """Describe the published indices of the places, as text.

        Returns
        -------
        str
            A title line (places, ICBs), then the published table.

        Examples
        --------
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"practice_code": ["A1", "A2"], "icb_code": ["Q1"] * 2,
        ...                       "population": [100.0, 100.0], "wp_core_final": [150.0, 50.0]})
        >>> place_indices(frame, {"east": ["A1"]}, components=["core"]).summary().splitlines()[0]
        'Place need indices (1 places in 1 ICB(s), relative to their ICB; half-up rounding)'
        """
        return (f"Place need indices ({len(self.places)} places in {self.places['icb_code'].nunique()} ICB(s), "
                "relative to their ICB; half-up rounding)\n" + self.published().to_string())


def place_indices(practices, places, *, components=("core", "primary_medical_care_final")) -> PlaceIndices:
    """Compute each place's need index relative to its ICB, per component, as in NHS England's place tool.

    Parameters
    ----------
    practices : str, path or pandas.DataFrame
        Practice weighted populations: a shipped year (``'2025/26'``), NHS England's CSV, or a frame with
        ``practice_code``, ``icb_code``, ``population`` and ``wp_*`` columns.
    places : Membership, dict or pandas.Series
        Practice → place: a :class:`Membership`, a ``{place: [practice codes]}`` dict, or a Series of place
        indexed by practice code. Every place must lie inside one ICB; practices of the ICB outside every
        place still count in the ICB's totals.
    components : sequence of str
        Keys of :data:`~capitation.allocation.external.COMPONENTS`.

    Returns
    -------
    PlaceIndices
        The places' and their ICBs' populations, weighted populations and need indices (unrounded).

    Examples
    --------
    >>> from capitation.datasets import load_practices
    >>> frame = load_practices("2025/26")
    >>> icb = frame[frame.icb_code == "QHM"].practice_code
    >>> result = place_indices(frame, {"north": icb[:40].tolist(), "south": icb[40:].tolist()})
    >>> result.published().loc["south", "icb_code"]
    'QHM'
    """
    frame = read_weighted_populations(practices)
    components = tuple(components)
    bad = [c for c in components if c not in COMPONENTS]
    if bad or not components:
        raise InputError(f"The 'components' parameter of place_indices must name some of {list(COMPONENTS)}. "
                         f"Got {list(components)!r}.")
    if "icb_code" not in frame.columns:
        raise InputError("place_indices needs each practice's 'icb_code'. Fix: pass NHS England's file, which "
                         "has it.")
    place_of = _place_series(places)
    where = pd.Index(frame["practice_code"]).get_indexer(place_of.index)
    if (where < 0).any():
        missing = place_of.index[where < 0][:5].tolist()
        raise UnknownCodeError(f"Practices {missing} of the places are not in the weighted-population file "
                               f"({int((where < 0).sum())} in all). Fix: use the file of the same year as the "
                               "places, or drop closed practices from the places.")
    members = frame.iloc[where].assign(place=place_of.to_numpy())
    icb_count = members.groupby("place")["icb_code"].nunique()
    split = icb_count[icb_count > 1]
    if len(split):
        name = split.index[0]
        icbs = sorted(members.loc[members.place == name, "icb_code"].unique())
        raise InputError(f"Place {name!r} spans ICBs {icbs}. A place is a set of practices inside one ICB. "
                         "Fix: split it by ICB.")
    columns = [COMPONENTS[c] for c in components]
    icb_frame = frame[frame["icb_code"].isin(members["icb_code"].unique())]
    icbs = _totals(icb_frame, "icb_code", columns, components)
    for c in components:
        icbs[f"index_{c}"] = icbs[f"wp_{c}"] / icbs["population"]
    table = _totals(members, "place", columns, components)
    table.insert(0, "icb_code", members.groupby("place")["icb_code"].first().reindex(table.index))
    parent = icbs.reindex(table["icb_code"])
    for c in components:
        table[f"index_{c}"] = (table[f"wp_{c}"] / table["population"]) / (
            parent[f"wp_{c}"].to_numpy() / parent["population"].to_numpy())
    return PlaceIndices(table, icbs, components)


def _place_series(places) -> pd.Series:
    if isinstance(places, Membership):
        return pd.Series(places.table["consortium_code"].to_numpy(), index=places.table["practice_code"].to_numpy())
    if isinstance(places, dict):
        pairs = [(p, name) for name, codes in places.items() for p in codes]
        series = pd.Series([name for _, name in pairs], index=[p for p, _ in pairs], dtype=object)
    elif isinstance(places, pd.Series):
        series = places.astype(object)
    else:
        raise SchemaError(f"The 'places' parameter of place_indices must be a Membership, a dict of place → "
                        f"practice codes, or a Series. Got {type(places).__name__}.")
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()][:5].tolist()
        raise InputError(f"Practices {dup} are in more than one place. Fix: a practice belongs to one place.")
    if len(series) == 0:
        raise InputError("The 'places' parameter is empty. Fix: give at least one place with its practices.")
    return series


def _totals(frame: pd.DataFrame, key: str, columns, components) -> pd.DataFrame:
    """Correctly rounded sums (math.fsum) of population and each WP column per group."""
    rows = {}
    for name, group in frame.groupby(key, sort=True):
        rows[name] = {"practices": len(group), "population": math.fsum(group["population"].to_numpy())}
        for column, c in zip(columns, components, strict=True):
            rows[name][f"wp_{c}"] = math.fsum(group[column].to_numpy())
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = key if key != "icb_code" else "icb_code"
    return out
