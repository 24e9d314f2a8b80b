{{/*
Connection pool sized to what the service can serve at once (gunicorn workers x threads per pod, times the
pods it may have), so the proxy fails fast with 503 instead of queueing; at most one pod's worth of requests
waits. Outlier detection ejects failing pods but never all of them. Applied by sidecars and by waypoints.
*/}}
{{- define "seaway-service.destinationrule" -}}
{{- if .Values.global.mesh.enabled }}
{{- $capacity := include "seaway-service.capacity" . | int -}}
{{- $pods := ternary .Values.autoscaling.maxReplicas .Values.replicaCount .Values.autoscaling.enabled | int -}}
{{- $o := .Values.mesh.outlierDetection -}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  host: {{ include "seaway-service.host" . }}
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: {{ mul $capacity $pods }}
        connectTimeout: 2s
      http:
        http1MaxPendingRequests: {{ $capacity }}
        http2MaxRequests: {{ mul $capacity $pods }}
        # Below the app's keep-alive, so the proxy never reuses a connection the app is closing.
        idleTimeout: {{ .Values.mesh.idleTimeout }}
    outlierDetection:
      consecutive5xxErrors: {{ $o.consecutive5xxErrors }}
      interval: {{ $o.interval }}
      baseEjectionTime: {{ $o.baseEjectionTime }}
      maxEjectionPercent: {{ $o.maxEjectionPercent }}
{{- end }}
{{- end -}}
