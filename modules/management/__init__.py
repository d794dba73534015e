"""manage.py commands of the module cache."""
