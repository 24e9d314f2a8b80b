{{/*
The customers' tokens, checked by the mesh as well as by the service (defence in depth): a request whose
Authorization bearer token is not signed by the pool (global.auth), is expired or names another issuer is refused
with 401 before it reaches the app; a request without a token passes here (auth.requiredPaths' AuthorizationPolicy
refuses it where a token is required). The token stays on the request (forwardOriginalToken), because the kit
verifies it again and the gateway forwards it to orders. Sidecar mode: the service's own sidecar; ambient mode:
the waypoint, for this Service (as the L7 AuthorizationPolicies). Cognito's access tokens carry no `aud` (their
app client is the client_id claim), so no audiences here: the client id is checked by requiredPaths' policy.
*/}}
{{- define "seaway-service.requestauthentication" -}}
{{- if and .Values.auth.enabled (ne (include "seaway-service.meshMode" .) "off") }}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  {{- include "seaway-service.policyTarget" . | nindent 2 }}
  jwtRules:
    - issuer: {{ include "seaway-service.authIssuer" . | quote }}
      jwksUri: {{ include "seaway-service.authJwksUri" . | quote }}
      forwardOriginalToken: true
{{- end }}
{{- end -}}
