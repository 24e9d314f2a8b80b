{{/* CPU autoscaling; with autoscaling.sqs.enabled KEDA scales instead (seaway-service.scaledobject). */}}
{{- define "seaway-service.hpa" -}}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.sqs.enabled) }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "seaway-service.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - type: Percent
          value: 50
          periodSeconds: 60
{{- end }}
{{- end -}}
