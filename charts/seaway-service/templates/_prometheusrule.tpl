{{/*
Alerts on the kit's RED metrics (OpenTelemetry HTTP semantic conventions as Prometheus names):
http_server_request_duration_seconds with labels http_route, http_request_method, http_response_status_code.
*/}}
{{- define "seaway-service.prometheusrule" -}}
{{- if .Values.global.monitoring.enabled }}
{{- $name := include "seaway-service.name" . -}}
{{- $job := include "seaway-service.fullname" . -}}
{{- $a := .Values.monitoring.alerts -}}
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
          expr: 'absent(up{job="{{ $job }}"} == 1)'
          for: 5m
          labels:
            severity: critical
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: no instance has been scraped successfully for 5 minutes'
        - alert: SeawayHighErrorRatio
          expr: >-
            sum(rate(http_server_request_duration_seconds_count{job="{{ $job }}",http_response_status_code=~"5.."}[5m]))
            / sum(rate(http_server_request_duration_seconds_count{job="{{ $job }}"}[5m])) > {{ $a.errorRatio }}
          for: 10m
          labels:
            severity: warning
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: more than {{ mulf $a.errorRatio 100 }}% of requests fail with 5xx'
        - alert: SeawayHighLatency
          expr: >-
            histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{job="{{ $job }}"}[5m])))
            > {{ $a.latencyP99Seconds }}
          for: 10m
          labels:
            severity: warning
            service: {{ $name }}
          annotations:
            summary: '{{ $name }}: p99 latency above {{ $a.latencyP99Seconds }}s'
{{- end }}
{{- end -}}
