"""Realistic request builders shared by the core tests (deterministic, no randomness)."""

from __future__ import annotations

import json
import re
from typing import Any

USER_TASK = "Audit the accounts of our billing service; look for suspended customers."


def customer_rows(n: int = 200) -> list[dict[str, Any]]:
    plans = ["free", "pro", "team"]
    rows = []
    for i in range(1, n + 1):
        rows.append(
            {
                "id": 1000 + i,
                "login": f"user{i:04d}",
                "email": f"user{i:04d}@example.com",
                "profile_url": f"https://billing.example.com/customers/user{i:04d}",
                "invoices_url": f"https://billing.example.com/customers/user{i:04d}/invoices",
                "plan": plans[i % 3],
                "status": "suspended" if i == 137 else "active",
                "region": "eu-west-1",
                "balance_cents": 1250 * (i % 7) if i != 88 else 9_999_999,
                "notes": None,
            }
        )
    return rows


def openai_request(tool_output: str, *, question: str = "Which customer is suspended?") -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a billing assistant."},
            {"role": "user", "content": USER_TASK},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "list_customers", "arguments": json.dumps({"limit": 200})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": tool_output},
            {"role": "assistant", "content": "I fetched the customers."},
            {"role": "user", "content": question},
        ],
    }


def anthropic_request(tool_output: str, *, question: str = "Which customer is suspended?") -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You are a billing assistant.",
        "messages": [
            {"role": "user", "content": USER_TASK},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Listing customers."},
                    {"type": "tool_use", "id": "toolu_1", "name": "list_customers", "input": {"limit": 200}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": tool_output}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "I fetched the customers."}]},
            {"role": "user", "content": question},
        ],
    }


def responses_request(tool_output: str) -> dict[str, Any]:
    return {
        "model": "gpt-4.1",
        "instructions": "You are a billing assistant.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": USER_TASK}]},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "list_customers",
                "arguments": json.dumps({"limit": 200}),
            },
            {"type": "function_call_output", "call_id": "call_1", "output": tool_output},
            {"role": "user", "content": "Which customer is suspended?"},
        ],
    }


_REPO_API = "https://api.github.com/repos/acme/widgets"
_LABELS = [("bug", "d73a4a"), ("docs", "0075ca"), ("feature", "a2eeef"), ("build", "fbca04"), ("windows", "244569")]
_REPORTERS = ["mkowalski", "achen", "rdiaz", "tnguyen", "jsmith", "opatel", "lbrown"]
_WORDS = "cache loader widget parser socket thread render config export import timeout locale".split()


def github_issue_page(page: int, per_page: int = 25) -> list[dict[str, Any]]:
    """One page of `GET /repos/acme/widgets/issues` as the GitHub REST API answers it: nested
    users, label objects, a milestone on some issues, pull requests among them, prose bodies."""
    issues = []
    for k in range(per_page):
        n = 2000 - (page - 1) * per_page - k
        login = _REPORTERS[(n * 3) % len(_REPORTERS)]
        word, other = _WORDS[n % len(_WORDS)], _WORDS[(n * 5) % len(_WORDS)]
        labels = [_LABELS[(n + j) % len(_LABELS)] for j in range(n % 3)]
        issue: dict[str, Any] = {
            "url": f"{_REPO_API}/issues/{n}",
            "html_url": f"https://github.com/acme/widgets/issues/{n}",
            "id": 9_000_000 + n * 7,
            "number": n,
            "title": f"{word.title()} fails when the {other} is reloaded (#{n})",
            "user": {
                "login": login,
                "id": 100 + _REPORTERS.index(login),
                "url": f"https://api.github.com/users/{login}",
                "html_url": f"https://github.com/{login}",
                "type": "User",
                "site_admin": False,
            },
            "labels": [
                {"url": f"{_REPO_API}/labels/{name}", "name": name, "color": color, "default": False}
                for name, color in labels
            ],
            "state": "open",
            "locked": False,
            "milestone": None
            if n % 4
            else {
                "url": f"{_REPO_API}/milestones/3",
                "number": 3,
                "title": "v2.0",
                "state": "open",
                "creator": {"login": "achen", "id": 101, "url": "https://api.github.com/users/achen"},
            },
            "comments": n % 9,
            "created_at": f"2024-0{1 + n % 9}-{10 + n % 18}T1{n % 10}:2{n % 6}:00Z",
            "closed_at": None,
            "body": (
                f"When the {word} module reloads its {other} settings the process stops answering. "
                f"Steps: start the service, change the {other} file, wait for the reload. "
                f"Expected: the new {other} is used. Actual: requests hang until restart. Seen on build {n * 13}. "
                f"The {word} log shows the reload starting and then nothing for {n % 50 + 10} seconds, while the "
                f"worker pool keeps {n % 7 + 2} threads blocked on the {other} lock. Reverting the {other} file "
                f"does not help; only a restart of the {word} service does. This started after the upgrade to "
                f"release {n % 4 + 1}.{n % 10}, and happens on both the staging and the production clusters."
            ),
        }
        if n % 5 == 0:
            issue["pull_request"] = {
                "url": f"{_REPO_API}/pulls/{n}",
                "html_url": f"https://github.com/acme/widgets/pull/{n}",
                "diff_url": f"https://github.com/acme/widgets/pull/{n}.diff",
            }
        issues.append(issue)
    return issues


_PADDED_NUMBER = re.compile(r"^ +(?=\d+(?:\t|→))", re.MULTILINE)


def unpadded(text: str) -> str:
    """`text` with the padding before each line-number prefix taken off (`   12\t` -> `12\t`):
    a shortened numbered read shows its kept lines so, with the numbers the agent saw."""
    return _PADDED_NUMBER.sub("", text)


def tool_call_messages(question: str, tool: str, arguments: dict[str, Any], output: str) -> list[dict[str, Any]]:
    """An OpenAI chat conversation: the user's question, one call of `tool` and its output."""
    return [
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": tool, "arguments": json.dumps(arguments)}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": output},
    ]


def numbered_lines(out: str) -> dict[int, str]:
    """The lines of a compressed numbered read that carry a Read number -> their text."""
    found = {}
    for line in out.split("\n"):
        number, tab, text = line.partition("\t")
        if tab and number.strip().isdigit():
            found[int(number)] = text
    return found


def assert_lines_under_their_numbers(out: str, lines: list[str]) -> int:
    """Every numbered line of a compressed numbered read is the file's line N; returns how many."""
    shown = numbered_lines(out)
    for number, text in shown.items():
        assert lines[number - 1] == text, f"line {number} is not the file's"
    return len(shown)
