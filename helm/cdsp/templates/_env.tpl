{{/* Environment of a service's container. Plain settings as values; every secret setting by
secretKeyRef. Args: (dict "root" $ "svc" $svc) */}}
{{- define "cdsp.env" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
{{- $c := $root.Values.common -}}
{{- $plain := dict
  "CDSP_ENV" $c.env
  "CDSP_LOG_LEVEL" $c.logLevel
  "CDSP_LOCAL_TZ" $c.localTimeZone
  "CDSP_SHUTDOWN_GRACE_S" $c.shutdownGraceSeconds
  "CDSP_DB_POOL_MIN" $c.dbPool.min
  "CDSP_DB_POOL_MAX" $c.dbPool.max
  "CDSP_GRPC_ADDR" (printf "0.0.0.0:%v" $svc.grpcPort)
  "CDSP_METRICS_ADDR" (printf "0.0.0.0:%v" $svc.metricsPort)
  "CDSP_KAFKA_BOOTSTRAP" $root.Values.kafka.bootstrap
  "CDSP_TOPIC_PARTITIONS" $root.Values.kafka.topicPartitions
  "CDSP_TOPIC_REPLICATION" $root.Values.kafka.topicReplication
  "CDSP_KAFKA_SECURITY_PROTOCOL" $root.Values.kafka.securityProtocol
  "CDSP_MIGRATE_ON_START" (ternary "false" "true" $svc.migration.enabled)
  "CDSP_TOKEN_ISSUER" $root.Values.identity.issuer
  "CDSP_TOKEN_JWKS" $root.Values.identity.jwksUrl
  "CDSP_TOKEN_REVOCATIONS" $root.Values.identity.revocationsUrl
  "CDSP_TOKEN_MAX_LIFETIME_S" $root.Values.identity.maxLifetimeSeconds
  "CDSP_TOKEN_AUDIENCE" $svc.audience
  "CDSP_TOKEN_CLAIM_ROLE" $root.Values.identity.claims.role
  "CDSP_TOKEN_CLAIM_JURISDICTIONS" $root.Values.identity.claims.jurisdictions
  "CDSP_TOKEN_CLAIM_PERSON" $root.Values.identity.claims.person
  "CDSP_TOKEN_CLAIM_WARDS" $root.Values.identity.claims.wards
-}}
{{- if hasPrefix "SASL_" $root.Values.kafka.securityProtocol -}}
{{- $_ := set $plain "CDSP_KAFKA_SASL_MECHANISM" $root.Values.kafka.saslMechanism -}}
{{- end -}}
{{- if $root.Values.kafka.tls.caSecretName -}}
{{- $_ := set $plain "CDSP_KAFKA_CA_FILE" (printf "%s/%s" (include "cdsp.kafkaCaDir" $root) $root.Values.kafka.tls.caKey) -}}
{{- end -}}
{{- if $root.Values.grpcTls.enabled -}}
{{- $dir := include "cdsp.grpcTlsDir" $root -}}
{{- $_ := set $plain "CDSP_GRPC_TLS_CERT" (printf "%s/tls.crt" $dir) -}}
{{- $_ := set $plain "CDSP_GRPC_TLS_KEY" (printf "%s/tls.key" $dir) -}}
{{- $_ := set $plain "CDSP_GRPC_TLS_CA" (printf "%s/ca.crt" $dir) -}}
{{- $_ := set $plain "CDSP_GRPC_HEALTH_ADDR" (printf "0.0.0.0:%v" $root.Values.grpcTls.healthPort) -}}
{{- if $root.Values.grpcTls.clientAuth -}}
{{- $_ := set $plain "CDSP_GRPC_TLS_CLIENT_CA" (printf "%s/ca.crt" $dir) -}}
{{- end -}}
{{- end -}}
{{- $plain = mergeOverwrite $plain ($c.extraEnv | default dict) ($svc.env | default dict) -}}
{{- range $name := keys $plain | sortAlpha }}
- name: {{ $name }}
  value: {{ index $plain $name | toString | quote }}
{{- end }}
- name: CDSP_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "cdsp.dbSecretName" . }}
      key: {{ include "cdsp.dbSecretKey" . }}
{{- with $root.Values.kafka.credentials }}
{{- if and .secretName (hasPrefix "SASL_" $root.Values.kafka.securityProtocol) }}
- name: CDSP_KAFKA_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ .secretName }}, key: {{ .usernameKey }}}
- name: CDSP_KAFKA_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .secretName }}, key: {{ .passwordKey }}}
{{- end }}
{{- end }}
{{- if $root.Values.kafkaUsers.strimzi.enabled }}
{{- $user := include "cdsp.fullname" (dict "root" $root "name" $svc.name) }}
- name: CDSP_KAFKA_USERNAME
  value: {{ $user | quote }}
- name: CDSP_KAFKA_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $user }}, key: password}
{{- end }}
{{- range $svc.secretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
