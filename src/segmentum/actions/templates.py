"""Sandboxed Jinja2 templates for actions: titles, subjects, URLs and email bodies.

Templates run in Jinja2's immutable sandbox (no access to internals such as `__class__`, no calls of
unsafe methods, no mutation) and can include only files inside the workspace: a path that leaves the
workspace, absolutely, through `..` or through a symbolic link, is not found.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from segmentum.errors import ActionError


class WorkspaceLoader(jinja2.FileSystemLoader):
    """Loads templates from the workspace folder only (resolving symbolic links before checking)."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.root = root.resolve()

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        if filename is None or not Path(filename).resolve().is_relative_to(self.root):
            raise jinja2.TemplateNotFound(template)
        return source, filename, uptodate


class _Undefined(jinja2.ChainableUndefined):
    """Missing names render empty (customer attributes vary); anything the sandbox blocked raises."""

    def __str__(self) -> str:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        return ""

    def __iter__(self) -> Iterator[Any]:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        return iter(())


def _finalize(value: Any) -> Any:
    return "" if value is None else value


class Templates:
    """Renders action templates of one workspace."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._compiled: dict[str, jinja2.Template] = {}
        self.env = ImmutableSandboxedEnvironment(
            loader=WorkspaceLoader(self.root),
            autoescape=False,
            finalize=_finalize,
            undefined=_Undefined,
            keep_trailing_newline=True,
        )
        self.html_env = ImmutableSandboxedEnvironment(
            loader=WorkspaceLoader(self.root),
            autoescape=True,
            finalize=_finalize,
            undefined=_Undefined,
        )

    def check(self, text: str, where: str) -> None:
        """Syntax check of an inline template (validation time)."""
        try:
            self.env.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            raise ActionError(
                f"{where}: invalid template {text!r}: {exc.message} (line {exc.lineno})"
            ) from None

    def render(self, text: str, context: dict[str, Any], where: str = "template") -> str:
        """Render an inline template string (compiled once per Templates object)."""
        try:
            compiled = self._compiled.get(text)
            if compiled is None:
                compiled = self._compiled[text] = self.env.from_string(text)
            return compiled.render(context)
        except SecurityError as exc:
            raise ActionError(f"{where}: template {text!r} was blocked by the sandbox: {exc}") from None
        except jinja2.TemplateNotFound as exc:
            raise ActionError(
                f"{where}: template {text!r} includes '{exc.name}', which is not a file inside "
                f"the workspace {self.root}"
            ) from None
        except jinja2.TemplateError as exc:
            raise ActionError(f"{where}: template {text!r} failed: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - {{ 1/0 }}, the sandbox's range() limit: the template's fault
            raise ActionError(f"{where}: template {text!r} failed: {type(exc).__name__}: {exc}") from None

    def render_file(self, path: str, context: dict[str, Any], *, html: bool | None = None) -> str:
        """Render a template file of the workspace (HTML-escaped when it ends in .html / .htm)."""
        if html is None:
            html = path.lower().endswith((".html", ".htm"))
        env = self.html_env if html else self.env
        try:
            return env.get_template(path).render(context)
        except SecurityError as exc:
            raise ActionError(f"template {path}: blocked by the sandbox: {exc}") from None
        except jinja2.TemplateNotFound as exc:
            raise ActionError(
                f"template {path}: '{exc.name}' is not a file inside the workspace {self.root}; "
                "email templates live in the workspace, e.g. templates/winback.html"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise ActionError(f"template {exc.filename or path}:{exc.lineno}: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise ActionError(f"template {path}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - an error raised while rendering is the template's fault
            raise ActionError(f"template {path}: {type(exc).__name__}: {exc}") from None

    def source(self, path: str) -> str:
        """The text of a template file of the workspace ("" when there is none)."""
        try:
            return str(self.env.loader.get_source(self.env, path)[0])  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            return ""

    def exists(self, path: str) -> bool:
        try:
            self.env.loader.get_source(self.env, path)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            return False
        return True
