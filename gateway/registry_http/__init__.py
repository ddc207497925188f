"""The registry over the network: docs/registry-api.yaml's client (`registry.backend: http`) and
its reference server (`hamta-gateway registry serve`, the embedded registry behind the API)."""
