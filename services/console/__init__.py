"""The worker console: a server-rendered web application (a backend-for-frontend) that signs a
worker in with the identity issuer and calls the five services over gRPC with the worker's own
token, so every role and jurisdiction rule of the services holds here unchanged. It stores no
personal data: the session is an encrypted cookie, and every page is sent with no-store."""
