"""Errors a person understands, each with its own exit status.

Inside the plugin, code raises a :class:`PluginError` subclass; ``cli.main`` prints its message as one
line (``kubectl-seaway: error: ...``) and exits with its code. :func:`from_api_failure` turns what the
Kubernetes client raises (``ApiException``, urllib3 connection errors) into one of them.
"""

from __future__ import annotations

import json

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

# Exit statuses shared by every command; 1 and 2 keep their usual meaning (check failed, usage error).
EXIT_UNHEALTHY = 1
EXIT_USAGE = 2
EXIT_NO_KUBECONFIG = 3
EXIT_UNKNOWN_CONTEXT = 4
EXIT_UNREACHABLE = 5
EXIT_ACCESS_DENIED = 6
EXIT_UNKNOWN_SERVICE = 7
EXIT_API_ERROR = 8

EXIT_CODES_COMMON = """\
  2  usage error (unknown flag, bad value)
  3  no usable kubeconfig (none found, or it cannot be read)
  4  unknown context (or the kubeconfig has no current context)
  5  cluster unreachable (connection refused, timed out, DNS)
  6  access denied (401/403 from the API server)
  7  unknown service (no Deployment labelled seaway.dev/service=NAME)
  8  other error from the API server"""

EXIT_CODES_HELP = f"""\
exit status:
  0  success (status: every service ok or progressing)
  1  a check failed (status: a service degraded or down; smoke: a check failed;
     restart: the rollout did not finish; logs --trace: no line carries the trace)
{EXIT_CODES_COMMON}"""


def exit_codes_help(success: str, failure: str | None = None) -> str:
    """The exit-status section of a command's help: its own 0 (and 1), then the common codes."""
    lines = ["exit status:", f"  0  {success}"]
    if failure:
        lines.append(f"  1  {failure}")
    return "\n".join([*lines, EXIT_CODES_COMMON])


class PluginError(Exception):
    """An error reported to the person as one line, exiting with :attr:`exit_code`."""

    exit_code = EXIT_API_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class Unhealthy(PluginError):
    """What was checked or waited for did not turn out well (a rollout that did not finish, no ready pod)."""

    exit_code = EXIT_UNHEALTHY


class UsageError(PluginError):
    """A setting the command needs is missing or wrong (beyond what argparse checks)."""

    exit_code = EXIT_USAGE


class NoKubeconfig(PluginError):
    exit_code = EXIT_NO_KUBECONFIG


class UnknownContext(PluginError):
    exit_code = EXIT_UNKNOWN_CONTEXT


class ClusterUnreachable(PluginError):
    exit_code = EXIT_UNREACHABLE


class AccessDenied(PluginError):
    exit_code = EXIT_ACCESS_DENIED


class UnknownService(PluginError):
    exit_code = EXIT_UNKNOWN_SERVICE


class ApiError(PluginError):
    exit_code = EXIT_API_ERROR


def from_api_failure(error: Exception, *, server: str, context: str) -> PluginError:
    """The :class:`PluginError` for a failed call to the API server at ``server``."""
    if isinstance(error, ApiException):
        if error.status in (401, 403):
            return AccessDenied(f"access denied (context {context}): {_status_message(error)}")
        if error.status == 0 and any(code in str(error.reason) for code in ("401", "403")):
            return AccessDenied(f"access denied (context {context}): {error.reason}")  # websocket handshake
        if error.status == 0:  # the client's own wrapper around a transport failure (TLS, websocket)
            return ClusterUnreachable(f"cannot reach the cluster at {server} (context {context}): {error.reason}")
        return ApiError(f"the API server answered {error.status}: {_status_message(error)}")
    if isinstance(error, urllib3.exceptions.HTTPError):
        return ClusterUnreachable(f"cannot reach the cluster at {server} (context {context}): {_why(error)}")
    raise TypeError(f"not an API failure: {error!r}")


API_FAILURES = (ApiException, urllib3.exceptions.HTTPError)


def _status_message(error: ApiException) -> str:
    """The ``message`` of the Kubernetes ``Status`` object in the body, else the HTTP reason."""
    try:
        message = json.loads(error.body or "").get("message")
    except (ValueError, AttributeError):
        message = None
    return message or f"{error.status} {error.reason}"


def _why(error: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(error, "reason", None) or error
    # Order matters: in urllib3 2, NewConnectionError is a ConnectTimeoutError, NameResolutionError a
    # NewConnectionError.
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return "host name not found"
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        text = str(reason)
        if "timed out" in text:
            return "connection timed out"
        return text.split("] ", 1)[-1].lower() if "] " in text else text
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return "connection timed out"
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        return "no answer before the request timeout"
    if isinstance(reason, urllib3.exceptions.ProtocolError):
        return "the connection was closed"
    return str(reason)
