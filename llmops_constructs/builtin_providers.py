"""Acknowledgements for the custom-resource providers aws-cdk-lib adds on its own."""

from __future__ import annotations

from aws_cdk import Stack


def acknowledge_builtin_providers(stack: Stack) -> None:
    pass
