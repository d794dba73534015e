"""The allow/deny policy: which module versions may enter builds.

- rules.py: the decision (which rule wins, quarantine), kept in memory per process;
- quarantine.py: how old a version is, by this proxy's own clock;
- changes.py: every change to the rules, recorded with who made it (admin, API, files);
- filterfile.py: Athens filter files, the rules as text for import and export;
- api.py: the JSON API at /api/rules/.

The rules themselves are models of the modules app (modules/models.py: PolicyRule,
PolicyRuleChange), so their tables and migrations stay where they were.
"""
