{{/*
The service's environment, as the kit reads it (see seaway.service and the kit's config). Every value is a
string. Per-service, named and valued by seaway.service (`make generate` writes them into the values; the chart
computes no name): each entry of `calls` ({env, url}), each AWS resource ({env, value}), REDIS_URL when
redis.enabled, AUTH_* when auth.enabled (from global.auth, the application's one pool).
*/}}
{{- define "seaway-service.env" -}}
{{- $g := .Values.global -}}
SEAWAY_SERVICE: {{ include "seaway-service.name" . | quote }}
PORT: {{ include "seaway-service.port" . | quote }}
# Not WEB_CONCURRENCY: gunicorn parses that itself at import (seaway.config.KitSettings.workers).
WORKERS: {{ .Values.gunicorn.workers | quote }}
WORKER_THREADS: {{ .Values.gunicorn.threads | quote }}
LOG_LEVEL: {{ .Values.logLevel | quote }}
DRAIN_SECONDS: {{ .Values.shutdown.drainSeconds | quote }}
GRACEFUL_TIMEOUT: {{ .Values.shutdown.gracefulTimeout | quote }}
MAX_REQUEST_BYTES: {{ .Values.maxRequestBytes | int64 | quote }}
READINESS_CACHE_SECONDS: {{ .Values.readinessCacheSeconds | quote }}
AWS_REGION: {{ $g.aws.region | quote }}
{{- with $g.aws.endpointUrl }}
AWS_ENDPOINT_URL: {{ . | quote }}
# The emulator accepts any key; boto3 refuses to sign without one. Never set where there is no emulator.
AWS_ACCESS_KEY_ID: "emulator"
AWS_SECRET_ACCESS_KEY: "emulator"
{{- end }}
OTEL_SERVICE_NAME: {{ include "seaway-service.name" . | quote }}
{{- with $g.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf"
OTEL_PROPAGATORS: {{ $g.otel.propagators | quote }}
OTEL_TRACES_SAMPLER: {{ $g.otel.sampler | quote }}
{{- with $g.otel.samplerArg }}
OTEL_TRACES_SAMPLER_ARG: {{ . | quote }}
{{- end }}
OTEL_RESOURCE_ATTRIBUTES: {{ printf "service.namespace=%s,service.version=%s,deployment.environment.name=%s" $g.partOf (include "seaway-service.version" .) $g.environment | quote }}
SEAWAY_CLOUDWATCH: {{ $g.cloudwatch | quote }}
{{- if $g.mesh.enabled }}
# The mesh retries (the VirtualService in sidecar mode, the HTTPRoute at the waypoint in ambient mode), so the
# kit's client must not retry as well.
MESH_RETRIES: "true"
{{- end }}
{{- if $g.chaos }}
CHAOS_ENABLED: "true"
{{- end }}
{{- range .Values.calls }}
{{ .env }}: {{ .url | quote }}
{{- end }}
{{- range .Values.aws.resources }}
{{ .env }}: {{ include "seaway-service.deployed" (dict "ctx" $ "text" .value) | quote }}
{{- end }}
{{- if .Values.redis.enabled }}
REDIS_URL: {{ required "redis.url or global.redis.url is required when redis.enabled" (.Values.redis.url | default .Values.global.redis.url) | quote }}
{{- end }}
{{- if .Values.auth.enabled }}
# The customers' pool (seaway.auth): tokens are verified against its keys, its issuer and its app clients.
AUTH_ISSUER: {{ include "seaway-service.authIssuer" . | quote }}
AUTH_JWKS_URL: {{ include "seaway-service.authJwksUri" . | quote }}
AUTH_CLIENT_IDS: {{ include "seaway-service.authClientIds" . | quote }}
{{- end }}
{{- range $k, $v := .Values.env }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/*
A value computed by `make generate` (seaway.service.resource_value) with what only the deployment knows filled
in: {account} (12 digits), {region} and {sqsEndpoint} (the emulator's endpoint, else the region's SQS).
*/}}
{{- define "seaway-service.deployed" -}}
{{- $g := .ctx.Values.global -}}
{{- $sqs := default (printf "https://sqs.%s.amazonaws.com" $g.aws.region) $g.aws.endpointUrl | trimSuffix "/" -}}
{{- .text | replace "{account}" (include "seaway-service.accountId" .ctx) | replace "{region}" $g.aws.region | replace "{sqsEndpoint}" $sqs -}}
{{- end -}}

{{- define "seaway-service.configmap" -}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
data:
  {{- include "seaway-service.env" . | nindent 2 }}
{{- end -}}
