"""policy_import and policy_export: allow/deny rules to and from Athens filter files."""
