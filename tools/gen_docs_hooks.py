"""MkDocs hook (mkdocs.yml, ``hooks:``): the client READMEs' relative links, on the site.

docs/clients/<lang>.md includes clients/<lang>/README.md whole with pymdownx.snippets, so the
README stays the one text. Its relative links are written for the repository, from
clients/<lang>/: ``../../docs/errors.md`` is right there and wrong on the site, where the page
sits in docs/clients/. Around each such include this rewrites the included lines only:

- a link into docs/ points at the same page of the site (``../errors.md``);
- a link to another file of the repository, which the site does not have, becomes the file's
  path as code, after the link text when that differs;
- URLs, anchors and absolute paths are left alone.

It runs as two Markdown preprocessors: one before snippets marks each README include, one after
it rewrites what came in between the marks.
"""

import posixpath
import re
from typing import Any, Final

from markdown import Extension, Markdown  # type: ignore[import-untyped]
from mkdocs.config.defaults import MkDocsConfig

_INCLUDE: Final = re.compile(r'\s*--8<--\s+"(clients/[^/"]+/README\.md)"\s*')
_BEGIN: Final = "\x02kizuna-readme:"
_END: Final = "\x03kizuna-readme"
_SNIPPETS_PRIORITY: Final = 32  # pymdownx.snippets' preprocessor
_INLINE: Final = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)((?:\s+\"[^\"]*\")?)\)")
_DEFINITION: Final = re.compile(r"^(\s*\[[^\]]+\]:\s*)(\S+)(.*)$")
_EXTERNAL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|#|/")
_CODE_SPAN: Final = re.compile(r"(`+).*?(?<!`)\1(?!`)")
_FENCE: Final = re.compile(r"\s*(```|~~~)")
_PAGE_FOLDER: Final = "clients"  # where the including pages are, inside docs/


def _target(readme: str, target: str) -> tuple[str, bool]:
    """The link target for the site, and whether it is still a link there."""
    if _EXTERNAL.match(target):
        return target, True
    path, hash_, fragment = target.partition("#")
    in_repo = posixpath.normpath(posixpath.join(posixpath.dirname(readme), path))
    if in_repo.startswith("docs/"):
        page = posixpath.relpath(in_repo.removeprefix("docs/"), _PAGE_FOLDER)
        return page + hash_ + fragment, True
    return in_repo, False


def _rewrite(readme: str, line: str) -> str:
    """One line of prose from the README (code spans inside it are left alone)."""

    def inline(match: re.Match[str]) -> str:
        image, text, target, title = match.groups()
        new, is_link = _target(readme, target)
        if is_link:
            return f"{image}[{text}]({new}{title})"
        shown = f"`{new}`"
        return shown if text.strip("`") == new else f"{text} ({shown})"

    definition = _DEFINITION.match(line)
    if definition is not None:
        new, is_link = _target(readme, definition[2])
        # A definition naming a file the site lacks stays as it is: the build then says so.
        return f"{definition[1]}{new}{definition[3]}" if is_link else line
    out, done = [], 0
    for span in _CODE_SPAN.finditer(line):
        out += [_INLINE.sub(inline, line[done : span.start()]), span[0]]
        done = span.end()
    out.append(_INLINE.sub(inline, line[done:]))
    return "".join(out)


class _MarkIncludes:
    """Before snippets: puts marks around each `--8<-- "clients/<lang>/README.md"` line."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            include = _INCLUDE.fullmatch(line)
            if include is None:
                out.append(line)
            else:
                out += [_BEGIN + include[1], line, _END]
        return out


class _RewriteIncluded:
    """After snippets: rewrites the links between the marks and drops the marks."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        readme: str | None = None
        fence: str | None = None
        for line in lines:
            if line.startswith(_BEGIN):
                readme, fence = line.removeprefix(_BEGIN), None
            elif line == _END:
                readme = None
            elif readme is None:
                out.append(line)
            else:
                opening = _FENCE.match(line)
                if opening is not None and (fence is None or opening[1] == fence):
                    fence = opening[1] if fence is None else None
                    out.append(line)
                else:
                    out.append(line if fence is not None else _rewrite(readme, line))
        return out


class ReadmeLinks(Extension):  # type: ignore[misc]
    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_MarkIncludes(), "kizuna-readme-mark", _SNIPPETS_PRIORITY + 1)
        md.preprocessors.register(_RewriteIncluded(), "kizuna-readme-links", _SNIPPETS_PRIORITY - 1)


def on_config(config: MkDocsConfig, **_: Any) -> MkDocsConfig:
    config.markdown_extensions.append(ReadmeLinks())
    return config
