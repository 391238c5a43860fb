from setuptools import setup

setup(name="jupyter-repo2docker", version="0.1.1", packages=["repo2docker"])
