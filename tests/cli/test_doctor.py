"""`headroom doctor` run as a user runs it (the real CLI), against a real proxy on a free port
with a fake provider behind it, real SDK clients sending through it, real Codex config files,
a real Redis and a store directory the user cannot write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import anthropic
import openai
import pytest
from click.testing import Result
from typer.testing import CliRunner

from headroom.ccr.sqlite import SqliteStore
from headroom.cli.main import app
from headroom.compressors._embedding import model_dir
from headroom.proxy import BackgroundServer, ProxyServer
from tests.conftest import free_port
from tests.factories import anthropic_request, openai_request
from tests.proxy.conftest import ANTHROPIC_KEY, HDFS_LOG, OPENAI_KEY, ROWS, start_proxy
from tests.proxy.fake_upstream import FakeUpstream

HEADROOM = Path(sys.executable).parent / "headroom"
# Set per test; removed from the environment the command sees unless a test sets them.
_CLIENT_VARS = ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_HOME")


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    environment: dict[str, str | None] = dict.fromkeys(_CLIENT_VARS)
    environment.update(env or {})
    result = CliRunner().invoke(app, ["doctor", *args], env=environment)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def doctor(*args: str, env: Mapping[str, str | None] | None = None) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Exit code, {check name: (status, the rest of its line)} and the whole output."""
    result = invoke(*args, env=env)
    lines = {}
    for line in result.output.splitlines():
        status, name, rest = line.split(None, 2)
        assert status in ("ok", "warn", "fail"), line
        lines[name] = (status, rest)
    return result.exit_code, lines, result.output


@pytest.fixture(scope="module")
def upstream() -> Iterator[BackgroundServer]:
    with BackgroundServer(FakeUpstream().app) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(upstream: BackgroundServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyServer]:
    store = SqliteStore(tmp_path_factory.mktemp("proxy") / "ccr.db")
    with start_proxy(upstream.url, store=store) as server:
        yield server
    store.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def codex_config(home: Path, text: str) -> Path:
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    path = home / ".codex" / "config.toml"
    path.write_text(text)
    return path


def test_a_setup_pointed_at_the_proxy_passes_and_names_its_clients(upstream: BackgroundServer, tmp_path: Path) -> None:
    store_path = tmp_path / "store" / "ccr.db"
    store = SqliteStore(store_path)
    home = tmp_path / "home"
    with start_proxy(upstream.url, store=store) as proxy:
        openai.OpenAI(api_key=OPENAI_KEY, base_url=proxy.url + "/v1", max_retries=0).chat.completions.create(
            **openai_request(ROWS)
        )
        claude = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=proxy.url, max_retries=0)
        claude.messages.create(**anthropic_request(HDFS_LOG))
        claude.messages.create(**anthropic_request(ROWS))
        codex_config(
            home,
            'model_provider = "headroom"\n\n[model_providers.headroom]\nname = "headroom proxy"\n'
            f'base_url = "{proxy.url}/v1"\nwire_api = "responses"\nenv_key = "OPENAI_API_KEY"\n',
        )
        env = {
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": proxy.url,
            "OPENAI_BASE_URL": proxy.url + "/v1",
            "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            "OPENAI_API_KEY": OPENAI_KEY,
        }
        code, lines, output = doctor("--proxy", proxy.url, "--store", str(store_path), env=env)
        as_json = json.loads(invoke("--proxy", proxy.url, "--store", str(store_path), "--json", env=env).output)
    assert code == 0, output
    # The prose model is the `ml` extra, which an install may leave out: then that line warns (and says how to add it).
    prose = "ok" if model_dir() is not None else "warn"
    assert {name: status for name, (status, _) in lines.items()} == {
        **dict.fromkeys(
            ["proxy", "clients", "anthropic", "openai", "codex", "store", "grammars", "html", "redis"], "ok"
        ),
        "prose": prose,
    }, output
    assert lines["proxy"][1].startswith(f"headroom proxy 0.1.0 at {proxy.url} (mode optimize)")
    assert "Anthropic/Python 2 requests (last " in lines["clients"][1]
    assert "OpenAI/Python 1 request (last " in lines["clients"][1]
    assert lines["clients"][1].endswith("; 3 in all")
    assert "ANTHROPIC_API_KEY is set" in lines["anthropic"][1] and "OPENAI_API_KEY is set" in lines["openai"][1]
    assert ANTHROPIC_KEY not in output and OPENAI_KEY not in output
    assert "points at the proxy" in lines["codex"][1]
    assert lines["store"][1].startswith(f"sqlite {store_path}: ") and lines["store"][1].endswith("writable")
    assert (
        lines["grammars"][1] == "tree-sitter grammars loaded: python, javascript, typescript, tsx, go, rust, java, cpp"
    )
    assert lines["html"][1].startswith("html-to-markdown 3.19.")
    if prose == "ok":
        assert lines["prose"][1].startswith("prose model all-MiniLM-L6-v2 loaded from ")
    else:
        assert lines["prose"][1].startswith("prose model not installed") and "[ml]" in lines["prose"][1]
    assert as_json["ok"] is True and [c["name"] for c in as_json["checks"]] == list(lines)
    assert ANTHROPIC_KEY not in json.dumps(as_json)

    # The proxy gone: a failure, and the clients come from the ledger it left in the store.
    code, lines, output = doctor("--proxy", proxy.url, "--store", str(store_path), env=env)
    assert code == 1
    assert lines["proxy"][0] == "fail" and lines["proxy"][1].startswith(f"nothing answers at {proxy.url} (")
    assert "→ start one: headroom proxy" in lines["proxy"][1]
    assert lines["clients"][0] == "ok" and "(from the store's ledger; the proxy is not running)" in lines["clients"][1]
    assert "Anthropic/Python 2 requests" in lines["clients"][1]
    assert "Traceback" not in output
    store.close()


def test_no_proxy_no_settings(home: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, lines, output = doctor("--proxy", url, "--store", str(tmp_path / "ccr.db"), env={"HOME": str(home)})
    assert code == 1, output
    assert lines["proxy"][0] == "fail"
    assert lines["clients"] == ("warn", "no requests through the proxy in the last 24 h (from the store's ledger; "
                                "the proxy is not running) → point a client at it (the base URL lines below) and "
                                "send one request")  # fmt: skip
    assert lines["anthropic"][0] == "warn" and f"export ANTHROPIC_BASE_URL={url}" in lines["anthropic"][1]
    assert "ANTHROPIC_API_KEY is not set" in lines["anthropic"][1]
    assert lines["openai"][0] == "warn" and f"export OPENAI_BASE_URL={url}/v1" in lines["openai"][1]
    assert lines["store"][0] == "ok" and "0 originals" in lines["store"][1]


def test_something_else_on_the_port_is_not_a_proxy(upstream: BackgroundServer, tmp_path: Path) -> None:
    code, lines, _ = doctor("--proxy", upstream.url, "--store", str(tmp_path / "ccr.db"))
    assert code == 1
    assert lines["proxy"][0] == "fail" and lines["proxy"][1].startswith(
        f"{upstream.url} answers, but not as a headroom"
    )


@pytest.mark.parametrize(
    ("value", "status", "says"),
    [
        ("{proxy}", "ok", "points at the proxy"),
        ("{proxy}/v1", "ok", "points at the proxy"),
        ("{proxy}/", "ok", "points at the proxy"),
        ("http://localhost:{port}", "ok", "points at the proxy"),
        ("{proxy}/anthropic", "fail", "the proxy serves no /anthropic/v1/messages"),
        (
            "https://api.anthropic.com",
            "warn",
            "is not the proxy; ANTHROPIC_API_KEY is not set → export ANTHROPIC_BASE_URL={proxy} ",
        ),
        # A gateway's credentials in the URL are not printed.
        (f"https://me:{ANTHROPIC_KEY}@gw.example.com/a?key={ANTHROPIC_KEY}", "warn", "=https://gw.example.com/a is"),
        (None, "warn", "ANTHROPIC_BASE_URL is not set: Anthropic clients go straight to Anthropic"),
    ],
)
def test_anthropic_base_url(
    proxy: ProxyServer, home: Path, tmp_path: Path, value: str | None, status: str, says: str
) -> None:
    def fill(text: str) -> str:
        return text.format(proxy=proxy.url, port=proxy.port)

    env = {"HOME": str(home), "ANTHROPIC_BASE_URL": None if value is None else fill(value)}
    code, lines, output = doctor("--proxy", proxy.url, "--store", str(tmp_path / "ccr.db"), env=env)
    assert lines["anthropic"][0] == status and fill(says) in lines["anthropic"][1], output
    assert ANTHROPIC_KEY not in output
    assert code == (1 if status == "fail" else 0), output


@pytest.mark.parametrize(
    ("value", "status", "says"),
    [
        ("{proxy}/v1", "ok", "points at the proxy"),
        ("{proxy}/v1/", "ok", "points at the proxy"),
        (
            "{proxy}",
            "fail",
            "points at the proxy without /v1; OPENAI_API_KEY is not set → export OPENAI_BASE_URL={proxy}/v1",
        ),
        ("https://api.openai.com/v1", "warn", "is not the proxy"),
        (None, "warn", "OPENAI_BASE_URL is not set"),
    ],
)
def test_openai_base_url_must_end_in_v1(
    proxy: ProxyServer, home: Path, tmp_path: Path, value: str | None, status: str, says: str
) -> None:
    env = {"HOME": str(home), "OPENAI_BASE_URL": None if value is None else value.format(proxy=proxy.url)}
    code, lines, output = doctor("--proxy", proxy.url, "--store", str(tmp_path / "ccr.db"), env=env)
    assert lines["openai"][0] == status and says.format(proxy=proxy.url) in lines["openai"][1], output
    assert code == (1 if status == "fail" else 0), output


@pytest.mark.parametrize(
    ("config", "status", "says"),
    [
        (
            'profile = "fast"\n[profiles.fast]\nmodel_provider = "hr"\n[model_providers.hr]\nbase_url = "{proxy}/v1"\n',
            "ok",
            "model_provider hr (profile fast) points at the proxy",
        ),
        (
            'model_provider = "hr"\n[model_providers.hr]\nbase_url = "{proxy}"\n',
            "fail",
            'has base_url {proxy}: the proxy needs /v1 → set base_url = "{proxy}/v1" in [model_providers.hr]',
        ),
        (
            '[model_providers.hr]\nbase_url = "{proxy}/v1"\n',
            "warn",
            '[model_providers.hr] points at the proxy but model_provider is openai → set model_provider = "hr"',
        ),
        ('model = "gpt-5"\n', "warn", "model_provider openai is Codex's own (straight to the provider)"),
        (
            'model_provider = "corp"\n[model_providers.corp]\nbase_url = "https://llm.example.com/v1"\n',
            "warn",
            "model_provider corp goes to https://llm.example.com/v1 → run Codex as headroom wrap codex",
        ),
        ('model_provider = "hr\n', "fail", "is not valid TOML"),
    ],
)
def test_codex_config(proxy: ProxyServer, home: Path, tmp_path: Path, config: str, status: str, says: str) -> None:
    path = codex_config(home, config.format(proxy=proxy.url))
    code, lines, output = doctor("--proxy", proxy.url, "--store", str(tmp_path / "ccr.db"), env={"HOME": str(home)})
    assert lines["codex"][0] == status, output
    assert lines["codex"][1].startswith(str(path)) and says.format(proxy=proxy.url) in lines["codex"][1], output
    assert code == (1 if status == "fail" else 0), output


def test_codex_home_and_no_codex(proxy: ProxyServer, home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "codex-home"
    elsewhere.mkdir()
    (elsewhere / "config.toml").write_text(f'model_provider = "h"\n[model_providers.h]\nbase_url = "{proxy.url}/v1"\n')
    env = {"HOME": str(home), "CODEX_HOME": str(elsewhere)}
    _, lines, _ = doctor("--proxy", proxy.url, "--store", str(tmp_path / "ccr.db"), env=env)
    assert lines["codex"] == (
        "ok",
        f"{elsewhere / 'config.toml'}: model_provider h points at the proxy ({proxy.url}/v1)",
    )
    # Neither a config nor codex on PATH: nothing to point (this machine has no Codex).
    assert shutil.which("codex") is None
    _, lines, _ = doctor("--proxy", proxy.url, "--store", str(tmp_path / "ccr.db"), env={"HOME": str(home)})
    assert lines["codex"][0] == "ok" and "Codex is not installed" in lines["codex"][1]


def _without_root_powers() -> list[str]:
    """Root writes through any permission bits: run the command as root without them (the
    bounding set dropped, so exec cannot give them back); anyone else runs it as is."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only directory cannot be made")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def test_a_read_only_store_directory_fails_and_keeps_its_data(proxy: ProxyServer, tmp_path: Path) -> None:
    directory = tmp_path / "store"
    directory.mkdir()
    try:
        path = directory / "ccr.db"
        store = SqliteStore(path)
        store.put("h_0123456789ab", "kept")
        store.close()
        directory.chmod(0o555)  # the file itself stays writable: only the directory is not
        done = subprocess.run(
            [*_without_root_powers(), str(HEADROOM), "doctor", "--proxy", proxy.url, "--store", str(path)],
            env={"PATH": os.environ["PATH"], "HOME": str(directory)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        (store_line,) = [line for line in done.stdout.splitlines() if line.split()[1] == "store"]
        assert store_line.startswith(f"fail store     CCR store {path} unavailable ("), store_line
        assert store_line.endswith(f"→ make {path} and its directory writable, or choose a writable store: "
                                   "--store PATH or export HEADROOM_STORE=PATH (or redis://host:port/0)")  # fmt: skip
        assert "Traceback" not in done.stderr
        directory.chmod(0o755)
        reopened = SqliteStore(path)
        found = reopened.get("h_0123456789ab")
        reopened.close()
        assert found is not None and found.text == "kept"
    finally:
        directory.chmod(0o755)


def test_redis_store(proxy: ProxyServer, home: Path, redis_url: str) -> None:
    spec = f"{redis_url}?prefix=doctor-test:"
    code, lines, output = doctor("--proxy", proxy.url, "--store", spec, env={"HOME": str(home)})
    assert lines["store"][0] == "ok" and lines["store"][1].startswith("redis redis://127.0.0.1:"), output
    assert lines["redis"][0] == "ok" and lines["redis"][1].endswith("installed (the store is on Redis)")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    code, lines, output = doctor("--proxy", proxy.url, "--store", dead, env={"HOME": str(home)})
    assert code == 1
    assert lines["store"][0] == "fail" and lines["store"][1].endswith("→ start Redis or fix the redis:// URL"), output


def test_memory_store_warns_and_bad_arguments_exit_2(proxy: ProxyServer, home: Path) -> None:
    code, lines, _ = doctor("--proxy", proxy.url, "--store", "memory", env={"HOME": str(home)})
    assert lines["store"][0] == "warn" and lines["store"][1].startswith("memory: originals live in one process only")
    code, lines, _ = doctor("--proxy", proxy.url, "--store", "ftp://nowhere", env={"HOME": str(home)})
    assert code == 1 and lines["store"][0] == "fail" and "unknown store" in lines["store"][1]
    result = CliRunner().invoke(app, ["doctor", "--proxy", "localhost:8787"])
    assert result.exit_code == 2 and "is not an http(s) URL" in result.output
