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

{{/* The silos' storage account: a connection string from a Secret, or an account name with workload identity. */}}
{{- define "blip-orchestrator.storageEnv" -}}
{{- $secret := or .Values.storage.connectionString .Values.storage.existingSecret -}}
{{- if $secret -}}
- name: Orchestrator__Storage__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ .Values.storage.existingSecret | default (include "blip-orchestrator.secretName" .) }}
      key: storageConnectionString
{{- else if .Values.storage.accountName -}}
- name: Orchestrator__Storage__AccountName
  value: {{ .Values.storage.accountName | quote }}
{{- end }}
{{- with .Values.storage.stateContainer }}
- name: Orchestrator__Storage__StateContainer
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Refuses storage settings that cannot work: none, or both forms at once. Renders nothing. */}}
{{- define "blip-orchestrator.checkStorage" -}}
{{- $secret := or .Values.storage.connectionString .Values.storage.existingSecret -}}
{{- if and $secret .Values.storage.accountName -}}
{{- fail "storage: give either connectionString/existingSecret or accountName, not both" -}}
{{- end -}}
{{- if not (or $secret .Values.storage.accountName) -}}
{{- fail "storage is required: set storage.connectionString (or storage.existingSecret) for account keys or Azurite, or storage.accountName for workload identity" -}}
{{- end -}}
{{- end -}}

{{/* The silos' service account under workload identity: the chart's (with storage.workloadIdentity.clientId) or the user's. */}}
{{- define "blip-orchestrator.siloServiceAccount" -}}
{{- if .Values.storage.workloadIdentity.clientId -}}
{{ include "blip-orchestrator.fullname" . }}-silo
{{- else -}}
{{ required "storage.accountName needs storage.workloadIdentity.clientId (the chart creates the service account) or storage.workloadIdentity.serviceAccountName" .Values.storage.workloadIdentity.serviceAccountName }}
{{- end -}}
{{- end -}}
