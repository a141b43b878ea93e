"""A private Ground Truth workteam whose members sign in through a Cognito user pool."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge
from llmops_constructs.removal import removal_policy

GROUP = "annotators"


class AnnotatorWorkforce(Construct):
    """Invited annotators only (no self sign-up), MFA and strong passwords, one workteam.

    SageMaker's private workforce must be created once per account and region with this user
    pool (console or ``CreateWorkforce``; CloudFormation has no resource for it) before the
    workteam can take labeling jobs. Invite annotators into the ``annotators`` group.
    """

    def __init__(self, scope: Construct, construct_id: str, *, description: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Annotators",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=removal_policy(retain),
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions::AwsSolutions-COG8",
            "Invited annotators only (no self sign-up) with MFA; the Plus feature plan's threat protection is a "
            "per-deployment cost choice",
        )
        client = self.user_pool.add_client("LabelingPortal", generate_secret=True)
        group = cognito.CfnUserPoolGroup(
            self,
            "AnnotatorGroup",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=GROUP,
            description="Ground Truth annotators",
        )
        self.workteam = sagemaker.CfnWorkteam(
            self,
            "Workteam",
            description=description,
            member_definitions=[
                sagemaker.CfnWorkteam.MemberDefinitionProperty(
                    cognito_member_definition=sagemaker.CfnWorkteam.CognitoMemberDefinitionProperty(
                        cognito_user_pool=self.user_pool.user_pool_id,
                        cognito_client_id=client.user_pool_client_id,
                        cognito_user_group=group.group_name or GROUP,
                    )
                )
            ],
        )

    @property
    def workteam_arn(self) -> str:
        return self.workteam.attr_workteam_arn
