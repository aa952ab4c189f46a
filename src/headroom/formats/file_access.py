"""Which files a tool call reads or edits, from its name and arguments (the proxy's edit-safety
asks which files were read and edited; a unit's context asks which file a shell command read).

Covers the agents' real tools: Claude Code (Read, Edit, MultiEdit, Write, NotebookEdit, Bash),
Anthropic's text editor tool (str_replace_based_edit_tool), Codex (shell / exec_command with
`cat`, `sed -n`, `nl`, `head`, `tail`, and apply_patch as a custom tool, a function or a
heredoc; in "code mode" the one tool is `exec`, JavaScript that calls `tools.exec_command({...})`
and friends, whose calls are read out of the source), and the common read_file / edit_file /
write_file MCP names.
"""

from __future__ import annotations

import bisect
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from headroom.segments import PATH_ARGUMENT_KEYS

__all__ = ["FileAccess", "file_accesses", "normalize_path", "shell_read_path"]

_READ_TOOLS = frozenset(
    {"read", "read_file", "readfile", "view", "view_file", "open_file", "cat", "get_file_contents", "read_text_file"}
)
_READ_MANY = frozenset({"read_multiple_files", "read_files"})
_EDIT_TOOLS = frozenset(
    {
        "edit",
        "multiedit",
        "write",
        "notebookedit",
        "edit_file",
        "write_file",
        "create_file",
        "apply_patch",
        "applypatch",
        "str_replace",
        "replace_in_file",
        "search_replace",
        "insert",
        "patch",
    }
)
_EDITOR_TOOLS = frozenset({"str_replace_based_edit_tool", "str_replace_editor", "text_editor"})
_SHELL_TOOLS = frozenset(
    {"bash", "shell", "exec_command", "shell_command", "local_shell", "run_terminal_cmd", "run_command", "terminal"}
)
_RANGE_KEYS = frozenset(
    {
        "offset",
        "limit",
        "start_line",
        "end_line",
        "line_start",
        "line_end",
        "startline",
        "endline",
        "lines",
        "line_range",
        "view_range",
        "range",
        "head",
        "tail",
        "from_line",
        "to_line",
    }
)
_PATCH_FILE = re.compile(r"^\*\*\* (?:Update|Add|Delete) File: (.+?)\s*$|^\*\*\* Move to: (.+?)\s*$", re.MULTILINE)
_READ_COMMANDS = frozenset({"cat", "nl", "bat", "batcat", "less", "more", "type"})
_RANGE_COMMANDS = frozenset({"head", "tail"})
# A heredoc body (`<<'EOF' ... EOF`) is data, not commands.
_HEREDOC_START = re.compile(r"<<-?\s*(['\"]?)(\w+)\1([^\n]*)\n")
_LINE_WORD = re.compile(r"\n\s*(\w+)")  # a word opening a line: a heredoc's terminator, maybe
_SEPARATORS = frozenset({"&&", "||", ";", ";;", "&", "(", ")"})
_WRAPPERS = frozenset({"sudo", "command", "time", "env", "nice", "xargs"})


@dataclass(frozen=True, slots=True)
class FileAccess:
    kind: str  # "read" or "edit"
    paths: tuple[str, ...]
    ranged: bool = False  # a read of an explicit line range


def normalize_path(path: str) -> str:
    path = path.strip().strip("\"'`")
    while path.startswith("./"):
        path = path[2:]
    return re.sub(r"/{2,}", "/", path)


def _parse_args(arguments: Any) -> Any:
    if isinstance(arguments, str):
        text = arguments.strip()
        if text[:1] in ("{", "["):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return arguments
    return arguments


def _base_name(tool_name: str) -> str:
    # MCP tools arrive as "mcp__server__read_file", some clients prefix "functions.".
    name = tool_name.lower().rsplit("__", 1)[-1].rsplit(".", 1)[-1]
    return name.replace("-", "_")


def _paths_in(args: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key in PATH_ARGUMENT_KEYS:
        value = args.get(key)
        if isinstance(value, str) and value.strip():
            found.append(normalize_path(value))
    many = args.get("paths")
    for value in many if isinstance(many, list) else ():
        if isinstance(value, str) and value.strip():
            found.append(normalize_path(value))
    return tuple(dict.fromkeys(found))


def _has_range(args: Mapping[str, Any]) -> bool:
    return any(str(k).lower() in _RANGE_KEYS and v not in (None, "", []) for k, v in args.items())


def _patch_paths(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_path(a or b) for a, b in _PATCH_FILE.findall(text)))


def _shell_script(args: Any) -> str | None:
    if isinstance(args, str):
        return args
    if not isinstance(args, Mapping):
        return None
    command = args.get("command", args.get("cmd"))
    if isinstance(command, str):
        return command
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        # ["bash", "-lc", "<script>"]: the script is what runs.
        if len(command) >= 3 and command[-2] in ("-c", "-lc", "-ic"):
            script: str = command[-1]
            return script
        return shlex.join(command)
    return None


def _tokens(script: str) -> list[str]:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes (heredoc bodies): a rough split is enough here
        return script.split()


def _operands(words: list[str], valued: frozenset[str] = frozenset()) -> list[str]:
    """Non-option words, skipping the values of options in `valued` (e.g. `-n 20`)."""
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in valued:
            skip = True
        elif not word.startswith("-") and not re.fullmatch(r"\+?\d+", word):
            out.append(word)
    return out


def _without_heredocs(script: str) -> str:
    """`script` without its heredocs' bodies (`<<'EOF'` through its `EOF` line): a body is data,
    not commands. The rest of the opening line stays (`cat <<'EOF' > a.py` writes a.py). In one
    pass plus a lookup per `<<`: a regex that looked for each `<<`'s terminator to the end of
    the script took 10 s on a 75 KB `python -c` full of `x << n`."""
    if "<<" not in script:
        return script
    ends: dict[str, list[tuple[int, int]]] = {}
    for line in _LINE_WORD.finditer(script):
        ends.setdefault(line.group(1), []).append((line.start(), line.end()))
    out: list[str] = []
    position = 0
    search_from = 0
    while (start := _HEREDOC_START.search(script, search_from)) is not None:
        lines = ends.get(start.group(2), [])
        # The terminator's line break comes after the opening line's (the body may be empty).
        found = bisect.bisect_left(lines, (start.end() - 1, -1))
        if found == len(lines):
            search_from = start.start() + 2  # no terminator: not a heredoc
            continue
        out += [script[position : start.start()], " ", start.group(3)]
        position = search_from = lines[found][1]
    out.append(script[position:])
    return "".join(out)


def _shell_accesses(script: str) -> Iterator[FileAccess]:
    patch = _patch_paths(script)
    if patch:  # apply_patch heredoc
        yield FileAccess("edit", patch)
    # A line break ends a command, as `;` does (a backslash before it continues the line).
    tokens = _tokens(_without_heredocs(script).replace("\\\n", " ").replace("\n", " ; "))
    pipeline: list[list[str]] = [[]]
    stages: list[list[list[str]]] = []
    redirect_next = False
    for token in [*tokens, ";"]:
        if redirect_next:
            redirect_next = False
            if token not in _SEPARATORS and token != "|" and not token.startswith("/dev/"):
                yield FileAccess("edit", (normalize_path(token),))
            continue
        if token in (">", ">>"):
            redirect_next = True
        elif token == "|":
            pipeline.append([])
        elif token in _SEPARATORS or token in ("<",):
            if any(pipeline):
                stages.append(pipeline)
            pipeline = [[]]
        else:
            pipeline[-1].append(token)
    for stage in stages:
        yield from _pipeline_accesses([words for words in stage if words])


def _pipeline_accesses(commands: list[list[str]]) -> Iterator[FileAccess]:
    def program(words: list[str]) -> tuple[str, list[str]]:
        while words and (words[0] in _WRAPPERS or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])):
            words = words[1:]
        return (words[0].rsplit("/", 1)[-1] if words else ""), words[1:]

    # `nl -ba f | sed -n '1,80p'` reads a range of f.
    filtered = any(
        (name == "sed" and "-n" in rest) or name in _RANGE_COMMANDS for name, rest in map(program, commands[1:])
    )
    for name, rest in map(program, commands):
        if name in _READ_COMMANDS:
            files = _operands(rest)
            if files:
                yield FileAccess("read", tuple(map(normalize_path, files)), ranged=filtered)
        elif name in _RANGE_COMMANDS:
            files = _operands(rest, frozenset({"-n", "-c"}))
            if files:
                yield FileAccess("read", tuple(map(normalize_path, files)), ranged=True)
        elif name == "sed":
            in_place = any(w == "-i" or w.startswith(("-i", "--in-place")) for w in rest)
            words = _operands(rest, frozenset({"-e", "-f"}))
            files = words[1:] if "-e" not in rest else words
            if files and in_place:
                yield FileAccess("edit", tuple(map(normalize_path, files)))
            elif files and "-n" in rest:
                yield FileAccess("read", tuple(map(normalize_path, files)), ranged=True)
        elif name in ("apply_patch", "applypatch"):
            continue  # paths come from the patch text itself
        elif name == "tee":
            files = _operands(rest)
            if files:
                yield FileAccess("edit", tuple(map(normalize_path, files)))
        elif name == "perl" and any(w.startswith("-pi") or w == "-i" for w in rest):
            files = _operands(rest, frozenset({"-e"}))
            if files:
                yield FileAccess("edit", tuple(map(normalize_path, files)))


# `tools.exec_command(` in a code-mode script; its argument follows the parenthesis.
_JS_CALL = re.compile(r"\btools\.([A-Za-z_$][\w$]*)\s*\(")
_JS_STRING = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`"
_JS_PAIR = re.compile(r"[\"']?([A-Za-z_]\w*)[\"']?\s*:\s*(" + _JS_STRING + ")")
_JS_LEADING_STRING = re.compile(r"\s*(" + _JS_STRING + ")")


def _js_string(literal: str) -> str:
    if literal.startswith('"'):
        try:
            return str(orjson.loads(literal))
        except orjson.JSONDecodeError:
            pass
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _js_argument(source: str, start: int) -> Any:
    """The argument of a `tools.x(` call: a string, or an object's string fields."""
    text = source[start : start + 20_000]
    leading = _JS_LEADING_STRING.match(text)
    if leading:
        return _js_string(leading.group(1))
    if not text.lstrip().startswith("{"):
        return None
    # Up to the matching brace: string literals may hold braces of their own.
    depth, end = 0, len(text)
    for match in re.finditer(_JS_STRING + r"|[{}]", text):
        token = match.group(0)
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                end = match.end()
                break
    literal = text[:end]
    try:
        return orjson.loads(literal)
    except orjson.JSONDecodeError:
        return {key: _js_string(value) for key, value in _JS_PAIR.findall(literal)}


def _code_mode_accesses(source: str) -> tuple[FileAccess, ...]:
    found: list[FileAccess] = []
    for match in _JS_CALL.finditer(source):
        if match.group(1) in ("exec", "code"):
            continue
        found += file_accesses(match.group(1), _js_argument(source, match.end()))
    return tuple(found)


def file_accesses(tool_name: str | None, arguments: Any) -> tuple[FileAccess, ...]:
    """What a tool call does to files; empty for anything that is not a read or an edit."""
    if not tool_name:
        return ()
    name = _base_name(tool_name)
    if isinstance(arguments, str) and "tools." in arguments and name in ("exec", "code", "js", "javascript"):
        return _code_mode_accesses(arguments)
    args = _parse_args(arguments)
    if name in _SHELL_TOOLS:
        script = _shell_script(args)
        return tuple(_shell_accesses(script)) if script else ()
    if name in ("apply_patch", "applypatch", "patch"):
        text = args if isinstance(args, str) else orjson.dumps(args).decode() if args is not None else ""
        patch = _patch_paths(text.replace("\\n", "\n"))
        if patch:
            return (FileAccess("edit", patch),)
    if not isinstance(args, Mapping):
        return ()
    paths = _paths_in(args)
    if not paths:
        return ()
    if name in _EDITOR_TOOLS:
        command = str(args.get("command", "")).lower()
        if command == "view":
            return (FileAccess("read", paths, ranged=_has_range(args)),)
        return (FileAccess("edit", paths),)
    if name in _READ_TOOLS or name in _READ_MANY:
        return (FileAccess("read", paths, ranged=_has_range(args)),)
    if name in _EDIT_TOOLS:
        return (FileAccess("edit", paths),)
    return ()


# What may follow the read in a pipe and still print that file's own lines: ranges and filters.
_LINE_FILTERS = frozenset({"cat", "nl", "head", "tail", "grep", "egrep", "fgrep", "rg", "cut", "sed", "less", "more"})
_READ_SCRIPT_MAX = 1_000  # a command that only prints a file is short; anything longer is not read here
# The script read left to right, one token at a time: a single-quoted string, a double-quoted
# one, or a backslash escape. Quotes inside the other kind, and escaped quotes, are text.
_SHELL_QUOTING = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"|\\.", re.DOTALL)
_SHELL_OPERATORS = ("<", ">", "\n", "&", ";", "||", "$(", "`", "'", '"', "\\")
# A sed script that only prints lines by number: `1,80p`, `1,80p;200,260p`, `$p`. Anything
# else (`e` runs a command, `w` writes a file, a regex address) is not a plain read.
_SED_PRINTS = re.compile(r"\s*(?:(?:\d+|\$)(?:\s*,\s*(?:\d+|\$))?\s*p\s*(?:;\s*|$))+")


def _unquoted(script: str) -> str | None:
    """`script` with each quoted string as a space (a quote left open stays, for the caller to
    refuse), or None when quoting hides what runs: an escape outside quotes, ANSI-C quoting
    (`$'...'`), a substitution inside double quotes."""
    out: list[str] = []
    position = 0
    for token in _SHELL_QUOTING.finditer(script):
        text = token.group()
        if text.startswith("\\"):
            return None
        if text.startswith('"') and ("$(" in text or "`" in text):
            return None
        if script.endswith("$", position, token.start()) and text.startswith("'"):
            return None  # $'...' reads escapes
        out += [script[position : token.start()], " "]
        position = token.end()
    out.append(script[position:])
    return "".join(out)


def _only_prints_lines(words: list[str]) -> bool:
    """A `sed -n` stage whose script only prints numbered lines (no `-i`, no `e`/`w` command)."""
    if "-n" not in words or any(w.startswith(("-i", "--in-place")) for w in words):
        return False
    scripts = [w for w in words[1:] if not w.startswith("-")][:1]
    return bool(scripts) and _SED_PRINTS.fullmatch(scripts[0]) is not None


def shell_read_path(tool_name: str | None, arguments: Any) -> str | None:
    """The one file a shell call reads and prints (`cat deploy.sh`, `sed -n 1,80p x.py`, `nl -ba
    a.c | head`), else None: not for a compound command (`cat Makefile && make`), a heredoc, a
    command substitution, a redirection, a glob or several files, nor for a pipe into anything
    but line ranges and filters (`cat install.sh | bash` prints what the script does)."""
    if not tool_name or _base_name(tool_name) not in _SHELL_TOOLS:
        return None
    args = _parse_args(arguments)  # once, for the script and for `file_accesses` below
    script = _shell_script(args)
    if not script:
        return None
    script = script.strip()
    if len(script) > _READ_SCRIPT_MAX:
        return None
    # Quoted text is a word (`sed -n '1,80p;200,260p' a.py`): only what is outside quotes can
    # be an operator.
    outside = _unquoted(script)
    if outside is None or any(mark in outside for mark in _SHELL_OPERATORS):
        return None
    lexer = shlex.shlex(script, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True  # words split at spaces and pipes only (`1,80p` is one word)
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    stages: list[list[str]] = [[]]
    for token in tokens:
        if token == "|":
            stages.append([])
        else:
            stages[-1].append(token)
    for words in stages:
        name = words[0].rsplit("/", 1)[-1] if words else ""
        if name not in _LINE_FILTERS or (name == "sed" and not _only_prints_lines(words)):
            return None
    accesses = file_accesses(tool_name, args)
    paths = {path for access in accesses for path in access.paths}
    if len(accesses) != 1 or accesses[0].kind != "read" or len(paths) != 1:
        return None
    path = paths.pop()
    return None if any(c in path for c in "*?[{") else path
