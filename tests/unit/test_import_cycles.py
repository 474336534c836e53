"""No import cycles between the modules of `appointments`.

A cycle makes import order matter (whichever module is imported first sees the other
half-initialised) and is usually hidden with an import inside a function. grimp (the engine
of import-linter) reads every import, inside functions and under TYPE_CHECKING too, so such
a workaround still counts as a cycle here. A package's __init__ importing its own
submodule is an import like any other: fine, unless the submodule imports the package back.
"""

from __future__ import annotations

import itertools

import grimp

PACKAGE = "appointments"


def find_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """For every import a -> b that leads back to a, the shortest way round (a, b, ..., a);
    one per set of modules involved."""
    cycles: dict[frozenset[str], tuple[str, ...]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported == importer:
                back: tuple[str, ...] | None = (importer,)
            else:
                back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycle = (importer, *back)
                cycles.setdefault(frozenset(cycle), cycle)
    return list(cycles.values())


def describe(graph: grimp.ImportGraph, cycle: tuple[str, ...]) -> str:
    """The cycle, each import with its line."""
    lines = [f"import cycle through {len(set(cycle))} modules:"]
    for importer, imported in itertools.pairwise(cycle):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = "; ".join(f"line {d['line_number']}: {d['line_contents']}" for d in details)
        lines.append(f"  {importer} -> {imported}  ({where})")
    return "\n".join(lines)


def test_no_module_takes_part_in_an_import_cycle() -> None:
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    assert len(graph.modules) > 1, graph.modules
    cycles = [describe(graph, cycle) for cycle in find_cycles(graph)]
    assert not cycles, "\n\n".join(cycles)


def test_cycles_through_function_level_imports_are_found_and_listed() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.e"):
        graph.add_module(module)

    def imports(importer: str, imported: str, line: int) -> None:
        contents = f"from {imported} import x"
        graph.add_import(
            importer=importer, imported=imported, line_number=line, line_contents=contents
        )

    imports("pkg.a", "pkg.b", 3)
    imports("pkg.b", "pkg.c", 4)
    imports("pkg.c", "pkg.a", 9)  # inside a function: grimp records it all the same
    # A package importing its submodules, which import each other but not the package.
    imports("pkg", "pkg.d", 1)
    imports("pkg", "pkg.e", 2)
    imports("pkg.d", "pkg.e", 5)
    imports("pkg.e", "pkg.b", 6)

    cycles = find_cycles(graph)

    assert cycles == [("pkg.a", "pkg.b", "pkg.c", "pkg.a")]
    text = describe(graph, cycles[0])
    assert "pkg.a -> pkg.b  (line 3: from pkg.b import x)" in text
    assert "pkg.c -> pkg.a  (line 9: from pkg.a import x)" in text

    imports("pkg.e", "pkg", 7)  # ... until one imports the package back
    assert ("pkg", "pkg.e", "pkg") in find_cycles(graph)
