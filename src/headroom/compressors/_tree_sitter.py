"""Tree-sitter grammar loading and a cheap source-language sniffer (line-number prefixes:
`headroom.line_numbers`, re-exported here for the code compressor).

Everything tree-sitter is imported lazily (inside `get_parser`) so `import headroom` stays fast
and an install without the `[code]` extra still works: `get_parser` then returns None and the
code compressor passes units through untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from headroom.line_numbers import NumberedLines, split_line_numbers
from headroom.segments import PATH_ARGUMENT_KEYS

__all__ = [
    "LANGUAGES",
    "NumberedLines",
    "detect_language",
    "get_parser",
    "language_from_path",
    "normalize_language",
    "path_from_arguments",
    "split_line_numbers",
    "unoutlined_language",
]

LANGUAGES = ("python", "javascript", "typescript", "tsx", "go", "rust", "java", "cpp")

_EXTENSIONS: dict[str, str] = {
    "py": "python", "pyi": "python", "pyw": "python",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "jsx": "javascript",
    "ts": "typescript", "mts": "typescript", "cts": "typescript", "tsx": "tsx",
    "go": "go", "rs": "rust", "java": "java",
    # C is parsed with the C++ grammar: it accepts nearly all of C and we only need the outline.
    "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "c++": "cpp", "hpp": "cpp", "hh": "cpp", "hxx": "cpp",
    "h": "cpp", "c": "cpp", "ipp": "cpp", "inl": "cpp", "tpp": "cpp",
}  # fmt: skip
# Extensions we know are *not* source code: the sniffer says None without reading the text.
_NOT_CODE = frozenset(
    "json jsonl ndjson md markdown rst txt log csv tsv yaml yml toml ini cfg conf xml html htm svg "
    "lock out err diff patch".split()
)
_ALIASES: dict[str, str] = {
    "py": "python", "python3": "python", "js": "javascript", "jsx": "javascript", "node": "javascript",
    "ts": "typescript", "golang": "go", "rs": "rust", "c++": "cpp", "cc": "cpp", "cxx": "cpp",
    "c": "cpp", "h": "cpp", "hpp": "cpp",
}  # fmt: skip


def normalize_language(name: str | None) -> str | None:
    """Map a language hint ("py", "TypeScript", "c++") to one of `LANGUAGES`, else None."""
    if not name:
        return None
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in LANGUAGES else None


def _extension(path: str) -> str:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def language_from_path(path: str | None) -> str | None:
    """The language a file extension names, or None (unknown or not code)."""
    return _EXTENSIONS.get(_extension(path)) if path else None


# Source and config files with no outline here: an agent reads them to edit them, and a line
# dropped for its words (as prose) is a line of a script or a setting missing. They stay whole.
_UNOUTLINED: dict[str, str] = {
    **dict.fromkeys(("sh", "bash", "zsh", "ksh", "fish"), "shell"),
    **dict.fromkeys(("ps1", "psm1", "bat", "cmd"), "windows shell"),
    **dict.fromkeys(("rb", "rake", "gemspec"), "ruby"),
    "php": "php", "pl": "perl", "pm": "perl", "lua": "lua", "r": "r", "swift": "swift",
    "kt": "kotlin", "kts": "kotlin", "scala": "scala", "cs": "c#", "fs": "f#", "m": "objective-c",
    "mm": "objective-c", "dart": "dart", "ex": "elixir", "exs": "elixir", "erl": "erlang",
    "hs": "haskell", "clj": "clojure", "jl": "julia", "ml": "ocaml", "zig": "zig", "nim": "nim",
    "groovy": "groovy", "gradle": "gradle", "sql": "sql", "proto": "protobuf", "graphql": "graphql",
    "vue": "vue", "svelte": "svelte", **dict.fromkeys(("html", "htm", "xhtml"), "html"),
    "css": "css", "scss": "scss", "less": "less",
    "tf": "terraform", "hcl": "hcl", "nix": "nix", "cmake": "cmake", "mk": "makefile",
    **dict.fromkeys(("yaml", "yml"), "yaml"), "toml": "toml", "ini": "ini", "cfg": "ini",
    "conf": "config", "properties": "properties", "env": "dotenv",
    **dict.fromkeys(("xml", "xsd", "xsl", "xslt", "plist", "csproj", "vbproj", "fsproj", "props", "targets"), "xml"),
}  # fmt: skip
_UNOUTLINED_NAMES: dict[str, str] = {
    **dict.fromkeys(("makefile", "gnumakefile"), "makefile"),
    **dict.fromkeys(("dockerfile", "containerfile"), "dockerfile"),
    **dict.fromkeys(("jenkinsfile", "vagrantfile", "rakefile", "gemfile", "podfile", "brewfile"), "ruby"),
    **dict.fromkeys((".bashrc", ".bash_profile", ".zshrc", ".profile"), "shell"),
    "cmakelists.txt": "cmake", "procfile": "procfile", ".env": "dotenv",
}  # fmt: skip


def unoutlined_language(path: str | None) -> str | None:
    """The language of a source or config file this package cannot outline (`deploy.sh`,
    `Makefile`, `ci.yml`), else None."""
    if not path:
        return None
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return _UNOUTLINED_NAMES.get(name) or _UNOUTLINED.get(_extension(name))


_PATH_IN_TEXT = re.compile(r"[\w./\\-]+\.(?:" + "|".join(re.escape(e) for e in _EXTENSIONS) + r")\b")


def path_from_arguments(arguments: str | None) -> str | None:
    """The file path named by a tool call's arguments (a JSON object or loose text), if any."""
    if not arguments:
        return None
    try:
        parsed: Any = json.loads(arguments)
    except (ValueError, TypeError):
        parsed = None
    if isinstance(parsed, dict):
        for key in PATH_ARGUMENT_KEYS:
            value = parsed.get(key)
            if isinstance(value, str) and value:
                return value
        return None
    match = _PATH_IN_TEXT.search(arguments)
    return match.group(0) if match else None


# --------------------------------------------------------------------------- grammars


def _loaders() -> dict[str, Callable[[], object]]:
    # Imported here, not at module level: these are optional and cost ~ms each.
    import tree_sitter_cpp
    import tree_sitter_go
    import tree_sitter_java
    import tree_sitter_javascript
    import tree_sitter_python
    import tree_sitter_rust
    import tree_sitter_typescript

    return {
        "python": tree_sitter_python.language,
        "javascript": tree_sitter_javascript.language,
        "typescript": tree_sitter_typescript.language_typescript,
        "tsx": tree_sitter_typescript.language_tsx,
        "go": tree_sitter_go.language,
        "rust": tree_sitter_rust.language,
        "java": tree_sitter_java.language,
        "cpp": tree_sitter_cpp.language,
    }


@cache
def get_parser(language: str) -> Any | None:
    """A cached `tree_sitter.Parser` for `language`, or None if the `[code]` extra is missing."""
    try:
        import tree_sitter

        loader = _loaders()[language]
    except (ImportError, KeyError):
        return None
    return tree_sitter.Parser(tree_sitter.Language(loader()))


# --------------------------------------------------------------------------- sniffer

_M = re.MULTILINE


def _sig(weight: int, pattern: str) -> tuple[int, re.Pattern[str]]:
    return weight, re.compile(pattern, _M)


# Per-language line signals with a weight: 3 = nearly unambiguous, 1 = shared with other
# languages. Each signal counts at most 3 matching lines; see `_decide`.
_SIGNALS: dict[str, tuple[tuple[int, re.Pattern[str]], ...]] = {
    "python": (
        _sig(3, r"^\s*(?:async\s+)?def \w+\s*\(.*(?:\)\s*(?:->.*)?:|,)\s*(?:#.*)?$"),
        _sig(3, r"^\s*class \w+(?:\(.*\))?:\s*$"),
        _sig(2, r"^\s*(?:from [\w.]+ import [\w*(]|import [\w.]+(?: as \w+)?\s*$)"),
        _sig(2, r"^\s*(?:elif .*|else|try|finally|except(?: .*)?):\s*$"),
        _sig(1, r"\bself\.\w+|\b__\w+__\b|^\s*@\w+(?:\.\w+)*(?:\(.*\))?\s*$"),
        _sig(2, r'^\s*[rbu]?"""|^\s*(?:return|yield|raise)\b.*\b(?:None|True|False)\b|^\s*\w+ = \w+\(.*\)$'),
    ),
    "javascript": (
        _sig(1, r"^\s*(?:export\s+)?(?:const|let|var)\s+[\w${}\[\], ]+\s*=.*;\s*$"),
        _sig(3, r"^\s*(?:export\s+(?:default\s+)?)?(?:async\s+)?function\s*\*?\s*\w*\s*\("),
        _sig(2, r"=>\s*[{(]?\s*$|\)\s*=>"),
        _sig(3, r"\brequire\(['\"]|module\.exports|^\s*import .* from ['\"]|console\.\w+\("),
        _sig(3, r"^\s*export (?:default|const|class|function)\b"),
        _sig(1, r"\bthis\.\w+|===|!=="),
    ),
    "typescript": (
        _sig(3, r"^\s*(?:export\s+)?(?:interface|type|enum|namespace|declare)\s+\w+"),
        _sig(2, r"\w\??:\s*(?:string|number|boolean|any|unknown|void|never|Promise<|Record<)"),
        _sig(2, r"^\s*(?:public|private|protected|readonly)\s+\w+[?:(]|\bas const\b|import type "),
    ),
    "go": (
        _sig(3, r"^package \w+\s*$"),
        _sig(3, r"^func (?:\([^)]*\)\s*)?\w+\s*[\[(]"),
        _sig(2, r"\b\w+\s*:=\s*|^import \($|^\s*if err != nil \{"),
        _sig(3, r"^type \w+ (?:struct|interface)\s*\{"),
    ),
    "rust": (
        _sig(3, r"^\s*(?:pub(?:\(\w+\))?\s+)?(?:async\s+)?(?:unsafe\s+)?fn \w+\s*[<(]"),
        _sig(3, r"^\s*(?:pub\s+)?(?:struct|enum|trait|mod|impl(?:<.*>)?)\s+\w+|^\s*use [\w:]+(?:::\{.*)?;"),
        _sig(2, r"\blet\s+(?:mut\s+)?\w+|&self\b|&mut\b|#\[derive\(|\b\w+!\("),
        _sig(1, r"->\s*(?:Result|Option|Self|Vec|&|\w+<)|::new\("),
    ),
    "java": (
        _sig(3, r"^package [\w.]+;\s*$|^import (?:static )?[\w.*]+;\s*$"),
        _sig(3, r"^\s*(?:public|private|protected)\s+(?:static\s+)?(?:final\s+)?(?:abstract\s+)?"
                r"(?:class|interface|enum|record|void|[\w<>\[\], ]+\s+\w+\s*\()"),
        _sig(2, r"@Override|System\.out\.|\bnew \w+(?:<.*>)?\(|\bthrows \w+"),
    ),
    "cpp": (
        _sig(3, r'^\s*#\s*(?:include\s*[<"]|define\s+\w+|ifn?def\s+\w+|pragma\s+once|endif)'),
        _sig(3, r"\bstd::\w+|\bnullptr\b|\btemplate\s*<|^\s*namespace\s+\w+\s*\{"),
        _sig(1, r"^\s*(?:public|private|protected):\s*$|::\w+\s*\(|->\w+"),
        _sig(2, r"^\s*(?:static\s+|inline\s+|virtual\s+|const\s+)*(?:void|int|bool|char|auto|size_t|"
                r"unsigned|double|float)\**\s+\**\w+\s*\("),
    ),
}  # fmt: skip
# Things that look code-ish line by line but are another kind the router handles elsewhere.
_NOT_CODE_TEXT = re.compile(r"\A\s*[\[{]\s*[\"\[{\d]|^diff --git |^@@ -\d|^\d{4}-\d\d-\d\d[ T]\d\d:\d\d", re.MULTILINE)
_GREP_LINE = re.compile(r"^[\w./-]+[:-]\d+[:-]", re.MULTILINE)


def _decide(head: str, n_lines: int) -> str | None:
    scores: dict[str, int] = {}
    for language, signals in _SIGNALS.items():
        # Capped per signal: distinct kinds of evidence matter more than one pattern repeated.
        scores[language] = sum(weight * min(len(p.findall(head)), 3) for weight, p in signals)
    ts_score = scores.pop("typescript")
    js_score = scores["javascript"]
    if ts_score >= 6 and js_score + ts_score >= 10:
        scores["javascript"] = js_score + ts_score  # TypeScript is JavaScript with types
        typed = True
    else:
        typed = False
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    (best, top), (_, second) = ranked[0], ranked[1]
    needed = 8 if n_lines >= 6 else 5
    if top < needed or top < second * 1.5:
        return None
    if best == "javascript" and typed:
        return "tsx" if re.search(r"</\w+>|/>\s*$", head, re.MULTILINE) else "typescript"
    return best


def detect_language(text: str, path: str | None = None) -> str | None:
    """Cheap guess of the source language of `text`: the path's extension first, else line
    heuristics over the first ~80 lines (number prefixes stripped). None when it is not code."""
    if path:
        ext = _extension(path)
        if ext in _EXTENSIONS:
            return _EXTENSIONS[ext]
        if ext in _NOT_CODE:
            return None
    for window in (80, 240):  # a long license/docstring header can hide the code of a first window
        lines = text[: window * 200].split("\n", window)[:window]
        numbered = split_line_numbers(lines)
        head_lines = list(numbered.code_lines) if numbered else lines
        head = "\n".join(head_lines)
        if not head.strip() or _NOT_CODE_TEXT.search(head):
            return None
        if len(_GREP_LINE.findall(head)) * 2 > len(head_lines):
            return None  # grep/search output: a different kind
        found = _decide(head, sum(1 for line in head_lines if line.strip()))
        if found is not None or len(lines) < window:
            return found
    return None
