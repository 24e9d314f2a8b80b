{{/*
Ambient mode: the same timeouts and retries as the sidecar VirtualService, as a Gateway API HTTPRoute bound to
this Service (applied by the waypoint). Writes get `attempts` retries without status codes, i.e. only on
connection failures; reads also retry a 503.
*/}}
{{- define "seaway-service.httproute" -}}
{{- if eq (include "seaway-service.meshMode" .) "ambient" }}
{{- $r := .Values.mesh.retries -}}
{{- $backend := dict "name" (include "seaway-service.fullname" .) "port" (include "seaway-service.port" . | int) -}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  parentRefs:
    - group: ""
      kind: Service
      name: {{ include "seaway-service.fullname" . }}
      port: {{ include "seaway-service.port" . }}
  rules:
    - name: writes
      matches:
        - method: POST
        - method: PATCH
      timeouts:
        request: {{ .Values.mesh.timeout }}
        backendRequest: {{ $r.nonIdempotent.perTryTimeout }}
      {{- if gt (int $r.nonIdempotent.attempts) 0 }}
      retry:
        attempts: {{ $r.nonIdempotent.attempts }}
      {{- end }}
      backendRefs: [{{ toJson $backend }}]
    - name: reads
      matches:
        - path:
            type: PathPrefix
            value: /
      timeouts:
        request: {{ .Values.mesh.timeout }}
        backendRequest: {{ $r.idempotent.perTryTimeout }}
      {{- if gt (int $r.idempotent.attempts) 0 }}
      retry:
        attempts: {{ $r.idempotent.attempts }}
        codes: [503]
      {{- end }}
      backendRefs: [{{ toJson $backend }}]
{{- end }}
{{- end -}}
