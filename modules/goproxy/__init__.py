"""Go's module proxy protocol rules, in plain Python (no Django).

A small counterpart of golang.org/x/mod and cmd/go/internal/modfetch: module paths and
their escaping, semantic versions and pseudo-versions, the h1 hash, module zip checks,
go.mod parsing, GOPROXY lists, GOPRIVATE-style patterns and the download URL layout.
Callers import the submodules (``from modules.goproxy import semver``); this package
re-exports nothing.
"""
