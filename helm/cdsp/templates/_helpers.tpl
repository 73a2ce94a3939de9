{{/*
Helpers of the cdsp chart. Every per-service template ranges over .Values.services and merges each
entry over .Values.serviceDefaults with "cdsp.service" semantics:
  {{- $svc := mergeOverwrite (deepCopy $.Values.serviceDefaults) (deepCopy $entry) }}
*/}}

{{- define "cdsp.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of a service's objects: <release>-<service>. Args: (dict "root" $ "name" "registry") */}}
{{- define "cdsp.fullname" -}}
{{ printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels selectors use (Deployment, Service, NetworkPolicy, ServiceMonitor). */}}
{{- define "cdsp.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "cdsp.labels" -}}
{{ include "cdsp.selectorLabels" . }}
app.kubernetes.io/part-of: cdsp
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "cdsp.chart" .root }}
{{- end }}

{{/* Labels of the objects not owned by one service (migration hooks, PrometheusRule). */}}
{{- define "cdsp.releaseLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: cdsp
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "cdsp.chart" . }}
{{- end }}

{{- define "cdsp.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := printf "%s/%s" $img.repositoryPrefix .svc.name -}}
{{- if .svc.image }}{{ $repo = .svc.image }}{{ end -}}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $repo }}{{ end -}}
{{ printf "%s:%s" $repo ($img.tag | default .root.Chart.AppVersion) }}
{{- end }}

{{- define "cdsp.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}
{{ include "cdsp.fullname" (dict "root" .root "name" .svc.name) }}
{{- else -}}
{{ .svc.serviceAccountName | default "default" }}
{{- end -}}
{{- end }}

{{/* Where a service's gRPC certificate Secret is mounted (grpcTls), and its name. */}}
{{- define "cdsp.grpcTlsDir" -}}/etc/cdsp/grpc-tls{{- end }}
{{- define "cdsp.grpcTlsSecretName" -}}
{{ .svc.grpcTlsSecretName | default (printf "%s-grpc-tls" (include "cdsp.fullname" (dict "root" .root "name" .svc.name))) }}
{{- end }}

{{/* The port the probes ask: the plaintext health-only port with TLS, else the gRPC port. */}}
{{- define "cdsp.probePort" -}}
{{ ternary .root.Values.grpcTls.healthPort .svc.grpcPort .root.Values.grpcTls.enabled }}
{{- end }}

{{/* Where the Kafka CA bundle is mounted (kafka.tls.caSecretName). */}}
{{- define "cdsp.kafkaCaDir" -}}/etc/cdsp/kafka-ca{{- end }}

{{/* The Secret holding a service's CDSP_DATABASE_URL. */}}
{{- define "cdsp.dbSecretName" -}}
{{ (.svc.database | default dict).secretName | default (printf "cdsp-%s-db" .svc.name) }}
{{- end }}
{{- define "cdsp.dbSecretKey" -}}
{{ (.svc.database | default dict).key | default "url" }}
{{- end }}

{{/* The Secret the migration Job reads CDSP_DATABASE_URL from: the tables' owner when the entry
names database.migrationSecretName (two roles), else the service's own Secret (one role). */}}
{{- define "cdsp.dbMigrationSecretName" -}}
{{ (.svc.database | default dict).migrationSecretName | default (include "cdsp.dbSecretName" .) }}
{{- end }}
{{- define "cdsp.dbMigrationSecretKey" -}}
{{- $db := .svc.database | default dict -}}
{{ ternary ($db.migrationKey | default "url") (include "cdsp.dbSecretKey" .) (not (empty $db.migrationSecretName)) }}
{{- end }}

{{/* Refuses values that would deploy something broken. Included once per template. */}}
{{- define "cdsp.validate" -}}
{{- $c := .Values.common -}}
{{- if le (int $c.terminationGracePeriodSeconds) (add (int $c.shutdownGraceSeconds) (int $c.preStopSleepSeconds)) -}}
{{- fail (printf "common.terminationGracePeriodSeconds (%v) must exceed shutdownGraceSeconds + preStopSleepSeconds (%v + %v)" $c.terminationGracePeriodSeconds $c.shutdownGraceSeconds $c.preStopSleepSeconds) -}}
{{- end -}}
{{- $id := .Values.identity -}}
{{- range $key, $what := dict "issuer" "the `iss` the identity provider's tokens carry" "jwksUrl" "the https URL of the identity provider's public keys (JWKS)" "revocationsUrl" "the https URL of the identity provider's revocation list" -}}
{{- if not (index $id $key) -}}{{ fail (printf "identity.%s is required: %s" $key $what) }}{{- end -}}
{{- if and (eq $c.env "production") (hasKey (dict "jwksUrl" 1 "revocationsUrl" 1) $key) (not (hasPrefix "https://" (index $id $key))) -}}
{{- fail (printf "identity.%s must be an https URL in production (the services refuse anything else), got %q" $key (index $id $key)) -}}
{{- end -}}
{{- end -}}
{{- $k := .Values.kafka -}}
{{- if not (has $k.securityProtocol (list "PLAINTEXT" "SSL" "SASL_PLAINTEXT" "SASL_SSL")) -}}
{{- fail (printf "kafka.securityProtocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got %q" (toString $k.securityProtocol)) -}}
{{- end -}}
{{- $users := .Values.kafkaUsers.strimzi.enabled -}}
{{- if and (hasPrefix "SASL_" $k.securityProtocol) (not $k.credentials.secretName) (not $users) -}}
{{- fail (printf "kafka.credentials.secretName is required with kafka.securityProtocol %s" $k.securityProtocol) -}}
{{- end -}}
{{- if $users -}}
{{- if not (hasPrefix "SASL_" $k.securityProtocol) -}}
{{- fail (printf "kafkaUsers.strimzi.enabled gives each service a SCRAM-SHA-512 user: kafka.securityProtocol must be SASL_SSL or SASL_PLAINTEXT, got %s" $k.securityProtocol) -}}
{{- end -}}
{{- if ne $k.saslMechanism "SCRAM-SHA-512" -}}
{{- fail (printf "kafkaUsers.strimzi.enabled: Strimzi's users are SCRAM-SHA-512, but kafka.saslMechanism is %s" $k.saslMechanism) -}}
{{- end -}}
{{- if $k.credentials.secretName -}}
{{- fail "kafkaUsers.strimzi.enabled: each service connects as its own user; remove kafka.credentials.secretName (one user for all)" -}}
{{- end -}}
{{- end -}}
{{- if and (not (hasPrefix "SASL_" $k.securityProtocol)) $k.credentials.secretName -}}
{{- fail (printf "kafka.credentials.secretName is set but kafka.securityProtocol %s sends no credentials (use SASL_SSL)" $k.securityProtocol) -}}
{{- end -}}
{{- if and $k.tls.caSecretName (not (hasSuffix "SSL" $k.securityProtocol)) -}}
{{- fail (printf "kafka.tls.caSecretName is set but kafka.securityProtocol %s uses no TLS" $k.securityProtocol) -}}
{{- end -}}
{{- $tls := .Values.grpcTls -}}
{{- if and $tls.enabled $tls.certManager.enabled (not $tls.certManager.issuerRef.name) -}}
{{- fail "grpcTls.certManager.enabled needs grpcTls.certManager.issuerRef.name (the issuer that signs the services' certificates)" -}}
{{- end -}}
{{- if and $tls.certManager.enabled (not $tls.enabled) -}}
{{- fail "grpcTls.certManager.enabled without grpcTls.enabled: the certificates would not be used" -}}
{{- end -}}
{{- if and $tls.clientAuth (not $tls.enabled) -}}
{{- fail "grpcTls.clientAuth (mutual TLS) needs grpcTls.enabled" -}}
{{- end -}}
{{- $names := list -}}
{{- range .Values.services -}}
{{- if and $tls.enabled (or (eq (int .grpcPort) (int $tls.healthPort)) (eq (int .metricsPort) (int $tls.healthPort))) -}}
{{- fail (printf "service %q: grpcTls.healthPort %v is its grpcPort or metricsPort" .name $tls.healthPort) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z][a-z0-9]{0,30}$" (toString .name)) -}}
{{- fail (printf "services[].name %q must be a lower-case package name (letters, digits)" (toString .name)) -}}
{{- end -}}
{{- if has .name $names -}}{{ fail (printf "service %q is listed twice" .name) }}{{- end -}}
{{- $db := .database | default dict -}}
{{- if and $db.migrationSecretName (not $db.appRole) -}}{{ fail (printf "service %q: database.migrationSecretName (the owner) needs database.appRole (the role the service runs as)" .name) }}{{- end -}}
{{- if and $db.appRole (not $db.migrationSecretName) -}}{{ fail (printf "service %q: database.appRole needs database.migrationSecretName (the owner's URL)" .name) }}{{- end -}}
{{- if or (not .grpcPort) (not .metricsPort) -}}{{ fail (printf "service %q needs grpcPort and metricsPort" .name) }}{{- end -}}
{{- if not .audience -}}{{ fail (printf "service %q needs its token audience (audience: cdsp-%s)" .name .name) }}{{- end -}}
{{- $names = append $names .name -}}
{{- end -}}
{{- range .Values.services -}}
{{- $svcName := .name -}}
{{- range (.allowedCallers | default list) -}}
{{- if not (has . $names) -}}{{ fail (printf "service %q: allowedCallers names %q, which is not in services" $svcName .) }}{{- end -}}
{{- end -}}
{{- end -}}
{{- $codes := list -}}
{{- $subscriberUsers := list -}}
{{- range .Values.partnerSubscribers -}}
{{- if not (has "partner" $names) -}}{{ fail (printf "partnerSubscribers: subscriber %q needs the partner gateway (a services entry named partner)" .code) }}{{- end -}}
{{- if has .code $codes -}}{{ fail (printf "partnerSubscribers: code %q is listed twice" .code) }}{{- end -}}
{{- $user := .user | default (printf "partner-%s" .code) -}}
{{- if has $user $subscriberUsers -}}{{ fail (printf "partnerSubscribers: user %q is listed twice" $user) }}{{- end -}}
{{- range $names -}}
{{- if eq $user (include "cdsp.fullname" (dict "root" $ "name" .)) -}}{{ fail (printf "partnerSubscribers: user %q is the Kafka user of service %s" $user .) }}{{- end -}}
{{- end -}}
{{- $codes = append $codes .code -}}
{{- $subscriberUsers = append $subscriberUsers $user -}}
{{- end -}}
{{- include "cdsp.console.validate" . -}}
{{- end }}
