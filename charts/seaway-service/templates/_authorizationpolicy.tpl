{{/* The principals of the `callers` list (see _networkpolicy.tpl): one source for both layers. */}}
{{- define "seaway-service.callerPrincipals" -}}
{{- $principals := list -}}
{{- $gw := .Values.global.mesh.ingressGateway -}}
{{- range .Values.callers -}}
{{- if eq . "ingress" -}}
{{- range $ns := $gw.namespaces -}}
{{- $principals = append $principals (printf "%s/ns/%s/sa/%s" $.Values.global.mesh.trustDomain $ns $gw.serviceAccount) -}}
{{- end -}}
{{- else -}}
{{- $principals = append $principals (include "seaway-service.principal" (dict "ctx" $ "sa" .)) -}}
{{- end -}}
{{- end -}}
{{- toJson $principals -}}
{{- end -}}

{{/*
Where an L7 policy applies: sidecar mode, the service's own sidecar (workload selector); ambient mode, the
waypoint, for requests to this Service (targetRefs).
*/}}
{{- define "seaway-service.policyTarget" -}}
{{- if eq (include "seaway-service.meshMode" .) "ambient" -}}
targetRefs:
  - group: ""
    kind: Service
    name: {{ include "seaway-service.fullname" . }}
{{- else -}}
selector:
  matchLabels:
    {{- include "seaway-service.selectorLabels" . | nindent 4 }}
{{- end -}}
{{- end -}}

{{- define "seaway-service.authorizationRules" -}}
{{- $callers := include "seaway-service.callerPrincipals" . | fromJsonArray -}}
{{- if $callers }}
- from:
    - source:
        principals: {{ toJson $callers }}
{{- end }}
{{- if .Values.test.enabled }}
# The chart's helm test pod runs as this service's own account and may only read readiness.
- from:
    - source:
        principals: [{{ include "seaway-service.principal" (dict "ctx" . "sa" (include "seaway-service.serviceAccountName" .)) | quote }}]
  to:
    - operation:
        methods: [GET]
        paths: [/readyz]
{{- end }}
{{- end -}}

{{/*
ALLOW only the callers. Sidecar mode: enforced by the service's own sidecar (workload selector). Ambient mode:
enforced by the waypoint (targetRefs to this Service, which uses the waypoint), and a second, L4 policy makes
the pods' ztunnel accept only the waypoint (and Prometheus on the app port), so the L7 policy cannot be
bypassed by calling a pod directly.
*/}}
{{- define "seaway-service.authorizationpolicy" -}}
{{- $mode := include "seaway-service.meshMode" . -}}
{{- if ne $mode "off" }}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  {{- include "seaway-service.policyTarget" . | nindent 2 }}
  action: ALLOW
  rules:
    {{- include "seaway-service.authorizationRules" . | nindent 4 }}
{{- with .Values.restrictedPaths }}
---
# Paths only some of the callers may use (orders' /internal/* is fulfillment's alone): DENY wins over ALLOW.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: {{ include "seaway-service.fullname" $ }}-restricted-paths
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" $ | nindent 4 }}
spec:
  {{- include "seaway-service.policyTarget" $ | nindent 2 }}
  action: DENY
  rules:
    {{- range . }}
    {{- $allowed := list }}
    {{- range .callers }}
    {{- if not (has . $.Values.callers) }}
    {{- fail (printf "restrictedPaths: %q is not in callers" .) }}
    {{- end }}
    {{- $allowed = append $allowed (include "seaway-service.principal" (dict "ctx" $ "sa" .)) }}
    {{- end }}
    - from:
        - source:
            notPrincipals: {{ toJson $allowed }}
      to:
        - operation:
            paths: {{ toJson .paths }}
    {{- end }}
{{- end }}
{{- if and .Values.auth.enabled .Values.auth.requiredPaths }}
---
# A customer's token where the service requires one (auth.requiredPaths): DENY wins over the callers' ALLOW, so a
# request there needs both an admitted caller and a token the RequestAuthentication verified, from this pool's
# issuer (an invalid token never gets this far: 401) and issued to one of global.auth.clientIds (Cognito access
# tokens name their app client in client_id, as the kit checks too). The mesh answers 403 (RBAC: access denied).
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: {{ include "seaway-service.fullname" . }}-require-token
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  {{- include "seaway-service.policyTarget" . | nindent 2 }}
  action: DENY
  rules:
    {{- $issuer := include "seaway-service.authIssuer" . }}
    {{- $clients := include "seaway-service.authClientIds" . | splitList "," }}
    {{- range .Values.auth.requiredPaths }}
    {{- $operation := dict "paths" .paths }}
    {{- with .methods }}{{ $_ := set $operation "methods" . }}{{ end }}
    - from:
        - source:
            notRequestPrincipals: [{{ printf "%s/*" $issuer | quote }}]
      to:
        - operation: {{ toJson $operation }}
    - to:
        - operation: {{ toJson $operation }}
      when:
        - key: request.auth.claims[client_id]
          notValues: {{ toJson $clients }}
    {{- end }}
{{- end }}
{{- if eq $mode "ambient" }}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: {{ include "seaway-service.fullname" . }}-ztunnel
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "seaway-service.selectorLabels" . | nindent 6 }}
  action: ALLOW
  rules:
    - from:
        - source:
            principals: [{{ include "seaway-service.principal" (dict "ctx" . "sa" .Values.global.mesh.waypoint.serviceAccount) | quote }}]
    {{- if .Values.global.monitoring.enabled }}
    {{- $scrapers := list }}
    {{- range .Values.global.monitoring.scrapers }}
    {{- $scrapers = append $scrapers (printf "%s/ns/%s/sa/%s" $.Values.global.mesh.trustDomain .namespace .serviceAccount) }}
    {{- end }}
    {{- if $scrapers }}
    - from:
        - source:
            principals: {{ toJson $scrapers }}
      to:
        - operation:
            ports: [{{ include "seaway-service.port" . | quote }}]
    {{- end }}
    {{- end }}
{{- end }}
{{- end }}
{{- end -}}
