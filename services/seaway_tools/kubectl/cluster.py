"""Which cluster, which namespace, which credentials: the kubeconfig, read the way kubectl reads it.

:func:`connect` honours ``--kubeconfig``, else ``KUBECONFIG`` (a ``:``-separated list, merged), else
``~/.kube/config``; ``--context``, else the current context; ``-n``, else the context's namespace, else
``default``. Every call to the API goes through :meth:`Cluster.call`, which applies the request timeout
and turns client failures into :class:`~seaway_tools.kubectl.errors.PluginError` s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigMerger

from seaway_tools.kubectl.errors import API_FAILURES, NoKubeconfig, UnknownContext, from_api_failure

DEFAULT_KUBECONFIG = "~/.kube/config"

T = TypeVar("T")


@dataclass(frozen=True)
class Cluster:
    """An API client for one context, with the namespace commands act in."""

    context: str
    server: str
    namespace: str
    api_client: client.ApiClient
    request_timeout: float | None = None

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api_client)

    @property
    def autoscaling(self) -> client.AutoscalingV2Api:
        return client.AutoscalingV2Api(self.api_client)

    @property
    def policy(self) -> client.PolicyV1Api:
        return client.PolicyV1Api(self.api_client)

    def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``method(*args, **kwargs)`` with the request timeout, failures raised as plugin errors."""
        if self.request_timeout and "_request_timeout" not in kwargs:
            kwargs["_request_timeout"] = self.request_timeout
        try:
            return method(*args, **kwargs)
        except API_FAILURES as error:
            raise self.failure(error) from None

    def failure(self, error: Exception) -> Exception:
        """The plugin error for a client failure raised outside :meth:`call` (in a log stream)."""
        return from_api_failure(error, server=self.server, context=self.context)


def kubeconfig_paths(explicit: str | None, environ: Mapping[str, str]) -> list[str]:
    """The kubeconfig files kubectl would read, in merge order."""
    spec = explicit or environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    return [os.path.expanduser(path) for path in spec.split(os.pathsep) if path]


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
    request_timeout: float | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Cluster:
    """A :class:`Cluster` for the chosen context; raises ``NoKubeconfig`` or ``UnknownContext``."""
    paths = kubeconfig_paths(kubeconfig, environ)
    existing = [path for path in paths if os.path.isfile(path)]
    if not existing:
        where = "--kubeconfig" if kubeconfig else ("KUBECONFIG" if environ.get("KUBECONFIG") else "default")
        raise NoKubeconfig(
            f"no kubeconfig found ({where}: {os.pathsep.join(paths)}); "
            "set KUBECONFIG or run 'aws eks update-kubeconfig' / 'kind export kubeconfig'"
        )
    config_file = os.pathsep.join(existing)
    try:
        merged = KubeConfigMerger(config_file).config.value
        contexts = [entry.value for entry in merged.get("contexts") or []]
    except (ConfigException, OSError, ValueError, AttributeError, yaml.YAMLError) as error:
        raise NoKubeconfig(f"cannot read kubeconfig {config_file}: {error}") from None
    chosen = _choose_context(contexts, merged.get("current-context"), context)
    try:
        api_client = config.new_client_from_config(config_file=config_file, context=chosen["name"])
    except (ConfigException, OSError, ValueError) as error:
        raise NoKubeconfig(f"cannot use context {chosen['name']} from {config_file}: {error}") from None
    return Cluster(
        context=chosen["name"],
        server=api_client.configuration.host,
        namespace=namespace or chosen.get("context", {}).get("namespace") or "default",
        api_client=api_client,
        request_timeout=request_timeout,
    )


def _choose_context(contexts: list[dict], current: str | None, wanted: str | None) -> dict:
    known = ", ".join(str(entry.get("name")) for entry in contexts) or "none"
    if wanted is None:
        if not current:
            raise UnknownContext(f"the kubeconfig has no current context; pass --context (known: {known})")
        wanted = current
    for entry in contexts:
        if entry["name"] == wanted:
            return entry
    raise UnknownContext(f'context "{wanted}" is not in the kubeconfig (known: {known})')
