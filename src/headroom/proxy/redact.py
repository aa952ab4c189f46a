"""Keep credentials out of logs.

The proxy forwards the client's own keys and never logs headers or bodies; this module is the
second line of defence for anything that does reach a log line (an access-log query string such
as `?key=...`, an exception message quoting a URL, a library's debug output).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

__all__ = ["SENSITIVE_HEADERS", "RedactingFilter", "install_log_redaction", "redact", "safe_headers"]

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "anthropic-admin-api-key",
    }
)
_MASK = "[redacted]"
_PATTERNS = (
    # Provider key shapes: sk-ant-..., sk-proj-..., sk-..., AWS access keys, Google API keys.
    re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),
    # Bearer tokens and header-style "x-api-key: ..." / "api-key=..." anywhere in a message.
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(r"(?i)((?:x-)?api[-_]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;]{6,}"),
    # Query-string credentials (?key=..., &access_token=...).
    re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token|sig|signature)=)[^&\s#\"']+"),
)


def redact(text: str) -> str:
    """`text` with anything that looks like a credential replaced by [redacted]."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + _MASK, text)
    return text


def safe_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers fit for a debug log: credential-bearing ones masked."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (_MASK if k.lower() in SENSITIVE_HEADERS else redact(v)) for k, v in items}


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message through `redact` (attach it to handlers, so records
    propagated from any library logger pass through it).

    String arguments are redacted in place first: formatters that read `record.args` themselves
    (uvicorn's access log unpacks them into client, method, path...) keep working. Only when the
    message still holds a credential (one split between format and argument) is it flattened."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not a reason to drop it
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger_names: Iterable[str] = ("", "uvicorn", "uvicorn.access", "uvicorn.error")) -> None:
    """Attach one RedactingFilter to every handler of these loggers (idempotent)."""
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
