{{/* Standard labels for the umbrella's own objects: dict {"ctx": ., "name": <service or storefront>, "component": ...}. */}}
{{- define "storefront.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: {{ .ctx.Values.global.partOf }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "storefront.gatewayHost" -}}
{{- printf "gateway.%s.svc.cluster.local" .Release.Namespace -}}
{{- end -}}
