{{/*
Alerts of one service on the kit's metrics (services/seaway/metrics.py), selected by the labels the
ServiceMonitor gives every sample: job (the Service's name, the fullname) and namespace.

- SeawayServiceDown: no scrape holds seaway_worker_threads, a gauge every worker sets when it starts. Not
  `up`: in sidecar mode Prometheus scrapes Istio's merged metrics on :15020, which answer (up == 1) with
  Envoy's own metrics when the app container is down; only the app's series vanish.
- HTTP alerts, for a service something calls (callers, "ingress" for the public edge): a worker that serves
  no routes of its own would watch empty series.
- Event alerts, per queue the service consumes (aws.resources of kind queue; the metrics' queue label is the
  queue's physical name): failing handling, dead-lettered messages, old events. A series new in the window
  counts with its whole value (it started at 0 in its process), the others by increase(): a labelled series
  appears with its first event, which increase() alone never sees.
Every alert has promtool tests in tests/fidelity/rules (tests/fidelity/test_alerts.py).
*/}}
{{- define "seaway-service.increaseOrNew" -}}
(({{ .series }} unless {{ .series }} offset {{ .window }}) or increase({{ .series }}[{{ .window }}]))
{{- end -}}

{{- define "seaway-service.prometheusrule" -}}
{{- if .Values.global.monitoring.enabled }}
{{- $name := include "seaway-service.name" . -}}
{{- $job := include "seaway-service.fullname" . -}}
{{- $selector := printf "job=%q,namespace=%q" $job .Release.Namespace -}}
{{- $a := .Values.monitoring.alerts -}}
{{- $failureRatio := $a.eventFailureRatio -}}
{{- $ageSeconds := $a.eventAgeSeconds -}}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
    {{- with .Values.global.monitoring.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  groups:
    - name: {{ $name }}.seaway
      rules:
        - alert: SeawayServiceDown
          expr: 'absent(seaway_worker_threads{ {{- $selector -}} })'
          for: 5m
          labels:
            severity: critical
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: no scrape has reached the app for 5 minutes'
            description: >-
              No instance of {{ $name }} exposes seaway_worker_threads: the app is not running or not
              answering its metrics (in sidecar mode the proxy's scrape may still succeed).
        {{- if .Values.callers }}
        - alert: SeawayHighErrorRatio
          expr: >-
            sum(rate(http_server_request_duration_seconds_count{ {{- $selector -}} ,http_response_status_code=~"5.."}[5m]))
            / sum(rate(http_server_request_duration_seconds_count{ {{- $selector -}} }[5m])) > {{ $a.errorRatio }}
          for: 10m
          labels:
            severity: warning
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: more than {{ mulf $a.errorRatio 100 }}% of requests fail with 5xx'
        - alert: SeawayHighLatency
          expr: >-
            histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{ {{- $selector -}} }[5m])))
            > {{ $a.latencyP99Seconds }}
          for: 10m
          labels:
            severity: warning
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: p99 latency above {{ $a.latencyP99Seconds }}s'
        {{- end }}
        {{- range .Values.aws.resources }}
        {{- if eq .kind "queue" }}
        {{- $queue := include "seaway-service.deployed" (dict "ctx" $ "text" .physicalName) }}
        {{- $events := printf "seaway_events_total{%s,queue=%q" $selector $queue }}
        - alert: SeawayEventsFailing
          expr: >-
            sum by (queue) {{ include "seaway-service.increaseOrNew" (dict "series" (printf "%s,outcome=~\"failed|dead_lettered\"}" $events) "window" "10m") }}
            / sum by (queue) {{ include "seaway-service.increaseOrNew" (dict "series" (printf "%s,outcome!=\"duplicate\"}" $events) "window" "10m") }}
            > {{ $failureRatio }}
          for: 15m
          labels:
            severity: warning
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: more than {{ mulf $failureRatio 100 }}% of attempts to handle events from {{ $queue }} fail'
            description: >-
              For 15 minutes, handlers of {{ $queue }} have failed on more than {{ mulf $failureRatio 100 }}% of their
              attempts (each failure is retried, then dead-lettered). Look at the handler's logs and its dependencies.
        - alert: SeawayEventsDeadLettered
          expr: >-
            sum by (queue) {{ include "seaway-service.increaseOrNew" (dict "series" (printf "%s,outcome=\"dead_lettered\"}" $events) "window" "15m") }}
            > 0
          labels:
            severity: warning
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: events from {{ $queue }} went to its dead-letter queue'
            description: >-
              {{ "{{ $value }}" }} message(s) failed on their last allowed receive in the last 15 minutes and are in
              {{ $queue }}-dlq: inspect them there, fix the cause, and redrive them to {{ $queue }}.
        - alert: SeawayEventsOld
          expr: >-
            histogram_quantile(0.99, sum by (queue, le) (rate(seaway_event_age_seconds_bucket{ {{- $selector -}} ,queue={{ $queue | quote }}}[10m])))
            > {{ $ageSeconds }}
          for: 10m
          labels:
            severity: warning
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: events from {{ $queue }} are handled more than {{ $ageSeconds }}s after publication'
            description: >-
              The 99th percentile of event age at processing has been above {{ $ageSeconds }}s for 10 minutes: the
              workers fall behind (scale out) or messages keep coming back before they succeed.
        {{- end }}
        {{- end }}
{{- end }}
{{- end -}}
