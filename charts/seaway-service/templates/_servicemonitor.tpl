{{/*
Prometheus Operator scrape config. With sidecars and STRICT mTLS the app port accepts mTLS only, so
Prometheus scrapes Istio's merged metrics (app + proxy) on the plaintext port 15020; without a mesh, or in
ambient mode (Prometheus enrolled in the mesh, admitted by the ztunnel policy), it scrapes /metrics on http.
*/}}
{{- define "seaway-service.servicemonitor" -}}
{{- if .Values.global.monitoring.enabled }}
{{- $sidecar := eq (include "seaway-service.meshMode" .) "sidecar" -}}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
    {{- with .Values.global.monitoring.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "seaway-service.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames: [{{ .Release.Namespace }}]
  endpoints:
    - port: {{ ternary "http-merged-metrics" "http" $sidecar }}
      path: {{ ternary "/stats/prometheus" "/metrics" $sidecar }}
      interval: {{ .Values.monitoring.interval }}
      scrapeTimeout: {{ .Values.monitoring.scrapeTimeout }}
{{- end }}
{{- end -}}
