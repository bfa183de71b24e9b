{{/* The objects' name: the release name when it contains the chart's, else release-chart. */}}
{{- define "kubepki-controller.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The RBAC roles' name: kubepki:controller for the release kubepki-controller. */}}
{{- define "kubepki-controller.rbacName" -}}
{{- printf "kubepki:%s" (include "kubepki-controller.fullname" . | trimPrefix "kubepki-") -}}
{{- end -}}

{{- define "kubepki-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubepki-controller.labels" -}}
{{ include "kubepki-controller.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kubepki-controller.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
