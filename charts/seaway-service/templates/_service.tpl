{{- define "seaway-service.service" -}}
{{- $mode := include "seaway-service.meshMode" . -}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
    {{- if eq $mode "ambient" }}
    # Traffic to this Service goes through the namespace's waypoint (L7 policy, routes, retries), also from
    # the ingress gateway.
    istio.io/use-waypoint: {{ .Values.global.mesh.waypoint.name }}
    istio.io/ingress-use-waypoint: "true"
    {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "seaway-service.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ include "seaway-service.port" . }}
      targetPort: http
      protocol: TCP
      appProtocol: http
    {{- if and (eq $mode "sidecar") .Values.global.monitoring.enabled }}
    # Istio metrics merging: the sidecar agent serves app + proxy metrics here in plaintext, outside mTLS,
    # so an out-of-mesh Prometheus can scrape while the app port accepts mTLS only.
    - name: http-merged-metrics
      port: 15020
      targetPort: 15020
      protocol: TCP
    {{- end }}
{{- end -}}
