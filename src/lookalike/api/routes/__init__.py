"""The API's routers, one per concern; create_app includes them (reads behind the key when asked)."""
