{{/*
Sidecar mode: timeouts and retries for calls to this service, applied by the callers' sidecars. Writes
(POST, PATCH) retry at most once and only when the request never reached the app (connect-failure,
refused-stream); reads retry on a narrow set of transient failures. The kit's HTTP client does not retry
when the mesh does, so attempts multiply at one layer only.
*/}}
{{- define "seaway-service.virtualservice" -}}
{{- if eq (include "seaway-service.meshMode" .) "sidecar" }}
{{- $host := include "seaway-service.host" . -}}
{{- $r := .Values.mesh.retries -}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  hosts: [{{ $host }}]
  http:
    - name: writes
      match:
        - method:
            regex: "POST|PATCH"
      timeout: {{ .Values.mesh.timeout }}
      retries:
        attempts: {{ $r.nonIdempotent.attempts }}
        perTryTimeout: {{ $r.nonIdempotent.perTryTimeout }}
        retryOn: {{ $r.nonIdempotent.retryOn | quote }}
      route:
        - destination:
            host: {{ $host }}
            port:
              number: {{ include "seaway-service.port" . }}
    - name: reads
      timeout: {{ .Values.mesh.timeout }}
      retries:
        attempts: {{ $r.idempotent.attempts }}
        perTryTimeout: {{ $r.idempotent.perTryTimeout }}
        retryOn: {{ $r.idempotent.retryOn | quote }}
      route:
        - destination:
            host: {{ $host }}
            port:
              number: {{ include "seaway-service.port" . }}
{{- end }}
{{- end -}}
