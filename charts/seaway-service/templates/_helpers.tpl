{{/*
Names and labels, defined once. Every object of a service is named for the service (not prefixed by the
release): callers find it as http://<name>:8080 and the mesh identifies it as
cluster.local/ns/<namespace>/sa/<name>, so one storefront runs per namespace.
*/}}

{{- define "seaway-service.name" -}}
{{- required "name is required: the service's declared name (e.g. catalog)" .Values.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "seaway-service.fullname" -}}
{{- default (include "seaway-service.name" .) .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "seaway-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The image tag: image.tag, else the chart's appVersion. */}}
{{- define "seaway-service.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* The version label: the tag without a digest, reduced to the characters a label value allows. */}}
{{- define "seaway-service.version" -}}
{{- $tag := include "seaway-service.imageTag" . | splitList "@" | first -}}
{{- regexReplaceAll "[^-A-Za-z0-9_.]" $tag "-" | trunc 63 | trimAll "-_." -}}
{{- end -}}

{{/* The image: image.repository (default [<global.imageRegistry>/]seaway/<name>) with the tag, or @digest for a
bare sha256:... */}}
{{- define "seaway-service.image" -}}
{{- $registry := .Values.global.imageRegistry | default "" | trimSuffix "/" -}}
{{- $default := printf "seaway/%s" (include "seaway-service.name" .) -}}
{{- $repository := default (ternary (printf "%s/%s" $registry $default) $default (ne $registry "")) .Values.image.repository -}}
{{- $tag := include "seaway-service.imageTag" . -}}
{{- if hasPrefix "sha256:" $tag -}}
{{- printf "%s@%s" $repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The AWS account id as 12 digits. skaffold's setValueTemplates arrive as `--set`, which makes 111122223333 a
number (and would drop the leading zeros of 012345678901): a number is formatted back to 12 digits.
*/}}
{{- define "seaway-service.accountId" -}}
{{- $id := .Values.global.aws.accountId -}}
{{- if kindIs "string" $id -}}{{ $id }}{{- else -}}{{ printf "%012d" (int64 $id) }}{{- end -}}
{{- end -}}

{{/* Selector labels: the immutable subset (name + instance); never add to them, Deployments cannot change selectors. */}}
{{- define "seaway-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "seaway-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Standard labels for every object. Call with the root context, or a dict {"ctx": ., "component": "..."}. */}}
{{- define "seaway-service.labels" -}}
{{- $ctx := . -}}
{{- $component := "" -}}
{{- if hasKey . "ctx" -}}
{{- $ctx = .ctx -}}
{{- $component = .component -}}
{{- end -}}
{{ include "seaway-service.selectorLabels" $ctx }}
app.kubernetes.io/version: {{ include "seaway-service.version" $ctx | quote }}
app.kubernetes.io/component: {{ default $ctx.Values.component $component }}
app.kubernetes.io/part-of: {{ $ctx.Values.global.partOf }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
helm.sh/chart: {{ include "seaway-service.chart" $ctx }}
{{- end -}}

{{/* Labels of the Deployment and its pods: the standard set plus the fixed contract of `kubectl seaway`. */}}
{{- define "seaway-service.workloadLabels" -}}
{{ include "seaway-service.labels" . }}
seaway.dev/service: {{ include "seaway-service.name" . }}
{{- end -}}

{{- define "seaway-service.serviceAccountName" -}}
{{- default (include "seaway-service.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Mesh helpers: "off", "sidecar" or "ambient", from global.mesh.enabled and global.mesh.mode. */}}
{{- define "seaway-service.meshMode" -}}
{{- if .Values.global.mesh.enabled -}}{{ .Values.global.mesh.mode }}{{- else -}}off{{- end -}}
{{- end -}}

{{/* The SPIFFE principal of a service account in this release's namespace. */}}
{{- define "seaway-service.principal" -}}
{{- printf "%s/ns/%s/sa/%s" .ctx.Values.global.mesh.trustDomain .ctx.Release.Namespace .sa -}}
{{- end -}}

{{- define "seaway-service.host" -}}
{{- printf "%s.%s.svc.cluster.local" (include "seaway-service.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* Requests one pod serves at once: gunicorn workers x threads. Sizes the mesh's connection pool. */}}
{{- define "seaway-service.capacity" -}}
{{- mul .Values.gunicorn.workers .Values.gunicorn.threads -}}
{{- end -}}

{{/*
Shutdown arithmetic, from one set of values so the parts agree: preStop sleep (endpoints and proxies stop
sending new requests), then SIGTERM: readiness fails and requests are still served for drainSeconds
(DRAIN_SECONDS), then in-flight requests get gracefulTimeout (GRACEFUL_TIMEOUT). The grace period adds a margin.
*/}}
{{- define "seaway-service.shutdownSeconds" -}}
{{- add .Values.shutdown.preStopSeconds .Values.shutdown.drainSeconds .Values.shutdown.gracefulTimeout -}}
{{- end -}}

{{- define "seaway-service.terminationGracePeriodSeconds" -}}
{{- add (include "seaway-service.shutdownSeconds" . | int) .Values.shutdown.marginSeconds -}}
{{- end -}}

{{/* The restricted Pod Security Standard, for pod and container. The image's user is 10001. */}}
{{- define "seaway-service.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "seaway-service.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The port the app serves HTTP, health and metrics on (fixed by the image). */}}
{{- define "seaway-service.port" -}}8080{{- end -}}

{{/* The customers' pool (global.auth): its issuer, required by a service with auth.enabled. */}}
{{- define "seaway-service.authIssuer" -}}
{{- required (printf "global.auth.issuer is required: %s has auth.enabled (set it to the user pool's issuer, https://cognito-idp.<region>.amazonaws.com/<pool id>)" (include "seaway-service.name" .)) .Values.global.auth.issuer -}}
{{- end -}}

{{/* Where the pool's keys are: global.auth.jwksUri, else the issuer's /.well-known/jwks.json (Cognito's own). */}}
{{- define "seaway-service.authJwksUri" -}}
{{- default (printf "%s/.well-known/jwks.json" (include "seaway-service.authIssuer" .)) .Values.global.auth.jwksUri -}}
{{- end -}}

{{/* The app clients whose tokens are accepted, comma-separated; at least one (the kit refuses to start without). */}}
{{- define "seaway-service.authClientIds" -}}
{{- if not .Values.global.auth.clientIds -}}
{{- fail (printf "global.auth.clientIds is required: %s has auth.enabled (the user pool's app client ids)" (include "seaway-service.name" .)) -}}
{{- end -}}
{{- join "," .Values.global.auth.clientIds -}}
{{- end -}}
