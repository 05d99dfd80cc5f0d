"""Channel adapters: translate between a platform and Incoming / Outgoing, nothing more."""
