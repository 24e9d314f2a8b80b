{{/*
Who may open connections to the service's pods. The `callers` list is the single source for this policy and
the Istio AuthorizationPolicy: a service name admits that service's pods; "ingress" admits the Istio ingress
gateway's pods (global.mesh.ingressGateway). Beside the callers: this chart's own helm test pod, the scrapers
(global.monitoring.scrapers, when global.monitoring.enabled) and, in ambient mode, the waypoint and the kubelet's probes, which ztunnel
SNATs to 169.254.7.127. Egress is not restricted (AWS endpoints have no stable addresses).
*/}}
{{- define "seaway-service.networkpolicy" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $mode := include "seaway-service.meshMode" . -}}
{{- $port := include "seaway-service.port" . | int -}}
{{- $appPorts := list (dict "port" $port "protocol" "TCP") -}}
{{- if eq $mode "ambient" -}}
{{- $appPorts = append $appPorts (dict "port" 15008 "protocol" "TCP") -}}
{{- end -}}
{{- $gw := .Values.global.mesh.ingressGateway -}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "seaway-service.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    {{- range .Values.callers }}
    {{- if eq . "ingress" }}
    - from:
        - namespaceSelector:
            matchExpressions:
              - key: kubernetes.io/metadata.name
                operator: In
                values: {{ toJson $gw.namespaces }}
          podSelector:
            matchLabels:
              {{- toYaml $gw.podLabels | nindent 14 }}
      ports: {{ toJson $appPorts }}
    {{- else }}
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ . }}
      ports: {{ toJson $appPorts }}
    {{- end }}
    {{- end }}
    {{- if .Values.test.enabled }}
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ include "seaway-service.name" . }}-test
              app.kubernetes.io/component: test
      ports: {{ toJson $appPorts }}
    {{- end }}
    {{- if .Values.global.monitoring.enabled }}
    {{- range .Values.global.monitoring.scrapers }}
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ .namespace }}
          {{- with .podLabels }}
          podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
      {{- if eq $mode "sidecar" }}
      ports: [{"port": 15020, "protocol": "TCP"}]
      {{- else }}
      ports: {{ toJson $appPorts }}
      {{- end }}
    {{- end }}
    {{- end }}
    {{- if eq $mode "ambient" }}
    - from:
        - podSelector:
            matchLabels:
              gateway.networking.k8s.io/gateway-name: {{ .Values.global.mesh.waypoint.name }}
      ports: [{"port": 15008, "protocol": "TCP"}]
    - from:
        - ipBlock:
            cidr: 169.254.7.127/32
      ports: [{"port": {{ $port }}, "protocol": "TCP"}]
    {{- end }}
    {{- with .Values.networkPolicy.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end -}}
