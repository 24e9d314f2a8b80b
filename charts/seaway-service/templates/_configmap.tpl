{{/*
The service's environment, as the kit reads it (see seaway.service and the kit's config). Every value is a
string. Per-service: <CALLEE>_URL for each entry of `calls`, one variable per AWS resource (named as
seaway.service.resource_env() names it), REDIS_URL when redis.enabled.
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
{{ printf "%s_URL" (upper . | replace "-" "_") }}: {{ printf "http://%s:%s" . (include "seaway-service.port" $) | quote }}
{{- end }}
{{- range .Values.aws.resources }}
{{ include "seaway-service.resourceEnvName" . }}: {{ include "seaway-service.resourceEnvValue" (dict "ctx" $ "resource" .) | quote }}
{{- end }}
{{- if .Values.redis.enabled }}
REDIS_URL: {{ required "redis.url is required when redis.enabled" .Values.redis.url | quote }}
{{- end }}
{{- range $k, $v := .Values.env }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{/* PRODUCTS_TABLE, ORDER_EVENTS_TOPIC_ARN, FULFILLMENT_QUEUE_URL, RECEIPTS_BUCKET (as seaway.service.resource_env). */}}
{{- define "seaway-service.resourceEnvName" -}}
{{- $suffix := get (dict "table" "TABLE" "topic" "TOPIC_ARN" "queue" "QUEUE_URL" "bucket" "BUCKET") .kind -}}
{{- printf "%s_%s" (upper .name | replace "-" "_") $suffix -}}
{{- end -}}

{{/*
Physical name, as seaway.service.physical_name: <partOf>-<name>, and for buckets, whose names are global
across every account, <partOf>-<name>-<account>-<region>. ARN for topics, URL for queues.
*/}}
{{- define "seaway-service.resourcePhysicalName" -}}
{{- $g := .ctx.Values.global -}}
{{- $r := .resource -}}
{{- if $r.physicalName -}}
{{- $r.physicalName -}}
{{- else if eq $r.kind "bucket" -}}
{{- printf "%s-%s-%s-%s" $g.partOf $r.name (include "seaway-service.accountId" .ctx) $g.aws.region -}}
{{- else -}}
{{- printf "%s-%s" $g.partOf $r.name -}}
{{- end -}}
{{- end -}}

{{- define "seaway-service.resourceEnvValue" -}}
{{- $g := .ctx.Values.global -}}
{{- $r := .resource -}}
{{- $physical := include "seaway-service.resourcePhysicalName" . -}}
{{- $account := include "seaway-service.accountId" .ctx -}}
{{- if eq $r.kind "topic" -}}
{{- printf "arn:aws:sns:%s:%s:%s" $g.aws.region $account $physical -}}
{{- else if eq $r.kind "queue" -}}
{{- $base := default (printf "https://sqs.%s.amazonaws.com" $g.aws.region) $g.aws.endpointUrl -}}
{{- printf "%s/%s/%s" (trimSuffix "/" $base) $account $physical -}}
{{- else -}}
{{- $physical -}}
{{- end -}}
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
