"""Printers found by the type of what they print, the way SymPy's printers find ``_print_<Class>``.

A ``Registry`` maps a type to a printer; ``lookup(cls)`` walks ``cls.__mro__``, so a subclass of a
registered type gets its parent's printer unless it registers its own. The result types
(``symconv.result``) only look printers up here; the LaTeX package (``symconv.latex``) fills the
registries when it is imported, and ``symconv/__init__`` adds the loader that imports it on the
first look-up. So the results never import the LaTeX code that prints them (no import cycle), and
a new kind of result needs one ``register`` call, never an edit of a dispatch table.

This module imports nothing but ``symconv.errors``: ``import symconv`` loads it without SymPy.

>>> class A: pass
>>> class B(A): pass
>>> shown = Registry("test printer")
>>> _ = shown.register(A)(lambda value: "an A")
>>> shown.lookup(B)(B())
'an A'
>>> shown.lookup(int)
Traceback (most recent call last):
...
symconv.errors.SpecError: result='int': is not a symconv result with a test printer
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .errors import SpecError

__all__ = ["DISPLAYS", "DOCUMENTS", "LOADERS", "REPORTS", "Registry"]

P = TypeVar("P")

LOADERS: list[Callable[[], object]] = []
"""Called (once, in order) before the first look-up that finds nothing: each imports the modules
that register printers (``symconv/__init__`` adds the one of ``symconv.latex``)."""
_loaded: list[bool] = [False]


class Registry:
    """A table type → printer, looked up along the MRO; ``what`` names the printer in errors."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._printers: dict[type, Any] = {}

    def register(self, cls: type) -> Callable[[P], P]:
        """Decorator: ``printer`` prints ``cls`` and its subclasses (unless they register their own)."""
        def store(printer: P) -> P:
            self._printers[cls] = printer
            return printer
        return store

    def _find(self, cls: type) -> Any:
        return next((self._printers[k] for k in cls.__mro__ if k in self._printers), None)

    def lookup(self, cls: type) -> Any:
        """The printer of ``cls``: its own, else that of its nearest registered base (MRO); SpecError
        naming the type when there is none."""
        found = self._find(cls)
        if found is None and not _loaded[0]:
            for load in LOADERS:
                load()
            _loaded[0] = True  # after the loaders: one that failed is retried on the next look-up
            found = self._find(cls)
        if found is None:
            raise SpecError("result", cls.__name__, f"is not a symconv result with a {self.what}")
        return found


DOCUMENTS = Registry("LaTeX document")
"""``to_latex``: result type → function(result, **options) -> str (``symconv.latex.proof_to_latex``)."""
REPORTS = Registry("LaTeX report")
"""result type → its report builder (``symconv.latex.report.ReportPrinter``: build and statement)."""
DISPLAYS = Registry("Jupyter display")
"""``_repr_latex_``: result or counterexample type → function(value) -> str."""
