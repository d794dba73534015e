"""The browsing UI's view of the cache.

- models.py, digest.py: what is derived from a version once, when it is cached (go.mod
  facts, the README rendered, the license, the zip's file index), and from a module
  when one of its versions comes or goes (@latest, retractions, deprecation).
- pages.py: the data of each page, from those digests; modules/views/browse.py renders it.
- readme.py: finding a README and rendering it to sanitized HTML.
- zipview.py: reading one file of a cached zip in place.
"""
