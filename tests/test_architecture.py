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
    {"evaluation"},
    {"train"},
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
