{{/* The objects' name: the release name when it already says handtracker-operator. */}}
{{- define "handtracker-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "handtracker-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "handtracker-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The selector: the same as deploy/'s, so both install the same Deployment. */}}
{{- define "handtracker-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
{{- end -}}

{{/* Labels of deploy/ plus Helm's own (instance, version, managed-by, chart). */}}
{{- define "handtracker-operator.labels" -}}
{{ include "handtracker-operator.selectorLabels" . }}
app.kubernetes.io/part-of: handtracker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "handtracker-operator.componentLabels" -}}
{{ include "handtracker-operator.labels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* By digest when image.digest is set (the tag is then ignored), else by tag. */}}
{{- define "handtracker-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The workload released with the operator, unless operator.defaultImage names one. */}}
{{- define "handtracker-operator.defaultImage" -}}
{{ .Values.operator.defaultImage | default (printf "ghcr.io/handtracking-dev/handtracker-workload:%s" .Chart.AppVersion) }}
{{- end -}}

{{/* deploy/rbac/clusterrole.yaml's rules (a copy kept identical by a test). */}}
{{- define "handtracker-operator.rules" -}}
{{- (.Files.Get "files/clusterrole.yaml" | fromYaml).rules | toYaml -}}
{{- end -}}

{{/*
The rules whose resources are (inside=true) or are not (inside=false) in `scope`,
each rule cut down to those resources. Input: dict rules, scope, inside.
*/}}
{{- define "handtracker-operator.pickRules" -}}
{{- $ctx := . -}}
{{- $out := list -}}
{{- range $rule := $ctx.rules -}}
{{- $picked := list -}}
{{- range $resource := $rule.resources -}}
{{- if eq (has (splitList "/" $resource | first) $ctx.scope) $ctx.inside -}}
{{- $picked = append $picked $resource -}}
{{- end -}}
{{- end -}}
{{- if $picked -}}
{{- $out = append $out (merge (dict "resources" $picked) (omit $rule "resources")) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
