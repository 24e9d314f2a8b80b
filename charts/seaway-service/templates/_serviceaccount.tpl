{{/*
The service's identity: EKS Pod Identity associates an IAM role with (namespace, this account) outside the
chart, so by default there is nothing to annotate. serviceAccount.roleArn adds the IRSA annotation instead.
The same account is the mesh identity that callers' policies name.
*/}}
{{- define "seaway-service.serviceaccount" -}}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "seaway-service.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.roleArn }}
  annotations:
    eks.amazonaws.com/role-arn: {{ . | quote }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end -}}
