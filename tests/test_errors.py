"""errors.py holds every error and warning a user can meet, exported, each a one-line message."""

from __future__ import annotations

from hprn_geo import errors


def test_every_error_and_warning_is_in_errors_py_and_exported() -> None:
    defined = sorted(name for name, obj in vars(errors).items()
                     if isinstance(obj, type) and issubclass(obj, (errors.HPRNGeoError, errors.HPRNGeoWarning))
                     and obj.__module__ == errors.__name__)
    assert set(defined) <= set(errors.__all__)


def test_no_error_class_is_declared_outside_errors_py() -> None:
    import ast
    from pathlib import Path

    package = Path(errors.__file__).parent
    outside = []
    for path in package.rglob("*.py"):
        if path.name == "errors.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(base, "id", "") in ("HPRNGeoError", "HPRNGeoWarning") or getattr(base, "id", "").endswith(("Error", "Warning"))
                    for base in node.bases):
                outside.append(f"{path.relative_to(package)}: {node.name}")
    assert outside == []
