"""Realistic request builders shared by the core tests (deterministic, no randomness)."""

from __future__ import annotations

import json
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
