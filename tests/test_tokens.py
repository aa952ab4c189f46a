from __future__ import annotations

import socket
import subprocess
import sys

from headroom.tokens import count_tokens, encoding_for_model, get_encoding


def test_counts_match_known_o200k_values() -> None:
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0
    # Special-token text is ordinary text for counting, never an error.
    assert count_tokens("<|endoftext|>") == 7
    assert get_encoding("o200k_base").n_vocab == 200019


def test_cl100k_differs_from_o200k_on_non_english() -> None:
    text = "Привет, как дела? これはテストです。"
    assert count_tokens(text, "cl100k_base") != count_tokens(text, "o200k_base")
    assert get_encoding("cl100k_base").decode(get_encoding("cl100k_base").encode(text)) == text


def test_model_to_encoding() -> None:
    assert encoding_for_model("gpt-4o") == "o200k_base"
    assert encoding_for_model("claude-sonnet-4-5") == "o200k_base"
    assert encoding_for_model("gpt-4") == "cl100k_base"
    assert encoding_for_model("gpt-3.5-turbo") == "cl100k_base"


def test_loads_without_network() -> None:
    # A fresh interpreter with every socket connection refused must still build the encodings.
    code = (
        "import socket\n"
        "def deny(*a, **k): raise OSError('network disabled in test')\n"
        "socket.socket.connect = deny\n"
        "socket.create_connection = deny\n"
        "from headroom.tokens import count_tokens\n"
        "print(count_tokens('hello world'), count_tokens('hello world', 'cl100k_base'))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "TIKTOKEN_CACHE_DIR": "/nonexistent-cache", "HOME": "/nonexistent"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["2", "2"]
    assert socket.socket.connect is not None  # this process untouched
