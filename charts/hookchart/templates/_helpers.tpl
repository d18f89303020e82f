{{- define "hookchart.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A hook Job that writes the time it ran (ns) as its termination message. */}}
{{- define "hookchart.stampJob" -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .name }}
  labels:
    {{- include "hookchart.labels" .root | nindent 4 }}
    hookchart.kubetm.io/hook: {{ .name }}
  annotations:
    {{- toYaml .annotations | nindent 4 }}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        hookchart.kubetm.io/hook: {{ .name }}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
        - name: stamp
          image: "{{ .root.Values.image.registry }}/{{ .root.Values.image.shell }}"
          command: ["sh", "-c", "date +%s.%N > /dev/termination-log"]
{{- end }}
