{{- define "seaway-service.podMeshLabels" -}}
{{- $mode := include "seaway-service.meshMode" . -}}
{{- if eq $mode "sidecar" }}
sidecar.istio.io/inject: "true"
{{- else if eq $mode "ambient" }}
istio.io/dataplane-mode: ambient
{{- end }}
{{- end -}}

{{/*
The sidecar's start and stop, fitted to the shutdown budget. The proxy starts before the app. A classic
sidecar gets SIGTERM with the app, so it drains for the app's whole shutdown (it still carries the app's
calls). A native sidecar (an init container that always restarts; Istio's default from 1.27 on Kubernetes
1.33+, pinned here by annotation) is stopped by the kubelet only after the app has exited, within the same
grace period: it drains briefly, so app shutdown + proxy drain stays inside terminationGracePeriodSeconds.
*/}}
{{- define "seaway-service.proxyDrainSeconds" -}}
{{- if .Values.global.mesh.nativeSidecars -}}
{{- max 1 (sub .Values.shutdown.marginSeconds 2) -}}
{{- else -}}
{{- include "seaway-service.shutdownSeconds" . -}}
{{- end -}}
{{- end -}}

{{- define "seaway-service.proxyAnnotations" -}}
sidecar.istio.io/nativeSidecar: {{ .Values.global.mesh.nativeSidecars | toString | quote }}
proxy.istio.io/config: {{ dict "holdApplicationUntilProxyStarts" true "terminationDrainDuration" (printf "%ss" (include "seaway-service.proxyDrainSeconds" .)) | toJson | quote }}
{{- end -}}

{{/* Volumes every Seaway pod mounts: the root filesystem is read-only. */}}
{{- define "seaway-service.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.volumes.tmpSizeLimit }}
- name: metrics
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.volumes.metricsSizeLimit }}
{{- end -}}

{{- define "seaway-service.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: metrics
  mountPath: {{ .Values.metricsDir }}
{{- end -}}

{{- define "seaway-service.deployment" -}}
{{- $mode := include "seaway-service.meshMode" . -}}
{{- $port := include "seaway-service.port" . | int -}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "seaway-service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.workloadLabels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 25%
  selector:
    matchLabels:
      {{- include "seaway-service.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "seaway-service.workloadLabels" . | nindent 8 }}
        {{- with include "seaway-service.podMeshLabels" . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "seaway-service.configmap" . | sha256sum }}
        kubectl.kubernetes.io/default-container: app
        {{- if .Values.global.monitoring.enabled }}
        # Read by annotation-based scrapers, and in sidecar mode by Istio's metrics merging: the sidecar agent
        # scrapes the app and serves app + proxy metrics in plaintext on :15020/stats/prometheus.
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- if eq $mode "sidecar" }}
        {{- include "seaway-service.proxyAnnotations" . | nindent 8 }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "seaway-service.serviceAccountName" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ include "seaway-service.terminationGracePeriodSeconds" . }}
      securityContext:
        {{- include "seaway-service.podSecurityContext" . | nindent 8 }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        {{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
        - maxSkew: {{ $.Values.topologySpread.maxSkew }}
          topologyKey: {{ $key }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "seaway-service.selectorLabels" $ | nindent 14 }}
          matchLabelKeys: [pod-template-hash]
        {{- end }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: app
          image: {{ include "seaway-service.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ $port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "seaway-service.fullname" . }}
          env:
            # Set on the pod itself, beside the volume it names: prometheus_client reads it at import.
            - name: PROMETHEUS_MULTIPROC_DIR
              value: {{ .Values.metricsDir | quote }}
          startupProbe:
            httpGet:
              path: /livez
              port: http
            periodSeconds: 2
            timeoutSeconds: 2
            failureThreshold: {{ .Values.probes.startupFailureThreshold }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /livez
              port: http
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          lifecycle:
            preStop:
              sleep:
                seconds: {{ .Values.shutdown.preStopSeconds }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "seaway-service.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- include "seaway-service.volumeMounts" . | nindent 12 }}
      volumes:
        {{- include "seaway-service.volumes" . | nindent 8 }}
{{- end -}}
