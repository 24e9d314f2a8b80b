{{/*
KEDA scales the service on the depth of one of its SQS queues (autoscaling.sqs), between autoscaling.minReplicas
and maxReplicas, instead of an HPA on CPU. KEDA's operator reads the queue attributes with its own EKS Pod
Identity (provider aws; its role comes with the generated CloudFormation), or assumes roleArn.
*/}}
{{- define "seaway-service.scaledobject" -}}
{{- $a := .Values.autoscaling -}}
{{- if and $a.enabled $a.sqs.enabled }}
{{- $queue := dict -}}
{{- range .Values.aws.resources }}
{{- if and (eq .kind "queue") (eq .name $a.sqs.queue) }}{{ $queue = . }}{{ end }}
{{- end }}
{{- if not $queue }}
{{- fail (printf "autoscaling.sqs.queue %q is not a queue of aws.resources" $a.sqs.queue) }}
{{- end }}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ include "seaway-service.fullname" . }}-sqs
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" (dict "ctx" . "component" "autoscaling") | nindent 4 }}
spec:
  podIdentity:
    provider: aws
    {{- with $a.sqs.roleArn }}
    roleArn: {{ . | quote }}
    {{- end }}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.labels" (dict "ctx" . "component" "autoscaling") | nindent 4 }}
spec:
  scaleTargetRef:
    name: {{ include "seaway-service.fullname" . }}
  minReplicaCount: {{ $a.minReplicas }}
  maxReplicaCount: {{ $a.maxReplicas }}
  pollingInterval: {{ $a.sqs.pollingInterval }}
  cooldownPeriod: {{ $a.sqs.cooldownPeriod }}
  triggers:
    - type: aws-sqs-queue
      authenticationRef:
        name: {{ include "seaway-service.fullname" . }}-sqs
      metadata:
        queueURL: {{ include "seaway-service.deployed" (dict "ctx" . "text" $queue.value) | quote }}
        queueLength: {{ $a.sqs.queueLength | quote }}
        awsRegion: {{ .Values.global.aws.region | quote }}
        {{- with .Values.global.aws.endpointUrl }}
        awsEndpoint: {{ . | quote }}
        {{- end }}
{{- end }}
{{- end -}}
