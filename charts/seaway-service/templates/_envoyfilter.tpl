{{/*
Sidecar mode: the service's own sidecar cuts a client whose request headers have not all arrived within
requestHeadersTimeout, and a request with no bytes moving either way for streamIdleTimeout (Istio leaves both off
on its inbound listeners), on the HTTP connection manager of the inbound listener (an EnvoyFilter: Istio has no
other API for these two). The app's own deadline (HEADER_TIMEOUT_SECONDS) covers what reaches it without a proxy.
Ambient mode renders nothing: EnvoyFilter is not supported on waypoints, and a waypoint forwards a request to
the app only once its headers are complete.
*/}}
{{- define "seaway-service.envoyfilter" -}}
{{- $t := .Values.mesh.envoyTimeouts -}}
{{- if and $t.enabled (eq (include "seaway-service.meshMode" .) "sidecar") }}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: {{ include "seaway-service.fullname" . }}-timeouts
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  workloadSelector:
    labels:
      {{- include "seaway-service.selectorLabels" . | nindent 6 }}
  configPatches:
    - applyTo: NETWORK_FILTER
      match:
        context: SIDECAR_INBOUND
        listener:
          filterChain:
            filter:
              name: envoy.filters.network.http_connection_manager
      patch:
        operation: MERGE
        value:
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            request_headers_timeout: {{ $t.requestHeadersTimeout }}
            stream_idle_timeout: {{ $t.streamIdleTimeout }}
{{- end }}
{{- end -}}
