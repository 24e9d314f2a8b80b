{{/*
`helm test`: a pod that asks the service's /readyz through its Service, with the service's own image (it has
Python) and account, so it passes the same NetworkPolicy, mesh policy and restricted Pod Security Standard.
With a classic sidecar it tells the proxy to quit when done, so the pod completes. Its labels name it
<service>-test, so the Service, PDB and HPA, which select <service>, never count it.
*/}}
{{- define "seaway-service.testLabels" -}}
app.kubernetes.io/name: {{ include "seaway-service.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "seaway-service.version" . | quote }}
app.kubernetes.io/component: test
app.kubernetes.io/part-of: {{ .Values.global.partOf }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "seaway-service.chart" . }}
{{- end -}}

{{- define "seaway-service.testScript" -}}
import os, sys, time, urllib.request
url = os.environ["TARGET_URL"]
ok = False
for attempt in range(10):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(url, response.status)
            ok = response.status == 200
    except OSError as error:
        print(url, error)
    if ok:
        break
    time.sleep(3)
if os.environ.get("QUIT_PROXY"):
    try:
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:15020/quitquitquit", method="POST"), timeout=2)
    except OSError:
        pass
sys.exit(0 if ok else 1)
{{- end -}}

{{- define "seaway-service.test" -}}
{{- if .Values.test.enabled }}
{{- $mode := include "seaway-service.meshMode" . -}}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "seaway-service.fullname" . }}-test
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "seaway-service.testLabels" . | nindent 4 }}
    {{- with include "seaway-service.podMeshLabels" . | trim }}
    {{- . | nindent 4 }}
    {{- end }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
    {{- if eq $mode "sidecar" }}
    sidecar.istio.io/nativeSidecar: {{ .Values.global.mesh.nativeSidecars | toString | quote }}
    proxy.istio.io/config: '{"holdApplicationUntilProxyStarts":true}'
    {{- end }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "seaway-service.serviceAccountName" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    {{- include "seaway-service.podSecurityContext" . | nindent 4 }}
  containers:
    - name: readyz
      image: {{ include "seaway-service.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command: ["python", "-c", {{ include "seaway-service.testScript" . | quote }}]
      env:
        - name: TARGET_URL
          value: {{ printf "http://%s:%s/readyz" (include "seaway-service.fullname" .) (include "seaway-service.port" .) | quote }}
        {{- if and (eq $mode "sidecar") (not .Values.global.mesh.nativeSidecars) }}
        # A classic sidecar would keep the pod running; a native one is stopped when this container exits.
        - name: QUIT_PROXY
          value: "1"
        {{- end }}
      resources:
        requests:
          cpu: 10m
          memory: 32Mi
        limits:
          memory: 64Mi
      securityContext:
        {{- include "seaway-service.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 16Mi
{{- end }}
{{- end -}}
