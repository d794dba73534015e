"""HTTP views: the download API (goproxy.py) and health checks (health.py)."""
