"""Removal behaviour of stateful resources: retained in prod, destroyable in dev."""

from aws_cdk import RemovalPolicy


def removal_policy(retain: bool) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
