"""What skaffold does with skaffold.yaml, modelled from its source (GoogleContainerTools/skaffold, commit 359a940),
for the tests that check our configuration the way skaffold reads it. Nothing here is copied; each function names
the skaffold file whose behaviour it follows.

- profiles: ``pkg/skaffold/schema/profiles.go`` (``activatedProfiles``, ``applyProfile``): auto-activated profiles
  first, in declaration order, then those named with ``-p`` in that order; each profile's ``patches`` applied
  one by one as JSON patches, ``op`` defaulting to ``replace``.
- helm: ``pkg/skaffold/deploy/helm/helm.go`` (``deployRelease``) and ``args.go`` (``installArgs``),
  ``pkg/skaffold/helm/args.go`` (``ConstructOverrideArgs``, ``envVarForImage``), ``pkg/skaffold/helm/util.go``
  (``ReleaseNamespace``): ``helm dep build <chartPath>`` (that chart only), then ``upgrade|install <release>
  <chartPath> --namespace <ns> [--create-namespace]``, ``--set k=v`` for every ``setValues`` entry (sorted by key),
  ``--set k=v`` for every ``setValueTemplates`` entry (sorted, expanded over the OS environment plus the images'
  ``IMAGE_REPO_<name>``, ``IMAGE_TAG_<name>``, ...), then ``-f`` for each ``valuesFiles`` entry in order.
- file sync: ``pkg/skaffold/docker/dependencies.go`` (an artifact's watched files are the sources of its
  Dockerfile's COPY/ADD, build arguments expanded, filtered by ``<Dockerfile>.dockerignore`` or else the
  context's ``.dockerignore``, plus the Dockerfile), ``pkg/skaffold/runner/dev.go`` and
  ``pkg/skaffold/sync/sync.go`` (``syncItem``/``intersect``): a changed file of an artifact is synced only if one
  of that artifact's own ``sync.manual`` rules matches it (doublestar), otherwise the artifact is rebuilt.
"""

from __future__ import annotations

import copy
import glob
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpatch

from tests.dockerfile import instructions

# --------------------------------------------------------------------------------------------------- profiles


def activated_profiles(config: Mapping[str, Any], named: Iterable[str], env: Mapping[str, str]) -> list[str]:
    """The profiles skaffold applies, in order: those an ``env`` activation selects, then the named ones.

    Only ``env`` activations are modelled (``kubeContext`` and ``command`` are decided by the caller naming the
    profile)."""
    active: list[str] = []
    for profile in config.get("profiles", []):
        for activation in profile.get("activation", []):
            if set(activation) == {"env"}:
                key, _, pattern = activation["env"].partition("=")
                if key in env and re.fullmatch(pattern, env[key]):
                    active.append(profile["name"])
                    break
    for name in named:
        if name not in active:
            active.append(name)
    return active


def apply_profiles(config: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The pipeline skaffold runs with these profiles applied in order (patch-only profiles)."""
    by_name = {profile["name"]: profile for profile in config.get("profiles", [])}
    result = {key: copy.deepcopy(value) for key, value in config.items() if key != "profiles"}
    for name in names:
        profile = by_name[name]
        unsupported = set(profile) - {"name", "activation", "patches"}
        assert not unsupported, f"profile {name}: only patches are modelled, not {unsupported}"
        operations = [{**patch, "op": patch.get("op") or "replace"} for patch in profile.get("patches", [])]
        result = jsonpatch.apply_patch(result, operations)
    return result


# ------------------------------------------------------------------------------------------------------- helm


@dataclass(frozen=True)
class Image:
    """A built image as skaffold reports it: ``repo:tag`` or ``repo:tag@sha256:...``."""

    name: str  # the artifact's image name in skaffold.yaml
    reference: str

    def template_values(self) -> dict[str, str]:
        """The ``IMAGE_*_<name>`` keys of ``envVarForImage`` (name sanitised: / - . : become _)."""
        rest, _, digest = self.reference.partition("@")
        repo, _, tag = rest.rpartition(":")
        domain = repo.split("/", 1)[0] if "/" in repo and re.search(r"[.:]", repo.split("/", 1)[0]) else ""
        suffix = re.sub(r"[/\-.:]", "_", self.name)
        values = {
            "IMAGE_REPO": repo,
            "IMAGE_TAG": tag,
            "IMAGE_DIGEST": digest,
            "IMAGE_FULLY_QUALIFIED": self.reference,
            "IMAGE_DOMAIN": domain,
            "IMAGE_REPO_NO_DOMAIN": repo.removeprefix(f"{domain}/") if domain else repo,
        }
        return {f"{key}_{suffix}": value for key, value in values.items()}


_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def expand(template: str, env: Mapping[str, str]) -> str:
    """A skaffold env template of plain ``{{.NAME}}`` references. Go's template would print ``<no value>`` for a
    missing name; here that is an error, since a value reaching helm as ``<no value>`` is always a bug."""

    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if not re.fullmatch(r"\.[A-Za-z_][A-Za-z0-9_]*", expression):
            raise ValueError(f"only {{{{.NAME}}}} is modelled, not {match.group(0)!r} in {template!r}")
        name = expression[1:]
        if name not in env:
            raise KeyError(f"{template!r}: {name} is not set (skaffold would pass '<no value>')")
        return env[name]

    return _TEMPLATE.sub(one, template)


def dependency_build_args(release: Mapping[str, Any]) -> list[str] | None:
    """``helm dep build <chartPath>`` as skaffold runs it before installing the release, or None if skipped."""
    if release.get("skipBuildDependencies") or not release.get("chartPath"):
        return None
    return ["dependency", "build", release["chartPath"]]


def install_args(
    release: Mapping[str, Any], images: Iterable[Image], env: Mapping[str, str], cli_namespace: str = ""
) -> list[str]:
    """The arguments of skaffold's first ``helm install`` of the release (upgrade only differs in the verb), less
    the post-renderer (skaffold's own image and label rewriting) and ``--wait``."""
    template_env = dict(env)
    for image in images:
        template_env.update(image.template_values())
    namespace = cli_namespace or expand(release.get("namespace", ""), {})
    args = ["install", release["name"], release["chartPath"]]
    if namespace:
        args += ["--namespace", namespace]
    if release.get("createNamespace"):
        args.append("--create-namespace")
    for key in sorted(release.get("setValues", {})):
        args += ["--set", f"{key}={release['setValues'][key]}"]
    for key in sorted(release.get("setValueTemplates", {})):
        value = expand(str(release["setValueTemplates"][key]), template_env).removesuffix("@")
        args += ["--set", f"{expand(key, template_env)}={value}"]
    for values_file in release.get("valuesFiles", []):
        args += ["-f", expand(values_file, template_env)]
    return args


def as_template(install: list[str], kube_version: str) -> list[str]:
    """``helm template`` with the same release, chart, namespace and values as an install."""
    assert install[0] == "install"
    rest = [arg for arg in install[1:] if arg != "--create-namespace"]
    return ["template", *rest, "--kube-version", kube_version]


# -------------------------------------------------------------------------------------------------- file sync


def _doublestar(pattern: str) -> re.Pattern[str]:
    """bmatcuk/doublestar PathMatch: ``**`` any number of path segments (zero included), ``*`` and ``?`` within
    one segment, ``[...]`` a class."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1].replace("[!", "[^"), end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def doublestar_match(pattern: str, path: str) -> bool:
    return _doublestar(pattern).fullmatch(path) is not None


def _dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(exclusion?, regex) per line, as moby/patternmatcher reads a .dockerignore (cleaned, ``**`` across dirs)."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        patterns.append((negate, _doublestar(line)))
    return patterns


def dockerignored(patterns: list[tuple[bool, re.Pattern[str]]], path: str) -> bool:
    """patternmatcher.MatchesOrParentMatches: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negate, regex in patterns:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def docker_dependencies(workspace: Path, artifact: Mapping[str, Any]) -> set[str]:
    """The files skaffold watches for a docker artifact, relative to its context (``GetDependencies``)."""
    context = workspace / artifact.get("context", ".")
    dockerfile = artifact["docker"].get("dockerfile", "Dockerfile")
    build_args = {k: str(v) for k, v in artifact["docker"].get("buildArgs", {}).items()}
    args: dict[str, str] = {}
    sources: list[str] = []
    for instruction, arguments in instructions(context / dockerfile):
        words = arguments.split()
        if instruction == "ARG":
            name, _, default = words[0].partition("=")
            args[name] = build_args.get(name, default)
        elif instruction in ("COPY", "ADD"):
            if any(word.startswith("--from") for word in words):
                continue  # from another stage, not from the context
            paths = [word for word in words if not word.startswith("--")]

            def substitute(word: str) -> str:
                return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), word)

            sources += [substitute(word) for word in paths[:-1] if not word.startswith(("http://", "https://"))]
    ignore_file = context / f"{dockerfile}.dockerignore"
    if not ignore_file.is_file():
        ignore_file = context / ".dockerignore"
    patterns = _dockerignore_patterns(ignore_file.read_text()) if ignore_file.is_file() else []
    files: set[str] = set()
    for source in sources:
        matches = glob.glob(source, root_dir=context) if glob.has_magic(source) else [source]
        for match in matches:
            path = context / match
            candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for candidate in candidates:
                relative = candidate.relative_to(context).as_posix()
                if not dockerignored(patterns, relative):
                    files.add(relative)
    files.add(Path(dockerfile).as_posix())
    files.discard(".dockerignore")
    return files


def on_change(workspace: Path, artifacts: Iterable[Mapping[str, Any]], changed: str) -> dict[str, str]:
    """For one changed file (relative to the workspace): artifact image -> "sync" or "rebuild", for each
    artifact that depends on the file (the others are left alone)."""
    outcome = {}
    for artifact in artifacts:
        context = artifact.get("context", ".")
        relative = os.path.relpath(changed, context).replace(os.sep, "/")
        if relative not in docker_dependencies(workspace, artifact):
            continue
        rules = artifact.get("sync", {}).get("manual", [])
        synced = any(doublestar_match(rule["src"], relative) for rule in rules)
        outcome[artifact["image"]] = "sync" if synced else "rebuild"
    return outcome
