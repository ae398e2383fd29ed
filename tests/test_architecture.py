"""The package's architecture: no import circles between its modules.

Every import of one `dnnalign_utils` module by another counts, at module level or inside
a function; only a ``if __name__ == "__main__":`` block does not (a module run with
``python -m`` is a module apart from the one its importers get).
"""

from __future__ import annotations

import ast

import networkx as nx
from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "dnnalign_utils"


def _is_main_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _imported_modules(tree: ast.Module, modules: set[str]) -> set[str]:
    found: set[str] = set()
    pending = [node for node in tree.body if not _is_main_block(node)]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "dnnalign_utils":
                found |= {alias.name for alias in node.names if alias.name in modules}
            elif node.module.startswith("dnnalign_utils."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("dnnalign_utils.")
            }
        pending.extend(ast.iter_child_nodes(node))
    return found & modules


def import_graph() -> nx.DiGraph:
    """Module -> the package modules it imports (at any level)."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target in _imported_modules(tree, modules) - {path.stem}:
            graph.add_edge(path.stem, target)
    return graph


def test_the_import_graph_is_read_from_function_level_imports_too(tmp_path):
    tree = ast.parse(
        "from dnnalign_utils import paths\n"
        "def f():\n    from dnnalign_utils.book import x\n"
        "if __name__ == '__main__':\n    from dnnalign_utils import cli\n"
    )
    assert _imported_modules(tree, {"paths", "book", "cli"}) == {"paths", "book"}


def contributing_stages() -> list[tuple[str, list[str]]]:
    """The stages of CONTRIBUTING.md's layout, in order: (stage, its modules)."""
    import re

    text = (REPO_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    layout = text.split("## Layout and ownership", 1)[1].split("\n## ", 1)[0]
    stages: list[tuple[str, list[str]]] = []
    for line in layout.splitlines():
        if heading := re.match(r"  - \*\*(.+)\*\*$", line):
            stages.append((heading.group(1), []))
        elif module := re.match(r"    - `dnnalign_utils/(\w+)\.py`", line):
            stages[-1][1].append(module.group(1))
    return stages


def test_modules_import_only_their_own_or_earlier_stages():
    stages = contributing_stages()
    assert len(stages) >= 5, stages
    rank = {module: i for i, (_, modules) in enumerate(stages) for module in modules}
    graph = import_graph()
    assert set(rank) == set(graph.nodes), set(rank) ^ set(graph.nodes)
    upward = [
        f"{module} ({stages[rank[module]][0]}) imports {target} ({stages[rank[target]][0]})"
        for module, target in graph.edges
        if rank[target] > rank[module]
    ]
    assert upward == []


def test_no_import_circles():
    circles = [sorted(group) for group in nx.strongly_connected_components(import_graph())]
    assert [group for group in circles if len(group) > 1] == []


# ------------------------------------------------- where the report's network travels
# `report.run_report(network, ...)` resolves its `network` argument once; from there
# the value (or its key) may pass through at most MAX_STOPS package functions and climb
# back to a higher module at most MAX_CLIMBS times.
MAX_STOPS = 20
MAX_CLIMBS = 5


def _carries(value, given: str, network) -> bool:
    """Whether an argument is the report's network: the string given, the resolved
    value, its key, or something holding the value (the report's input). A method's
    ``self`` is not an argument: the value answering for itself is not a stop."""
    if isinstance(value, str):
        return value == given or (network is not None and value == network.key)
    return network is not None and (value is network or getattr(value, "network", None) is network)


def network_flow(given: str, run) -> tuple[list[str], list[tuple[str, str]]]:
    """Trace `run()` (a call of `report.run_report` with `given`): the package functions
    that receive the network, first call first (stops), and the calls between two
    package modules that go from a module to one above it (climbs: the callee's module
    imports the caller's, directly or not)."""
    import sys

    from dnnalign_utils import networks

    graph = import_graph()
    resolved = {}  # the value, from the first return of `networks.resolve`
    stops: list[str] = []
    climbs: list[tuple[str, str]] = []

    def module_of(frame) -> str | None:
        name = frame.f_globals.get("__name__", "")
        return name.split(".")[1] if name.startswith("dnnalign_utils.") else None

    def profile(frame, event, arg):
        if event == "return" and frame.f_code is networks.resolve.__code__:
            resolved.setdefault("network", arg)
        if event != "call":
            return
        callee = module_of(frame)
        caller = module_of(frame.f_back) if frame.f_back is not None else None
        if callee is None or caller is None or frame.f_code.co_name.startswith("<"):
            return
        names = frame.f_code.co_varnames[: frame.f_code.co_argcount]
        # a method of the value itself (its properties) answers for it: not a stop
        arguments = [frame.f_locals[n] for n in names if n != "self"]
        if not any(_carries(a, given, resolved.get("network")) for a in arguments):
            return
        where = f"{callee}.{frame.f_code.co_name}"
        if where not in stops:
            stops.append(where)
        if callee != caller and caller in nx.descendants(graph, callee):
            climbs.append((f"{caller}.{frame.f_back.f_code.co_name}", where))

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return stops, climbs


def test_the_report_resolves_its_network_once_and_hands_it_down(tmp_path, monkeypatch):
    """The report for a registered network, with the chapters' kernels replaced by a
    stand-in that records the key numbers a chapter would (what runs in a kernel is
    another process, where the chapter resolves its parameters once)."""
    from dnnalign_utils import book, keynumbers, networks, paths, report

    monkeypatch.setenv(paths.ARTEFACTS_ENV, str(tmp_path / "artefacts"))
    for name in paths.ARTEFACTS:  # the book's own hand-offs are there
        target = paths.artefact_path(name, "smoke")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir() if "." not in target.name else target.write_bytes(b"")
    studied = networks.resolve("clip_vit_b32")
    values = {k.name: 1.0 for k in keynumbers.KEY_NUMBERS}

    def chapter_stand_in(stem, profile, executed_dir, root=None, extra_parameters=None):
        assert extra_parameters == studied.chapter_parameters()
        executed = Path(executed_dir) / "notebooks" / f"{stem}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        executed.write_text("{}")
        own = [k.name for k in keynumbers.KEY_NUMBERS if k.chapter == stem]
        sys.setprofile(None)  # a kernel's work is not the report's
        keynumbers.record(profile, studied, stem, studied.label, **{n: values[n] for n in own})
        for name, artefact in paths.ARTEFACTS.items():  # the hand-offs it writes
            if artefact.chapter == stem and artefact.per_network and not artefact.picture_level:
                target = paths.artefact_path(name, profile, studied)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.mkdir() if "." not in target.name else target.write_bytes(b"")
        sys.setprofile(tracer)
        return executed, 0.1

    import sys
    from pathlib import Path

    monkeypatch.setattr(report, "execute_notebook", chapter_stand_in)
    monkeypatch.setattr(book, "execute_notebook", chapter_stand_in)
    tracer = None

    def run():
        nonlocal tracer
        tracer = sys.getprofile()
        report.run_report("clip_vit_b32", tmp_path / "out", profile="smoke", log=lambda _: None)

    stops, climbs = network_flow("clip_vit_b32", run)
    print(f"{len(stops)} stops: {stops}\n{len(climbs)} climbs: {climbs}")
    assert len(stops) <= MAX_STOPS, stops
    assert len(climbs) <= MAX_CLIMBS, climbs
    print(f"{len(stops)} stops: {stops}\n{len(climbs)} climbs: {climbs}")
