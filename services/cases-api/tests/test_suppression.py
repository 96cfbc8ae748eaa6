"""Small-cell suppression: hand-computed tables, validation, and random tables under attack."""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import product

import pytest

from cases_api.statistics.suppression import Cell, SuppressedTable, suppress

X = None  # a suppressed value, in the expected grids below


def suppress_grid(grid: list[list[int]], threshold: int = 5) -> SuppressedTable:
    """Suppress a 2-D table given as rows of counts; categories are r0, r1... and c0, c1..."""
    rows = [f"r{i}" for i in range(len(grid))]
    cols = [f"c{j}" for j in range(len(grid[0]))]
    counts: dict[Cell, int] = {
        (rows[i], cols[j]): n for i, line in enumerate(grid) for j, n in enumerate(line)
    }
    return suppress(["row", "col"], counts, [rows, cols], threshold)


def published_grid(table: SuppressedTable) -> list[list[int | None]]:
    """The published cells, each row followed by its margin, then the column margins and total."""
    rows = [value for dim, value in table.margins if dim == 0]
    cols = [value for dim, value in table.margins if dim == 1]
    grid = [[table.cells[(r, c)] for c in cols] + [table.margins[(0, r)]] for r in rows]
    return [*grid, [table.margins[(1, c)] for c in cols] + [table.total]]


# --- 1-D -------------------------------------------------------------------------------------


def test_1d_single_small_cell_takes_the_smallest_non_zero_partner() -> None:
    counts: dict[Cell, int] = {("a",): 10, ("b",): 2, ("c",): 7, ("e",): 8}  # "d": a true zero
    table = suppress(["form"], counts, [["a", "b", "c", "d", "e"]])
    assert table.cells == {("a",): 10, ("b",): X, ("c",): X, ("d",): 0, ("e",): 8}
    assert table.total == 27
    assert table.primary == {("b",)}
    assert table.complementary == {("c",)}
    assert table.margins == {}
    assert table.suppressed_margins == frozenset()


def test_1d_ties_are_broken_in_category_order() -> None:
    table = suppress(["form"], {("x",): 9, ("y",): 1, ("z",): 9}, [["z", "y", "x"]])
    assert table.complementary == {("z",)}


def test_1d_two_small_cells_protect_each_other() -> None:
    table = suppress(["form"], {("a",): 10, ("b",): 2, ("c",): 3}, [["a", "b", "c"]])
    assert table.cells == {("a",): 10, ("b",): X, ("c",): X}
    assert table.complementary == frozenset()


def test_1d_small_total_hides_everything_but_zeros() -> None:
    table = suppress(["sex"], {("female",): 1, ("male",): 2}, [["female", "male", "other"]])
    assert table.cells == {("female",): X, ("male",): X, ("other",): 0}
    assert table.total is None


# --- 2-D -------------------------------------------------------------------------------------


def test_2d_complements_close_a_rectangle() -> None:
    table = suppress_grid([[20, 3, 15, 8], [12, 10, 0, 9], [7, 25, 6, 30]])
    # r0 pairs its 3 with its smallest other cell (8); column c1 then hides the 10 of r1,
    # which in turn hides the 9 of r1 (its 0 is never a complement) and closes column c3.
    assert published_grid(table) == [
        [20, X, 15, X, 46],
        [12, X, 0, X, 31],
        [7, 25, 6, 30, 68],
        [39, 38, 21, 47, 145],
    ]
    assert table.primary == {("r0", "c1")}
    assert table.complementary == {("r0", "c3"), ("r1", "c1"), ("r1", "c3")}
    assert table.suppressed_margins == frozenset()


def test_2d_small_margin_is_protected_by_another_margin() -> None:
    table = suppress_grid([[10, 20, 30], [1, 2, 0], [15, 6, 8]])
    # Row r1 (total 3) is hidden; column c0 then hides the 10, row r0 the 20; the row margins
    # would give r1 away as 92 - 60 - 29, so the 29 goes too, and row r2 hides its 6.
    assert published_grid(table) == [
        [X, X, 30, 60],
        [X, X, 0, X],
        [15, X, 8, X],
        [26, 28, 38, 92],
    ]
    assert table.primary == {("r1", "c0"), ("r1", "c1")}
    assert table.complementary == {("r0", "c0"), ("r0", "c1"), ("r2", "c1")}
    assert table.suppressed_margins == {(0, "r1"), (0, "r2")}


def test_2d_line_without_partner_hides_its_margin() -> None:
    table = suppress_grid([[2, 9], [6, 0], [0, 8]])
    # The 6 and the 8 are complements of the columns, alone in their rows: the margins of
    # r1 and r2 are hidden instead, and protect each other within the row margins.
    assert published_grid(table) == [
        [X, X, 11],
        [X, 0, X],
        [0, X, X],
        [8, 17, 25],
    ]
    assert table.primary == {("r0", "c0")}
    assert table.suppressed_margins == {(0, "r1"), (0, "r2")}


def test_2d_cell_recoverable_by_combining_equations_is_protected() -> None:
    grid = [[2, 1, 0], [3, 0, 0], [0, 2, 3]]
    table = suppress_grid(grid)
    # Every non-zero value below 5 is primary: all cells, rows r0 and r1, columns c1 and c2.
    # Each line then holds two hidden cells, yet with r2 = 5, c0 = 5 and total = 11 published
    # (c1 + c2 = 6) - (r2 = 5) gives r0/c1 = 1: the row margin r2 must go as well.
    line_rule_only = {**table.margins, (0, "r2"): 5}
    assert attack(grid, table.cells, line_rule_only, table.total) == {"cell r0 c1"}
    assert table.suppressed_margins == {(0, "r0"), (0, "r1"), (0, "r2"), (1, "c1"), (1, "c2")}
    assert attack(grid, table.cells, table.margins, table.total) == set()


def test_2d_bridge_between_protected_groups_is_closed() -> None:
    table = suppress_grid([[0, 2, 15, 0], [8, 4, 0, 1], [0, 0, 0, 32]], threshold=3)
    # The line rule leaves two closed groups, {2, 15, c1, c2} and {1, 32, r1, r2}, joined by the
    # 4 alone: total - r0 - c3 - 8 = 62 - 17 - 33 - 8 would give it away. Of the values published
    # across that join, the margin r0 (17) closes a cycle through the 4; the smaller 8 would not.
    assert published_grid(table) == [
        [0, X, X, 0, X],
        [8, X, 0, X, X],
        [0, 0, 0, X, X],
        [8, X, X, 33, 62],
    ]
    assert table.complementary == {("r0", "c2"), ("r1", "c1"), ("r2", "c3")}
    assert table.suppressed_margins == {(0, "r0"), (0, "r1"), (0, "r2"), (1, "c1"), (1, "c2")}


def test_2d_small_total_hides_everything_but_zeros() -> None:
    table = suppress_grid([[1, 0], [0, 2]])
    assert published_grid(table) == [[X, 0, X], [0, X, X], [X, X, X]]


def test_zeros_stay_published_and_absent_cells_are_zeros() -> None:
    categories = [["female", "male", "other"], ["child", "adult"]]
    counts: dict[Cell, int] = {("female", "child"): 7, ("female", "adult"): 4, ("male", "child"): 9}
    table = suppress(["sex", "age"], counts | {("male", "adult"): 30}, categories)
    # The zeros of "other" are the smallest values of both columns, yet never complements.
    assert table.cells[("other", "child")] == table.cells[("other", "adult")] == 0
    assert table.margins[(0, "other")] == 0
    assert table.primary | table.complementary == {*counts, ("male", "adult")}


def test_threshold_is_configurable_but_never_below_3() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        suppress(["form"], {("a",): 3, ("b",): 4}, [["a", "b"]], threshold=2)
    table = suppress(["form"], {("a",): 3, ("b",): 4}, [["a", "b"]], threshold=3)
    assert table.cells == {("a",): 3, ("b",): 4}
    assert table.threshold == 3
    assert suppress(["form"], {("a",): 3, ("b",): 4}, [["a", "b"]]).cells == {("a",): X, ("b",): X}


@pytest.mark.parametrize(
    ("dimensions", "counts", "categories", "message"),
    [
        (["a", "b", "c"], {}, [["x"], ["y"], ["z"]], "1-D and 2-D"),
        ([], {}, [], "1-D and 2-D"),
        (["a"], {}, [["x"], ["y"]], "every dimension"),
        (["a"], {}, [["x", "x"]], "twice"),
        (["a"], {("w",): 1}, [["x"]], "unknown cell"),
        (["a", "b"], {("x",): 1}, [["x"], ["y"]], "unknown cell"),
        (["a"], {("x",): -1}, [["x"]], "negative"),
    ],
)
def test_invalid_tables_are_refused(
    dimensions: list[str],
    counts: dict[Cell, int],
    categories: list[list[str]],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        suppress(dimensions, counts, categories)


def test_same_input_same_output() -> None:
    rng = random.Random(7)
    categories = [[f"r{i}" for i in range(5)], [f"c{j}" for j in range(6)]]
    counts = {cell: int(rng.expovariate(0.2)) for cell in product(*categories)}
    shuffled = list(counts.items())
    rng.shuffle(shuffled)
    first = suppress(["row", "col"], counts, categories)
    assert suppress(["row", "col"], dict(shuffled), categories) == first
    assert list(first.cells) == list(product(*categories))


# --- random tables ---------------------------------------------------------------------------


def random_table(
    rng: random.Random, shape: tuple[int, ...], max_count: int
) -> tuple[list[list[str]], dict[Cell, int], int]:
    """Categories, counts (mostly small, some zeros listed, some left out) and a threshold."""
    categories = [[f"{'rc'[d]}{i}" for i in range(rng.randint(1, n))] for d, n in enumerate(shape)]
    counts: dict[Cell, int] = {}
    for cell in product(*categories):
        n = 0 if rng.random() < 0.3 else int(rng.expovariate(1 / rng.choice((2, 5, 20))))
        if n or rng.random() < 0.5:
            counts[cell] = min(n, max_count)
    return categories, counts, rng.choice((3, 5, 5, 10))


def check_table(
    table: SuppressedTable, counts: dict[Cell, int], categories: list[list[str]]
) -> None:
    truth = {cell: counts.get(cell, 0) for cell in product(*categories)}
    small = range(1, table.threshold)
    hidden = {cell for cell, n in table.cells.items() if n is None}
    # (d) every cell is there, published ones unchanged; the labels add up.
    assert table.cells.keys() == truth.keys()
    assert all(n == truth[cell] for cell, n in table.cells.items() if n is not None)
    assert table.primary == {cell for cell, n in truth.items() if n in small}
    assert hidden == table.primary | table.complementary
    assert not table.primary & table.complementary
    assert all(truth[cell] > 0 for cell in hidden)
    assert table.total in (None, sum(truth.values()))
    # (a) nothing small is published.
    published = [*table.cells.values(), *table.margins.values(), table.total]
    assert not [n for n in published if n in small]
    if len(categories) == 1:
        assert table.total is None or len(hidden) != 1
        return
    # (b) a line with a published margin hides no cell or at least two.
    for dim, value in table.margins:
        line = [cell for cell in truth if cell[dim] == value]
        if table.margins[(dim, value)] is not None:
            assert table.margins[(dim, value)] == sum(truth[cell] for cell in line)
            assert len(hidden.intersection(line)) != 1, (dim, value)
    # (c) with the total published, a margin set hides no margin or at least two.
    if table.total is not None:
        for dim in (0, 1):
            assert len([m for m in table.suppressed_margins if m[0] == dim]) != 1
    assert table.suppressed_margins == {m for m, n in table.margins.items() if n is None}


@pytest.mark.parametrize("seed", range(4))
def test_random_tables_up_to_6x8_keep_the_invariants_and_resist_an_attacker(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(750):
        categories, counts, threshold = random_table(rng, (6, 8), max_count=500)
        table = suppress(["row", "col"], counts, categories, threshold)
        check_table(table, counts, categories)
        grid = [[counts.get((r, c), 0) for c in categories[1]] for r in categories[0]]
        assert attack(grid, table.cells, table.margins, table.total) == set(), grid


@pytest.mark.parametrize("seed", range(4))
def test_random_small_tables_resist_an_attacker(seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(500):
        categories, counts, threshold = random_table(rng, (3, 3), max_count=12)
        table = suppress(["row", "col"], counts, categories, threshold)
        check_table(table, counts, categories)
        grid = [[counts.get((r, c), 0) for c in categories[1]] for r in categories[0]]
        assert attack(grid, table.cells, table.margins, table.total) == set(), grid


@pytest.mark.parametrize("seed", range(2))
def test_random_1d_tables_resist_an_attacker(seed: int) -> None:
    rng = random.Random(200 + seed)
    for _ in range(500):
        categories, counts, threshold = random_table(rng, (8,), max_count=12)
        table = suppress(["form"], counts, categories, threshold)
        check_table(table, counts, categories)
        # As a 2-D table of one row (whose margin is the total) and one cell per column.
        values = [table.cells[(c,)] for c in categories[0]]
        grid = [[counts.get((c,), 0) for c in categories[0]]]
        cells: dict[Cell, int | None] = {("r0", f"c{j}"): n for j, n in enumerate(values)}
        margins = {(0, "r0"): table.total} | {(1, f"c{j}"): n for j, n in enumerate(values)}
        assert attack(grid, cells, margins, table.total) == set(), grid


# --- the attacker ----------------------------------------------------------------------------


def attack(
    grid: list[list[int]],
    cells: dict[Cell, int | None],
    margins: dict[tuple[int, str], int | None],
    total: int | None,
) -> set[str]:
    """The hidden values of a 2-D table that its published values pin down exactly.

    The attacker knows every published value and every equation (each margin is the sum of its
    line, the total the sum of either set of margins). A hidden value is pinned down by them iff
    it is a fixed combination of the published values: Gauss-Jordan elimination over the
    rationals finds those. Any other hidden value must be shown ambiguous by a witness: another
    table of non-negative integers, obtained by moving one free unknown by 1, that satisfies
    every equation and publishes the same values. Interval propagation is not enough here:
    it misses values recovered by adding several equations together.
    """
    rows = [f"r{i}" for i in range(len(grid))]
    cols = [f"c{j}" for j in range(len(grid[0]))]
    truth = {f"cell {r} {c}": grid[i][j] for i, r in enumerate(rows) for j, c in enumerate(cols)}
    truth |= {f"row {r}": sum(line) for r, line in zip(rows, grid, strict=True)}
    truth |= {f"col {c}": sum(line[j] for line in grid) for j, c in enumerate(cols)}
    truth["total"] = sum(map(sum, grid))
    published = {f"cell {r} {c}": n for (r, c), n in cells.items()}
    published |= {f"{('row', 'col')[d]} {v}": n for (d, v), n in margins.items()}
    published["total"] = total
    equations = [{f"cell {r} {c}": 1 for c in cols} | {f"row {r}": -1} for r in rows]
    equations += [{f"cell {r} {c}": 1 for r in rows} | {f"col {c}": -1} for c in cols]
    equations.append({f"row {r}": 1 for r in rows} | {"total": -1})
    equations.append({f"col {c}": 1 for c in cols} | {"total": -1})
    unknowns = sorted(name for name, n in published.items() if n is None)

    # Reduced row echelon form of: sum(coefficient * unknown) = -sum(coefficient * published).
    matrix = [
        [Fraction(eq.get(u, 0)) for u in unknowns]
        + [Fraction(-sum(k * (published[v] or 0) for v, k in eq.items()))]
        for eq in equations
    ]
    pivots: dict[int, list[Fraction]] = {}  # unknown's column -> its row
    spare = list(matrix)  # rows without a pivot yet
    for col in range(len(unknowns)):
        row = next((r for r in spare if r[col]), None)
        if row is None:
            continue
        spare.remove(row)
        row[:] = [x / row[col] for x in row]
        for line in matrix:
            if line is not row and line[col]:
                line[:] = [x - line[col] * y for x, y in zip(line, row, strict=True)]
        pivots[col] = row

    ambiguous: set[str] = set()
    for free in set(range(len(unknowns))) - pivots.keys():
        for step in (1, -1):
            witness = dict(truth)
            witness[unknowns[free]] += step
            for col, pivot_row in pivots.items():
                moved = truth[unknowns[col]] - pivot_row[free] * step
                assert moved.denominator == 1
                witness[unknowns[col]] = int(moved)
            if all(n >= 0 for n in witness.values()):
                assert all(sum(k * witness[v] for v, k in eq.items()) == 0 for eq in equations)
                assert all(witness[v] == n for v, n in published.items() if n is not None)
                ambiguous |= {u for u in unknowns if witness[u] != truth[u]}
    return set(unknowns) - ambiguous
