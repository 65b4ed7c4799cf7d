"""The house plan the README's Development section draws, checked: modules stay under 400 lines,
an app imports only the apps before it (with the README's exceptions), and views reach objects
through their app's access.py. Plain files read with `ast`: no Django needed."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
# The README's order: an app may use the apps before it, never the ones after.
ORDER = [
    "core",
    "accounts",
    "courses",
    "llm",
    "trainingfiles",
    "knowledge",
    "assistants",
    "dialogs",
    "training",
    "finetune",
    "sandbox",
]
# The README's exceptions: these use only the apps named (an empty set: none at all).
ONLY = {
    "core": set(),
    "trainingfiles": {"core", "llm"},
    "knowledge": set(),
    "training": {"core", "llm"},
    "sandbox": {"core", "llm", "knowledge"},
    "trainer": set(),
}
SKIPPED_DIRS = {"migrations", "tests", "node_modules", "__pycache__", "var", "static", "templates"}
# Demo data: text, not code.
DATA = {"bench/knowledge_data/lessons.py", "bench/knowledge_data/questions.py"}
ACCESS_HELPER = re.compile(r"_?get_\w+_for_\w+")


def python_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in parts[:-1]):
            continue
        found.append(path)
    return found


def oversized(root: Path) -> list[str]:
    """The modules over MAX_LINES lines, demo data aside."""
    long = []
    for path in python_files(root):
        name = path.relative_to(root).as_posix()
        if path.name == "demo.py" or name in DATA:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long.append(f"{name}: {lines} lines")
    return long


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules += [f"{node.module}.{alias.name}" for alias in node.names]
    return modules


def wrong_imports(root: Path) -> list[str]:
    """Imports against the README's direction: `file: app imports other`."""
    apps = set(ORDER) | {"trainer"}
    wrong = []
    for path in python_files(root):
        relative = path.relative_to(root)
        owner = relative.parts[0]
        if owner not in apps and owner != "config":
            continue  # bench/, bin/, manage.py: tools that may use any app
        for module in imported_modules(path):
            imported = module.split(".")[0]
            if imported not in apps or imported == owner:
                continue
            if owner == "config":
                allowed = relative.as_posix() == "config/urls.py"
            elif imported == "trainer":
                allowed = owner == "training" and module.startswith("trainer.protocol")
            elif owner in ONLY:
                allowed = imported in ONLY[owner]
            else:
                allowed = owner != "trainer" and ORDER.index(imported) < ORDER.index(owner)
            if not allowed:
                wrong.append(f"{relative.as_posix()}: {owner} imports {module}")
    return wrong


def access_helpers_outside_access(root: Path) -> list[str]:
    """`_get_<object>_for_<who>` helpers defined anywhere but an app's access.py."""
    found = []
    for path in python_files(root):
        relative = path.relative_to(root)
        if relative.parts[0] not in ORDER or path.name == "access.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and ACCESS_HELPER.fullmatch(node.name):
                found.append(f"{relative.as_posix()}: {node.name}")
    return found


def test_it_keeps_every_module_under_400_lines():
    assert oversized(ROOT) == []


def test_it_imports_only_the_apps_before_each_app():
    assert wrong_imports(ROOT) == []


def test_it_reaches_objects_through_each_apps_access_module():
    assert access_helpers_outside_access(ROOT) == []


def test_it_tells_an_import_against_the_order(tmp_path):
    for name, text in {
        "courses/views.py": "from dialogs.models import Dialog\n",
        "sandbox/engine.py": "from assistants import engine\n",
        "config/settings.py": "import courses.models\n",
        "training/runner.py": "from trainer import protocol, train\n",
        "finetune/views.py": "from dialogs.access import get_dataset_for_user\n",
    }.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert wrong_imports(tmp_path) == [
        "config/settings.py: config imports courses.models",
        "courses/views.py: courses imports dialogs.models.Dialog",
        "sandbox/engine.py: sandbox imports assistants.engine",
        "training/runner.py: training imports trainer.train",
    ]


def test_it_finds_the_apps_it_checks():
    # A check that reads no file would pass whatever the layout.
    names = {path.relative_to(ROOT).as_posix() for path in python_files(ROOT)}
    assert {"dialogs/access.py", "dialogs/chat/views.py", "config/urls.py"} <= names
    assert not any(name.startswith((".venv", "tests/", "dialogs/migrations/")) for name in names)
