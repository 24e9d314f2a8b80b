"""skaffold.yaml, whole: one artifact per declared service (services/Dockerfile, build argument SERVICE) and the
tools image; the storefront release's image values per service; the dev profile's sync rules per artifact;
the eks profile (which removes the tools artifact by its index); the ambient profile."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seaway_tools.generate.declarations import Declared

PATH = Path("skaffold.yaml")
TOOLS = "seaway-tools"
FORWARD_FROM = 9080  # local ports of the public services' port-forwards
SET = "/deploy/helm/releases/0/setValueTemplates"
REDIS_URL = '"{{.SEAWAY_REDIS_URL}}"'


def _artifact(name: str) -> str:
    return f"""    - image: {name}
      context: .
      docker:
        dockerfile: services/Dockerfile
        buildArgs: {{SERVICE: {name}}}
"""


def _sync(index: int, declared: Declared) -> str:
    app = declared.app
    sources = [
        "services/seaway/**/*",
        f"services/{app}/__init__.py",
        f"services/{app}/*/__init__.py",
        f"services/{app}/*/service.py",
        f"{declared.folder}/**/*",
    ]
    rules = "".join(f'            - {{src: "{src}", dest: /tmp/app}}\n' for src in sources)
    return f"""      - {{op: add, path: /build/artifacts/{index}/docker/target, value: dev}}
      - op: add
        path: /build/artifacts/{index}/sync
        value:
          manual:
{rules}"""


def render(root: Path, services: Mapping[str, Declared]) -> dict[Path, str]:
    from seaway_tools.generate import HEADER

    tools_index = len(services)
    artifacts = "".join(_artifact(name) for name in services)
    images = "".join(
        f'          {name}.image.repository: "{{{{.IMAGE_REPO_{name.replace("-", "_")}}}}}"\n'
        f'          {name}.image.tag: "{{{{.IMAGE_TAG_{name.replace("-", "_")}}}}}"\n'
        for name in services
    )
    forwards = "".join(
        f"""  - resourceType: service
    resourceName: {name}
    namespace: storefront
    port: 8080
    localPort: {FORWARD_FROM + i}
"""
        for i, name in enumerate(n for n, d in services.items() if d.service.public)
    )
    syncs = "".join(_sync(index, declared) for index, declared in enumerate(services.values()))
    # One Redis for every service that declares it uses Redis (the chart's global.redis.url).
    redis = (
        f"      - {{op: add, path: {SET}/global.redis.url, value: {REDIS_URL}}}\n"
        if any(declared.service.redis for declared in services.values())
        else ""
    )
    # The application's user pool on EKS: scripts/deploy.sh reads its issuer and app client from the stack's outputs.
    auth = (
        f'      - {{op: add, path: {SET}/global.auth.issuer, value: "{{{{.SEAWAY_AUTH_ISSUER}}}}"}}\n'
        f'      - {{op: add, path: "{SET}/global.auth.clientIds[0]", value: "{{{{.SEAWAY_AUTH_CLIENT_ID}}}}"}}\n'
        if any(declared.service.user_pool for declared in services.values())
        else ""
    )
    text = f"""# {HEADER}.
# Build and deploy the storefront. Needs skaffold >= 2.19 (Helm 4 support); `make dev` and `make deploy` run it.
#   skaffold run  --kube-context kind-seaway    production images, loaded into kind, helm upgrade --install
#   skaffold dev  --kube-context kind-seaway    the same with the dev profile: file sync + gunicorn --reload
#   skaffold run  -p eks --default-repo <account>.dkr.ecr.<region>.amazonaws.com/seaway   (scripts/deploy.sh)
#   MESH_MODE=ambient (or -p ambient) with any of them: the storefront for Istio's ambient data plane.
# On kind, scripts/kind-up.sh first installs Istio, the Prometheus Operator, the AWS emulator and Redis.
apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: storefront
build:
  tagPolicy:
    gitCommit:
      variant: AbbrevCommitSha
  local:
    useBuildkit: true
    concurrency: 2
  # One artifact per declared service, all from services/Dockerfile; SERVICE picks the service.
  artifacts:
{artifacts}    # The tools (the seaway command, no service's code): the aws-resources Job on kind runs it.
    - image: {TOOLS}
      context: .
      docker:
        dockerfile: services/tools.Dockerfile
deploy:
  helm:
    # The storefront is release 0 in every profile, so that profile patches (eks, ambient) name it by one
    # index in any combination; skaffold installs by dependsOn, not by list order.
    releases:
      - name: storefront
        chartPath: charts/storefront
        namespace: storefront
        dependsOn: [aws-resources]
        valuesFiles: [charts/storefront/values-kind.yaml]
        wait: true
        setValueTemplates:
{images}      # kind only (the eks profile removes it): fill the in-cluster AWS emulator before the services start.
      - name: aws-resources
        chartPath: k8s/kind/aws-resources
        namespace: seaway-system
        wait: true
        setValueTemplates:
          image.repository: "{{{{.IMAGE_REPO_seaway_tools}}}}"
          image.tag: "{{{{.IMAGE_TAG_seaway_tools}}}}"
  statusCheckDeadlineSeconds: 300
# Straight to the public services (--port-forward), past the mesh's ingress that kind publishes on localhost:8080.
portForward:
{forwards}profiles:
  # skaffold dev on kind: the image's dev stage (sources copied to /tmp/app, gunicorn --reload) and file sync.
  # skaffold syncs a changed file into an artifact's pods only when one of that artifact's own rules matches it,
  # and rebuilds the artifact when the file is one of its inputs (a source of its Dockerfile's COPY) that no
  # rule matches. So each artifact syncs every source its image has: the kit, every service's declaration
  # (each image keeps all of them) and its own service's folder. `skaffold run` on kind keeps the production image.
  - name: dev
    activation:
      - kubeContext: kind-.*
        command: dev
    patches:
{syncs}  # EKS (scripts/deploy.sh sets the environment named below): amd64 images pushed under --default-repo
  # <account>.dkr.ecr.<region>.amazonaws.com/seaway, i.e. to seaway/<service>, the repositories of
  # k8s/eks/storefront-aws.yaml, whose tags are immutable. A tag is the digest of the image's inputs (the
  # files its Dockerfile copies): a machine whose skaffold cache lacks the image (a second laptop, CI) asks the
  # registry for that tag first (tryImportMissing) and reuses it instead of rebuilding and pushing a second,
  # different image under the same tag, which ECR refuses. The EKS values; no emulator.
  - name: eks
    patches:
      - {{op: replace, path: /build/tagPolicy, value: {{inputDigest: {{}}}}}}
      - {{op: add, path: /build/platforms, value: [linux/amd64]}}
      - {{op: add, path: /build/local/push, value: true}}
      - {{op: add, path: /build/local/tryImportMissing, value: true}}
      - {{op: remove, path: /build/artifacts/{tools_index}}}  # the tools image serves the emulator only
      - {{op: remove, path: /deploy/helm/releases/1}}
      - {{op: remove, path: /deploy/helm/releases/0/dependsOn}}
      - {{op: replace, path: /deploy/helm/releases/0/valuesFiles, value: [charts/storefront/values-eks.yaml]}}
      - {{op: add, path: {SET}/global.aws.accountId, value: "{{{{.AWS_ACCOUNT_ID}}}}"}}
      - {{op: add, path: /deploy/helm/releases/0/setValueTemplates/global.aws.region, value: "{{{{.AWS_REGION}}}}"}}
{redis}{auth}      - {{op: add, path: {SET}/ingress.host, value: "{{{{.SEAWAY_HOST}}}}"}}
      - op: add
        path: /deploy/helm/releases/0/setValueTemplates/ingress.certificateArn
        value: "{{{{.SEAWAY_CERTIFICATE_ARN}}}}"
      - {{op: replace, path: /deploy/statusCheckDeadlineSeconds, value: 600}}
  # Istio's ambient data plane (ztunnel + the namespace's waypoint) instead of sidecars; combines with dev and
  # eks. Selected by MESH_MODE=ambient, which `make dev MESH_MODE=ambient` / `make deploy MESH_MODE=ambient` set
  # (scripts/kind-up.sh and scripts/deploy.sh then install Istio's ambient profile), or by -p ambient.
  - name: ambient
    activation:
      - env: MESH_MODE=ambient
    patches:
      - {{op: add, path: /deploy/helm/releases/0/setValues, value: {{global.mesh.mode: ambient}}}}
"""
    return {PATH: text}
