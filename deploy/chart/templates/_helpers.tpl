{{- define "entitlegate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "entitlegate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "entitlegate.labels" -}}
{{ include "entitlegate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "entitlegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "entitlegate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "entitlegate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "entitlegate.configMapName" -}}
{{- default (printf "%s-config" (include "entitlegate.fullname" .)) .Values.existingConfigMap -}}
{{- end -}}

{{- define "entitlegate.tlsSecretName" -}}
{{- printf "%s-tls" (include "entitlegate.fullname" .) -}}
{{- end -}}

{{/* The usage files the server reads: the chart's own (usage) or an existing ConfigMap's (usageFiles). */}}
{{- define "entitlegate.usageFiles" -}}
{{- if .Values.existingConfigMap -}}
{{- range .Values.usageFiles }}
- {{ . }}
{{- end -}}
{{- else -}}
{{- range $name, $_ := .Values.usage }}
- {{ $name }}
{{- end -}}
{{- end -}}
{{- end -}}
