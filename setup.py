"""Which packages and files the wheel holds (everything else is pyproject.toml's).

The packages are found, not listed: every package under `seq2seq/`.
Two folders of the checkout ship inside `seq2seq` as package data, mapped rather
than copied so that the repository holds one copy of each: the top-level `configs/`
(where users read and edit them) as `seq2seq/configs/`, and the sample files of
pairs in `data/` as `seq2seq/samples/` (`seq2seq.config.shipped` finds either
place). pyproject.toml alone cannot say this: its package discovery and a list of
packages exclude each other, and discovery does not find mapped folders.
"""

from setuptools import find_namespace_packages, find_packages, setup

#: Package name -> the checkout's folder that holds its files.
SHIPPED = {"seq2seq.configs": "configs", "seq2seq.samples": "data"}
#: The configs and their groups (each folder a package, as setuptools wants of package data).
CONFIG_PACKAGES = ["seq2seq.configs"] + [
    f"seq2seq.configs.{group}" for group in find_namespace_packages(where="configs")
]

setup(
    packages=find_packages(include=["seq2seq", "seq2seq.*"])
    + CONFIG_PACKAGES
    + ["seq2seq.samples"],
    package_dir=SHIPPED,
    package_data={
        **{package: ["*.yaml"] for package in CONFIG_PACKAGES},
        # The samples alone: data/ also caches generated datasets, in folders of their own.
        "seq2seq.samples": ["*.tsv"],
    },
)
