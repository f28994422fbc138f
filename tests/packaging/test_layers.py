"""The package's house: layers that import only downward, folders a reader can take in,
and a first half that loads without TensorFlow (docs/architecture.md draws it)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "seq2seq"

#: The layers, lowest first: a module may import its own layer's and the lower ones'.
#: The first six and `cli` load without TensorFlow; the stages between them need it
#: (in `data/`, `pipeline.py` alone), and import each other as the work demands.
LAYERS = (
    {"base"},
    {"config"},
    {"text"},
    {"data"},
    {"checks"},
    {"run"},
    {
        "model",
        "decoding",
        "evaluation",
        "weights",
        "logs",
        "machine",
        "training",
        "serving",
        "registered",
    },  # fmt: skip
    {"cli"},
    {"evaluate", "predict", "score", "export", "modes"},
)
#: The layers whose every module loads without TensorFlow.
TENSORFLOW_FREE = ("base", "config", "text", "data", "checks", "run", "cli")
#: The one module of those folders that builds tf.data pipelines.
NEEDS_TENSORFLOW = {"seq2seq.data.pipeline"}
#: Modules side by side in one folder, at most.
FOLDER_LIMIT = 12


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    """The layer of `seq2seq.X...` by X; None for the package's top."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return next(i for i, layer in enumerate(LAYERS) if parts[1] in layer)


def imported(path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name in known and name != "seq2seq")
    return found


def test_every_folder_is_in_a_layer():
    folders = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    tops = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert folders | tops == set().union(*LAYERS)


def test_no_module_imports_a_layer_above_its_own():
    known = modules()
    upward = [
        f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
        for name, path in known.items()
        if layer_of(name) is not None
        for target in sorted(imported(path, known))
        if layer_of(target) is not None and layer_of(target) > layer_of(name)
    ]
    assert not upward, "\n".join(upward)


def test_the_check_sees_lazy_imports_and_names_imported_from_a_folder(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from seq2seq.cli import runner\n    import seq2seq.run.sweep\n")
    known = modules()
    assert imported(path, known) == {"seq2seq.cli", "seq2seq.cli.runner", "seq2seq.run.sweep"}


def test_no_folder_holds_more_than_about_twelve_modules():
    crowded = {
        folder.relative_to(ROOT).as_posix(): count
        for folder in [PACKAGE, *(p.parent for p in PACKAGE.glob("*/__init__.py"))]
        if (count := len([p for p in folder.glob("*.py") if p.name != "__init__.py"]))
        > FOLDER_LIMIT
    }
    assert not crowded


def test_the_first_half_and_the_command_line_load_without_tensorflow():
    names = [
        name
        for name in modules()
        if layer_of(name) is not None
        and name.split(".")[1] in TENSORFLOW_FREE
        and name not in NEEDS_TENSORFLOW
    ]
    assert len(names) > 50
    # One fresh process imports them in turn and names the first after which TensorFlow
    # (or Keras) is loaded.
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "    loaded = {'tensorflow', 'keras'} & set(sys.modules)\n"
        "    assert not loaded, f'{name} loads {sorted(loaded)}'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
