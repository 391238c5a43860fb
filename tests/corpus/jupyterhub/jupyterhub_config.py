c = get_config()  # noqa
c.JupyterHub.bind_url = "http://:8000"
