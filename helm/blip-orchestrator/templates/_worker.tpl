{{/*
One pool of worker pods as a Deployment. Arguments: root (the chart's context), name (the Deployment's suffix and the
component label), pool (worker.gpu or worker.cpu), device (cuda or cpu), slots, gpu (true: exactly one GPU per pod).
*/}}
{{- define "blip-orchestrator.workerDeployment" -}}
{{- $root := .root -}}
{{- $worker := $root.Values.worker -}}
{{- $component := dict "root" $root "component" .name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "blip-orchestrator.fullname" $root }}-{{ .name }}
  labels:
    {{- include "blip-orchestrator.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .name }}
spec:
  replicas: {{ .pool.replicas }}
  selector:
    matchLabels:
      {{- include "blip-orchestrator.selector" $component | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "blip-orchestrator.selector" $component | nindent 8 }}
      {{- if $root.Values.metrics.annotations }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $worker.metricsPort | quote }}
        prometheus.io/path: /metrics
      {{- end }}
    spec:
      # A stopping worker saves a checkpoint of each run, reports it and exits within Worker:StopTimeout (20 s by default).
      terminationGracePeriodSeconds: 40
      containers:
        - name: worker
          image: "{{ .pool.image.repository }}:{{ .pool.image.tag }}"
          imagePullPolicy: {{ .pool.image.pullPolicy }}
          {{- with $worker.extraArgs }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          env:
            # The pod's name: a worker's queue is named after its id.
            - name: Worker__WorkerId
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            # The address a rank's collectives transport binds and publishes to its gang (Worker:Gang:Address).
            - name: Worker__Gang__Address
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            - name: Worker__Slots
              value: {{ .slots | quote }}
            - name: Worker__Device
              value: {{ .device | quote }}
            - name: Worker__TorchThreads
              value: {{ $worker.torchThreads | quote }}
            - name: Worker__WorkDirectory
              value: {{ $worker.workDirectory | quote }}
            - name: Worker__HealthUrl
              value: "http://0.0.0.0:{{ $worker.healthPort }}"
            - name: Worker__MetricsPort
              value: {{ $worker.metricsPort | quote }}
            - name: Worker__MetricsAddress
              value: 0.0.0.0
            {{- range $index, $importRoot := $worker.importRoots }}
            - name: Worker__ImportRoots__{{ $index }}
              value: {{ $importRoot | quote }}
            {{- end }}
            {{- include "blip-orchestrator.sharedEnv" $root | nindent 12 }}
          ports:
            - name: health
              containerPort: {{ $worker.healthPort }}
            - name: metrics
              containerPort: {{ $worker.metricsPort }}
          livenessProbe:
            httpGet: { path: /healthz, port: health }
            periodSeconds: 10
          resources:
            {{- with .pool.resources.requests }}
            requests:
              {{- toYaml . | nindent 14 }}
            {{- end }}
            {{- $limits := deepCopy (.pool.resources.limits | default dict) }}
            {{- if .gpu }}
            {{- $_ := set $limits "nvidia.com/gpu" 1 }}
            {{- end }}
            {{- with $limits }}
            limits:
              {{- toYaml . | nindent 14 }}
            {{- end }}
          volumeMounts:
            - name: work
              mountPath: {{ $worker.workDirectory }}
      volumes:
        - name: work
          emptyDir: {}
      {{- with .pool.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .pool.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
