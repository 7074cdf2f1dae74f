"""The addresses of the embedded issuer's endpoints, for whoever needs to name them (the URL map,
the OpenAPI security scheme) without importing the issuer itself."""

TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path, not a password)
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
