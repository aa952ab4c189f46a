"""The project an agent works in: a large service log with a few errors, and a small codebase.

Both are generated from a fixed seed, so every run (and every agent) sees the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ERROR_LINES",
    "GREP_PATTERN",
    "HANDLERS",
    "LOG_NAME",
    "STACK_LINES",
    "Workspace",
    "log_excerpt",
    "make_workspace",
]

LOG_NAME = "checkout-service.log"
GREP_PATTERN = "def handle_"
HANDLERS = ("handle_refund", "handle_capture", "handle_chargeback", "handle_payout")

# The lines the test needs intact in what the model receives.
ERROR_LINES = (
    "ERROR [http-nio-8080-exec-3] c.e.checkout.service.PaymentService : charge failed for order ORD-48213: "
    "card_declined (gateway=stripe, code=E4021)",
    "ERROR [http-nio-8080-exec-7] c.e.checkout.client.InventoryClient : reservation lost for sku SKU-77310 "
    "after 3 retries (upstream=inventory-v2, code=E5030)",
    "ERROR [scheduling-1] c.e.checkout.jobs.OutboxPublisher : outbox event 9f1c2e7a stuck for 600s, "
    "broker unreachable (kafka-2:9092)",
    "ERROR [http-nio-8080-exec-1] c.e.checkout.service.RefundService : refund RF-20931 rejected: "
    "amount 129.90 EUR exceeds captured 99.90 EUR",
    "ERROR [http-nio-8080-exec-5] c.e.checkout.api.ExceptionHandler : unhandled NullPointerException "
    "in CartController.merge (cart=CRT-5521)",
)
STACK_LINES = (
    'java.lang.NullPointerException: Cannot invoke "Cart.items()" because "guest" is null',
    "\tat com.example.checkout.api.CartController.merge(CartController.java:88)",
    "\tat com.example.checkout.api.CartController$$SpringCGLIB$$0.merge(<generated>)",
    "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
    "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)",
    "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
)
_ROUTES = ("/api/orders/{}", "/api/carts/{}", "/api/payments/{}", "/api/products/{}")


@dataclass(frozen=True)
class Workspace:
    root: Path
    log: Path
    code: Path


def _log_lines(lines: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    error_at = {lines * (i + 1) // (len(ERROR_LINES) + 1): line for i, line in enumerate(ERROR_LINES)}
    clock = 8 * 3600 * 1000
    for n in range(lines):
        clock += rng.randint(5, 900)
        h, rem = divmod(clock, 3600 * 1000)
        m, rem = divmod(rem, 60 * 1000)
        s, ms = divmod(rem, 1000)
        stamp = f"2025-03-14 {h:02d}:{m:02d}:{s:02d}.{ms:03d}"
        if n in error_at:
            out.append(f"{stamp} {error_at[n]}")
            if "NullPointerException" in error_at[n]:
                out += STACK_LINES
            continue
        thread = f"http-nio-8080-exec-{rng.randint(1, 9)}"
        roll = rng.random()
        if roll < 0.55:
            route = rng.choice(_ROUTES).format(rng.randint(10000, 99999))
            status = rng.choice((200, 200, 200, 201, 204, 304))
            out.append(
                f"{stamp}  INFO [{thread}] c.e.checkout.api.RequestLogger : GET {route} -> {status} "
                f"({rng.randint(3, 180)} ms)"
            )
        elif roll < 0.75:
            out.append(
                f"{stamp}  INFO [{thread}] c.e.checkout.service.PaymentService : payment "
                f"PAY-{rng.randint(100000, 999999)} authorized amount={rng.randint(5, 500)}.{rng.randint(0, 99):02d} "
                "currency=EUR"
            )
        elif roll < 0.9:
            out.append(
                f"{stamp} DEBUG [scheduling-1] c.e.checkout.jobs.OutboxPublisher : published "
                f"{rng.randint(1, 40)} outbox events in {rng.randint(2, 60)} ms"
            )
        else:
            out.append(
                f"{stamp}  WARN [{thread}] c.e.checkout.client.InventoryClient : retry {rng.randint(1, 3)}/3 "
                f"for sku SKU-{rng.randint(10000, 99999)} after timeout ({rng.randint(500, 2000)} ms)"
            )
    return out


_MODULE = '''"""{title} handlers."""

from decimal import Decimal


def {name}(order_id: str, amount: Decimal) -> dict[str, str]:
    """{doc}"""
    if amount <= 0:
        raise ValueError("amount must be positive")
    return {{"order": order_id, "status": "{status}"}}


def _audit(order_id: str) -> None:
    print("audit", order_id)
'''


def log_excerpt(lines: int = 150, seed: int = 11) -> str:
    """Log lines a user pastes into a prompt (another morning of the same service)."""
    return "\n".join(_log_lines(lines, seed))


def make_workspace(root: Path, lines: int = 460, seed: int = 7) -> Workspace:
    """Write the log (~20k tokens: under Claude Code's 25k-token Read cap) and the codebase."""
    root.mkdir(parents=True, exist_ok=True)
    log = root / LOG_NAME
    log.write_text("\n".join(_log_lines(lines, seed)) + "\n")
    code = root / "src"
    code.mkdir(exist_ok=True)
    for name in HANDLERS:
        word = name.removeprefix("handle_")
        (code / f"{word}.py").write_text(
            _MODULE.format(title=word.title(), name=name, doc=f"Process a {word}.", status=f"{word}d")
        )
    return Workspace(root, log, code)
