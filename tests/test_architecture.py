"""The package graph: each layer imports only from the layers below it (so there are no cycles),
and the command line's help imports neither torch-geometric nor pyrender."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hmrlib"
LAYERS = [  # bottom to top; docs/architecture.md draws the same
    {"constants", "errors", "compat", "camera", "geometry", "seeding", "skeleton", "render", "progress"},
    {"body"},
    {"data"},
    {"models"},
    {"fitting"},
    {"evaluation"},
    {"train"},
    {"people"},
    {"present"},
    {"__main__"},
]


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def hmrlib_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hmrlib."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("hmrlib.")}
    return found


def test_every_module_imports_only_from_its_layer_or_below():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        module = "hmrlib." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for imported in hmrlib_imports(path):
            if layer_of(imported) > layer_of(module):
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_help_is_light():
    code = (
        "import sys\nfrom hmrlib.__main__ import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch_geometric', 'pyrender', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def module_graph() -> dict[str, set[str]]:
    """hmrlib's modules and the hmrlib modules each imports (at the top or inside a function;
    ``from hmrlib.x import y`` counts as importing hmrlib.x.y where y is a module)."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        module = ".".join(("hmrlib", *(parts[:-1] if parts[-1] == "__init__" else parts)))
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hmrlib"):
                for alias in node.names:
                    is_module = (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).with_suffix(".py")
                    imported.add(f"{node.module}.{alias.name}" if is_module.exists() else node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if alias.name.startswith("hmrlib.")}
        graph[module] = imported - {module}
    return graph


def test_no_two_modules_import_each_other_directly_or_around_a_circle():
    """Between layers the rule above rules circles out; this finds them between files of one
    layer too (present/predict and present/video once imported each other)."""
    graph, circles = module_graph(), []

    def visit(module, trail):
        for imported in sorted(graph.get(module, ())):
            if imported in trail:
                circles.append(" -> ".join([*trail[trail.index(imported) :], imported]))
            elif imported not in done:
                visit(imported, [*trail, imported])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert not circles, "\n".join(sorted(set(circles)))
