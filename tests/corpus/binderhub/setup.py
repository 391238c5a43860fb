from setuptools import setup

setup(name="binderhub", version="0.2.0", packages=["binderhub"])
