"""Clients for Slack's Web API and response URLs, with retries for what is worth retrying.

Every Web API call goes through `web_client`, so `SLACK_API_BASE_URL` redirects all of them.
Rate limits (HTTP 429, honouring Retry-After), server errors (5xx) and dropped connections are
retried with backoff; a permanent error (`not_in_channel`, say) is raised at once.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

SLACK_API = "https://slack.com/api/"
TIMEOUT_SECONDS = 10


def retry_handlers() -> list[RetryHandler]:
    return [
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=2),
    ]


def web_client(token: str | None, base_url: str | None = None) -> WebClient:
    """A Web API client; `base_url` (SLACK_API_BASE_URL) replaces https://slack.com/api/."""
    return WebClient(token=token, base_url=base_url or SLACK_API, timeout=TIMEOUT_SECONDS,
                     retry_handlers=retry_handlers())


def webhook(url: str) -> WebhookClient:
    """A client for one response_url (given by Slack with a command or a click)."""
    return WebhookClient(url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())
