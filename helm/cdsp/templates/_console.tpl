{{/*
Helpers of the worker console's objects (console-*.yaml). Its labels are the chart's with
component "console"; its name <release>-console.
*/}}

{{/* The console as the chart's per-deployable helpers (image, service account) take it. */}}
{{- define "cdsp.console.svc" -}}
{{- $c := .Values.console -}}
{{- toYaml (dict "name" "console" "image" $c.image "grpcTlsSecretName" $c.grpcTlsSecretName) -}}
{{- end }}

{{/* Environment of the console's container: plain settings as values, the session keys by
secretKeyRef. */}}
{{- define "cdsp.console.env" -}}
{{- $root := . -}}
{{- $con := .Values.console -}}
{{- $c := .Values.common -}}
{{- $id := .Values.identity -}}
{{- $plain := dict
  "CDSP_ENV" $c.env
  "CDSP_LOG_LEVEL" $c.logLevel
  "CDSP_LOCAL_TZ" $c.localTimeZone
  "CDSP_CONSOLE_ADDR" (printf "0.0.0.0:%v" $con.port)
  "CDSP_METRICS_ADDR" (printf "0.0.0.0:%v" $con.metricsPort)
  "CDSP_CONSOLE_TOKEN_URL" $id.tokenUrl
  "CDSP_CONSOLE_REVOKE_URL" ($id.revokeUrl | default "")
  "CDSP_CONSOLE_COOKIE_SECURE" "true"
  "CDSP_CONSOLE_SESSION_TTL_S" $con.sessionTtlSeconds
  "CDSP_CONSOLE_CALL_TIMEOUT_S" $con.callTimeoutSeconds
  "CDSP_TOKEN_ISSUER" $id.issuer
  "CDSP_TOKEN_JWKS" $id.jwksUrl
  "CDSP_TOKEN_REVOCATIONS" $id.revocationsUrl
  "CDSP_TOKEN_MAX_LIFETIME_S" $id.maxLifetimeSeconds
  "CDSP_TOKEN_AUDIENCE" $con.audience
  "CDSP_TOKEN_CLAIM_ROLE" $id.claims.role
  "CDSP_TOKEN_CLAIM_JURISDICTIONS" $id.claims.jurisdictions
  "CDSP_TOKEN_CLAIM_PERSON" $id.claims.person
  "CDSP_TOKEN_CLAIM_WARDS" $id.claims.wards
-}}
{{- range $entry := .Values.services -}}
{{- if has $entry.name $con.calls -}}
{{- $host := include "cdsp.fullname" (dict "root" $root "name" $entry.name) -}}
{{- $_ := set $plain (printf "CDSP_%s_ADDR" (upper $entry.name)) (printf "%s:%v" $host $entry.grpcPort) -}}
{{- end -}}
{{- end -}}
{{- if .Values.grpcTls.enabled -}}
{{- $dir := include "cdsp.grpcTlsDir" . -}}
{{- $_ := set $plain "CDSP_GRPC_TLS_CA" (printf "%s/ca.crt" $dir) -}}
{{- if .Values.grpcTls.clientAuth -}}
{{- $_ := set $plain "CDSP_GRPC_TLS_CERT" (printf "%s/tls.crt" $dir) -}}
{{- $_ := set $plain "CDSP_GRPC_TLS_KEY" (printf "%s/tls.key" $dir) -}}
{{- end -}}
{{- end -}}
{{- $plain = mergeOverwrite $plain ($con.env | default dict) -}}
{{- range $name := keys $plain | sortAlpha }}
- name: {{ $name }}
  value: {{ index $plain $name | toString | quote }}
{{- end }}
- name: CDSP_CONSOLE_SESSION_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $con.sessionKeys.secretName }}
      key: {{ $con.sessionKeys.key }}
{{- end }}

{{/* Refuses console values that would deploy something broken (from cdsp.validate). */}}
{{- define "cdsp.console.validate" -}}
{{- $con := .Values.console -}}
{{- if $con.enabled -}}
{{- $id := .Values.identity -}}
{{- if not $id.tokenUrl -}}
{{- fail "identity.tokenUrl is required with console.enabled: the identity provider's token endpoint, where the console signs workers in" -}}
{{- end -}}
{{- if eq .Values.common.env "production" -}}
{{- range $key := list "tokenUrl" "revokeUrl" -}}
{{- $url := index $id $key | default "" -}}
{{- if and $url (not (hasPrefix "https://" $url)) -}}
{{- fail (printf "identity.%s must be an https URL in production (the console refuses anything else), got %q" $key $url) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $con.sessionKeys.secretName -}}
{{- fail "console.sessionKeys.secretName is required: the Secret holding the keys that seal the session cookies" -}}
{{- end -}}
{{- if and $con.ingress.enabled (not $con.ingress.host) -}}
{{- fail "console.ingress.host is required with console.ingress.enabled: the name workers open (the Ingress serves it over TLS only)" -}}
{{- end -}}
{{- if and $con.ingress.enabled (not $con.ingress.tlsSecretName) -}}
{{- fail "console.ingress.tlsSecretName is required: the console is served over TLS only" -}}
{{- end -}}
{{- if gt (int $con.sessionTtlSeconds) (int $id.maxLifetimeSeconds) -}}
{{- fail (printf "console.sessionTtlSeconds (%v) exceeds identity.maxLifetimeSeconds (%v): the services would refuse the tokens" $con.sessionTtlSeconds $id.maxLifetimeSeconds) -}}
{{- end -}}
{{- if eq (int $con.port) (int $con.metricsPort) -}}
{{- fail "console.port and console.metricsPort must differ" -}}
{{- end -}}
{{- if and $con.autoscaling.enabled (gt (int $con.autoscaling.minReplicas) (int $con.autoscaling.maxReplicas)) -}}
{{- fail "console: autoscaling.minReplicas > maxReplicas" -}}
{{- end -}}
{{- $names := list -}}
{{- range .Values.services }}{{ $names = append $names .name }}{{ end -}}
{{- if has "console" $names -}}
{{- fail "a service may not be named \"console\": the worker console's objects have that name" -}}
{{- end -}}
{{- range $con.calls -}}
{{- if not (has . $names) -}}
{{- fail (printf "console.calls names %q, which is not in services" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end }}
