"""The knowledge search benchmark's distractors (bench/knowledge_search.py): real text found
offline on this machine — the docstrings of Python's standard library and of the venv's packages
(English), the Russian message catalogs (Russian) — and the cutting of documents into passages as
uploads are cut."""

import ast
import gettext
import glob
import importlib
import inspect
import random
import re
import sys
import warnings
from pathlib import Path

from bench.harness import ROOT

MIN_WORDS = 12  # a distractor passage shorter than this is a stray line, not text


# Not imported: they open a browser, print, draw, or are Windows-only, tests or data.
SKIPPED_MODULES = {
    "antigravity",
    "this",
    "idlelib",
    "tkinter",
    "turtle",
    "turtledemo",
    "pydoc_data",
    "ensurepip",
    "test",
    "msvcrt",
    "winreg",
    "winsound",
    "nt",
}
# Submodules that importing their package does not bring.
SUBMODULES = [
    "collections.abc",
    "concurrent.futures",
    "email.message",
    "email.mime.text",
    "email.parser",
    "email.policy",
    "email.utils",
    "http.client",
    "http.cookiejar",
    "http.cookies",
    "http.server",
    "importlib.metadata",
    "importlib.resources",
    "importlib.util",
    "json.decoder",
    "json.encoder",
    "logging.config",
    "logging.handlers",
    "multiprocessing.pool",
    "unittest.mock",
    "urllib.error",
    "urllib.parse",
    "urllib.request",
    "urllib.robotparser",
    "wsgiref.simple_server",
    "xml.dom.minidom",
    "xml.etree.ElementTree",
    "xml.sax",
    "xmlrpc.client",
    "xmlrpc.server",
]
# Packages of the venv (requirements.txt, requirements-dev.txt) whose docstrings are English text,
# read from their source. Those missing are skipped.
DOC_PACKAGES = [
    "django",
    "numpy",
    "pip",
    "_pytest",
    "pydantic",
    "pygments",
    "docx",
    "pypdf",
    "click",
    "psycopg",
    "allauth",
    "redis",
]
# The operating system's Russian catalogs taken (/usr/share/locale/ru/LC_MESSAGES/<domain>.mo): a fixed
# list, so that installing a package does not change the set; those missing are skipped. Not the ISO
# lists of country and language names: names, not text.
SYSTEM_CATALOGS = (  # noqa: SIM905 -- as a list literal this takes 70 lines
    "Linux-PAM PackageKit adduser appstream apt at-spi2-core avahi bash bfd binutils coreutils diffutils dpkg-dev "
    "dpkg findutils gas gdk-pixbuf gettext-runtime gettext-tools git glib20 gnupg2 gprof grep "
    "gsettings-desktop-schemas gstreamer-1.0 gtk20-properties gtk20 initdb-15 ld libapt-pkg6.0 libc libidn2 "
    "libpq5-15 make man-db-gnulib man-db pg_amcheck-15 pg_archivecleanup-15 pg_basebackup-15 pg_checksums-15 "
    "pg_config-15 pg_controldata-15 pg_ctl-15 pg_dump-15 pg_resetwal-15 pg_rewind-15 pg_test_fsync-15 "
    "pg_test_timing-15 pg_upgrade-15 pg_verifybackup-15 pg_waldump-15 pgscripts-15 plpgsql-15 popt postgres-15 "
    "psmisc psql-15 python-apt sed shadow shared-mime-info software-properties systemd tar wget-gnulib wget "
    "xdg-user-dirs xkeyboard-config"
).split()
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?(?:\d+\$)?[-+ #0']*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z%]|\{[^{}\s]*\}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ACCELERATOR = re.compile(r"(?<!\w)[_&~](?=\w)")


# Distractors --------------------------------------------------------------------------------


def _documented(module_name: str) -> list[str]:
    """Paragraphs of a module's documentation: its docstring, then its public names' (classes with
    their own methods' docstrings), each led by its qualified name."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(module_name)
    except Exception:  # not on this platform, or not importable here: no text from it
        return []
    paragraphs = []
    if doc := inspect.getdoc(module):
        paragraphs.append(f"{module_name}\n{doc}")
    for attr, value in sorted(vars(module).items()):
        owner = getattr(value, "__module__", None)
        if attr.startswith("_") or not isinstance(owner, str):
            continue
        if owner != module_name and not owner.startswith(module_name + "."):
            continue  # imported from elsewhere: documented there
        if inspect.isclass(value):
            if doc := inspect.getdoc(value):
                paragraphs.append(f"{module_name}.{attr}\n{doc}")
            for method_name, method in sorted(vars(value).items()):
                if method_name.startswith("_") and method_name != "__init__":
                    continue
                doc = getattr(method, "__doc__", None)
                if isinstance(doc, str) and doc.strip():
                    paragraphs.append(f"{module_name}.{attr}.{method_name}\n{inspect.cleandoc(doc)}")
        elif inspect.isroutine(value) and (doc := inspect.getdoc(value)):
            paragraphs.append(f"{module_name}.{attr}\n{doc}")
    return paragraphs


def english_documents() -> list[tuple[str, str]]:
    """(file name, text): the standard library's documentation, then the venv's packages', a file
    per module."""
    names = [n for n in sorted(sys.stdlib_module_names) if not n.startswith("_") and n not in SKIPPED_MODULES]
    documents, seen = [], set()
    for name in sorted([*names, *SUBMODULES]):
        paragraphs = []
        for paragraph in _documented(name):
            body = paragraph.split("\n", 1)[-1]
            if body not in seen:  # inherited and shared docstrings once
                seen.add(body)
                paragraphs.append(paragraph)
        if paragraphs:
            documents.append((f"python-{name}.txt", "\n\n".join(paragraphs)))
    return documents + package_documents(seen)


def _docstrings(path: Path, module_name: str) -> list[str]:
    """A module's docstrings (its own, its classes', functions' and methods'), read from the source
    without importing it, each led by its qualified name."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    paragraphs = []

    def visit(node, name: str) -> None:
        if doc := ast.get_docstring(node):
            paragraphs.append(f"{name}\n{doc}")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, f"{name}.{child.name}")

    visit(tree, module_name)
    return paragraphs


def package_documents(seen: set[str]) -> list[tuple[str, str]]:
    """(file name, text): the documentation of the venv's packages (DOC_PACKAGES), a file per module."""
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])  # the venv's site-packages
    documents = []
    for package in DOC_PACKAGES:
        for path in sorted((site / package).rglob("*.py")):
            relative = path.relative_to(site).with_suffix("")
            if any(part in ("test", "tests", "testing", "_vendor") for part in relative.parts):
                continue
            module_name = ".".join(relative.parts).removesuffix(".__init__")
            paragraphs = []
            for paragraph in _docstrings(path, module_name):
                body = paragraph.split("\n", 1)[-1]
                if body not in seen and not _CYRILLIC.search(body):
                    seen.add(body)
                    paragraphs.append(paragraph)
            if paragraphs:
                documents.append((f"{module_name}.txt", "\n\n".join(paragraphs)))
    return documents


def _catalog_messages(path: str) -> list[str]:
    with open(path, "rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    messages = []
    for key, value in sorted(catalog.items(), key=lambda item: str(item[0])):
        msgid = key[0] if isinstance(key, tuple) else key
        if not msgid or (isinstance(key, tuple) and key[1] != 0):
            continue  # the header; plural forms after the first
        text = " ".join(_ACCELERATOR.sub("", _PLACEHOLDER.sub(" ", value)).split())
        if _CYRILLIC.search(text):
            messages.append(text)
    return messages


def russian_catalogs() -> list[str]:
    venv = Path(sys.prefix)
    found = [
        *sorted(glob.glob(str(ROOT / "config/locale/ru/LC_MESSAGES/*.mo"))),
        *sorted(glob.glob(str(venv / "lib/python*/site-packages/**/locale/ru/LC_MESSAGES/*.mo"), recursive=True)),
        *(f"/usr/share/locale/ru/LC_MESSAGES/{domain}.mo" for domain in SYSTEM_CATALOGS),
    ]
    return [path for path in found if Path(path).is_file()]


def russian_documents() -> list[tuple[str, str]]:
    """(file name, text): the Russian messages of each catalog, a message a paragraph."""
    documents, seen = [], set()
    for path in russian_catalogs():
        messages = []
        for message in _catalog_messages(path):
            if message not in seen:
                seen.add(message)
                messages.append(message)
        if messages:
            parts = Path(path).parts  # .../<package>/locale/ru/LC_MESSAGES/<domain>.mo
            package = "os" if path.startswith("/usr/") else parts[-5]
            documents.append((f"ru-{package}-{Path(path).stem}.txt", "\n\n".join(messages)))
    return documents


def pieces(
    documents: list[tuple[str, str]], labels: list[str] | None = None, min_words: int = 0
) -> list[tuple[str, str, str]]:
    """(file name, place, text) of the documents' passages, cut as uploads are (the lessons' titles
    alone are passages too); those holding one of `labels` left out."""
    from knowledge.documents import document_sections, passages_split

    found = []
    for name, text in documents:
        text = _CONTROL.sub(" ", text)  # control characters in docstrings; PostgreSQL's text holds no NUL
        for piece in passages_split(document_sections(filename=name, content=text.encode())):
            if len(piece.text.split()) >= min_words and not any(label in piece.text for label in labels or []):
                found.append((name, piece.place, piece.text))
    return found


def sample(items: list, count: int, seed: int) -> list:
    if count >= len(items):
        return list(items)
    chosen = sorted(random.Random(seed).sample(range(len(items)), count))
    return [items[index] for index in chosen]
