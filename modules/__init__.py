"""The module cache: fetching, storing and serving Go module versions."""
