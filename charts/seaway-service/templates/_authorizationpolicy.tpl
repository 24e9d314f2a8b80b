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
  {{- if eq $mode "ambient" }}
  targetRefs:
    - group: ""
      kind: Service
      name: {{ include "seaway-service.fullname" . }}
  {{- else }}
  selector:
    matchLabels:
      {{- include "seaway-service.selectorLabels" . | nindent 6 }}
  {{- end }}
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
  {{- if eq $mode "ambient" }}
  targetRefs:
    - group: ""
      kind: Service
      name: {{ include "seaway-service.fullname" $ }}
  {{- else }}
  selector:
    matchLabels:
      {{- include "seaway-service.selectorLabels" $ | nindent 6 }}
  {{- end }}
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
