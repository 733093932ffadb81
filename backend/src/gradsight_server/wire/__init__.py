"""The versioned batch wire format: decoding and validation (docs/wire-format.md)."""
