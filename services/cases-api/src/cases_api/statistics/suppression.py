"""Small-cell suppression for the de-identified statistics that cases-api publishes.

A table counts beneficiaries over one or two fixed dimensions (sex, age band, exploitation
form, country, year...). Before it leaves the service no value may single out a person:

* Primary suppression: a cell, and in a 2-D table a margin, with ``1 <= n < threshold`` is
  never published. Zeros are published. If the grand total itself is that small, every
  non-zero value is hidden.
* Complementary suppression: a hidden value must not be recoverable exactly from what is
  published. Published values are tied by linear equations: a 1-D total is the sum of its
  cells; in 2-D each margin is the sum of its row or column and the grand total is the sum
  of the row margins and of the column margins.

Complements are chosen by the standard practical rule, repeated until stable: a line (a row,
a column, a set of margins, the cells of a 1-D table) whose own total is published may not
hold exactly one hidden value, so its smallest non-zero published value is hidden as well;
cells before margins before the total, ties in category order. A zero is never chosen: a
published zero reveals nothing and a hidden one protects nothing. When a row's only hidden
cell has no non-zero partner, its margin is hidden instead, and the margin sets follow.

That single-cell-per-line audit prevents exact recovery from any one equation, which is what
the issue asks for. It is not enough on its own: equations can be added up. In 2-D the
hidden values can form two closed groups joined by one cell, which the sum of several
equations then gives away although every line holds two hidden values. So a last check
sees the equations as a flow network -- row-margin hub -> rows -> columns -> column-margin
hub -> back to the row-margin hub through the total -- where each value is an edge and
every equation says that what enters a node leaves it. A hidden value is exactly recoverable
iff its edge is a bridge of the hidden edges: an edge on a cycle of hidden edges can move by
one around the cycle, and every hidden value is at least 1, so the other table is still
non-negative. A bridge left over is broken by hiding the smallest non-zero published value
across it, preferring one that closes a cycle, and the line rule runs again.

This is a greedy, deterministic procedure, not an optimal (minimum information loss) solver:
it may hide more than strictly necessary. The module is pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import NamedTuple

Cell = tuple[str, ...]
Margin = tuple[int, str]

_CELL, _MARGIN, _TOTAL = 0, 1, 2  # also the order in which complements are preferred


@dataclass(frozen=True)
class SuppressedTable:
    """A table ready to publish; ``None`` marks a suppressed value."""

    dimensions: tuple[str, ...]
    cells: dict[Cell, int | None]
    # (dimension index, value) -> total over the other dimension; only for 2-D tables.
    margins: dict[Margin, int | None]
    total: int | None
    primary: frozenset[Cell]  # suppressed because small
    complementary: frozenset[Cell]  # suppressed to protect other cells
    suppressed_margins: frozenset[Margin]
    threshold: int


class _Edge(NamedTuple):
    kind: int
    ends: tuple[int, int]
    value: int


def suppress(
    dimensions: Sequence[str],
    counts: Mapping[Cell, int],
    categories: Sequence[Sequence[str]],
    threshold: int = 5,
) -> SuppressedTable:
    """Suppress small cells and their complements in a 1-D or 2-D table of counts.

    ``categories[i]`` is the full vocabulary of dimension ``i``; a cell absent from
    ``counts`` is a true zero.
    """
    cats = _validate(dimensions, counts, categories, threshold)
    cell_keys = list(product(*cats))
    values = {key: counts.get(key, 0) for key in cell_keys}
    margin_keys: list[Margin] = []
    if len(cats) == 1:  # every cell runs between the same two nodes; so does the total
        hub_rows, hub_cols = 0, 1
        edges = [_Edge(_CELL, (0, 1), values[key]) for key in cell_keys]
    else:
        rows, cols = cats
        hub_rows, hub_cols = len(rows) + len(cols), len(rows) + len(cols) + 1
        edges = [
            _Edge(_CELL, (i, len(rows) + j), values[(rows[i], cols[j])])
            for i, j in product(range(len(rows)), range(len(cols)))
        ]
        for i, row in enumerate(rows):
            margin_keys.append((0, row))
            edges.append(_Edge(_MARGIN, (hub_rows, i), sum(values[(row, c)] for c in cols)))
        for j, col in enumerate(cols):
            margin_keys.append((1, col))
            node = len(rows) + j
            edges.append(_Edge(_MARGIN, (node, hub_cols), sum(values[(r, col)] for r in rows)))
    total = sum(values.values())
    edges.append(_Edge(_TOTAL, (hub_cols, hub_rows), total))

    # Primary. A small total needs no rule of its own: every value is at most the total.
    hidden = {i for i, e in enumerate(edges) if 1 <= e.value < threshold}
    while (pick := _next_complement(edges, hidden)) is not None:
        hidden.add(pick)

    n_cells = len(cell_keys)
    return SuppressedTable(
        dimensions=tuple(dimensions),
        cells={key: None if i in hidden else values[key] for i, key in enumerate(cell_keys)},
        margins={
            key: None if n_cells + k in hidden else edges[n_cells + k].value
            for k, key in enumerate(margin_keys)
        },
        total=None if len(edges) - 1 in hidden else total,
        primary=frozenset(key for key in cell_keys if 1 <= values[key] < threshold),
        complementary=frozenset(
            key for i, key in enumerate(cell_keys) if i in hidden and values[key] >= threshold
        ),
        suppressed_margins=frozenset(
            key for k, key in enumerate(margin_keys) if n_cells + k in hidden
        ),
        threshold=threshold,
    )


def _validate(
    dimensions: Sequence[str],
    counts: Mapping[Cell, int],
    categories: Sequence[Sequence[str]],
    threshold: int,
) -> list[tuple[str, ...]]:
    if threshold < 3:
        raise ValueError(f"threshold must be at least 3, got {threshold}")
    if not 1 <= len(dimensions) <= 2:
        raise ValueError(f"only 1-D and 2-D tables are supported, got {len(dimensions)}-D")
    if len(categories) != len(dimensions):
        raise ValueError("categories must list the values of every dimension")
    cats = [tuple(values) for values in categories]
    if any(len(set(values)) != len(values) for values in cats):
        raise ValueError("a dimension lists the same value twice")
    known = [set(values) for values in cats]
    for cell, n in counts.items():
        if len(cell) != len(cats) or any(v not in k for v, k in zip(cell, known, strict=False)):
            raise ValueError(f"unknown cell {cell!r}")
        if n < 0:
            raise ValueError(f"negative count {n} for cell {cell!r}")
    return cats


def _next_complement(edges: list[_Edge], hidden: set[int]) -> int | None:
    """The next value to hide, or ``None`` when no hidden value is recoverable exactly."""

    def rank(i: int) -> tuple[int, int, int]:
        return edges[i].kind, edges[i].value, i

    published = [i for i, e in enumerate(edges) if i not in hidden and e.value > 0]
    degree = Counter(node for i in hidden for node in edges[i].ends)
    for node in sorted(degree):  # rows, then columns, then the two margin sets
        if degree[node] == 1:  # a line with a published total and one hidden value
            return min((i for i in published if node in edges[i].ends), key=rank)

    links: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    for i in hidden:
        a, b = edges[i].ends
        links[a].append((i, b))
        links[b].append((i, a))

    def reach(start: int, without: int) -> set[int]:
        seen, todo = {start}, [start]
        while todo:
            for i, other in links[todo.pop()]:
                if i != without and other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen

    for bridge in sorted(hidden):
        a, b = edges[bridge].ends
        near = reach(a, bridge)
        if b in near:
            continue
        far = reach(b, bridge)
        across = [i for i in published if len(near.intersection(edges[i].ends)) == 1]
        return min(across, key=lambda i: (far.isdisjoint(edges[i].ends), *rank(i)))
    return None
