{{- define "blip-orchestrator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "blip-orchestrator.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "blip-orchestrator.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "blip-orchestrator.secretName" -}}
{{ include "blip-orchestrator.fullname" . }}-connections
{{- end -}}

{{- define "blip-orchestrator.apiKeysSecretName" -}}
{{ .Values.auth.existingSecret | default (printf "%s-api-keys" (include "blip-orchestrator.fullname" .)) }}
{{- end -}}

{{/* Whether the silos mount a keys file: keys given in values, or a Secret of the user's. */}}
{{- define "blip-orchestrator.apiKeysFile" -}}
{{- if or .Values.auth.apiKeys .Values.auth.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* Transport and artifact settings, the same for silos and workers. */}}
{{- define "blip-orchestrator.sharedEnv" -}}
- name: Transport__Kind
  value: RabbitMq
- name: Transport__QuorumQueues
  value: {{ .Values.rabbitmq.quorumQueues | quote }}
- name: Transport__RabbitMq
  valueFrom:
    secretKeyRef:
      name: {{ .Values.rabbitmq.existingSecret | default (include "blip-orchestrator.secretName" .) }}
      key: uri
- name: Artifacts__Kind
  value: {{ .Values.artifacts.kind | quote }}
- name: Artifacts__Container
  value: {{ .Values.artifacts.container | quote }}
- name: Artifacts__DataDirectory
  value: {{ .Values.artifacts.dataDirectory | quote }}
{{- if eq .Values.artifacts.kind "AzureBlob" }}
- name: Artifacts__AzureBlobConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ .Values.artifacts.existingSecret | default (include "blip-orchestrator.secretName" .) }}
      key: connectionString
{{- end }}
{{- end -}}
