"""The API reference (docs/api.md): every public function, class and method it renders has
numpydoc parameters and an example; every module of the package is on it or on the internals
page. (The examples themselves run as doctests: pytest's --doctest-modules, conftest.py.)"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import bayescale

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _modules(page: str) -> list[str]:
    return re.findall(r"^::: (\S+)\s*$", (DOCS / page).read_text(), re.M)


def _signature_parameters(obj, bound: bool = False) -> list[str]:
    """The parameters a caller passes (a method's first, bound one left out)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    names = list(sig.parameters)
    return names[1:] if bound and names else names


def _documented(module_name: str):
    """(qualified name, object, own docstring) of what mkdocstrings renders for the module:
    public functions and classes defined in it, and their public methods with a docstring."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if getattr(obj, "__module__", None) != module_name:
            continue  # re-exported: documented where it is defined
        yield f"{module_name}.{name}", obj, obj.__doc__, "class" if inspect.isclass(obj) else ""
        if not inspect.isclass(obj):
            continue
        for attr, member in vars(obj).items():
            if attr.startswith("_"):
                continue
            kind = "method"
            if isinstance(member, property):
                function, kind = member.fget, "property"
            elif isinstance(member, staticmethod):
                function, kind = member.__func__, "static"
            else:
                function = getattr(member, "__func__", member)
            if not callable(function) or not function.__doc__:
                continue  # undocumented members are not rendered
            if _documented_on_a_base(obj, attr):
                continue  # a law's mean, to_natural, ...: the base class documents the protocol
            yield f"{module_name}.{name}.{attr}", function, function.__doc__, kind


def _documented_on_a_base(cls, attr: str) -> bool:
    for base in cls.__mro__[1:]:
        member = vars(base).get(attr)
        doc = getattr(getattr(member, "__func__", member), "__doc__", None) or ""
        if "Examples\n--------" in inspect.cleandoc(doc):
            return True
    return False


def _public_items():
    seen = set()
    for module_name in _modules("api.md"):
        for qualified, obj, doc, kind in _documented(module_name):
            if qualified not in seen:
                seen.add(qualified)
                yield qualified, obj, doc, kind


def test_every_public_item_has_its_parameters_and_an_example():
    items = list(_public_items())
    assert len(_modules("api.md")) >= 30 and len(items) >= 200  # the check is not vacuous
    missing = []
    for qualified, obj, doc, kind in items:
        text = inspect.cleandoc(doc or "")
        wants = []
        if not text:
            wants.append("a docstring")
        takes = _signature_parameters(obj, bound=kind in ("method", "property"))
        if takes and "Parameters\n----------" not in text:
            if kind != "class" or "Attributes\n----------" not in text:
                wants.append("a Parameters section")
        if "Examples\n--------" not in text and kind != "property":
            wants.append("an Examples section")
        if wants:
            missing.append(f"{qualified}: {', '.join(wants)}")
    assert not missing, f"{len(missing)} items of docs/api.md lack:\n" + "\n".join(missing)


def test_every_module_is_on_a_reference_page():
    listed = set(_modules("api.md")) | set(_modules("internals.md"))
    modules = {
        info.name
        for info in pkgutil.walk_packages(bayescale.__path__, "bayescale.")
        if not info.name.rsplit(".", 1)[-1].startswith("_")
    } | {"bayescale"}
    command_line = {m for m in modules if m == "bayescale.cli" or m.startswith("bayescale.cli.")}
    unlisted = sorted(modules - listed - command_line - {"bayescale"})  # the CLI: its --help
    assert not unlisted, f"modules on neither docs/api.md nor docs/internals.md: {unlisted}"


@pytest.mark.parametrize("page", ["api.md", "internals.md"])
def test_reference_pages_name_real_modules(page):
    for module_name in _modules(page):
        importlib.import_module(module_name)
