"""Imports point down (STYLE.md): the project's modules import each other without a circle.

Every import counts, including those inside functions: an import deferred to
call time is still a lower layer that knows a higher one.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "rooms", "users", "parley")

# The layers, top first: a package may import those below it, never one above.
# config (settings, URLs, the WSGI entry) wires everything; parley is what both apps stand on.
LAYERS = ("config", "rooms", "users", "parley")

# Circles that remain on purpose, as (importer, imported) edges left out of the check.
ALLOWED = {
}


def _modules():
    """{dotted module name: path} for every .py of the project packages, migrations aside."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _resolve(name, modules):
    """The most specific project module that `name` (dotted) names, or None if it is not ours."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports_of(module, path, modules):
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            # `from package import name` imports the submodule `name` if there is one.
            names = [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]
            names = [name for name in names if name in modules] or [prefix]
        else:
            continue
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module:
                targets.add(target)
    return targets


def import_graph():
    modules = _modules()
    return {module: _imports_of(module, path, modules) for module, path in modules.items()}


def find_cycle(graph):
    """One cycle of `graph` as [a, b, ..., a], or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack = []

    def visit(node):
        colour[node] = GREY
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if colour.get(target, BLACK) == GREY:
                return stack[stack.index(target):] + [target]
            if colour.get(target) == WHITE:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_import_graph_finds_imports_inside_functions_and_relative_ones():
    graph = import_graph()
    assert "rooms.models" in graph["rooms.stream"]  # from .models import ...
    assert "rooms.polling" in graph["rooms.api"]
    assert "rooms.maintenance" in graph["config.wsgi"]  # inside a function


def test_the_project_modules_import_each_other_without_a_cycle():
    graph = import_graph()
    for (importer, imported) in ALLOWED:
        graph[importer].discard(imported)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_allowed_edge_still_exists():
    graph = import_graph()
    stale = [edge for edge in ALLOWED if edge[1] not in graph.get(edge[0], ())]
    assert not stale, f"no longer imported, remove from ALLOWED: {stale}"


def test_packages_import_only_the_layers_below_them():
    rank = {package: index for index, package in enumerate(LAYERS)}
    upward = sorted(
        (importer, imported)
        for importer, targets in import_graph().items()
        for imported in targets
        if rank[imported.split(".")[0]] < rank[importer.split(".")[0]]
    )
    assert not upward, f"imports that point up a layer: {upward}"


WEB_PROCESS = """
import os, sys
import config.wsgi  # what gunicorn loads
from django.urls import get_resolver
get_resolver().url_patterns  # every view module, the bots' API included
heavy = sorted(name for name in ("sklearn", "numpy", "scipy", "dateparser", "rooms.assistant", "rooms.assistant_bot")
               if name in sys.modules)
print(",".join(heavy))
"""


def test_a_web_process_never_loads_the_assistant_or_scikit_learn():
    """Only the bots' process (manage.py run_bots) pays for the assistant's NLP (about 130 MB)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PARLEY_BACKGROUND_THREADS": "off"}
    done = subprocess.run([sys.executable, "-c", WEB_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"a web process loaded: {done.stdout.strip()}"
